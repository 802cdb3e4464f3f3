// Unit tests of sim::Network and sim::Distribution, driving Network::transmit
// (and Network::resume, for walks stopped at a bandwidth-limited link)
// directly with an Rng: loss, latency distributions, duplication, reordering,
// bandwidth queues, partitions and one-way blocks, multi-datacenter routing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/random.hpp"
#include "sim/engine/distribution.hpp"
#include "sim/engine/network.hpp"

using core::kMicrosecond;
using core::kMillisecond;
using core::kSecond;
using sim::Distribution;
using sim::DropReason;
using sim::LinkParams;
using sim::Network;
using sim::Transit;

namespace {
constexpr int kMessages = 100000;

LinkParams constant_link(core::Duration latency) {
  LinkParams p;
  p.latency = Distribution::constant(latency);
  return p;
}

Network single_lan(uint32_t hosts, const LinkParams& lan) {
  Network n;
  n.add_lan("lan", lan);
  for (uint32_t i = 0; i < hosts; ++i) n.add_host(i, 0);
  return n;
}

// One-way latencies of `count` messages 0 -> 1 sent at time 0 (drops left out).
std::vector<double> latencies(Network& n, int count, uint64_t seed, core::NodeId from = 0, core::NodeId to = 1) {
  core::Rng rng(seed);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const Transit t = n.transmit(from, to, 100, 0, rng);
    if (t.drop == DropReason::kNone) out.push_back(static_cast<double>(t.arrive));
  }
  return out;
}
// Drives a Network as the simulation does: a walk that stops at a
// bandwidth-limited link is resumed when it reaches it, in (time, scheduling
// order); a copy made by an element is followed like the message.
class Wire {
 public:
  struct Outcome {
    int id;
    bool copy;
    DropReason drop;
    core::Time at;  // delivery or drop time
  };
  Wire(Network& n, core::Rng& rng) : n_(n), rng_(rng) {}
  // Runs what reaches a link up to `now`, then sends message `id`.
  Transit send(int id, core::NodeId from, core::NodeId to, uint32_t size, core::Time now) {
    run_until(now);
    const Transit tr = n_.transmit(from, to, size, now, rng_);
    settle(id, false, to, size, tr, now);
    return tr;
  }
  void run_until(core::Time t) {
    while (!pending_.empty() && std::get<0>(pending_.begin()->first) <= t) {
      const auto [key, p] = *pending_.begin();
      pending_.erase(pending_.begin());
      const core::Time now = std::get<0>(key);
      settle(p.id, p.copy, p.to, p.size, n_.resume(p.to, p.size, p.hop, p.may_duplicate, now, rng_), now);
    }
  }
  size_t waiting() const { return pending_.size(); }
  std::vector<Outcome> done;

 private:
  struct Pending {
    int id;
    bool copy;
    core::NodeId to;
    uint32_t size;
    uint32_t hop;
    bool may_duplicate;
  };
  void leg(int id, bool copy, core::NodeId to, uint32_t size, core::Time at, uint32_t hop, bool may_duplicate) {
    if (hop == Transit::kNoHop) done.push_back({id, copy, DropReason::kNone, at});
    else pending_.emplace(std::make_tuple(at, seq_++), Pending{id, copy, to, size, hop, may_duplicate && !copy});
  }
  void settle(int id, bool copy, core::NodeId to, uint32_t size, const Transit& tr, core::Time now) {
    if (tr.drop == DropReason::kNone) leg(id, copy, to, size, tr.arrive, tr.hop, tr.may_duplicate);
    if (tr.duplicated) leg(id, true, to, size, tr.duplicate_arrive, tr.duplicate_hop, false);
    if (tr.drop != DropReason::kNone) done.push_back({id, copy, tr.drop, now});
  }
  Network& n_;
  core::Rng& rng_;
  std::map<std::tuple<core::Time, uint64_t>, Pending> pending_;
  uint64_t seq_ = 0;
};

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}
}  // namespace

// ---------------------------------------------------------------- single LAN

TEST_CASE("network: a constant LAN delivers after exactly its latency and draws nothing", "[network]") {
  Network n = single_lan(3, constant_link(2 * kMillisecond));
  core::Rng rng(1), untouched(1);
  const Transit t = n.transmit(0, 2, 100, 5 * kSecond, rng);
  CHECK(t.drop == DropReason::kNone);
  CHECK(t.arrive == 5 * kSecond + 2 * kMillisecond);
  CHECK_FALSE(t.duplicated);
  CHECK(rng.next() == untouched.next());
  CHECK(n.reachable(0, 2));
}

TEST_CASE("network: observed loss rate is 0.05 +- 0.005 over 10^5 messages", "[network][stats]") {
  LinkParams lan = constant_link(kMillisecond);
  lan.loss = 0.05;
  Network n = single_lan(2, lan);
  core::Rng rng(3);
  int lost = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Transit t = n.transmit(0, 1, 100, 0, rng);
    REQUIRE((t.drop == DropReason::kNone || t.drop == DropReason::kLoss));
    if (t.drop == DropReason::kLoss) ++lost;
    else REQUIRE(t.arrive == kMillisecond);
  }
  CHECK(static_cast<double>(lost) / kMessages == Approx(0.05).margin(0.005));
}

TEST_CASE("network: uniform(1ms, 5ms) latency has min >= 1ms, max <= 5ms, median ~3ms", "[network][stats]") {
  LinkParams lan;
  lan.latency = Distribution::uniform(kMillisecond, 5 * kMillisecond);
  Network n = single_lan(2, lan);
  const std::vector<double> v = latencies(n, kMessages, 4);
  REQUIRE(v.size() == static_cast<size_t>(kMessages));
  CHECK(*std::min_element(v.begin(), v.end()) >= static_cast<double>(kMillisecond));
  CHECK(*std::max_element(v.begin(), v.end()) <= static_cast<double>(5 * kMillisecond));
  CHECK(*std::min_element(v.begin(), v.end()) < 1.01 * kMillisecond);  // both ends are reached
  CHECK(*std::max_element(v.begin(), v.end()) > 4.99 * kMillisecond);
  CHECK(quantile(v, 0.5) == Approx(3.0 * kMillisecond).margin(0.05 * kMillisecond));
  CHECK(quantile(v, 0.25) == Approx(2.0 * kMillisecond).margin(0.05 * kMillisecond));
  CHECK(quantile(v, 0.75) == Approx(4.0 * kMillisecond).margin(0.05 * kMillisecond));
}

TEST_CASE("network: normal/lognormal/pareto latencies have the configured mean and median", "[network][stats]") {
  SECTION("normal(mean 10ms, stddev 2ms)") {
    LinkParams lan;
    lan.latency = {Distribution::Kind::kNormal, 10 * kMillisecond, 2 * kMillisecond, 0.0, kSecond};
    Network n = single_lan(2, lan);
    const std::vector<double> v = latencies(n, kMessages, 5);
    CHECK(mean_of(v) == Approx(10.0 * kMillisecond).margin(0.05 * kMillisecond));
    CHECK(quantile(v, 0.5) == Approx(10.0 * kMillisecond).margin(0.05 * kMillisecond));
    // About 84.1% of draws are below mean + 1 stddev.
    CHECK(quantile(v, 0.8413) == Approx(12.0 * kMillisecond).margin(0.1 * kMillisecond));
  }
  SECTION("lognormal(median 10ms, sigma 0.5)") {
    LinkParams lan;
    lan.latency = {Distribution::Kind::kLognormal, 10 * kMillisecond, 0, 0.5, kSecond};
    Network n = single_lan(2, lan);
    const std::vector<double> v = latencies(n, kMessages, 6);
    CHECK(quantile(v, 0.5) == Approx(10.0 * kMillisecond).epsilon(0.015));
    CHECK(mean_of(v) == Approx(lan.latency.mean_ns()).epsilon(0.015));
    CHECK(lan.latency.mean_ns() == Approx(10.0 * kMillisecond * std::exp(0.125)));
  }
  SECTION("pareto(min 1ms, alpha 3)") {
    LinkParams lan;
    lan.latency = {Distribution::Kind::kPareto, kMillisecond, 0, 3.0, kSecond};
    Network n = single_lan(2, lan);
    const std::vector<double> v = latencies(n, kMessages, 7);
    CHECK(*std::min_element(v.begin(), v.end()) >= static_cast<double>(kMillisecond));
    CHECK(mean_of(v) == Approx(1.5 * kMillisecond).epsilon(0.02));
    CHECK(quantile(v, 0.5) == Approx(std::cbrt(2.0) * kMillisecond).epsilon(0.01));
  }
}

TEST_CASE("network: unbounded latency tails are clamped to [0, cap]", "[network]") {
  Distribution d{Distribution::Kind::kNormal, 0, 10 * kMillisecond, 0.0, 5 * kMillisecond};
  core::Rng rng(8);
  bool saw_zero = false, saw_cap = false;
  for (int i = 0; i < 10000; ++i) {
    const core::Duration x = d.sample(rng);
    REQUIRE(x >= 0);
    REQUIRE(x <= 5 * kMillisecond);
    saw_zero |= x == 0;
    saw_cap |= x == 5 * kMillisecond;
  }
  CHECK(saw_zero);
  CHECK(saw_cap);
}

TEST_CASE("network: duplication rate 0.1 gives ~10% duplicated transits, each copy with its own delay", "[network][stats]") {
  LinkParams lan;
  lan.latency = Distribution::uniform(kMillisecond, 5 * kMillisecond);
  lan.duplicate = 0.1;
  Network n = single_lan(2, lan);
  core::Rng rng(9);
  int dups = 0, different_delay = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Transit t = n.transmit(0, 1, 100, 0, rng);
    REQUIRE(t.drop == DropReason::kNone);
    if (t.duplicated) {
      ++dups;
      REQUIRE(t.duplicate_arrive >= kMillisecond);
      REQUIRE(t.duplicate_arrive <= 5 * kMillisecond);
      if (t.duplicate_arrive != t.arrive) ++different_delay;
    }
  }
  CHECK(static_cast<double>(dups) / kMessages == Approx(0.1).margin(0.005));
  CHECK(different_delay > dups * 9 / 10);
}

TEST_CASE("network: with a reorder probability some messages arrive after later-sent ones", "[network][stats]") {
  auto overtaken = [](double reorder) {
    LinkParams lan = constant_link(kMillisecond);
    lan.reorder = reorder;
    lan.reorder_delay = Distribution::constant(10 * kMillisecond);
    Network n = single_lan(2, lan);
    core::Rng rng(10);
    std::vector<core::Time> arrive;
    for (int i = 0; i < 10000; ++i) arrive.push_back(n.transmit(0, 1, 100, i * kMillisecond, rng).arrive);
    // Count messages that some later-sent message overtakes.
    int count = 0;
    core::Time later_min = std::numeric_limits<core::Time>::max();
    for (size_t i = arrive.size(); i-- > 0;) {
      if (later_min < arrive[i]) ++count;
      later_min = std::min(later_min, arrive[i]);
    }
    return count;
  };
  CHECK(overtaken(0.0) == 0);
  const int c = overtaken(0.1);
  CHECK(c > 800);
  CHECK(c < 1200);
}

TEST_CASE("network: 100 x 1250 bytes at 1Mbps on a degraded access link finish after 1s, FIFO", "[network][bandwidth]") {
  Network n = single_lan(3, constant_link(0));
  LinkParams slow;
  slow.bandwidth_bps = 1'000'000;  // 1250 bytes = 10000 bits = 10ms each
  core::Rng rng(11);

  SECTION("sender's link: back-to-back sends queue behind each other, served at send time") {
    n.degrade_host(0, slow);
    core::Time prev = 0;
    for (int i = 0; i < 100; ++i) {
      const Transit t = n.transmit(0, 1 + static_cast<core::NodeId>(i % 2), 1250, 0, rng);
      REQUIRE(t.drop == DropReason::kNone);
      REQUIRE(t.hop == Transit::kNoHop);  // the sender's own link never waits for an event
      REQUIRE(t.arrive == (i + 1) * 10 * kMillisecond);
      REQUIRE(t.arrive > prev);
      prev = t.arrive;
    }
    CHECK(prev == kSecond);
    // The queue drains: after idling, a message takes one transmission time again.
    CHECK(n.transmit(0, 1, 1250, 5 * kSecond, rng).arrive == 5 * kSecond + 10 * kMillisecond);
    // Traffic the other way uses the other direction's queue.
    CHECK(n.transmit(1, 0, 1250, 0, rng).arrive == 10 * kMillisecond);
  }
  SECTION("receiver's link: senders converging on one slow host queue too") {
    n.degrade_host(2, slow);
    core::Time last = 0;
    for (int i = 0; i < 100; ++i) {
      // Reached at the send time (the LAN takes no time): served at once.
      const Transit t = n.transmit(static_cast<core::NodeId>(i % 2), 2, 1250, 0, rng);
      REQUIRE(t.hop == Transit::kNoHop);
      last = std::max(last, t.arrive);
    }
    CHECK(last == kSecond);
  }
  SECTION("receiver's link reached later: the walk stops there and resumes at that time") {
    Network m = single_lan(3, constant_link(kMillisecond));
    m.degrade_host(2, slow);
    Wire w(m, rng);
    for (int i = 0; i < 100; ++i) {
      const Transit t = w.send(i, static_cast<core::NodeId>(i % 2), 2, 1250, 0);
      REQUIRE(t.drop == DropReason::kNone);
      REQUIRE(t.hop != Transit::kNoHop);
      REQUIRE(t.arrive == kMillisecond);  // when it reaches the receiver's link
    }
    CHECK(w.waiting() == 100);
    w.run_until(kSecond + kMillisecond);
    REQUIRE(w.done.size() == 100);
    for (int i = 0; i < 100; ++i) {
      CHECK(w.done[static_cast<size_t>(i)].id == i);
      CHECK(w.done[static_cast<size_t>(i)].at == kMillisecond + (i + 1) * 10 * kMillisecond);
    }
  }
  SECTION("restore_host brings back the ideal access link") {
    n.degrade_host(0, slow);
    n.restore_host(0);
    for (int i = 0; i < 10; ++i) CHECK(n.transmit(0, 1, 1250, 0, rng).arrive == 0);
  }
}

TEST_CASE("network: a bandwidth-limited link serves messages in the order they reach it, not the order they were sent",
          "[network][bandwidth]") {
  // Host 0 reaches host 2's slow link after 30ms (its own access link is
  // slow to cross), host 1 after 1ms.
  Network n = single_lan(3, constant_link(kMillisecond));
  LinkParams far = constant_link(29 * kMillisecond);
  n.degrade_host(0, far);
  LinkParams slow;
  slow.bandwidth_bps = 1'000'000;  // 10ms per 1250 bytes
  n.degrade_host(2, slow);
  core::Rng rng(19);
  Wire w(n, rng);
  w.send(0, 0, 2, 1250, 0);                 // reaches the link at 30ms
  w.send(1, 1, 2, 1250, 5 * kMillisecond);  // sent later, reaches it at 6ms
  w.send(2, 1, 2, 1250, 6 * kMillisecond);  // reaches it at 7ms, behind message 1
  w.run_until(kSecond);
  REQUIRE(w.done.size() == 3);
  using R = std::tuple<int, core::Time>;
  std::vector<R> got;
  for (const auto& o : w.done) got.emplace_back(o.id, o.at);
  CHECK(got == std::vector<R>{{1, 16 * kMillisecond}, {2, 26 * kMillisecond}, {0, 40 * kMillisecond}});
}

TEST_CASE("network: a WAN link with bandwidth: loss there is a drop at the time the message reaches it", "[network][bandwidth][wan]") {
  Network n;
  const uint32_t a = n.add_lan("a", constant_link(2 * kMillisecond));
  const uint32_t b = n.add_lan("b", constant_link(3 * kMillisecond));
  n.add_host(0, a);
  n.add_host(1, b);
  LinkParams wan = constant_link(10 * kMillisecond);
  wan.bandwidth_bps = 100'000'000;  // 1250 bytes: 100us
  const uint32_t link = n.add_wan_link(a, b, wan);
  core::Rng rng(20);
  Wire w(n, rng);
  SECTION("delivered: LAN a, transmission, WAN latency, LAN b") {
    const Transit t = w.send(0, 0, 1, 1250, 0);
    CHECK(t.hop != Transit::kNoHop);
    CHECK(t.arrive == 2 * kMillisecond);
    w.send(1, 1, 0, 1250, 0);  // the other direction has its own queue
    w.run_until(kSecond);
    REQUIRE(w.done.size() == 2);
    CHECK(w.done[0].at == 15 * kMillisecond + 100 * kMicrosecond);
    CHECK(w.done[1].at == 15 * kMillisecond + 100 * kMicrosecond);
  }
  SECTION("lost on the WAN link") {
    wan.loss = 1.0;
    n.degrade_wan(link, wan);
    w.send(0, 0, 1, 1250, 0);
    CHECK(w.done.empty());  // in flight until it reaches the link
    w.run_until(kSecond);
    REQUIRE(w.done.size() == 1);
    CHECK(w.done[0].drop == DropReason::kLoss);
    CHECK(w.done[0].at == 2 * kMillisecond);
  }
  SECTION("the link goes down before the message reaches it: unreachable") {
    w.send(0, 0, 1, 1250, 0);
    n.set_wan_up(link, false);
    w.run_until(kSecond);
    REQUIRE(w.done.size() == 1);
    CHECK(w.done[0].drop == DropReason::kUnreachable);
    CHECK(w.done[0].at == 2 * kMillisecond);
  }
}

TEST_CASE("network: a message that waited for a link follows the route current at its far end", "[network][bandwidth][wan]") {
  // A - B (slow link), then B - C direct (10ms) or B - D - C (20ms + 20ms).
  Network n;
  const uint32_t A = n.add_lan("a", constant_link(kMillisecond));
  const uint32_t B = n.add_lan("b", constant_link(kMillisecond));
  const uint32_t C = n.add_lan("c", constant_link(kMillisecond));
  const uint32_t D = n.add_lan("d", constant_link(kMillisecond));
  n.add_host(0, A);
  n.add_host(1, C);
  LinkParams ab = constant_link(5 * kMillisecond);
  ab.bandwidth_bps = 1'000'000'000;  // 100 bytes: 800ns
  n.add_wan_link(A, B, ab);
  const uint32_t bc = n.add_wan_link(B, C, constant_link(10 * kMillisecond));
  n.add_wan_link(B, D, constant_link(20 * kMillisecond));
  n.add_wan_link(D, C, constant_link(20 * kMillisecond));
  core::Rng rng(21);
  Wire w(n, rng);
  w.send(0, 0, 1, 100, 0);  // waits for A-B at 1ms; routed B-C at send time
  n.set_wan_up(bc, false);  // before it reaches B
  w.run_until(kSecond);
  REQUIRE(w.done.size() == 1);
  CHECK(w.done[0].drop == DropReason::kNone);
  // LAN A, A-B, LAN B, B-D, LAN D, D-C, LAN C.
  CHECK(w.done[0].at == 800 + (1 + 5 + 1 + 20 + 1 + 20 + 1) * kMillisecond);
}

TEST_CASE("network: duplication on a bandwidth-limited path: the copy crosses the duplicating element again", "[network][bandwidth]") {
  Network n = single_lan(2, constant_link(kMillisecond));
  LinkParams slow;
  slow.bandwidth_bps = 1'000'000;  // 10ms per 1250 bytes
  core::Rng rng(22);
  Wire w(n, rng);
  SECTION("the LAN duplicates: message and copy both wait for the receiver's link, message first") {
    LinkParams lan = constant_link(kMillisecond);
    lan.duplicate = 1.0;
    n.degrade_lan(0, lan);
    n.degrade_host(1, slow);
    const Transit t = w.send(0, 0, 1, 1250, 0);
    CHECK(t.duplicated);
    CHECK_FALSE(t.may_duplicate);
    CHECK(t.hop != Transit::kNoHop);
    CHECK(t.duplicate_hop == t.hop);
    CHECK(t.duplicate_arrive == kMillisecond);
    w.run_until(kSecond);
    REQUIRE(w.done.size() == 2);
    CHECK((!w.done[0].copy && w.done[0].at == 11 * kMillisecond));
    CHECK((w.done[1].copy && w.done[1].at == 21 * kMillisecond));
  }
  SECTION("the slow link itself duplicates: the copy is made when the message reaches it, and sent again") {
    slow.duplicate = 1.0;
    n.degrade_host(1, slow);
    const Transit t = w.send(0, 0, 1, 1250, 0);
    CHECK_FALSE(t.duplicated);  // not yet known
    CHECK(t.may_duplicate);
    w.run_until(kSecond);
    REQUIRE(w.done.size() == 2);
    CHECK((!w.done[0].copy && w.done[0].at == 11 * kMillisecond));
    CHECK((w.done[1].copy && w.done[1].at == 21 * kMillisecond));
  }
  SECTION("the sender's slow link duplicates: a message is duplicated once, however many elements would") {
    slow.duplicate = 1.0;
    n.degrade_host(0, slow);
    n.degrade_host(1, slow);
    w.send(0, 0, 1, 1250, 0);
    w.run_until(kSecond);
    // Sender's link: message [0, 10ms], copy [10, 20ms]; both reach the
    // receiver's link 1ms later and are sent again in that order.
    REQUIRE(w.done.size() == 2);
    CHECK((!w.done[0].copy && w.done[0].at == 21 * kMillisecond));
    CHECK((w.done[1].copy && w.done[1].at == 31 * kMillisecond));
  }
}

TEST_CASE("network: without bandwidth limits a duplicated message's copy draws after the message, as one walk", "[network]") {
  // The copy re-crosses the duplicating LAN from the time the message reached
  // it; with an ideal access link before it, that is the whole path again.
  LinkParams lan;
  lan.latency = Distribution::uniform(kMillisecond, 5 * kMillisecond);
  lan.duplicate = 1.0;
  Network n = single_lan(2, lan);
  core::Rng rng(23), ref(23);
  for (int i = 0; i < 1000; ++i) {
    const core::Time now = i * kMillisecond;
    const Transit t = n.transmit(0, 1, 100, now, rng);
    REQUIRE(t.duplicated);
    REQUIRE(t.hop == Transit::kNoHop);
    REQUIRE(t.duplicate_hop == Transit::kNoHop);
    // Message: latency, then the duplication draw; copy: latency, its (ignored) duplication draw.
    const core::Duration a = lan.latency.sample(ref);
    ref.chance(1.0);
    const core::Duration b = lan.latency.sample(ref);
    ref.chance(1.0);
    REQUIRE(t.arrive == now + a);
    REQUIRE(t.duplicate_arrive == now + b);
  }
  CHECK(rng.next() == ref.next());
}

// ---------------------------------------------------------------- partitions

TEST_CASE("network: partition groups block across groups only; unnamed hosts form their own group", "[network][partition]") {
  Network n = single_lan(6, constant_link(kMillisecond));
  core::Rng rng(12);
  n.partition({{0, 1}, {2, 3}});  // 4 and 5 are not named
  CHECK(n.partitioned());
  const int group[6] = {1, 1, 2, 2, 0, 0};
  for (core::NodeId a = 0; a < 6; ++a)
    for (core::NodeId b = 0; b < 6; ++b) {
      if (a == b) continue;
      INFO(a << " -> " << b);
      const bool same = group[a] == group[b];
      CHECK(n.blocked(a, b) == !same);
      CHECK(n.reachable(a, b) == same);
      const Transit t = n.transmit(a, b, 100, 0, rng);
      CHECK(t.drop == (same ? DropReason::kNone : DropReason::kPartition));
    }
}

TEST_CASE("network: a new partition replaces the previous one", "[network][partition]") {
  Network n = single_lan(4, constant_link(kMillisecond));
  n.partition({{0, 1}, {2, 3}});
  n.partition({{0, 2}});
  CHECK_FALSE(n.blocked(0, 2));
  CHECK_FALSE(n.blocked(1, 3));
  CHECK(n.blocked(0, 1));
  CHECK(n.blocked(3, 2));
}

TEST_CASE("network: one-way block drops A->B but not B->A", "[network][partition]") {
  Network n = single_lan(3, constant_link(kMillisecond));
  core::Rng rng(13);
  n.block(0, 1);
  CHECK(n.partitioned());
  CHECK(n.blocked(0, 1));
  CHECK_FALSE(n.blocked(1, 0));
  CHECK_FALSE(n.blocked(0, 2));
  CHECK_FALSE(n.blocked(2, 1));
  CHECK(n.transmit(0, 1, 100, 0, rng).drop == DropReason::kPartition);
  const Transit back = n.transmit(1, 0, 100, 0, rng);
  CHECK(back.drop == DropReason::kNone);
  CHECK(back.arrive == kMillisecond);
  CHECK_FALSE(n.reachable(0, 1));
  CHECK(n.reachable(1, 0));
}

TEST_CASE("network: heal clears groups and one-way blocks", "[network][partition]") {
  Network n = single_lan(4, constant_link(kMillisecond));
  core::Rng rng(14);
  n.partition({{0}, {1, 2}});
  n.block(3, 2);
  n.heal();
  CHECK_FALSE(n.partitioned());
  for (core::NodeId a = 0; a < 4; ++a)
    for (core::NodeId b = 0; b < 4; ++b)
      if (a != b) {
        CHECK_FALSE(n.blocked(a, b));
        CHECK(n.transmit(a, b, 100, 0, rng).drop == DropReason::kNone);
      }
  // Blocks can be installed again after a heal.
  n.block(1, 0);
  CHECK(n.blocked(1, 0));
  CHECK_FALSE(n.blocked(0, 1));
}

// ---------------------------------------------------------------- datacenters

TEST_CASE("network: two datacenters: latency = LAN + WAN + LAN; WAN link down -> unreachable", "[network][wan]") {
  Network n;
  const uint32_t a = n.add_lan("dc1", constant_link(1 * kMillisecond));
  const uint32_t b = n.add_lan("dc2", constant_link(2 * kMillisecond));
  n.add_host(0, a);
  n.add_host(1, a);
  n.add_host(2, b);
  n.add_host(3, b);
  const uint32_t wan = n.add_wan_link(a, b, constant_link(30 * kMillisecond));
  CHECK(n.wan_link(b, a) == wan);
  CHECK(n.lan_of(2) == b);
  core::Rng rng(15);

  CHECK(n.transmit(0, 1, 100, 0, rng).arrive == 1 * kMillisecond);
  CHECK(n.transmit(2, 3, 100, 0, rng).arrive == 2 * kMillisecond);
  CHECK(n.transmit(0, 2, 100, 0, rng).arrive == 33 * kMillisecond);
  CHECK(n.transmit(3, 1, 100, 0, rng).arrive == 33 * kMillisecond);

  n.set_wan_up(wan, false);
  CHECK_FALSE(n.reachable(0, 2));
  CHECK(n.reachable(0, 1));
  CHECK(n.transmit(0, 2, 100, 0, rng).drop == DropReason::kUnreachable);
  CHECK(n.transmit(3, 0, 100, 0, rng).drop == DropReason::kUnreachable);
  CHECK(n.transmit(0, 1, 100, 0, rng).drop == DropReason::kNone);

  n.set_wan_up(wan, true);
  CHECK(n.reachable(0, 2));
  CHECK(n.transmit(0, 2, 100, 0, rng).arrive == 33 * kMillisecond);
}

TEST_CASE("network: WAN loss applies to cross-datacenter traffic only", "[network][wan][stats]") {
  Network n;
  n.add_lan("dc1", constant_link(kMillisecond));
  n.add_lan("dc2", constant_link(kMillisecond));
  n.add_host(0, 0);
  n.add_host(1, 0);
  n.add_host(2, 1);
  LinkParams lossy = constant_link(10 * kMillisecond);
  lossy.loss = 0.2;
  n.add_wan_link(0, 1, lossy);
  core::Rng rng(16);
  int lost_wan = 0, lost_lan = 0;
  for (int i = 0; i < 20000; ++i) {
    lost_wan += n.transmit(0, 2, 100, 0, rng).drop == DropReason::kLoss ? 1 : 0;
    lost_lan += n.transmit(0, 1, 100, 0, rng).drop == DropReason::kLoss ? 1 : 0;
  }
  CHECK(lost_lan == 0);
  CHECK(lost_wan / 20000.0 == Approx(0.2).margin(0.015));
}

TEST_CASE("network: three DCs in a triangle route around a degraded or removed WAN link", "[network][wan]") {
  // A - C direct, and A - B - C; every LAN 1ms, every WAN link 10ms.
  Network n;
  const uint32_t A = n.add_lan("a", constant_link(kMillisecond));
  const uint32_t B = n.add_lan("b", constant_link(kMillisecond));
  const uint32_t C = n.add_lan("c", constant_link(kMillisecond));
  n.add_host(0, A);
  n.add_host(1, B);
  n.add_host(2, C);
  const uint32_t ab = n.add_wan_link(A, B, constant_link(10 * kMillisecond));
  const uint32_t bc = n.add_wan_link(B, C, constant_link(10 * kMillisecond));
  const uint32_t ac = n.add_wan_link(A, C, constant_link(10 * kMillisecond));
  core::Rng rng(17);
  const core::Duration direct = 1 + 10 + 1, around = 1 + 10 + 1 + 10 + 1;

  CHECK(n.transmit(0, 2, 100, 0, rng).arrive == direct * kMillisecond);
  CHECK(n.transmit(2, 0, 100, 0, rng).arrive == direct * kMillisecond);

  SECTION("degraded direct link: the path through B is cheaper") {
    n.degrade_wan(ac, constant_link(100 * kMillisecond));
    CHECK(n.transmit(0, 2, 100, 0, rng).arrive == around * kMillisecond);
    CHECK(n.transmit(2, 0, 100, 0, rng).arrive == around * kMillisecond);
    n.restore_wan(ac);
    CHECK(n.transmit(0, 2, 100, 0, rng).arrive == direct * kMillisecond);
  }
  SECTION("removed direct link: the path through B carries the traffic") {
    n.set_wan_up(ac, false);
    CHECK(n.transmit(0, 2, 100, 0, rng).arrive == around * kMillisecond);
    CHECK(n.transmit(2, 0, 100, 0, rng).arrive == around * kMillisecond);
    CHECK(n.transmit(0, 1, 100, 0, rng).arrive == direct * kMillisecond);
    // B's LAN loss now affects A <-> C traffic.
    LinkParams lossy_b = constant_link(kMillisecond);
    lossy_b.loss = 1.0;
    n.degrade_lan(B, lossy_b);
    CHECK(n.transmit(0, 2, 100, 0, rng).drop == DropReason::kLoss);
    n.restore_lan(B);
    // With A-B down as well, C is cut off from A.
    n.set_wan_up(ab, false);
    CHECK(n.transmit(0, 2, 100, 0, rng).drop == DropReason::kUnreachable);
    CHECK(n.transmit(1, 2, 100, 0, rng).arrive == direct * kMillisecond);
    n.set_wan_up(ac, true);
    CHECK(n.transmit(0, 2, 100, 0, rng).arrive == direct * kMillisecond);
    CHECK(n.transmit(0, 1, 100, 0, rng).arrive == around * kMillisecond);
  }
  (void)bc;
}

TEST_CASE("network: routing counts transit LAN latency whichever way a WAN link was declared", "[network][wan]") {
  // A and C are fast LANs; B is a slow transit LAN (50ms). Direct A-C costs
  // 30ms, through B 1 + 50 + 1 = 52ms: the direct link must win even though
  // both B links name B as their first end.
  Network n;
  const uint32_t A = n.add_lan("a", constant_link(0));
  const uint32_t B = n.add_lan("b", constant_link(50 * kMillisecond));
  const uint32_t C = n.add_lan("c", constant_link(0));
  n.add_host(0, A);
  n.add_host(1, C);
  n.add_wan_link(B, A, constant_link(kMillisecond));
  n.add_wan_link(B, C, constant_link(kMillisecond));
  n.add_wan_link(A, C, constant_link(30 * kMillisecond));
  core::Rng rng(18);
  CHECK(n.transmit(0, 1, 100, 0, rng).arrive == 30 * kMillisecond);
  CHECK(n.transmit(1, 0, 100, 0, rng).arrive == 30 * kMillisecond);
}

TEST_CASE("network: building errors are reported", "[network]") {
  Network n;
  n.add_lan("a", constant_link(0));
  CHECK_THROWS_AS(n.add_host(1, 0), std::logic_error);  // ids in order
  CHECK_THROWS_AS(n.add_host(0, 5), std::logic_error);  // no such LAN
  n.add_host(0, 0);
  CHECK_THROWS_AS(n.add_lan("late", constant_link(0)), std::logic_error);
  CHECK_THROWS_AS(n.add_wan_link(0, 0, constant_link(0)), std::logic_error);
}

// ---------------------------------------------------------------- durations

TEST_CASE("distribution: parse_duration reads number + unit and rejects the rest", "[distribution]") {
  core::Duration d = -1;
  CHECK((sim::parse_duration("150ms", d) && d == 150 * kMillisecond));
  CHECK((sim::parse_duration("2s", d) && d == 2 * kSecond));
  CHECK((sim::parse_duration("1.5us", d) && d == 1500));
  CHECK((sim::parse_duration("10ns", d) && d == 10));
  CHECK((sim::parse_duration("1m", d) && d == 60 * kSecond));
  CHECK((sim::parse_duration("1h", d) && d == 3600 * kSecond));
  CHECK((sim::parse_duration("0.25s", d) && d == 250 * kMillisecond));
  CHECK((sim::parse_duration("9223372036854775807ns", d) && d == std::numeric_limits<int64_t>::max()));
  for (const char* bad : {"", "5", "ms", "1.s", ".5s", "-1s", "1 s", "1sec", "9223372036854775808ns", "10000000000000h"}) {
    INFO(bad);
    CHECK_FALSE(sim::parse_duration(bad, d));
  }
}

TEST_CASE("distribution: format_duration picks the largest exact unit", "[distribution]") {
  CHECK(sim::format_duration(150 * kMillisecond) == "150ms");
  CHECK(sim::format_duration(2 * kSecond) == "2s");
  CHECK(sim::format_duration(1500) == "1.500us");
  CHECK(sim::format_duration(7) == "7ns");
  CHECK(sim::format_duration(0) == "0ns");
  CHECK(sim::format_duration(-3 * kMicrosecond) == "-3us");
  CHECK(Distribution::uniform(kMillisecond, 5 * kMillisecond).describe() == "uniform(1ms, 5ms)");
}

TEST_CASE("network: Jepsen's partition shapes over a given host order", "[network][partition]") {
  Network net;
  net.add_lan("lan", LinkParams{});
  for (core::NodeId i = 0; i < 5; ++i) net.add_host(i, 0);
  const std::vector<core::NodeId> order = {3, 0, 4, 1, 2};
  auto hears = [&](core::NodeId from, core::NodeId to) { return !net.blocked(from, to); };

  net.shape(sim::PartitionShape::kRandomHalves, order);  // {3, 0} | {4, 1, 2}
  CHECK(hears(3, 0));
  CHECK(hears(4, 2));
  CHECK_FALSE(hears(0, 4));
  CHECK_FALSE(hears(1, 3));

  net.shape(sim::PartitionShape::kBridge, order);  // {3, 0} | 4 | {1, 2}: 4 hears everyone
  for (core::NodeId n : {3u, 0u, 1u, 2u}) {
    CHECK(hears(4, n));
    CHECK(hears(n, 4));
  }
  CHECK_FALSE(hears(3, 1));
  CHECK_FALSE(hears(2, 0));
  CHECK(hears(1, 2));

  net.shape(sim::PartitionShape::kMajoritiesRing, order);
  // Each host hears exactly the majority window (3 of 5) centred on itself.
  for (size_t i = 0; i < order.size(); ++i) {
    size_t heard = 0;
    for (size_t j = 0; j < order.size(); ++j) heard += hears(order[j], order[i]) ? 1 : 0;
    CHECK(heard == 3);
    CHECK(hears(order[(i + 1) % 5], order[i]));
    CHECK(hears(order[(i + 4) % 5], order[i]));
    CHECK_FALSE(hears(order[(i + 2) % 5], order[i]));
  }
  net.heal();
  CHECK(hears(0, 1));
}

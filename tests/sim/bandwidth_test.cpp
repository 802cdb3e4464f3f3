// Unit tests of bandwidth-limited links run through sim::Simulation: a FIFO
// link serves messages in the order they reach it. Checked against queueing
// theory (an M/D/1 queue's mean wait, the capacity of a saturated link), an
// exact FIFO schedule computed here from arrival times at the link,
// duplication and loss at a link the message waits for (message
// conservation), and determinism.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/hb/heartbeat.hpp"
#include "core/random.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/sim/hook_node.hpp"
#include "sim/engine/trace.hpp"

using core::kMicrosecond;
using core::kMillisecond;
using core::kSecond;
using sim::Distribution;
using sim::DropReason;
using sim::LinkParams;
using sim::Simulation;

using sim_test::Hooks;
using sim_test::hook_sim;
using sim_test::number_of;
using sim_test::numbered;
using sim_test::numbered_message;

namespace {

bool conserved(const Simulation& s) {
  const sim::MessageStats& m = s.messages();
  return m.sent + m.duplicated == m.delivered + m.dropped + s.inflight_messages();
}

LinkParams nic(uint64_t bps) {
  LinkParams p;
  p.bandwidth_bps = bps;
  return p;
}

// 1250 bytes at 100 Mbps: 100us on the wire.
constexpr uint32_t kBytes = 1250;
constexpr uint64_t kBps = 100'000'000;
constexpr core::Duration kService = 100 * kMicrosecond;

// Node 0 receives behind a 100 Mbps NIC (the only bandwidth limit); nodes
// 1..senders send it Poisson streams of 1250-byte messages, `rate` messages
// per second in total, over a LAN of uniform(1ms, 3ms) latency, until each has
// sent `per_sender`. Each message carries its send time. Returns the
// (send, delivery) times in delivery order.
std::vector<std::pair<core::Time, core::Time>> poisson_to_one(uint32_t senders, double rate, uint64_t per_sender, uint64_t seed) {
  std::vector<Hooks> hooks(senders + 1);
  std::vector<std::pair<core::Time, core::Time>> out;
  out.reserve(senders * per_sender);
  std::vector<uint64_t> sent(senders + 1, 0);
  Simulation* sp = nullptr;
  const double mean_gap_ns = static_cast<double>(senders) / rate * 1e9;
  auto next = [mean_gap_ns](core::Env& env) {
    env.set_timer(static_cast<core::Duration>(env.rng().exponential(mean_gap_ns)), 0);
  };
  for (uint32_t i = 1; i <= senders; ++i) {
    hooks[i].start = next;
    hooks[i].timer = [&, i, next](core::Env& env, uint64_t) {
      env.send(numbered_message(0, static_cast<uint64_t>(sp->now()), kBytes));
      if (++sent[i] < per_sender) next(env);
    };
  }
  hooks[0].message = [&](core::Env&, const core::Message& m) { out.emplace_back(static_cast<core::Time>(number_of(m)), sp->now()); };
  LinkParams lan;
  lan.latency = Distribution::uniform(kMillisecond, 3 * kMillisecond);
  auto s = hook_sim(hooks, lan, seed);
  sp = s.get();
  s->network().configure_host(0, nic(kBps));
  s->start_all();
  while (s->step()) {
  }
  CHECK(conserved(*s));
  CHECK(s->inflight_messages() == 0);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- queueing theory

TEST_CASE("bandwidth: Poisson arrivals at load 0.8 wait as in M/D/1, W = rho / (2 mu (1 - rho))", "[bandwidth][stats]") {
  // Poisson streams displaced by i.i.d. latencies stay Poisson, so the
  // receiver's link is an M/D/1 queue. Its arrivals are not in send order
  // (latency jitter of 2ms against 100us of service), which is what a model
  // that queues in send order gets wrong. The delay of a message is
  // latency + wait + service; the mean latency is 2ms exactly.
  constexpr uint32_t kSenders = 4;
  constexpr uint64_t kPerSender = 100'000;
  const double rate = 0.8 / (static_cast<double>(kService) / 1e9);  // 8000 messages/s
  const auto v = poisson_to_one(kSenders, rate, kPerSender, 7);
  REQUIRE(v.size() == kSenders * kPerSender);
  double delay = 0.0;
  core::Time first_send = v.front().first, last_send = v.front().first;
  for (const auto& [sent, got] : v) {
    delay += static_cast<double>(got - sent);
    first_send = std::min(first_send, sent);
    last_send = std::max(last_send, sent);
  }
  delay /= static_cast<double>(v.size());
  // The offered load as measured (a little low: the span of the sends is the
  // longest of four senders' spans).
  const double measured_rho =
      static_cast<double>(v.size()) * static_cast<double>(kService) / static_cast<double>(last_send - first_send);
  const double rho = 0.8, service = static_cast<double>(kService);
  const double wait = delay - 2.0 * kMillisecond - service;
  const double md1 = rho * service / (2.0 * (1.0 - rho));  // 200us
  INFO("measured rho " << measured_rho << ", mean wait " << wait / 1e3 << "us, M/D/1 " << md1 / 1e3 << "us");
  CHECK(measured_rho == Approx(rho).margin(0.01));
  // Over seeds 1..30 the mean wait of 4 x 10^5 messages is within -2.8% ..
  // +4.2% of W, with a standard deviation of 1.6%: the tolerance is 3 of them.
  CHECK(wait == Approx(md1).epsilon(0.05));
  // And the mean sojourn at the link (wait + service) matches W + 1/mu.
  CHECK(delay - 2.0 * kMillisecond == Approx(md1 + service).epsilon(0.04));
}

TEST_CASE("bandwidth: a saturated link delivers exactly its capacity", "[bandwidth][stats]") {
  // Offered load 1.25: the queue grows without bound and the link never idles.
  constexpr uint32_t kSenders = 4;
  const double rate = 1.25 / (static_cast<double>(kService) / 1e9);
  const auto v = poisson_to_one(kSenders, rate, 5'000, 8);  // 2s of offered traffic
  REQUIRE(v.size() == 20'000);
  // Deliveries in [0.5s, 1.5s], well after the start and before the senders stop.
  uint64_t in_window = 0;
  for (const auto& [sent, got] : v)
    if (got >= 500 * kMillisecond && got < 1500 * kMillisecond) ++in_window;
  const double bps = static_cast<double>(in_window) * kBytes * 8;  // over one second
  INFO("delivered " << bps / 1e6 << " Mbps");
  CHECK(bps == Approx(static_cast<double>(kBps)).epsilon(0.01));
  // Messages leave the link back to back, one service time apart.
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i].second >= 500 * kMillisecond && v[i].second < 1500 * kMillisecond) REQUIRE(v[i].second - v[i - 1].second == kService);
}

// ---------------------------------------------------------------- order of service

TEST_CASE("bandwidth: a link serves messages in the order they reach it (exact FIFO schedule)", "[bandwidth]") {
  // Four senders with constant, different latencies to node 0's 100 Mbps NIC
  // send 200 messages each at random times in [0, 100ms] (load about 0.8):
  // many a message sent later reaches the link earlier.
  constexpr uint32_t kSenders = 4, kEach = 200;
  const core::Duration latency[kSenders] = {500 * kMicrosecond + 1, 1300 * kMicrosecond + 3, 2100 * kMicrosecond + 5,
                                            3700 * kMicrosecond + 7};
  core::Rng plan(99);
  struct Msg {
    uint32_t sender;
    core::Time send;
    core::Time reach;  // the time it reaches node 0's link
  };
  std::vector<Msg> msgs;
  for (uint32_t k = 0; k < kSenders; ++k)
    for (uint32_t i = 0; i < kEach; ++i) {
      const core::Time at = plan.range(0, 100 * kMillisecond);
      msgs.push_back({k, at, at + latency[k]});
    }
  // The reference: a FIFO queue in order of arrival at the link.
  std::vector<size_t> order(msgs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return msgs[a].reach < msgs[b].reach; });
  for (size_t i = 1; i < order.size(); ++i) REQUIRE(msgs[order[i - 1]].reach != msgs[order[i]].reach);  // no ties
  std::vector<core::Time> want(msgs.size());
  core::Time free_at = 0;
  for (size_t i : order) {
    free_at = std::max(free_at, msgs[i].reach) + kService;
    want[i] = free_at;
  }
  size_t overtaken = 0;  // messages that a later-sent one reaches the link before
  for (size_t i = 0; i < msgs.size(); ++i)
    for (size_t j = 0; j < msgs.size(); ++j)
      if (msgs[j].send > msgs[i].send && msgs[j].reach < msgs[i].reach) {
        ++overtaken;
        break;
      }
  CHECK(overtaken > msgs.size() / 4);

  std::vector<Hooks> hooks(kSenders + 1);
  std::vector<core::Time> got(msgs.size(), -1);
  Simulation* sp = nullptr;
  for (uint32_t k = 0; k < kSenders; ++k) {
    hooks[k + 1].start = [&, k](core::Env& env) {
      for (uint32_t i = 0; i < kEach; ++i) env.set_timer(msgs[k * kEach + i].send, k * kEach + i);
    };
    hooks[k + 1].timer = [](core::Env& env, uint64_t id) { env.send(numbered_message(0, id, kBytes)); };
  }
  hooks[0].message = [&](core::Env&, const core::Message& m) { got[number_of(m)] = sp->now(); };
  auto s = hook_sim(hooks, LinkParams{});
  sp = s.get();
  // Each sender's latency sits on its own access link; node 0's link is the NIC.
  for (uint32_t k = 0; k < kSenders; ++k) {
    LinkParams p;
    p.latency = Distribution::constant(latency[k]);
    s->network().degrade_host(k + 1, p);
  }
  s->network().configure_host(0, nic(kBps));
  s->start_all();
  s->run_until(kSecond);
  size_t mismatches = 0;
  for (size_t i = 0; i < msgs.size(); ++i) mismatches += got[i] == want[i] ? 0 : 1;
  CHECK(mismatches == 0);
  for (size_t i = 0; i < msgs.size(); ++i) {
    INFO("message " << i << " from sender " << msgs[i].sender << ", sent at " << msgs[i].send);
    REQUIRE(got[i] == want[i]);
  }
  CHECK(conserved(*s));
}

// ---------------------------------------------------------------- duplication and loss

TEST_CASE("bandwidth: duplicates on a bandwidth-limited path arrive and are accounted for", "[bandwidth][engine][stats]") {
  // Ten messages at t=0 over a 1ms LAN to node 0's 100 Mbps NIC.
  std::vector<Hooks> hooks(2);
  std::vector<core::Time> got;
  Simulation* sp = nullptr;
  hooks[1].start = [](core::Env& env) {
    for (uint64_t i = 0; i < 10; ++i) env.send(numbered_message(0, i, kBytes));
  };
  hooks[0].message = [&](core::Env&, const core::Message&) { got.push_back(sp->now()); };
  LinkParams lan;
  lan.latency = Distribution::constant(kMillisecond);
  SECTION("the LAN duplicates every message") { lan.duplicate = 1.0; }
  SECTION("the receiver's NIC duplicates every message, when each reaches it") {}
  auto s = hook_sim(hooks, lan);
  sp = s.get();
  LinkParams link = nic(kBps);
  if (lan.duplicate == 0.0) link.duplicate = 1.0;
  s->network().configure_host(0, link);
  s->start_all();
  CHECK(conserved(*s));
  CHECK(s->inflight_messages() == (lan.duplicate > 0.0 ? 20u : 10u));
  s->run_until(kMillisecond + 5 * kService + 1);
  CHECK(conserved(*s));
  CHECK(s->messages().delivered == 5);
  s->run_until(kSecond);
  CHECK(conserved(*s));
  CHECK(s->messages().sent == 10);
  CHECK(s->messages().duplicated == 10);
  CHECK(s->messages().delivered == 20);
  CHECK(s->inflight_messages() == 0);
  // Every copy is sent again on the slow link, right behind its message.
  REQUIRE(got.size() == 20);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == kMillisecond + static_cast<core::Duration>(i + 1) * kService);
}

TEST_CASE("bandwidth: a message lost at a link it waited for is a drop at the time it reached it", "[bandwidth][engine]") {
  std::vector<Hooks> hooks(2);
  int received = 0;
  hooks[1].start = [](core::Env& env) {
    for (uint64_t i = 0; i < 10; ++i) env.send(numbered_message(0, i, kBytes));
  };
  hooks[0].message = [&](core::Env&, const core::Message&) { ++received; };
  LinkParams lan;
  lan.latency = Distribution::constant(kMillisecond);
  auto s = hook_sim(hooks, lan);
  LinkParams lossy = nic(kBps);
  lossy.loss = 1.0;
  s->network().configure_host(0, lossy);
  s->start_all();
  s->run_until(kMillisecond - 1);
  CHECK(s->messages().dropped == 0);
  CHECK(s->inflight_messages() == 10);
  CHECK(conserved(*s));
  s->run_until(kMillisecond);
  CHECK(s->messages().dropped == 10);
  CHECK(s->messages().dropped_by[static_cast<int>(DropReason::kLoss)] == 10);
  CHECK(s->inflight_messages() == 0);
  CHECK(received == 0);
  CHECK(conserved(*s));
}

// ---------------------------------------------------------------- determinism

namespace {
// Two datacenters of heartbeat detectors behind 10 Mbps NICs and a 1 Mbps
// WAN, with jitter, loss, duplication and reordering everywhere: many
// messages wait for links, are duplicated or lost there.
std::unique_ptr<Simulation> congested_sim(uint64_t seed) {
  auto s = std::make_unique<Simulation>(seed);
  LinkParams lan;
  lan.latency = Distribution::uniform(100 * kMicrosecond, 2 * kMillisecond);
  lan.loss = 0.01;
  lan.duplicate = 0.05;
  lan.reorder = 0.05;
  lan.reorder_delay = Distribution::constant(5 * kMillisecond);
  s->network().add_lan("a", lan);
  s->network().add_lan("b", lan);
  LinkParams wan = lan;
  wan.latency = Distribution::uniform(10 * kMillisecond, 20 * kMillisecond);
  wan.bandwidth_bps = 1'000'000;
  s->network().add_wan_link(0, 1, wan);
  core::hb::DetectorConfig cfg;
  cfg.interval_ns = 20 * kMillisecond;
  cfg.timeout_ns = 500 * kMillisecond;
  const uint32_t kNodes = 8;
  for (uint32_t i = 0; i < kNodes; ++i)
    s->add_node(numbered("node-", i), i % 2, [kNodes, cfg](core::NodeId id) {
      return std::make_unique<core::hb::Detector>(id, kNodes, cfg);
    });
  LinkParams card = nic(10'000'000);
  card.duplicate = 0.01;
  card.loss = 0.01;
  for (uint32_t i = 0; i < kNodes; ++i) s->network().configure_host(i, card);
  return s;
}
}  // namespace

TEST_CASE("bandwidth: same seed, same trace hash; a trace writer does not change it", "[bandwidth][determinism]") {
  auto run = [](uint64_t seed, sim::TraceWriter* writer) {
    auto s = congested_sim(seed);
    if (writer) s->set_trace_writer(writer);
    s->start_all();
    s->schedule(500 * kMillisecond, [&s] { s->crash(3); });
    s->schedule(700 * kMillisecond, [&s] { s->network().partition({{0, 2}}); });
    s->schedule(900 * kMillisecond, [&s] { s->network().heal(); });
    s->schedule(1000 * kMillisecond, [&s] { s->restart(3); });
    for (core::Time t = 0; t <= 2 * kSecond; t += 50 * kMillisecond + 7) {
      s->run_until(t);
      REQUIRE(conserved(*s));
    }
    const sim::MessageStats& m = s->messages();
    CHECK(m.duplicated > 0);
    CHECK(m.dropped_by[static_cast<int>(DropReason::kLoss)] > 0);
    return std::make_tuple(s->trace_hash(), s->trace_events(), m.sent, m.delivered);
  };
  const auto a = run(1, nullptr), b = run(1, nullptr), c = run(2, nullptr);
  CHECK(std::get<1>(a) > 1000);
  CHECK(a == b);
  CHECK(std::get<0>(a) != std::get<0>(c));
  const std::string path =
      (std::filesystem::temp_directory_path() / numbered("clustersim-bandwidth-", static_cast<uint64_t>(::getpid()))).string();
  {
    sim::TraceWriter w(path);
    CHECK(run(1, &w) == a);
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + ".partial", ec);
}

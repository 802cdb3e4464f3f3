// memberlist in the simulator, alone (core::memberlist::MemberlistNode):
// a quiet pool stays quiet, a crash is detected and declared dead by every
// member, a short pause is suspected and refuted, a cold join converges, a
// graceful leave is seen as left, the stream fallback rescues probes on a
// lossy network, and runs replay exactly.
#include <catch2/catch.hpp>

#include <memory>
#include <numeric>
#include <vector>

#include "core/memberlist/node.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/sim/hook_node.hpp"

using core::kMillisecond;
using core::kSecond;
using core::memberlist::Config;
using core::memberlist::MemberlistNode;
using core::memberlist::State;
using sim::Simulation;

namespace {

struct Pool {
  std::unique_ptr<Simulation> sim;
  uint32_t n = 0;
  MemberlistNode* node(core::NodeId i) { return static_cast<MemberlistNode*>(sim->node(i)); }
  // How many running members other than `member` see it in state `s`.
  uint32_t seen_as(core::NodeId member, State s) {
    uint32_t c = 0;
    for (core::NodeId v = 0; v < n; ++v) {
      if (v == member || !sim->is_up(v) || !node(v)) continue;
      const auto& ml = node(v)->memberlist();
      if (ml.knows(member) && ml.state(member) == s) ++c;
    }
    return c;
  }
  uint32_t running_others(core::NodeId member) {
    uint32_t c = 0;
    for (core::NodeId v = 0; v < n; ++v)
      if (v != member && sim->is_up(v)) ++c;
    return c;
  }
};

// `n` members on one LAN with 1-3 ms latency; joined already, or each
// joining member 0 at boot (cold).
Pool make_pool(uint32_t n, uint64_t seed, bool cold = false, double loss = 0.0, Config cfg = Config::consul_lan()) {
  Pool p;
  p.n = n;
  p.sim = std::make_unique<Simulation>(seed);
  sim::LinkParams lan;
  lan.latency = sim::Distribution::uniform(kMillisecond, 3 * kMillisecond);
  lan.loss = loss;
  p.sim->network().add_lan("lan", lan);
  auto all = std::make_shared<std::vector<core::NodeId>>(n);
  std::iota(all->begin(), all->end(), 0);
  for (uint32_t i = 0; i < n; ++i) {
    p.sim->add_node(sim_test::numbered("m", i), 0, [=](core::NodeId id) {
      if (!cold) return std::make_unique<MemberlistNode>(id, n, cfg, all);
      std::vector<core::NodeId> join;
      if (id != 0) join.push_back(0);
      return std::make_unique<MemberlistNode>(id, n, cfg, nullptr, join);
    });
  }
  p.sim->start_all();
  return p;
}

}  // namespace

TEST_CASE("memberlist: a healthy pool probes, suspects nobody and keeps its views", "[memberlist][sim]") {
  Pool p = make_pool(8, 1);
  p.sim->run_until(60 * kSecond);
  for (core::NodeId i = 0; i < p.n; ++i) {
    CHECK(p.seen_as(i, State::kAlive) == p.n - 1);
    const auto& st = p.node(i)->memberlist().stats();
    // One probe per probe interval.
    CHECK(st.probes >= 58);
    CHECK(st.probes <= 61);
    CHECK(st.probe_failures == 0);
    CHECK(st.suspicions == 0);
    CHECK(p.node(i)->memberlist().health_score() == 0);
  }
}

TEST_CASE("memberlist: a crashed member is suspected, then declared dead by every member", "[memberlist][sim]") {
  Pool p = make_pool(10, 2);
  p.sim->run_until(5 * kSecond);
  p.sim->crash(3);
  // Detection within a few probe periods; suspicion between Min (4 s at
  // n = 10) and Max (24 s); dissemination in well under a second.
  p.sim->run_until(5 * kSecond + 27 * kSecond);
  CHECK(p.seen_as(3, State::kDead) == p.running_others(3));
  for (core::NodeId i = 0; i < p.n; ++i)
    if (i != 3) CHECK(p.node(i)->memberlist().num_members() == p.n - 1);
  // GossipToTheDeadTime (30 s) later, every list has dropped it.
  p.sim->run_until(5 * kSecond + 27 * kSecond + 32 * kSecond);
  for (core::NodeId i = 0; i < p.n; ++i)
    if (i != 3) CHECK_FALSE(p.node(i)->memberlist().knows(3));
}

TEST_CASE("memberlist: a short pause is suspected and refuted with a new incarnation", "[memberlist][sim]") {
  Pool p = make_pool(10, 3);
  p.sim->run_until(5 * kSecond);
  p.sim->pause(4);
  p.sim->run_until(8 * kSecond);  // probes fail; 3 s < Min of 4 s
  p.sim->resume(4);
  p.sim->run_until(20 * kSecond);
  CHECK(p.seen_as(4, State::kAlive) == p.n - 1);
  CHECK(p.seen_as(4, State::kDead) == 0);
  CHECK(p.node(4)->memberlist().incarnation(4) > 1);
  CHECK(p.node(4)->memberlist().stats().refutes >= 1);
}

TEST_CASE("memberlist: a cold start through one member converges to full views", "[memberlist][sim]") {
  Pool p = make_pool(20, 4, /*cold=*/true);
  p.sim->run_until(15 * kSecond);
  for (core::NodeId i = 0; i < p.n; ++i) {
    CHECK(p.seen_as(i, State::kAlive) == p.n - 1);
    if (i != 0) CHECK(p.node(i)->joins_done() == 1);
    if (i != 0) CHECK(p.node(i)->last_join_contacted() == 1);
  }
}

TEST_CASE("memberlist: a graceful leave is seen as left, not dead", "[memberlist][sim]") {
  Pool p = make_pool(10, 5);
  p.sim->run_until(5 * kSecond);
  p.sim->schedule(p.sim->now(), [&] { p.node(2)->memberlist().leave(p.sim->env(2, core::Port::kSerfLan), 5 * kSecond); });
  p.sim->run_until(10 * kSecond);
  CHECK(p.node(2)->left());
  CHECK(p.seen_as(2, State::kLeft) == p.n - 1);
}

TEST_CASE("memberlist: with 20% loss the indirect and stream probes keep false suspicions rare", "[memberlist][sim]") {
  Pool p = make_pool(10, 6, false, 0.20);
  p.sim->run_until(120 * kSecond);
  uint64_t probes = 0, failures = 0, rescues = 0;
  for (core::NodeId i = 0; i < p.n; ++i) {
    const auto& st = p.node(i)->memberlist().stats();
    probes += st.probes;
    failures += st.probe_failures;
    rescues += st.stream_rescues;
  }
  CHECK(probes > 1000);
  CHECK(rescues > 0);
  // A probe fails only if the direct, all three indirect paths and the stream fail.
  CHECK(failures * 100 < probes);
  CHECK(p.seen_as(0, State::kDead) == 0);
}

TEST_CASE("memberlist: the same seed replays the same run", "[memberlist][sim][determinism]") {
  auto hash = [](uint64_t seed) {
    Pool p = make_pool(12, seed, true, 0.05);
    p.sim->run_until(5 * kSecond);
    p.sim->crash(5);
    p.sim->run_until(40 * kSecond);
    return p.sim->trace_hash();
  };
  CHECK(hash(7) == hash(7));
  CHECK(hash(7) != hash(8));
}

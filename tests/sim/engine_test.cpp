// Unit tests of the event kernel and sim::Simulation: event ordering, timers
// on drifting and jumping clocks, crash/restart/pause/resume, the
// persist-before-send rule, partitions of in-flight messages, message
// conservation, determinism, independence of instances, the livelock guard,
// and the WORKLOAD.md benchmarks.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/check.hpp"
#include "core/hb/heartbeat.hpp"
#include "core/random.hpp"
#include "sim/run/bench.hpp"
#include "sim/engine/event_queue.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/sim/hook_node.hpp"

using core::kMicrosecond;
using core::kMillisecond;
using core::kSecond;
using sim::Distribution;
using sim::DropReason;
using sim::EventKind;
using sim::LinkParams;
using sim::Simulation;

using sim_test::constant_lan;
using sim_test::Hooks;
using sim_test::hook_sim;
using sim_test::number_of;
using sim_test::numbered;
using sim_test::numbered_message;

namespace {

// A cluster of heartbeat failure detectors with random latency and loss.
std::unique_ptr<Simulation> detector_sim(uint64_t seed, uint32_t nodes = 5, double loss = 0.02, double duplicate = 0.0) {
  auto s = std::make_unique<Simulation>(seed);
  LinkParams lan;
  lan.latency = Distribution::uniform(kMillisecond, 5 * kMillisecond);
  lan.loss = loss;
  lan.duplicate = duplicate;
  s->network().add_lan("lan", lan);
  core::hb::DetectorConfig cfg;
  cfg.interval_ns = 50 * kMillisecond;
  cfg.timeout_ns = 200 * kMillisecond;
  for (uint32_t i = 0; i < nodes; ++i)
    s->add_node(numbered("node-", i), 0,
                [nodes, cfg](core::NodeId id) { return std::make_unique<core::hb::Detector>(id, nodes, cfg); });
  return s;
}

bool conserved(const Simulation& s) {
  const sim::MessageStats& m = s.messages();
  return m.sent + m.duplicated == m.delivered + m.dropped + s.inflight_messages();
}

}  // namespace

// ---------------------------------------------------------------- event queue

TEST_CASE("event queue: pops in (time, scheduling order) against a multimap reference", "[engine][queue]") {
  core::Rng rng(31);
  sim::EventQueue q;
  std::multimap<core::Time, std::tuple<EventKind, uint32_t, uint32_t>> ref;  // equal keys keep insertion order
  uint32_t counter = 0;
  uint64_t last_seq_popped_at_same_time = 0;
  core::Time last_time = -1;
  for (int round = 0; round < 200000; ++round) {
    if (ref.empty() || rng.chance(0.55)) {
      const core::Time t = rng.range(0, 60);  // many ties
      const EventKind k = static_cast<EventKind>(1 + rng.below(6));  // every kind, kDeliver .. kHop
      const uint32_t b = static_cast<uint32_t>(rng.below(1000));
      q.push(t, k, counter, b);
      ref.emplace(t, std::make_tuple(k, counter, b));
      ++counter;
    } else {
      REQUIRE(q.top().time == ref.begin()->first);
      const sim::Event e = q.pop();
      const auto [k, a, b] = ref.begin()->second;
      REQUIRE(e.time == ref.begin()->first);
      REQUIRE(e.kind() == k);
      REQUIRE(e.a == a);
      REQUIRE(e.b == b);
      if (e.time == last_time) REQUIRE(e.seq() > last_seq_popped_at_same_time);
      last_time = e.time;
      last_seq_popped_at_same_time = e.seq();
      ref.erase(ref.begin());
    }
    REQUIRE(q.size() == ref.size());
  }
  while (!q.empty()) {
    REQUIRE(q.pop().a == std::get<1>(ref.begin()->second));
    ref.erase(ref.begin());
  }
  CHECK(ref.empty());
  CHECK(q.scheduled() == counter);
}

// ---------------------------------------------------------------- determinism

TEST_CASE("simulation: same seed gives the same trace hash; another seed a different one", "[engine][determinism]") {
  auto run = [](uint64_t seed) {
    auto s = detector_sim(seed);
    s->start_all();
    s->schedule(1 * kSecond, [&s] { s->crash(2); });
    s->schedule(2 * kSecond, [&s] { s->restart(2); });
    s->run_until(3 * kSecond);
    return std::make_pair(s->trace_hash(), s->trace_events());
  };
  const auto a = run(1), b = run(1), c = run(2);
  CHECK(a.second > 1000);
  CHECK(a == b);
  CHECK(a.first != c.first);
}

TEST_CASE("simulation: many simulations in one process are independent (interleaved == solo)", "[engine][determinism]") {
  constexpr int kSteps = 20000;
  auto solo = [](uint64_t seed) {
    auto s = detector_sim(seed, 4, 0.05);
    s->start_all();
    for (int i = 0; i < kSteps; ++i) REQUIRE(s->step());
    return s->trace_hash();
  };
  const uint64_t h1 = solo(1), h2 = solo(2);
  auto a = detector_sim(1, 4, 0.05), b = detector_sim(2, 4, 0.05);
  a->start_all();
  b->start_all();
  for (int i = 0; i < kSteps; ++i) {
    REQUIRE(a->step());
    REQUIRE(b->step());
  }
  CHECK(a->trace_hash() == h1);
  CHECK(b->trace_hash() == h2);
  CHECK(h1 != h2);
}

// ---------------------------------------------------------------- timers

TEST_CASE("simulation: timers fire at the right local time; cancel works; cancel after fire is a no-op", "[engine][timer]") {
  std::vector<Hooks> hooks(1);
  std::vector<std::pair<uint64_t, core::Time>> fired;  // (what, local time)
  core::TimerId first = 0, cancelled = 0, reused = 0;
  Simulation* sp = nullptr;
  hooks[0].start = [&](core::Env& env) {
    first = env.set_timer(10 * kMillisecond, 1);
    cancelled = env.set_timer(20 * kMillisecond, 2);
    env.set_timer(30 * kMillisecond, 3);
    env.set_timer(-5 * kMillisecond, 4);  // negative delay: fires at once
    CHECK(first != 0);
    CHECK(first != cancelled);
  };
  hooks[0].timer = [&](core::Env& env, uint64_t what) {
    fired.emplace_back(what, env.now());
    CHECK(env.now() == sp->now());  // ideal clock
    if (what == 1) {
      reused = env.set_timer(5 * kMillisecond, 5);  // reuses the slot timer 1 just freed
      env.cancel_timer(first);      // already fired: must not hit the new timer
      env.cancel_timer(cancelled);
      env.cancel_timer(cancelled);  // twice is harmless
      env.cancel_timer(0);          // the invalid id
    }
  };
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->start_all();
  s->run_until(kSecond);
  using P = std::pair<uint64_t, core::Time>;
  CHECK(fired == std::vector<P>{{4, 0}, {1, 10 * kMillisecond}, {5, 15 * kMillisecond}, {3, 30 * kMillisecond}});
  CHECK(reused != first);
}

TEST_CASE("simulation: timers with equal deadlines fire in the order they were set", "[engine][timer]") {
  std::vector<Hooks> hooks(1);
  std::vector<uint64_t> order;
  hooks[0].start = [&](core::Env& env) {
    for (uint64_t w = 0; w < 20; ++w) env.set_timer(7 * kMillisecond, w);
  };
  hooks[0].timer = [&](core::Env&, uint64_t what) { order.push_back(what); };
  auto s = hook_sim(hooks, constant_lan(0));
  s->start_all();
  s->run_until(kSecond);
  REQUIRE(order.size() == 20);
  for (uint64_t w = 0; w < 20; ++w) CHECK(order[w] == w);
}

TEST_CASE("simulation: clock drift makes a node's timers fire later or earlier in global time", "[engine][timer][clock]") {
  std::vector<Hooks> hooks(3);
  std::vector<core::Time> fired(3, -1), local_at_fire(3, -1);
  Simulation* sp = nullptr;
  for (core::NodeId i = 0; i < 3; ++i) {
    hooks[i].start = [](core::Env& env) { env.set_timer(kSecond, 0); };
    hooks[i].timer = [&, i](core::Env& env, uint64_t) {
      fired[i] = sp->now();
      local_at_fire[i] = env.now();
    };
  }
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->set_clock_drift(0, 100'000);   // +100ppm: local runs fast, fires early
  s->set_clock_drift(1, -100'000);  // -100ppm: fires late
  s->start_all();
  s->run_until(2 * kSecond);
  CHECK(fired[0] == 999'900'010);
  CHECK(fired[1] == 1'000'100'011);
  CHECK(fired[2] == kSecond);
  for (int i = 0; i < 3; ++i) CHECK(local_at_fire[i] >= kSecond);
  CHECK(s->local_time(0) > s->now());
  CHECK(s->local_time(1) < s->now());
}

TEST_CASE("simulation: a drift change reschedules pending timers on the new rate", "[engine][timer][clock]") {
  std::vector<Hooks> hooks(1);
  core::Time fired = -1;
  Simulation* sp = nullptr;
  hooks[0].start = [](core::Env& env) { env.set_timer(kSecond, 0); };
  hooks[0].timer = [&](core::Env&, uint64_t) { fired = sp->now(); };
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->start_all();
  s->schedule(500 * kMillisecond, [&] { s->set_clock_drift(0, 100'000); });
  s->run_until(2 * kSecond);
  // The remaining 500ms of local time pass at 1.0001x: ceil(5e17 / 1.0001e9) = 499950005.
  CHECK(fired == 500 * kMillisecond + 499'950'005);
}

TEST_CASE("simulation: cancelling a timer after a drift change or clock jump still cancels it", "[engine][timer][clock]") {
  // Rescheduling on a clock change must not invalidate the ids the node holds.
  std::vector<Hooks> hooks(1);
  int fired = 0;
  core::TimerId id = 0;
  hooks[0].start = [&](core::Env& env) { id = env.set_timer(100 * kMillisecond, 7); };
  hooks[0].timer = [&](core::Env&, uint64_t) { ++fired; };
  auto s = hook_sim(hooks, constant_lan(0));
  s->start_all();
  SECTION("drift") { s->schedule(10 * kMillisecond, [&] { s->set_clock_drift(0, 50'000); }); }
  SECTION("jump") { s->schedule(10 * kMillisecond, [&] { s->jump_clock(0, 5 * kMillisecond); }); }
  s->schedule(20 * kMillisecond, [&] { s->env(0).cancel_timer(id); });
  s->run_until(kSecond);
  CHECK(fired == 0);
}

TEST_CASE("simulation: a clock jump forward fires overdue timers at once; a jump back delays them", "[engine][timer][clock]") {
  std::vector<Hooks> hooks(1);
  std::map<uint64_t, core::Time> fired;  // what -> global time
  Simulation* sp = nullptr;
  hooks[0].start = [](core::Env& env) {
    env.set_timer(100 * kMillisecond, 100);
    env.set_timer(200 * kMillisecond, 200);
    env.set_timer(kSecond, 1000);
  };
  hooks[0].timer = [&](core::Env&, uint64_t what) { fired[what] = sp->now(); };
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->start_all();
  SECTION("forward") {
    s->schedule(50 * kMillisecond, [&] { s->jump_clock(0, 300 * kMillisecond); });
    s->run_until(2 * kSecond);
    CHECK(fired[100] == 50 * kMillisecond);
    CHECK(fired[200] == 50 * kMillisecond);
    CHECK(fired[1000] == 700 * kMillisecond);
  }
  SECTION("backward") {
    s->schedule(50 * kMillisecond, [&] { s->jump_clock(0, -100 * kMillisecond); });
    s->run_until(2 * kSecond);
    CHECK(fired[100] == 200 * kMillisecond);
    CHECK(fired[200] == 300 * kMillisecond);
    CHECK(fired[1000] == 1100 * kMillisecond);
  }
}

// ---------------------------------------------------------------- crash and restart

TEST_CASE("simulation: crash drops volatile state and pending timers; restart calls start() with storage kept", "[engine][crash]") {
  std::vector<Hooks> hooks(1);
  int starts = 0, fired = 0;
  std::vector<std::string> boots_seen;
  std::vector<core::Time> fire_times;
  Simulation* sp = nullptr;
  hooks[0].start = [&](core::Env& env) {
    ++starts;
    const std::string* b = env.storage().get("boots");
    boots_seen.push_back(b ? *b : "none");
    env.storage().put("boots", std::to_string(starts));
    env.sync();
    env.set_timer(100 * kMillisecond, 0);
  };
  hooks[0].timer = [&](core::Env&, uint64_t) {
    ++fired;
    fire_times.push_back(sp->now());
  };
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->start_all();
  CHECK(s->node(0) != nullptr);
  s->run_until(50 * kMillisecond);
  s->crash(0);
  CHECK_FALSE(s->is_up(0));
  CHECK(s->node(0) == nullptr);
  s->run_until(200 * kMillisecond);
  CHECK(fired == 0);  // the old process's timer died with it
  s->restart(0);
  CHECK(s->is_up(0));
  s->restart(0);  // restarting a running node does nothing
  CHECK(starts == 2);
  s->run_until(kSecond);
  CHECK(boots_seen == std::vector<std::string>{"none", "1"});
  CHECK(fire_times == std::vector<core::Time>{300 * kMillisecond});
}

TEST_CASE("simulation: crash with lose_unsynced_on_crash loses writes whose sync had not completed", "[engine][crash][storage]") {
  // t=0: put a, sync (done 5ms). t=10ms: put b, sync (done 15ms), put c (never synced).
  auto run = [](bool lose, core::Time crash_at) {
    std::vector<Hooks> hooks(1);
    hooks[0].start = [](core::Env& env) {
      env.storage().put("a", "1");
      env.sync();
      env.set_timer(10 * kMillisecond, 0);
    };
    hooks[0].timer = [](core::Env& env, uint64_t) {
      env.storage().put("b", "1");
      env.sync();
      env.storage().put("c", "1");
    };
    auto s = hook_sim(hooks, constant_lan(0));
    s->set_storage_params(0, {Distribution::constant(5 * kMillisecond), lose});
    s->start_all();
    s->run_until(crash_at);
    s->crash(0);
    std::string keys;
    for (const auto& [k, v] : s->storage(0).view()) keys += k;
    return keys;
  };
  CHECK(run(true, 3 * kMillisecond) == "");
  CHECK(run(true, 12 * kMillisecond) == "a");
  CHECK(run(true, 16 * kMillisecond) == "ab");
  CHECK(run(false, 3 * kMillisecond) == "a");
  CHECK(run(false, 12 * kMillisecond) == "abc");
}

TEST_CASE("simulation: a sync from before a crash does not complete after the restart", "[engine][crash][storage]") {
  std::vector<Hooks> hooks(1);
  int starts = 0;
  hooks[0].start = [&](core::Env& env) {
    if (++starts == 1) {
      env.storage().put("x", "1");
      env.sync();  // would complete at 10ms
    } else {
      env.storage().put("y", "1");  // never synced
    }
  };
  auto s = hook_sim(hooks, constant_lan(0));
  s->set_storage_params(0, {Distribution::constant(10 * kMillisecond), true});
  s->start_all();
  s->schedule(5 * kMillisecond, [&] { s->crash(0); });
  s->schedule(6 * kMillisecond, [&] { s->restart(0); });
  s->run_until(20 * kMillisecond);
  CHECK(s->storage(0).durable_seq() == 0);
  s->crash(0);
  CHECK(s->storage(0).view().empty());
}

// ---------------------------------------------------------------- persist before send

TEST_CASE("simulation: a message sent after sync() waits for the sync; one sent before it does not", "[engine][storage]") {
  auto arrivals = [](core::Duration sync_latency, bool write) {
    std::vector<Hooks> hooks(2);
    std::map<uint64_t, core::Time> at;
    Simulation* sp = nullptr;
    hooks[0].start = [write](core::Env& env) {
      env.send(numbered_message(1, 1));
      if (write) env.storage().put("term", "5");
      env.sync();
      env.send(numbered_message(1, 2));
    };
    hooks[1].message = [&](core::Env&, const core::Message& m) { at[number_of(m)] = sp->now(); };
    auto s = hook_sim(hooks, constant_lan(kMillisecond));
    sp = s.get();
    s->set_storage_params(0, {Distribution::constant(sync_latency), false});
    s->start_all();
    s->run_until(kSecond);
    return at;
  };
  const auto with_sync = arrivals(5 * kMillisecond, true);
  CHECK(with_sync.at(1) == kMillisecond);
  CHECK(with_sync.at(2) == 5 * kMillisecond + kMillisecond);
  const auto instant = arrivals(0, true);
  CHECK(instant.at(2) == kMillisecond);
  const auto nothing_to_sync = arrivals(5 * kMillisecond, false);
  CHECK(nothing_to_sync.at(2) == kMillisecond);
}

TEST_CASE("simulation: when a held send leaves, the write it follows is already durable", "[engine][storage]") {
  std::vector<Hooks> hooks(2);
  uint64_t durable_when_received = 0, written_seq = 0;
  Simulation* sp = nullptr;
  hooks[0].start = [&](core::Env& env) {
    env.storage().put("vote", "n1");
    written_seq = env.storage().last_write_seq();
    env.sync();
    env.send(numbered_message(1, 1));
  };
  hooks[1].message = [&](core::Env&, const core::Message&) { durable_when_received = sp->storage(0).durable_seq(); };
  auto s = hook_sim(hooks, constant_lan(0));
  sp = s.get();
  s->set_storage_params(0, {Distribution::constant(3 * kMillisecond), true});
  s->start_all();
  s->run_until(kSecond);
  CHECK(written_seq == 1);
  CHECK(durable_when_received == written_seq);
}

TEST_CASE("simulation: a send held for a sync is dropped (sender_down) if the sender crashes first", "[engine][storage][crash]") {
  std::vector<Hooks> hooks(2);
  int received = 0;
  hooks[0].start = [](core::Env& env) {
    env.storage().put("k", "v");
    env.sync();
    env.send(numbered_message(1, 1));
  };
  hooks[1].message = [&](core::Env&, const core::Message&) { ++received; };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->set_storage_params(0, {Distribution::constant(10 * kMillisecond), false});
  s->start_all();
  s->schedule(5 * kMillisecond, [&] { s->crash(0); });
  s->run_until(kSecond);
  CHECK(received == 0);
  CHECK(s->messages().dropped_by[static_cast<int>(DropReason::kSenderDown)] == 1);
  CHECK(conserved(*s));
}

// ---------------------------------------------------------------- pause and resume

TEST_CASE("simulation: pause holds timers and inbound messages; resume delivers them in arrival order", "[engine][pause]") {
  std::vector<Hooks> hooks(2);
  std::vector<std::pair<std::string, core::Time>> seen;  // by node 1
  Simulation* sp = nullptr;
  hooks[0].start = [](core::Env& env) {
    env.set_timer(1 * kMillisecond, 1);
    env.set_timer(3 * kMillisecond, 2);
  };
  hooks[0].timer = [](core::Env& env, uint64_t what) { env.send(numbered_message(1, what)); };  // arrive at 2ms, 4ms
  hooks[1].start = [](core::Env& env) { env.set_timer(3 * kMillisecond, 0); };
  hooks[1].message = [&](core::Env&, const core::Message& m) { seen.emplace_back(numbered("msg", number_of(m)), sp->now()); };
  hooks[1].timer = [&](core::Env&, uint64_t) { seen.emplace_back("timer", sp->now()); };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  sp = s.get();
  s->start_all();
  s->pause(1);
  CHECK(s->is_paused(1));
  s->run_until(10 * kMillisecond);
  CHECK(seen.empty());
  CHECK(s->inflight_messages() == 2);  // held, not lost
  s->resume(1);
  CHECK_FALSE(s->is_paused(1));
  s->run_until(20 * kMillisecond);
  using P = std::pair<std::string, core::Time>;
  CHECK(seen == std::vector<P>{{"msg1", 10 * kMillisecond}, {"timer", 10 * kMillisecond}, {"msg2", 10 * kMillisecond}});
  CHECK(conserved(*s));
}

TEST_CASE("simulation: a timer held by a pause can still be cancelled; a crash while paused drops what was held", "[engine][pause]") {
  std::vector<Hooks> hooks(2);
  int timer_fired = 0, received = 0;
  core::TimerId id = 0;
  hooks[0].start = [](core::Env& env) { env.send(numbered_message(1, 1)); };
  hooks[1].start = [&](core::Env& env) { id = env.set_timer(2 * kMillisecond, 0); };
  hooks[1].timer = [&](core::Env&, uint64_t) { ++timer_fired; };
  hooks[1].message = [&](core::Env&, const core::Message&) { ++received; };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  s->pause(1);
  s->run_until(5 * kMillisecond);
  SECTION("cancel then resume") {
    s->env(1).cancel_timer(id);
    s->resume(1);
    s->run_until(10 * kMillisecond);
    CHECK(timer_fired == 0);
    CHECK(received == 1);
  }
  SECTION("crash while paused") {
    s->crash(1);
    s->restart(1);
    s->run_until(10 * kMillisecond);
    CHECK(received == 0);
    CHECK(timer_fired == 1);  // only the restarted node's own timer, at 7ms
    CHECK(s->messages().dropped_by[static_cast<int>(DropReason::kNodeDown)] == 1);
  }
  CHECK(conserved(*s));
}

// ---------------------------------------------------------------- message drops

TEST_CASE("simulation: messages to a crashed node are dropped with reason node_down", "[engine][crash]") {
  std::vector<Hooks> hooks(2);
  int received = 0;
  hooks[0].start = [](core::Env& env) {
    for (uint64_t i = 0; i < 3; ++i) env.send(numbered_message(1, i));
  };
  hooks[1].message = [&](core::Env&, const core::Message&) { ++received; };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  s->crash(1);
  s->run_until(kSecond);
  CHECK(received == 0);
  CHECK(s->messages().sent == 3);
  CHECK(s->messages().dropped == 3);
  CHECK(s->messages().dropped_by[static_cast<int>(DropReason::kNodeDown)] == 3);
  CHECK(conserved(*s));
}

TEST_CASE("simulation: a partition installed while a message is in flight drops it at arrival", "[engine][partition]") {
  std::vector<Hooks> hooks(2);
  int received = 0;
  hooks[0].start = [](core::Env& env) { env.send(numbered_message(1, 1)); };  // arrives at 10ms
  hooks[1].message = [&](core::Env&, const core::Message&) { ++received; };
  auto s = hook_sim(hooks, constant_lan(10 * kMillisecond));
  s->start_all();
  SECTION("partitioned at arrival") {
    s->schedule(5 * kMillisecond, [&] { s->network().partition({{0}, {1}}); });
    s->run_until(kSecond);
    CHECK(received == 0);
    CHECK(s->messages().dropped_by[static_cast<int>(DropReason::kPartition)] == 1);
  }
  SECTION("one-way block at arrival") {
    s->schedule(5 * kMillisecond, [&] { s->network().block(0, 1); });
    s->run_until(kSecond);
    CHECK(received == 0);
  }
  SECTION("healed before arrival") {
    s->schedule(2 * kMillisecond, [&] { s->network().partition({{0}, {1}}); });
    s->schedule(5 * kMillisecond, [&] { s->network().heal(); });
    s->run_until(kSecond);
    CHECK(received == 1);
  }
  CHECK(conserved(*s));
}

TEST_CASE("simulation: sending to an unknown node id is an error", "[engine]") {
  std::vector<Hooks> hooks(1);
  hooks[0].start = [](core::Env& env) { env.send(numbered_message(9, 1)); };
  auto s = hook_sim(hooks, constant_lan(0));
  CHECK_THROWS_AS(s->start_all(), sim::SimulationError);
}

TEST_CASE("simulation: message conservation: sent + duplicated == delivered + dropped + inflight", "[engine][stats]") {
  auto s = detector_sim(5, 6, 0.1, 0.05);
  s->start_all();
  s->schedule(300 * kMillisecond, [&] { s->crash(1); });
  s->schedule(400 * kMillisecond, [&] { s->pause(2); });
  s->schedule(500 * kMillisecond, [&] { s->network().partition({{0, 1, 2}}); });
  s->schedule(600 * kMillisecond, [&] { s->crash(2); });  // while paused
  s->schedule(700 * kMillisecond, [&] { s->network().heal(); });
  s->schedule(800 * kMillisecond, [&] { s->restart(1); });
  s->schedule(900 * kMillisecond, [&] { s->pause(3); });
  for (core::Time t = 0; t <= 2 * kSecond; t += 37 * kMillisecond + 123) {
    s->run_until(t);
    INFO("t=" << t);
    REQUIRE(conserved(*s));
  }
  const sim::MessageStats& m = s->messages();
  CHECK(m.duplicated > 0);
  CHECK(m.dropped_by[static_cast<int>(DropReason::kLoss)] > 0);
  CHECK(m.dropped_by[static_cast<int>(DropReason::kNodeDown)] > 0);
  CHECK(m.dropped_by[static_cast<int>(DropReason::kPartition)] > 0);
  CHECK(s->inflight_messages() > 0);  // what paused node 3 holds
  uint64_t by_reason = 0;
  for (uint64_t d : m.dropped_by) by_reason += d;
  CHECK(by_reason == m.dropped);
  uint64_t sent_by_type = 0;
  for (const sim::TypeStats& ts : s->message_types()) sent_by_type += ts.sent;
  CHECK(sent_by_type == m.sent);
}

// ---------------------------------------------------------------- livelock

TEST_CASE("simulation: the livelock guard throws for a zero-latency ping-pong loop", "[engine][livelock]") {
  std::vector<Hooks> hooks(2);
  hooks[0].start = [](core::Env& env) { env.send(numbered_message(1, 0)); };
  for (core::NodeId i = 0; i < 2; ++i)
    hooks[i].message = [i](core::Env& env, const core::Message& m) { env.send(numbered_message(1 - i, number_of(m) + 1)); };
  auto s = hook_sim(hooks, constant_lan(0));
  s->set_livelock_limit(1000);
  s->start_all();
  CHECK_THROWS_AS(s->run_until(kSecond), sim::SimulationError);
}

TEST_CASE("simulation: a burst of same-time events below the livelock limit runs fine", "[engine][livelock]") {
  std::vector<Hooks> hooks(2);
  int received = 0;
  hooks[0].start = [](core::Env& env) {
    for (uint64_t i = 0; i < 500; ++i) env.send(numbered_message(1, i));
  };
  hooks[1].message = [&](core::Env&, const core::Message&) { ++received; };
  auto s = hook_sim(hooks, constant_lan(0));
  s->set_livelock_limit(1000);
  s->start_all();
  CHECK_NOTHROW(s->run_until(kSecond));
  CHECK(received == 500);
}

// ---------------------------------------------------------------- benchmarks

TEST_CASE("bench: HbPlan::make(5, 4, 50000, 42) has WORKLOAD.md's checksum 3f25d2e635c1f4ab", "[bench]") {
  const auto plan = core::hb::HbPlan::make(5, 4, 1'000'000 / (5 * 4), 42);
  CHECK(plan->checksum == 0x3f25d2e635c1f4abull);
  // Every (round, node) has 4 distinct targets, none of them itself.
  for (uint32_t r = 0; r < 100; ++r)
    for (uint32_t i = 0; i < 5; ++i) {
      const uint32_t* t = &plan->targets[(r * 5 + i) * 4];
      for (int k = 0; k < 4; ++k) {
        REQUIRE(t[k] < 5);
        REQUIRE(t[k] != i);
        for (int j = 0; j < k; ++j) REQUIRE(t[j] != t[k]);
      }
    }
}

TEST_CASE("bench: run_bench(\"hb\", 5, 20000) delivers every expected message", "[bench]") {
  const sim::BenchResult r = sim::run_bench("hb", 5, 20000);
  CHECK(r.ok);
  CHECK(r.error.empty());
  CHECK(r.expected_messages == 20000);
  CHECK(r.delivered == 20000);
  // 1000 rounds of 1s; each node's last (empty) round timer fires at 1000s.
  CHECK(r.virtual_time_ns == 1000 * kSecond);
  CHECK(sim::run_bench("hb", 5, 20000).trace_hash == r.trace_hash);
}

TEST_CASE("bench: the ring delivers exactly M hops, each node receiving its share", "[bench]") {
  const sim::BenchResult r = sim::run_bench("ring", 7, 1000);
  CHECK(r.ok);
  CHECK(r.delivered == 1000);
  CHECK(r.virtual_time_ns == 1000 * kMillisecond);

  Simulation s(42);
  s.network().add_lan("lan", constant_lan(kMillisecond));
  for (uint32_t i = 0; i < 7; ++i)
    s.add_node(numbered("n", i), 0, [](core::NodeId id) { return std::make_unique<core::hb::RingBenchNode>(id, 7, 1000); });
  s.start_all();
  while (s.step()) {
  }
  uint64_t total = 0;
  for (core::NodeId i = 0; i < 7; ++i) {
    const auto* n = dynamic_cast<const core::hb::RingBenchNode*>(s.node(i));
    REQUIRE(n != nullptr);
    // Hop h goes to h mod 7, h = 1..1000.
    const uint64_t want = (1000 / 7) + ((i >= 1 && i <= 1000 % 7) ? 1 : 0);
    CHECK(n->received() == want);
    total += n->received();
  }
  CHECK(total == 1000);
}

TEST_CASE("bench: bad parameters are rejected", "[bench]") {
  CHECK_THROWS_AS(sim::run_bench("nope", 5, 100), std::invalid_argument);
  CHECK_THROWS_AS(sim::run_bench("hb", 4, 100), std::invalid_argument);
  CHECK_THROWS_AS(sim::run_bench("ring", 1, 100), std::invalid_argument);
  CHECK_THROWS_AS(sim::run_bench("hb", 500, 100), std::invalid_argument);
}

TEST_CASE("engine: protocol code that runs on a paused or crashed node stops the run", "[engine]") {
  std::vector<Hooks> hooks(2);
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  s->pause(0);
  core::Message m;
  m.to = 1;
  // A driver calling into a frozen process: the send must not leave.
  CHECK_THROWS_AS(s->env(0).send(core::Message(m)), sim::InvariantFailure);
  CHECK_THROWS_WITH(s->env(0).send(std::move(m)), Catch::Contains("node n0: sent a message while paused"));
  CHECK_THROWS_WITH(s->env(0).set_timer(kMillisecond, 1), Catch::Contains("set a timer while paused"));
  CHECK(s->messages().sent == 0);
  s->resume(0);
  s->crash(1);
  CHECK_THROWS_WITH(s->env(1).record(core::Record{}), Catch::Contains("node n1: recorded an event while crashed"));
}

TEST_CASE("engine: a protocol invariant violation stops the run with node, time and trace position", "[engine]") {
  std::vector<Hooks> hooks(1);
  hooks[0].start = [](core::Env& env) { env.set_timer(5 * kMillisecond, 1); };
  hooks[0].timer = [](core::Env&, uint64_t) { throw core::InvariantViolation("test: broken"); };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  std::string what;
  try {
    s->run_until(kSecond);
  } catch (const sim::InvariantFailure& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::Contains("node n0: test: broken") && Catch::Contains("at t=5ms, event 1, trace position 1, seed 1"));
}

TEST_CASE("engine: a sync on one port holds back that port's later sends only", "[engine][ports]") {
  // n0 has two components, on the host port and on the raft port. Each writes
  // and syncs (10 ms disk), then sends; only the raft port syncs first here.
  std::vector<Hooks> hooks(2);
  std::vector<std::tuple<core::Time, core::Port, uint64_t>> got;
  hooks[0].start = [](core::Env& env) {
    core::Env& raft = env.on_port(core::Port::kRaft);
    CHECK(raft.port() == core::Port::kRaft);
    CHECK(&raft.on_port(core::Port::kHost) == &env);
    raft.storage().put("raft/x", "1");
    raft.sync();                                   // completes at 10 ms
    raft.send(numbered_message(1, 1));             // waits for it
    env.send(numbered_message(1, 2));              // the host port does not wait
    raft.set_timer(20 * kMillisecond, 7);          // fires through the raft port
  };
  hooks[0].timer = [](core::Env& env, uint64_t what) {
    CHECK(env.port() == core::Port::kRaft);
    CHECK(what == 7);
    env.storage().put("raft/y", "2");
    env.sync();                                        // queued behind nothing: 20 + 10 ms
    env.on_port(core::Port::kHost).send(numbered_message(1, 3));  // host: leaves now
    env.send(numbered_message(1, 4));                  // raft: at 30 ms
  };
  hooks[1].message = [&got](core::Env& env, const core::Message& m) {
    // A message arrives at the port it was sent from.
    got.emplace_back(env.now(), env.port(), number_of(m));
    CHECK(m.port == env.port());
  };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  sim::StorageParams disk;
  disk.sync_latency = Distribution::constant(10 * kMillisecond);
  s->set_storage_params(0, disk);
  s->start_all();
  s->run_until(kSecond);
  using T = std::tuple<core::Time, core::Port, uint64_t>;
  CHECK(got == std::vector<T>{T{1 * kMillisecond, core::Port::kHost, 2}, T{11 * kMillisecond, core::Port::kRaft, 1},
                              T{21 * kMillisecond, core::Port::kHost, 3}, T{31 * kMillisecond, core::Port::kRaft, 4}});
  // Each port draws from its own stream; the host port's is the historical one.
  CHECK(&s->env(0, core::Port::kRaft).rng() != &s->env(0).rng());
  core::Rng host(core::derive_seed(1, core::kStreamNode, 0));
  CHECK(s->env(0).rng().next() == host.next());
}

TEST_CASE("engine: per-type message counts keep every protocol family apart", "[engine]") {
  // Types 0x0101 and 0x0501 agree in the low byte and in the low two bits of
  // the family byte: they must still be counted apart.
  std::vector<Hooks> hooks(2);
  hooks[0].start = [](core::Env& env) {
    core::Message a = numbered_message(1, 1);
    core::Message b = numbered_message(1, 2);
    b.type = 0x0501;
    env.send(std::move(a));
    env.send(std::move(b));
    env.send(numbered_message(1, 3));
  };
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  s->run_until(kSecond);
  const auto types = s->message_types();
  REQUIRE(types.size() == 2);
  CHECK(types[0].type == 0x0101);
  CHECK(types[0].sent == 2);
  CHECK(types[1].type == 0x0501);
  CHECK(types[1].sent == 1);
  CHECK(types[1].delivered == 1);
}

TEST_CASE("engine: an invariant violation in a control action stops the run with its context", "[engine]") {
  std::vector<Hooks> hooks(1);
  auto s = hook_sim(hooks, constant_lan(kMillisecond));
  s->start_all();
  s->schedule(7 * kMillisecond, [] { CORE_CHECK(1 + 1 == 3, "test: arithmetic"); });
  std::string what;
  try {
    s->run_until(kSecond);
  } catch (const sim::InvariantFailure& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::Contains("in a control action: test: arithmetic") && Catch::Contains("at t=7ms") &&
                       Catch::Contains("seed 1"));
}

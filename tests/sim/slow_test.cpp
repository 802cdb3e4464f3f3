// The "slow" fault (a slow member, as in the Lifeguard paper's experiments):
// Simulation::slow/unslow and the scenario syntax. A slow host handles each
// message after the ones before it plus a drawn processing delay
// (handled_at = max(arrival, busy_until) + draw), FIFO; timers are not
// delayed; a crash drops the backlog; a pause holds what comes due.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/sim/hook_node.hpp"

using core::kMillisecond;
using core::kSecond;
using nlohmann::json;
using sim::Distribution;
using sim::DropReason;
using sim::Fault;
using sim::Simulation;

using sim_test::constant_lan;
using sim_test::Hooks;
using sim_test::hook_sim;
using sim_test::number_of;
using sim_test::numbered_message;

namespace {

constexpr core::Duration kMs = kMillisecond;

// Node 0 sends numbered messages to node 1 at the given times (1ms LAN);
// node 1 records when it handles each one and when its timers fire.
struct Pair {
  std::vector<Hooks> hooks = std::vector<Hooks>(2);
  std::vector<std::pair<core::Time, uint64_t>> handled;  // (global time, number)
  std::vector<core::Time> timers;
  std::unique_ptr<Simulation> sim;

  explicit Pair(const std::vector<core::Time>& send_at, std::vector<core::Duration> node1_timers = {}, uint64_t seed = 1) {
    hooks[0].start = [send_at](core::Env& env) {
      for (size_t i = 0; i < send_at.size(); ++i) {
        if (send_at[i] == 0) env.send(numbered_message(1, i));
        else env.set_timer(send_at[i], i);
      }
    };
    hooks[0].timer = [](core::Env& env, uint64_t what) { env.send(numbered_message(1, what)); };
    hooks[1].start = [node1_timers](core::Env& env) {
      for (core::Duration d : node1_timers) env.set_timer(d, 0);
    };
    hooks[1].message = [this](core::Env&, const core::Message& m) { handled.emplace_back(sim->now(), number_of(m)); };
    hooks[1].timer = [this](core::Env&, uint64_t) { timers.push_back(sim->now()); };
    sim = hook_sim(hooks, constant_lan(kMs), seed);
  }
  std::vector<core::Time> handled_times() const {
    std::vector<core::Time> out;
    for (const auto& [t, n] : handled) out.push_back(t);
    return out;
  }
  std::vector<uint64_t> handled_order() const {
    std::vector<uint64_t> out;
    for (const auto& [t, n] : handled) out.push_back(n);
    return out;
  }
};

bool conserved(const Simulation& s) {
  const sim::MessageStats& m = s.messages();
  return m.sent + m.duplicated == m.delivered + m.dropped + s.inflight_messages();
}

// A heartbeat scenario document (3 servers).
json hb_doc() {
  return {{"name", "slow"},
          {"protocol", "heartbeat"},
          {"cluster", {{"servers", 3}}},
          {"network", {{"latency", {{"uniform", json::array({"1ms", "3ms"})}}}}},
          {"heartbeat", {{"interval", "50ms"}, {"timeout", "300ms"}}},
          {"until", "5s"}};
}

std::vector<sim::ScenarioError> errors_of(const json& doc) {
  try {
    sim::parse_scenario(doc.dump(), "test.json");
  } catch (const sim::ScenarioInvalid& e) {
    return e.errors();
  }
  return {};
}

std::string only_error(const json& faults) {
  json doc = hb_doc();
  doc["faults"] = faults;
  const auto errs = errors_of(doc);
  INFO(doc.dump());
  REQUIRE(errs.size() == 1);
  return errs[0].str();
}

uint64_t run_hash(const json& doc, uint64_t seed) {
  const sim::Scenario s = sim::parse_scenario(doc.dump());
  sim::RunOptions opts;
  opts.seed = seed;
  sim::Runner r(s, opts);
  r.finish();
  return r.sim().trace_hash();
}

}  // namespace

TEST_CASE("slow: a FIFO backlog with a constant delay, computed exactly; timers are not delayed", "[slow]") {
  // Three messages sent at 0 arrive at 1ms together; one sent at 15ms arrives
  // at 16ms behind them; one sent at 100ms arrives when the backlog is empty.
  Pair p({0, 0, 0, 15 * kMs, 100 * kMs}, {5 * kMs, 12 * kMs});
  p.sim->slow(1, Distribution::constant(10 * kMs));
  CHECK(p.sim->is_slow(1));
  p.sim->start_all();
  p.sim->run_until(3 * kMs);
  CHECK(p.sim->slow_backlog(1) == 3);
  CHECK(p.handled.empty());
  p.sim->run_until(kSecond);
  // handled_at = max(arrival, busy_until) + 10ms
  CHECK(p.handled_times() == std::vector<core::Time>{11 * kMs, 21 * kMs, 31 * kMs, 41 * kMs, 111 * kMs});
  CHECK(p.handled_order() == std::vector<uint64_t>{0, 1, 2, 3, 4});
  // Node 1's timers fire on time although its messages wait.
  CHECK(p.timers == std::vector<core::Time>{5 * kMs, 12 * kMs});
  CHECK(p.sim->slow_backlog(1) == 0);
  CHECK(p.sim->messages().delivered == 5);
  CHECK(conserved(*p.sim));
}

TEST_CASE("slow: a node that is not slow handles at arrival, and slowness is per host", "[slow]") {
  Pair p({0, 0});
  p.sim->slow(0, Distribution::constant(10 * kMs));  // the sender is slow, not the receiver
  p.sim->start_all();
  p.sim->run_until(kSecond);
  CHECK(p.handled_times() == std::vector<core::Time>{kMs, kMs});
  CHECK_FALSE(p.sim->is_slow(1));
}

TEST_CASE("slow: unslow stops the draws; the backlog keeps its times and later arrivals queue behind it", "[slow]") {
  Pair p({0, 0, 0, 10 * kMs, 50 * kMs});
  p.sim->slow(1, Distribution::constant(10 * kMs));
  p.sim->schedule(5 * kMs, [&] { p.sim->unslow(1); });
  p.sim->start_all();
  p.sim->run_until(kSecond);
  CHECK_FALSE(p.sim->is_slow(1));
  // 11, 21, 31 as drawn before unslow; the message arriving at 11ms waits for
  // the backlog (max(11, 31) + 0) and comes after it; at 51ms there is none.
  CHECK(p.handled_times() == std::vector<core::Time>{11 * kMs, 21 * kMs, 31 * kMs, 31 * kMs, 51 * kMs});
  CHECK(p.handled_order() == std::vector<uint64_t>{0, 1, 2, 3, 4});
  CHECK(conserved(*p.sim));
}

TEST_CASE("slow: a crash drops the backlog as node_down, also across a restart; slowness stays", "[slow]") {
  Pair p({0, 0, 0, 40 * kMs});
  p.sim->slow(1, Distribution::constant(10 * kMs));
  p.sim->schedule(15 * kMs, [&] { p.sim->crash(1); });
  p.sim->schedule(16 * kMs, [&] { p.sim->restart(1); });
  p.sim->start_all();
  p.sim->run_until(kSecond);
  // Message 0 was handled at 11ms; 1 and 2 waited in the crashed process's
  // backlog; 3 reaches the restarted (still slow) process with an empty
  // backlog: 41ms + 10ms.
  CHECK(p.handled_times() == std::vector<core::Time>{11 * kMs, 51 * kMs});
  CHECK(p.handled_order() == std::vector<uint64_t>{0, 3});
  CHECK(p.sim->messages().dropped_by[static_cast<int>(DropReason::kNodeDown)] == 2);
  CHECK(p.sim->messages().dropped == 2);
  CHECK(p.sim->is_slow(1));
  CHECK(p.sim->slow_backlog(1) == 0);
  CHECK(p.sim->inflight_messages() == 0);
  CHECK(conserved(*p.sim));

  // Without a restart the backlog is dropped just the same.
  Pair q({0, 0, 0});
  q.sim->slow(1, Distribution::constant(10 * kMs));
  q.sim->schedule(15 * kMs, [&] { q.sim->crash(1); });
  q.sim->start_all();
  q.sim->run_until(kSecond);
  CHECK(q.handled_order() == std::vector<uint64_t>{0});
  CHECK(q.sim->messages().dropped_by[static_cast<int>(DropReason::kNodeDown)] == 2);
  CHECK(conserved(*q.sim));
}

TEST_CASE("slow: a pause holds what comes due; a partition no longer drops what has arrived", "[slow]") {
  Pair p({0, 0, 0});
  p.sim->slow(1, Distribution::constant(10 * kMs));
  p.sim->schedule(5 * kMs, [&] { p.sim->pause(1); });
  p.sim->schedule(25 * kMs, [&] { p.sim->resume(1); });
  p.sim->start_all();
  p.sim->run_until(kSecond);
  // Due at 11 and 21 while paused: held, handled at the resume; 31 on time.
  CHECK(p.handled_times() == std::vector<core::Time>{25 * kMs, 25 * kMs, 31 * kMs});
  CHECK(p.handled_order() == std::vector<uint64_t>{0, 1, 2});

  Pair q({0, 0});
  q.sim->slow(1, Distribution::constant(10 * kMs));
  q.sim->schedule(5 * kMs, [&] { q.sim->network().partition({{0}, {1}}); });
  q.sim->start_all();
  q.sim->run_until(kSecond);
  CHECK(q.handled_times() == std::vector<core::Time>{11 * kMs, 21 * kMs});
  CHECK(q.sim->messages().dropped == 0);
}

TEST_CASE("slow: draws come from the host's own slow stream", "[slow]") {
  const Distribution d = Distribution::uniform(5 * kMs, 30 * kMs);
  const uint64_t seed = 77;
  Pair p({0, 0, 0, 0}, {}, seed);
  p.sim->slow(1, d);
  p.sim->start_all();
  p.sim->run_until(kSecond);
  core::Rng rng(core::derive_seed(seed, core::kStreamSlow, 1));
  std::vector<core::Time> expected;
  core::Time busy = 0;
  for (int i = 0; i < 4; ++i) {
    busy = std::max<core::Time>(kMs, busy) + d.sample(rng);
    expected.push_back(busy);
  }
  CHECK(p.handled_times() == expected);
}

TEST_CASE("slow: the trace hash folds a backlogged handling; same seed, same hash", "[slow]") {
  auto hash_of = [](bool slow, core::Duration delay) {
    Pair p({0, 0, 0});
    if (slow) p.sim->slow(1, Distribution::constant(delay));
    p.sim->start_all();
    p.sim->run_until(kSecond);
    return p.sim->trace_hash();
  };
  CHECK(hash_of(true, 10 * kMs) == hash_of(true, 10 * kMs));
  CHECK(hash_of(true, 10 * kMs) != hash_of(true, 11 * kMs));
  // A zero delay handles every message at its arrival time, but the backlog
  // record still tells the run apart from one without the fault.
  CHECK(hash_of(true, 0) != hash_of(false, 0));

  // Through a scenario: a slow member with a random delay, then unslow.
  json doc = hb_doc();
  doc["faults"] = json::array({{{"at", "1s"}, {"slow", "s2"}, {"delay", {{"uniform", json::array({"20ms", "120ms"})}}}},
                               {{"at", "3s"}, {"unslow", "s2"}}});
  const uint64_t h1 = run_hash(doc, 1);
  CHECK(run_hash(doc, 1) == h1);
  CHECK(run_hash(doc, 2) != h1);
  json plain = hb_doc();
  CHECK(run_hash(plain, 1) != h1);
}

TEST_CASE("slow: the scenario form parses, describes and resolves", "[slow]") {
  json doc = hb_doc();
  doc["faults"] = json::array({
      {{"at", "1s"}, {"slow", "s1"}, {"delay", "20ms"}},
      {{"at", "1s"}, {"slow", json::array({"s2", "s3"})}, {"delay", {{"lognormal", {{"median", "5ms"}, {"sigma", 0.5}}}}}},
      {{"at", "2s"}, {"unslow", "all"}},
      {{"at", "3s"}, {"slow", "random_server"}, {"delay", {{"uniform", json::array({"1ms", "2ms"})}}}, {"note", "GC"}},
  });
  const sim::Scenario s = sim::parse_scenario(doc.dump());
  REQUIRE(s.faults.size() == 4);
  CHECK(s.faults[0].kind == Fault::Kind::kSlow);
  CHECK(static_cast<int>(Fault::Kind::kSlow) == 16);
  CHECK(static_cast<int>(Fault::Kind::kUnslow) == 17);
  CHECK(s.faults[0].delay == Distribution::constant(20 * kMs));
  CHECK(s.faults[0].description == "slow s1 delay 20ms");
  CHECK(s.faults[1].delay.kind == Distribution::Kind::kLognormal);
  CHECK(s.faults[1].target.nodes == std::vector<core::NodeId>{1, 2});
  CHECK(s.faults[1].description == "slow [\"s2\",\"s3\"] delay lognormal(median 5ms, sigma 0.500000)");
  CHECK(s.faults[2].kind == Fault::Kind::kUnslow);
  CHECK(s.faults[2].description == "unslow all");
  CHECK(s.faults[3].description == "slow random_server delay uniform(1ms, 2ms)");
  // Round trip through the writer.
  const json written = sim::write_scenario(s);
  CHECK(written["faults"][0] == json({{"at", "1s"}, {"slow", "s1"}, {"delay", "20ms"}}));
  CHECK(sim::parse_scenario(written.dump()) == s);

  // The runner applies it to the resolved nodes.
  sim::Runner r(s, sim::RunOptions{});
  r.run_until(1500 * kMs);
  CHECK(r.sim().is_slow(0));
  CHECK(r.sim().is_slow(1));
  CHECK(r.sim().is_slow(2));
  r.run_until(2500 * kMs);
  CHECK_FALSE(r.sim().is_slow(0));
  CHECK_FALSE(r.sim().is_slow(1));
  CHECK_FALSE(r.sim().is_slow(2));
  r.finish();
  const json faults = r.summary()["faults"];
  REQUIRE(faults.size() == 4);
  CHECK(faults[0]["fault"] == "slow s1 delay 20ms");
  CHECK(faults[2]["nodes"] == json::array({"s1", "s2", "s3"}));
  CHECK(faults[3]["nodes"].size() == 1);
}

TEST_CASE("slow: malformed slow faults are rejected with their JSON path", "[slow][scenario][errors]") {
  // No delay.
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}}})) ==
        "$.faults[0]: missing key \"delay\" (the processing delay of each message, e.g. \"20ms\" or "
        "{\"uniform\": [\"10ms\", \"50ms\"]})");
  // An unknown node.
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s9"}, {"delay", "20ms"}}})) ==
        "$.faults[0].slow: unknown node \"s9\" (nodes are s1, s2, s3; selectors: "
        "random_server, random_client, random_node, minority, majority, all_servers, all_clients, all, all_crashed, "
        "all_paused)");  // a heartbeat stack: no leader selectors
  CHECK(only_error(json::array({{{"at", "1s"}, {"unslow", json::array({"s1", "s1"})}}})) ==
        "$.faults[0].unslow[1]: node \"s1\" is listed twice");
  // Bad distributions.
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}, {"delay", {{"gamma", "5ms"}}}}})) ==
        "$.faults[0].delay: unknown distribution \"gamma\"; expected a duration (\"5ms\") or one of {\"constant\": D}, "
        "{\"uniform\": [LO, HI]}, {\"normal\": {\"mean\": D, \"stddev\": D}}, {\"lognormal\": {\"median\": D, "
        "\"sigma\": X}}, {\"pareto\": {\"min\": D, \"alpha\": X, \"cap\": D}}");
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}, {"delay", {{"uniform", json::array({"5ms", "1ms"})}}}}})) ==
        "$.faults[0].delay: uniform low \"5ms\" is above high \"1ms\"");
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}, {"delay", 20}}})) ==
        "$.faults[0].delay: expected a duration (\"5ms\") or one of {\"constant\": D}, {\"uniform\": [LO, HI]}, "
        "{\"normal\": {\"mean\": D, \"stddev\": D}}, {\"lognormal\": {\"median\": D, \"sigma\": X}}, "
        "{\"pareto\": {\"min\": D, \"alpha\": X, \"cap\": D}}");
  // A delay on another fault.
  CHECK(only_error(json::array({{{"at", "1s"}, {"pause", "s1"}, {"delay", "20ms"}}})) ==
        "$.faults[0].delay: only a slow fault takes a delay (the processing delay of each message it receives)");
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}, {"delay", "20ms"}},
                                {{"at", "2s"}, {"unslow", "s1"}, {"delay", "20ms"}}})) ==
        "$.faults[1].delay: only a slow fault takes a delay (the processing delay of each message it receives)");
  // An unslow of a named node that is not slow.
  CHECK(only_error(json::array({{{"at", "1s"}, {"unslow", "s1"}}})) == "$.faults[0]: \"s1\" is not slow at 1s: nothing to unslow");
  CHECK(only_error(json::array({{{"at", "1s"}, {"slow", "s1"}, {"delay", "20ms"}},
                                {{"at", "2s"}, {"unslow", "s1"}},
                                {{"at", "3s"}, {"unslow", "s1"}}})) ==
        "$.faults[2]: \"s1\" is not slow at 3s: nothing to unslow");
  // After a selector, a named unslow is accepted.
  json doc = hb_doc();
  doc["faults"] = json::array({{{"at", "1s"}, {"slow", "random_server"}, {"delay", "20ms"}}, {{"at", "2s"}, {"unslow", "s2"}}});
  CHECK(errors_of(doc).empty());
  // A wrong target and a missing delay are both reported.
  doc["faults"] = json::array({{{"at", "1s"}, {"slow", 5}}});
  const auto errs = errors_of(doc);
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].str() == "$.faults[0]: missing key \"delay\" (the processing delay of each message, e.g. \"20ms\" or "
                         "{\"uniform\": [\"10ms\", \"50ms\"]})");
  CHECK(errs[1].str() == "$.faults[0].slow: expected a node name, a list of node names or a selector, got an integer");
}

// The KV client workload: its settings ("$.workload.kv"), the operations it
// sends through the raft layer, and the client history it records.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/workload/kv.hpp"

using nlohmann::json;

namespace {

// Three raft servers under a KV load from 2s to 9s.
json raft_doc(const json& kv) {
  return {{"name", "kv"},
          {"protocol", "raft"},
          {"cluster", {{"servers", 3}}},
          {"network", {{"latency", {{"uniform", json::array({"1ms", "3ms"})}}}}},
          {"storage", {{"sync_latency", {{"uniform", json::array({"1ms", "2ms"})}}}}},
          {"raft", {{"raft_multiplier", 1}}},
          {"workload", {{"kv", kv}}},
          {"until", "10s"}};
}

std::vector<std::string> errors_of(const json& doc) {
  std::vector<std::string> out;
  try {
    sim::parse_scenario(doc.dump(), "test.json");
  } catch (const sim::ScenarioInvalid& e) {
    for (const auto& err : e.errors()) out.push_back(err.str());
  }
  return out;
}

const sim::KvSettings& kv_settings(const sim::Scenario& s) {
  return static_cast<const sim::KvSettings&>(*s.workloads.at("kv"));
}

}  // namespace

TEST_CASE("kv settings: delete share and read mode, with their defaults", "[kv]") {
  const sim::Scenario plain = sim::parse_scenario(raft_doc({{"rate_per_s", 10}}).dump());
  CHECK(kv_settings(plain).del == 0.0);
  CHECK(kv_settings(plain).read_mode == sim::ReadMode::kDefault);

  const sim::Scenario s =
      sim::parse_scenario(raft_doc({{"rate_per_s", 10}, {"put", 0.25}, {"cas", 0.25}, {"delete", 0.5}}).dump());
  CHECK(kv_settings(s).del == 0.5);

  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"put", 0.5}, {"cas", 0.25}, {"delete", 0.5}})) ==
        std::vector<std::string>{"$.workload.kv: put + cas + delete shares exceed 1 (the rest are gets)"});
  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"delete", 1.5}})) ==
        std::vector<std::string>{"$.workload.kv.delete: probability 1.5 is out of range (expected 0 <= p <= 1)"});
}

TEST_CASE("kv settings: a read mode other than default is an error under protocol raft", "[kv]") {
  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"read_mode", "default"}})).empty());
  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"read_mode", "stale"}})) ==
        std::vector<std::string>{"$.workload.kv.read_mode: read modes are Consul's; protocol raft reads through the "
                                 "log (expected \"default\")"});
  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"read_mode", "consistent"}})).size() == 1);
  CHECK(errors_of(raft_doc({{"rate_per_s", 10}, {"read_mode", "linearizable"}})) ==
        std::vector<std::string>{"$.workload.kv.read_mode: expected one of \"default\", \"consistent\", \"stale\", "
                                 "got \"linearizable\""});
}

// ---------------------------------------------------------------- the history

namespace {

struct Run {
  std::unique_ptr<sim::Runner> runner;
  const sim::KvWorkload* kv = nullptr;
  const sim::KvHistory& history() const { return kv->history(); }
  nlohmann::json client() const { return runner->summary()["metrics"]["kv"]["client"]; }
};

Run run(const sim::Scenario& s, std::optional<core::Time> until = std::nullopt) {
  sim::RunOptions opts;
  opts.until = until;
  Run r;
  r.runner = std::make_unique<sim::Runner>(s, opts);
  r.runner->finish();
  r.kv = dynamic_cast<const sim::KvWorkload*>(r.runner->stack().workload("kv"));
  REQUIRE(r.kv != nullptr);
  return r;
}

Run run(const json& doc, std::optional<core::Time> until = std::nullopt) {
  return run(sim::parse_scenario(doc.dump()), until);
}

size_t count(const sim::KvHistory& h, sim::KvOp::Kind kind) {
  size_t n = 0;
  for (const auto& e : h.entries()) n += e.kind == kind;
  return n;
}

size_t count(const sim::KvHistory& h, sim::KvResult::Outcome outcome) {
  size_t n = 0;
  for (const auto& e : h.entries()) n += e.outcome == outcome;
  return n;
}

// The invariants of every recorded history.
void check_shape(const sim::KvHistory& h) {
  size_t completed = 0;
  core::Time last_invoke = 0;
  std::set<uint64_t> processes;
  for (const auto& e : h.entries()) {
    CHECK(e.invoke_ns >= last_invoke);
    last_invoke = e.invoke_ns;
    CHECK(processes.insert(e.process).second);
    if (e.completed()) {
      ++completed;
      CHECK(e.complete_ns >= e.invoke_ns);
      CHECK(e.complete_position >= e.invoke_position);
    } else {
      CHECK(e.outcome == sim::KvResult::Outcome::kUnknown);
    }
  }
  CHECK(h.event_count() == h.size() + completed);
}

}  // namespace

TEST_CASE("kv history: one entry per submitted operation, in invocation order", "[kv]") {
  const Run r = run(
      raft_doc({{"rate_per_s", 200}, {"put", 0.3}, {"cas", 0.2}, {"delete", 0.2}, {"start", "2s"}, {"stop", "9s"}}));
  const sim::KvHistory& h = r.history();
  const json c = r.client();
  REQUIRE(h.size() == c["submitted"].get<size_t>());
  CHECK(h.size() > 1000);
  check_shape(h);
  // No faults and the load stops a second before the end: everything completed.
  CHECK(count(h, sim::KvResult::Outcome::kUnknown) == 0);
  for (const auto& e : h.entries()) {
    INFO("process " << e.process);
    CHECK(h.text(e.key).substr(0, 1) == "k");
    if (e.outcome == sim::KvResult::Outcome::kOk) CHECK(e.index > 0);  // every command goes through the log
    if (e.kind == sim::KvOp::Kind::kCas && e.outcome == sim::KvResult::Outcome::kFail && e.node != core::kNoNode &&
        e.error.size == 0)
      CHECK(e.index > 0);  // a failed comparison was applied, with no effect
  }
  // acknowledged: ok, and the cas that failed their comparison; rejected: failed with an error at once.
  size_t answered = 0, rejected = 0;
  for (const auto& e : h.entries()) {
    answered += e.outcome == sim::KvResult::Outcome::kOk ||
                (e.outcome == sim::KvResult::Outcome::kFail && e.error.size == 0);
    rejected += e.outcome == sim::KvResult::Outcome::kFail && e.error.size != 0;
  }
  CHECK(answered == c["acknowledged"].get<size_t>());
  CHECK(rejected == c["rejected"].get<size_t>());
}

TEST_CASE("kv metrics: operations per kind and outcome add up to the client counts", "[kv]") {
  sim::Scenario s = sim::load_scenario_file(CLUSTERSIM_SOURCE_DIR "/scenarios/raft-leader-crash.json");
  json doc = sim::write_scenario(s);
  doc["workload"]["kv"]["rate_per_s"] = 1000;
  doc["workload"]["kv"]["put"] = 0.3;
  doc["workload"]["kv"]["cas"] = 0.3;
  doc["workload"]["kv"]["delete"] = 0.1;
  const Run r = run(doc);
  const json m = r.runner->summary()["metrics"]["kv"];
  const json& ops = m["ops"];
  CHECK(ops.size() == 4);
  uint64_t total = 0, unknown = 0, fail = 0;
  for (const char* f : {"write", "cas", "delete", "read"}) {
    INFO(f);
    REQUIRE(ops.contains(f));
    total += ops[f]["ok"].get<uint64_t>() + ops[f]["fail"].get<uint64_t>() + ops[f]["unknown"].get<uint64_t>();
    unknown += ops[f]["unknown"].get<uint64_t>();
    fail += ops[f]["fail"].get<uint64_t>();
  }
  CHECK(total == m["client"]["submitted"].get<uint64_t>());
  // raft: unknown = lost at the crash or pending at the end (client.unknown) + leadership lost (client.failed).
  CHECK(unknown == m["client"]["unknown"].get<uint64_t>() + m["client"]["failed"].get<uint64_t>());
  CHECK(unknown > 0);
  // fail = rejected at once + cas whose comparison failed (acknowledged).
  const auto compared = std::count_if(r.history().entries().begin(), r.history().entries().end(), [](const auto& e) {
    return e.kind == sim::KvOp::Kind::kCas && e.outcome == sim::KvResult::Outcome::kFail && e.error.size == 0;
  });
  CHECK(compared > 0);
  CHECK(fail == m["client"]["rejected"].get<uint64_t>() + static_cast<uint64_t>(compared));
  CHECK(ops["write"]["ok"].get<uint64_t>() == count(r.history(), sim::KvOp::Kind::kPut) -
                                                   ops["write"]["fail"].get<uint64_t>() -
                                                   ops["write"]["unknown"].get<uint64_t>());
  CHECK(ops["cas"]["fail"].get<uint64_t>() > 0);
  CHECK(ops["delete"]["ok"].get<uint64_t>() > 0);
}

TEST_CASE("kv history: deletes take their share and reach the state machine", "[kv]") {
  SECTION("only deletes: each one happens, found or not") {
    const Run r = run(raft_doc({{"rate_per_s", 100}, {"put", 0}, {"delete", 1}, {"start", "2s"}, {"stop", "9s"}}));
    const sim::KvHistory& h = r.history();
    REQUIRE(h.size() > 500);
    CHECK(count(h, sim::KvOp::Kind::kDelete) == h.size());
    for (const auto& e : h.entries())
      if (e.node != core::kNoNode && e.error.size == 0) CHECK(e.outcome == sim::KvResult::Outcome::kOk);
  }
  SECTION("a quarter of deletes among puts and gets") {
    const Run r = run(raft_doc({{"rate_per_s", 300}, {"put", 0.5}, {"delete", 0.25}, {"start", "2s"}, {"stop", "9s"}}));
    const sim::KvHistory& h = r.history();
    REQUIRE(h.size() > 1500);
    const double deletes = static_cast<double>(count(h, sim::KvOp::Kind::kDelete)) / static_cast<double>(h.size());
    const double puts = static_cast<double>(count(h, sim::KvOp::Kind::kPut)) / static_cast<double>(h.size());
    CHECK(deletes == Approx(0.25).margin(0.04));
    CHECK(puts == Approx(0.5).margin(0.04));
    CHECK(count(h, sim::KvOp::Kind::kCas) == 0);
    // A get after a delete of its key, with no put in between, finds nothing:
    // some gets must say so.
    size_t not_found = 0;
    for (const auto& e : h.entries())
      not_found += e.kind == sim::KvOp::Kind::kGet && e.outcome == sim::KvResult::Outcome::kOk && !e.found;
    CHECK(not_found > 0);
  }
}

TEST_CASE("kv history: a leader crash leaves operations of unknown outcome", "[kv]") {
  // The library scenario at a higher rate, so that requests are in flight at the leader when it crashes.
  sim::Scenario s = sim::load_scenario_file(CLUSTERSIM_SOURCE_DIR "/scenarios/raft-leader-crash.json");
  json doc = sim::write_scenario(s);
  doc["workload"]["kv"]["rate_per_s"] = 2000;
  const Run r = run(doc);
  const sim::KvHistory& h = r.history();
  REQUIRE(h.size() == r.client()["submitted"].get<size_t>());
  check_shape(h);
  size_t crashed = 0;
  for (const auto& e : h.entries())
    if (e.outcome == sim::KvResult::Outcome::kUnknown) {
      CHECK(e.completed());  // the load stops before the end: each unknown was lost at the crash
      CHECK(e.complete_ns == 10 * core::kSecond);
      crashed += h.text(e.error) == "server crashed";
    }
  CHECK(crashed > 0);
  CHECK(count(h, sim::KvResult::Outcome::kUnknown) ==
        r.client()["unknown"].get<size_t>() + r.client()["failed"].get<size_t>());
}

TEST_CASE("kv history: operations still pending when the run ends are unknown, never completed", "[kv]") {
  const Run r = run(raft_doc({{"rate_per_s", 500}, {"start", "2s"}}), 5 * core::kSecond);
  const sim::KvHistory& h = r.history();
  check_shape(h);
  size_t open = 0;
  for (const auto& e : h.entries()) open += !e.completed();
  CHECK(open > 0);
  CHECK(open <= r.client()["unknown"].get<size_t>());
}

// ---------------------------------------------------------------- the writers

namespace {

sim::KvOp op(sim::KvOp::Kind kind, std::string key, std::string value = "", std::string expected = "") {
  sim::KvOp o;
  o.kind = kind;
  o.key = std::move(key);
  o.value = std::move(value);
  o.expected = std::move(expected);
  return o;
}

sim::KvResult result(sim::KvResult::Outcome outcome, uint64_t index, std::string error = "") {
  sim::KvResult r;
  r.outcome = outcome;
  r.index = index;
  r.error = std::move(error);
  return r;
}

// Seven operations: every kind, every outcome, a value read and a key not
// found, a failed comparison, one rejected at once, one never completed,
// and a key that needs escaping.
sim::KvHistory handmade() {
  using Kind = sim::KvOp::Kind;
  using Outcome = sim::KvResult::Outcome;
  sim::KvHistory h;
  const size_t put = h.invoke(1, op(Kind::kPut, "k1", "v1"), 0, 100, 10);
  const size_t get = h.invoke(2, op(Kind::kGet, "k1"), 1, 150, 12);
  h.complete(put, result(Outcome::kOk, 5), 200, 20);
  const size_t cas = h.invoke(3, op(Kind::kCas, "k1", "v3", "v1"), 0, 210, 21);
  sim::KvResult read = result(Outcome::kOk, 6);
  read.found = true;
  read.value = "v1";
  h.complete(get, read, 220, 22);
  const size_t del = h.invoke(4, op(Kind::kDelete, "k2"), core::kNoNode, 230, 23);
  h.complete(del, result(Outcome::kFail, 0, "no server running"), 230, 23);
  h.complete(cas, result(Outcome::kUnknown, 0, "leadership lost"), 300, 30);
  const size_t miss = h.invoke(5, op(Kind::kGet, "k2"), 2, 310, 31);
  h.complete(miss, result(Outcome::kOk, 9), 320, 32);
  h.invoke(6, op(Kind::kPut, "k\"3", "v6"), 1, 330, 33);
  const size_t cas_fail = h.invoke(7, op(Kind::kCas, "k1", "v7", "v6"), 0, 340, 34);
  sim::KvResult compared = result(Outcome::kFail, 10);
  compared.found = true;
  compared.value = "v1";
  h.complete(cas_fail, compared, 350, 35);
  return h;
}

std::string lines_of(const std::function<void(const sim::LineSink&)>& write) {
  std::string out;
  write([&out](const std::string& line) { out += line + "\n"; });
  return out;
}

}  // namespace

TEST_CASE("kv history: the JSON Lines form of a small history, exactly", "[kv]") {
  const sim::KvHistory h = handmade();
  const std::vector<std::string> names{"s1", "s2", "s3"};
  CHECK(lines_of([&](const sim::LineSink& sink) { sim::write_history_jsonl(h, names, sink); }) ==
        R"x({"process":1,"f":"write","key":"k1","value":"v1","expected":null,"node":"s1","invoke_ns":100,"invoke_position":10,"complete_ns":200,"complete_position":20,"outcome":"ok","result":null,"index":5,"error":null}
{"process":2,"f":"read","key":"k1","value":null,"expected":null,"node":"s2","invoke_ns":150,"invoke_position":12,"complete_ns":220,"complete_position":22,"outcome":"ok","result":"v1","index":6,"error":null}
{"process":3,"f":"cas","key":"k1","value":"v3","expected":"v1","node":"s1","invoke_ns":210,"invoke_position":21,"complete_ns":300,"complete_position":30,"outcome":"info","result":null,"index":null,"error":"leadership lost"}
{"process":4,"f":"delete","key":"k2","value":null,"expected":null,"node":null,"invoke_ns":230,"invoke_position":23,"complete_ns":230,"complete_position":23,"outcome":"fail","result":null,"index":null,"error":"no server running"}
{"process":5,"f":"read","key":"k2","value":null,"expected":null,"node":"s3","invoke_ns":310,"invoke_position":31,"complete_ns":320,"complete_position":32,"outcome":"ok","result":null,"index":9,"error":null}
{"process":6,"f":"write","key":"k\"3","value":"v6","expected":null,"node":"s2","invoke_ns":330,"invoke_position":33,"complete_ns":null,"complete_position":null,"outcome":"info","result":null,"index":null,"error":null}
{"process":7,"f":"cas","key":"k1","value":"v7","expected":"v6","node":"s1","invoke_ns":340,"invoke_position":34,"complete_ns":350,"complete_position":35,"outcome":"fail","result":null,"index":10,"error":null}
)x");
}

TEST_CASE("kv history: the EDN form of a small history, exactly, events in the order they happened", "[kv]") {
  const sim::KvHistory h = handmade();
  CHECK(lines_of([&](const sim::LineSink& sink) { sim::write_history_edn(h, sink); }) ==
        R"x({:type :invoke, :f :write, :key "k1", :value "v1", :process 1, :time 100}
{:type :invoke, :f :read, :key "k1", :value nil, :process 2, :time 150}
{:type :ok, :f :write, :key "k1", :value "v1", :process 1, :time 200}
{:type :invoke, :f :cas, :key "k1", :value ["v1" "v3"], :process 3, :time 210}
{:type :ok, :f :read, :key "k1", :value "v1", :process 2, :time 220}
{:type :invoke, :f :delete, :key "k2", :value nil, :process 4, :time 230}
{:type :fail, :f :delete, :key "k2", :value nil, :process 4, :time 230, :error "no server running"}
{:type :info, :f :cas, :key "k1", :value ["v1" "v3"], :process 3, :time 300, :error "leadership lost"}
{:type :invoke, :f :read, :key "k2", :value nil, :process 5, :time 310}
{:type :ok, :f :read, :key "k2", :value nil, :process 5, :time 320}
{:type :invoke, :f :write, :key "k\"3", :value "v6", :process 6, :time 330}
{:type :invoke, :f :cas, :key "k1", :value ["v6" "v7"], :process 7, :time 340}
{:type :fail, :f :cas, :key "k1", :value ["v6" "v7"], :process 7, :time 350}
{:type :info, :f :write, :key "k\"3", :value "v6", :process 6, :error "not completed when the run ended"}
)x");
}

TEST_CASE("kv history: the format follows the file's extension", "[kv]") {
  CHECK(sim::history_format_of("h.edn") == sim::HistoryFormat::kEdn);
  CHECK(sim::history_format_of("dir.edn/h.jsonl") == sim::HistoryFormat::kJsonLines);
  CHECK(sim::history_format_of("h.json") == sim::HistoryFormat::kJsonLines);
  CHECK(sim::history_format_of("edn") == sim::HistoryFormat::kJsonLines);
}

TEST_CASE("kv history: the runner writes it as FILE.partial and renames it only when the run completes", "[kv]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "clustersim-kv-history-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const sim::Scenario s = sim::parse_scenario(raft_doc({{"rate_per_s", 100}, {"start", "2s"}, {"stop", "9s"}}).dump());
  sim::RunOptions opts;
  opts.history_path = (dir / "h.edn").string();
  {
    sim::Runner r(s, opts);
    r.run_until(5 * core::kSecond);
    CHECK(fs::exists(dir / "h.edn.partial"));
    CHECK(!fs::exists(dir / "h.edn"));
  }  // a run that stops before its end leaves nothing behind
  CHECK(fs::is_empty(dir));

  sim::Runner r(s, opts);
  r.finish();
  CHECK(!fs::exists(dir / "h.edn.partial"));
  REQUIRE(fs::exists(dir / "h.edn"));
  const auto* kv = dynamic_cast<const sim::KvWorkload*>(r.stack().workload("kv"));
  std::ifstream in(dir / "h.edn");
  size_t lines = 0, invokes = 0;
  for (std::string line; std::getline(in, line); ++lines) invokes += line.rfind("{:type :invoke,", 0) == 0;
  CHECK(invokes == kv->history().size());
  CHECK(lines == 2 * kv->history().size());
  fs::remove_all(dir);

  // No kv workload: refused before anything runs.
  json hb = {{"name", "hb"}, {"protocol", "heartbeat"}, {"cluster", {{"servers", 3}}}, {"until", "1s"}};
  CHECK_THROWS_WITH(sim::Runner(sim::parse_scenario(hb.dump()), opts),
                    Catch::Contains("--history: scenario \"hb\" has no kv workload"));
}

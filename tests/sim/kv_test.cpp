// The KV client workload: its settings ("$.workload.kv"), the operations it
// sends through the raft layer, and the client history it records.
#include <catch2/catch.hpp>

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

// write_scenario and Scenario::operator==: a parsed scenario written back
// parses to an equal Scenario (every field, settings by value, fault
// descriptions byte for byte), over the whole library and the regressions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/layers/raft.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"

using core::kMillisecond;
using core::kSecond;
using nlohmann::json;
using sim::Fault;
using sim::Scenario;

namespace {

Scenario parse(const json& doc) { return sim::parse_scenario(doc.dump()); }
Scenario round_trip(const Scenario& s) { return sim::parse_scenario(sim::write_scenario(s).dump(), "written"); }

// The fields in which two scenarios differ, to say why a round trip failed.
std::string differences(const Scenario& a, const Scenario& b) {
  std::string out;
  const auto field = [&](bool same, const std::string& name) {
    if (!same) out += (out.empty() ? "" : ", ") + name;
  };
  field(a.name == b.name, "name");
  field(a.description == b.description, "description");
  field(a.stack == b.stack, "stack");
  field(a.seed == b.seed, "seed");
  field(a.datacenters == b.datacenters, "datacenters");
  field(a.nodes == b.nodes, "nodes");
  field(a.per_datacenter == b.per_datacenter && a.dc_counts == b.dc_counts, "cluster form");
  field(a.lan == b.lan, "lan");
  field(a.wan == b.wan, "wan");
  field(a.storage == b.storage, "storage");
  for (const auto& [name, settings] : a.settings)
    field(b.settings.count(name) && settings->equals(*b.settings.at(name)), "settings " + name);
  for (const auto& [name, settings] : a.workloads)
    field(b.workloads.count(name) && settings->equals(*b.workloads.at(name)), "workload " + name);
  field(a.settings.size() == b.settings.size() && a.workloads.size() == b.workloads.size(), "sections");
  field(a.faults.size() == b.faults.size(), "fault count");
  for (size_t i = 0; i < a.faults.size() && i < b.faults.size(); ++i)
    field(a.faults[i] == b.faults[i], "faults[" + std::to_string(i) + "] (" + a.faults[i].description + " / " +
                                          b.faults[i].description + ")");
  field(a.expect == b.expect, "expect");
  field(a.until == b.until, "until");
  return out;
}

void check_round_trip(const Scenario& s) {
  const json written = sim::write_scenario(s);
  INFO(written.dump(2));
  const Scenario back = round_trip(s);
  INFO("differs in: " << differences(s, back));
  CHECK(back == s);
  // The written form is a fixed point: writing what was read back gives the same document.
  CHECK(sim::write_scenario(back) == written);
}

std::vector<std::filesystem::path> json_files(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(CLUSTERSIM_SOURCE_DIR) / dir))
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

void check_files(const std::string& dir) {
  const std::vector<std::filesystem::path> files = json_files(dir);
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file.string());
    check_round_trip(sim::load_scenario_file(file.string()));
  }
}

// Every form the format has: datacenters with WAN settings, every
// distribution, bandwidths, storage flags, every fault kind, notes,
// lose_unsynced, raft and kv settings, every raft action and property.
json everything() {
  return json::parse(R"({
    "name": "everything",
    "description": "every form of the format",
    "protocol": "raft",
    "seed": 18446744073709551615,
    "cluster": { "datacenters": [ { "name": "east", "servers": 3 }, { "name": "west", "servers": 2 } ] },
    "network": {
      "latency": { "uniform": ["1ms", "1.000001ms"] },
      "loss": 0.001,
      "duplicate": 0.1,
      "reorder": { "probability": 0.05, "delay": { "constant": "250us" } },
      "bandwidth": "2.5Gbps",
      "wan": { "latency": { "pareto": { "min": "20ms", "alpha": 1.5, "cap": "2s" } }, "loss": 0.01, "bandwidth": "100Mbps",
               "duplicate": 0.0001, "reorder": { "probability": 0.3, "delay": "3ms" } }
    },
    "storage": { "sync_latency": { "lognormal": { "median": "2ms", "sigma": 0.3 } }, "lose_unsynced_on_crash": true },
    "raft": { "raft_multiplier": 2, "heartbeat_timeout": "300ms", "leader_lease_timeout": "250ms", "pre_vote": false, "timer_mode": "paper",
              "election_timeout_max": "4s", "max_inflight": 8, "trailing_logs": 100, "snapshot_threshold": 50 },
    "workload": { "kv": { "rate_per_s": 25.5, "keys": 10, "put": 0.5, "cas": 0.125, "delete": 0.0625, "read_mode": "default",
                          "start": "1s", "stop": "20s" } },
    "faults": [
      { "at": "1s", "crash": "east-s1", "lose_unsynced": false, "note": "why it matters" },
      { "at": "2s", "restart": "east-s1" },
      { "at": "3s", "pause": ["east-s2", "west-s1"] },
      { "at": "4s", "resume": "all_paused" },
      { "at": "5s", "partition": { "groups": [["east-s1", "east-s2"], ["east-s3"]] } },
      { "at": "6s", "heal": "all" },
      { "at": "7s", "partition": { "shape": "bridge" } },
      { "at": "8s", "isolate": "leader" },
      { "at": "9s", "block": { "from": ["east-s1"], "to": "followers" } },
      { "at": "10s", "heal": "all" },
      { "at": "11s", "degrade": { "nodes": "west-s2", "latency": { "normal": { "mean": "10ms", "stddev": "2ms" } },
                                  "loss": 0.2, "duplicate": 0.01, "reorder": { "probability": 0.1, "delay": "5ms" },
                                  "bandwidth": "64Kbps" } },
      { "at": "12s", "degrade": { "wan": ["west", "east"], "latency": "80ms" } },
      { "at": "12s", "degrade": { "wan": ["east", "west"], "loss": 0.01 }, "note": "as configured" },
      { "at": "13s", "degrade": { "nodes": "east-s3", "latency": "0ns" } },
      { "at": "13s", "restore": "west-s2" },
      { "at": "14s", "restore": { "wan": ["east", "west"] } },
      { "at": "15s", "clock": { "nodes": "east-s3", "drift_ppm": -50.5 } },
      { "at": "15.5s", "clock": { "nodes": "east-s2", "drift_ppm": 200 } },
      { "at": "15.75s", "clock": { "nodes": "east-s1", "drift_ppm": 200.0 } },
      { "at": "16s", "clock": { "nodes": "random_server", "jump": "-0.3s" } },
      { "at": "16.000000001s", "clock": { "nodes": "minority", "jump": "1500us" } },
      { "at": "17s", "demote_voter": "west-s2" },
      { "at": "18s", "remove_server": "west-s2" },
      { "at": "19s", "add_nonvoter": "west-s2" },
      { "at": "20s", "add_voter": "west-s2" },
      { "at": "21s", "transfer_leadership": "random_follower" },
      { "at": "22s", "crash": "majority", "lose_unsynced": true },
      { "at": "23s", "restart": "all_crashed" },
      { "at": "24s", "slow": ["east-s2", "west-s1"], "delay": { "uniform": ["10ms", "50.000001ms"] }, "note": "GC pressure" },
      { "at": "24.5s", "slow": "leader", "delay": "20ms" },
      { "at": "24.75s", "slow": "east-s3", "delay": { "pareto": { "min": "1ms", "alpha": 1.2, "cap": "1s" } } },
      { "at": "25s", "unslow": "all" }
    ],
    "expect": [
      { "always": "raft_safety" },
      { "always": "message_conservation" },
      { "by": "28s", "leader_known_to": "majority" },
      { "by": "29.5s", "applied_everywhere": true }
    ],
    "until": "30s"
  })");
}

}  // namespace

TEST_CASE("every library scenario round-trips through the writer", "[writer][library]") {
  check_files("scenarios");
}

TEST_CASE("every regression scenario round-trips through the writer", "[writer][library]") {
  check_files("tests/regressions");
}

TEST_CASE("a document with every form round-trips", "[writer]") {
  const Scenario s = parse(everything());
  REQUIRE(s.faults.size() == 32);
  CHECK(s.per_datacenter);
  CHECK(s.dc_counts == std::vector<std::pair<uint64_t, uint64_t>>{{3, 0}, {2, 0}});
  CHECK(s.faults[0].note == "why it matters");
  CHECK(s.faults[0].lose_unsynced == std::optional<bool>(false));
  CHECK(s.lan.latency.b_ns == 1000001);
  check_round_trip(s);
  // The descriptions that quote the input keep it as written.
  const Scenario back = round_trip(s);
  CHECK(back.faults[17].description == "clock east-s2 drift 200ppm");
  CHECK(back.faults[18].description == "clock east-s1 drift 200.0ppm");
  CHECK(back.faults[19].description == "clock random_server jump -0.3s");
  CHECK(back.faults[8].description == "block [\"east-s1\"] -> followers");
  CHECK(back.faults[28].kind == Fault::Kind::kSlow);
  CHECK(back.faults[28].delay == sim::Distribution::uniform(10 * kMillisecond, 50 * kMillisecond + 1));
  CHECK(back.faults[28].note == "GC pressure");
  CHECK(back.faults[29].description == "slow leader delay 20ms");
  CHECK(back.faults[31].kind == Fault::Kind::kUnslow);
}

TEST_CASE("the written document is a fixed point", "[writer]") {
  std::vector<json> docs = {everything()};
  for (const auto& file : json_files("scenarios")) docs.push_back(sim::write_scenario(sim::load_scenario_file(file.string())));
  for (const json& doc : docs) {
    INFO(doc.dump());
    const json once = sim::write_scenario(parse(doc));
    CHECK(sim::write_scenario(parse(once)) == once);
  }
}

TEST_CASE("a one-datacenter heartbeat scenario round-trips", "[writer]") {
  const json doc = json::parse(R"({
    "name": "hb", "protocol": "heartbeat",
    "cluster": { "servers": 3, "clients": 2 },
    "heartbeat": { "interval": "50ms", "timeout": "300ms", "message_bytes": 128 },
    "faults": [ { "at": "1s", "degrade": { "nodes": "c1", "loss": 0.5 } },
                { "at": "2s", "restore": "c1" },
                { "at": "3s", "partition": { "shape": "random_halves" } },
                { "at": "4s", "heal": "all" } ],
    "expect": [ { "by": "9s", "hb_converged": true } ],
    "until": "10s"
  })");
  const Scenario s = parse(doc);
  CHECK_FALSE(s.per_datacenter);
  CHECK(s.dc_counts == std::vector<std::pair<uint64_t, uint64_t>>{{3, 2}});
  check_round_trip(s);
  const json written = sim::write_scenario(s);
  CHECK(written["cluster"] == json{{"servers", 3}, {"clients", 2}});
  CHECK_FALSE(written.contains("network"));
  CHECK(written["faults"][0]["degrade"] == json{{"nodes", "c1"}, {"loss", 0.5}});
}

TEST_CASE("a scenario changed in code is written as changed", "[writer]") {
  Scenario s = parse(everything());
  s.seed = 7;
  s.faults.erase(s.faults.begin() + 1, s.faults.end());  // keep only the crash
  s.expect.resize(1);
  s.until = 3 * kSecond + 1;
  s.dc_counts.clear();  // counted from the nodes instead
  const Scenario back = round_trip(s);
  CHECK(back.seed == 7);
  REQUIRE(back.faults.size() == 1);
  CHECK(back.faults[0].description == "crash east-s1");
  CHECK(back.until == 3 * kSecond + 1);
  CHECK(back.dc_counts == std::vector<std::pair<uint64_t, uint64_t>>{{3, 0}, {2, 0}});
  CHECK(back.expect.size() == 1);
}

TEST_CASE("scenarios compare every field", "[writer]") {
  const Scenario a = parse(everything());
  CHECK(a == parse(everything()));
  Scenario b = a;
  CHECK(a == b);
  b.faults[3].note = "changed";
  CHECK_FALSE(a == b);
  b = a;
  b.dc_counts[0].first = 4;
  CHECK_FALSE(a == b);
  b = a;
  b.per_datacenter = false;
  CHECK_FALSE(a == b);
  // Settings by value: another object with the same values is equal, other values are not.
  b = a;
  b.settings["raft"] = std::make_shared<sim::RaftSettings>(a.layer_settings<sim::RaftSettings>("raft"));
  CHECK(a == b);
  auto other = std::make_shared<sim::RaftSettings>(a.layer_settings<sim::RaftSettings>("raft"));
  other->config.max_inflight += 1;
  b.settings["raft"] = other;
  CHECK_FALSE(a == b);
  b = a;
  b.workloads.clear();
  CHECK_FALSE(a == b);
}

TEST_CASE("write_duration is exact", "[writer][duration]") {
  for (core::Duration d : {core::Duration{0}, core::Duration{1}, core::Duration{999}, core::Duration{1001},
                           core::Duration{1000001}, 1500 * kMillisecond, -300 * kMillisecond, core::Duration{-1000001},
                           3601 * kSecond + 1, INT64_MAX}) {
    const std::string text = sim::write_duration(d);
    INFO(d << " -> " << text);
    const bool negative = text[0] == '-';
    core::Duration back = 0;
    REQUIRE(sim::parse_duration(negative ? text.substr(1) : text, back));
    CHECK((negative ? -back : back) == d);
  }
  CHECK(sim::write_duration(150 * kMillisecond) == "150ms");
  CHECK(sim::write_duration(1000001) == "1000001ns");  // format_duration says "1.000ms"
  CHECK(sim::write_duration(-1000001) == "-1000001ns");
}

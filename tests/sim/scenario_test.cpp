// parse_scenario, parse_distribution, parse_duration and format_duration:
// the scenario format of docs/scenario-format.md, tested without running.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "sim/layers/heartbeat.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"

using core::kMicrosecond;
using core::kMillisecond;
using core::kSecond;
using nlohmann::json;
using sim::Distribution;
using sim::Fault;
using sim::Scenario;
using sim::ScenarioError;
using sim::ScenarioInvalid;
using sim::Target;

namespace {

// A minimal valid heartbeat document; tests add or change keys.
json minimal() {
  return {{"name", "t"}, {"protocol", "heartbeat"}, {"cluster", {{"servers", 3}}}, {"until", "10s"}};
}

Scenario parse(const json& doc) { return sim::parse_scenario(doc.dump()); }

// The errors a document is rejected with (empty when it is valid).
std::vector<ScenarioError> errors_of(const std::string& text) {
  try {
    sim::parse_scenario(text, "test.json");
  } catch (const ScenarioInvalid& e) {
    return e.errors();
  }
  return {};
}
std::vector<ScenarioError> errors_of(const json& doc) { return errors_of(doc.dump()); }

std::vector<std::string> names(const Scenario& s) {
  std::vector<std::string> out;
  for (const auto& n : s.nodes) out.push_back(n.name);
  return out;
}

core::Duration dur(const std::string& text) {
  core::Duration d = -1;
  REQUIRE(sim::parse_duration(text, d));
  return d;
}

Distribution dist(const json& j) {
  Distribution d;
  std::string err;
  INFO(j.dump());
  REQUIRE(sim::parse_distribution(j, d, err));
  CHECK(err.empty());
  return d;
}

std::string dist_error(const json& j) {
  Distribution d;
  std::string err;
  INFO(j.dump());
  REQUIRE_FALSE(sim::parse_distribution(j, d, err));
  CHECK_FALSE(err.empty());
  return err;
}

}  // namespace

TEST_CASE("a minimal document is valid and gets the defaults", "[scenario]") {
  const Scenario s = parse(minimal());
  CHECK(s.name == "t");
  CHECK(s.description.empty());
  CHECK(s.stack == "heartbeat");
  CHECK(s.seed == 1);
  CHECK(s.until == 10 * kSecond);
  CHECK(s.datacenters == std::vector<std::string>{"dc1"});
  CHECK(names(s) == std::vector<std::string>{"s1", "s2", "s3"});
  for (const auto& n : s.nodes) {
    CHECK(n.server);
    CHECK(n.dc == 0);
  }
  // An ideal LAN: zero latency, no loss, duplication, reordering or bandwidth limit.
  CHECK(s.lan.ideal());
  CHECK(s.lan.latency.is_zero());
  CHECK(s.lan.bandwidth_bps == 0);
  CHECK(s.storage.sync_latency.is_zero());
  CHECK_FALSE(s.storage.lose_unsynced_on_crash);
  // The stack's one layer has its default settings; no workload.
  REQUIRE(s.settings.count("heartbeat") == 1);
  CHECK(s.layer_settings<sim::HeartbeatSettings>("heartbeat").config.interval_ns == 100 * kMillisecond);
  CHECK(s.workloads.empty());
  CHECK(s.faults.empty());
  CHECK(s.expect.empty());
}

TEST_CASE("the protocol defaults to raft", "[scenario]") {
  json doc = minimal();
  doc.erase("protocol");
  CHECK(parse(doc).stack == "raft");
}

TEST_CASE("top-level settings are read", "[scenario]") {
  json doc = minimal();
  doc["description"] = "one line";
  doc["seed"] = 18446744073709551615ull;
  doc["network"] = {{"latency", {{"uniform", json::array({"1ms", "5ms"})}}},
                    {"loss", 0.01},
                    {"duplicate", 0.002},
                    {"reorder", {{"probability", 0.1}, {"delay", "3ms"}}},
                    {"bandwidth", "100Mbps"}};
  doc["storage"] = {{"sync_latency", "2ms"}, {"lose_unsynced_on_crash", true}};
  doc["heartbeat"] = {{"interval", "50ms"}, {"timeout", "300ms"}, {"message_bytes", 128}};
  const Scenario s = parse(doc);
  CHECK(s.description == "one line");
  CHECK(s.seed == 18446744073709551615ull);
  CHECK(s.lan.latency.kind == Distribution::Kind::kUniform);
  CHECK(s.lan.latency.a_ns == 1 * kMillisecond);
  CHECK(s.lan.latency.b_ns == 5 * kMillisecond);
  CHECK(s.lan.loss == 0.01);
  CHECK(s.lan.duplicate == 0.002);
  CHECK(s.lan.reorder == 0.1);
  CHECK(s.lan.reorder_delay.a_ns == 3 * kMillisecond);
  CHECK(s.lan.bandwidth_bps == 100000000u);
  CHECK(s.storage.sync_latency.a_ns == 2 * kMillisecond);
  CHECK(s.storage.lose_unsynced_on_crash);
  const auto& hb = s.layer_settings<sim::HeartbeatSettings>("heartbeat").config;
  CHECK(hb.interval_ns == 50 * kMillisecond);
  CHECK(hb.timeout_ns == 300 * kMillisecond);
  CHECK(hb.message_bytes == 128);
}

TEST_CASE("bandwidth units", "[scenario]") {
  const std::vector<std::pair<std::string, uint64_t>> cases = {
      {"1Gbps", 1000000000u}, {"2.5Mbps", 2500000u}, {"64Kbps", 64000u}, {"9600bps", 9600u}};
  for (const auto& [text, bps] : cases) {
    json doc = minimal();
    doc["network"] = {{"bandwidth", text}};
    INFO(text);
    CHECK(parse(doc).lan.bandwidth_bps == bps);
  }
  for (const json& bad : {json("100"), json("10MBps"), json("0Mbps"), json("-1Mbps"), json(1000), json("fastMbps")}) {
    json doc = minimal();
    doc["network"] = {{"bandwidth", bad}};
    INFO(bad.dump());
    const auto errs = errors_of(doc);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].path == "$.network.bandwidth");
  }
}

TEST_CASE("node naming", "[scenario]") {
  SECTION("servers then clients in one datacenter") {
    json doc = minimal();
    doc["cluster"] = {{"servers", 2}, {"clients", 3}};
    const Scenario s = parse(doc);
    CHECK(names(s) == std::vector<std::string>{"s1", "s2", "c1", "c2", "c3"});
    CHECK(s.servers() == std::vector<core::NodeId>{0, 1});
    CHECK(s.clients() == std::vector<core::NodeId>{2, 3, 4});
    CHECK(s.datacenters == std::vector<std::string>{"dc1"});
  }
  SECTION("ids are dense past nine") {
    json doc = minimal();
    doc["cluster"] = {{"servers", 11}};
    const Scenario s = parse(doc);
    REQUIRE(s.nodes.size() == 11);
    CHECK(s.nodes[9].name == "s10");
    CHECK(s.nodes[10].name == "s11");
  }
  SECTION("datacenters prefix names with the datacenter") {
    json doc = minimal();
    doc["cluster"] = {{"datacenters", json::array({{{"name", "east"}, {"servers", 2}, {"clients", 1}}, {{"name", "west"}, {"servers", 1}}})}};
    const Scenario s = parse(doc);
    CHECK(names(s) == std::vector<std::string>{"east-s1", "east-s2", "east-c1", "west-s1"});
    CHECK(s.datacenters == std::vector<std::string>{"east", "west"});
    CHECK(s.nodes[2].dc == 0);
    CHECK_FALSE(s.nodes[2].server);
    CHECK(s.nodes[3].dc == 1);
    CHECK(s.servers() == std::vector<core::NodeId>{0, 1, 3});
  }
  SECTION("a single entry in datacenters is prefixed too") {
    json doc = minimal();
    doc["cluster"] = {{"datacenters", json::array({json{{"name", "solo"}, {"servers", 1}}})}};
    CHECK(names(parse(doc)) == std::vector<std::string>{"solo-s1"});
  }
  SECTION("a datacenter may have only clients under heartbeat") {
    json doc = minimal();
    doc["cluster"] = {{"datacenters", json::array({{{"name", "a"}, {"servers", 1}}, {{"name", "b"}, {"clients", 2}}})}};
    CHECK(names(parse(doc)) == std::vector<std::string>{"a-s1", "b-c1", "b-c2"});
  }
}

TEST_CASE("cluster shape errors", "[scenario]") {
  auto one_error = [](const json& cluster) {
    json doc = minimal();
    doc["cluster"] = cluster;
    const auto errs = errors_of(doc);
    INFO(cluster.dump());
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  CHECK(one_error({{"servers", 0}}).path == "$.cluster.servers");
  CHECK(one_error({{"servers", 1001}}).path == "$.cluster.servers");
  CHECK(one_error({{"servers", 3}, {"clients", 10001}}).path == "$.cluster.clients");
  CHECK(one_error({{"servers", 2.5}}).message == "expected an integer, got a number");
  CHECK(one_error({{"clients", 2}}).message == "missing key \"servers\"");
  CHECK(one_error({{"servers", 2}, {"datacenters", json::array()}}).path == "$.cluster");
  CHECK(one_error({{"datacenters", json::array()}}).path == "$.cluster.datacenters");
  CHECK(one_error({{"datacenters", json::array({{{"name", "a"}, {"servers", 1}}, {{"name", "a"}, {"servers", 1}}})}}).path ==
        "$.cluster.datacenters[1].name");
  CHECK(one_error({{"datacenters", json::array({json{{"name", "us-east"}, {"servers", 1}}})}}).path == "$.cluster.datacenters[0].name");
  CHECK(one_error({{"datacenters", json::array({json{{"name", "a"}}})}}).path == "$.cluster.datacenters[0]");
  CHECK(one_error({{"servers", 3}, {"zones", 2}}).path == "$.cluster.zones");
}

TEST_CASE("every distribution form", "[scenario][distribution]") {
  SECTION("a bare duration is constant") {
    const Distribution d = dist("5ms");
    CHECK(d.kind == Distribution::Kind::kConstant);
    CHECK(d.a_ns == 5 * kMillisecond);
  }
  SECTION("constant") {
    const Distribution d = dist({{"constant", "250us"}});
    CHECK(d.kind == Distribution::Kind::kConstant);
    CHECK(d.a_ns == 250 * kMicrosecond);
  }
  SECTION("uniform") {
    const Distribution d = dist({{"uniform", json::array({"1ms", "5ms"})}});
    CHECK(d.kind == Distribution::Kind::kUniform);
    CHECK(d.a_ns == 1 * kMillisecond);
    CHECK(d.b_ns == 5 * kMillisecond);
    CHECK(dist({{"uniform", json::array({"2ms", "2ms"})}}).b_ns == 2 * kMillisecond);
  }
  SECTION("normal") {
    const Distribution d = dist({{"normal", {{"mean", "10ms"}, {"stddev", "2ms"}}}});
    CHECK(d.kind == Distribution::Kind::kNormal);
    CHECK(d.a_ns == 10 * kMillisecond);
    CHECK(d.b_ns == 2 * kMillisecond);
  }
  SECTION("lognormal") {
    const Distribution d = dist({{"lognormal", {{"median", "4ms"}, {"sigma", 0.5}}}});
    CHECK(d.kind == Distribution::Kind::kLognormal);
    CHECK(d.a_ns == 4 * kMillisecond);
    CHECK(d.shape == 0.5);
  }
  SECTION("pareto, with and without cap") {
    const Distribution d = dist({{"pareto", {{"min", "1ms"}, {"alpha", 1.5}}}});
    CHECK(d.kind == Distribution::Kind::kPareto);
    CHECK(d.a_ns == 1 * kMillisecond);
    CHECK(d.shape == 1.5);
    CHECK(d.cap_ns == 3600 * kSecond);
    CHECK(dist({{"pareto", {{"min", "1ms"}, {"alpha", 2}, {"cap", "1s"}}}}).cap_ns == kSecond);
  }
  SECTION("malformed forms") {
    CHECK_THAT(dist_error({{"uniform", json::array({"5ms", "1ms"})}}), Catch::Contains("above high"));
    CHECK_THAT(dist_error({{"uniform", json::array({"1ms"})}}), Catch::Contains("[LOW, HIGH]"));
    CHECK_THAT(dist_error({{"gamma", "1ms"}}), Catch::Contains("unknown distribution \"gamma\""));
    CHECK_THAT(dist_error({{"normal", {{"mean", "1ms"}}}}), Catch::Contains("needs \"stddev\""));
    CHECK_THAT(dist_error({{"normal", {{"mean", "1ms"}, {"stddev", "1ms"}, {"skew", 1}}}}),
               Catch::Contains("unknown key \"skew\""));
    CHECK_THAT(dist_error({{"lognormal", {{"median", "1ms"}, {"sigma", 0}}}}), Catch::Contains("positive number"));
    CHECK_THAT(dist_error({{"pareto", {{"min", "10ms"}, {"alpha", 1}, {"cap", "1ms"}}}}), Catch::Contains("cap"));
    CHECK_THAT(dist_error({{"constant", 5}}), Catch::Contains("duration"));
    CHECK_THAT(dist_error({{"constant", "1ms"}, {"uniform", json::array({"1ms", "2ms"})}}), Catch::Contains("one of"));
    CHECK_THAT(dist_error(5), Catch::Contains("one of"));
    CHECK_THAT(dist_error("5 ms"), Catch::Contains("duration"));
  }
  SECTION("errors name the key that holds the distribution") {
    json doc = minimal();
    doc["storage"] = {{"sync_latency", {{"normal", {{"mean", "1ms"}}}}}};
    const auto errs = errors_of(doc);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].path == "$.storage.sync_latency");
  }
}

TEST_CASE("durations", "[scenario][duration]") {
  CHECK(dur("0s") == 0);
  CHECK(dur("10ns") == 10);
  CHECK(dur("1.5us") == 1500);
  CHECK(dur("2\xC2\xB5s") == 2 * kMicrosecond);  // µs
  CHECK(dur("1.5ms") == 1500 * kMicrosecond);
  CHECK(dur("150ms") == 150 * kMillisecond);
  CHECK(dur("2s") == 2 * kSecond);
  CHECK(dur("0.25s") == 250 * kMillisecond);
  CHECK(dur("1m") == 60 * kSecond);
  CHECK(dur("2h") == 7200 * kSecond);
  CHECK(dur("0.123456789s") == 123456789);
  CHECK(dur("0.1234567891s") == 123456789);  // digits past the ninth are ignored
  core::Duration d = 0;
  for (const char* bad : {"", "ms", "10", "10 sec", "10sec", "10 s", " 10s", "-5s", "+5s", "1.s", ".5s", "5S", "5ms ",
                          "1e3ms", "99999999999h", "9223372037s"}) {
    INFO(bad);
    CHECK_FALSE(sim::parse_duration(bad, d));
  }
}

TEST_CASE("format_duration and parse_duration round trip", "[scenario][duration]") {
  // Canonical strings come back unchanged.
  for (const char* text : {"1ns", "999ns", "1us", "1500us", "150ms", "2s", "1500ms", "1m", "90s", "61m", "2h", "25h"}) {
    INFO(text);
    CHECK(sim::format_duration(dur(text)) == text);
  }
  CHECK(sim::format_duration(0) == "0ns");
  CHECK(sim::format_duration(-300 * kMillisecond) == "-300ms");
  CHECK(sim::format_duration(INT64_MIN).front() == '-');
  // The largest unit that divides the value exactly wins; otherwise three decimals.
  CHECK(sim::format_duration(dur("1.5ms")) == "1500us");
  CHECK(sim::format_duration(1234567) == "1.235ms");
  // Values that format exactly (at most three decimals of their unit) parse back to themselves.
  for (core::Duration v : {core::Duration{1}, core::Duration{1500}, 2 * kMillisecond, 1234 * kMicrosecond,
                           123 * kMillisecond, 61 * kSecond, 3601 * kSecond, 7 * 24 * 3600 * kSecond}) {
    INFO(v);
    CHECK(dur(sim::format_duration(v)) == v);
  }
}

TEST_CASE("durations in documents", "[scenario][duration]") {
  json doc = minimal();
  doc["until"] = "1.5ms";
  CHECK(parse(doc).until == 1500 * kMicrosecond);
  doc["until"] = "2h";
  CHECK(parse(doc).until == 2 * 3600 * kSecond);
  doc["until"] = "24h";
  CHECK(parse(doc).until == 24 * 3600 * kSecond);
  for (const json& bad : {json("25h"), json("0s"), json("-1s"), json(30), json("30")}) {
    doc["until"] = bad;
    INFO(bad.dump());
    const auto errs = errors_of(doc);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].path == "$.until");
  }
  doc["until"] = "10s";
  doc["faults"] = json::array({{{"at", "-5s"}, {"crash", "s1"}}});
  const auto errs = errors_of(doc);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.faults[0].at");
  CHECK_THAT(errs[0].message, Catch::Contains("negative"));
}

TEST_CASE("faults parse into their kinds and targets", "[scenario][faults]") {
  json doc = minimal();
  doc["cluster"] = {{"servers", 3}, {"clients", 2}};
  doc["faults"] = json::array({
      {{"at", "1s"}, {"crash", "s1"}, {"lose_unsynced", true}, {"note", "why"}},
      {{"at", "2s"}, {"restart", "s1"}},
      {{"at", "3s"}, {"pause", json::array({"s2", "c1"})}},
      {{"at", "4s"}, {"resume", "all_paused"}},
      {{"at", "5s"}, {"partition", {{"groups", json::array({json::array({"s1", "s2"}), json::array({"s3"})})}}}},
      {{"at", "6s"}, {"heal", "all"}},
      {{"at", "7s"}, {"partition", {{"shape", "majorities_ring"}}}},
      {{"at", "8s"}, {"isolate", "random_server"}},
      {{"at", "8s"}, {"block", {{"from", "s1"}, {"to", "all_clients"}}}},
      {{"at", "9s"}, {"degrade", {{"nodes", "c2"}, {"latency", "40ms"}, {"loss", 0.2}}}},
      {{"at", "9s"}, {"restore", "c2"}},
      {{"at", "9s"}, {"clock", {{"nodes", "s3"}, {"drift_ppm", -50.5}}}},
      {{"at", "10s"}, {"clock", {{"nodes", "minority"}, {"jump", "-300ms"}}}},
  });
  const Scenario s = parse(doc);
  REQUIRE(s.faults.size() == 13);
  const auto& f = s.faults;
  CHECK(f[0].kind == Fault::Kind::kCrash);
  CHECK(f[0].at == kSecond);
  CHECK(f[0].path == "$.faults[0]");
  CHECK(f[0].description == "crash s1");
  REQUIRE(f[0].lose_unsynced.has_value());
  CHECK(*f[0].lose_unsynced);
  CHECK(f[0].target.kind == Target::Kind::kNames);
  CHECK(f[0].target.nodes == std::vector<core::NodeId>{0});
  CHECK(f[1].kind == Fault::Kind::kRestart);
  CHECK_FALSE(f[1].lose_unsynced.has_value());
  CHECK(f[2].kind == Fault::Kind::kPause);
  CHECK(f[2].target.nodes == std::vector<core::NodeId>{1, 3});
  CHECK(f[3].kind == Fault::Kind::kResume);
  CHECK(f[3].target.kind == Target::Kind::kAllPaused);
  CHECK(f[4].kind == Fault::Kind::kPartitionGroups);
  CHECK(f[4].groups == std::vector<std::vector<core::NodeId>>{{0, 1}, {2}});
  CHECK(f[5].kind == Fault::Kind::kHeal);
  CHECK(f[6].kind == Fault::Kind::kPartitionShape);
  CHECK(f[6].shape == "majorities_ring");
  CHECK(f[7].kind == Fault::Kind::kIsolate);
  CHECK(f[7].target.kind == Target::Kind::kRandomServer);
  CHECK(f[8].kind == Fault::Kind::kBlock);
  CHECK(f[8].target.nodes == std::vector<core::NodeId>{0});
  CHECK(f[8].target2.kind == Target::Kind::kAllClients);
  CHECK(f[9].kind == Fault::Kind::kDegradeNodes);
  CHECK(f[9].link.latency.a_ns == 40 * kMillisecond);
  CHECK(f[9].link.loss == 0.2);
  CHECK(f[10].kind == Fault::Kind::kRestoreNodes);
  CHECK(f[11].kind == Fault::Kind::kClockDrift);
  CHECK(f[11].drift_ppb == -50500);
  CHECK(f[12].kind == Fault::Kind::kClockJump);
  CHECK(f[12].jump == -300 * kMillisecond);
  CHECK(f[12].target.kind == Target::Kind::kMinority);
}

TEST_CASE("fault descriptions are the text traces and summaries show", "[scenario][faults]") {
  // The description is part of every fault's trace line: these strings are
  // frozen.
  json doc = minimal();
  doc["protocol"] = "raft";
  doc["cluster"] = {{"servers", 3}};
  doc["faults"] = json::array({
      {{"at", "1s"}, {"crash", "leader"}},
      {{"at", "2s"}, {"restart", "all_crashed"}},
      {{"at", "3s"}, {"pause", json::array({"s2", "s3"})}},
      {{"at", "4s"}, {"resume", "s2"}},
      {{"at", "4s"}, {"resume", "s3"}},
      {{"at", "5s"}, {"partition", {{"groups", json::array({json::array({"s1"}), json::array({"s2", "s3"})})}}}},
      {{"at", "6s"}, {"heal", "all"}},
      {{"at", "7s"}, {"partition", {{"shape", "random_halves"}}}},
      {{"at", "7s"}, {"isolate", "followers"}},
      {{"at", "8s"}, {"block", {{"from", "s1"}, {"to", json::array({"s2", "s3"})}}}},
      {{"at", "9s"}, {"degrade", {{"nodes", "s2"}, {"loss", 0.5}}}},
      {{"at", "9s"}, {"restore", "s2"}},
      {{"at", "9s"}, {"clock", {{"nodes", "s1"}, {"drift_ppm", 200}}}},
      {{"at", "9s"}, {"clock", {{"nodes", "s2"}, {"drift_ppm", -0.5}}}},
      {{"at", "9s"}, {"clock", {{"nodes", "s3"}, {"jump", "-1.5s"}}}},
      {{"at", "10s"}, {"add_voter", "s2"}},
      {{"at", "10s"}, {"transfer_leadership", "random_follower"}},
      {{"at", "10s"}, {"slow", "s3"}, {"delay", {{"uniform", json::array({"1ms", "5ms"})}}}},
      {{"at", "10s"}, {"slow", "s2"}, {"delay", "1500us"}},
      {{"at", "10s"}, {"unslow", "s3"}},
  });
  std::vector<std::string> got;
  for (const Fault& f : parse(doc).faults) got.push_back(f.description);
  CHECK(got == std::vector<std::string>{"crash leader",
                                        "restart all_crashed",
                                        "pause [\"s2\",\"s3\"]",
                                        "resume s2",
                                        "resume s3",
                                        "partition [[\"s1\"],[\"s2\",\"s3\"]]",
                                        "heal all",
                                        "partition random_halves",
                                        "isolate followers",
                                        "block s1 -> [\"s2\",\"s3\"]",
                                        "degrade s2",
                                        "restore s2",
                                        "clock s1 drift 200ppm",
                                        "clock s2 drift -0.5ppm",
                                        "clock s3 jump -1.5s",
                                        "add_voter s2",
                                        "transfer_leadership random_follower",
                                        "slow s3 delay uniform(1ms, 5ms)",
                                        "slow s2 delay 1500us",
                                        "unslow s3"});

  json dcs = minimal();
  dcs["cluster"] = {{"datacenters", json::array({{{"name", "east"}, {"servers", 1}}, {{"name", "west"}, {"servers", 1}}})}};
  dcs["faults"] = json::array({{{"at", "1s"}, {"degrade", {{"wan", json::array({"east", "west"})}, {"loss", 0.1}}}},
                               {{"at", "2s"}, {"restore", {{"wan", json::array({"west", "east"})}}}}});
  const Scenario s = parse(dcs);
  CHECK(s.faults[0].description == "degrade wan [\"east\",\"west\"]");
  CHECK(s.faults[1].description == "restore wan [\"west\",\"east\"]");
}

TEST_CASE("notes and the cluster's written form are kept for the writer", "[scenario]") {
  json doc = minimal();
  doc["faults"] = json::array({{{"at", "1s"}, {"crash", "s1"}, {"note", "the disk fails"}}, {{"at", "2s"}, {"restart", "s1"}}});
  Scenario s = parse(doc);
  CHECK(s.faults[0].note == "the disk fails");
  CHECK(s.faults[1].note.empty());
  CHECK_FALSE(s.per_datacenter);
  CHECK(s.dc_counts == std::vector<std::pair<uint64_t, uint64_t>>{{3, 0}});
  doc["cluster"] = {{"datacenters", json::array({{{"name", "a"}, {"servers", 2}, {"clients", 1}}, {{"name", "b"}, {"clients", 2}}})}};
  doc["faults"] = json::array();
  s = parse(doc);
  CHECK(s.per_datacenter);
  CHECK(s.dc_counts == std::vector<std::pair<uint64_t, uint64_t>>{{2, 1}, {0, 2}});
}

TEST_CASE("error wordings of the document's generic parts", "[scenario][errors]") {
  auto only = [](const json& doc) {
    const auto errs = errors_of(doc);
    INFO(doc.dump());
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  json doc = minimal();
  doc["seed"] = -1;
  CHECK(only(doc).str() == "$.seed: expected a non-negative integer, got -1");
  doc["seed"] = 1.5;
  CHECK(only(doc).str() == "$.seed: expected a non-negative integer, got 1.5");
  doc["seed"] = "7";
  CHECK(only(doc).str() == "$.seed: expected a non-negative integer, got a string");
  doc = minimal();
  doc["until"] = "25h";
  CHECK(only(doc).str() == "$.until: expected a duration between 1ns and 24h, got \"25h\"");
  doc["until"] = "0s";
  CHECK(only(doc).str() == "$.until: duration \"0s\" must be more than 0 (e.g. \"150ms\")");
  doc["until"] = "-1s";
  CHECK(only(doc).str() == "$.until: negative duration \"-1s\" is not allowed here (expected more than 0, e.g. \"150ms\")");
  doc = minimal();
  doc["faults"] = json::array({{{"at", "1s"}, {"clock", {{"nodes", "s1"}, {"jump", "5 s"}}}}});
  CHECK(only(doc).str() ==
        "$.faults[0].clock.jump: malformed duration \"5 s\" (expected a number and a unit: ns, us, ms, s, m or h, "
        "e.g. \"150ms\" or \"-300ms\")");
  doc["faults"] = json::array({{{"at", "1s"}, {"partition", {{"shape", "ring"}}}}});
  CHECK(only(doc).str() ==
        "$.faults[0].partition.shape: expected one of \"random_halves\", \"majorities_ring\", \"bridge\", got \"ring\"");
  // A fault's keys: the stack's own actions are listed with the common ones.
  doc["protocol"] = "raft";
  doc["faults"] = json::array({{{"at", "1s"}, {"crash", "s1"}, {"node", "s1"}}});
  CHECK_THAT(only(doc).message,
             Catch::Contains("\"delay\" for a slow, and one action: crash, restart, pause, resume, partition, isolate, "
                             "block, heal, degrade, restore, clock, slow, unslow, add_voter, add_nonvoter, demote_voter, "
                             "remove_server, transfer_leadership)"));
  doc["faults"] = json::array({{{"at", "1s"}, {"degrade", {{"nodes", "s1"}, {"jitter", "1ms"}}}}});
  CHECK(only(doc).str() ==
        "$.faults[0].degrade.jitter: unknown key (expected one of: latency, loss, duplicate, reorder, bandwidth, nodes)");
}

TEST_CASE("WAN faults start from the configured WAN link", "[scenario][faults]") {
  json doc = minimal();
  doc["cluster"] = {{"datacenters", json::array({{{"name", "a"}, {"servers", 1}}, {{"name", "b"}, {"servers", 1}}})}};
  doc["network"] = {{"latency", "1ms"}, {"wan", {{"latency", "30ms"}, {"loss", 0.01}}}};
  doc["faults"] = json::array({{{"at", "1s"}, {"degrade", {{"wan", json::array({"b", "a"})}, {"loss", 0.5}}}},
                               {{"at", "2s"}, {"restore", {{"wan", json::array({"a", "b"})}}}}});
  const Scenario s = parse(doc);
  CHECK(s.wan.latency.a_ns == 30 * kMillisecond);
  REQUIRE(s.faults.size() == 2);
  CHECK(s.faults[0].kind == Fault::Kind::kDegradeWan);
  CHECK(s.faults[0].wan_a == 1);
  CHECK(s.faults[0].wan_b == 0);
  CHECK(s.faults[0].link.latency.a_ns == 30 * kMillisecond);  // kept from "wan"
  CHECK(s.faults[0].link.loss == 0.5);                        // overridden
  CHECK(s.faults[1].kind == Fault::Kind::kRestoreWan);
}

TEST_CASE("expectations", "[scenario][expect]") {
  json doc = minimal();
  doc["expect"] = json::array({{{"always", "message_conservation"}}, {{"by", "4s"}, {"hb_converged", true}}});
  const Scenario s = parse(doc);
  REQUIRE(s.expect.size() == 2);
  CHECK(s.expect[0].kind == sim::Expectation::Kind::kAlways);
  CHECK(s.expect[0].property == "message_conservation");
  CHECK(s.expect[0].name == "always message_conservation");
  CHECK(s.expect[1].kind == sim::Expectation::Kind::kBy);
  CHECK(s.expect[1].by == 4 * kSecond);
  CHECK(s.expect[1].name == "by 4s: hb_converged");
  CHECK(s.expect[1].path == "$.expect[1]");

  doc["expect"] = json::array({{{"by", "4s"}, {"hb_converged", false}}});
  auto errs = errors_of(doc);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.expect[0].hb_converged");
  doc["expect"] = json::array({{{"by", "4s"}}});
  errs = errors_of(doc);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.expect[0]");
  doc["expect"] = json::array({{{"eventually", "hb_converged"}}});
  errs = errors_of(doc);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.expect[0]");
}

TEST_CASE("all errors are collected", "[scenario][errors]") {
  json doc = minimal();
  doc["network"] = {{"loss", 1.5}};                                            // 1
  doc["faults"] = json::array({{{"at", "1s"}, {"crash", "s9"}}});               // 2
  doc["expect"] = json::array({{{"by", "5s"}, {"leader_known_to", "all"}}});    // 3
  const auto errs = errors_of(doc);
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].path == "$.network.loss");
  CHECK(errs[1].path == "$.faults[0].crash");
  CHECK(errs[2].path == "$.expect[0].leader_known_to");

  // The exception's text lists them all, one per line.
  try {
    parse(doc);
    FAIL("expected ScenarioInvalid");
  } catch (const ScenarioInvalid& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("$.network.loss: "));
    CHECK_THAT(what, Catch::Contains("\n$.faults[0].crash: "));
    CHECK_THAT(what, Catch::Contains("\n$.expect[0].leader_known_to: "));
  }
}

TEST_CASE("missing required keys are each reported", "[scenario][errors]") {
  const auto errs = errors_of(json{{"protocol", "heartbeat"}});
  REQUIRE(errs.size() == 3);
  for (const auto& e : errs) CHECK(e.path == "$");
  CHECK_THAT(errs[0].message, Catch::Contains("\"name\""));
  CHECK_THAT(errs[1].message, Catch::Contains("\"until\""));
  CHECK_THAT(errs[2].message, Catch::Contains("\"cluster\""));
}

TEST_CASE("malformed JSON reports line and column", "[scenario][errors]") {
  const auto errs = errors_of(std::string("{\n  \"name\": \"t\",\n  \"until\": 10s\n}\n"));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$");
  CHECK_THAT(errs[0].message, Catch::Contains("test.json is not valid JSON (line 3, column 14)"));
}

TEST_CASE("consistency of faults on named nodes", "[scenario][faults]") {
  auto errors_for = [](const json& faults) {
    json doc = minimal();
    doc["faults"] = faults;
    return errors_of(doc);
  };
  // A valid life: crash, restart, pause, resume, crash again.
  CHECK(errors_for(json::array({{{"at", "1s"}, {"crash", "s1"}},
                                {{"at", "2s"}, {"restart", "s1"}},
                                {{"at", "3s"}, {"pause", "s1"}},
                                {{"at", "4s"}, {"resume", "s1"}},
                                {{"at", "5s"}, {"crash", "s1"}}}))
            .empty());
  // Selectors are resolved when the fault fires, so they are not checked here.
  CHECK(errors_for(json::array({{{"at", "1s"}, {"restart", "random_server"}}, {{"at", "2s"}, {"resume", "all"}}})).empty());
  // After a selector acted, the state of the nodes it could touch is unknown:
  // named faults on them are accepted until a named crash/restart fixes it.
  CHECK(errors_for(json::array({{{"at", "1s"}, {"crash", "all"}}, {{"at", "2s"}, {"restart", "s1"}}})).empty());
  CHECK(errors_for(json::array({{{"at", "1s"}, {"crash", "s1"}},
                                {{"at", "2s"}, {"restart", "all_crashed"}},
                                {{"at", "3s"}, {"crash", "s1"}}}))
            .empty());
  CHECK(errors_for(json::array({{{"at", "1s"}, {"pause", "random_server"}}, {{"at", "2s"}, {"resume", "s2"}}})).empty());
  CHECK(errors_for(json::array({{{"at", "1s"}, {"crash", "all"}},
                                {{"at", "2s"}, {"restart", "s1"}},
                                {{"at", "3s"}, {"restart", "s1"}}}))
            .size() == 1);
  // Same instant on different nodes is fine; on one node it is not.
  CHECK(errors_for(json::array({{{"at", "1s"}, {"crash", "s1"}}, {{"at", "1s"}, {"crash", "s2"}}})).empty());
  auto errs = errors_for(json::array({{{"at", "1s"}, {"pause", "s1"}}, {{"at", "1s"}, {"crash", json::array({"s2", "s1"})}}}));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.faults[1]");
  // Pausing a paused or crashed node.
  errs = errors_for(json::array({{{"at", "1s"}, {"pause", "s1"}}, {{"at", "2s"}, {"pause", "s1"}}}));
  REQUIRE(errs.size() == 1);
  CHECK_THAT(errs[0].message, Catch::Contains("already paused"));
  errs = errors_for(json::array({{{"at", "1s"}, {"crash", "s1"}}, {{"at", "2s"}, {"pause", "s1"}}}));
  REQUIRE(errs.size() == 1);
  CHECK_THAT(errs[0].message, Catch::Contains("cannot be paused"));
  // Heal after a heal has nothing to heal; a fault exactly at "until" is allowed.
  errs = errors_for(json::array({{{"at", "1s"}, {"isolate", "s1"}}, {{"at", "2s"}, {"heal", "all"}},
                                 {{"at", "10s"}, {"heal", "all"}}}));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].path == "$.faults[2]");
}

TEST_CASE("the scenario library validates", "[scenario][library]") {
  const std::filesystem::path dir = std::filesystem::path(CLUSTERSIM_SOURCE_DIR) / "scenarios";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file.string());
    const Scenario s = sim::load_scenario_file(file.string());
    CHECK_FALSE(s.description.empty());
    CHECK_FALSE(s.expect.empty());
  }
}

// `clustersim bench consul`: the scenario it builds is an ordinary consul
// scenario (running it through the runner gives the benchmark's trace
// hash), a small run is healthy and replays, and bad parameters are refused.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "sim/run/bench_consul.hpp"
#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"

using core::kSecond;

TEST_CASE("bench consul: a small datacenter is healthy, replays, and is the scenario it prints", "[bench]") {
  sim::ConsulBenchParams p;
  p.agents = 12;
  p.virtual_ns = 20 * kSecond;
  p.kv_rate = 50;
  const sim::ConsulBenchResult r = sim::run_consul_bench(p);
  INFO(r.error);
  CHECK(r.ok);
  CHECK(!r.leader.empty());
  CHECK(r.registered == 12);
  CHECK(r.passing == 12);
  CHECK(r.kv_submitted > 300);
  CHECK(r.kv_acknowledged >= r.kv_submitted - 2);
  CHECK(r.partial_syncs >= 9);  // every client's service registration
  CHECK(r.events > 0);
  CHECK(r.events_per_virtual_second == static_cast<double>(r.events) / 20.0);
  CHECK(sim::run_consul_bench(p).trace_hash == r.trace_hash);

  // The same document through `clustersim run`'s path gives the same run.
  sim::Runner runner(sim::parse_scenario(sim::consul_bench_scenario(p)), sim::RunOptions{});
  runner.finish();
  CHECK(runner.sim().trace_hash() == r.trace_hash);
  CHECK(runner.sim().events_processed() == r.events);
}

TEST_CASE("bench consul: no KV load when the rate is 0", "[bench]") {
  sim::ConsulBenchParams p;
  p.agents = 5;
  p.virtual_ns = 15 * kSecond;
  p.kv_rate = 0;
  const sim::ConsulBenchResult r = sim::run_consul_bench(p);
  CHECK(r.ok);
  CHECK(r.kv_submitted == 0);
  CHECK(sim::consul_bench_scenario(p).find("\"workload\"") == std::string::npos);
}

TEST_CASE("bench consul: bad parameters are rejected", "[bench]") {
  sim::ConsulBenchParams p;
  p.agents = 3;  // no client
  CHECK_THROWS_AS(sim::run_consul_bench(p), std::invalid_argument);
  p.agents = 10;
  p.servers = 0;
  CHECK_THROWS_AS(sim::run_consul_bench(p), std::invalid_argument);
  p.servers = 3;
  p.virtual_ns = 10 * kSecond;  // the KV load starts at 10 s
  CHECK_THROWS_AS(sim::run_consul_bench(p), std::invalid_argument);
  p.virtual_ns = 60 * kSecond;
  p.kv_rate = -1;
  CHECK_THROWS_AS(sim::run_consul_bench(p), std::invalid_argument);
}

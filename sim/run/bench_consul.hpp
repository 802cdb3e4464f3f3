// The Consul agents benchmark: one datacenter of N agents (S servers and
// N - S clients) running the consul stack exactly as a scenario file would
// (the scenario is built here and run through sim::Runner), with Consul
// 1.9's settings, raft_multiplier 1, a LAN of 1-3 ms, disk syncs of 1-3 ms
// and a formed LAN pool. At 5 s every client registers one service (so
// anti-entropy has work); from 10 s a KV load of R operations per second
// (half puts, half reads) goes through the clients. Measured from outside
// the simulation; the run is healthy when a leader exists at the end, every
// agent is in the leader's catalog with serfHealth passing, and at least
// 99 % of the KV operations were acknowledged.
#pragma once

#include <cstdint>
#include <string>

#include "core/types.hpp"

namespace sim {

struct ConsulBenchParams {
  uint32_t agents = 0;
  uint32_t servers = 3;
  core::Duration virtual_ns = 60 * core::kSecond;
  double kv_rate = 100.0;  // operations per virtual second from 10 s; 0 = no KV load
  uint64_t seed = 42;
};

struct ConsulBenchResult {
  ConsulBenchParams params;
  double wall_seconds = 0.0;   // everything: building the scenario, booting, running, checking
  double setup_seconds = 0.0;  // building the scenario and the cluster and booting every agent
  double wall_per_virtual_second = 0.0;  // the run after setup, per virtual second
  uint64_t events = 0;
  uint64_t messages = 0;  // delivered
  double events_per_virtual_second = 0.0;
  double messages_per_virtual_second = 0.0;
  double events_per_second = 0.0;  // per wall second of the run after setup
  uint64_t peak_rss_bytes = 0;
  uint64_t rss_before_bytes = 0;  // before the cluster was built
  double bytes_per_agent = 0.0;   // (peak - before) / N
  uint64_t trace_hash = 0;
  // Health at the end of the run.
  std::string leader;            // "" when none
  uint32_t registered = 0;       // agents in the leader's catalog
  uint32_t passing = 0;          // ... with serfHealth passing
  uint64_t kv_submitted = 0;
  uint64_t kv_acknowledged = 0;
  uint64_t full_syncs = 0, partial_syncs = 0;  // anti-entropy's work, for the record
  bool ok = false;
  std::string error;  // the first health check that failed
};

// The scenario document the benchmark runs (scenario-format.md), for
// inspection and for `clustersim run`.
std::string consul_bench_scenario(const ConsulBenchParams& p);

// Throws std::invalid_argument on bad parameters.
ConsulBenchResult run_consul_bench(const ConsulBenchParams& p);

}  // namespace sim

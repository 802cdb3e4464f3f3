// The engine benchmarks of shared/bench/WORKLOAD.md ("hb" and "ring"), run
// through the full engine: protocol nodes behind core::Env, the network model
// (one LAN, constant 1 ms, no loss) and the trace hash. Wall time is measured
// from outside the simulation.
#pragma once

#include <cstdint>
#include <string>

namespace sim {

struct BenchResult {
  std::string workload;
  uint32_t nodes = 0;
  uint64_t expected_messages = 0;
  uint64_t delivered = 0;
  uint64_t plan_checksum = 0;  // hb only
  int64_t virtual_time_ns = 0;
  double wall_seconds = 0.0;
  double messages_per_second = 0.0;
  uint64_t peak_rss_bytes = 0;
  uint64_t peak_inflight = 0;
  uint64_t bytes_per_inflight = 0;  // pool slot + event record
  uint64_t trace_hash = 0;
  bool ok = false;  // every expected message delivered (and plan checksum known-good where listed)
  std::string error;
};

// The process's peak resident set so far (getrusage), in bytes.
uint64_t peak_rss_bytes();
// The resident set now (/proc/self/statm), for a benchmark's baseline.
uint64_t current_rss_bytes();

// workload: "hb" or "ring". Throws std::invalid_argument on bad parameters.
BenchResult run_bench(const std::string& workload, uint32_t nodes, uint64_t messages = 1'000'000, uint64_t seed = 42);

}  // namespace sim

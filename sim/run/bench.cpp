#include "sim/run/bench.hpp"

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <map>
#include <stdexcept>

#include "core/hb/heartbeat.hpp"
#include "sim/engine/simulation.hpp"

namespace sim {

uint64_t peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

uint64_t current_rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4096;
}

namespace {
// Checksums published in WORKLOAD.md for K = 4, seed 42, 10^6 messages.
const std::map<uint32_t, uint64_t>& known_checksums() {
  static const std::map<uint32_t, uint64_t> m = {{5, 0x3f25d2e635c1f4abull},
                                                 {50, 0x8df8cc10e1186bfaull},
                                                 {500, 0x3bbdb694ac7da131ull},
                                                 {2000, 0x8545e9384fb65fdeull}};
  return m;
}
}  // namespace

BenchResult run_bench(const std::string& workload, uint32_t nodes, uint64_t messages, uint64_t seed) {
  if (workload != "hb" && workload != "ring") throw std::invalid_argument("unknown workload '" + workload + "' (expected hb or ring)");
  if (nodes < 2) throw std::invalid_argument("--nodes must be at least 2");
  if (workload == "hb" && nodes < 5) throw std::invalid_argument("hb needs at least 5 nodes (4 distinct targets per round)");
  if (nodes > 1'000'000) throw std::invalid_argument("--nodes must be at most 1000000");
  BenchResult r;
  r.workload = workload;
  r.nodes = nodes;

  const auto t0 = std::chrono::steady_clock::now();
  Simulation s(seed);
  LinkParams lan;
  lan.latency = Distribution::constant(core::kMillisecond);
  s.network().add_lan("lan", lan);
  std::shared_ptr<const core::hb::HbPlan> plan;
  if (workload == "hb") {
    const uint32_t fanout = 4;
    const uint64_t rounds = messages / (uint64_t{nodes} * fanout);
    if (rounds == 0) throw std::invalid_argument("too few messages for this many nodes");
    plan = core::hb::HbPlan::make(nodes, fanout, static_cast<uint32_t>(rounds), seed);
    r.plan_checksum = plan->checksum;
    r.expected_messages = rounds * nodes * fanout;
    for (uint32_t i = 0; i < nodes; ++i)
      s.add_node("node-" + std::to_string(i), 0,
                 [plan](core::NodeId id) { return std::make_unique<core::hb::HbBenchNode>(id, plan); });
  } else {
    r.expected_messages = messages;
    for (uint32_t i = 0; i < nodes; ++i)
      s.add_node("node-" + std::to_string(i), 0, [nodes, messages](core::NodeId id) {
        return std::make_unique<core::hb::RingBenchNode>(id, nodes, messages);
      });
  }
  s.start_all();
  while (s.step()) {
  }
  const auto t1 = std::chrono::steady_clock::now();

  r.delivered = s.messages().delivered;
  r.virtual_time_ns = s.now();
  r.wall_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.messages_per_second = r.wall_seconds > 0 ? static_cast<double>(r.delivered) / r.wall_seconds : 0.0;
  r.peak_rss_bytes = peak_rss_bytes();
  r.peak_inflight = s.peak_inflight_messages();
  r.bytes_per_inflight = Simulation::bytes_per_inflight_message();
  r.trace_hash = s.trace_hash();
  r.ok = r.delivered == r.expected_messages;
  if (!r.ok) r.error = "delivered " + std::to_string(r.delivered) + " of " + std::to_string(r.expected_messages) + " messages";
  if (workload == "hb" && messages == 1'000'000 && seed == 42) {
    auto it = known_checksums().find(nodes);
    if (it != known_checksums().end() && it->second != plan->checksum) {
      r.ok = false;
      r.error = "plan checksum " + hex16(plan->checksum) + " differs from WORKLOAD.md's " + hex16(it->second);
    }
  }
  return r;
}

}  // namespace sim

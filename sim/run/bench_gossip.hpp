// The gossip benchmark: N members running serf over memberlist with Consul
// 1.9's LAN settings on one LAN (1-3 ms), for a virtual duration, measured
// from outside the simulation. A formed pool (every member knows every
// other at the start, as after a completed join) or a cold start, in which
// every member joins member 0 at boot; the cold start also reports how long
// the join storm took (until every member knows all N).
#pragma once

#include <cstdint>
#include <string>

#include "core/types.hpp"

namespace sim {

struct GossipBenchResult {
  uint32_t nodes = 0;
  bool cold = false;
  bool coordinates = true;
  core::Duration virtual_ns = 0;
  double wall_seconds = 0.0;   // everything: building, booting, running
  double setup_seconds = 0.0;  // building the pool and booting every member (a formed pool's views: N^2 pairs)
  uint64_t events = 0;
  uint64_t messages = 0;
  double events_per_second = 0.0;
  double messages_per_second = 0.0;
  double wall_per_virtual_second = 0.0;  // the run after setup, per virtual second
  uint64_t peak_rss_bytes = 0;
  uint64_t rss_before_bytes = 0;      // before the pool was built
  double bytes_per_member = 0.0;      // (peak - before) / N
  core::Duration join_storm_ns = -1;  // cold start: until every member knows all N; -1 if not within the run
  uint64_t trace_hash = 0;
  bool ok = false;  // every member sees every other alive at the end
  std::string error;
};

// Throws std::invalid_argument on bad parameters.
GossipBenchResult run_gossip_bench(uint32_t nodes, core::Duration virtual_ns, bool cold, bool coordinates,
                                   uint64_t seed = 42);

}  // namespace sim

#include "sim/run/bench_gossip.hpp"

#include <chrono>
#include <algorithm>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/serf/node.hpp"
#include "sim/run/bench.hpp"
#include "sim/engine/simulation.hpp"

namespace sim {

GossipBenchResult run_gossip_bench(uint32_t nodes, core::Duration virtual_ns, bool cold, bool coordinates, uint64_t seed) {
  if (nodes < 2) throw std::invalid_argument("--nodes must be at least 2");
  if (nodes > 100'000) throw std::invalid_argument("--nodes must be at most 100000");
  if (virtual_ns <= 0) throw std::invalid_argument("--virtual must be positive");
  GossipBenchResult r;
  r.nodes = nodes;
  r.cold = cold;
  r.coordinates = coordinates;
  r.virtual_ns = virtual_ns;
  r.rss_before_bytes = current_rss_bytes();

  const auto t0 = std::chrono::steady_clock::now();
  Simulation s(seed);
  LinkParams lan;
  lan.latency = Distribution::uniform(core::kMillisecond, 3 * core::kMillisecond);
  s.network().add_lan("lan", lan);
  core::serf::Config config = core::serf::Config::consul_lan();
  config.disable_coordinates = !coordinates;
  auto all = std::make_shared<std::vector<core::NodeId>>(nodes);
  std::iota(all->begin(), all->end(), 0);
  for (uint32_t i = 0; i < nodes; ++i) {
    s.add_node("m" + std::to_string(i), 0, [=](core::NodeId id) {
      std::vector<core::NodeId> join;
      if (cold && id != 0) join.push_back(0);
      return std::make_unique<core::serf::GossipNode>(id, nodes, config, cold ? nullptr : all, std::move(join));
    });
  }
  const auto member_count = [&](core::NodeId id) {
    return static_cast<core::serf::GossipNode*>(s.node(id))->serf().memberlist().num_members();
  };
  s.start_all();
  const auto t_started = std::chrono::steady_clock::now();
  // Every 100 ms of virtual time: does every member know all N yet? (Lives
  // until the run is over: the scheduled copies call it again.)
  std::function<void()> check;
  if (cold) {
    check = [&] {
      for (core::NodeId i = 0; i < nodes; ++i)
        if (member_count(i) != nodes) {
          if (s.now() + 100 * core::kMillisecond <= virtual_ns) s.schedule(s.now() + 100 * core::kMillisecond, check);
          return;
        }
      r.join_storm_ns = s.now();
    };
    s.schedule(100 * core::kMillisecond, check);
  }
  s.run_until(virtual_ns);
  const auto t1 = std::chrono::steady_clock::now();

  r.wall_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.events = s.events_processed();
  r.messages = s.messages().delivered;
  r.events_per_second = r.wall_seconds > 0 ? static_cast<double>(r.events) / r.wall_seconds : 0.0;
  r.messages_per_second = r.wall_seconds > 0 ? static_cast<double>(r.messages) / r.wall_seconds : 0.0;
  r.setup_seconds = std::chrono::duration<double>(t_started - t0).count();
  r.wall_per_virtual_second = std::chrono::duration<double>(t1 - t_started).count() /
                              (static_cast<double>(virtual_ns) / static_cast<double>(core::kSecond));
  r.peak_rss_bytes = peak_rss_bytes();
  r.bytes_per_member = static_cast<double>(r.peak_rss_bytes - std::min(r.peak_rss_bytes, r.rss_before_bytes)) / nodes;
  r.trace_hash = s.trace_hash();
  r.ok = true;
  for (core::NodeId i = 0; i < nodes; ++i)
    if (member_count(i) != nodes) {
      r.ok = false;
      r.error = s.node_name(i) + " knows " + std::to_string(member_count(i)) + " of " + std::to_string(nodes) + " members alive";
      break;
    }
  return r;
}

}  // namespace sim

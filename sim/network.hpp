// The network model, readable in one file (STYLE.md, example 10).
//
// Topology (Boost.Graph): hosts and LAN switches are vertices, links are edges.
// Every host hangs off one LAN switch by an access link; LAN switches of
// different datacenters are joined by WAN links. A message from A to B follows
// the cheapest path of up links (weight: mean latency, plus one per hop) and
// meets, in path order, every element on it:
//   - an access or WAN link: its latency, loss, duplication, reordering and
//     bandwidth (transmission time size*8/bps, FIFO per link direction);
//   - a LAN switch: the LAN's latency, loss, duplication and reordering. This
//     is "one hop": crossing a LAN costs one draw of its latency distribution,
//     so a single-LAN cluster has exactly the configured host-to-host latency.
// Access links are ideal unless degraded by a fault. Paths are cached per
// source and recomputed when a link goes up or down or is degraded.
//
// Partitions are rules over hosts, checked when a message is sent and again
// when it would arrive (a cut cable also drops what is in flight):
//   - groups: hosts in different groups cannot reach each other; hosts not
//     named in any group form one more group together;
//   - one-way blocks: A's packets to B are dropped while B's reach A.
//
// All random draws come from the stream the caller passes (the sender's link
// stream), so a run replays exactly. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "core/types.hpp"
#include "sim/distribution.hpp"

namespace sim {

struct LinkParams {
  Distribution latency = Distribution::constant(0);
  double loss = 0.0;       // probability a message is lost
  double duplicate = 0.0;  // probability a message is delivered twice
  double reorder = 0.0;    // probability a message is held back by reorder_delay
  Distribution reorder_delay = Distribution::constant(0);
  uint64_t bandwidth_bps = 0;  // 0 = unlimited

  // Only a constant latency: crossing it draws nothing.
  bool simple() const { return latency.is_constant() && loss == 0.0 && duplicate == 0.0 && reorder == 0.0 && bandwidth_bps == 0; }
  bool ideal() const { return simple() && latency.a_ns == 0; }
};

enum class DropReason : uint8_t {
  kNone = 0,
  kPartition = 1,    // a partition rule or one-way block
  kLoss = 2,         // random loss on a link or LAN
  kUnreachable = 3,  // no path of up links
  kNodeDown = 4,     // the receiver is crashed
  kSenderDown = 5,   // the sender crashed before the message left
};
const char* drop_reason_name(DropReason r);

struct Transit {
  DropReason drop = DropReason::kNone;
  core::Time arrive = 0;
  bool duplicated = false;
  core::Time duplicate_arrive = 0;
};

class Network {
 public:
  // --- building (before the run) ---
  // Adds a LAN (a switch vertex); returns its index.
  uint32_t add_lan(std::string name, const LinkParams& lan);
  // Hosts must be added in id order 0, 1, 2, ...
  void add_host(core::NodeId host, uint32_t lan);
  // Joins two LANs; returns the link's index.
  uint32_t add_wan_link(uint32_t lan_a, uint32_t lan_b, const LinkParams& params);

  uint32_t host_count() const { return static_cast<uint32_t>(host_lan_.size()); }
  uint32_t lan_count() const { return static_cast<uint32_t>(lans_.size()); }
  uint32_t lan_of(core::NodeId host) const { return host_lan_[host]; }
  const std::string& lan_name(uint32_t lan) const { return lans_[lan].name; }
  // The WAN link joining two LANs, or UINT32_MAX.
  uint32_t wan_link(uint32_t lan_a, uint32_t lan_b) const;

  // --- faults ---
  void partition(const std::vector<std::vector<core::NodeId>>& groups);
  void block(core::NodeId from, core::NodeId to);
  void heal();  // clears groups and blocks
  bool partitioned() const { return !group_.empty() || any_block_; }
  // Sets a host's access link as configured (restore_host returns to it);
  // used for the NIC bandwidth of `network.bandwidth`.
  void configure_host(core::NodeId host, const LinkParams& params);
  void degrade_host(core::NodeId host, const LinkParams& params);
  void restore_host(core::NodeId host);
  void degrade_lan(uint32_t lan, const LinkParams& params);
  void restore_lan(uint32_t lan);
  void degrade_wan(uint32_t link, const LinkParams& params);
  void restore_wan(uint32_t link);
  void set_wan_up(uint32_t link, bool up);

  // --- per message ---
  bool blocked(core::NodeId from, core::NodeId to) const {
    if (!group_.empty() && group_[from] != group_[to]) return true;
    return any_block_ && block_bit(from, to);
  }
  Transit transmit(core::NodeId from, core::NodeId to, uint32_t size_bytes, core::Time now, core::Rng& rng) {
    // Inline fast path: same LAN, ideal access links, a LAN with only a
    // constant latency -- no draws, no path walk.
    const uint32_t lan = host_lan_[from];
    if (lan == host_lan_[to] && lan_simple_[lan] && access_ideal_[from] && access_ideal_[to] && !blocked(from, to)) {
      Transit tr;
      tr.arrive = now + lans_[lan].params.latency.a_ns;
      return tr;
    }
    return transmit_general(from, to, size_bytes, now, rng);
  }
  bool reachable(core::NodeId from, core::NodeId to);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Lan {
    std::string name;
    LinkParams params;
    LinkParams configured;
  };
  struct Link {
    uint32_t u, v;  // vertices: hosts are 0..H-1, LAN k is H + k
    LinkParams params;
    LinkParams configured;
    bool up = true;
    bool wan = false;  // joins two LANs (u, v are LAN indices); else u is a host, v its LAN
    core::Time free_at[2] = {0, 0};  // bandwidth queue per direction (u->v, v->u)
  };

  bool block_bit(core::NodeId from, core::NodeId to) const {
    const uint64_t bit = static_cast<uint64_t>(from) * host_count() + to;
    return (blocks_[bit >> 6] >> (bit & 63)) & 1u;
  }
  Transit transmit_general(core::NodeId from, core::NodeId to, uint32_t size_bytes, core::Time now, core::Rng& rng);
  const std::vector<uint32_t>& route_from(core::NodeId src);
  void invalidate_routes() { routes_.clear(); }
  // Recomputes the same-LAN fast path flags after any parameter change.
  void refresh_fast_path();
  uint32_t vertex_count() const { return host_count() + lan_count(); }
  // Applies one element's latency/loss/dup/reorder/bandwidth to a transit.
  static bool cross(const LinkParams& p, core::Time& t, bool& dup, core::Rng& rng);

  std::vector<Lan> lans_;
  std::vector<uint32_t> host_lan_;
  std::vector<uint32_t> host_access_;  // access link of each host
  std::vector<Link> links_;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> wan_by_lans_;

  // Routes: per source, the link by which each vertex is reached (kNone if
  // unreachable); computed lazily with Dijkstra.
  std::vector<std::vector<uint32_t>> routes_;

  std::vector<uint32_t> group_;  // empty = no group partition
  std::vector<uint64_t> blocks_;  // H*H bits, allocated on first block
  bool any_block_ = false;
  std::vector<uint32_t> path_scratch_;
  // Same-LAN fast path: when both access links are ideal and the LAN is
  // simple, a message arrives after exactly the LAN's constant latency.
  std::vector<uint8_t> access_ideal_;  // per host
  std::vector<uint8_t> lan_simple_;    // per LAN
};

}  // namespace sim

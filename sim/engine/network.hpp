// The network model, readable in one file (STYLE.md, example 10).
//
// Topology (Boost.Graph): hosts and LAN switches are vertices, links are edges.
// Every host hangs off one LAN switch by an access link; LAN switches of
// different datacenters are joined by WAN links. A message from A to B follows
// the cheapest path of up links (weight: mean latency, plus one per hop) and
// meets, in path order, every element on it:
//   - an access or WAN link: its bandwidth (transmission time size*8/bps, see
//     below), then its latency, loss, duplication and reordering;
//   - a LAN switch: the LAN's latency, loss, duplication and reordering. This
//     is "one hop": crossing a LAN costs one draw of its latency distribution,
//     so a single-LAN cluster has exactly the configured host-to-host latency.
// Access links are ideal unless degraded by a fault. Paths are cached per
// source LAN and recomputed when a link goes up or down or is degraded.
//
// Bandwidth: a bandwidth-limited link direction is a FIFO queue that serves
// messages in the order they *reach* it (start = max(arrival, free_at),
// free_at = start + size*8/bps). Its order of service is therefore not known
// when a message is sent: a message sent later may reach the link first. So a
// walk along the path stops at a bandwidth-limited link reached after the
// send time: transmit() returns a Transit whose `hop` names that link and whose
// `arrive` is the time the message reaches it, and the caller calls resume()
// at that time (in event order), which serves the link and walks on, perhaps
// stopping again at a later bandwidth-limited link. Links reached at the
// current time (the sender's own access link) are served at once. Deferred
// messages are routed per hop: after a WAN link the walk follows the route
// current at that moment from the LAN it entered; a message that reaches a
// link that is down, or a LAN from which its destination is unreachable, is
// dropped as unreachable. Each element is crossed with its parameters at the
// time the message reaches it (a degrade in between applies). Paths without
// bandwidth limits never stop: their whole walk happens at send time.
//
// Duplication: a message is duplicated at most once. The first element that
// duplicates it makes a copy, which crosses that element again and everything
// after it with its own draws, starting at the time the message reached that
// element; the copy never duplicates, and later duplication draws of the
// message are made (so the draw sequence does not depend on them) but
// ignored. The message is walked first, then the copy. A copy lost before its
// walk first stops never existed (not counted, not traced); a copy lost at a
// later hop is a drop like any other.
//
// Partitions are rules over hosts, checked when a message is sent and again
// when it would arrive (a cut cable also drops what is in flight), never at
// intermediate hops:
//   - groups: hosts in different groups cannot reach each other; hosts not
//     named in any group form one more group together;
//   - one-way blocks: A's packets to B are dropped while B's reach A.
//
// All random draws come from the stream the caller passes (the sender's link
// stream), at the moment they are made: at send time for the first part of the
// walk, at each hop for the rest. A run replays exactly. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "core/types.hpp"
#include "sim/engine/distribution.hpp"

namespace sim {

struct LinkParams {
  Distribution latency = Distribution::constant(0);
  double loss = 0.0;       // probability a message is lost
  double duplicate = 0.0;  // probability a message is delivered twice
  double reorder = 0.0;    // probability a message is held back by reorder_delay
  Distribution reorder_delay = Distribution::constant(0);
  uint64_t bandwidth_bps = 0;  // 0 = unlimited

  bool operator==(const LinkParams&) const = default;

  // Only a constant latency: crossing it draws nothing.
  bool simple() const { return latency.is_constant() && loss == 0.0 && duplicate == 0.0 && reorder == 0.0 && bandwidth_bps == 0; }
  bool ideal() const { return simple() && latency.a_ns == 0; }
};

// Jepsen's partition nemeses (jepsen.nemesis), over hosts in a given order.
enum class PartitionShape : uint8_t {
  kRandomHalves = 1,    // the first floor(n/2) against the rest
  kMajoritiesRing = 2,  // each host hears only the majority window centred on itself
  kBridge = 3,          // two halves that cannot talk, and one host that talks to both
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

// Where a walk stopped, for a message and for the copy an element made of it.
// `hop` is kNoHop when `arrive` is the delivery time at the receiver; else the
// message reaches bandwidth-limited link direction `hop` at `arrive` and must
// be resumed then. A dropped message with `duplicated` set still has a live
// copy (the copy was made before the message was lost).
struct Transit {
  static constexpr uint32_t kNoHop = UINT32_MAX;
  DropReason drop = DropReason::kNone;
  bool duplicated = false;    // a copy exists: duplicate_arrive, duplicate_hop
  bool may_duplicate = true;  // false once the message has been duplicated; pass it to resume()
  uint32_t hop = kNoHop;
  core::Time arrive = 0;
  core::Time duplicate_arrive = 0;
  uint32_t duplicate_hop = kNoHop;
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
  // Heals, then cuts the hosts in `order` (a shuffle, so that the shape
  // falls on random hosts) into `shape`.
  void shape(PartitionShape shape, const std::vector<core::NodeId>& order);
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
  // The inline fast path: same LAN, ideal access links, a LAN with only a
  // constant latency, not blocked -- no draws, no path walk, no queue. True
  // with the arrival time in `arrive` when it applies (transmit() would give
  // the same answer).
  bool direct(core::NodeId from, core::NodeId to, core::Time now, core::Time& arrive) const {
    const uint32_t lan = host_lan_[from];
    if (lan == host_lan_[to] && lan_simple_[lan] && access_ideal_[from] && access_ideal_[to] && !blocked(from, to)) {
      arrive = now + lans_[lan].params.latency.a_ns;
      return true;
    }
    return false;
  }
  // Sends a message at `now`: walks its path until it is delivered, dropped
  // or reaches a bandwidth-limited link after `now` (see Transit).
  Transit transmit(core::NodeId from, core::NodeId to, uint32_t size_bytes, core::Time now, core::Rng& rng) {
    Transit tr;
    if (direct(from, to, now, tr.arrive)) return tr;
    return transmit_general(from, to, size_bytes, now, rng);
  }
  // transmit() for a message direct() has turned down (the caller tried the
  // fast path first); the answer is transmit()'s.
  Transit transmit_general(core::NodeId from, core::NodeId to, uint32_t size_bytes, core::Time now, core::Rng& rng);
  // Continues a walk that stopped at `hop` (a Transit's hop or duplicate_hop),
  // at the time `now` it reaches that link: serves the link's queue and walks
  // on (kUnreachable if the link is down or `to` cannot be reached from its
  // far end). `may_duplicate` is false for a copy and for a message that has
  // been duplicated already. Pass the sender's stream, as for transmit().
  // Callers resume walks in (time, scheduling) order, as events run.
  Transit resume(core::NodeId to, uint32_t size_bytes, uint32_t hop, bool may_duplicate, core::Time now, core::Rng& rng);
  // Whether the next transmit/resume walks a stream message (core::Message::
  // stream): no loss and no duplication draws on its way.
  void set_stream(bool stream) { stream_ = stream; }
  bool reachable(core::NodeId from, core::NodeId to);
  // The mean one-way latency from `from` to `to` along the current route
  // (each element's latency mean, no queueing), in ns; -1 when unreachable.
  // The truth that network coordinates estimate (half an RTT).
  double mean_latency_ns(core::NodeId from, core::NodeId to);
  // Hop codes fit in 30 bits (the simulation packs two flags beside them).
  static constexpr uint32_t kMaxLinks = 1u << 29;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  bool stream_ = false;
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
    core::Time free_at[2] = {0, 0};  // bandwidth queue per direction (u->v, v->u): when it finishes its last message
    bool ideal = true;               // params.ideal(), kept by refresh_fast_path()
  };

  bool block_bit(core::NodeId from, core::NodeId to) const {
    const uint64_t bit = static_cast<uint64_t>(from) * host_count() + to;
    return (blocks_[bit >> 6] >> (bit & 63)) & 1u;
  }
  const std::vector<uint32_t>& route_from(uint32_t src_lan);

  // A path is a stack of element codes, the next element last: a link is
  // (link << 2) | dir (dir 0: from its u end to its v end), a LAN is
  // (lan << 2) | 2. A hop code is (link << 1) | dir.
  static constexpr uint32_t kLanTag = 2;
  static uint32_t link_code(uint32_t link, bool forward) { return (link << 2) | (forward ? 0u : 1u); }
  static uint32_t lan_code(uint32_t lan) { return (lan << 2) | kLanTag; }
  // Writes into path_scratch_ the elements from LAN `lan` (on top) to host
  // `to` (its access link, at index 0); returns how many, or 0 when to's LAN
  // is unreachable from `lan`. There is room for one more element on top.
  size_t push_route(uint32_t lan, core::NodeId to);
  // Where one walk stopped.
  struct Leg {
    DropReason drop;
    uint32_t hop;
    core::Time t;
  };
  // Where and when an element duplicated the message.
  struct DupPoint {
    size_t index = SIZE_MAX;  // in the path
    core::Time t = 0;
  };
  // Crosses path[top], path[top - 1], ... path[0] from time t. Records the
  // first duplicating element in *dup unless dup is null.
  Leg walk(const uint32_t* path, size_t top, core::Time t, core::Time now, uint32_t size_bytes, core::Rng& rng, DupPoint* dup);
  // Walks the message from path[top], then the copy if one is made. Inlined
  // into its callers: a call less per message on every multi-hop path.
  [[gnu::always_inline]] inline Transit walk_message(const uint32_t* path, size_t top, core::Time t, core::Time now,
                                                     uint32_t size_bytes, core::Rng& rng, bool may_duplicate);
  void invalidate_routes() { routes_.clear(); }
  // Recomputes the same-LAN fast path flags and Link::ideal after any
  // parameter change.
  void refresh_fast_path();
  uint32_t vertex_count() const { return host_count() + lan_count(); }
  // Applies one element's loss/latency/reorder/dup to a transit.
  bool cross(const LinkParams& p, core::Time& t, bool& dup, core::Rng& rng);

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
  std::vector<uint32_t> path_scratch_;  // the path being walked (see link_code), sized by add_lan
  // Same-LAN fast path: when both access links are ideal and the LAN is
  // simple, a message arrives after exactly the LAN's constant latency.
  std::vector<uint8_t> access_ideal_;  // per host
  std::vector<uint8_t> lan_simple_;    // per LAN
};

}  // namespace sim

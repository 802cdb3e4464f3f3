#include "sim/engine/network.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/filtered_graph.hpp>
#include <cassert>
#include <stdexcept>

#include "core/int128.hpp"

namespace sim {

namespace {
struct EdgeProps {
  double weight;
  uint32_t link;
  bool up;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property, EdgeProps>;
// Only links that are up carry routes.
struct UpOnly {
  const Graph* g = nullptr;
  bool operator()(const Graph::edge_descriptor& e) const { return (*g)[e].up; }
};
}  // namespace

const char* drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kNone: return "none";
    case DropReason::kPartition: return "partition";
    case DropReason::kLoss: return "loss";
    case DropReason::kUnreachable: return "unreachable";
    case DropReason::kNodeDown: return "node_down";
    case DropReason::kSenderDown: return "sender_down";
  }
  return "?";
}

uint32_t Network::add_lan(std::string name, const LinkParams& lan) {
  if (!host_lan_.empty()) throw std::logic_error("add every LAN before the first host");
  lans_.push_back({std::move(name), lan, lan});
  // The longest path: every LAN, the links between them, both access links.
  path_scratch_.resize(2 * lans_.size() + 2);
  invalidate_routes();
  refresh_fast_path();
  return static_cast<uint32_t>(lans_.size() - 1);
}

void Network::add_host(core::NodeId host, uint32_t lan) {
  if (host != host_lan_.size()) throw std::logic_error("hosts must be added in id order");
  if (lan >= lans_.size()) throw std::logic_error("no such LAN");
  if (links_.size() >= kMaxLinks) throw std::logic_error("too many links");
  host_lan_.push_back(lan);
  // Vertex numbers of LANs depend on the host count; links store LAN indices
  // for WAN links and are mapped to vertices when routes are computed.
  host_access_.push_back(static_cast<uint32_t>(links_.size()));
  links_.push_back({host, lan, LinkParams{}, LinkParams{}, true, false, {0, 0}});
  // The new host's fast-path flag only (a full refresh per host would make
  // building N hosts cost N^2).
  links_.back().ideal = links_.back().params.ideal();
  access_ideal_.push_back(links_.back().ideal);
  group_.clear();
  blocks_.clear();
  any_block_ = false;
  invalidate_routes();
}

uint32_t Network::add_wan_link(uint32_t lan_a, uint32_t lan_b, const LinkParams& params) {
  if (lan_a >= lans_.size() || lan_b >= lans_.size() || lan_a == lan_b) throw std::logic_error("bad WAN link ends");
  const auto key = std::minmax(lan_a, lan_b);
  if (wan_by_lans_.count(key)) throw std::logic_error("LANs already joined");
  if (links_.size() >= kMaxLinks) throw std::logic_error("too many links");
  const uint32_t id = static_cast<uint32_t>(links_.size());
  links_.push_back({lan_a, lan_b, params, params, true, true, {0, 0}});
  wan_by_lans_[key] = id;
  invalidate_routes();
  refresh_fast_path();
  return id;
}

uint32_t Network::wan_link(uint32_t lan_a, uint32_t lan_b) const {
  auto it = wan_by_lans_.find(std::minmax(lan_a, lan_b));
  return it == wan_by_lans_.end() ? kNone : it->second;
}

void Network::partition(const std::vector<std::vector<core::NodeId>>& groups) {
  group_.assign(host_count(), 0);
  uint32_t g = 1;
  for (const auto& grp : groups) {
    for (core::NodeId n : grp) group_[n] = g;
    ++g;
  }
}

void Network::block(core::NodeId from, core::NodeId to) {
  if (blocks_.empty()) blocks_.assign((static_cast<size_t>(host_count()) * host_count() + 63) / 64, 0);
  const uint64_t bit = static_cast<uint64_t>(from) * host_count() + to;
  blocks_[bit >> 6] |= uint64_t{1} << (bit & 63);
  any_block_ = true;
}

void Network::heal() {
  group_.clear();
  if (any_block_) std::fill(blocks_.begin(), blocks_.end(), 0);
  any_block_ = false;
}

void Network::shape(PartitionShape shape, const std::vector<core::NodeId>& all) {
  const size_t n = all.size();
  heal();
  switch (shape) {
    case PartitionShape::kRandomHalves: {
      // Jepsen partition-random-halves: the first floor(n/2) against the rest.
      std::vector<core::NodeId> a(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n / 2));
      std::vector<core::NodeId> b(all.begin() + static_cast<std::ptrdiff_t>(n / 2), all.end());
      partition({a, b});
      break;
    }
    case PartitionShape::kMajoritiesRing: {
      // Jepsen partition-majorities-ring: with the hosts in a ring, each hears
      // only the majority window centred on itself, so every host sees a
      // majority but no two see the same one. Blocks are on the receiving
      // side, as Jepsen's grudge is.
      const size_t m = n / 2 + 1;
      const size_t left = (m - 1) / 2;
      for (size_t i = 0; i < n; ++i) {
        std::vector<bool> in(n, false);
        for (size_t k = 0; k < m; ++k) in[(i + n - left + k) % n] = true;
        for (size_t j = 0; j < n; ++j)
          if (!in[j]) block(all[j], all[i]);
      }
      break;
    }
    case PartitionShape::kBridge: {
      // Jepsen bridge: two halves that cannot talk, and one host that talks to both.
      const size_t half = (n - 1) / 2;
      for (size_t i = 0; i < half; ++i)
        for (size_t j = half + 1; j < n; ++j) {
          block(all[i], all[j]);
          block(all[j], all[i]);
        }
      break;
    }
  }
}

void Network::refresh_fast_path() {
  access_ideal_.resize(host_count());
  for (Link& l : links_) l.ideal = l.params.ideal();
  for (uint32_t h = 0; h < host_count(); ++h) access_ideal_[h] = links_[host_access_[h]].ideal;
  lan_simple_.resize(lan_count());
  for (uint32_t l = 0; l < lan_count(); ++l) lan_simple_[l] = lans_[l].params.simple();
}

void Network::configure_host(core::NodeId host, const LinkParams& params) {
  Link& l = links_[host_access_[host]];
  l.params = l.configured = params;
  refresh_fast_path();
}

void Network::degrade_host(core::NodeId host, const LinkParams& params) {
  links_[host_access_[host]].params = params;
  refresh_fast_path();
}
void Network::restore_host(core::NodeId host) {
  Link& l = links_[host_access_[host]];
  l.params = l.configured;
  refresh_fast_path();
}
void Network::degrade_lan(uint32_t lan, const LinkParams& params) {
  lans_[lan].params = params;
  invalidate_routes();
  refresh_fast_path();
}
void Network::restore_lan(uint32_t lan) {
  lans_[lan].params = lans_[lan].configured;
  invalidate_routes();
  refresh_fast_path();
}
void Network::degrade_wan(uint32_t link, const LinkParams& params) {
  links_[link].params = params;
  invalidate_routes();
  refresh_fast_path();
}
void Network::restore_wan(uint32_t link) {
  links_[link].params = links_[link].configured;
  invalidate_routes();
  refresh_fast_path();
}
void Network::set_wan_up(uint32_t link, bool up) {
  links_[link].up = up;
  invalidate_routes();
}

// Routes between LANs. Hosts are leaves (one access link each), so the path
// between two hosts is: access link, the LAN route, access link. Dijkstra
// runs on the whole graph from the source host's LAN switch and is cached per
// source LAN; `routes_[lan][v]` is the link by which vertex v is reached.
const std::vector<uint32_t>& Network::route_from(uint32_t src_lan) {
  if (routes_.size() != lans_.size()) routes_.assign(lans_.size(), {});
  std::vector<uint32_t>& route = routes_[src_lan];
  if (!route.empty()) return route;

  const uint32_t H = host_count();
  Graph g(vertex_count());
  for (uint32_t i = 0; i < links_.size(); ++i) {
    const Link& l = links_[i];
    const bool wan = l.wan;
    const uint32_t u = wan ? H + l.u : l.u;
    const uint32_t v = H + l.v;
    // A WAN link carries half the mean latency of each LAN it joins: every
    // transit LAN is then counted once whichever way its links were declared,
    // and the halves of the two end LANs are the same for every path.
    const double w = 1.0 + l.params.latency.mean_ns() +
                     (wan ? (lans_[l.u].params.latency.mean_ns() + lans_[l.v].params.latency.mean_ns()) / 2.0 : 0.0);
    boost::add_edge(u, v, EdgeProps{w, i, l.up}, g);
  }
  boost::filtered_graph<Graph, UpOnly> fg(g, UpOnly{&g});
  std::vector<Graph::vertex_descriptor> pred(vertex_count());
  std::vector<double> dist(vertex_count());
  const uint32_t start = H + src_lan;
  boost::dijkstra_shortest_paths(
      fg, start,
      boost::predecessor_map(boost::make_iterator_property_map(pred.begin(), boost::get(boost::vertex_index, fg)))
          .distance_map(boost::make_iterator_property_map(dist.begin(), boost::get(boost::vertex_index, fg)))
          .weight_map(boost::get(&EdgeProps::weight, g)));
  route.assign(vertex_count(), kNone);
  for (uint32_t v = 0; v < vertex_count(); ++v) {
    if (v == start || pred[v] == v) continue;
    const uint32_t p = static_cast<uint32_t>(pred[v]);
    // Find the (unique) up link joining p and v.
    auto [e, found] = boost::edge(p, v, g);
    if (found) route[v] = g[e].link;
  }
  route[start] = kNone - 1;  // marks the source itself as reached
  return route;
}

bool Network::reachable(core::NodeId from, core::NodeId to) {
  if (blocked(from, to)) return false;
  if (host_lan_[from] == host_lan_[to]) return true;
  return route_from(host_lan_[from])[host_count() + host_lan_[to]] != kNone;
}

bool Network::cross(const LinkParams& p, core::Time& t, bool& dup, core::Rng& rng) {
  // A stream retransmits what the link loses and delivers it once; its
  // latency and reordering delay are drawn as for any message.
  if (p.loss > 0.0 && !stream_ && rng.chance(p.loss)) return false;
  t += p.latency.sample(rng);
  if (p.reorder > 0.0 && rng.chance(p.reorder)) t += p.reorder_delay.sample(rng);
  if (p.duplicate > 0.0 && !stream_ && rng.chance(p.duplicate)) dup = true;
  return true;
}

size_t Network::push_route(uint32_t lan, core::NodeId to) {
  const uint32_t H = host_count();
  const uint32_t lan_dst = host_lan_[to];
  // A path visits each LAN at most once, so add_lan sized the buffer for the
  // longest one; no capacity checks here.
  uint32_t* path = path_scratch_.data();
  size_t n = 0;
  path[n++] = link_code(host_access_[to], false);
  if (lan != lan_dst) {
    const std::vector<uint32_t>& route = route_from(lan);
    uint32_t v = H + lan_dst;
    if (route[v] == kNone) return 0;
    // Walk back from the destination LAN to `lan`: each LAN, then the link by
    // which it is reached (forward when that link is left by its `u` end).
    while (v != H + lan) {
      const uint32_t link = route[v];
      const Link& l = links_[link];
      path[n++] = lan_code(v - H);
      path[n++] = link_code(link, l.v == v - H);
      v = H + (l.u == v - H ? l.v : l.u);
    }
  }
  path[n++] = lan_code(lan);
  return n;
}

Network::Leg Network::walk(const uint32_t* path, size_t top, core::Time t, core::Time now, uint32_t size_bytes, core::Rng& rng,
                          DupPoint* dup) {
  for (size_t i = top + 1; i-- > 0;) {
    const uint32_t code = path[i];
    const core::Time reached = t;
    const LinkParams* p;
    if (code & kLanTag) {
      p = &lans_[code >> 2].params;
    } else {
      Link& l = links_[code >> 2];
      if (l.ideal) continue;
      p = &l.params;
      if (p->bandwidth_bps > 0) {
        // The queue serves messages in the order they reach it, so one that
        // reaches it later than now waits for an event at that time.
        if (t > now) return {DropReason::kNone, ((code >> 2) << 1) | (code & 1), t};
        core::Time& free_at = l.free_at[code & 1];
        const core::Time start = t > free_at ? t : free_at;
        const core::Duration tx = static_cast<core::Duration>(
            (static_cast<core::int128>(size_bytes) * 8 * core::kSecond + p->bandwidth_bps - 1) / p->bandwidth_bps);
        free_at = start + tx;
        t = start + tx;
      }
    }
    bool duplicated = false;
    if (!cross(*p, t, duplicated, rng)) return {DropReason::kLoss, Transit::kNoHop, t};
    if (duplicated && dup && dup->index == SIZE_MAX) {
      dup->index = i;
      dup->t = reached;
    }
  }
  return {DropReason::kNone, Transit::kNoHop, t};
}

Transit Network::walk_message(const uint32_t* path, size_t top, core::Time t, core::Time now, uint32_t size_bytes, core::Rng& rng,
                              bool may_duplicate) {
  Transit tr;
  DupPoint dup;
  const Leg leg = walk(path, top, t, now, size_bytes, rng, may_duplicate ? &dup : nullptr);
  tr.drop = leg.drop;
  tr.arrive = leg.t;
  tr.hop = leg.hop;
  if (dup.index != SIZE_MAX) {
    // The copy re-crosses the duplicating element from the time the message
    // reached it, with its own draws, and never duplicates.
    tr.may_duplicate = false;
    const Leg copy = walk(path, dup.index, dup.t, now, size_bytes, rng, nullptr);
    if (copy.drop == DropReason::kNone) {
      tr.duplicated = true;
      tr.duplicate_arrive = copy.t;
      tr.duplicate_hop = copy.hop;
    }
  } else {
    tr.may_duplicate = may_duplicate;
  }
  return tr;
}

double Network::mean_latency_ns(core::NodeId from, core::NodeId to) {
  if (!reachable(from, to)) return -1.0;
  const auto element = [&](uint32_t code) {
    if (code & kLanTag) return lans_[code >> 2].params.latency.mean_ns();
    const Link& l = links_[code >> 2];
    return l.ideal ? 0.0 : l.params.latency.mean_ns();
  };
  double sum = 0.0;
  const uint32_t lan_src = host_lan_[from];
  if (lan_src == host_lan_[to]) {
    sum += element(link_code(host_access_[from], true)) + element(lan_code(lan_src)) +
           element(link_code(host_access_[to], false));
    return sum;
  }
  const size_t n = push_route(lan_src, to);
  if (n == 0) return -1.0;
  for (size_t i = 0; i < n; ++i) sum += element(path_scratch_[i]);
  return sum + element(link_code(host_access_[from], true));
}

Transit Network::transmit_general(core::NodeId from, core::NodeId to, uint32_t size_bytes, core::Time now, core::Rng& rng) {
  // direct() turned the message down: it is blocked, or it has a path to walk.
  Transit tr;
  if (blocked(from, to)) {
    tr.drop = DropReason::kPartition;
    return tr;
  }
  const uint32_t lan_src = host_lan_[from];
  if (lan_src == host_lan_[to]) {
    if (access_ideal_[from] && access_ideal_[to]) {
      // Only the LAN draws, and there is no queue to wait for: the walk of
      // the one-element path, written out (this is most lossy-LAN traffic).
      const LinkParams& p = lans_[lan_src].params;
      tr.arrive = now;
      bool duplicated = false;
      if (!cross(p, tr.arrive, duplicated, rng)) {
        tr.drop = DropReason::kLoss;
        return tr;
      }
      if (duplicated) {
        tr.may_duplicate = false;
        core::Time t = now;
        bool ignored = false;
        if (cross(p, t, ignored, rng)) {
          tr.duplicated = true;
          tr.duplicate_arrive = t;
        }
      }
      return tr;
    }
    // One hop: the sender's access link, the LAN, the receiver's access link.
    const uint32_t path[3] = {link_code(host_access_[to], false), lan_code(lan_src), link_code(host_access_[from], true)};
    return walk_message(path, 2, now, now, size_bytes, rng, true);
  }
  const size_t n = push_route(lan_src, to);
  if (n == 0) {
    tr.drop = DropReason::kUnreachable;
    return tr;
  }
  path_scratch_[n] = link_code(host_access_[from], true);
  return walk_message(path_scratch_.data(), n, now, now, size_bytes, rng, true);
}

Transit Network::resume(core::NodeId to, uint32_t size_bytes, uint32_t hop, bool may_duplicate, core::Time now,
                        core::Rng& rng) {
  const uint32_t link = hop >> 1;
  const bool forward = (hop & 1) == 0;
  const Link& l = links_[link];
  size_t n = 0;
  if (l.wan) {
    // Routed per hop: on from the LAN at the link's far end, by the route of
    // the moment. A link that went down meanwhile carries nothing.
    if (l.up) n = push_route(forward ? l.v : l.u, to);
    if (n == 0) {
      Transit tr;
      tr.drop = DropReason::kUnreachable;
      tr.may_duplicate = may_duplicate;
      return tr;
    }
  } else {
    // The receiver's access link, the last element (the sender's own is
    // always reached at the send time and never waits).
    assert(l.u == to && !forward);
  }
  path_scratch_[n] = link_code(link, forward);
  return walk_message(path_scratch_.data(), n, now, now, size_bytes, rng, may_duplicate);
}

}  // namespace sim

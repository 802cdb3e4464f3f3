// A node's Vivaldi client (hashicorp/serf v0.9.5, coordinate/client.go): the
// node's own coordinate, moved by each RTT observation of another node.
//
// update(peer, peer's coordinate, rtt) does, in serf's order:
//   1. refuse an incompatible or invalid coordinate, or an rtt outside
//      [0, 10 s] (expected input errors: returned as a Status, nothing
//      changes);
//   2. latency filter: the rtt joins the peer's last latency_filter_size
//      samples and Vivaldi sees their median;
//   3. Vivaldi: error and coordinate move toward agreement with that
//      median, weighted by the two nodes' errors;
//   4. adjustment: the mean of the last adjustment_window_size (rtt - raw
//      distance) samples, halved (each end of a pair carries half);
//   5. gravity: a pull toward the origin of (distance / gravity_rho)^2, so
//      that the whole system does not drift away;
//   6. a coordinate that has become NaN or infinite is reset to the origin
//      (stats().resets counts it).
//
// Ownership and size: a Client owns its state and is meant to exist once per
// cluster member (10,000 in a large run). Its fixed part is under 512 bytes
// with the default config (about 290 inline + the adjustment window); the latency
// filter adds 5 + 8 x latency_filter_size bytes (29 by default, up to a
// quarter more while its arrays grow) per peer observed and not forgotten,
// in flat sorted arrays with no per-peer allocation. forget_node drops a
// peer, as serf does when a member leaves.
//
// Deterministic: randomness only from the Rng passed to update(), no
// iteration over unordered containers. Not thread-safe (serf's mutex is left
// out: one client belongs to one node of a single-threaded simulation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/coordinate/config.hpp"
#include "core/coordinate/coordinate.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace core::coordinate {

enum class Status : uint8_t {
  kOk = 0,
  kDimensionalityConflict = 1,  // serf: "dimensions aren't compatible"
  kInvalidCoordinate = 2,       // serf: "coordinate is invalid"
  kRttOutOfRange = 3,           // serf: "round trip time not in valid range"
};
// serf's error text for each status ("ok" for kOk).
const char* status_message(Status s);

struct ClientStats {
  // The coordinate became invalid and was reset to the origin.
  uint64_t resets = 0;
  // Observations of an RTT of exactly 0 (serf's serf.coordinate.zero-rtt
  // metric; seen with coarse clocks, and handled like any other sample).
  uint64_t zero_rtts = 0;

  bool operator==(const ClientStats&) const = default;
};

// A moving median of the last `size` RTT samples per peer (serf's
// latencyFilter). Peers sit in flat arrays in the order they were first
// seen, found through a hash index that is only looked up, never iterated,
// so nothing depends on hash order; a new peer is appended, a forgotten one
// replaced by the last.
class LatencyFilter {
 public:
  // 1 <= size <= Config::kMaxLatencyFilterSize.
  explicit LatencyFilter(uint32_t size);

  // Records `rtt_seconds` for `peer` (dropping its oldest sample if it has
  // `size` already) and returns the median of its samples: the middle one,
  // or the upper of the two middle ones for an even count.
  double observe(NodeId peer, double rtt_seconds);
  // Drops everything kept for `peer` (nothing if it has no samples).
  void forget(NodeId peer);

  size_t peer_count() const { return peers_.size(); }
  // Heap bytes held (capacities), for memory accounting.
  size_t heap_bytes() const;

 private:
  uint32_t size_;
  std::unordered_map<NodeId, uint32_t> index_;  // peer -> slot
  std::vector<NodeId> peers_;    // by slot
  std::vector<uint8_t> counts_;  // samples held, per peer, 1..size_
  std::vector<double> samples_;  // size_ slots per peer, oldest first
};

class Client {
 public:
  // serf's maxRTT: longer observations are refused.
  static constexpr Duration kMaxRtt = 10 * kSecond;

  // `config` must be valid (Config::validate() empty): CORE_CHECKed. The
  // client starts at the origin (Coordinate(config)).
  explicit Client(const Config& config);

  const Config& config() const { return config_; }
  const Coordinate& coordinate() const { return coord_; }
  // Forces the coordinate (e.g. one restored from a snapshot). Refuses an
  // incompatible or invalid one and then changes nothing.
  Status set_coordinate(const Coordinate& coord);

  // One observation: `rtt` to `node`, whose coordinate is `other`. See the
  // top of the file. `rng` is drawn from only when the client's coordinate
  // coincides with `other` or with the origin.
  Status update(NodeId node, const Coordinate& other, Duration rtt, core::Rng& rng);

  // The estimated RTT to `other` (same dimensionality: CORE_CHECKed).
  Duration distance_to(const Coordinate& other) const { return coord_.distance_to(other); }

  // Drops the latency samples kept for `node` (it left the cluster).
  void forget_node(NodeId node) { filter_.forget(node); }

  const ClientStats& stats() const { return stats_; }
  const LatencyFilter& latency_filter() const { return filter_; }
  // sizeof(Client) plus the heap it holds.
  size_t memory_bytes() const;

 private:
  Status check(const Coordinate& coord) const;
  void update_vivaldi(const Coordinate& other, double rtt_seconds, core::Rng& rng);
  void update_adjustment(const Coordinate& other, double rtt_seconds);
  void update_gravity(core::Rng& rng);

  Config config_;
  Coordinate coord_;
  // A ring of adjustment_window_size samples, zero until written (serf's
  // adjustmentSamples: the mean divides by the full window from the start).
  std::vector<double> adjustment_samples_;
  uint32_t adjustment_index_ = 0;
  LatencyFilter filter_;
  ClientStats stats_;
};

}  // namespace core::coordinate

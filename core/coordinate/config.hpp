// Parameters of the Vivaldi network-coordinate algorithm, with serf's
// DefaultConfig() values (hashicorp/serf v0.9.5, coordinate/config.go).
//
// The papers behind the knobs (named as config.go names them):
//   [1] Dabek et al., "Vivaldi: A decentralized network coordinate system",
//       SIGCOMM 2004 (the error and movement factors CE, CC);
//   [2] Ledlie, Gardner, Seltzer, "Network Coordinates in the Wild", NSDI
//       2007 (8 dimensions plus a height, the latency filter, gravity);
//   [3] Lee et al., "On suitability of Euclidean embedding for host-based
//       network coordinate systems", ToN 2010 (the adjustment term).
//
// Validate once at the boundary (validate()); Client assumes a valid Config.
// A plain value: copy it freely.
#pragma once

#include <cstdint>
#include <string>

namespace core::coordinate {

struct Config {
  // Coordinates keep their vector inline (no heap), so the dimensionality
  // has a ceiling; serf's only rule is "> 0" and everything it ships uses 8.
  static constexpr uint32_t kMaxDimensionality = 8;
  // The latency filter keeps a byte-sized sample count per peer.
  static constexpr uint32_t kMaxLatencyFilterSize = 255;

  // Euclidean dimensions; a non-Euclidean height comes on top [2].
  uint32_t dimensionality = 8;
  // A fresh node's error, and the ceiling of every node's error.
  double vivaldi_error_max = 1.5;
  // How much one observation can move a node's error estimate [1].
  double vivaldi_ce = 0.25;
  // How much one observation can move a node's coordinate [1].
  double vivaldi_cc = 0.25;
  // Samples of (rtt - raw distance) averaged into the adjustment term [3];
  // 0 turns the adjustment off.
  uint32_t adjustment_window_size = 20;
  // Seconds. Heights stay at least this, so the height term never vanishes;
  // small against real distances.
  double height_min = 10.0e-6;
  // RTT samples kept per peer; Vivaldi sees their median, which rides out a
  // single slow probe [2].
  uint32_t latency_filter_size = 3;
  // Seconds. Gravity toward the origin has force (distance / rho)^2, so it
  // only matters for coordinates that have drifted far [2].
  double gravity_rho = 150.0;

  bool operator==(const Config&) const = default;

  // Empty when valid, else what is wrong. serf's NewClient checks only
  // dimensionality > 0; a latency filter of 0 samples makes serf index an
  // empty slice, so it is refused here too.
  std::string validate() const {
    if (dimensionality == 0) return "dimensionality must be >0";
    if (dimensionality > kMaxDimensionality) return "dimensionality must be <= 8";
    if (latency_filter_size == 0) return "latency_filter_size must be >0";
    if (latency_filter_size > kMaxLatencyFilterSize) return "latency_filter_size must be <= 255";
    return {};
  }
};

}  // namespace core::coordinate

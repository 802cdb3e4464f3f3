// A Vivaldi network coordinate (hashicorp/serf v0.9.5, coordinate/coordinate.go):
// a point in Euclidean space plus a height, an error estimate and an
// adjustment. All lengths are seconds of round-trip time, as in serf.
//
// The estimated RTT between two coordinates a and b is
//   |a.vec - b.vec| + a.height + b.height             (raw_distance_to)
// plus a.adjustment + b.adjustment when that sum stays positive
// (distance_to). The height models a node's access link, which every path
// to the node crosses; the adjustment absorbs what the embedding gets
// systematically wrong around the node [3 in config.hpp].
//
// A plain value (96 bytes, no heap): the vector lives inline, with room for
// Config::kMaxDimensionality components, so copies are cheap and a
// coordinate can ride in a message as it is. Components past
// dimensionality() are always zero.
//
// Mixing dimensionalities is a bug, not an input error: the operations on
// two coordinates CORE_CHECK is_compatible_with (serf panics with
// DimensionalityConflictError). Callers that take coordinates from the
// network check first (Client::update does).
//
// Randomness: only apply_force draws, and only when the two points coincide
// (it must then pick a direction); the caller passes the stream.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/coordinate/config.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace core::coordinate {

// Go's time.Duration.Seconds(): whole seconds plus the remainder, so that a
// Duration converts exactly as serf converts it.
double seconds_of(Duration d);
// Go's time.Duration(seconds * 1e9): truncates toward zero. Values out of
// the int64 range saturate, and NaN gives kNever (Go's conversion of those is
// left to the hardware).
Duration duration_from_seconds(double seconds);

// Below this (seconds) two points count as coinciding.
inline constexpr double kZeroThreshold = 1.0e-6;

class Coordinate {
 public:
  // serf's NewCoordinate: the origin, with the largest error and the
  // minimum height.
  explicit Coordinate(const Config& config);

  uint32_t dimensionality() const { return dimensionality_; }
  std::span<double> vec() { return {vec_.data(), dimensionality_}; }
  std::span<const double> vec() const { return {vec_.data(), dimensionality_}; }

  // False if any component is NaN or infinite.
  bool is_valid() const;
  bool is_compatible_with(const Coordinate& other) const { return dimensionality_ == other.dimensionality_; }

  // This coordinate moved `force` seconds along the unit vector from `other`
  // to this one (away from `other` for a positive force); when the points
  // are apart, the height grows by force * (height + other.height) / distance
  // and stays >= config.height_min. Coinciding points (see unit_vector_at)
  // leave the height alone. `other` may be this coordinate.
  Coordinate apply_force(const Config& config, double force, const Coordinate& other, core::Rng& rng) const;

  // The estimated RTT, adjustments included (see the top of the file).
  Duration distance_to(const Coordinate& other) const;
  // Seconds, without the adjustments.
  double raw_distance_to(const Coordinate& other) const;

  bool operator==(const Coordinate&) const = default;

  double error;       // dimensionless confidence; lower is better
  double adjustment;  // seconds
  double height;      // seconds, >= Config::height_min once moved by a force

 private:
  std::array<double, Config::kMaxDimensionality> vec_{};
  uint32_t dimensionality_;
};

// Euclidean length of a - b (equal sizes).
double magnitude_of_difference(std::span<const double> a, std::span<const double> b);

// serf's unitVectorAt: writes into `unit` the unit vector pointing at `a`
// from `b` and returns |a - b|. When they coincide (|a - b| <=
// kZeroThreshold) the direction is random -- each component rng.unit() - 0.5,
// normalised -- and the result is 0; should even that vector be too short,
// the first axis. All three spans have the same size.
double unit_vector_at(std::span<const double> a, std::span<const double> b, std::span<double> unit, core::Rng& rng);

}  // namespace core::coordinate

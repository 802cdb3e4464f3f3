#include "core/coordinate/coordinate.hpp"

#include <cmath>
#include <limits>

#include "core/check.hpp"

namespace core::coordinate {

namespace {
constexpr double kSecondsToNanoseconds = 1.0e9;
// 2^63: the first double past the int64 range.
constexpr double kTwoTo63 = 9223372036854775808.0;
}  // namespace

double seconds_of(Duration d) {
  const Duration whole = d / kSecond;
  const Duration rest = d % kSecond;
  return static_cast<double>(whole) + static_cast<double>(rest) / 1e9;
}

Duration duration_from_seconds(double seconds) {
  const double ns = seconds * kSecondsToNanoseconds;
  if (std::isnan(ns)) return kNever;
  if (ns >= kTwoTo63) return std::numeric_limits<Duration>::max();
  if (ns <= -kTwoTo63) return std::numeric_limits<Duration>::min();
  return static_cast<Duration>(ns);
}

Coordinate::Coordinate(const Config& config)
    : error(config.vivaldi_error_max),
      adjustment(0.0),
      height(config.height_min),
      dimensionality_(config.dimensionality) {
  CORE_CHECK(dimensionality_ >= 1 && dimensionality_ <= Config::kMaxDimensionality,
             "coordinate dimensionality out of range");
}

bool Coordinate::is_valid() const {
  for (const double v : vec()) {
    if (!std::isfinite(v)) return false;
  }
  return std::isfinite(error) && std::isfinite(adjustment) && std::isfinite(height);
}

double magnitude_of_difference(std::span<const double> a, std::span<const double> b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - b[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

double unit_vector_at(std::span<const double> a, std::span<const double> b, std::span<double> unit, core::Rng& rng) {
  const double mag = magnitude_of_difference(a, b);
  if (mag > kZeroThreshold) {
    // Scaled by the reciprocal, as serf does, so results match it bit for bit.
    const double inv = 1.0 / mag;
    for (size_t i = 0; i < unit.size(); ++i) unit[i] = (a[i] - b[i]) * inv;
    return mag;
  }
  // Coinciding points give no direction; any will do, but it must differ
  // between nodes, or nodes that start together would move together forever.
  for (double& u : unit) u = rng.unit() - 0.5;
  double sum = 0.0;
  for (const double u : unit) sum += u * u;
  const double random_mag = std::sqrt(sum);
  if (random_mag > kZeroThreshold) {
    const double inv = 1.0 / random_mag;
    for (double& u : unit) u *= inv;
    return 0.0;
  }
  for (double& u : unit) u = 0.0;
  unit[0] = 1.0;
  return 0.0;
}

Coordinate Coordinate::apply_force(const Config& config, double force, const Coordinate& other, core::Rng& rng) const {
  CORE_CHECK(is_compatible_with(other), "coordinate dimensionality does not match");
  std::array<double, Config::kMaxDimensionality> unit{};
  const std::span<double> u(unit.data(), dimensionality_);
  const double mag = unit_vector_at(vec(), other.vec(), u, rng);

  Coordinate moved = *this;
  for (uint32_t i = 0; i < dimensionality_; ++i) moved.vec_[i] = vec_[i] + u[i] * force;
  if (mag > kZeroThreshold) {
    const double h = (height + other.height) * force / mag + height;
    // Written so that a NaN height stays NaN (and is caught by is_valid),
    // as Go's math.Max does.
    moved.height = h < config.height_min ? config.height_min : h;
  }
  return moved;
}

double Coordinate::raw_distance_to(const Coordinate& other) const {
  CORE_CHECK(is_compatible_with(other), "coordinate dimensionality does not match");
  return magnitude_of_difference(vec(), other.vec()) + height + other.height;
}

Duration Coordinate::distance_to(const Coordinate& other) const {
  double dist = raw_distance_to(other);
  // A negative adjustment sum may not make the estimate negative; serf then
  // falls back to the raw distance rather than clamping.
  const double adjusted = dist + adjustment + other.adjustment;
  if (adjusted > 0.0) dist = adjusted;
  return duration_from_seconds(dist);
}

}  // namespace core::coordinate

// Procedures of serf's coordinate performance tests
// (coordinate/performance_test.go), shared by the pure tests (tests/core)
// and their network versions (tests/sim): a simulation run with its error
// against the truth, and the drift test, in which four 2-dimensional
// clients start off centre in the first quadrant, settle for 1,000 cycles,
// then run 10,000 more, and gravity must bring the middle of their bounding
// box towards the origin.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <numbers>
#include <vector>

#include "core/coordinate/client.hpp"
#include "core/coordinate/coordinate.hpp"
#include "core/coordinate/phantom.hpp"
#include "core/random.hpp"

namespace coordinate_test {

// serf's Simulate over `truth` for `cycles` with a fresh stream of `seed`,
// then its Evaluate (printed, so that a drift in the figures shows).
inline core::coordinate::ErrorStats run_and_evaluate(std::vector<core::coordinate::Client>& clients,
                                                     const core::coordinate::TruthMatrix& truth, uint32_t cycles,
                                                     uint64_t seed) {
  core::Rng rng(seed);
  core::coordinate::simulate(clients, truth, cycles, rng);
  const core::coordinate::ErrorStats stats = core::coordinate::evaluate(clients, truth);
  WARN(std::setprecision(9) << "error avg=" << stats.error_avg << " max=" << stats.error_max);
  return stats;
}

inline constexpr uint32_t kDriftNodes = 4;

// All pairs `dist` apart, except the even pair (0, 2): sqrt(2) x dist.
inline core::coordinate::TruthMatrix drift_truth(core::Duration dist) {
  core::coordinate::TruthMatrix truth(kDriftNodes);
  for (uint32_t i = 0; i < kDriftNodes; ++i)
    for (uint32_t j = i + 1; j < kDriftNodes; ++j) {
      const bool diagonal = i % 2 == 0 && j % 2 == 0;
      truth.set(i, j, diagonal ? static_cast<core::Duration>(std::numbers::sqrt2 * static_cast<double>(dist)) : dist);
    }
  return truth;
}

// serf's "surgery": its code puts 2 and 3 on the same corner (dist, dist)
// although its picture puts 3 at (dist, 0); the code's placement is kept.
// False if a client refused its coordinate.
inline bool drift_place(std::vector<core::coordinate::Client>& clients, core::Duration dist) {
  const double d = core::coordinate::seconds_of(dist);
  const double start[kDriftNodes][2] = {{0.0, 0.0}, {0.0, d}, {d, d}, {d, d}};
  for (uint32_t i = 0; i < kDriftNodes; ++i) {
    core::coordinate::Coordinate c = clients[i].coordinate();
    c.vec()[0] = start[i][0];
    c.vec()[1] = start[i][1];
    if (clients[i].set_coordinate(c) != core::coordinate::Status::kOk) return false;
  }
  return true;
}

// How far the middle of the clients' bounding box is from the origin.
inline double centre_error(const std::vector<core::coordinate::Client>& clients) {
  double lo[2] = {clients[0].coordinate().vec()[0], clients[0].coordinate().vec()[1]};
  double hi[2] = {lo[0], lo[1]};
  for (const core::coordinate::Client& c : clients)
    for (uint32_t k = 0; k < 2; ++k) {
      lo[k] = std::min(lo[k], c.coordinate().vec()[k]);
      hi[k] = std::max(hi[k], c.coordinate().vec()[k]);
    }
  const double mid[2] = {lo[0] + (hi[0] - lo[0]) / 2, lo[1] + (hi[1] - lo[1]) / 2};
  return std::sqrt(mid[0] * mid[0] + mid[1] * mid[1]);
}

struct DriftResult {
  double baseline = 0.0;  // centre error after settling
  double after = 0.0;     // and after ten times as long
};

// Settle, take a baseline, then let gravity work for ten times as long; a
// fresh stream of `seed` each time, as serf reseeds before each Simulate.
inline DriftResult run_drift(std::vector<core::coordinate::Client>& clients, const core::coordinate::TruthMatrix& truth,
                             uint64_t seed) {
  DriftResult r;
  core::Rng settle(seed);
  core::coordinate::simulate(clients, truth, 1000, settle);
  r.baseline = centre_error(clients);
  core::Rng more(seed);
  core::coordinate::simulate(clients, truth, 10000, more);
  r.after = centre_error(clients);
  return r;
}

}  // namespace coordinate_test

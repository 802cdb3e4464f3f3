#include "core/coordinate/phantom.hpp"

#include <cmath>
#include <numbers>

#include "core/check.hpp"

namespace core::coordinate {

std::vector<Client> generate_clients(uint32_t nodes, const Config& config) {
  std::vector<Client> clients;
  clients.reserve(nodes);
  for (uint32_t i = 0; i < nodes; ++i) clients.emplace_back(config);
  return clients;
}

TruthMatrix generate_line(uint32_t nodes, Duration spacing) {
  TruthMatrix truth(nodes);
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) truth.set(i, j, static_cast<Duration>(j - i) * spacing);
  }
  return truth;
}

TruthMatrix generate_grid(uint32_t nodes, Duration spacing) {
  TruthMatrix truth(nodes);
  const uint32_t side = static_cast<uint32_t>(std::sqrt(static_cast<double>(nodes)));
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) {
      const double dx = static_cast<double>(j % side) - static_cast<double>(i % side);
      const double dy = static_cast<double>(j / side) - static_cast<double>(i / side);
      const double dist = std::sqrt(dx * dx + dy * dy);
      truth.set(i, j, static_cast<Duration>(dist * static_cast<double>(spacing)));
    }
  }
  return truth;
}

TruthMatrix generate_split(uint32_t nodes, Duration lan, Duration wan) {
  TruthMatrix truth(nodes);
  // serf's split: the first site is 0..split inclusive.
  const uint32_t split = nodes / 2;
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) {
      const bool across = (i <= split) != (j <= split);
      truth.set(i, j, across ? lan + wan : lan);
    }
  }
  return truth;
}

TruthMatrix generate_circle(uint32_t nodes, Duration radius) {
  TruthMatrix truth(nodes);
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) {
      if (i == 0) {
        truth.set(i, j, 2 * radius);
        continue;
      }
      const double t1 = 2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(nodes);
      const double t2 = 2.0 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(nodes);
      const double dx = std::cos(t2) - std::cos(t1);
      const double dy = std::sin(t2) - std::sin(t1);
      const double dist = std::sqrt(dx * dx + dy * dy);
      truth.set(i, j, static_cast<Duration>(dist * static_cast<double>(radius)));
    }
  }
  return truth;
}

TruthMatrix generate_random(uint32_t nodes, Duration mean, Duration deviation, core::Rng& rng) {
  TruthMatrix truth(nodes);
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) {
      const double rtt_seconds = rng.normal(0.0, 1.0) * seconds_of(deviation) + seconds_of(mean);
      truth.set(i, j, duration_from_seconds(rtt_seconds));
    }
  }
  return truth;
}

void simulate(std::span<Client> clients, const TruthMatrix& truth, uint32_t cycles, core::Rng& rng) {
  const uint32_t nodes = static_cast<uint32_t>(clients.size());
  CORE_CHECK(truth.nodes() == nodes, "truth matrix and clients differ in size");
  for (uint32_t cycle = 0; cycle < cycles; ++cycle) {
    for (uint32_t i = 0; i < nodes; ++i) {
      const auto j = static_cast<uint32_t>(rng.below(nodes));
      if (j == i) continue;
      // Errors (an rtt over 10 s, say) are ignored, as serf's Simulate does.
      (void)clients[i].update(j, clients[j].coordinate(), truth.at(i, j), rng);
    }
  }
}

ErrorStats evaluate(std::span<const Client> clients, const TruthMatrix& truth) {
  const uint32_t nodes = static_cast<uint32_t>(clients.size());
  CORE_CHECK(truth.nodes() == nodes, "truth matrix and clients differ in size");
  ErrorStats stats;
  uint64_t count = 0;
  for (uint32_t i = 0; i < nodes; ++i) {
    for (uint32_t j = i + 1; j < nodes; ++j) {
      const double estimate = seconds_of(clients[i].distance_to(clients[j].coordinate()));
      const double actual = seconds_of(truth.at(i, j));
      const double error = std::fabs(estimate - actual) / actual;
      if (error > stats.error_max || std::isnan(error)) stats.error_max = error;
      stats.error_avg += error;
      ++count;
    }
  }
  if (count > 0) stats.error_avg /= static_cast<double>(count);
  return stats;
}

}  // namespace core::coordinate

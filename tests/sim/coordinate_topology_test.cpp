// serf's coordinate performance topologies (hashicorp/serf v0.9.5,
// coordinate/performance_test.go) rebuilt as sim::Network layouts: the truth
// RTTs come from the network model, not from phantom.go's formulas, and the
// coordinates must meet serf's bounds over them.
//
// Layouts (all latencies constant, access links ideal unless said; one-way
// latency = RTT / 2):
//   line   -- one LAN per node, a chain of WAN links of spacing/2: the
//             shortest path between nodes i and j crosses |i - j| links.
//   split  -- two LANs (nodes 0..12 and 13..24, serf's split) of lan/2 each,
//             joined by a WAN link of wan/2: lan/2 + wan/2 + lan/2 per way
//             gives lan + wan across.
//   grid   -- one LAN per grid point, a WAN link between every pair with the
//             Euclidean distance: links between grid neighbours only would
//             give Manhattan distances, which is not serf's truth.
//   height -- the ring nodes as for grid (chords); the centre node sits
//             behind an access link of radius/2 on a LAN radius/2 from every
//             ring LAN, so it is 2 x radius from all of them -- exactly what
//             Vivaldi's height models, and what serf's test expects it to find.
//   drift, random -- one LAN per node, a WAN link per pair.
// A mesh link's one-way latency is RTT / 2 truncated to whole nanoseconds,
// so the measured truth may be up to 1 ns below phantom.go's (checked).
//
// The truth is measured with Network::transmit on a loss-free network: the
// walk draws nothing from constant distributions, so arrive - now is the
// one-way path latency, and RTT = there + back. The seed is the performance
// suite's (tests/core/coordinate_performance_test.cpp explains it).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <numbers>
#include <string>
#include <vector>

#include "core/coordinate/client.hpp"
#include "core/coordinate/config.hpp"
#include "core/coordinate/coordinate.hpp"
#include "core/coordinate/phantom.hpp"
#include "core/random.hpp"
#include "sim/engine/distribution.hpp"
#include "sim/engine/network.hpp"
#include "tests/core/coordinate_checks.hpp"

using core::Duration;
using core::kMillisecond;
using namespace core::coordinate;

namespace {

constexpr uint64_t kSeed = 7;  // the performance suite's

sim::LinkParams constant(Duration one_way) {
  sim::LinkParams p;
  p.latency = sim::Distribution::constant(one_way);
  return p;
}
std::string numbered(const char* prefix, uint32_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// One LAN (of zero latency) per node, host i on LAN i.
sim::Network lan_per_node(uint32_t nodes) {
  sim::Network net;
  for (uint32_t i = 0; i < nodes; ++i) net.add_lan(numbered("site-", i), constant(0));
  for (uint32_t i = 0; i < nodes; ++i) net.add_host(i, i);
  return net;
}
// lan_per_node with a WAN link for every pair carrying half the pair's RTT.
sim::Network mesh(const TruthMatrix& truth) {
  sim::Network net = lan_per_node(truth.nodes());
  for (uint32_t i = 0; i < truth.nodes(); ++i) {
    for (uint32_t j = i + 1; j < truth.nodes(); ++j) net.add_wan_link(i, j, constant(truth.at(i, j) / 2));
  }
  return net;
}

// RTTs between every pair of hosts as the network delivers them.
TruthMatrix measure(sim::Network& net) {
  TruthMatrix truth(net.host_count());
  const auto one_way = [&](core::NodeId from, core::NodeId to) {
    core::Rng untouched(0);
    const sim::Transit t = net.transmit(from, to, 64, 0, untouched);
    REQUIRE(t.drop == sim::DropReason::kNone);
    REQUIRE(t.hop == sim::Transit::kNoHop);
    REQUIRE_FALSE(t.duplicated);
    REQUIRE(untouched.next() == core::Rng(0).next());  // constant latencies draw nothing
    return t.arrive;
  };
  for (uint32_t i = 0; i < net.host_count(); ++i) {
    for (uint32_t j = i + 1; j < net.host_count(); ++j) {
      const Duration there = one_way(i, j), back = one_way(j, i);
      CHECK(there == back);
      truth.set(i, j, there + back);
    }
  }
  return truth;
}

// The largest |a - b| over all pairs i < j (reported with how many differ).
Duration max_difference(const TruthMatrix& a, const TruthMatrix& b) {
  REQUIRE(a.nodes() == b.nodes());
  Duration worst = 0;
  uint32_t differing = 0;
  for (uint32_t i = 0; i < a.nodes(); ++i) {
    for (uint32_t j = i + 1; j < a.nodes(); ++j) {
      const Duration d = a.at(i, j) - b.at(i, j);
      worst = std::max(worst, d < 0 ? -d : d);
      differing += d != 0;
    }
  }
  WARN("network truth vs phantom.go's: " << differing << " pairs differ, by at most " << worst << " ns");
  return worst;
}

ErrorStats run(const Config& config, const TruthMatrix& truth, uint32_t cycles) {
  std::vector<Client> clients = generate_clients(truth.nodes(), config);
  return coordinate_test::run_and_evaluate(clients, truth, cycles, kSeed);
}

}  // namespace

TEST_CASE("coordinate on the network: line (a chain of 10 sites, 5ms per link each way)", "[coordinate][network]") {
  const uint32_t nodes = 10;
  const Duration spacing = 10 * kMillisecond;
  sim::Network net = lan_per_node(nodes);
  for (uint32_t i = 0; i + 1 < nodes; ++i) net.add_wan_link(i, i + 1, constant(spacing / 2));
  const TruthMatrix truth = measure(net);
  CHECK(truth == generate_line(nodes, spacing));

  const ErrorStats stats = run(Config{}, truth, 1000);
  CHECK(stats.error_avg <= 0.0018);
  CHECK(stats.error_max <= 0.0092);
}

TEST_CASE("coordinate on the network: grid (25 sites on a 5x5 grid, 10ms spacing, meshed)", "[coordinate][network]") {
  const uint32_t nodes = 25;
  const Duration spacing = 10 * kMillisecond;
  const TruthMatrix formula = generate_grid(nodes, spacing);
  sim::Network net = mesh(formula);
  const TruthMatrix truth = measure(net);
  CHECK(max_difference(truth, formula) <= 1);

  const ErrorStats stats = run(Config{}, truth, 1000);
  CHECK(stats.error_avg <= 0.0015);
  CHECK(stats.error_max <= 0.022);
}

TEST_CASE("coordinate on the network: split (two LANs of 0.5ms, a 4.5ms WAN link)", "[coordinate][network]") {
  const uint32_t nodes = 25;
  const Duration lan = 1 * kMillisecond, wan = 10 * kMillisecond;
  sim::Network net;
  const uint32_t a = net.add_lan("dc-a", constant(lan / 2));
  const uint32_t b = net.add_lan("dc-b", constant(lan / 2));
  // serf's split puts nodes 0..nodes/2 on the first side.
  for (uint32_t i = 0; i < nodes; ++i) net.add_host(i, i <= nodes / 2 ? a : b);
  net.add_wan_link(a, b, constant(wan / 2 - lan / 2));
  const TruthMatrix truth = measure(net);
  CHECK(truth == generate_split(nodes, lan, wan));

  const ErrorStats stats = run(Config{}, truth, 1000);
  CHECK(stats.error_avg <= 0.000060);
  CHECK(stats.error_max <= 0.00048);
}

TEST_CASE("coordinate on the network: height (a ring of 24 sites; the centre behind a slow access link)",
          "[coordinate][network]") {
  const uint32_t nodes = 25;
  const Duration radius = 100 * kMillisecond;
  const TruthMatrix formula = generate_circle(nodes, radius);
  sim::Network net = lan_per_node(nodes);
  for (uint32_t i = 1; i < nodes; ++i) {
    net.add_wan_link(0, i, constant(radius / 2));
    for (uint32_t j = i + 1; j < nodes; ++j) net.add_wan_link(i, j, constant(formula.at(i, j) / 2));
  }
  net.configure_host(0, constant(radius / 2));
  const TruthMatrix truth = measure(net);
  CHECK(max_difference(truth, formula) <= 1);

  Config config;
  config.dimensionality = 2;
  std::vector<Client> clients = generate_clients(nodes, config);
  core::Rng rng(kSeed);
  simulate(clients, truth, 1000, rng);
  double max_ring_height = 0.0;
  for (uint32_t i = 1; i < nodes; ++i) max_ring_height = std::max(max_ring_height, clients[i].coordinate().height);
  WARN(std::setprecision(9) << "centre height=" << clients[0].coordinate().height
                            << " max ring height=" << max_ring_height);
  CHECK(clients[0].coordinate().height >= 0.97 * seconds_of(radius));
  CHECK(max_ring_height <= 0.03 * seconds_of(radius));
  const ErrorStats stats = evaluate(clients, truth);
  WARN(std::setprecision(9) << "error avg=" << stats.error_avg << " max=" << stats.error_max);
  CHECK(stats.error_avg <= 0.0025);
  CHECK(stats.error_max <= 0.064);
}

TEST_CASE("coordinate on the network: drift (4 meshed sites 500ms apart, gravity recentres)",
          "[coordinate][network]") {
  const Duration dist = 500 * kMillisecond;
  const TruthMatrix formula = coordinate_test::drift_truth(dist);
  sim::Network net = mesh(formula);
  const TruthMatrix truth = measure(net);
  CHECK(max_difference(truth, formula) <= 1);

  Config config;
  config.dimensionality = 2;
  std::vector<Client> clients = generate_clients(coordinate_test::kDriftNodes, config);
  REQUIRE(coordinate_test::drift_place(clients, dist));
  const coordinate_test::DriftResult r = coordinate_test::run_drift(clients, truth, kSeed);
  WARN(std::setprecision(9) << "centre error baseline=" << r.baseline << " after=" << r.after);
  CHECK(r.after <= 0.8 * r.baseline);
}

TEST_CASE("coordinate on the network: random (25 meshed sites, rtt normal 100ms +- 10ms)", "[coordinate][network]") {
  const uint32_t nodes = 25;
  core::Rng truth_rng(kSeed);
  const TruthMatrix formula = generate_random(nodes, 100 * kMillisecond, 10 * kMillisecond, truth_rng);
  sim::Network net = mesh(formula);
  const TruthMatrix truth = measure(net);
  CHECK(max_difference(truth, formula) <= 1);

  const ErrorStats stats = run(Config{}, truth, 1000);
  CHECK(stats.error_avg <= 0.075);
  CHECK(stats.error_max <= 0.33);
}

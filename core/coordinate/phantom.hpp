// Phantom clusters for the coordinate algorithm (hashicorp/serf v0.9.5,
// coordinate/phantom.go): "truth" RTT matrices of simple topologies, a
// simulation that feeds every client observations drawn from a truth matrix,
// and the error of the resulting coordinates against it. serf's performance
// tests are built from these; so is our check that the simulator's network
// model gives the same results (tests/sim/coordinate_topology_test.cpp).
//
// Node i of a phantom cluster is clients[i] and has NodeId i. serf re-seeds
// math/rand inside GenerateRandom and Simulate; here the caller passes the
// stream (seed it the same way each time to repeat a run).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/coordinate/client.hpp"
#include "core/coordinate/config.hpp"
#include "core/random.hpp"
#include "core/types.hpp"

namespace core::coordinate {

// Round-trip times between every pair of nodes, symmetric, zero on the
// diagonal. Dense: nodes^2 entries, for test-sized clusters.
class TruthMatrix {
 public:
  explicit TruthMatrix(uint32_t nodes) : nodes_(nodes), rtt_(static_cast<size_t>(nodes) * nodes, 0) {}

  uint32_t nodes() const { return nodes_; }
  Duration at(uint32_t i, uint32_t j) const { return rtt_[static_cast<size_t>(i) * nodes_ + j]; }
  // Sets both (i, j) and (j, i).
  void set(uint32_t i, uint32_t j, Duration rtt) {
    rtt_[static_cast<size_t>(i) * nodes_ + j] = rtt;
    rtt_[static_cast<size_t>(j) * nodes_ + i] = rtt;
  }

  bool operator==(const TruthMatrix&) const = default;

 private:
  uint32_t nodes_;
  std::vector<Duration> rtt_;  // row-major
};

// `nodes` fresh clients with the same config.
std::vector<Client> generate_clients(uint32_t nodes, const Config& config);

// Nodes on a straight line, `spacing` apart: rtt(i, j) = |i - j| * spacing.
TruthMatrix generate_line(uint32_t nodes, Duration spacing);
// Nodes on a square grid of side floor(sqrt(nodes)), row by row, `spacing`
// apart: rtt is the Euclidean distance times spacing, truncated to whole
// nanoseconds.
TruthMatrix generate_grid(uint32_t nodes, Duration spacing);
// Two sites: nodes 0..nodes/2 (one more than half for an odd count, as in
// serf) and the rest. rtt = lan within a site, lan + wan across.
TruthMatrix generate_split(uint32_t nodes, Duration lan, Duration wan);
// Nodes 1..nodes-1 evenly around a circle of the given radius at angles
// 2*pi*i/nodes, rtt = chord length; node 0 is 2 * radius from every other
// node -- the centre, lifted out of the plane, so it should get a height.
TruthMatrix generate_circle(uint32_t nodes, Duration radius);
// Independent normally distributed rtts per pair: mean + deviation * N(0, 1),
// in seconds, truncated to nanoseconds. Draws nodes*(nodes-1)/2 normals from
// `rng` in pair order (0,1), (0,2), ..., (1,2), ...
TruthMatrix generate_random(uint32_t nodes, Duration mean, Duration deviation, core::Rng& rng);

// `cycles` rounds; in each, every client i in order picks j = rng.below(n)
// and, unless j == i, observes truth(i, j) to j with j's current coordinate.
// The same stream feeds the clients' own draws.
void simulate(std::span<Client> clients, const TruthMatrix& truth, uint32_t cycles, core::Rng& rng);

// serf's Stats: relative errors |estimate - truth| / truth over all pairs
// i < j, the estimate being clients[i].distance_to(clients[j]'s coordinate).
struct ErrorStats {
  double error_max = 0.0;
  double error_avg = 0.0;
};
// Zeros for fewer than two clients (serf divides by a count of zero).
ErrorStats evaluate(std::span<const Client> clients, const TruthMatrix& truth);

}  // namespace core::coordinate

// Deterministic random numbers (DESIGN.md, determinism rule 2).
//
// Every stream in a run is derived from the run's one seed with
// `derive_seed(seed, purpose, id)` and drawn from a `Rng` (xoshiro256**).
// Distributions are written out here, so that results are the same with every
// standard library: std::*_distribution is never used. Floating-point
// distributions use only +, -, *, / and std::log/exp/sqrt/cos/pow of glibc's
// libm, and the build disables floating-point contraction (-ffp-contract=off),
// so g++ and clang++ builds draw identical values.
//
// Unit tests pin the first outputs of each function; a change to any of them
// changes every trace hash and must be deliberate.
#pragma once

#include <cstdint>

namespace core {

// The standard splitmix64 step: advances `state` and returns the next output.
uint64_t splitmix64(uint64_t& state);

// A 64-bit seed for the stream identified by (purpose, id) under `root`.
// `purpose` is a small constant naming the consumer (see StreamPurpose).
uint64_t derive_seed(uint64_t root, uint64_t purpose, uint64_t id);

enum StreamPurpose : uint64_t {
  kStreamNode = 1,        // a node's protocol randomness (core::Env::rng)
  kStreamLink = 2,        // loss/latency/duplication draws of one host's traffic
  kStreamFault = 3,       // fault selectors and shapes
  kStreamStorage = 4,     // a node's fsync latency draws
  kStreamWorkload = 5,    // client workload generators
  kStreamSlow = 6,        // a slow host's processing-delay draws ("slow" fault)
};

// xoshiro256** 1.0 (Blackman & Vigna), seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0);

  uint64_t next();

  // Uniform integer in [0, n) by rejection (no modulo bias). n must be > 0.
  uint64_t below(uint64_t n);
  // Uniform integer in [lo, hi] (inclusive). Requires lo <= hi.
  int64_t range(int64_t lo, int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double unit();
  // True with probability p (p <= 0: never; p >= 1: always). Draws nothing
  // when p is 0 or 1, so a perfect link consumes no randomness.
  bool chance(double p);
  // Exponential with the given mean: -mean * ln(1 - U).
  double exponential(double mean);
  // Normal by the Box-Muller transform (one value per call; no caching, so the
  // stream position never depends on call history parity).
  double normal(double mean, double stddev);
  // exp(normal(mu, sigma)).
  double lognormal(double mu, double sigma);
  // Pareto type I: xm / U^(1/alpha), U in (0, 1].
  double pareto(double xm, double alpha);

 private:
  uint64_t s_[4];
};

}  // namespace core

// Unit tests of core/random: pinned outputs (a change to any of them changes
// every trace hash and must be deliberate), statistical sanity over 10^5
// draws, and edge cases of the stream discipline.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <vector>

#include "core/random.hpp"

using core::Rng;

namespace {
constexpr int kDraws = 100000;

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double stddev_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

// ---------------------------------------------------------------- pinned values

TEST_CASE("random: splitmix64 first outputs for seed 0 and seed 42 are pinned", "[random]") {
  uint64_t s = 0;
  CHECK(core::splitmix64(s) == 0xe220a8397b1dcdafull);  // the published reference value
  CHECK(core::splitmix64(s) == 0x6e789e6aa1b965f4ull);
  CHECK(core::splitmix64(s) == 0x06c45d188009454full);
  CHECK(core::splitmix64(s) == 0xf88bb8a8724c81ecull);
  s = 42;
  CHECK(core::splitmix64(s) == 0xbdd732262feb6e95ull);
  CHECK(core::splitmix64(s) == 0x28efe333b266f103ull);
  CHECK(core::splitmix64(s) == 0x47526757130f9f52ull);
  CHECK(core::splitmix64(s) == 0x581ce1ff0e4ae394ull);
  CHECK(s == 42 + 4 * 0x9E3779B97F4A7C15ull);  // the state advances by the golden gamma per step
}

TEST_CASE("random: Rng::next (xoshiro256**) first outputs for seeds 0 and 42 are pinned", "[random]") {
  Rng a(0);
  CHECK(a.next() == 0x99ec5f36cb75f2b4ull);
  CHECK(a.next() == 0xbf6e1f784956452aull);
  CHECK(a.next() == 0x1a5f849d4933e6e0ull);
  CHECK(a.next() == 0x6aa594f1262d2d2cull);
  Rng b(42);
  CHECK(b.next() == 0x15780b2e0c2ec716ull);
  CHECK(b.next() == 0x6104d9866d113a7eull);
  CHECK(b.next() == 0xae17533239e499a1ull);
  CHECK(b.next() == 0xecb8ad4703b360a1ull);
}

TEST_CASE("random: derive_seed for (seed, purpose, id) is pinned and separates streams", "[random]") {
  CHECK(core::derive_seed(42, core::kStreamNode, 0) == 0x07a6ff7ad3030eccull);
  CHECK(core::derive_seed(42, core::kStreamNode, 1) == 0xa5f315c4f2e1382aull);
  CHECK(core::derive_seed(42, core::kStreamLink, 0) == 0xd9e5967ad6fe1fdcull);
  CHECK(core::derive_seed(0, 0, 0) == 0x238275bc38fcbe91ull);

  // Distinct (purpose, id) pairs under one root give distinct seeds.
  std::set<uint64_t> seen;
  for (uint64_t purpose = 1; purpose <= 6; ++purpose)
    for (uint64_t id = 0; id < 500; ++id) seen.insert(core::derive_seed(42, purpose, id));
  CHECK(seen.size() == 6 * 500);
  // And different roots give different seeds for the same pair.
  CHECK(core::derive_seed(1, core::kStreamNode, 0) != core::derive_seed(2, core::kStreamNode, 0));
}

TEST_CASE("random: first values of below/range/unit/chance are pinned", "[random]") {
  {
    Rng r(7);
    const uint64_t want[] = {4, 4, 8, 4, 4, 1};
    for (uint64_t w : want) CHECK(r.below(10) == w);
  }
  {
    Rng r(7);
    const int64_t want[] = {1, -3, 5, 3, -2, -4};
    for (int64_t w : want) CHECK(r.range(-5, 5) == w);
  }
  {
    Rng r(7);
    CHECK(r.unit() == 0x1.66b1f5ee9df2ep-1);
    CHECK(r.unit() == 0x1.1d70f6593d20ap-2);
    CHECK(r.unit() == 0x1.ade3a6932a58fp-1);
  }
  {
    Rng r(7);
    const bool want[] = {false, true, false, false, false, false, true, true};
    for (bool w : want) CHECK(r.chance(0.5) == w);
  }
  {
    // The full int64 range takes next() as it is.
    Rng r(7);
    CHECK(r.range(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()) == -5523389002881075622);
    CHECK(r.range(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()) == 5142052590334782674);
  }
}

TEST_CASE("random: first values of exponential/normal/lognormal/pareto are pinned (bit-exact)", "[random]") {
  {
    Rng r(7);
    CHECK(r.exponential(2.0) == 0x1.34b59e0821aa1p+1);
    CHECK(r.exponential(2.0) == 0x1.4e9d19b99f074p-1);
    CHECK(r.exponential(2.0) == 0x1.d48ba50201e6ap+1);
  }
  {
    Rng r(7);
    CHECK(r.normal(1.0, 2.0) == 0x1.c48f11ddfaa0ap-2);
    CHECK(r.normal(1.0, 2.0) == 0x1.332b9de5b7ff1p+2);
    CHECK(r.normal(1.0, 2.0) == 0x1.517279b9c2ee5p+2);
  }
  {
    Rng r(7);
    CHECK(r.lognormal(0.0, 0.5) == 0x1.bd5424c262f77p-1);
    CHECK(r.lognormal(0.0, 0.5) == 0x1.4aeebb0e76616p+1);
    CHECK(r.lognormal(0.0, 0.5) == 0x1.747adf7a61f2bp+1);
  }
  {
    Rng r(7);
    CHECK(r.pareto(1.0, 2.0) == 0x1.d3d6f23f6ab3p+0);
    CHECK(r.pareto(1.0, 2.0) == 0x1.2d700682a3eep+0);
    CHECK(r.pareto(1.0, 2.0) == 0x1.3fa0cbe4c4749p+1);
  }
}

TEST_CASE("random: normal draws exactly two uniforms per call (no cached second value)", "[random]") {
  Rng a(11), b(11);
  (void)a.normal(0.0, 1.0);
  (void)b.next();
  (void)b.next();
  CHECK(a.next() == b.next());
}

// ---------------------------------------------------------------- statistics

TEST_CASE("random: below(10) is uniform over 10^5 draws (chi-square)", "[random][stats]") {
  Rng r(12345);
  uint64_t counts[10] = {};
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t x = r.below(10);
    REQUIRE(x < 10);
    ++counts[x];
  }
  const double expected = kDraws / 10.0;
  double chi2 = 0.0;
  for (uint64_t c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
  CHECK(chi2 < 27.9);
}

TEST_CASE("random: below(n) rejects the biased block for n = 3 * 2^62", "[random][stats]") {
  // 2^64 mod n = 2^62: plain modulo would put twice as many draws in the
  // lowest third as in the others.
  const uint64_t n = 3ull << 62;
  Rng r(99);
  int counts[3] = {};
  for (int i = 0; i < 30000; ++i) {
    const uint64_t x = r.below(n);
    REQUIRE(x < n);
    ++counts[x >> 62];
  }
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);
}

TEST_CASE("random: range(lo, hi) stays inside [lo, hi] and hits both ends", "[random][stats]") {
  Rng r(5);
  int64_t lo_seen = 100, hi_seen = -100;
  for (int i = 0; i < 10000; ++i) {
    const int64_t x = r.range(-3, 4);
    REQUIRE(x >= -3);
    REQUIRE(x <= 4);
    lo_seen = std::min(lo_seen, x);
    hi_seen = std::max(hi_seen, x);
  }
  CHECK(lo_seen == -3);
  CHECK(hi_seen == 4);
}

TEST_CASE("random: unit() lies in [0, 1) with mean 1/2", "[random][stats]") {
  Rng r(6);
  std::vector<double> v(kDraws);
  for (double& x : v) {
    x = r.unit();
    REQUIRE(x >= 0.0);
    REQUIRE(x < 1.0);
  }
  CHECK(mean_of(v) == Approx(0.5).margin(0.005));
}

TEST_CASE("random: exponential(2) has mean 2 over 10^5 draws", "[random][stats]") {
  Rng r(1);
  std::vector<double> v(kDraws);
  for (double& x : v) {
    x = r.exponential(2.0);
    REQUIRE(x >= 0.0);
  }
  CHECK(mean_of(v) == Approx(2.0).margin(0.03));  // standard error 0.0063
  CHECK(median_of(v) == Approx(2.0 * std::log(2.0)).margin(0.03));
}

TEST_CASE("random: normal(1, 2) has mean 1 and stddev 2 over 10^5 draws", "[random][stats]") {
  Rng r(2);
  std::vector<double> v(kDraws);
  for (double& x : v) x = r.normal(1.0, 2.0);
  CHECK(mean_of(v) == Approx(1.0).margin(0.03));
  CHECK(stddev_of(v) == Approx(2.0).margin(0.03));
}

TEST_CASE("random: lognormal(mu, sigma) has median e^mu and mean e^(mu + sigma^2/2)", "[random][stats]") {
  Rng r(3);
  std::vector<double> v(kDraws);
  for (double& x : v) {
    x = r.lognormal(1.0, 0.5);
    REQUIRE(x > 0.0);
  }
  CHECK(median_of(v) == Approx(std::exp(1.0)).epsilon(0.01));
  CHECK(mean_of(v) == Approx(std::exp(1.0 + 0.125)).epsilon(0.01));
}

TEST_CASE("random: pareto(xm, 3) is >= xm with mean 1.5 xm and median 2^(1/3) xm", "[random][stats]") {
  Rng r(4);
  std::vector<double> v(kDraws);
  for (double& x : v) {
    x = r.pareto(2.0, 3.0);
    REQUIRE(x >= 2.0);
  }
  CHECK(mean_of(v) == Approx(3.0).epsilon(0.02));
  CHECK(median_of(v) == Approx(2.0 * std::cbrt(2.0)).epsilon(0.01));
}

TEST_CASE("random: chance(p) comes true at rate p over 10^5 draws", "[random][stats]") {
  for (double p : {0.01, 0.3, 0.9}) {
    Rng r(8);
    int hits = 0;
    for (int i = 0; i < kDraws; ++i) hits += r.chance(p) ? 1 : 0;
    const double se = std::sqrt(p * (1 - p) / kDraws);
    CHECK(static_cast<double>(hits) / kDraws == Approx(p).margin(5 * se));
  }
}

// ---------------------------------------------------------------- edge cases

TEST_CASE("random: below(1) == 0 and range(lo, lo) == lo", "[random]") {
  Rng r(9);
  for (int i = 0; i < 100; ++i) {
    CHECK(r.below(1) == 0);
    CHECK(r.range(-7, -7) == -7);
    CHECK(r.range(std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()) ==
          std::numeric_limits<int64_t>::max());
    CHECK(r.range(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min()) ==
          std::numeric_limits<int64_t>::min());
  }
}

TEST_CASE("random: chance(0), chance(1) and out-of-range p draw nothing from the stream", "[random]") {
  Rng a(10), b(10);
  CHECK_FALSE(a.chance(0.0));
  CHECK(a.chance(1.0));
  CHECK_FALSE(a.chance(-0.5));
  CHECK(a.chance(2.0));
  CHECK_FALSE(a.chance(std::numeric_limits<double>::quiet_NaN()));
  for (int i = 0; i < 4; ++i) CHECK(a.next() == b.next());
}

TEST_CASE("random: equal seeds give equal streams; a copied Rng continues identically", "[random]") {
  Rng a(77), b(77), c(78);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    CHECK(x == b.next());
    differs |= x != c.next();
  }
  CHECK(differs);
  Rng copy = a;
  for (int i = 0; i < 10; ++i) CHECK(copy.next() == a.next());
}

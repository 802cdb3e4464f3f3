#include "core/random.hpp"

#include <cmath>

namespace core {

namespace {
constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
constexpr double kTwoPi = 6.283185307179586476925286766559;
}  // namespace

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t derive_seed(uint64_t root, uint64_t purpose, uint64_t id) {
  // Three chained splitmix64 finalisations: distinct (purpose, id) pairs give
  // unrelated seeds, and no pair maps back onto the root stream.
  uint64_t s = root;
  uint64_t a = splitmix64(s);
  s = a ^ (purpose * 0xD1B54A32D192ED03ull);
  uint64_t b = splitmix64(s);
  s = b ^ (id * 0x8CB92BA72F3D8DD7ull);
  return splitmix64(s);
}

Rng::Rng(uint64_t seed) {
  uint64_t s = seed;
  for (auto& w : s_) w = splitmix64(s);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) {
  // Reject the top partial block of 2^64 so that every residue is equally
  // likely: threshold = 2^64 mod n.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = next();
    if (x >= threshold) return x % n;
  }
}

int64_t Rng::range(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(next());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

bool Rng::chance(double p) {
  if (!(p > 0.0)) return false;
  if (p >= 1.0) return true;
  return unit() < p;
}

double Rng::exponential(double mean) { return -mean * std::log(1.0 - unit()); }

double Rng::normal(double mean, double stddev) {
  const double u1 = 1.0 - unit();  // (0, 1]
  const double u2 = unit();
  const double r = std::sqrt(-2.0 * std::log(u1));
  return mean + stddev * r * std::cos(kTwoPi * u2);
}

double Rng::lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

double Rng::pareto(double xm, double alpha) {
  const double u = 1.0 - unit();  // (0, 1]
  return xm / std::pow(u, 1.0 / alpha);
}

}  // namespace core

#include "core/agent/ae_scale.hpp"

#include <bit>
#include <limits>

#include "core/check.hpp"

namespace core::agent {

uint64_t scale_factor(uint64_t nodes) {
  if (nodes <= kScaleThreshold) return 1;
  // ceil(log2(nodes)) - log2(128) + 1, with ceil(log2 n) = bit_width(n - 1) for n >= 2.
  const auto ceil_log2 = static_cast<uint64_t>(std::bit_width(nodes - 1));
  constexpr auto log2_threshold = static_cast<uint64_t>(std::bit_width(kScaleThreshold) - 1);
  static_assert(std::has_single_bit(kScaleThreshold), "ae.go: the threshold is a power of 2");
  return ceil_log2 - log2_threshold + 1;
}

Duration random_stagger(Rng& rng, Duration d) {
  CORE_CHECK(d >= 0, "ae: a stagger base is not negative");
  if (d == 0) return 0;
  return static_cast<Duration>(rng.below(static_cast<uint64_t>(d)));
}

Duration ae_stagger(Rng& rng, uint64_t nodes, Duration d) {
  CORE_CHECK(d >= 0, "ae: a stagger base is not negative");
  const auto f = static_cast<Duration>(scale_factor(nodes));
  CORE_CHECK(d <= std::numeric_limits<Duration>::max() / f, "ae: the scaled stagger base fits");
  return random_stagger(rng, f * d);
}

Duration next_full_sync_delay(Rng& rng, uint64_t nodes, Duration interval) {
  return interval + ae_stagger(rng, nodes, interval);
}

Duration retry_full_sync_delay(Rng& rng, uint64_t nodes, Duration retry) {
  return retry + ae_stagger(rng, nodes, retry);
}

}  // namespace core::agent

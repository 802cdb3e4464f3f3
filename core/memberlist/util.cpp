#include "core/memberlist/util.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"

namespace core::memberlist {

namespace {

// Go's Duration.Seconds(): whole seconds and the nanosecond remainder
// converted separately. Not d / 1e9: that rounds differently for some
// durations, and the result is floored to milliseconds right after.
double go_seconds(Duration d) {
  const Duration whole = d / kSecond;
  const Duration nanos = d % kSecond;
  return static_cast<double>(whole) + static_cast<double>(nanos) / 1e9;
}

}  // namespace

Duration suspicion_timeout(uint32_t suspicion_mult, uint32_t n, Duration probe_interval) {
  const double scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  // Truncation toward zero, as Go's float-to-int conversion; scale >= 1.
  const auto scale_thousandths = static_cast<int64_t>(scale * 1000.0);
  return static_cast<Duration>(suspicion_mult) * scale_thousandths * probe_interval / 1000;
}

uint32_t retransmit_limit(uint32_t retransmit_mult, uint32_t n) {
  const double digits = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return retransmit_mult * static_cast<uint32_t>(digits);
}

Duration push_pull_scale(Duration interval, uint32_t n) {
  constexpr uint32_t kThreshold = 32;  // memberlist pushPullScaleThreshold
  if (n <= kThreshold) return interval;
  const double steps =
      std::ceil(std::log2(static_cast<double>(n)) - std::log2(static_cast<double>(kThreshold)));
  return (static_cast<Duration>(steps) + 1) * interval;
}

Duration remaining_suspicion_time(uint32_t confirmations, uint32_t k, Duration elapsed,
                                  Duration min, Duration max) {
  CORE_CHECK(k >= 1, "remaining_suspicion_time needs k >= 1");
  const double frac = std::log(static_cast<double>(confirmations) + 1.0) /
                      std::log(static_cast<double>(k) + 1.0);
  const double max_s = go_seconds(max);
  const double raw_s = max_s - frac * (max_s - go_seconds(min));
  const Duration timeout =
      std::max(min, static_cast<Duration>(std::floor(1000.0 * raw_s)) * kMillisecond);
  return timeout - elapsed;
}

}  // namespace core::memberlist

#include "core/memberlist/suspicion.hpp"

#include <algorithm>

#include "core/check.hpp"
#include "core/memberlist/util.hpp"

namespace core::memberlist {

Suspicion::Suspicion(NodeId accuser, uint32_t k, Duration min, Duration max, Time start)
    : start_(start),
      // With nobody to wait for, waiting for max would only delay the verdict.
      deadline_(start + (k < 1 ? min : max)),
      min_(min),
      max_(max),
      k_(k),
      accuser_(accuser) {}

bool Suspicion::confirm(NodeId from, Time now) {
  // Once k confirmations are in, the timeout is at min and cannot shrink.
  if (confirmers_.size() >= k_) return false;
  if (from == accuser_) return false;
  const auto pos = std::lower_bound(confirmers_.begin(), confirmers_.end(), from);
  if (pos != confirmers_.end() && *pos == from) return false;
  CORE_CHECK(now >= start_, "suspicion confirmed before it started");
  confirmers_.insert(pos, from);

  const Duration remaining =
      remaining_suspicion_time(confirmations(), k_, now - start_, min_, max_);
  deadline_ = remaining > 0 ? now + remaining : now;
  return true;
}

}  // namespace core::memberlist

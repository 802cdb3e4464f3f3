// Lifeguard's local health score (memberlist v0.2.2 awareness.go; reference
// gossip_ae.md A.8): a node that misses acks and nacks, or has to refute
// accusations about itself, suspects that it is the slow one and stretches
// its probe timing instead of accusing others.
//
// Invariant: 0 <= score() <= max_multiplier - 1, so scale() multiplies by 1
// (healthy) up to max_multiplier. The caller applies memberlist's deltas:
// -1 per successful probe, +missed nacks (or +1) per failed probe, +1 per
// refutation. Only the probe interval and its ack deadline are scaled, never
// ProbeTimeout or suspicion timeouts. Not thread-safe (memberlist needs a
// lock; one simulated node is single-threaded).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/check.hpp"
#include "core/types.hpp"

namespace core::memberlist {

class Awareness {
 public:
  explicit Awareness(int max_multiplier) : max_(max_multiplier) {
    CORE_CHECK(max_multiplier >= 1, "awareness needs max_multiplier >= 1");
  }

  // Deltas beyond either rail are absorbed: a node at the worst score that
  // misses more acks stays there, and a healthy one cannot bank credit.
  void apply_delta(int delta) {
    const int64_t next = static_cast<int64_t>(score_) + delta;
    score_ = static_cast<int>(std::clamp<int64_t>(next, 0, max_ - 1));
  }

  int score() const { return score_; }
  int max_multiplier() const { return max_; }

  Duration scale(Duration timeout) const { return timeout * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace core::memberlist

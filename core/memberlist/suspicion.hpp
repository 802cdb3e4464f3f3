// Lifeguard's suspicion timer (memberlist v0.2.2 suspicion.go; reference
// gossip_ae.md A.5) as a plain value: when a suspected node is due to be
// declared dead, and how independent confirmations pull that moment in.
//
// No clock and no timer inside (STYLE.md, example 4's counter-example): the
// owner arms its own timer at deadline(), re-arms it whenever confirm()
// returns true, and on expiry checks that the node is still suspect with the
// same state change before declaring it dead. A deadline equal to the time
// passed to confirm() means "fire now".
//
// Invariants: confirmations() <= k(); the accuser and every confirmer are
// distinct. deadline() is start() + max() (k >= 1) or start() + min()
// (k = 0) until the first confirmation; each confirmation moves it to
// start() + the decayed timeout (down to start() + min() at k), or to the
// confirmation's time if that moment has already passed.
//
// Memory: a member of a 10,000-node cluster may hold thousands of these at
// once, so the seen-set is a sorted vector of at most k confirmers (the
// accuser kept apart), empty -- no allocation -- until someone confirms.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/types.hpp"

namespace core::memberlist {

class Suspicion {
 public:
  // `accuser` (the suspect message's From) is seen but never counted: our
  // own suspicion gossiped back to us is not independent evidence.
  // k = the confirmations wanted to reach `min` (memberlist: SuspicionMult - 2,
  // or 0 in clusters too small to supply them).
  Suspicion(NodeId accuser, uint32_t k, Duration min, Duration max, Time start);

  // Registers `from` as confirming the suspicion at `now` (>= start()).
  // True when that is new information -- not the accuser, not seen before,
  // and fewer than k confirmations so far; memberlist re-broadcasts the
  // suspect message then. The deadline becomes start() plus the decayed
  // timeout, or `now` if that moment has passed. False changes nothing.
  bool confirm(NodeId from, Time now);

  Time deadline() const { return deadline_; }
  uint32_t confirmations() const { return static_cast<uint32_t>(confirmers_.size()); }
  uint32_t k() const { return k_; }
  Time start() const { return start_; }
  Duration min() const { return min_; }
  Duration max() const { return max_; }

 private:
  Time start_;
  Time deadline_;
  Duration min_;
  Duration max_;
  uint32_t k_;
  NodeId accuser_;
  std::vector<NodeId> confirmers_;  // sorted, size <= k_
};

}  // namespace core::memberlist

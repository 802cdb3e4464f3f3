// serf's Lamport clock (v0.9.5 lamport.go, reference B.3). serf keeps three:
// the member clock (join / leave intents), the event clock (user events)
// and the query clock.
//
// serf's clock is lock-free for its goroutines; ours belongs to one node of
// a single-threaded simulation, so it is a plain counter.
#pragma once

#include <cstdint>

namespace core::serf {

using LamportTime = uint64_t;

class LamportClock {
 public:
  LamportTime time() const { return counter_; }
  // Advances by one and returns the new value.
  LamportTime increment() { return ++counter_; }
  // After seeing `v` elsewhere: an older value changes nothing, otherwise
  // the clock moves to v + 1, one past anything seen.
  void witness(LamportTime v) {
    if (v < counter_) return;
    counter_ = v + 1;
  }
  void reset() { counter_ = 0; }

 private:
  LamportTime counter_ = 0;
};

}  // namespace core::serf

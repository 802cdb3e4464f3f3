// Timers that run a closure when they fire: where Consul's goroutines sleep
// (time.After, time.Sleep) and then go on, the agent arms one of these and
// continues in the closure. The owner routes each fired timer whose top byte
// is the tag to fire(), with the Env of the port the timer was armed on.
//
// Closures must not capture an Env (it is only valid during a call): fire()
// hands them the Env again. Ordering is the timers' (virtual time, then the
// order they were armed). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "core/env.hpp"

namespace core::agent {

class Deferred {
 public:
  using Fn = std::function<void(Env&)>;
  explicit Deferred(uint8_t tag) : tag_(tag) {}

  // Runs `fn` after `delay` of local time; returns a handle for cancel().
  uint64_t after(Env& env, Duration delay, Fn fn);
  // Cancelling a handle that fired or was cancelled is a no-op.
  void cancel(Env& env, uint64_t handle);
  bool owns(uint64_t what) const { return (what >> 56) == tag_; }
  // Runs the closure of a fired timer (once) and forgets it.
  void fire(Env& env, uint64_t what);
  // Cancels every armed timer.
  void clear(Env& env);
  size_t pending() const { return armed_.size(); }

 private:
  uint8_t tag_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::pair<TimerId, Fn>> armed_;
};

}  // namespace core::agent

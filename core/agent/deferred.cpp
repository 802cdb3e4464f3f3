#include "core/agent/deferred.hpp"

#include "core/check.hpp"

namespace core::agent {

namespace {
constexpr uint64_t kHandleMask = (uint64_t{1} << 56) - 1;
}  // namespace

uint64_t Deferred::after(Env& env, Duration delay, Fn fn) {
  const uint64_t handle = next_++ & kHandleMask;
  const TimerId id = env.set_timer(delay, (uint64_t{tag_} << 56) | handle);
  armed_.emplace(handle, std::make_pair(id, std::move(fn)));
  return handle;
}

void Deferred::cancel(Env& env, uint64_t handle) {
  auto it = armed_.find(handle);
  if (it == armed_.end()) return;
  env.cancel_timer(it->second.first);
  armed_.erase(it);
}

void Deferred::fire(Env& env, uint64_t what) {
  CORE_CHECK(owns(what), "deferred: a timer of ours");
  auto it = armed_.find(what & kHandleMask);
  if (it == armed_.end()) return;  // cancelled after it was queued
  Fn fn = std::move(it->second.second);
  armed_.erase(it);
  fn(env);
}

void Deferred::clear(Env& env) {
  for (auto& [handle, armed] : armed_) env.cancel_timer(armed.first);
  armed_.clear();
}

}  // namespace core::agent

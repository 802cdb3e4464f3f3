// Test-only helpers shared by the engine and bandwidth tests: a protocol node
// whose behaviour is given by callbacks, a simulation of such nodes on one
// LAN, and a small message carrying a number.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/env.hpp"
#include "core/message.hpp"
#include "core/hb/heartbeat.hpp"
#include "sim/engine/simulation.hpp"

namespace sim_test {

// prefix + decimal number. (Not `"lit" + std::to_string(n)`: GCC 12 at -O3
// warns about it with a false -Wrestrict positive, PR 105329.)
inline std::string numbered(const char* prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

struct Hooks {
  std::function<void(core::Env&)> start;
  std::function<void(core::Env&, const core::Message&)> message;
  std::function<void(core::Env&, uint64_t)> timer;
};

class HookNode final : public core::Node {
 public:
  explicit HookNode(const Hooks* h) : h_(h) {}
  void start(core::Env& env) override {
    if (h_->start) h_->start(env);
  }
  void on_message(core::Env& env, const core::Message& msg) override {
    if (h_->message) h_->message(env, msg);
  }
  void on_timer(core::Env& env, uint64_t what) override {
    if (h_->timer) h_->timer(env, what);
  }

 private:
  const Hooks* h_;
};

inline sim::LinkParams constant_lan(core::Duration latency) {
  sim::LinkParams p;
  p.latency = sim::Distribution::constant(latency);
  return p;
}

// A simulation of `hooks.size()` HookNodes on one LAN. `hooks` must outlive it.
inline std::unique_ptr<sim::Simulation> hook_sim(std::vector<Hooks>& hooks, const sim::LinkParams& lan,
                                                 uint64_t seed = 1) {
  auto s = std::make_unique<sim::Simulation>(seed);
  s->network().add_lan("lan", lan);
  for (size_t i = 0; i < hooks.size(); ++i) {
    const Hooks* h = &hooks[i];
    s->add_node(numbered("n", i), 0, [h](core::NodeId) { return std::make_unique<HookNode>(h); });
  }
  return s;
}

// A heartbeat-typed message carrying a number (a sequence number, an id or a
// send time), and that number.
inline core::Message numbered_message(core::NodeId to, uint64_t n, uint32_t bytes = 64) {
  core::Message m;
  m.to = to;
  m.type = core::hb::kBeat;
  m.size_bytes = bytes;
  m.body = core::hb::Msg{n};
  return m;
}
inline uint64_t number_of(const core::Message& m) { return std::get<core::hb::Msg>(m.body).seq; }

}  // namespace sim_test

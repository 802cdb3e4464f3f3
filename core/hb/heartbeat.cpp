#include "core/hb/heartbeat.hpp"

#include <cassert>

namespace core::hb {

const char* type_name(uint16_t type) {
  switch (type) {
    case kBeat: return "hb.beat";
    case kToken: return "hb.token";
    default: return "unknown";
  }
}

// ---------------------------------------------------------------- Detector

namespace {
constexpr uint64_t kTimerRound = 1;
}

Detector::Detector(NodeId self, uint32_t cluster_size, DetectorConfig config)
    : self_(self), config_(config), last_heard_(cluster_size, 0), suspected_(cluster_size, 0) {}

void Detector::start(Env& env) {
  const Time now = env.now();
  for (auto& t : last_heard_) t = now;  // grace: a full timeout before suspecting anyone
  // Stagger the first round uniformly within one interval so that nodes do not
  // beat in lockstep.
  env.set_timer(static_cast<Duration>(env.rng().below(static_cast<uint64_t>(config_.interval_ns))) + 1, kTimerRound);
}

void Detector::on_message(Env& env, const Message& msg) {
  if (msg.type != kBeat || msg.from >= last_heard_.size()) return;
  last_heard_[msg.from] = env.now();
  if (suspected_[msg.from]) {
    suspected_[msg.from] = 0;
    env.record({kRecordAlive, msg.from, 0, 0});
  }
}

void Detector::on_timer(Env& env, uint64_t what) {
  if (what != kTimerRound) return;
  ++round_;
  const Time now = env.now();
  const NodeId n = static_cast<NodeId>(last_heard_.size());
  for (NodeId p = 0; p < n; ++p) {
    if (p == self_) continue;
    Message m;
    m.to = p;
    m.type = kBeat;
    m.size_bytes = config_.message_bytes;
    m.body = Msg{round_};
    env.send(std::move(m));
    if (!suspected_[p] && now - last_heard_[p] > config_.timeout_ns) {
      suspected_[p] = 1;
      env.record({kRecordSuspect, p, 0, 0});
    }
  }
  env.set_timer(config_.interval_ns, kTimerRound);
}

// ---------------------------------------------------------------- benchmark plans

std::shared_ptr<const HbPlan> HbPlan::make(uint32_t nodes, uint32_t fanout, uint32_t rounds, uint64_t seed) {
  assert(nodes >= 2 && fanout >= 1 && fanout <= nodes - 1);
  auto plan = std::make_shared<HbPlan>();
  plan->nodes = nodes;
  plan->fanout = fanout;
  plan->rounds = rounds;
  plan->targets.resize(static_cast<size_t>(rounds) * nodes * fanout);
  uint64_t state = seed;
  uint64_t h = 1469598103934665603ull;
  size_t pos = 0;
  for (uint32_t r = 0; r < rounds; ++r) {
    for (uint32_t i = 0; i < nodes; ++i) {
      const size_t first = pos;
      for (uint32_t k = 0; k < fanout; ++k) {
        uint32_t t;
        bool repeat;
        do {
          t = static_cast<uint32_t>(splitmix64(state) % (nodes - 1));
          if (t >= i) ++t;
          repeat = false;
          for (size_t j = first; j < pos; ++j) repeat |= plan->targets[j] == t;
        } while (repeat);
        plan->targets[pos++] = t;
        h = (h ^ t) * 1099511628211ull;
      }
    }
  }
  plan->checksum = h;
  return plan;
}

void HbBenchNode::start(Env& env) { env.set_timer(0, 0); }

void HbBenchNode::on_timer(Env& env, uint64_t) {
  const uint32_t r = round_++;
  if (r >= plan_->rounds) return;
  const uint32_t* t = &plan_->targets[(static_cast<size_t>(r) * plan_->nodes + self_) * plan_->fanout];
  for (uint32_t k = 0; k < plan_->fanout; ++k) {
    Message m;
    m.to = t[k];
    m.type = kBeat;
    m.size_bytes = plan_->message_bytes;
    m.body = Msg{r};
    env.send(std::move(m));
  }
  // The next round starts at (r + 1) * P on this node's clock.
  env.set_timer(static_cast<Duration>(r + 1) * plan_->period_ns - env.now(), 0);
}

void HbBenchNode::on_message(Env&, const Message&) { ++received_; }

void RingBenchNode::start(Env& env) {
  if (self_ == 0 && hops_ > 0) forward(env, 1);
}

void RingBenchNode::forward(Env& env, uint64_t hop) {
  Message m;
  m.to = static_cast<NodeId>(hop % nodes_);
  m.type = kToken;
  m.size_bytes = bytes_;
  m.body = Msg{hop};
  env.send(std::move(m));
}

void RingBenchNode::on_message(Env& env, const Message& msg) {
  ++received_;
  const uint64_t hop = std::get<Msg>(msg.body).seq;
  if (hop < hops_) forward(env, hop + 1);
}

}  // namespace core::hb

// The heartbeat protocol: a small all-to-all failure detector, and the two
// engine benchmark workloads of shared/bench/WORKLOAD.md expressed as
// protocol nodes. It exercises the engine (timers, messages, faults, clocks)
// and is named for what it is: it is not a model of SWIM or Raft.
//
// Detector: every `interval` a node sends a beat to every peer and checks
// each peer's last beat: a peer silent for longer than `timeout` (local time)
// becomes suspected (record kHbSuspect); a beat from a suspected peer clears
// it (kHbAlive). State is volatile: after a restart a node suspects nobody and
// waits a full timeout before suspecting anyone.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/env.hpp"
#include "core/hb/records.hpp"
#include "core/message.hpp"

namespace core::hb {

struct DetectorConfig {
  Duration interval_ns = 100 * kMillisecond;
  Duration timeout_ns = 500 * kMillisecond;
  uint32_t message_bytes = 64;
};

class Detector final : public Node {
 public:
  Detector(NodeId self, uint32_t cluster_size, DetectorConfig config);
  void start(Env& env) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;

  bool suspects(NodeId peer) const { return suspected_[peer] != 0; }
  uint32_t cluster_size() const { return static_cast<uint32_t>(last_heard_.size()); }

 private:
  NodeId self_;
  DetectorConfig config_;
  std::vector<Time> last_heard_;   // local time of the last beat from each peer
  std::vector<uint8_t> suspected_;
  uint64_t round_ = 0;
};

// WORKLOAD.md "hb": the targets of every (round, process) are fixed in
// advance by a plan shared by all nodes.
struct HbPlan {
  uint32_t nodes = 0;
  uint32_t fanout = 4;
  uint32_t rounds = 0;
  Duration period_ns = kSecond;
  uint32_t message_bytes = 100;
  std::vector<uint32_t> targets;  // [(r * nodes + i) * fanout + k]
  uint64_t checksum = 0;          // FNV-1a-style fold of targets, as WORKLOAD.md defines

  // Builds the plan of WORKLOAD.md from a splitmix64 stream seeded with `seed`.
  static std::shared_ptr<const HbPlan> make(uint32_t nodes, uint32_t fanout, uint32_t rounds, uint64_t seed);
};

class HbBenchNode final : public Node {
 public:
  HbBenchNode(NodeId self, std::shared_ptr<const HbPlan> plan) : self_(self), plan_(std::move(plan)) {}
  void start(Env& env) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;
  uint64_t received() const { return received_; }

 private:
  NodeId self_;
  std::shared_ptr<const HbPlan> plan_;
  uint32_t round_ = 0;
  uint64_t received_ = 0;
};

// WORKLOAD.md "ring": hop h carries the token from (h-1) mod N to h mod N.
class RingBenchNode final : public Node {
 public:
  RingBenchNode(NodeId self, uint32_t nodes, uint64_t hops, uint32_t message_bytes = 100)
      : self_(self), nodes_(nodes), hops_(hops), bytes_(message_bytes) {}
  void start(Env& env) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env&, uint64_t) override {}
  uint64_t received() const { return received_; }

 private:
  void forward(Env& env, uint64_t hop);
  NodeId self_;
  uint32_t nodes_;
  uint64_t hops_;
  uint32_t bytes_;
  uint64_t received_ = 0;
};

}  // namespace core::hb

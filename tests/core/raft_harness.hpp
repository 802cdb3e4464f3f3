// A tiny deterministic cluster for Raft tests, in the spirit of etcd-io/raft's
// rafttest.InteractionEnv: messages wait in one queue until a test delivers
// (or drops) them, timers fire only when the test advances the clock or fires
// them by name, and every record a node emits is printed and fed to a
// sim::RaftChecker. Test-only code: simple over fast.
//
// Storage sync: in auto mode (default) Env::sync() completes at once; in
// manual mode it completes on sync(id), and messages sent after a pending
// sync are held until then (the Env ordering rule made visible).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/env.hpp"
#include "core/message.hpp"
#include "core/raft/node.hpp"
#include "sim/check/raft_safety.hpp"

namespace raft_test {

using core::NodeId;
using core::Time;

// Round numbers make transcripts readable: HT = ET = 100ms, lease 50ms,
// commit 10ms, rpc deadline 100ms.
core::raft::Config test_config();

struct ClusterOptions {
  size_t nodes = 3;
  std::vector<NodeId> voters;  // bootstrap configuration; empty = all nodes
  bool bootstrap = true;       // false: every node starts empty (see bootstrap())
  core::raft::Config config = test_config();
  bool manual_sync = false;
  core::Duration latency = core::kMillisecond;  // one-way, for run()
  uint64_t seed = 1;
  // Each node's state machine; a KvStateMachine when unset. It must be a
  // KvStateMachine (or derive from one) for print_kv().
  std::function<std::unique_ptr<core::raft::KvStateMachine>()> state_machine;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions opts);
  ~Cluster();

  // Everything printed since the last call.
  std::string take_output();

  core::raft::Node& node(NodeId id);
  bool up(NodeId id) const;
  size_t size() const { return slots_.size(); }
  Time now() const { return now_; }
  const sim::RaftChecker& checker() const { return checker_; }
  // Every completion the nodes queued so far, in the order they were taken.
  const std::vector<std::pair<NodeId, core::raft::Completion>>& completions() const { return completions_; }

  // Message delivery. Filters: kNoNode / 0 = any. Returns how many.
  size_t deliver(NodeId from = core::kNoNode, NodeId to = core::kNoNode, uint16_t type = 0, bool drop = false,
                 size_t limit = SIZE_MAX);
  // Delivers until nothing deliverable is left (bounded).
  size_t stabilize(size_t max_rounds = 1000);
  size_t queued() const { return queue_.size(); }
  // Queues a message a test made up, as if msg.from had sent it.
  void inject(core::Message msg);
  void print_queue();

  // Clock and timers.
  void advance(core::Duration d);  // clock only
  void tick(core::Duration d);     // clock, firing due timers in (time, node, id) order
  // A small discrete-event loop: timers fire and messages arrive `latency`
  // after they were sent (FIFO), until the clock has advanced by d.
  void run(core::Duration d);
  // Fires the named timer ("election", "heartbeat/1", ...) of a node now.
  bool fire(NodeId id, const std::string& timer);
  void print_timers(NodeId id);

  // Faults.
  void crash(NodeId id, bool lose_unsynced);
  void restart(NodeId id);
  void isolate(NodeId id);
  void heal();
  void complete_sync(NodeId id);

  // Client calls on a node (prints the immediate result).
  core::raft::Proposal propose(NodeId id, const std::string& data);
  core::raft::Proposal change(NodeId leader, const std::string& op, NodeId target, uint64_t prev);
  core::raft::Proposal barrier(NodeId id);
  core::raft::Proposal verify(NodeId id);
  // Node::bootstrap on a running node, with `voters` as the configuration.
  std::string bootstrap(NodeId id, const std::vector<NodeId>& voters);
  std::string transfer(NodeId leader, NodeId target);
  void snapshot(NodeId id);

  void print_status();
  void print_log(NodeId id);
  void print_kv(NodeId id);
  void print_check();
  void print(const std::string& line) { out_ += line + "\n"; }

 private:
  class Env;
  struct Slot;
  struct Queued {
    core::Message msg;
    uint64_t barrier = 0;  // sender's storage seq that must be durable first
    Time sent_at = 0;
  };
  void deliver_one(Queued q, bool drop);
  bool fire_next_timer(Time until);
  friend class Env;

  void make_node(NodeId id);
  void after_event();
  bool deliverable(const Queued& q) const;

  ClusterOptions opts_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Queued> queue_;
  std::vector<bool> isolated_;
  Time now_ = 0;
  uint64_t event_seq_ = 0;
  uint64_t request_seq_ = 0;
  sim::RaftChecker checker_;
  std::vector<std::pair<NodeId, core::raft::Completion>> completions_;
  std::string out_;
};

std::string fmt_time(Time t);

}  // namespace raft_test

// Driver of Raft scenarios: servers run core::raft::Node with the KV state
// machine; a client workload submits KV commands to the leader; the Raft
// safety checker watches every event; metrics cover leaderless intervals
// (downtime), commit latency and elections.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "core/raft/node.hpp"
#include "sim/run/protocols.hpp"
#include "sim/check/raft_safety.hpp"

namespace sim {

// One interval without a leader known to a majority of the voters.
struct LeaderlessInterval {
  core::Time start_ns = 0;
  core::Time end_ns = -1;  // -1 while open
  std::string cause;       // "crash", "step_down", "isolated", "paused", "removed", "start"
  uint64_t old_term = 0;
  uint64_t new_term = 0;
  uint64_t elections = 0;     // candidacies (terms started) in the interval
  uint64_t split_votes = 0;   // terms started in the interval that elected nobody
  uint64_t vote_requests = 0;
  uint64_t prevote_requests = 0;
  core::Duration downtime_ns() const { return end_ns < 0 ? -1 : end_ns - start_ns; }
};

class RaftDriver final : public Driver {
 public:
  void build(Simulation& sim, const Scenario& s) override;
  void start_workload(Simulation& sim, const Scenario& s) override;
  core::NodeId leader() const override;
  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;

  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void after_event(core::Time now, core::NodeId node) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

  // Scenario actions: add_voter, add_nonvoter, demote_voter, remove_server, transfer_leadership.
  void action(const std::string& name, const std::vector<core::NodeId>& nodes) override;
  // Re-evaluates leadership after a world change (faults).
  void after_fault(const char* cause) override { world_changed(cause); }
  void world_changed(const char* cause);

  const RaftChecker& checker() const { return checker_; }
  const std::vector<LeaderlessInterval>& intervals() const { return intervals_; }
  core::raft::Node* raft(core::NodeId id) const { return id < nodes_.size() ? nodes_[id] : nullptr; }

 private:
  struct Pending {
    core::Time submitted = 0;
    core::NodeId server = 0;
  };
  void submit_one();
  void schedule_next_op();
  void drain(core::NodeId node);
  // The leader known to a majority of the latest configuration's voters (and in role leader), or kNoNode.
  core::NodeId stable_leader() const;
  // True when `leader` is crashed, paused, or cannot exchange messages with a
  // quorum of its latest configuration's voters (live, reachable both ways).
  bool cut_off(core::NodeId leader) const;
  void update_leadership(const char* cause);
  bool interval_open() const;
  void open_interval(const char* cause);
  uint64_t sent_of_type(uint16_t type) const;

  Simulation* sim_ = nullptr;
  std::vector<core::raft::Node*> nodes_;  // nullptr while crashed / for non-servers
  std::vector<const core::raft::Node*> view_;
  std::vector<core::NodeId> servers_;
  RaftChecker checker_;

  // workload
  bool workload_ = false;
  double rate_per_s_ = 0;
  uint32_t keys_ = 16;
  core::Time workload_start_ = 0, workload_stop_ = core::kNever;
  double put_share_ = 0.5, cas_share_ = 0.0;
  core::Rng workload_rng_;
  uint64_t next_request_ = 1;
  std::map<uint64_t, Pending> pending_;
  uint64_t submitted_ = 0, rejected_ = 0, acknowledged_ = 0, failed_ = 0;
  uint64_t max_acked_index_ = 0;
  std::vector<core::Duration> commit_latency_ns_;

  // leadership tracking
  core::NodeId current_leader_ = core::kNoNode;
  uint64_t current_term_ = 0;
  std::vector<LeaderlessInterval> intervals_;
  std::map<uint64_t, bool> election_terms_;  // terms started (kRaftElection) -> someone won
  uint64_t votes_at_open_ = 0, prevotes_at_open_ = 0;
};

void validate_raft_config(const Scenario& s, const nlohmann::json& j, std::vector<ScenarioError>& errors);
void validate_raft_workload(const Scenario& s, const nlohmann::json& j, std::vector<ScenarioError>& errors);

}  // namespace sim

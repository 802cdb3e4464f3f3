// The Raft layer: servers run core::raft::Node with the KV state machine (a
// host without other components runs it on the host port). It serves the KV
// workload (KvTarget), answers the leader selectors, runs the membership and
// transfer actions, watches the Raft safety checker (sim/check/raft_safety)
// and measures leaderless intervals (downtime).
//
// "$.raft": hashicorp/raft settings with Consul's raft_multiplier, and
// initial_voters (docs/raft.md).
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "core/raft/config.hpp"
#include "core/raft/node.hpp"
#include "sim/check/raft_safety.hpp"
#include "sim/layers/layer.hpp"
#include "sim/scenario/stack_def.hpp"
#include "sim/workload/kv.hpp"

namespace sim {

struct RaftSettings final : Settings {
  int multiplier = 5;  // Consul's performance.raft_multiplier: scales the defaults of three timeouts
  core::raft::Config config = core::raft::Config::consul(5);
  std::vector<core::NodeId> initial_voters;  // empty = every server
  std::vector<std::string> initial_voter_names;  // the same servers, as written (for the writer)

  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const LayerDef& raft_layer_def();

// One interval without a leader known to a majority of the voters.
struct LeaderlessInterval {
  core::Time start_ns = 0;
  core::Time end_ns = -1;  // -1 while open
  std::string cause;       // "start", "crash", "paused", "isolated", "step_down"
  uint64_t old_term = 0;
  uint64_t new_term = 0;
  uint64_t elections = 0;     // candidacies (terms started) in the interval
  uint64_t split_votes = 0;   // terms started in the interval that elected nobody
  uint64_t vote_requests = 0;
  uint64_t prevote_requests = 0;
  core::Duration downtime_ns() const { return end_ns < 0 ? -1 : end_ns - start_ns; }
};

// The Raft layer tracks one cluster per group of servers that share a Raft
// configuration: all servers in the raft stack, each datacenter's servers
// in the consul stack. Leadership, leaderless intervals and the safety
// checker are per cluster; the leader selectors and the Raft actions act on
// the first cluster (the first datacenter).
class RaftLayer final : public Layer, public KvTarget {
 public:
  explicit RaftLayer(const RaftSettings& settings) : settings_(settings) {}
  std::string name() const override { return "raft"; }
  core::Family family() const override { return core::kFamilyRaft; }

  void attach(Simulation& sim, const Scenario& s) override;
  std::unique_ptr<core::Node> make_node(core::NodeId id) override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void after_records(core::Time now, const std::vector<core::NodeId>& nodes) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;
  void after_fault(const char* cause) override { world_changed(cause); }

  std::optional<core::NodeId> leader() const override;
  std::string action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) override;

  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;
  void describe_node(core::NodeId id, nlohmann::json& out) const override;
  std::vector<QueryDef> queries() const override;
  nlohmann::json query(const std::string& name, const nlohmann::json& args) const override;

  // KvTarget
  const std::vector<core::NodeId>& kv_servers() const override { return clusters_.front().servers; }
  bool kv_running(core::NodeId server) const override;
  core::NodeId kv_leader_hint(core::NodeId server) const override;
  uint64_t kv_new_request() override { return next_request_++; }
  bool kv_submit(core::NodeId server, uint64_t request, const KvOp& op) override;
  void kv_attach(KvWorkload* workload) override { kv_ = workload; }

  // Wiring by a layer that makes nodes holding Raft (the consul layer):
  // Raft runs on `port`; `cluster_of` gives each host's cluster (UINT32_MAX:
  // no Raft), `names` each cluster's name. The nodes' Raft client requests
  // and completions are theirs: this layer never drains them.
  void set_external(core::Port port, std::vector<uint32_t> cluster_of, const std::vector<std::string>& names);
  // A host's Raft node, made by that layer (on every boot).
  void adopt(core::NodeId id, core::raft::Node* node);
  // That layer's node stopped running Raft while its host stays up (a Consul
  // server that left and shut down): from now on it counts as down.
  void retire(core::NodeId id);
  // A client write acknowledged at `index` in `cluster`, for applied_everywhere.
  void note_acknowledged(uint32_t cluster, uint64_t index);

  const RaftChecker& checker() const { return clusters_.front().checker; }
  const std::vector<LeaderlessInterval>& intervals() const { return clusters_.front().intervals; }
  core::raft::Node* raft(core::NodeId id) const { return id < nodes_.size() ? nodes_[id] : nullptr; }

 private:
  struct Cluster {
    std::string name;
    std::vector<core::NodeId> servers;
    std::vector<core::NodeId> voters;  // the bootstrap configuration (raft stack)
    RaftChecker checker;
    std::vector<const core::raft::Node*> view;  // this cluster's nodes by host id, nullptr otherwise
    uint64_t max_acked_index = 0;
    // leadership tracking
    core::NodeId current_leader = core::kNoNode;
    uint64_t current_term = 0;
    std::vector<LeaderlessInterval> intervals;
    std::map<uint64_t, bool> election_terms;  // terms started (kRecordElection) -> someone won
    uint64_t votes_at_open = 0, prevotes_at_open = 0;
  };

  core::NodeId running_leader(const Cluster& c) const;
  void drain(core::NodeId node);
  void world_changed(const char* cause);
  // The leader known to a majority of the latest configuration's voters (and in role leader), or kNoNode.
  core::NodeId stable_leader(const Cluster& c) const;
  // True when `leader` is crashed, paused, or cannot exchange messages with a
  // quorum of its latest configuration's voters (live, reachable both ways).
  bool cut_off(core::NodeId leader) const;
  void update_leadership(Cluster& c, const char* cause);
  void update_leadership(const char* cause);
  static bool interval_open(const Cluster& c);
  void open_interval(Cluster& c, const char* cause);
  uint64_t sent_of_type(uint16_t type) const;
  bool holds_in(const Cluster& c, const Expectation& e, std::string& detail) const;
  nlohmann::json cluster_metrics(const Cluster& c) const;

  RaftSettings settings_;
  Simulation* sim_ = nullptr;
  std::vector<core::raft::Node*> nodes_;  // nullptr while crashed / for non-servers
  std::vector<Cluster> clusters_;
  std::vector<uint32_t> cluster_of_;  // per host; UINT32_MAX: no Raft
  core::Port port_ = core::Port::kHost;
  bool external_ = false;
  KvWorkload* kv_ = nullptr;
  struct KvRequest {
    KvOp::Kind kind;
    core::NodeId server;
  };
  std::map<uint64_t, KvRequest> kv_requests_;  // accepted KV requests not yet completed, by request id
  uint64_t next_request_ = 1;
};

}  // namespace sim

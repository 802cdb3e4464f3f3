// The consul layer: every host runs a Consul agent (core::agent::Agent),
// a server or a client as the scenario's cluster says. It makes the nodes
// and wires the layers that observe their parts: Raft (the servers' Raft
// nodes, each datacenter its own cluster), serf and memberlist (each
// agent's LAN pool). It serves the KV workload through agents' KVS RPCs,
// runs the agent-level actions (services, checks, user events, join,
// leave, force-leave, snapshots) and measures:
//   - RPCs by method and outcome, with latencies;
//   - anti-entropy: full and partial syncs, the measured full-sync periods
//     against ae.go's scale factor, and the time from each local change
//     until a sync left the catalog matching the agent;
//   - user events: the share of eligible agents (running, filters passing)
//     whose ring got each event, and how fast;
//   - the leader's reconcile work, autopilot, and the catalog at the end.
// Properties: catalog_converged, members_reconciled, user_events_delivered,
// kv_acknowledged_applied (by a deadline) and catalog_stale_bounded (always).
//
// "$.consul": bootstrap_expect, timings (rpc_hold_timeout, rpc_timeout,
// reconcile_interval, leave_drain_time, ae_interval, check_update_interval,
// retry_interval), autopilot, and kv_through / kv_datacenter (which agents
// the KV workload goes through, and to which datacenter). docs/consul.md.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/agent/agent.hpp"
#include "sim/layers/layer.hpp"
#include "sim/scenario/stack_def.hpp"
#include "sim/workload/kv.hpp"

namespace sim {

class RaftLayer;
class SerfLayer;

struct ConsulSettings final : Settings {
  // 0: every datacenter's server count (the servers bootstrap together).
  uint32_t bootstrap_expect = 0;
  core::Duration rpc_hold_timeout = core::agent::kRpcHoldTimeout;
  core::Duration rpc_timeout = 10 * core::kSecond;
  core::Duration reconcile_interval = 60 * core::kSecond;
  core::Duration leave_drain_time = 5 * core::kSecond;
  core::Duration ae_interval = core::agent::kAeInterval;
  core::Duration check_update_interval = core::agent::kCheckUpdateInterval;
  core::Duration retry_interval = 30 * core::kSecond;
  core::agent::AutopilotConfig autopilot;
  std::string kv_through = "clients";      // "clients", "servers", "all", or names (kv_through_names)
  std::vector<std::string> kv_through_names;
  std::string kv_datacenter;               // "" = the agent's own

  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const LayerDef& consul_layer_def();

// Arguments of the agent-level actions (read by the layer's definition).
struct ServiceArgs final : Settings {
  std::string id;    // "" = the name (with a number when count > 1)
  std::string name;
  std::vector<std::string> tags;
  uint32_t port = 0;
  uint32_t count = 1;
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};
struct CheckArgs final : Settings {
  std::string id;
  std::string name;
  std::string kind = "ttl";  // ttl, tcp, http
  std::string service;       // the local service it belongs to ("" node-level)
  core::Duration ttl = 30 * core::kSecond;
  core::Duration interval = 10 * core::kSecond;
  core::Duration timeout = 10 * core::kSecond;
  std::string target;          // tcp/http: the node probed ("" this one)
  std::string target_service;  // tcp/http: the service probed there ("" = service)
  std::string status;          // register: initial ("critical"); check_status: the new one
  std::string output;
  bool update = false;         // check_status's arguments (id, status, output) rather than a registration
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};
struct EventArgs final : Settings {
  std::string name = "event";
  uint32_t payload_bytes = 0;
  std::string node_filter, service_filter, tag_filter;
  std::string datacenter;
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

class ConsulLayer final : public Layer, public KvTarget {
 public:
  explicit ConsulLayer(const ConsulSettings& settings) : settings_(settings) {}
  std::string name() const override { return "consul"; }
  core::Family family() const override { return core::kFamilyAgent; }

  void attach(Simulation& sim, const Scenario& s) override;
  void connect(Layer& other) override;
  std::unique_ptr<core::Node> make_node(core::NodeId id) override;
  void started() override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void after_records(core::Time now, const std::vector<core::NodeId>& nodes) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

  std::string action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) override;
  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  void finish() override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;
  void describe_node(core::NodeId id, nlohmann::json& out) const override;
  std::vector<QueryDef> queries() const override;
  nlohmann::json query(const std::string& name, const nlohmann::json& args) const override;

  // KvTarget: the agents the workload goes through.
  const std::vector<core::NodeId>& kv_servers() const override { return kv_through_; }
  bool kv_running(core::NodeId agent) const override;
  core::NodeId kv_leader_hint(core::NodeId) const override { return core::kNoNode; }
  uint64_t kv_new_request() override { return next_request_++; }
  bool kv_submit(core::NodeId agent, uint64_t request, const KvOp& op) override;
  void kv_attach(KvWorkload* workload) override { kv_ = workload; }

  // The running agent of a host (nullptr when down or shut down).
  core::agent::Agent* agent(core::NodeId id) const;

 private:
  struct Fired {
    core::Time at = 0;
    std::string name;
    std::string node_filter, service_filter, tag_filter;
    uint32_t dc = 0;
    std::vector<core::NodeId> eligible;  // running agents whose filters passed when it was fired
    std::map<core::NodeId, core::Time> delivered;
    bool accepted = false;  // the RPC answered ok
  };
  struct RpcStat {
    uint64_t ok = 0;
    std::map<std::string, uint64_t> errors;
    std::vector<int64_t> latency_ns;
  };

  bool running(core::NodeId id) const;
  // Whether agent `id`'s node name and live services pass an event's
  // filters, decided here from docs/consul.md's rule and not with the
  // agent's own code, so that the checker can catch a filter bug.
  bool passes_filters(const Fired& f, core::NodeId id) const;
  core::agent::Agent* leader_agent(uint32_t dc) const;
  uint32_t dc_of(core::NodeId id) const { return directory_->at(id).dc; }
  std::string describe_local_mismatch(core::NodeId id, const core::catalog::Store& st) const;
  bool catalog_matches(core::NodeId id, const core::catalog::Store& st, std::string* why) const;
  void sample_stale();
  core::Duration stale_bound(core::NodeId id) const;
  // Running, and able to exchange messages with `leader` (leader_agent(dc_of(id)); nullptr: none).
  bool connected(core::NodeId id, const core::agent::Agent* leader) const;
  // Full-sync periods by scale factor (sum, count), of those that began
  // early enough to be measured whatever their length.
  std::map<uint64_t, std::pair<double, uint64_t>> unbiased_periods() const;
  void kv_answer(core::NodeId via, uint64_t request, const KvOp& op, const core::agent::RpcResponse& resp);
  // The datacenter whose KV store an operation through `via` reaches.
  uint32_t kv_dc(core::NodeId via) const;

  ConsulSettings settings_;
  Simulation* sim_ = nullptr;
  const Scenario* scenario_ = nullptr;
  std::shared_ptr<core::agent::Directory> directory_;
  std::vector<core::agent::AgentConfig> configs_;
  RaftLayer* raft_ = nullptr;
  SerfLayer* serf_ = nullptr;
  std::vector<core::NodeId> kv_through_;
  KvWorkload* kv_ = nullptr;
  uint64_t next_request_ = 1;
  std::shared_ptr<const std::string> snapshot_;  // the last snapshot saved by the snapshot_save action

  // Metrics and checkers.
  std::map<core::agent::Method, RpcStat> rpcs_;
  std::vector<core::Time> last_full_sync_;
  std::vector<std::pair<uint64_t, int64_t>> full_sync_periods_;  // (scale factor at the time, period ns)
  std::vector<core::Time> full_sync_period_starts_;               // when each of them began
  uint64_t full_syncs_ok_ = 0, full_syncs_failed_ = 0, partial_syncs_ok_ = 0, partial_syncs_failed_ = 0;
  std::vector<core::Time> unsynced_since_;  // first local change not yet seen synced (-1: none)
  std::vector<int64_t> converge_ns_;
  std::map<uint64_t, Fired> fired_;  // by id hash
  uint64_t events_fired_ = 0;
  uint64_t reconcile_registered_ = 0, reconcile_critical_ = 0, reconcile_deregistered_ = 0, reconcile_skipped_ = 0,
           reconcile_failed_ = 0, reconcile_dropped_ = 0, autopilot_changes_ = 0, new_leaders_ = 0;
  uint64_t check_transitions_ = 0;
  std::vector<uint64_t> max_acked_index_;  // per datacenter
  // (datacenter, key) -> the last acknowledged write: (raft index, was a delete)
  std::map<std::pair<uint32_t, std::string>, std::pair<uint64_t, bool>> last_acked_;
  // catalog_stale_bounded: (node, service id) -> since when the catalog
  // shows a service its connected agent does not have.
  std::map<std::pair<core::NodeId, std::string>, core::Time> stale_since_;
  std::optional<Violation> stale_violation_;
  std::string wrong_event_;  // the first user event stored by an agent whose filters reject it
  std::vector<core::NodeId> touched_;
};

}  // namespace sim

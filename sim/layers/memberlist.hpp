// The memberlist layer: SWIM + Lifeguard as every member of a gossip pool
// runs it (core/memberlist). It does not make nodes (the serf layer does:
// memberlist runs inside serf, as in Consul); it owns memberlist's settings,
// watches memberlist's records and measures, against the truth the
// simulator knows:
// - convergence: for each membership change of a member (failure, recovery,
//   join, leave) the time until every running member's view of it agrees
//   with the truth (alive / dead or reaped / left or reaped);
// - failure detection of real failures (crash, pause): time to the first
//   suspicion, the first dead declaration, and everyone knowing;
// - false positives: probes of a member that is up, running and reachable
//   both ways that failed (each a suspicion), and dead views of such
//   members, per member-hour, with the first few for finding in the trace;
// - load: messages and bytes per member per second by type, and the fill of
//   packets with piggybacked broadcasts.
// Property: gossip_converged (by a deadline).
//
// "$.memberlist": a profile ("lan": Consul 1.9's LAN pool, the default;
// "wan"; "local") and any of its fields (docs/gossip.md).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/memberlist/config.hpp"
#include "core/memberlist/memberlist.hpp"
#include "sim/layers/layer.hpp"
#include "sim/scenario/stack_def.hpp"

namespace sim {

struct MemberlistSettings final : Settings {
  std::string profile = "lan";
  core::memberlist::Config config = core::memberlist::Config::consul_lan();
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const LayerDef& memberlist_layer_def();

// Finds the Memberlist of a running host (the stack's node-making layer
// knows how its nodes hold it); nullptr when the host is down.
using MemberlistOf = std::function<const core::memberlist::Memberlist*(core::NodeId)>;

class MemberlistLayer final : public Layer {
 public:
  explicit MemberlistLayer(const MemberlistSettings& settings) : settings_(settings) {}
  std::string name() const override { return "memberlist"; }
  core::Family family() const override { return core::kFamilyMemberlist; }

  void attach(Simulation& sim, const Scenario& s) override;
  void started() override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;
  void describe_node(core::NodeId id, nlohmann::json& out) const override;
  std::vector<QueryDef> queries() const override;
  nlohmann::json query(const std::string& name, const nlohmann::json& args) const override;

  // Wiring by the node-making layer.
  void set_lookup(MemberlistOf lookup) { lookup_ = std::move(lookup); }
  // The members that start knowing each other (as after a completed join).
  void set_initial_members(const std::vector<core::NodeId>& members);
  // A member left gracefully (its leave finished): its truth becomes "left".
  void member_left(core::Time now, core::NodeId node);
  // A member rejoined after a leave or was (re)started fresh.
  void member_back(core::Time now, core::NodeId node);
  // Separate pools (a Consul datacenter's LAN each): host -> pool. A member
  // of another pool is neither viewed nor counted. Default: one pool.
  void set_pools(std::vector<uint32_t> pool_of) { pool_ = std::move(pool_of); }

 private:
  enum class Truth : uint8_t { kUp = 0, kDown = 1, kLeft = 2 };
  enum class Change : uint8_t { kFailure = 0, kRecovery = 1, kJoin = 2, kLeave = 3 };
  static constexpr uint8_t kUnknown = 0xFF;  // view: not in the viewer's list
  struct Episode {
    core::NodeId member = core::kNoNode;
    Change kind = Change::kFailure;
    core::Time start = 0;
    core::Time first_suspect = -1;
    core::Time first_dead = -1;
  };
  struct FalsePositive {
    core::Time at;
    core::NodeId viewer;
    core::NodeId member;
    const char* what;
  };

  bool agrees(uint8_t view, Truth t) const;
  // Whether viewer v's view of member j counts (same pool).
  bool counted(core::NodeId v, core::NodeId j) const { return pool_.empty() || pool_[v] == pool_[j]; }
  uint8_t& view(core::NodeId viewer, core::NodeId member) { return views_[size_t{viewer} * n_ + member]; }
  bool viewer_active(core::NodeId v) const;
  void set_truth(core::Time now, core::NodeId member, Truth t, Change kind);
  void activate_viewer(core::NodeId v, bool active);
  void close_if_converged(core::Time now, core::NodeId member);
  bool healthy_pair(core::NodeId viewer, core::NodeId member) const;

  MemberlistSettings settings_;
  Simulation* sim_ = nullptr;
  MemberlistOf lookup_;
  std::vector<uint32_t> pool_;  // empty: one pool
  uint32_t n_ = 0;
  core::Time start_ = 0;
  std::vector<uint8_t> views_;       // [viewer * n + member]: State, or kUnknown
  std::vector<Truth> truth_;
  std::vector<uint8_t> active_;      // viewer counted (up and running)
  std::vector<uint32_t> disagree_;   // active viewers whose view of the member disagrees with its truth
  std::map<core::NodeId, Episode> open_;
  std::vector<std::vector<int64_t>> converge_ns_ = std::vector<std::vector<int64_t>>(4);
  std::vector<int64_t> first_suspect_ns_, first_dead_ns_, all_know_ns_;
  uint64_t false_probe_failures_ = 0, false_dead_views_ = 0, probe_failures_ = 0, refutes_ = 0;
  std::vector<FalsePositive> false_examples_;
  std::vector<uint8_t> falsely_dead_;  // member currently seen dead by someone while healthy
};

}  // namespace sim

// The serf layer: every host runs serf over memberlist on its serf-lan port
// (core::serf::GossipNode), as a Consul agent's LAN gossip does. It makes the
// nodes, wires the memberlist layer to them, runs the membership actions
// (join, leave, force_leave) and user events, and measures serf's side:
// user-event dissemination (time until 50 %, 90 %, 99 % and all of the
// members have delivered each event), and its counters (reconnects, reaps,
// flaps, intents).
// Properties: serf_converged and events_delivered (by a deadline).
//
// "$.serf": initial_members ("all", the default: a pool already formed, as
// after a completed join; or a list of names), start_join (names that the
// other members join when they boot), serf's timing settings, snapshot,
// disable_coordinates, tags_bytes and event_payload_bytes (docs/gossip.md).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/serf/config.hpp"
#include "core/serf/node.hpp"
#include "sim/layers/layer.hpp"
#include "sim/layers/memberlist.hpp"
#include "sim/scenario/stack_def.hpp"

namespace sim {

struct SerfSettings final : Settings {
  core::serf::Config config = core::serf::Config::consul_lan();  // memberlist's part comes from "$.memberlist"
  std::vector<std::string> initial_members;  // empty: all
  std::vector<std::string> start_join;
  uint32_t event_payload_bytes = 64;
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const LayerDef& serf_layer_def();

// Finds the LAN Serf of a running host (nullptr when down); the stack's
// node-making layer knows how its nodes hold it.
using SerfOf = std::function<core::serf::Serf*(core::NodeId)>;

class SerfLayer final : public Layer {
 public:
  SerfLayer(const SerfSettings& settings, const core::memberlist::Config& memberlist)
      : settings_(settings), memberlist_config_(memberlist) {}
  std::string name() const override { return "serf"; }
  core::Family family() const override { return core::kFamilySerf; }

  void attach(Simulation& sim, const Scenario& s) override;
  void connect(Layer& other) override;
  std::unique_ptr<core::Node> make_node(core::NodeId id) override;
  void started() override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

  std::string action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) override;
  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;
  void describe_node(core::NodeId id, nlohmann::json& out) const override;
  std::vector<QueryDef> queries() const override;
  nlohmann::json query(const std::string& name, const nlohmann::json& args) const override;

  // The LAN Serf of a running host: through the lookup a node-making layer
  // set (a Consul agent's), else the host's own GossipNode.
  core::serf::Serf* serf_of(core::NodeId id) const;

  // Wiring by another node-making layer (the consul layer): where each
  // host's LAN serf is. Its nodes then run membership actions themselves and
  // shut down on their own after a leave; they report joins and
  // force-leaves here.
  void set_lookup(SerfOf lookup) { lookup_ = std::move(lookup); }
  void note_join(core::Time now, core::NodeId v);
  void note_forced(core::NodeId v) { forced_[v] = 1; }
  // True while `v` is in the pool: a member from the start or since it joined,
  // until its leave finished.
  bool is_member(core::NodeId v) const { return member_[v] != 0; }
  // True once `v` left gracefully (its leave finished) and has not come back.
  bool has_left(core::NodeId v) const { return left_[v] != 0; }
  // Separate pools (a Consul datacenter's LAN each): host -> pool. Members
  // of another pool are not expected in a view, nor events from there.
  void set_pools(std::vector<uint32_t> pool_of) { pool_ = std::move(pool_of); }

  static constexpr core::Duration kCoordinateSampleEvery = 10 * core::kSecond;
  static constexpr uint32_t kCoordinatePairs = 200;

 private:
  struct CoordinateSample {
    core::Time at;
    uint32_t pairs;
    double mean_abs_ns, max_abs_ns, mean_relative;
  };
  void coordinate_tick();
  void sample_coordinates();
  nlohmann::json coordinate_json() const;
  std::vector<CoordinateSample> coordinate_samples_;
  struct Event {
    core::Time sent = 0;
    uint32_t pool = 0;
    uint32_t needed = 0;  // members of its pool running when it was sent
    std::vector<core::Time> delivered;
  };
  using EventKey = std::tuple<uint32_t, uint64_t, uint64_t, uint64_t>;  // pool, ltime, name id, payload hash
  uint32_t pool_of(core::NodeId v) const { return pool_.empty() ? 0 : pool_[v]; }
  bool running_member(core::NodeId v) const;
  core::NodeId first_running_member(core::NodeId except) const;

  SerfSettings settings_;
  core::memberlist::Config memberlist_config_;
  SerfOf lookup_;
  std::vector<uint32_t> pool_;  // empty: one pool
  Simulation* sim_ = nullptr;
  MemberlistLayer* memberlist_ = nullptr;
  uint32_t n_ = 0;
  std::shared_ptr<std::vector<core::NodeId>> initial_;
  std::vector<core::NodeId> start_join_;
  std::vector<uint8_t> member_;  // joined and not left
  std::vector<uint8_t> left_;    // left gracefully
  std::vector<uint8_t> forced_;  // forced out (force_leave) while down
  uint32_t next_event_name_ = 1;
  std::map<EventKey, Event> events_;
  uint64_t leaves_done_ = 0, leaves_timed_out_ = 0, joins_done_ = 0;
};

}  // namespace sim

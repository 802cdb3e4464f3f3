// The heartbeat layer: every node runs core::hb::Detector, the engine's
// all-to-all failure detector. Property: hb_converged. Metrics: suspicions,
// false suspicions, recoveries and detection latencies.
//
// "$.heartbeat": {"interval": D, "timeout": D, "message_bytes": N}
#pragma once

#include <map>
#include <vector>

#include "core/hb/heartbeat.hpp"
#include "sim/layers/layer.hpp"
#include "sim/scenario/stack_def.hpp"

namespace sim {

struct HeartbeatSettings final : Settings {
  core::hb::DetectorConfig config;
  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const LayerDef& heartbeat_layer_def();

class HeartbeatLayer final : public Layer {
 public:
  explicit HeartbeatLayer(const HeartbeatSettings& settings) : config_(settings.config) {}
  std::string name() const override { return "heartbeat"; }
  core::Family family() const override { return core::kFamilyHeartbeat; }
  void attach(Simulation& sim, const Scenario& s) override;
  std::unique_ptr<core::Node> make_node(core::NodeId id) override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;
  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;

 private:
  core::hb::DetectorConfig config_;
  Simulation* sim_ = nullptr;
  std::vector<core::hb::Detector*> nodes_;     // nullptr while crashed
  std::vector<std::vector<uint8_t>> suspects_;  // [observer][peer], from records
  std::map<core::NodeId, core::Time> crashed_at_;
  std::vector<core::Duration> detection_ns_;
  uint64_t suspicions_ = 0, false_suspicions_ = 0, recoveries_ = 0;
};

}  // namespace sim

// Driver of the heartbeat protocol (core/hb) for scenario runs.
#pragma once

#include <map>
#include <vector>

#include "core/hb/heartbeat.hpp"
#include "sim/run/protocols.hpp"

namespace sim {

class HeartbeatDriver final : public Driver {
 public:
  void build(Simulation& sim, const Scenario& s) override;
  bool holds(const Expectation& e, std::string& detail) override;
  std::optional<Violation> violation(const std::string& property) const override;
  nlohmann::json metrics() const override;
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

 private:
  Simulation* sim_ = nullptr;
  std::vector<core::hb::Detector*> nodes_;     // nullptr while crashed
  std::vector<std::vector<uint8_t>> suspects_;  // [observer][peer], from records
  std::map<core::NodeId, core::Time> crashed_at_;
  std::vector<core::Duration> detection_ns_;
  uint64_t suspicions_ = 0, false_suspicions_ = 0, recoveries_ = 0;
};

void validate_heartbeat_config(const nlohmann::json& j, std::vector<ScenarioError>& errors);

// The engine's own invariant, available to every protocol: every message sent
// (or duplicated by the network) is delivered, dropped, or still in flight.
std::optional<Violation> conservation_violation(const Simulation& sim);

}  // namespace sim

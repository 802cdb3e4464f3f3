// What each protocol contributes to a scenario run: its node factory, its
// settings and workload validation, its selectors (leader, followers), its
// expectations and its metrics. The runner (runner.hpp) is protocol-agnostic
// and talks to a Driver.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/engine/simulation.hpp"

namespace sim {

struct Scenario;
struct ScenarioError;
struct Expectation;

// A safety violation found by a checker.
struct Violation {
  core::Time time = 0;
  uint64_t trace_position = 0;  // trace events folded so far
  std::string property;
  std::string description;  // nodes, term/index, what went wrong
};

class Driver : public Observer {
 public:
  // Adds the scenario's nodes to `sim` (LANs already exist) and attaches
  // itself as an observer.
  virtual void build(Simulation& sim, const Scenario& s) = 0;
  // Called once before the run starts (after start_all).
  virtual void start_workload(Simulation& /*sim*/, const Scenario& /*s*/) {}
  // Selector support: the running (not paused) leader; kNoNode when there is none.
  virtual core::NodeId leader() const { return core::kNoNode; }
  // Liveness property evaluated at a point in time.
  virtual bool holds(const Expectation& e, std::string& detail) = 0;
  // First safety violation of an "always" property, if any.
  virtual std::optional<Violation> violation(const std::string& property) const = 0;
  // Protocol metrics for the run's JSON summary.
  virtual nlohmann::json metrics() const = 0;
  // Called at the end of the run (final checks).
  virtual void finish(Simulation& /*sim*/) {}
  // After the runner applied a fault ("isolated" for network changes).
  virtual void after_fault(const char* /*cause*/) {}
  // A protocol action from the scenario (see protocol_actions()).
  virtual void action(const std::string& /*name*/, const std::vector<core::NodeId>& /*nodes*/) {}
};

// Fault actions a protocol adds to the scenario format, e.g. "add_voter".
std::vector<std::string> protocol_actions(const std::string& protocol);

std::unique_ptr<Driver> make_driver(const std::string& protocol);

bool protocol_available(const std::string& protocol);
std::vector<std::string> always_properties(const std::string& protocol);
std::vector<std::string> by_properties(const std::string& protocol);
bool check_by_argument(const std::string& protocol, const std::string& property, const nlohmann::json& value,
                       std::string& argument, std::string& error);
void validate_protocol_config(const Scenario& s, const nlohmann::json& config, std::vector<ScenarioError>& errors);
void validate_workload(const Scenario& s, const nlohmann::json& workload, std::vector<ScenarioError>& errors);

}  // namespace sim

// A stack at run time: the layers and workloads of one scenario, and the one
// observer the simulation sees (DESIGN.md, "Composition"). It routes each
// record to the layer of its protocol family and wakes, after an event, only
// the layers that saw a record in it; it routes selectors, fault actions,
// properties and metrics to the layer that declares them.
//
// The first layer of the stack makes each host's node (a composite node,
// such as a Consul agent, is made by its own layer).
#pragma once

#include <array>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/layers/layer.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/workload/workload.hpp"

namespace sim {

class Stack final : public Observer {
 public:
  Stack(const StackDef& def, const Scenario& s);
  ~Stack() override;

  const StackDef& def() const { return def_; }
  // Adds the scenario's nodes to `sim` (its LANs exist) and observes it.
  void build(Simulation& sim);
  // After every node booted: workloads connect to their layer and start.
  void start(Simulation& sim);

  // The running leader, when a layer elects one.
  std::optional<core::NodeId> leader() const;
  // A fault action of one of the layers, with the fault's arguments
  // (Fault::args; nullptr when none); returns what happened ("" when
  // nothing needs saying).
  std::string action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args);
  void after_fault(const char* cause);

  bool holds(const Expectation& e, std::string& detail);
  std::optional<Violation> violation(const std::string& property) const;
  void finish();
  // {layer name: ..., workload name: ...}
  nlohmann::json metrics() const;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const;

  Layer* layer(const std::string& name) const;

  // A node as every layer sees it: {"name", "id", "server", "datacenter",
  // "up", "paused"} and each layer's own key (Layer::describe_node).
  nlohmann::json node(core::NodeId id) const;
  // Every layer's queries, and one run by name (std::invalid_argument for an
  // unknown name or argument).
  std::vector<Layer::QueryDef> queries() const;
  nlohmann::json query(const std::string& name, const nlohmann::json& args) const;
  // The scenario's workload of that name; nullptr when it has none.
  Workload* workload(const std::string& name) const;

  // Observer
  void on_record(core::Time now, core::NodeId node, const core::Record& r) override;
  void after_event(core::Time now, core::NodeId node) override;
  void on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) override;

 private:
  struct Slot {
    std::unique_ptr<Layer> layer;
    std::vector<core::NodeId> touched;  // hosts that emitted records since it was last woken
  };
  Layer* owner_of_property(const std::string& property) const;

  const StackDef& def_;
  const Scenario& scenario_;
  Simulation* sim_ = nullptr;
  std::vector<Slot> layers_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  std::array<int16_t, 256> by_family_;  // family -> layer index, -1 for none
  std::vector<size_t> dirty_;           // layers woken at the end of this event
};

}  // namespace sim

// The simulator side of one protocol layer (DESIGN.md, "Composition"): what
// the layer contributes to a run once its settings are read (LayerDef, in
// sim/scenario/stack_def.hpp, reads them and makes the Layer).
//
// A Layer builds its part of each host's node, answers its selectors
// (leader), runs its fault actions, evaluates its properties, runs its
// checkers and reports its metrics. It sees only the records of its own
// protocol family, and the Stack wakes it after an event only when it saw
// one (after_records, with the hosts that emitted them): a layer pays
// nothing for events of other protocols.
//
// Ownership: the Stack owns its layers; a layer keeps a pointer to the
// Simulation it was attached to, valid for the run.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.hpp"
#include "core/types.hpp"
#include "sim/check/violation.hpp"
#include "sim/engine/simulation.hpp"

namespace sim {

struct Scenario;
struct Expectation;
class Settings;

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string name() const = 0;
  // The protocol family whose records this layer sees.
  virtual core::Family family() const = 0;

  // --- building ---
  // Called once, before any node is built.
  virtual void attach(Simulation& sim, const Scenario& s) = 0;
  // Once for each other layer of the stack, after every layer is attached
  // and before any node is built: a node-making layer wires the layers that
  // observe its nodes (the serf layer tells the memberlist layer where each
  // host's memberlist is).
  virtual void connect(Layer& /*other*/) {}
  // The node a host runs, when this layer is the one that makes nodes (the
  // stack says which); nullptr when the host runs none of this protocol.
  virtual std::unique_ptr<core::Node> make_node(core::NodeId /*id*/) { return nullptr; }
  // Once every node has booted, before the run starts.
  virtual void started() {}

  // --- observation ---
  virtual void on_record(core::Time now, core::NodeId node, const core::Record& r) = 0;
  // After an event in which this layer saw records; `nodes` are the hosts
  // that emitted them (sorted, no repeats).
  virtual void after_records(core::Time /*now*/, const std::vector<core::NodeId>& /*nodes*/) {}
  virtual void on_lifecycle(core::Time /*now*/, core::NodeId /*node*/, Lifecycle /*what*/) {}
  // After the runner applied a fault; `cause` is "isolated" for network
  // changes, "paused" or "crash".
  virtual void after_fault(const char* /*cause*/) {}

  // --- selectors and actions ---
  // The running leader, when the layer has one.
  virtual std::optional<core::NodeId> leader() const { return std::nullopt; }
  // A fault action of LayerDef::actions(), with its resolved targets and the
  // typed arguments LayerDef::read_action read from its params (nullptr when
  // it takes none or none were given). Returns what happened, for the
  // summary ("" when nothing needs saying).
  virtual std::string action(const std::string& /*name*/, const std::vector<core::NodeId>& /*nodes*/,
                             const Settings* /*args*/) {
    return {};
  }

  // --- results ---
  // A by-property of this layer at its deadline.
  virtual bool holds(const Expectation& e, std::string& detail) = 0;
  // The first violation of an always-property of this layer, if any.
  virtual std::optional<Violation> violation(const std::string& property) const = 0;
  virtual void finish() {}

  // --- state for embeddings (the Python module) ---
  // Adds this layer's view of node `id` to `out`, under its own key
  // (out["raft"] = {...}); nothing for a node it does not run on or that is
  // down. Read between events only.
  virtual void describe_node(core::NodeId /*id*/, nlohmann::json& /*out*/) const {}
  // The named queries this layer answers (name, one-line help, the
  // arguments it takes).
  struct QueryDef {
    std::string name;
    std::string help;
    std::vector<std::string> args;
  };
  virtual std::vector<QueryDef> queries() const { return {}; }
  // Runs query `name` (one of queries()) with `args`, an object of its
  // arguments already checked to be among QueryDef::args; throws
  // std::invalid_argument on a bad value (an unknown node, ...).
  virtual nlohmann::json query(const std::string& /*name*/, const nlohmann::json& /*args*/) const { return nullptr; }

  // metrics[name()] in the run summary.
  virtual nlohmann::json metrics() const = 0;
  // A short readable report of metrics() for the human summary of `run`.
  virtual void print_metrics(const nlohmann::json& metrics, std::ostream& out) const = 0;
};

// A query's node argument `key` (a node name), resolved; std::invalid_argument
// when it is missing, not a string or names no node.
inline core::NodeId query_node(const Simulation& sim, const std::string& query, const nlohmann::json& args,
                               const char* key = "node") {
  if (!args.contains(key) || !args[key].is_string())
    throw std::invalid_argument(query + "() needs " + key + "=NAME (a node name)");
  const std::string& name = args[key].get_ref<const std::string&>();
  const core::NodeId id = sim.find_node(name);
  if (id == core::kNoNode) throw std::invalid_argument(query + "(): unknown node '" + name + "'");
  return id;
}

}  // namespace sim

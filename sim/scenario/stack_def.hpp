// What the scenario parser knows of a stack (DESIGN.md, "Composition"): the
// layers it is made of and the workloads it takes, each with its settings
// section, its selectors, fault actions and properties. The parser names no
// protocol: it asks these definitions. Their run-time side (sim::Layer,
// sim::Workload) is made from the typed settings they read, by make().
//
// A definition is a stateless singleton (one per protocol layer, one per
// workload kind); a StackRegistry lists the stacks (sim/run/stacks.cpp: one
// line per stack).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/scenario/reader.hpp"

namespace sim {

struct Scenario;
class Layer;
class Workload;

// A layer's or workload's typed settings: read once from the scenario,
// written back by the writer (reading to_json() back gives an equal value).
class Settings {
 public:
  virtual ~Settings() = default;
  virtual nlohmann::json to_json() const = 0;
  virtual bool equals(const Settings& other) const = 0;
};

// A property of the "expect" list. An "always" property is watched for the
// whole run; a "by" property is evaluated at a deadline and may take an
// argument (`read_argument` checks it and returns its canonical text, "" when
// it takes only `true`).
struct PropertyDef {
  std::string name;
  bool always = false;
  std::string help;  // one line, for documentation and error messages
  // By-properties: reads the value after the property name; false (with an
  // error through the reader) when it is not acceptable.
  bool (*read_argument)(const Reader& r, std::string& argument) = nullptr;
};
// The argument reader of a by-property that takes only `true`.
bool read_true_argument(const Reader& r, std::string& argument);

class LayerDef {
 public:
  virtual ~LayerDef() = default;
  // Also the key of its settings section ("raft" -> "$.raft").
  virtual std::string name() const = 0;
  // True when the layer elects a leader: the stack then offers the
  // selectors leader, followers and random_follower.
  virtual bool has_leader() const { return false; }
  // Protocol fault actions ({"at": T, "add_voter": TARGET}); each takes a TARGET.
  virtual std::vector<std::string> actions() const { return {}; }
  // Keys besides "at", "note" and the action's own key that action `name`
  // accepts in its fault object (e.g. {"service"}); empty when it takes none.
  // A parameter is never "lose_unsynced", "delay" or the name of an action.
  virtual std::vector<std::string> action_params(const std::string& /*name*/) const { return {}; }
  // Reads those keys of the fault object `fault` ("$.faults[3]") into typed
  // arguments (errors through the readers, with their JSON paths: a missing
  // required key through fault.require); called only when the action has
  // params. May return nullptr when every param is optional and absent.
  // Fault::args keeps them and Layer::action gets them when the fault fires;
  // the writer puts to_json()'s keys back into the fault object, so reading
  // them back must give equal arguments.
  virtual std::shared_ptr<const Settings> read_action(const std::string& /*name*/, const Reader& /*fault*/,
                                                      const Scenario& /*s*/) const {
    return nullptr;
  }
  virtual std::vector<PropertyDef> properties() const { return {}; }
  // Reads the settings section; `r` holds null when the scenario has none
  // (the defaults). `s` has its cluster, network and storage read already.
  // Errors go through `r`, also for what the layer needs of the cluster
  // (reported at "$.cluster" through `cluster`).
  virtual std::shared_ptr<const Settings> read(const Reader& r, const Reader& cluster, const Scenario& s) const = 0;
  virtual std::unique_ptr<Layer> make(const Scenario& s) const = 0;
};

class WorkloadDef {
 public:
  virtual ~WorkloadDef() = default;
  // The key under "$.workload" ("kv").
  virtual std::string name() const = 0;
  virtual std::shared_ptr<const Settings> read(const Reader& r, const Scenario& s) const = 0;
  virtual std::unique_ptr<Workload> make(const Scenario& s) const = 0;
};

struct StackDef {
  std::string name;         // the scenario's "protocol"
  std::string description;  // one line
  std::vector<const LayerDef*> layers;
  std::vector<const WorkloadDef*> workloads;

  bool has_leader() const;
  const LayerDef* layer(const std::string& name) const;
  const WorkloadDef* workload(const std::string& name) const;
  // Every fault action and property of its layers.
  std::vector<std::string> actions() const;
  // The layer that declares fault action `action` (the first, should two
  // declare it: that one runs it); nullptr when none does.
  const LayerDef* action_layer(const std::string& action) const;
  // The params of fault action `action` (LayerDef::action_params); empty
  // when it takes none or is not an action of this stack.
  std::vector<std::string> action_params(const std::string& action) const;
  std::vector<PropertyDef> properties() const;
};

class StackRegistry {
 public:
  virtual ~StackRegistry() = default;
  virtual const StackDef* find(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // The stack of a scenario without "protocol".
  virtual std::string default_name() const = 0;
};

// The properties every stack has (message_conservation).
std::vector<PropertyDef> common_properties();

}  // namespace sim

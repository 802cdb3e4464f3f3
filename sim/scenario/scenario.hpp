// Scenario files: the JSON format (docs/scenario-format.md), its strict
// validation, the validated in-memory form that the runner executes, and the
// writer that turns it back into JSON.
//
// Validation happens once, here, at the boundary (STYLE.md, example 8): every
// unknown key, wrong type, out-of-range value, unknown node name and
// contradictory fault is reported with its JSON path ("$.faults[2].crash")
// and what was expected. All errors are collected, not just the first. The
// document is read once, through sim::Reader, into typed values: the stack's
// layers and workloads read their own sections into typed Settings
// (stack_def.hpp); nothing re-reads raw JSON later. Inside the runner, a
// validated Scenario is assumed correct.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "sim/engine/network.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/scenario/reader.hpp"
#include "sim/scenario/stack_def.hpp"

namespace sim {

class ScenarioInvalid : public std::runtime_error {
 public:
  explicit ScenarioInvalid(std::vector<ScenarioError> errors);
  const std::vector<ScenarioError>& errors() const { return errors_; }

 private:
  std::vector<ScenarioError> errors_;
};

// A set of nodes: explicit names, or a selector resolved when the fault fires.
struct Target {
  enum class Kind : uint8_t {
    kNames,
    kLeader,
    kFollowers,
    kRandomFollower,
    kRandomServer,
    kRandomClient,
    kRandomNode,
    kMinority,
    kMajority,
    kAllServers,
    kAllClients,
    kAll,
    kAllCrashed,
    kAllPaused,
  };
  Kind kind = Kind::kNames;
  std::vector<core::NodeId> nodes;  // for kNames
  std::string text;                 // as written, for messages and the trace
  bool operator==(const Target&) const = default;
};
// The selector a target of this kind is written as ("leader"); "" for kNames.
const char* selector_name(Target::Kind kind);

struct Fault {
  // Explicit values: kind + 1 is folded into the trace hash of every fault,
  // so a reordered list must not silently change every golden hash.
  enum class Kind : uint8_t {
    kCrash = 0,
    kRestart = 1,
    kPause = 2,
    kResume = 3,
    kPartitionGroups = 4,
    kPartitionShape = 5,
    kIsolate = 6,
    kBlock = 7,
    kHeal = 8,
    kDegradeNodes = 9,
    kDegradeWan = 10,
    kRestoreNodes = 11,
    kRestoreWan = 12,
    kClockDrift = 13,
    kClockJump = 14,
    kAction = 15,  // a protocol action (e.g. raft add_voter), named in `action`
    kSlow = 16,    // a slow member: message handling delayed by `delay`
    kUnslow = 17,
  };
  Kind kind = Kind::kCrash;
  core::Time at = 0;
  std::string path;         // JSON path of the fault, for reports
  std::string description;  // one line, e.g. "crash leader"
  Target target;            // crash/restart/pause/resume/isolate/degrade/restore/clock/slow/unslow; block "from"
  Target target2;           // block "to"
  std::vector<std::vector<core::NodeId>> groups;  // kPartitionGroups
  std::string shape;                              // kPartitionShape
  LinkParams link;                                // kDegrade*
  uint32_t wan_a = 0, wan_b = 0;                  // kDegradeWan / kRestoreWan (LAN indices)
  int64_t drift_ppb = 0;                          // kClockDrift
  core::Duration jump = 0;                        // kClockJump
  Distribution delay;                             // kSlow: the processing delay of each message
  std::optional<bool> lose_unsynced;              // kCrash override
  std::string action;                             // kAction
  // kAction: the typed arguments its layer read from the action's params
  // (LayerDef::read_action); null when it takes none or none were given.
  std::shared_ptr<const Settings> args;
  std::string note;                               // the optional "note", kept for the writer
  // Every field (a new field goes there too: writer.cpp); args by value
  // (Settings::equals; both null are equal).
  bool operator==(const Fault& other) const;
};

struct Expectation {
  enum class Kind : uint8_t { kAlways, kBy };
  Kind kind = Kind::kAlways;
  std::string property;  // "raft_safety", "hb_converged", "leader_known_to", ...
  std::string argument;  // e.g. "all" / "majority" for leader_known_to
  core::Time by = 0;
  std::string name;      // e.g. "by 40s: leader_known_to all"
  std::string path;
  bool operator==(const Expectation&) const = default;
};

struct NodeSpec {
  std::string name;
  bool server = true;
  uint32_t dc = 0;
  bool operator==(const NodeSpec&) const = default;
};

struct Scenario {
  std::string name;
  std::string description;
  std::string stack;  // the document's "protocol": a stack of the registry, e.g. "raft"
  uint64_t seed = 1;
  std::vector<std::string> datacenters;
  std::vector<NodeSpec> nodes;
  // How the cluster was written: {"servers", "clients"} of one datacenter,
  // or per datacenter (the writer needs to know).
  bool per_datacenter = false;
  std::vector<std::pair<uint64_t, uint64_t>> dc_counts;  // (servers, clients) per datacenter
  LinkParams lan;
  LinkParams wan;
  StorageParams storage;
  // Every layer of the stack has its settings (defaults when its section is
  // absent), keyed by layer name; workloads only when given.
  std::map<std::string, std::shared_ptr<const Settings>> settings;
  std::map<std::string, std::shared_ptr<const Settings>> workloads;
  std::vector<Fault> faults;
  std::vector<Expectation> expect;
  core::Time until = 0;

  std::vector<core::NodeId> servers() const;
  std::vector<core::NodeId> clients() const;
  // A layer's typed settings (the layer knows its own type).
  template <typename T>
  const T& layer_settings(const std::string& layer) const {
    return static_cast<const T&>(*settings.at(layer));
  }
  const Settings* workload(const std::string& workload_name) const {
    auto it = workloads.find(workload_name);
    return it == workloads.end() ? nullptr : it->second.get();
  }
  // Equal documents: every field, and settings compared by value.
  bool operator==(const Scenario& other) const;
};

// Parses and validates against the stacks of `stacks`. Throws
// ScenarioInvalid (with every error found) on bad input, including malformed
// JSON (with line and column).
Scenario parse_scenario(const std::string& json_text, const StackRegistry& stacks,
                        const std::string& origin = "scenario");
Scenario load_scenario_file(const std::string& path, const StackRegistry& stacks);
// One fault object ({"at": ..., ACTION: TARGET, ...}) read as the parser reads
// a fault of a document about `base`'s nodes and stack: the same checks and
// error texts (reported at `path`); the consistency rules over a whole fault
// list do not apply. Throws ScenarioInvalid.
Fault parse_fault(const Scenario& base, const nlohmann::json& fault, const StackRegistry& stacks,
                  const std::string& path = "$");

// The writer: a document that parses back to an equal Scenario
// (parse_scenario(write_scenario(s).dump(), ...) == s).
nlohmann::json write_scenario(const Scenario& s);

}  // namespace sim

// Scenario files: the JSON format (docs/scenario-format.md), its strict
// validation, and the validated in-memory form that the runner executes.
//
// Validation happens once, here, at the boundary (STYLE.md, example 8): every
// unknown key, wrong type, out-of-range value, unknown node name and
// contradictory fault is reported with its JSON path ("$.faults[2].crash")
// and what was expected. All errors are collected, not just the first.
// Inside the runner, a validated Scenario is assumed correct.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "sim/engine/network.hpp"
#include "sim/engine/simulation.hpp"

namespace sim {

struct ScenarioError {
  std::string path;     // JSON path, "$" for the whole document
  std::string message;  // what was wrong and what was expected
  std::string str() const { return path + ": " + message; }
};

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
};

struct Fault {
  enum class Kind : uint8_t {
    kCrash,
    kRestart,
    kPause,
    kResume,
    kPartitionGroups,
    kPartitionShape,
    kIsolate,
    kBlock,
    kHeal,
    kDegradeNodes,
    kDegradeWan,
    kRestoreNodes,
    kRestoreWan,
    kClockDrift,
    kClockJump,
    kAction,  // a protocol action (e.g. raft add_voter), named in `action`
  };
  Kind kind = Kind::kCrash;
  core::Time at = 0;
  std::string path;         // JSON path of the fault, for reports
  std::string description;  // one line, e.g. "crash leader"
  Target target;            // crash/restart/pause/resume/isolate/degrade/restore/clock; block "from"
  Target target2;           // block "to"
  std::vector<std::vector<core::NodeId>> groups;  // kPartitionGroups
  std::string shape;                              // kPartitionShape
  LinkParams link;                                // kDegrade*
  uint32_t wan_a = 0, wan_b = 0;                  // kDegradeWan / kRestoreWan (LAN indices)
  int64_t drift_ppb = 0;                          // kClockDrift
  core::Duration jump = 0;                        // kClockJump
  std::optional<bool> lose_unsynced;              // kCrash override
  std::string action;                             // kAction
};

struct Expectation {
  enum class Kind : uint8_t { kAlways, kBy };
  Kind kind = Kind::kAlways;
  std::string property;  // "raft_safety", "hb_converged", "leader_known_to", ...
  std::string argument;  // e.g. "all" / "majority" for leader_known_to
  core::Time by = 0;
  std::string name;      // e.g. "by 40s: leader_known_to all"
  std::string path;
};

struct NodeSpec {
  std::string name;
  bool server = true;
  uint32_t dc = 0;
};

struct Scenario {
  std::string name;
  std::string description;
  std::string protocol;  // "heartbeat" | "raft"
  uint64_t seed = 1;
  std::vector<std::string> datacenters;
  std::vector<NodeSpec> nodes;
  LinkParams lan;
  LinkParams wan;
  StorageParams storage;
  nlohmann::json protocol_config;  // the "heartbeat" or "raft" object, validated by its protocol
  nlohmann::json workload;         // validated by the runner
  std::vector<Fault> faults;
  std::vector<Expectation> expect;
  core::Time until = 0;

  std::vector<core::NodeId> servers() const;
  std::vector<core::NodeId> clients() const;
};

// Parses and validates. Throws ScenarioInvalid (with every error found) on bad
// input, including malformed JSON (with line and column).
Scenario parse_scenario(const std::string& json_text, const std::string& origin = "scenario");
Scenario load_scenario_file(const std::string& path);

// Parses the shared value forms (also used by the Python layer and tests).
// Each returns false and sets `error` (without the path) when malformed.
bool parse_distribution(const nlohmann::json& j, Distribution& out, std::string& error);

}  // namespace sim

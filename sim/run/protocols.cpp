#include "sim/run/protocols.hpp"

#include "sim/layers/heartbeat.hpp"
#include "sim/layers/raft.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

std::unique_ptr<Driver> make_driver(const std::string& protocol) {
  if (protocol == "heartbeat") return std::make_unique<HeartbeatDriver>();
  if (protocol == "raft") return std::make_unique<RaftDriver>();
  throw std::invalid_argument("unknown protocol '" + protocol + "'");
}

bool protocol_available(const std::string& protocol) { return protocol == "heartbeat" || protocol == "raft"; }

std::vector<std::string> protocol_actions(const std::string& protocol) {
  if (protocol == "raft") return {"add_voter", "add_nonvoter", "demote_voter", "remove_server", "transfer_leadership"};
  return {};
}

std::vector<std::string> always_properties(const std::string& protocol) {
  if (protocol == "heartbeat") return {"message_conservation"};
  if (protocol == "raft") return {"raft_safety", "message_conservation"};
  return {};
}

std::vector<std::string> by_properties(const std::string& protocol) {
  if (protocol == "heartbeat") return {"hb_converged"};
  if (protocol == "raft") return {"leader_known_to", "applied_everywhere"};
  return {};
}

bool check_by_argument(const std::string& /*protocol*/, const std::string& property, const nlohmann::json& value,
                       std::string& argument, std::string& error) {
  if (property == "hb_converged") {
    if (!(value.is_boolean() && value.get<bool>())) {
      error = "expected true";
      return false;
    }
    argument.clear();
    return true;
  }
  if (property == "leader_known_to") {
    if (!value.is_string() || (value.get<std::string>() != "all" && value.get<std::string>() != "majority")) {
      error = "expected \"all\" (every running member) or \"majority\"";
      return false;
    }
    argument = value.get<std::string>();
    return true;
  }
  if (property == "applied_everywhere") {
    if (!(value.is_boolean() && value.get<bool>())) {
      error = "expected true";
      return false;
    }
    argument.clear();
    return true;
  }
  error = "unknown property";
  return false;
}

void validate_protocol_config(const Scenario& s, const nlohmann::json& config, std::vector<ScenarioError>& errors) {
  if (s.protocol == "heartbeat") validate_heartbeat_config(config, errors);
  if (s.protocol == "raft") validate_raft_config(s, config, errors);
}

void validate_workload(const Scenario& s, const nlohmann::json& workload, std::vector<ScenarioError>& errors) {
  if (s.protocol == "heartbeat")
    errors.push_back({"$.workload", "the heartbeat protocol has no client workload"});
  if (s.protocol == "raft") validate_raft_workload(s, workload, errors);
}

}  // namespace sim

#include "core/agent/config.hpp"

namespace core::agent {

std::string AgentConfig::validate() const {
  if (!directory) return "agent: no directory";
  if (directory->datacenters.empty()) return "agent: no datacenter";
  if (std::string e = serf_lan.validate(); !e.empty()) return "serf LAN: " + e;
  if (server) {
    if (std::string e = serf_wan.validate(); !e.empty()) return "serf WAN: " + e;
    if (std::string e = raft.validate(); !e.empty()) return "raft: " + e;
  }
  if (retry_interval <= 0) return "retry_interval must be > 0";
  if (reconcile_interval <= 0) return "reconcile_interval must be > 0";
  if (leave_drain_time < 0) return "leave_drain_time must not be negative";
  if (raft_remove_grace < 0) return "raft_remove_grace must not be negative";
  if (rpc_hold_timeout < 0) return "rpc_hold_timeout must not be negative";
  if (rpc_timeout <= 0) return "rpc_timeout must be > 0";
  if (ae_interval <= 0) return "ae_interval must be > 0";
  if (check_update_interval < 0) return "check_update_interval must not be negative";
  if (autopilot.interval <= 0) return "autopilot interval must be > 0";
  if (autopilot.server_stabilization_time < 0) return "server_stabilization_time must not be negative";
  return "";
}

}  // namespace core::agent

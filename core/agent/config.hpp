// An agent's configuration: Consul v1.9.0's defaults (agent/config/default.go,
// agent/consul/config.go DefaultConfig; reference gossip_ae.md D and E) and
// what the host tells it about the cluster.
//
// Validate once at the boundary (validate()); the agent assumes a valid one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/agent/ae_scale.hpp"
#include "core/agent/delegate.hpp"
#include "core/agent/local_state.hpp"
#include "core/agent/server_manager.hpp"
#include "core/raft/config.hpp"
#include "core/serf/config.hpp"
#include "core/types.hpp"

namespace core::agent {

// autopilot (Consul's autopilot config defaults, agent/config/default.go, and
// raft-autopilot v0.1.1): how a server added as a non-voter becomes a voter,
// and when failed servers are removed.
struct AutopilotConfig {
  bool cleanup_dead_servers = true;
  Duration last_contact_threshold = 200 * kMillisecond;
  uint64_t max_trailing_logs = 250;
  uint32_t min_quorum = 0;
  Duration server_stabilization_time = 10 * kSecond;
  Duration interval = 10 * kSecond;  // autopilot's reconcile interval (AutopilotInterval)
  bool operator==(const AutopilotConfig&) const = default;
};

struct AgentConfig {
  bool server = false;
  std::shared_ptr<const Directory> directory;

  // Gossip: LAN for every agent, WAN for servers.
  serf::Config serf_lan = serf::Config::consul_lan();
  serf::Config serf_wan = serf::Config::consul_wan();
  // A pool already formed at the first boot (nullptr: know nobody); see
  // serf::GossipNode for the same idea on a bare gossip host.
  std::shared_ptr<const std::vector<NodeId>> lan_known;
  std::shared_ptr<const std::vector<NodeId>> wan_known;
  // start_join / retry_join: joined at boot, retried every retry_interval
  // until a join contacts someone (an empty list: no join).
  std::vector<NodeId> retry_join;
  Duration retry_interval = 30 * kSecond;

  // Servers.
  raft::Config raft = raft::Config::consul(5);
  // bootstrap_expect: bootstrap Raft once this many servers of the
  // datacenter are known and none reports Raft peers (0: never bootstrap;
  // the server waits to be added by the leader).
  uint32_t bootstrap_expect = 0;
  Duration reconcile_interval = 60 * kSecond;  // ReconcileInterval
  Duration leave_drain_time = 5 * kSecond;     // leave_drain_time
  Duration raft_remove_grace = 5 * kSecond;    // raftRemoveGracePeriod
  AutopilotConfig autopilot;

  // RPC.
  Duration rpc_hold_timeout = kRpcHoldTimeout;
  // The deadline of one RPC attempt (rpc_caller.hpp's Deviation).
  Duration rpc_timeout = 10 * kSecond;

  // Local state and anti-entropy.
  Duration ae_interval = kAeInterval;
  Duration check_update_interval = kCheckUpdateInterval;

  // "" when valid, else what is wrong.
  std::string validate() const;
};

}  // namespace core::agent

// core::agent::Agent: one Consul agent (v1.9.0 agent/agent.go), the node a
// host runs in the `consul` stack. It owns
//   - its delegate, a Server or a Client, chosen at construction as
//     agent.go's Start does (a.delegate = server / client);
//   - its local state (services and checks, local_state.hpp) and the
//     anti-entropy StateSyncer (state_syncer.hpp) whose work it does: a full
//     sync reads this node's services and checks from the catalog (stale
//     reads), marks what differs and syncs the changes; a partial sync
//     syncs the changes, one catalog RPC at a time, the first error ending
//     the pass. ClusterSize is the delegate's LAN member count;
//   - the user-event ring (user_events.hpp), filled from serf's
//     consul:event:* events;
//   - its health checks: TTL checks that go critical when not updated in
//     time, and TCP / HTTP checks that probe a service on some node through
//     the network at their interval (checks.cpp);
//   - retry_join (retried every retry_interval until a join contacts
//     someone), and the graceful leave (the delegate's Leave, then shutdown).
//
// The public calls are the agent's HTTP API (the part a user drives: the
// simulator's layer and the Python module call them between events, with
// the host's Env): services, checks, TTL updates, user events, KV, join,
// leave, force-leave. Answers that need the cluster come through callbacks.
//
// Ports: the agent's own timers (local state 'L', syncer 'A', checks and
// joins 'G') and the health probes run on kHost; everything else belongs to
// the delegate. Durable state: services and checks registered through the
// API persist under "agent/" (Consul's data_dir/services and checks) and are
// loaded again after a restart.
//
// Deviation: Consul's services and checks carry many more fields (address,
// meta, weights, script/gRPC/Docker checks, ...); here a service has a name,
// tags (kept sorted, as the catalog keeps them) and a port, and checks are
// TTL, TCP or HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/agent/client.hpp"
#include "core/agent/config.hpp"
#include "core/agent/deferred.hpp"
#include "core/agent/delegate.hpp"
#include "core/agent/local_state.hpp"
#include "core/agent/server.hpp"
#include "core/agent/state_syncer.hpp"
#include "core/agent/user_events.hpp"
#include "core/env.hpp"

namespace core::agent {

// A health check as the agent runs it (structs.CheckType, the part modelled).
struct CheckDefinition {
  enum class Kind : uint8_t { kTtl = 0, kTcp = 1, kHttp = 2 };
  Kind kind = Kind::kTtl;
  std::string name;
  std::string service_id;         // "" for a node-level check
  Duration ttl = 0;               // TTL
  Duration interval = 10 * kSecond;  // TCP / HTTP: time between probes
  Duration timeout = 10 * kSecond;   // TCP / HTTP: a probe with no answer by then fails
  NodeId target = kNoNode;        // TCP / HTTP: the node probed (kNoNode: this agent's node)
  std::string target_service;     // TCP / HTTP: the service probed there ("": service_id)
  CheckStatus initial = CheckStatus::kCritical;
  bool operator==(const CheckDefinition&) const = default;
};
// checks.MinInterval: shorter intervals are raised to 1 s.
inline constexpr Duration kMinCheckInterval = kSecond;

class Agent final : public core::Node, public SyncTarget, public AgentHooks {
 public:
  static constexpr uint8_t kTimerTag = 0x47;  // 'G': checks, retry_join (host port)
  using RpcDone = Delegate::RpcDone;

  // `config` must be valid (AgentConfig::validate()).
  Agent(NodeId self, AgentConfig config);
  ~Agent() override;

  void start(Env& env) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;

  // --- the HTTP API. "" when accepted, else Consul's error. ---
  // /v1/agent/service/register: an empty id takes the name.
  std::string add_service(Env& env, std::string id, Service service);
  // /v1/agent/service/deregister (and its checks, as Consul removes them).
  std::string remove_service(Env& env, const std::string& id);
  // /v1/agent/check/register.
  std::string add_check(Env& env, std::string id, CheckDefinition def);
  std::string remove_check(Env& env, const std::string& id);
  // /v1/agent/check/pass|warn|fail|update on a TTL check.
  std::string update_ttl(Env& env, const std::string& id, CheckStatus status, std::string output);
  // Whether the process behind a local service answers probes (a service
  // that crashed or hangs while the agent runs).
  void set_service_answers(const std::string& id, bool answers);
  // /v1/event/fire: validates, gives the event its id, fires it through a
  // server (Internal.EventFire, stale allowed; `dc` "" = ours).
  std::string fire_event(Env& env, UserEvent event, std::string dc, RpcDone done);
  // delegate.RPC, recorded (kRecordRpc).
  void rpc(Env& env, RpcRequest req, RpcDone done);
  // /v1/agent/join: a LAN join.
  std::string join(Env& env, const std::vector<NodeId>& addrs);
  // /v1/agent/leave: a graceful leave, then the agent shuts down.
  std::string leave(Env& env);
  // /v1/agent/force-leave.
  std::string force_leave(Env& env, NodeId node, bool prune);

  // --- state ---
  NodeId self() const { return self_; }
  const std::string& name() const;
  bool is_server() const { return config_.server; }
  Delegate& delegate() { return *delegate_; }
  const Delegate& delegate() const { return *delegate_; }
  Server* server() { return config_.server ? static_cast<Server*>(delegate_.get()) : nullptr; }
  const Server* server() const { return config_.server ? static_cast<const Server*>(delegate_.get()) : nullptr; }
  Client* client() { return config_.server ? nullptr : static_cast<Client*>(delegate_.get()); }
  const LocalState& local() const { return local_; }
  const StateSyncer& syncer() const { return syncer_; }
  const UserEventRing& events() const { return ring_; }
  const std::map<std::string, CheckDefinition>& check_definitions() const { return defs_; }
  bool leaving() const { return leaving_; }
  bool shut_down() const { return shut_down_; }
  const AgentConfig& config() const { return config_; }

  // --- SyncTarget (the StateSyncer's work) ---
  Result sync_full(Env& env) override;
  Result sync_changes(Env& env) override;
  // --- AgentHooks ---
  void server_up(Env& env) override;
  void user_event(Env& env, const UserEvent& event) override;
  void join_done(Env& env, uint32_t contacted, uint32_t asked) override;

 private:
  // Local state.
  void restore(Env& env);
  void persist_service(Env& env, const std::string& id);
  void persist_check(Env& env, const std::string& id);
  void flush(Env& env);  // hands the local state's triggers to the syncer
  // Anti-entropy.
  void full_sync_read(Env& env, uint64_t pass);
  void run_ops(Env& env, uint64_t pass, std::shared_ptr<std::vector<CatalogOp>> ops, size_t next, bool full);
  void sync_ended(Env& env, uint64_t pass, bool full, bool ok, size_t ops);
  // Checks.
  void start_check(Env& env, const std::string& id);
  // Removes a check without starting a sync (the caller does).
  void drop_check(Env& env, const std::string& id);
  void stop_check(Env& env, const std::string& id);
  void ttl_expired(Env& env, const std::string& id, uint64_t serial);
  void probe(Env& env, const std::string& id, uint64_t serial);
  void probe_done(Env& env, const std::string& id, uint64_t serial, bool healthy, const std::string& output);
  void set_check(Env& env, const std::string& id, CheckStatus status, std::string output);
  void handle_probe(Env& env, NodeId from, const Probe& p);
  // Joins and leave.
  void try_join(Env& env);
  void shutdown(Env& env);

  NodeId self_;
  AgentConfig config_;
  std::unique_ptr<Delegate> delegate_;
  LocalState local_;
  StateSyncer syncer_;
  UserEventRing ring_;
  Deferred deferred_;
  bool triggered_ = false;
  bool restarted_ = false;

  // Anti-entropy passes in flight (the syncer runs one at a time).
  uint64_t sync_pass_ = 0;
  bool in_sync_call_ = false;           // inside sync_full() / sync_changes()
  std::optional<bool> sync_result_;     // a pass that ended inside that call
  Result finish_call(bool started_inside);

  // Checks: definition and runner state by check id.
  struct Runner {
    uint64_t serial = 0;  // bumped on every (re)arm: a stale timer or answer is ignored
    uint64_t timer = 0;   // deferred handle
    uint64_t probe = 0;   // outstanding probe id (0: none)
    std::string last_output;  // TTL: the output of the last update
  };
  std::map<std::string, CheckDefinition> defs_;
  std::map<std::string, Runner> runners_;
  std::map<uint64_t, std::string> probes_;  // probe id -> check id
  uint64_t next_probe_ = 1;
  uint64_t next_serial_ = 1;
  std::map<std::string, bool> answers_;  // services whose process stopped answering (false)

  // Joins.
  uint32_t join_attempts_ = 0;
  bool retry_joining_ = false;
  bool leaving_ = false;
  bool shut_down_ = false;
  uint64_t next_event_ = 1;
};

}  // namespace core::agent

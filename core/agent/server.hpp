// The server half of an agent (Consul v1.9.0 agent/consul/server.go,
// server_serf.go, rpc.go, leader.go, autopilot.go, *_endpoint.go; reference
// gossip_ae.md D.3, E.3, E.5):
//
// - serf LAN and serf WAN (servers of every datacenter), Raft with the
//   catalog and KV store (core/catalog) as its state machine;
// - the RPC endpoints Catalog.Register/Deregister/NodeServices,
//   Health.NodeChecks, KVS.Apply/Get, Internal.EventFire, Status.Leader/
//   Peers/Ping and the snapshot RPC, with ForwardRPC's rules: another
//   datacenter through the WAN router; stale reads served by any server in
//   contact with a leader; everything else at the leader (forwarded to a
//   known leader, or waiting up to rpc_hold_timeout for one); consistent
//   reads after VerifyLeader and once the leader is established;
// - the leader's duties (leader.cpp): the consul:new-leader event, a Raft
//   barrier, then a full reconcile of serf members into the catalog (and of
//   catalog nodes serf has reaped), every ReconcileInterval and on member
//   events through the bounded reconcile channel (256, dropped when full);
//   autopilot adds a joining server as a non-voter, promotes it once it has
//   been healthy for ServerStabilizationTime, and removes failed servers;
// - bootstrap_expect (maybeBootstrap), and the graceful leave.
//
// Ports: serf LAN (kSerfLan), serf WAN (kSerfWan), Raft (kRaft), RPC and
// the server's waits (kRpc: RpcCaller 'R', deferred 'D').
//
// Deviation: Consul's leader loop, its RPC handlers and autopilot are
// goroutines that block on Raft futures; here each is a chain of callbacks
// run when the Raft entry applies (or the wait ends). The leader loop stays
// sequential: one reconcile step at a time, as Consul's loop is.
// Deviation: where Go's select would pick among ready channels at random,
// the order is fixed: stop, the reconcile interval, the reconcile channel.
// Deviation: the WAN router keeps one server list per other datacenter,
// rotated on failures, but never rebalances it nor marks a datacenter
// offline (router.go runs a Manager per datacenter and skips offline ones).
// Deviation: autopilot judges a server's health from the leader's own
// replication state (the follower's last contact and match index) instead of
// the Status.RaftStats RPC it sends every ServerHealthInterval (2 s).
// Not modelled: ACLs, intentions and config entries, the tombstone GC
// (KV tombstones are kept), network areas, segments, the WAN join flooder,
// MaxStaleDuration, the rate limiter.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/agent/config.hpp"
#include "core/agent/deferred.hpp"
#include "core/agent/delegate.hpp"
#include "core/agent/rpc_caller.hpp"
#include "core/catalog/state_machine.hpp"
#include "core/raft/node.hpp"

namespace core::agent {

// leader.go: reconcileCh capacity.
inline constexpr size_t kReconcileChannelCapacity = 256;
// server_serf.go maybeBootstrap: maxPeerRetries.
inline constexpr uint32_t kMaxPeerRetries = 6;

class Server final : public Delegate {
 public:
  using Sink = std::function<void(Env&, RpcResponse)>;

  Server(NodeId self, const AgentConfig& config, AgentHooks& hooks);

  bool is_server() const override { return true; }
  void start(Env& host_env, bool restarted) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;
  // server.go Leave (see the top of this file); `done` when it returns.
  void leave(Env& env, std::function<void(Env&)> done) override;
  // In-process RPC (Server.RPC): the same path as a request from the network.
  void rpc(Env& env, RpcRequest req, RpcDone done) override;
  // server.go RemoveFailedNode: the LAN pool, then the WAN pool.
  std::string remove_failed_node(Env& env, NodeId node, bool prune) override;
  void shutdown(Env& env) override;
  std::map<std::string, std::map<std::string, std::string>> stats() const override;

  raft::Node& raft() { return raft_; }
  const raft::Node& raft() const { return raft_; }
  const catalog::Store& store() const;
  serf::Serf& serf_wan() { return wan_; }
  const serf::Serf& serf_wan() const { return wan_; }
  bool is_leader() const { return raft_.role() == raft::Role::kLeader; }
  // Leadership established (barrier done once): consistent reads allowed.
  bool established() const { return leader_ && leader_->established; }
  bool leaving() const { return leaving_; }
  size_t reconcile_queue() const { return reconcile_queue_.size(); }

  struct Stats {
    uint64_t rpcs_served = 0;      // answered here (not forwarded)
    uint64_t rpcs_forwarded = 0;   // to the leader
    uint64_t rpcs_cross_dc = 0;    // to another datacenter
    uint64_t rpcs_no_leader = 0;   // answered "No cluster leader"
    uint64_t reconciles = 0;       // reconcileMember calls
    uint64_t reconcile_dropped = 0;
    uint64_t full_reconciles = 0;
    uint64_t raft_applies = 0;
    uint64_t raft_apply_failures = 0;
    uint64_t promotions = 0;
    uint64_t leader_terms = 0;
  };
  const Stats& counters() const { return stats_; }

 private:
  // --- hosting ---
  void after_serf(Env& env);
  void after_raft(Env& env);
  void drain_wan(Env& env);
  class WanListener final : public serf::EventListener {
   public:
    explicit WanListener(Server& s) : s_(s) {}
    void on_member_event(Env& env, serf::MemberEventType type, NodeId member) override;
    void on_user_event(Env&, serf::LamportTime, const serf::UserEvent&, bool) override {}

   private:
    Server& s_;
  };
  void handle_member_event(Env& env, serf::MemberEventType type, NodeId member) override;

  // --- RPC (server.cpp) ---
  void handle_request(Env& env, RpcRequest req, Sink sink);
  void check_leader(Env& env, std::shared_ptr<RpcRequest> req, Sink sink, Time first_check, RpcResponse last_error);
  void forward_dc(Env& env, RpcRequest req, Sink sink);
  void serve(Env& env, const RpcRequest& req, Sink sink);
  void serve_read(Env& env, const RpcRequest& req, Sink sink);
  void consistent_read(Env& env, std::shared_ptr<RpcRequest> req, Sink sink);
  void wait_consistent_ready(Env& env, std::shared_ptr<RpcRequest> req, Sink sink, Time deadline);
  RpcResponse read_meta(Env& env, uint64_t id) const;
  void reply_write(Env& env, uint64_t id, catalog::Command cmd, Sink sink);

  // --- Raft plumbing ---
  using RaftDone = std::function<void(Env&, const raft::Completion&)>;
  // raftApply: a command through Raft at this leader; `done` when it applied
  // (or leadership was lost). False (and `done` not called) when not leader.
  bool raft_apply(Env& env, const catalog::Command& cmd, RaftDone done, std::string* error = nullptr);
  enum class ConfigOp : uint8_t { kAddNonvoter, kAddVoter, kRemove };
  // A configuration change at this leader. Raft refuses one while another
  // is in progress; hashicorp/raft queues it instead, so it is tried again
  // every kConfigRetry until it starts or leadership is lost (then `done`
  // gets kLeadershipLost). False only when not leader.
  bool raft_config(Env& env, ConfigOp op, NodeId server, RaftDone done, std::string* error = nullptr);
  static constexpr Duration kConfigRetry = 10 * kMillisecond;
  bool raft_barrier(Env& env, RaftDone done);
  bool raft_verify(Env& env, RaftDone done);
  uint64_t next_raft_request_ = 1;
  std::map<uint64_t, RaftDone> raft_waiters_;
  bool was_leader_ = false;

  // --- the leader loop (leader.cpp) ---
  struct LeaderState {
    LeaderState() {}  // user-provided: clang cannot default-construct a nested class with member initializers here
    uint64_t epoch = 0;
    uint64_t term = 0;
    bool established = false;
    bool busy = false;              // a reconcile step (or the barrier) is running
    bool reconcile_open = false;    // reconcileCh is read (after a successful full reconcile)
    bool interval_due = false;      // the ReconcileInterval timer fired
    uint64_t interval_timer = 0;
    uint64_t autopilot_timer = 0;
    std::map<NodeId, Time> healthy_since;  // autopilot: stable since (absent: unhealthy)
    Time last_autopilot_reconcile = 0;
    Time autopilot_start = 0;
    std::set<NodeId> config_pending;  // autopilot's queued Raft changes, by server
  };
  struct ReconcileItem {
    NodeId member = kNoNode;
    uint64_t status = 0;  // ReconcileStatus
  };
  void leadership_changed(Env& env);
  void leader_reconcile(Env& env);   // the RECONCILE label
  void leader_wait(Env& env);        // the WAIT loop: takes what is ready
  void reconcile_all(Env& env, std::shared_ptr<std::vector<ReconcileItem>> items, size_t next, bool reaped);
  void reconcile_reaped_items(std::vector<ReconcileItem>& out) const;
  void reconcile_member(Env& env, ReconcileItem item, std::function<void(Env&)> next);
  void handle_alive_member(Env& env, NodeId m, std::function<void(Env&)> next);
  void handle_failed_member(Env& env, NodeId m, std::function<void(Env&)> next);
  void handle_deregister_member(Env& env, NodeId m, uint64_t status, std::function<void(Env&)> next);
  bool still_leading(uint64_t epoch) const { return leader_ && leader_->epoch == epoch && is_leader(); }
  void autopilot_tick(Env& env);
  void autopilot_add_server(Env& env, NodeId m, std::function<void(Env&)> next);
  void autopilot_prune(Env& env);
  // A promotion or removal autopilot queues (at most one per server at a time).
  void autopilot_change(Env& env, ConfigOp op, NodeId id);
  bool member_alive(NodeId n) const;
  void push_reconcile(Env& env, NodeId member, uint64_t status);

  // --- bootstrap (leader.cpp) ---
  void maybe_bootstrap(Env& env);
  void query_peers(Env& env, std::shared_ptr<std::vector<NodeId>> servers, size_t next, uint32_t attempt);

  // --- leave ---
  void leave_serf(Env& env);
  void leave_drain(Env& env);
  void leave_poll(Env& env, Time limit);
  void leave_finish(Env& env);

  AgentConfig config_;
  serf::Serf wan_;
  WanListener wan_listener_;
  std::vector<std::pair<serf::MemberEventType, NodeId>> wan_queued_;
  raft::Node raft_;
  std::map<uint32_t, ServerManager> routers_;  // the WAN router: one list per other datacenter

  std::optional<LeaderState> leader_;
  uint64_t leader_epoch_ = 0;
  std::deque<ReconcileItem> reconcile_queue_;

  uint32_t bootstrap_expect_ = 0;
  bool bootstrapping_ = false;

  bool leaving_ = false;  // leaveCh closed: RPCs fail fast with "No cluster leader"
  bool leave_was_leader_ = false;
  enum class LeaveStage : uint8_t { kNone, kRaftRemove, kWan, kLan, kDrain, kPoll, kDone } leave_stage_ = LeaveStage::kNone;
  std::function<void(Env&)> leave_done_;

  Stats stats_;
};

}  // namespace core::agent

// The agent's delegate (Consul v1.9.0 agent/agent.go `type delegate
// interface`, reference gossip_ae.md E.1): the server or the client half of
// an agent, chosen when the agent is made (agent.go Start: a.delegate =
// server / client). Both run serf LAN; a server also runs serf WAN, Raft
// with the catalog state machine, the RPC endpoints and the leader's duties
// (server.hpp); a client keeps a server list and sends its RPCs to a server
// (client.hpp).
//
// Method for method (Consul's name -> ours): GetLANCoordinate ->
// lan_coordinate, Leave -> leave (Consul blocks until it returns; here
// `done` runs then), LANMembers -> lan_members, LANMembersAllSegments,
// LANSegmentMembers (one segment, "", as in Consul OSS), LocalMember ->
// local_member, JoinLAN -> join_lan, RemoveFailedNode ->
// remove_failed_node, RPC -> rpc, SnapshotRPC -> snapshot_rpc, Shutdown ->
// shutdown, Stats -> stats; Encrypted (gossip encryption) -> encrypted.
// Not modelled: the ACL token resolvers, UseLegacyACLs, ReloadConfig and
// the enterprise hooks.
//
// Hosting: the Agent hands the delegate every message and timer of the
// ports it owns (serf-lan, serf-wan, raft, rpc) with that port's Env, and
// calls start() on every boot. Member events and user events from serf are
// queued (Consul's event channels) and handled after serf's call returns.
//
// Deviation: a member's role (server or client) and datacenter are Consul
// serf tags (role=consul|node, dc=...); they never change in a node's life,
// so here they come from a Directory shared by every agent, and serf only
// carries the tags' size.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/agent/deferred.hpp"
#include "core/agent/records.hpp"
#include "core/agent/rpc.hpp"
#include "core/agent/rpc_caller.hpp"
#include "core/coordinate/coordinate.hpp"
#include "core/env.hpp"
#include "core/serf/serf.hpp"

namespace core::agent {

// Every node's fixed facts, by NodeId (see the Deviation above).
struct Directory {
  struct Entry {
    std::string name;
    bool server = false;
    uint32_t dc = 0;
  };
  std::vector<Entry> nodes;
  std::vector<std::string> datacenters;

  const Entry& at(NodeId n) const { return nodes[n]; }
  NodeId find(std::string_view name) const;
  std::string node_id(NodeId n) const;  // the agent's node ID (Consul: a UUID), stable across restarts
};

// A serf member as the delegate reports it (serf.Member with Consul's tags).
struct Member {
  NodeId node = kNoNode;
  std::string name;
  serf::MemberStatus status = serf::MemberStatus::kNone;
  bool server = false;
  uint32_t dc = 0;
};

// What the delegate calls back in its agent.
class AgentHooks {
 public:
  virtual ~AgentHooks() = default;
  // Consul's config.ServerUp: a server of our datacenter joined (clients), or
  // a consul:new-leader event arrived: the syncer's full-sync trigger.
  virtual void server_up(Env& env) = 0;
  // config.UserEventHandler: a consul:event:<name> arrived (name stripped).
  virtual void user_event(Env& env, const UserEvent& event) = 0;
  // A LAN join (JoinLAN) ended: `contacted` of `asked` answered.
  virtual void join_done(Env& env, uint32_t contacted, uint32_t asked) = 0;
};

class Delegate : public serf::EventListener {
 public:
  using RpcDone = std::function<void(Env&, const RpcResponse&)>;

  static constexpr uint8_t kTimerTag = 0x44;  // 'D': the delegate's waits, on the rpc port

  Delegate(NodeId self, std::shared_ptr<const Directory> directory, AgentHooks& hooks, const serf::Config& lan_config,
           Duration rpc_timeout);
  ~Delegate() override = default;
  Delegate(const Delegate&) = delete;
  Delegate& operator=(const Delegate&) = delete;

  virtual bool is_server() const = 0;

  // --- hosting ---
  // Every boot; `restarted`: the host's storage held this agent's state.
  virtual void start(Env& host_env, bool restarted) = 0;
  virtual void on_message(Env& env, const Message& msg) = 0;
  virtual void on_timer(Env& env, uint64_t what) = 0;

  // --- agent.go's delegate ---
  bool encrypted() const;
  std::optional<coordinate::Coordinate> lan_coordinate() const;
  // Leave: a graceful leave (client.go / server.go Leave); `done` runs when
  // Consul's Leave would return.
  virtual void leave(Env& env, std::function<void(Env&)> done) = 0;
  std::vector<Member> lan_members() const;
  std::vector<Member> lan_members_all_segments() const { return lan_members(); }
  // Consul OSS: segment "" is the LAN pool; any other name is an error.
  std::optional<std::vector<Member>> lan_segment_members(std::string_view segment, std::string* error) const;
  Member local_member() const;
  // serf.Join(addrs, ignoreOld = true); "" when it started.
  std::string join_lan(Env& env, const std::vector<NodeId>& addrs);
  // serf.RemoveFailedNode(Prune): a force-leave of a failed member (a
  // server does it on its WAN pool too).
  virtual std::string remove_failed_node(Env& env, NodeId node, bool prune);
  virtual void rpc(Env& env, RpcRequest req, RpcDone done) = 0;
  // SnapshotRPC: save (restore == nullptr) or restore the servers' state.
  void snapshot_rpc(Env& env, std::shared_ptr<const std::string> restore, RpcDone done);
  virtual void shutdown(Env& env) = 0;
  virtual std::map<std::string, std::map<std::string, std::string>> stats() const = 0;

  // --- components ---
  serf::Serf& serf_lan() { return lan_; }
  const serf::Serf& serf_lan() const { return lan_; }
  NodeId self() const { return self_; }
  const Directory& directory() const { return *directory_; }
  const std::string& datacenter() const { return directory_->datacenters[directory_->at(self_).dc]; }
  bool shut_down() const { return shut_down_; }
  // ClusterSize for the syncer: len(LANMembers()).
  uint64_t lan_member_count() const { return lan_.num_members(); }

  // serf::EventListener: queued, handled by drain_events().
  void on_member_event(Env& env, serf::MemberEventType type, NodeId member) override;
  void on_user_event(Env& env, serf::LamportTime ltime, const serf::UserEvent& event, bool coalesce) override;
  void on_join_done(Env& env, uint32_t contacted, uint32_t asked) override;

 protected:
  struct QueuedEvent {
    enum class Kind : uint8_t { kMember, kUser, kJoinDone } kind = Kind::kMember;
    serf::MemberEventType type = serf::MemberEventType::kJoin;
    NodeId member = kNoNode;  // kJoinDone: contacted
    serf::LamportTime ltime = 0;  // kJoinDone: asked
    serf::UserEvent event;
  };
  // Handles the queued serf events (the event handler goroutine).
  void drain_events(Env& env);
  virtual void handle_member_event(Env& env, serf::MemberEventType type, NodeId member) = 0;
  // localEvent: consul:new-leader -> server_up; consul:event:* -> the agent.
  void handle_user_event(Env& env, serf::LamportTime ltime, const serf::UserEvent& event);
  Member member(NodeId n, serf::MemberStatus status) const;
  // The rpc port's answers to our calls (and refusals of them): true when
  // `msg` was one, handed to the caller.
  bool handle_rpc_answer(Env& env, const Message& msg);
  // The rpc port's timers: a call's deadline or a wait.
  void handle_rpc_timer(Env& env, uint64_t what);

  NodeId self_;
  std::shared_ptr<const Directory> directory_;
  AgentHooks& hooks_;
  serf::Serf lan_;
  RpcCaller caller_;
  Deferred deferred_;
  std::vector<QueuedEvent> queued_;
  bool draining_ = false;
  bool shut_down_ = false;
};

// The router's view of a serf member event (client_serf.go, router.go).
MemberEvent member_event_of(serf::MemberEventType type);

// The serf user events Consul sends (names as serf carries them): name ids
// for serf's records, and the payload that holds the full name and, for
// consul:event:*, the agent's UserEvent.
inline constexpr uint32_t kNewLeaderEventId = 1;  // "consul:new-leader"
inline constexpr uint32_t kUserEventId = 2;       // "consul:event:<name>"
inline constexpr std::string_view kNewLeaderEvent = "consul:new-leader";
struct ConsulEventPayload final : serf::EventPayload {
  std::string name;                        // the serf event name
  std::shared_ptr<const UserEvent> event;  // consul:event:*; null for consul:new-leader
};
// A serf user event for `name` (the serf name) carrying `event`, or for
// consul:new-leader `payload` (the leader's name), with its encoded size.
serf::UserEvent make_serf_event(std::string name, std::shared_ptr<const UserEvent> event, const std::string& payload,
                                uint32_t payload_bytes);

}  // namespace core::agent

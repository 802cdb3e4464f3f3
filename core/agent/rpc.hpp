// Consul's RPC between agents (agent/consul/rpc.go, the endpoints in
// agent/consul/*_endpoint.go, v1.9.0), as messages: what a client sends to a
// server and a server to another server (forwarding to the leader or to
// another datacenter), and the answers. Also the agent's health-check probes
// (a TCP connect, an HTTP GET) and their answers.
//
// Wire: family kFamilyRpc (requests and responses on the rpc port, Consul's
// 8300) and kFamilyAgent (probes on the host port). Bodies are immutable and
// shared (core::Message holds a shared_ptr<const AgentMsg>). Consul's RPC
// runs over TCP (yamux streams), so every message here is a stream message:
// never lost to link loss, still delayed and still cut by partitions and
// crashes. size_bytes approximates Consul's msgpack encoding (the RPC header
// {Method, Seq}, the request's fields and strings), for the bandwidth model.
//
// Errors: Consul returns errors as text; the caller classifies them for its
// retry rule (rpc.go canRetry; server_manager.hpp RpcError). A response
// carries the class and Consul's text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/agent/read_mode.hpp"
#include "core/agent/server_manager.hpp"
#include "core/agent/user_events.hpp"
#include "core/catalog/commands.hpp"
#include "core/catalog/store.hpp"
#include "core/message.hpp"
#include "core/types.hpp"

namespace core::agent {

// Message type codes.
inline constexpr uint16_t kRpcRequest = 0x0501;
inline constexpr uint16_t kRpcResponse = 0x0502;
inline constexpr uint16_t kProbe = 0x0601;
inline constexpr uint16_t kProbeReply = 0x0602;
// "rpc.request", "agent.probe", ...; nullptr for an unknown code.
const char* type_name(uint16_t type);

// The endpoints modelled (Consul's method names in method_name()).
enum class Method : uint8_t {
  kCatalogRegister = 1,
  kCatalogDeregister = 2,
  kCatalogNodeServices = 3,
  kHealthNodeChecks = 4,
  kKvsApply = 5,
  kKvsGet = 6,
  kInternalEventFire = 7,
  kStatusLeader = 8,
  kStatusPeers = 9,
  kStatusPing = 10,
  kSnapshotSave = 11,     // Snapshot RPC, save: the servers' state as of the leader's last applied entry
  kSnapshotRestore = 12,  // Snapshot RPC, restore: replaces the servers' state
};
// "Catalog.Register", ...
const char* method_name(Method m);
// structs.RPCInfo.IsRead: queries (and Status, Snapshot save) are reads.
bool is_read(Method m);
// Whether the endpoint forwards to the leader (ForwardRPC); Status.* is
// answered by the server asked.
bool forwards(Method m);


// Consul's error texts.
inline constexpr const char* kErrNoLeader = "No cluster leader";                 // structs.ErrNoLeader
inline constexpr const char* kErrNoServers = "No known Consul servers";          // structs.ErrNoServers
inline constexpr const char* kErrNoDcPath = "No path to datacenter";             // structs.ErrNoDCPath
inline constexpr const char* kErrSessionShutdown = "session shutdown";          // yamux: the connection died
inline constexpr const char* kErrConnectionRefused = "dial tcp: connect: connection refused";
inline constexpr const char* kErrConnectionReset = "read tcp: connection reset by peer";
inline constexpr const char* kErrLeadershipLost = "leadership lost while committing log";  // raft.ErrLeadershipLost
inline constexpr const char* kErrNotLeader = "node is not the leader";           // raft.ErrNotLeader
inline constexpr const char* kErrNotReadyForConsistentReads = "Not ready to serve consistent reads";

// --- requests ---------------------------------------------------------------

struct NoArgs {
  bool operator==(const NoArgs&) const = default;
};
// Catalog.NodeServices, Health.NodeChecks: NodeSpecificRequest.
struct NodeQuery {
  std::string node;
  bool operator==(const NodeQuery&) const = default;
};
// KVS.Get: KeyRequest.
struct KeyQuery {
  std::string key;
  bool operator==(const KeyQuery&) const = default;
};
// Internal.EventFire: EventFireRequest; the payload is the agent's encoded
// UserEvent (here the event itself, immutable and shared).
struct EventFireArgs {
  std::shared_ptr<const UserEvent> event;
  bool operator==(const EventFireArgs&) const = default;
};
// Snapshot restore: the servers' state as a snapshot save returned it.
struct RestoreArgs {
  std::shared_ptr<const std::string> snapshot;
  bool operator==(const RestoreArgs&) const = default;
};
using Args = std::variant<NoArgs, catalog::RegisterRequest, catalog::DeregisterRequest, catalog::KvsRequest, NodeQuery,
                          KeyQuery, EventFireArgs, RestoreArgs>;

struct RpcRequest {
  uint64_t id = 0;  // the caller's; the answer carries it back
  Method method = Method::kStatusPing;
  std::string datacenter;  // the target datacenter ("" = the receiver's)
  ReadMode mode = ReadMode::kDefault;
  Args args;
};

// --- answers ----------------------------------------------------------------

// A server's answer to Status.Peers: its Raft configuration's servers.
struct Peers {
  std::vector<NodeId> servers;
  bool operator==(const Peers&) const = default;
};
struct SnapshotReply {
  std::shared_ptr<const std::string> snapshot;  // the catalog state machine's snapshot
  uint64_t index = 0;                           // the last index it covers
  bool operator==(const SnapshotReply&) const = default;
};
using Reply = std::variant<NoArgs,
                           catalog::ApplyResult,                     // writes (KVS.Apply: code kFalse = false)
                           std::optional<catalog::NodeServices>,     // Catalog.NodeServices
                           std::vector<catalog::Check>,              // Health.NodeChecks
                           std::optional<catalog::KvEntry>,          // KVS.Get
                           NodeId,                                   // Status.Leader (kNoNode: none)
                           Peers,                                    // Status.Peers
                           SnapshotReply>;                           // Snapshot save

struct RpcResponse {
  uint64_t id = 0;
  bool ok = true;
  RpcError error = RpcError::kOther;  // when !ok: its class, for canRetry
  std::string error_text;             // when !ok: Consul's text
  Reply reply;
  // QueryMeta of a read: the index it was served at, whether the server
  // knew a leader, and how long since its last contact with it (0 on the
  // leader).
  uint64_t index = 0;
  bool known_leader = false;
  Duration last_contact = 0;
  // Writes: the Raft index the command was applied at (not on Consul's
  // wire; kept for client histories and checkers).
  uint64_t raft_index = 0;
  NodeId served_by = kNoNode;  // the server that answered (also after forwarding)
  // The attempts the caller made (a client's retries; 1 for a server's own
  // RPC). Not on the wire.
  uint32_t attempts = 1;
};

// A health-check probe (a TCP connect or an HTTP GET to a service).
struct Probe {
  uint64_t id = 0;
  std::string service;  // the service id probed on the receiving node
  bool http = false;
};
struct ProbeReply {
  uint64_t id = 0;
  bool healthy = false;  // the service answers (HTTP: 2xx; TCP: the connect succeeded)
};

struct AgentMsg {
  std::variant<RpcRequest, RpcResponse, Probe, ProbeReply> body;
};

// Builds the Message (type, stream, size) for a body.
Message make_message(NodeId to, RpcRequest req);
Message make_message(NodeId to, RpcResponse resp);
Message make_message(NodeId to, Probe p);
Message make_message(NodeId to, ProbeReply p);
// The body of an agent message; nullptr when `msg` is not one.
const AgentMsg* agent_body(const Message& msg);

// Sizes used by make_message (exposed for tests).
uint32_t request_bytes(const RpcRequest& req);
uint32_t response_bytes(const RpcResponse& resp);

// A failed answer.
RpcResponse rpc_error(uint64_t id, RpcError code, std::string text);

}  // namespace core::agent

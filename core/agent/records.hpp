// Trace records of the Consul agent (core/agent), family kFamilyAgent. They
// say what an agent did at the level Consul's operators see: RPCs it issued
// and how they ended, anti-entropy passes, local state changes, health-check
// transitions, user events stored in its ring, and a server's leader duties
// (the new-leader event, reconcile of members into the catalog, autopilot,
// bootstrap) and leave steps.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/record.hpp"

namespace core::agent {

// An RPC this agent issued (delegate.RPC) ended: a = Method | (outcome << 8)
// (outcome 0 = ok, else the RpcError class), b = attempts made, c = latency
// in ns from the call to the answer.
inline constexpr RecordKind kRecordRpc{0x0601};
// An anti-entropy pass ended: a = SyncKind, b = 1 if it succeeded, c = the
// catalog operations it performed | (for a full sync) the StateSyncer's
// FullSyncCause << 32.
inline constexpr RecordKind kRecordSync{0x0602};
// The local state changed (agent API): a = LocalChange, b = id_hash(the
// service or check id), c = the check status for kCheckStatus.
inline constexpr RecordKind kRecordLocal{0x0603};
// A user event was stored in this agent's ring: a = its id hash (id_hash of
// the firing agent's event id), b = serf Lamport time.
inline constexpr RecordKind kRecordUserEvent{0x0604};
// A server's leader duty: a = LeaderStep, b = Raft term, c = detail.
inline constexpr RecordKind kRecordLeader{0x0605};
// The leader reconciled serf member `a` into the catalog: b = ReconcileStatus
// handled, c = ReconcileAction taken.
inline constexpr RecordKind kRecordReconcile{0x0606};
// Autopilot changed the Raft configuration about server `a`: b = AutopilotAction,
// c = 1 if Raft accepted the change.
inline constexpr RecordKind kRecordAutopilot{0x0607};
// A step of this agent's graceful leave: a = LeaveStep.
inline constexpr RecordKind kRecordLeave{0x0608};
// A join (start_join / retry_join / the API) ended: a = members contacted,
// b = attempt number.
inline constexpr RecordKind kRecordJoin{0x0609};
// A health probe answered or timed out: a = id_hash(check id), b = 1 if healthy.
inline constexpr RecordKind kRecordProbe{0x060A};

enum SyncKind : uint64_t { kSyncFull = 1, kSyncChanges = 2 };

enum LocalChange : uint64_t {
  kServiceAdded = 1,
  kServiceRemoved = 2,
  kCheckAdded = 3,
  kCheckRemoved = 4,
  kCheckStatus = 5,
};

enum LeaderStep : uint64_t {
  kLeaderGained = 1,         // leaderLoop started; c = 1 if the new-leader event was fired
  kLeaderBarrier = 2,        // the Raft barrier completed; c = 1 if it succeeded
  kLeaderEstablished = 3,    // establishLeadership done
  kLeaderReconciled = 4,     // a full reconcile finished; c = members reconciled
  kLeaderLost = 5,           // leaderLoop stopped
  kReconcileDropped = 6,     // a member event found reconcileCh full; c = member
  kBootstrapped = 7,         // maybeBootstrap bootstrapped Raft; c = servers in the configuration
  kBootstrapSkipped = 8,     // maybeBootstrap found existing Raft peers; c = the server that reported them
};

enum ReconcileStatus : uint64_t { kMemberAlive = 1, kMemberFailed = 2, kMemberLeft = 3, kMemberReap = 4 };

enum ReconcileAction : uint64_t {
  kReconcileSkipped = 0,       // already as it should be (or not a member to handle)
  kReconcileRegistered = 1,    // registered with serfHealth passing
  kReconcileCritical = 2,      // serfHealth set critical
  kReconcileDeregistered = 3,  // node deregistered
  kReconcileFailed = 4,        // the Raft apply failed
};

enum AutopilotAction : uint64_t {
  kAutopilotAddNonvoter = 1,
  kAutopilotPromote = 2,
  kAutopilotRemove = 3,
  kAutopilotRemoveFailed = 4,  // RemoveFailedServer: a force-leave of a failed server
};

enum LeaveStep : uint64_t {
  kLeaveStarted = 1,
  kLeaveRaftRemoved = 2,     // a leaving leader removed itself from Raft
  kLeaveSerfDone = 3,        // serf LAN (and WAN) leave finished
  kLeaveDrained = 4,         // leave_drain_time passed
  kLeaveRaftConfirmed = 5,   // a follower saw itself out of the configuration
  kLeaveRaftTimeout = 6,     // ... or gave up after raftRemoveGracePeriod
  kLeaveShutdown = 7,        // the agent shut down
};

// A stable 64-bit hash of an id string (FNV-1a), for record fields.
uint64_t id_hash(std::string_view id);

RecordInfo record_info(RecordKind kind);

}  // namespace core::agent

// Trace records of serf (core/serf), family kFamilySerf. They say what a
// node's serf-level view became and which user events it delivered, so that
// a layer can measure convergence of the views and the dissemination of
// events and intents from outside.
#pragma once

#include <cstdint>

#include "core/record.hpp"

namespace core::serf {

// serf MemberStatus, in its order (Consul's synthetic StatusReap = -1 is a
// kRecordReap here).
enum class MemberStatus : uint8_t { kNone = 0, kAlive = 1, kLeaving = 2, kLeft = 3, kFailed = 4 };
const char* member_status_name(MemberStatus s);

// The serf instance's own state (serf SerfState).
enum class SerfState : uint8_t { kAlive = 0, kLeaving = 1, kLeft = 2, kShutdown = 3 };
const char* serf_state_name(SerfState s);

// The viewer's record of member `a` changed: b = MemberStatus, c = its
// status Lamport time. Emitted whenever either changes (a new member, a
// memberlist join/leave, an intent). Members given to start() as already
// known are not announced (the layer knows the starting views).
inline constexpr RecordKind kRecordMember{0x0401};
// A user event delivered here (it passed de-duplication and the age
// checks): a = ltime, b = name id, c = payload hash.
inline constexpr RecordKind kRecordUserEvent{0x0402};
// Member `a` erased from the member list (serf EventMemberReap): b = the
// MemberStatus it had, c = 1 when forced (a pruning leave intent), 0 when
// the reaper's timeout passed.
inline constexpr RecordKind kRecordReap{0x0403};
// This node's leave finished: a = LeaveOutcome. Only kLeaveDone leaves the
// node in state left; otherwise it stays leaving (serf's Leave returns
// the error and Consul goes on to shut down).
inline constexpr RecordKind kRecordLeaveDone{0x0404};
// A join() finished: a = nodes contacted, b = nodes asked. A join intent
// is broadcast if a > 0.
inline constexpr RecordKind kRecordJoinDone{0x0405};
// A force_leave() finished broadcasting: a = node, b = 1 if it timed out
// (BroadcastTimeout) before the intent retired.
inline constexpr RecordKind kRecordForceLeaveDone{0x0406};
// The rejoin after a restart finished (serf handleRejoin): a = the
// previously alive member that answered (kNoNode: none did), b = attempts.
inline constexpr RecordKind kRecordRejoin{0x0407};
// The queue-depth check dropped messages: a = SerfQueue, b = depth before,
// c = the limit.
inline constexpr RecordKind kRecordQueuePrune{0x0408};
// Member `a` changed its tags (serf EventMemberUpdate).
inline constexpr RecordKind kRecordMemberUpdate{0x0409};
// The serf instance's state changed: a = SerfState.
inline constexpr RecordKind kRecordState{0x040A};
// A user event originated here (serf UserEvent): a = ltime, b = name id,
// c = payload hash. It is also delivered here (kRecordUserEvent).
inline constexpr RecordKind kRecordUserEventSent{0x040B};

enum LeaveOutcome : uint64_t {
  kLeaveDone = 0,              // left after LeavePropagateDelay
  kLeaveIntentTimeout = 1,     // the leave intent did not retire within BroadcastTimeout
  kLeaveMemberlistTimeout = 2, // memberlist's leave broadcast did not retire in time
};

// serf's three broadcast queues.
enum SerfQueue : uint64_t { kQueueIntents = 0, kQueueEvents = 1, kQueueQueries = 2 };

RecordInfo record_info(RecordKind kind);

}  // namespace core::serf

#include "core/serf/records.hpp"

namespace core::serf {

RecordInfo record_info(RecordKind kind) {
  if (kind == kRecordMember) return {"serf.member", {"member", "status", "status_ltime"}};
  if (kind == kRecordUserEvent) return {"serf.user_event", {"ltime", "name", "payload_hash"}};
  if (kind == kRecordReap) return {"serf.reap", {"member", "status", "forced"}};
  if (kind == kRecordLeaveDone) return {"serf.leave_done", {"outcome", nullptr, nullptr}};
  if (kind == kRecordJoinDone) return {"serf.join_done", {"contacted", "asked", nullptr}};
  if (kind == kRecordForceLeaveDone) return {"serf.force_leave_done", {"member", "timed_out", nullptr}};
  if (kind == kRecordRejoin) return {"serf.rejoin", {"member", "attempts", nullptr}};
  if (kind == kRecordQueuePrune) return {"serf.queue_prune", {"queue", "depth", "limit"}};
  if (kind == kRecordMemberUpdate) return {"serf.member_update", {"member", nullptr, nullptr}};
  if (kind == kRecordState) return {"serf.state", {"state", nullptr, nullptr}};
  if (kind == kRecordUserEventSent) return {"serf.user_event_sent", {"ltime", "name", "payload_hash"}};
  return {"unknown", {"a", "b", "c"}};
}

const char* member_status_name(MemberStatus s) {
  switch (s) {
    case MemberStatus::kNone: return "none";
    case MemberStatus::kAlive: return "alive";
    case MemberStatus::kLeaving: return "leaving";
    case MemberStatus::kLeft: return "left";
    case MemberStatus::kFailed: return "failed";
  }
  return "unknown";
}

const char* serf_state_name(SerfState s) {
  switch (s) {
    case SerfState::kAlive: return "alive";
    case SerfState::kLeaving: return "leaving";
    case SerfState::kLeft: return "left";
    case SerfState::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace core::serf

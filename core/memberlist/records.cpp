#include "core/memberlist/records.hpp"

#include "core/memberlist/messages.hpp"
#include "core/memberlist/wire.hpp"

namespace core::memberlist {

RecordInfo record_info(RecordKind kind) {
  if (kind == kRecordState) return {"memberlist.state", {"member", "state", "incarnation"}};
  if (kind == kRecordProbeFailed) return {"memberlist.probe_failed", {"member", "nacks", "nacks_expected"}};
  if (kind == kRecordRefute) return {"memberlist.refute", {"incarnation", "accuser", "accused_of"}};
  if (kind == kRecordAwareness) return {"memberlist.awareness", {"score", nullptr, nullptr}};
  if (kind == kRecordReap) return {"memberlist.reap", {"member", nullptr, nullptr}};
  return {"unknown", {"a", "b", "c"}};
}

const char* type_name(uint16_t type) {
  switch (type) {
    case kPing: return "memberlist.ping";
    case kIndirectPing: return "memberlist.indirect_ping";
    case kAck: return "memberlist.ack";
    case kNack: return "memberlist.nack";
    case kGossip: return "memberlist.gossip";
    case kPushPull: return "memberlist.push_pull";
    case kStreamPing: return "memberlist.stream_ping";
    case kStreamAck: return "memberlist.stream_ack";
    default: return "unknown";
  }
}

const char* state_name(State s) {
  switch (s) {
    case State::kAlive: return "alive";
    case State::kSuspect: return "suspect";
    case State::kDead: return "dead";
    case State::kLeft: return "left";
  }
  return "unknown";
}

}  // namespace core::memberlist

#include "core/record.hpp"

#include "core/agent/records.hpp"
#include "core/hb/records.hpp"
#include "core/memberlist/records.hpp"
#include "core/serf/records.hpp"
#include "core/raft/records.hpp"

namespace core {

RecordInfo record_info(RecordKind kind) {
  switch (family_of(kind)) {
    case kFamilyHeartbeat: return hb::record_info(kind);
    case kFamilyRaft: return raft::record_info(kind);
    case kFamilyMemberlist: return memberlist::record_info(kind);
    case kFamilySerf: return serf::record_info(kind);
    case kFamilyAgent: return agent::record_info(kind);
    default: return {"unknown", {"a", "b", "c"}};
  }
}

}  // namespace core

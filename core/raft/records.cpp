#include "core/raft/records.hpp"

namespace core::raft {

RecordInfo record_info(RecordKind kind) {
  switch (static_cast<uint16_t>(kind)) {
    case static_cast<uint16_t>(kRecordRole): return {"raft.role", {"term", "role", nullptr}};
    case static_cast<uint16_t>(kRecordTerm): return {"raft.term", {"term", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordVote): return {"raft.vote", {"term", "candidate", nullptr}};
    case static_cast<uint16_t>(kRecordLeader): return {"raft.leader", {"term", "leader", nullptr}};
    case static_cast<uint16_t>(kRecordCommit): return {"raft.commit", {"index", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordApply): return {"raft.apply", {"index", "term", "data_hash"}};
    case static_cast<uint16_t>(kRecordAppend): return {"raft.append", {"first", "last", "last_term"}};
    case static_cast<uint16_t>(kRecordTruncate): return {"raft.truncate", {"from", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordSnapshot): return {"raft.snapshot", {"index", "term", nullptr}};
    case static_cast<uint16_t>(kRecordConfig): return {"raft.config", {"index", "voters", "nonvoters"}};
    case static_cast<uint16_t>(kRecordPreVote): return {"raft.prevote", {"term", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordElection): return {"raft.election", {"term", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordClientDone): return {"raft.client_done", {"request", "index", "term"}};
    case static_cast<uint16_t>(kRecordTransfer): return {"raft.transfer", {"target", "term", "stage"}};
    default: return {"unknown", {"a", "b", "c"}};
  }
}

}  // namespace core::raft

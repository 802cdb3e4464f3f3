#include "core/record.hpp"

namespace core {

RecordInfo record_info(RecordKind kind) {
  switch (kind) {
    case RecordKind::kHbSuspect: return {"hb.suspect", {"peer", nullptr, nullptr}};
    case RecordKind::kHbAlive: return {"hb.alive", {"peer", nullptr, nullptr}};
    case RecordKind::kRaftRole: return {"raft.role", {"term", "role", nullptr}};
    case RecordKind::kRaftTerm: return {"raft.term", {"term", nullptr, nullptr}};
    case RecordKind::kRaftVote: return {"raft.vote", {"term", "candidate", nullptr}};
    case RecordKind::kRaftLeader: return {"raft.leader", {"term", "leader", nullptr}};
    case RecordKind::kRaftCommit: return {"raft.commit", {"index", nullptr, nullptr}};
    case RecordKind::kRaftApply: return {"raft.apply", {"index", "term", "data_hash"}};
    case RecordKind::kRaftAppend: return {"raft.append", {"first", "last", "last_term"}};
    case RecordKind::kRaftTruncate: return {"raft.truncate", {"from", nullptr, nullptr}};
    case RecordKind::kRaftSnapshot: return {"raft.snapshot", {"index", "term", nullptr}};
    case RecordKind::kRaftConfig: return {"raft.config", {"index", "voters", "nonvoters"}};
    case RecordKind::kRaftPreVote: return {"raft.prevote", {"term", nullptr, nullptr}};
    case RecordKind::kRaftElection: return {"raft.election", {"term", nullptr, nullptr}};
    case RecordKind::kRaftClientDone: return {"raft.client_done", {"request", "index", "term"}};
    case RecordKind::kRaftTransfer: return {"raft.transfer", {"target", "term", "stage"}};
  }
  return {"unknown", {"a", "b", "c"}};
}

}  // namespace core

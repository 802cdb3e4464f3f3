// Trace records that protocol code emits through core::Env::record().
//
// A record is a fixed-size value: a kind and three integer fields whose
// meaning the kind defines (see record_info()). The simulator folds records
// into the run's trace hash and may write them as JSON Lines; checkers watch
// them. Records describe what a protocol did (role changes, commits, applies,
// membership views), never how much was logged.
#pragma once

#include <cstdint>

namespace core {

enum class RecordKind : uint16_t {
  // heartbeat failure detector (core/hb)
  kHbSuspect = 0x0101,  // a = peer now suspected
  kHbAlive = 0x0102,    // a = peer alive again
  // raft (core/raft)
  kRaftRole = 0x0201,        // a = term, b = role (0 follower, 1 candidate, 2 leader, 3 shutdown)
  kRaftTerm = 0x0202,        // a = new term
  kRaftVote = 0x0203,        // a = term, b = candidate voted for
  kRaftLeader = 0x0204,      // a = term, b = leader known (kNoNode if none)
  kRaftCommit = 0x0205,      // a = commit index
  kRaftApply = 0x0206,       // a = index, b = term, c = hash of the entry's data
  kRaftAppend = 0x0207,      // a = first index appended, b = last index, c = term of last
  kRaftTruncate = 0x0208,    // a = first index removed
  kRaftSnapshot = 0x0209,    // a = last included index, b = its term
  kRaftConfig = 0x020A,      // a = index of the latest configuration entry, b = voter ids, c = nonvoter ids
                             //     (b, c: bit i set = node i is in the set; ids >= 64 are not shown)
  kRaftPreVote = 0x020B,     // a = term the pre-vote was for
  kRaftElection = 0x020C,    // a = term started
  kRaftClientDone = 0x020D,  // a = request id, b = index (0 on failure), c = term (error code on failure,
                             //     see raft::ClientError; 1 = leadership lost, outcome unknown)
  kRaftTransfer = 0x020E,    // a = target, b = term, c = stage (0 started, 1 timeout_now sent,
                             //     2 aborted, 3 done: the old leader stepped down)
};

struct Record {
  RecordKind kind;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
};

struct RecordInfo {
  const char* name;    // e.g. "raft.role"
  const char* fields[3];  // names of a, b, c; nullptr when unused
};

// Describes a kind for JSON output; unknown kinds get name "unknown".
RecordInfo record_info(RecordKind kind);

}  // namespace core

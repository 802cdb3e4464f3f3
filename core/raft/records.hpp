// Trace records of the Raft protocol (core/raft), family kFamilyRaft.
#pragma once

#include <cstdint>

#include "core/record.hpp"

namespace core::raft {

inline constexpr RecordKind kRecordRole{0x0201};    // a = term, b = role (raft::Role)
inline constexpr RecordKind kRecordTerm{0x0202};    // a = new term
inline constexpr RecordKind kRecordVote{0x0203};    // a = term, b = candidate voted for
inline constexpr RecordKind kRecordLeader{0x0204};  // a = term, b = leader known (kNoNode if none)
inline constexpr RecordKind kRecordCommit{0x0205};  // a = commit index
inline constexpr RecordKind kRecordApply{0x0206};   // a = index, b = term, c = hash of the entry's data
inline constexpr RecordKind kRecordAppend{0x0207};  // a = first index appended, b = last index, c = term of last
inline constexpr RecordKind kRecordTruncate{0x0208};  // a = first index removed
inline constexpr RecordKind kRecordSnapshot{0x0209};  // a = last included index, b = its term
// a = index of the latest configuration entry, b = voter ids, c = nonvoter
// ids (bit i set = node i is in the set; ids >= 64 are not shown).
inline constexpr RecordKind kRecordConfig{0x020A};
inline constexpr RecordKind kRecordPreVote{0x020B};   // a = term the pre-vote was for
inline constexpr RecordKind kRecordElection{0x020C};  // a = term started
// a = request id, b = index (0 on failure), c = term, or on failure the
// error code (raft::ClientError; 1 = leadership lost, outcome unknown). A
// verify_leader() has no index: b = 0 and c = 0 (kOk) when it succeeded.
inline constexpr RecordKind kRecordClientDone{0x020D};
inline constexpr RecordKind kRecordTransfer{0x020E};  // a = target, b = term, c = stage (TransferStage)

// Stages of a leadership transfer, in kRecordTransfer's c.
enum TransferStage : uint64_t {
  kTransferStarted = 0,
  kTransferTimeoutNowSent = 1,
  kTransferAborted = 2,
  kTransferDone = 3,  // the old leader stepped down
};

RecordInfo record_info(RecordKind kind);

}  // namespace core::raft

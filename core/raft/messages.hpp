// Messages of the Raft protocol (core/raft), modelled on hashicorp/raft's
// commands.go RPCs. Requests and their responses are separate messages: the
// simulated network may lose, duplicate or reorder either, so every response
// echoes what it answers (`seq`, and for AppendEntries the range it covers)
// instead of relying on a TCP stream's ordering as hashicorp/raft does.
//
// Ownership: a Msg is immutable once sent; core::Message holds it behind a
// shared_ptr, so every copy of a message (a duplicate, say) shares one Msg and
// sizeof(core::Message) does not grow with what it carries. A Msg owns its
// entries (std::vector) and shares snapshot bytes with the sender's snapshot
// (shared_ptr<const std::string>). Plain values otherwise; no invariants
// beyond what each field's comment says.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/raft/configuration.hpp"
#include "core/types.hpp"

namespace core::raft {

enum MsgType : uint16_t {
  kRequestVote = 0x0201,
  kRequestVoteResp = 0x0202,
  kRequestPreVote = 0x0203,
  kRequestPreVoteResp = 0x0204,
  kAppendEntries = 0x0205,
  kAppendEntriesResp = 0x0206,
  kInstallSnapshot = 0x0207,
  kInstallSnapshotResp = 0x0208,
  kTimeoutNow = 0x0209,
  kTimeoutNowResp = 0x020A,
};

enum class EntryType : uint8_t {
  kCommand = 0,        // client data for the state machine
  kNoop = 1,           // appended by every new leader (hashicorp LogNoop)
  kConfiguration = 2,  // data = Configuration::encode()
  // Appended by Node::barrier() (hashicorp LogBarrier): no data, never handed
  // to the state machine. Applying it on the leader means every entry before
  // it has been applied there, which is what the caller waits for.
  kBarrier = 3,
};

struct Entry {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryType type = EntryType::kCommand;
  std::string data;
};

// FNV-1a over the type byte and the data: the identity of an entry's content
// that trace records and checkers compare. Stable across builds.
uint64_t entry_hash(EntryType type, const std::string& data);

struct RequestVote {
  uint64_t term = 0;
  uint64_t last_log_index = 0;
  uint64_t last_log_term = 0;
  // Set by a candidate started by TimeoutNow: overrides leader stickiness.
  bool leadership_transfer = false;
};

// Pre-vote asks "would you vote for me in `term`?" (term = candidate's term + 1)
// without anyone changing term (thesis §9.6, hashicorp v1.7 preElectSelf).
struct RequestPreVote {
  uint64_t term = 0;
  uint64_t last_log_index = 0;
  uint64_t last_log_term = 0;
};

// Answer to RequestVote or RequestPreVote (the message type says which).
struct VoteResp {
  uint64_t term = 0;  // responder's current term
  bool granted = false;
};

struct AppendEntries {
  uint64_t term = 0;
  uint64_t prev_log_index = 0;
  uint64_t prev_log_term = 0;
  uint64_t leader_commit = 0;
  // Heartbeats (hashicorp heartbeat()) carry no entries, prev 0 and commit 0:
  // they only assert leadership and refresh the follower's lastContact.
  bool heartbeat = false;
  std::vector<Entry> entries;
};

struct AppendEntriesResp {
  uint64_t term = 0;
  // Follower's last log index when the request arrived (hashicorp LastLog):
  // the leader's fast back-off hint on failure.
  uint64_t last_log = 0;
  // Echo of the request: on success the follower's log matches the leader's
  // through `match_index` = prev_log_index + entries.size().
  uint64_t prev_log_index = 0;
  uint64_t match_index = 0;
  bool success = false;
  // The request failed on a log mismatch, not on an error: retry at once.
  bool no_retry_backoff = false;
  bool heartbeat = false;
};

struct InstallSnapshot {
  uint64_t term = 0;
  uint64_t last_index = 0;
  uint64_t last_term = 0;
  uint64_t configuration_index = 0;
  Configuration configuration;
  std::shared_ptr<const std::string> data;
};

struct InstallSnapshotResp {
  uint64_t term = 0;
  uint64_t last_index = 0;  // echo
  bool success = false;
};

struct TimeoutNow {
  uint64_t term = 0;
};

struct TimeoutNowResp {
  uint64_t term = 0;
};

struct Msg {
  // Request sequence number chosen by the sender (per sender, increasing);
  // responses copy it so the sender can match them to what it is waiting for.
  uint64_t seq = 0;
  std::variant<RequestVote, RequestPreVote, VoteResp, AppendEntries, AppendEntriesResp,
               InstallSnapshot, InstallSnapshotResp, TimeoutNow, TimeoutNowResp>
      body;
};

// "raft.append_entries", ...; "unknown" for an unknown code.
const char* type_name(uint16_t type);

// Estimated wire size: hashicorp/raft's msgpack framing is roughly a fixed
// header per RPC plus, per log entry, its data and ~30 bytes of fields.
uint32_t estimate_size(uint16_t type, const Msg& m);

// One-line human description for transcripts and JSON traces, e.g.
// "term=2 prev=1/1 commit=1 entries=[2/2 3/2]".
std::string describe(const Msg& m);

}  // namespace core::raft

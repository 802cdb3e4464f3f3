// Raft parameters, with hashicorp/raft's DefaultConfig() values
// (reference/raft.md §2.1) and Consul's overrides (§2.7).
//
// Validate once at the boundary (validate()); the node assumes a valid Config.
#pragma once

#include <cstdint>
#include <string>

#include "core/types.hpp"

namespace core::raft {

enum class TimerMode : uint8_t {
  // hashicorp/raft: follower timer uniform [HT, 2HT) not reset by heartbeats;
  // on expiry a follower campaigns only if lastContact is >= HT ago.
  kHashicorp = 0,
  // Raft paper / LogCabin (§9.3 experiment): follower timer reset on every
  // heartbeat, election timeout uniform [election_timeout,
  // election_timeout_max], heartbeat interval = election_timeout / 2.
  kPaper = 1,
};

struct Config {
  Duration heartbeat_timeout = 1000 * kMillisecond;
  Duration election_timeout = 1000 * kMillisecond;
  Duration leader_lease_timeout = 500 * kMillisecond;
  Duration commit_timeout = 50 * kMillisecond;
  uint32_t max_append_entries = 64;
  uint64_t trailing_logs = 10240;
  Duration snapshot_interval = 120 * kSecond;
  uint64_t snapshot_threshold = 8192;

  bool pre_vote = true;           // hashicorp >= 1.7: PreVoteDisabled = false
  bool check_quorum = true;       // leader lease step-down (checkLeaderLease)
  bool leader_stickiness = true;  // refuse votes while a leader is known
  TimerMode timer_mode = TimerMode::kHashicorp;
  // Paper mode only: upper end of the election timeout range; 0 means 2 x
  // election_timeout.
  Duration election_timeout_max = 0;

  // Deadline for a replication RPC's answer. Not a hashicorp/raft Config field:
  // its NetworkTransport has an I/O deadline (10 s in Consul) and TCP
  // retransmits lost segments; our network drops messages outright, so this
  // shorter deadline stands in for both.
  Duration rpc_timeout = 1000 * kMillisecond;
  // AppendEntries in flight per follower once pipelining (hashicorp
  // rpcMaxPipeline = 128).
  uint32_t max_inflight = 128;

  // TEST ONLY: voters grant votes without the "candidate's log is at least as
  // up-to-date" check (Figure 2, RequestVote rule 2). Breaks safety on
  // purpose so tests can prove the checkers catch it.
  bool unsafe_skip_vote_log_check = false;

  bool operator==(const Config&) const = default;

  // hashicorp/raft DefaultConfig().
  static Config hashicorp_default() { return Config{}; }
  // Consul's server settings: raft_multiplier scales only heartbeat,
  // election and lease timeouts (default multiplier 5, valid 1..10);
  // SnapshotInterval 30 s, SnapshotThreshold 16384.
  static Config consul(int raft_multiplier = 5);
  // Multiplies heartbeat_timeout, election_timeout and leader_lease_timeout.
  void scale(int raft_multiplier);

  // Empty when valid, else what is wrong (hashicorp ValidateConfig rules plus
  // our own fields).
  std::string validate() const;

  // Paper mode values derived from the fields above.
  Duration paper_election_max() const {
    return election_timeout_max > 0 ? election_timeout_max : 2 * election_timeout;
  }
};

}  // namespace core::raft

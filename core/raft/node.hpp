// core::raft::Node: one Raft server with hashicorp/raft's behaviour as Consul
// uses it (reference/raft.md §2): pre-vote, leader stickiness, lease-based
// step-down, randomized timers not reset by heartbeats, pipelined
// replication, snapshots with trailing logs, single-server membership changes
// and leadership transfer. Deviations from hashicorp/raft are marked
// "Deviation:" in node*.cpp (node.cpp: roles and elections;
// node_replication.cpp: AppendEntries, InstallSnapshot, commit and apply,
// leadership verification;
// node_storage.cpp: durable state; node_client.cpp: client API).
//
// Ownership and threading: the host owns the Node and calls start() on every
// boot, then on_message()/on_timer() and the client API one at a time, each
// with the node's Env. The Env pointer is only used during such a call. The
// Node owns its StateMachine.
//
// Durability: term, vote, log entries and the snapshot live in
// env.storage() under "raft/..." keys; a change is followed by env.sync()
// before any message that depends on it is sent (Env's ordering rule). The
// leader counts its own log toward a commit quorum only once the write is
// durable (storage().durable_seq()), as hashicorp's leader does after
// StoreLogs returns. start() rebuilds all state from storage.
//
// Invariants, checked after every input and every client call with
// CORE_CHECK (core/check.hpp: core::InvariantViolation, in every build):
// commit_index() <= last_log_index(); last_applied() <= commit_index();
// snapshot_index() <= last_applied(); the in-memory log holds every index in
// [first_log_index(), last_log_index()] and starts at or below the snapshot's
// successor; every configuration the node tracks above its snapshot is a
// configuration entry of its log; only a leader has client requests
// (proposals, barriers, verifications) waiting for an answer. (Debug builds
// also compare each tracked configuration with its entry's contents.)
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/message.hpp"
#include "core/raft/config.hpp"
#include "core/raft/configuration.hpp"
#include "core/raft/messages.hpp"
#include "core/raft/records.hpp"
#include "core/raft/state_machine.hpp"

namespace core::raft {

enum class Role : uint8_t { kFollower = 0, kCandidate = 1, kLeader = 2 };
const char* role_name(Role r);

// Value c of a kRaftClientDone record {request, 0, code}: a failure, or
// kOk for a verify_leader() that succeeded (it has no index).
enum ClientError : uint64_t {
  kOk = 0,
  // Leadership was lost before the entry was applied here. The entry may
  // still commit under a later leader: the outcome is UNKNOWN (hashicorp
  // ErrLeadershipLost), not "did not happen".
  kLeadershipLost = 1,
};

// Immediate answer of a client call. When ok(), the outcome arrives later as a
// kRaftClientDone record (and a Completion, when collected).
struct Proposal {
  std::string error;  // empty when accepted
  uint64_t index = 0;
  uint64_t term = 0;
  bool ok() const { return error.empty(); }
};

struct Completion {
  uint64_t request_id = 0;
  uint64_t index = 0;  // 0 on failure, and for verify_leader()
  uint64_t term = 0;
  ClientError error = kOk;
  // StateMachine::apply's result for a command; "verified" for a
  // verify_leader() that succeeded; empty otherwise.
  std::string result;
};

// What checkers see of a log entry.
struct EntryInfo {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryType type = EntryType::kCommand;
  uint64_t hash = 0;  // entry_hash(type, data)
};

// Timer kinds, in the high 32 bits of the `what` handed to Env::set_timer; the
// low 32 bits hold a peer id for per-peer timers.
enum TimerKind : uint64_t {
  kTimerElection = 1,   // follower heartbeat timer / candidate election timer
  kTimerCommit = 2,     // leader: replication trigger every [CT, 2CT)
  kTimerLease = 3,      // leader: checkLeaderLease
  kTimerHeartbeat = 4,  // leader: heartbeat to one peer
  kTimerRetry = 5,      // leader: end of a peer's failure backoff
  kTimerRpc = 6,        // leader: deadline of a peer's oldest in-flight RPC
  kTimerSnapshot = 7,   // every [SI, 2SI): snapshot if over the threshold
  kTimerTransfer = 8,   // leadership transfer deadline
};
// "election", "heartbeat/2", ... for transcripts.
std::string timer_name(uint64_t what);

class Node : public core::Node {
 public:
  Node(Config config, std::unique_ptr<StateMachine> sm);

  // Configuration written at index 1, term 1 on the first boot with empty
  // storage (hashicorp BootstrapCluster). Call before start(); ignored when
  // storage already holds Raft state. A server that joins later is started
  // without one and waits to be contacted.
  void set_bootstrap(Configuration c) { bootstrap_ = std::move(c); }

  void start(Env& env) override;
  // hashicorp BootstrapCluster on a running node (liveBootstrap): on a
  // started node with no Raft state at all (term 0, empty log, no snapshot,
  // nothing in storage) it does what start() does with set_bootstrap's
  // configuration: term 1 and the configuration as entry 1 of term 1,
  // written and synced, tracked and recorded. The node stays a follower
  // whose election timer keeps running, so it campaigns when the timer fires
  // (it has never heard from a leader). Returns "" on success, or
  // "bootstrap only works on new clusters" when the node has any state
  // (hashicorp ErrCantBootstrap), or an error for a configuration without a
  // voter (hashicorp checkConfiguration); nothing changes then.
  std::string bootstrap(Env& env, Configuration c);
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;

  // ---- client API (leader only; otherwise an immediate error) ----
  Proposal propose(Env& env, uint64_t request_id, std::string data);
  // hashicorp Barrier: appends an EntryType::kBarrier entry, replicated and
  // committed like a command but never handed to the StateMachine. Its
  // outcome {request_id, index, term, kOk, result ""} comes when the leader
  // applies it, i.e. once every entry before it has been applied here (what
  // a new leader waits for before serving reads). Leadership lost first:
  // kLeadershipLost, outcome unknown, as for propose. Refused like propose
  // (not leader, leadership transfer in progress).
  Proposal barrier(Env& env, uint64_t request_id);
  // hashicorp VerifyLeader (Consul's consistent reads): confirms that no
  // other leader can have been elected since the call. It sends a heartbeat
  // to every peer at once (each peer's heartbeat timer restarts from it) and
  // succeeds when a quorum of the latest configuration's voters, this node
  // included if it is one, has answered a heartbeat sent at or after the
  // call, in this term: {request_id, 0, term, kOk, "verified"} (recorded as
  // kRaftClientDone {request, 0, kOk}). A single voter succeeds at once,
  // sending nothing. Leadership lost first, for any reason: kLeadershipLost.
  // Nothing else ends it: unanswered, it waits for answers or a step-down.
  // Several may be pending. Allowed during a leadership transfer (hashicorp
  // too); refused when not leader, like propose. The Proposal carries the
  // term and index 0.
  Proposal verify_leader(Env& env, uint64_t request_id);
  // Membership changes: prev_index != 0 must equal the latest configuration's
  // index. One uncommitted change at a time, and only once the leader has
  // committed an entry of its own term.
  Proposal add_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index);
  Proposal add_nonvoter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index);
  Proposal demote_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index);
  Proposal remove_server(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index);
  // To `target`, or to the most up-to-date voter when kNoNode. Empty string
  // when started; the outcome shows as role/leader records (and a
  // kRaftTransfer record).
  std::string transfer_leadership(Env& env, NodeId target = kNoNode);
  // Takes a snapshot now if anything was applied since the last one.
  void take_snapshot(Env& env);

  // Completions are queued only when enabled; the host drains them.
  void set_collect_completions(bool on) { collect_completions_ = on; }
  std::vector<Completion> take_completions() { return std::exchange(completions_, {}); }

  // ---- accessors ----
  const Config& config() const { return cfg_; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId leader() const { return leader_; }
  NodeId voted_for() const { return vote_term_ == term_ ? voted_for_ : kNoNode; }
  uint64_t commit_index() const { return commit_; }
  uint64_t last_applied() const { return applied_; }
  uint64_t first_log_index() const { return first_index_; }
  uint64_t last_log_index() const { return log_.empty() ? snapshot_index_ : log_.back().index; }
  uint64_t last_log_term() const { return term_at(last_log_index()); }
  // 0 when index is 0, compacted away, or beyond the log.
  uint64_t term_at(uint64_t index) const;
  std::optional<EntryInfo> entry_info(uint64_t index) const;
  const Entry* entry(uint64_t index) const;
  uint64_t snapshot_index() const { return snapshot_index_; }
  uint64_t snapshot_term() const { return snapshot_term_; }
  const Configuration& latest_configuration() const;
  uint64_t latest_configuration_index() const;
  const Configuration& committed_configuration() const;
  uint64_t committed_configuration_index() const;
  Time last_contact() const { return last_contact_; }
  bool leadership_transfer_in_progress() const { return transfer_target_ != kNoNode; }
  const StateMachine& state_machine() const { return *sm_; }
  // Leader only: a follower's replication progress (0 when unknown).
  uint64_t match_index(NodeId peer) const;
  uint64_t next_index(NodeId peer) const;
  // Leader only: when `peer` last answered a replication RPC (local time; 0
  // when it never did or is not a peer). Autopilot's health check reads it.
  Time peer_last_contact(NodeId peer) const;

 private:
  struct Peer {
    uint64_t next = 1;
    uint64_t match = 0;
    bool pipeline = false;  // matched: several AppendEntries may be in flight
    bool backing_off = false;
    uint64_t failures = 0;
    Time last_contact = 0;
    // Requests (seq, send time) whose answer we wait for, oldest first.
    std::deque<std::pair<uint64_t, Time>> inflight;
    TimerId hb_timer = 0;
    TimerId retry_timer = 0;
    TimerId rpc_timer = 0;
  };
  // A verify_leader() waiting for heartbeat answers.
  struct Verification {
    uint64_t request_id = 0;
    uint64_t first_seq = 0;   // requests numbered below it left before the call
    std::set<NodeId> acked;   // peers whose answer counts (voters among them vote)
  };

  Env& env() { return *env_; }
  void send(NodeId to, uint16_t type, Msg&& m);
  TimerId arm(Duration delay, TimerKind kind, NodeId peer = 0);
  void disarm(TimerId& id);
  Duration random_timeout(Duration min);  // uniform [min, 2min)
  void record(RecordKind kind, uint64_t a, uint64_t b = 0, uint64_t c = 0);

  // persistence
  void load();
  // True when term, log, snapshot or storage hold anything (hashicorp
  // HasExistingState): bootstrapping is then refused.
  bool has_state() const;
  // Term 1 and `c` as entry 1 of term 1, written and synced (hashicorp
  // BootstrapCluster's writes). Only on a node without state.
  void write_bootstrap(const Configuration& c);
  void persist_term_vote();
  void persist_entries(size_t from_pos);
  void truncate_from(uint64_t index);
  void compact_through(uint64_t index);
  void persist_snapshot();

  // roles
  void set_term(uint64_t term);
  void set_leader(NodeId id);
  void set_role(Role r);
  void step_down(uint64_t new_term);
  void become_follower();
  void become_candidate(bool from_transfer);
  void start_round();
  void start_real_election();
  void become_leader();
  void arm_election_timer();
  void leave_leader();

  // handlers
  void handle_request_vote(NodeId from, uint64_t seq, const RequestVote& m);
  void handle_request_prevote(NodeId from, uint64_t seq, const RequestPreVote& m);
  void handle_vote_resp(NodeId from, uint64_t seq, bool prevote, const VoteResp& m);
  void handle_append_entries(NodeId from, uint64_t seq, const AppendEntries& m);
  // Common start of a replication answer: a newer term deposes us; returns
  // the peer, or nullptr when the answer belongs to another term or role.
  Peer* response_peer(NodeId from, uint64_t term);
  // Removes request `seq` from the peer's in-flight list; false if it was no
  // longer awaited (answered late, after a deadline or a reset).
  bool settle_inflight(Peer& p, uint64_t seq);
  void handle_append_resp(NodeId from, uint64_t seq, const AppendEntriesResp& m);
  void handle_install_snapshot(NodeId from, uint64_t seq, const InstallSnapshot& m);
  void handle_install_resp(NodeId from, uint64_t seq, const InstallSnapshotResp& m);
  void handle_timeout_now(NodeId from, uint64_t seq, const TimeoutNow& m);
  void on_follower_timer();
  void on_lease_timer();
  bool log_ok(uint64_t last_index, uint64_t last_term) const;
  // The membership part of the (pre-)vote rules: true when `from` may not
  // get our vote whatever its term and log.
  bool refuses_candidate(NodeId from) const;
  // Accepts a message's term: steps down on a newer one. False when stale.
  bool accept_leader_term(NodeId from, uint64_t term);

  // leader
  uint64_t leader_append(EntryType type, std::string data);
  void replicate(NodeId id, bool force);
  void replicate_all(bool force);
  void send_append(NodeId id, Peer& p);
  void send_snapshot(NodeId id, Peer& p);
  void track_inflight(NodeId id, Peer& p, uint64_t seq);
  void peer_failed(NodeId id, Peer& p);
  void send_heartbeat(NodeId id);
  // Sends a heartbeat now and restarts the peer's heartbeat timer from it.
  void heartbeat_now(NodeId id, Peer& p);
  // A successful heartbeat answer of this term, to request `seq`.
  void note_heartbeat_ack(NodeId from, uint64_t seq);
  // Answers every pending verification that has its quorum.
  void finish_verifications();
  bool verification_quorum(const Verification& v) const;
  void verified(uint64_t request_id);
  void maybe_commit();
  void sync_peers(bool probe_new);
  enum class ConfigChange : uint8_t { kAddVoter, kAddNonvoter, kDemoteVoter, kRemoveServer };
  Proposal change_configuration(uint64_t request_id, NodeId id, uint64_t prev_index, ConfigChange op);
  // The error for a client call this node cannot take; during a leadership
  // transfer only calls that append to the log are refused.
  Proposal leader_check(bool during_transfer = false) const;
  // Appends an entry whose apply answers request_id; the caller has checked
  // that this node may accept it.
  Proposal append_request(uint64_t request_id, EntryType type, std::string data);
  void maybe_send_timeout_now();
  void end_transfer(TransferStage outcome);

  // log / state machine
  void append_local(Entry e);
  void set_commit(uint64_t index);
  void apply_committed();
  void note_config_change();
  const Configuration& config_at(uint64_t index, uint64_t* conf_index) const;
  // Checks the invariants above; throws core::InvariantViolation.
  void check_invariants() const;

  Config cfg_;
  std::unique_ptr<StateMachine> sm_;
  std::optional<Configuration> bootstrap_;
  Env* env_ = nullptr;

  // persistent (mirrors storage)
  uint64_t term_ = 0;
  uint64_t vote_term_ = 0;
  NodeId voted_for_ = kNoNode;
  std::deque<Entry> log_;  // indexes [first_index_, last_log_index()]
  uint64_t first_index_ = 1;
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  uint64_t snapshot_conf_index_ = 0;
  Configuration snapshot_conf_;
  std::shared_ptr<const std::string> snapshot_data_;
  std::map<uint64_t, Configuration> log_confs_;  // configuration entries with index > snapshot_conf_index_

  // volatile
  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;
  Time last_contact_ = 0;
  bool ever_contacted_ = false;
  uint64_t seq_ = 0;
  uint64_t last_recorded_conf_index_ = UINT64_MAX;
  TimerId election_timer_ = 0;
  TimerId snapshot_timer_ = 0;

  // candidate
  bool prevote_phase_ = false;
  bool from_transfer_ = false;
  uint64_t election_seq_ = 0;
  std::set<NodeId> granted_;

  // leader
  std::map<NodeId, Peer> peers_;
  uint64_t leader_start_index_ = 0;  // index of this term's no-op
  std::deque<std::pair<uint64_t, uint64_t>> unsynced_;  // (index, storage write seq)
  uint64_t self_durable_ = 0;
  std::map<uint64_t, uint64_t> pending_;  // index -> request id
  std::vector<Verification> verifications_;  // in call order
  TimerId commit_timer_ = 0;
  TimerId lease_timer_ = 0;
  TimerId transfer_timer_ = 0;
  NodeId transfer_target_ = kNoNode;
  bool timeout_now_sent_ = false;

  bool collect_completions_ = false;
  std::vector<Completion> completions_;
};

}  // namespace core::raft

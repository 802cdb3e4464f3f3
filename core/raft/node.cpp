// raft::Node: entry points, roles, elections. Replication is in node_replication.cpp,
// storage in node_storage.cpp, the client API in node_client.cpp.
#include "core/raft/node.hpp"

#include <algorithm>
#include <cassert>

#include "core/check.hpp"
#include "core/raft/storage_layout.hpp"

namespace core::raft {

using namespace layout;  // storage keys and encodings, internal to core/raft

namespace {

constexpr Duration kMinCheckInterval = 10 * kMillisecond;  // hashicorp minCheckInterval

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

std::string timer_name(uint64_t what) {
  const uint64_t peer = what & 0xffffffffu;
  switch (what >> 32) {
    case kTimerElection: return "election";
    case kTimerCommit: return "commit";
    case kTimerLease: return "lease";
    case kTimerHeartbeat: return "heartbeat/" + std::to_string(peer);
    case kTimerRetry: return "retry/" + std::to_string(peer);
    case kTimerRpc: return "rpc/" + std::to_string(peer);
    case kTimerSnapshot: return "snapshot";
    case kTimerTransfer: return "transfer";
    default: return "unknown";
  }
}

Node::Node(Config config, std::unique_ptr<StateMachine> sm) : cfg_(config), sm_(std::move(sm)) {
  assert(cfg_.validate().empty());
  assert(sm_ != nullptr);
}

// ---------------------------------------------------------------- plumbing

void Node::send(NodeId to, uint16_t type, Msg&& m) {
  Message out;
  out.to = to;
  out.type = type;
  out.size_bytes = estimate_size(type, m);
  out.body = std::make_shared<const Msg>(std::move(m));
  env().send(std::move(out));
}

TimerId Node::arm(Duration delay, TimerKind kind, NodeId peer) {
  return env().set_timer(delay, (static_cast<uint64_t>(kind) << 32) | peer);
}

void Node::disarm(TimerId& id) {
  if (id != 0) env().cancel_timer(id);
  id = 0;
}

Duration Node::random_timeout(Duration min) {
  // hashicorp randomTimeout: min + rand % min, i.e. uniform [min, 2min).
  return min + static_cast<Duration>(env().rng().below(static_cast<uint64_t>(min)));
}

void Node::record(RecordKind kind, uint64_t a, uint64_t b, uint64_t c) { env().record(Record{kind, a, b, c}); }

// ---------------------------------------------------------------- entry points

void Node::start(Env& env) {
  env_ = &env;
  // Volatile state starts over; timers did not survive the crash. (The host
  // may call start() again on this same object after a crash.)
  role_ = Role::kFollower;
  prevote_phase_ = false;
  from_transfer_ = false;
  timeout_now_sent_ = false;
  leader_ = kNoNode;
  ever_contacted_ = false;
  last_contact_ = 0;
  election_timer_ = snapshot_timer_ = commit_timer_ = lease_timer_ = transfer_timer_ = 0;
  peers_.clear();
  pending_.clear();
  verifications_.clear();
  unsynced_.clear();
  granted_.clear();
  transfer_target_ = kNoNode;
  last_recorded_conf_index_ = UINT64_MAX;
  load();
  if (bootstrap_ && !has_state()) write_bootstrap(*bootstrap_);
  // The state machine is rebuilt from the snapshot; the log after it is
  // re-applied once the commit index is learned again (as hashicorp does).
  sm_->restore(snapshot_data_ ? *snapshot_data_ : std::string());
  commit_ = applied_ = snapshot_index_;
  record(kRecordRole, term_, static_cast<uint64_t>(Role::kFollower));
  note_config_change();
  arm_election_timer();
  snapshot_timer_ = arm(random_timeout(cfg_.snapshot_interval), kTimerSnapshot);
  check_invariants();
}

std::string Node::bootstrap(Env& env, Configuration c) {
  env_ = &env;
  // hashicorp checks the configuration before the state.
  if (c.voter_count() == 0) return "need at least one voter in configuration: " + c.to_string();
  if (has_state()) return "bootstrap only works on new clusters";
  // A node without state cannot have campaigned or led (it knows no voters).
  CORE_CHECK(role_ == Role::kFollower, "raft: a node without state that is not a follower");
  write_bootstrap(c);
  // Unlike a boot, a running node's trace has already shown term 0 and no
  // configuration: record the changes.
  record(kRecordTerm, term_);
  record(kRecordAppend, 1, 1, 1);
  note_config_change();
  // The election timer armed by start() keeps running (hashicorp's follower
  // loop keeps its heartbeat timer); ever_contacted_ is false, so it
  // campaigns when the timer fires.
  check_invariants();
  return {};
}

bool Node::has_state() const {
  return term_ != 0 || !log_.empty() || snapshot_index_ != 0 || env_->storage().get(kTermKey) != nullptr;
}

void Node::write_bootstrap(const Configuration& c) {
  term_ = 1;
  Entry e{1, 1, EntryType::kConfiguration, c.encode()};
  log_.push_back(e);
  first_index_ = 1;
  log_confs_[1] = c;
  persist_entries(0);
  persist_term_vote();  // syncs
}

void Node::on_message(Env& env, const Message& msg) {
  env_ = &env;
  const auto* boxed = std::get_if<std::shared_ptr<const Msg>>(&msg.body);
  const Msg* m = boxed ? boxed->get() : nullptr;
  if (m == nullptr) return;
  const NodeId from = msg.from;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, RequestVote>) {
          handle_request_vote(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, RequestPreVote>) {
          handle_request_prevote(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, VoteResp>) {
          handle_vote_resp(from, m->seq, msg.type == kRequestPreVoteResp, body);
        } else if constexpr (std::is_same_v<T, AppendEntries>) {
          handle_append_entries(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, AppendEntriesResp>) {
          handle_append_resp(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, InstallSnapshot>) {
          handle_install_snapshot(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, InstallSnapshotResp>) {
          handle_install_resp(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, TimeoutNow>) {
          handle_timeout_now(from, m->seq, body);
        } else if constexpr (std::is_same_v<T, TimeoutNowResp>) {
          if (body.term > term_) step_down(body.term);
        }
      },
      m->body);
  check_invariants();
}

void Node::on_timer(Env& env, uint64_t what) {
  env_ = &env;
  const auto peer = static_cast<NodeId>(what & 0xffffffffu);
  switch (what >> 32) {
    case kTimerElection:
      election_timer_ = 0;
      if (role_ == Role::kFollower) {
        on_follower_timer();
      } else if (role_ == Role::kCandidate) {
        from_transfer_ = false;  // as hashicorp: only the first round skips pre-vote
        start_round();  // election timeout: a new round (pre-vote again if enabled)
      }
      break;
    case kTimerCommit:
      commit_timer_ = 0;
      if (role_ != Role::kLeader) break;
      replicate_all(true);
      maybe_commit();
      if (role_ == Role::kLeader) commit_timer_ = arm(random_timeout(cfg_.commit_timeout), kTimerCommit);
      break;
    case kTimerLease:
      lease_timer_ = 0;
      if (role_ == Role::kLeader) on_lease_timer();
      break;
    case kTimerHeartbeat: {
      auto it = peers_.find(peer);
      if (role_ != Role::kLeader || it == peers_.end()) break;
      it->second.hb_timer = 0;
      heartbeat_now(peer, it->second);
      break;
    }
    case kTimerRetry: {
      auto it = peers_.find(peer);
      if (role_ != Role::kLeader || it == peers_.end()) break;
      it->second.retry_timer = 0;
      it->second.backing_off = false;
      replicate(peer, true);
      break;
    }
    case kTimerRpc: {
      auto it = peers_.find(peer);
      if (role_ != Role::kLeader || it == peers_.end()) break;
      Peer& p = it->second;
      p.rpc_timer = 0;
      if (p.inflight.empty()) break;
      const Time deadline = p.inflight.front().second + cfg_.rpc_timeout;
      if (env.now() >= deadline) {
        peer_failed(peer, p);
      } else {
        p.rpc_timer = arm(deadline - env.now(), kTimerRpc, peer);
      }
      break;
    }
    case kTimerSnapshot:
      snapshot_timer_ = arm(random_timeout(cfg_.snapshot_interval), kTimerSnapshot);
      if (last_log_index() - snapshot_index_ >= cfg_.snapshot_threshold) take_snapshot(env);
      break;
    case kTimerTransfer:
      transfer_timer_ = 0;
      if (transfer_target_ != kNoNode) end_transfer(kTransferAborted);
      break;
    default:
      assert(false && "unknown raft timer");
  }
  check_invariants();
}

// ---------------------------------------------------------------- roles

void Node::set_term(uint64_t term) {
  assert(term > term_);
  term_ = term;
  record(kRecordTerm, term_);
}

void Node::set_leader(NodeId id) {
  if (leader_ == id) return;
  leader_ = id;
  record(kRecordLeader, term_, id);
}

void Node::set_role(Role r) {
  if (role_ == r) return;
  role_ = r;
  record(kRecordRole, term_, static_cast<uint64_t>(r));
}

void Node::step_down(uint64_t new_term) {
  if (new_term > term_) {
    set_term(new_term);
    persist_term_vote();
    // Deviation: hashicorp keeps its (old) known leader across a term change
    // caused by a RequestVote; a leader belongs to one term, so we forget it.
    set_leader(kNoNode);
  }
  become_follower();
}

void Node::leave_leader() {
  for (auto& [id, p] : peers_) {
    disarm(p.hb_timer);
    disarm(p.retry_timer);
    disarm(p.rpc_timer);
  }
  peers_.clear();
  disarm(commit_timer_);
  disarm(lease_timer_);
  if (transfer_target_ != kNoNode) end_transfer(timeout_now_sent_ ? kTransferDone : kTransferAborted);
  // In-flight client requests: outcome unknown (hashicorp ErrLeadershipLost).
  for (const auto& [index, request] : pending_) {
    record(kRecordClientDone, request, 0, kLeadershipLost);
    if (collect_completions_) completions_.push_back(Completion{request, 0, 0, kLeadershipLost, {}});
  }
  pending_.clear();
  // Pending verifications too (hashicorp answers them ErrLeadershipLost).
  for (const Verification& v : verifications_) {
    record(kRecordClientDone, v.request_id, 0, kLeadershipLost);
    if (collect_completions_) completions_.push_back(Completion{v.request_id, 0, 0, kLeadershipLost, {}});
  }
  verifications_.clear();
  unsynced_.clear();
  if (leader_ == env().self()) set_leader(kNoNode);
}

void Node::become_follower() {
  if (role_ == Role::kLeader) leave_leader();
  from_transfer_ = false;
  prevote_phase_ = false;
  if (role_ != Role::kFollower) {
    set_role(Role::kFollower);
    arm_election_timer();
  } else if (election_timer_ == 0) {
    arm_election_timer();
  }
}

void Node::arm_election_timer() {
  disarm(election_timer_);
  Duration d;
  if (cfg_.timer_mode == TimerMode::kPaper) {
    d = env().rng().range(cfg_.election_timeout, cfg_.paper_election_max());
  } else if (role_ == Role::kCandidate) {
    d = random_timeout(cfg_.election_timeout);
  } else {
    d = random_timeout(cfg_.heartbeat_timeout);
  }
  election_timer_ = arm(d, kTimerElection);
}

void Node::on_follower_timer() {
  // hashicorp runFollower: re-arm, and campaign only if the leader has been
  // silent for a whole heartbeat timeout (the timer is not reset by
  // heartbeats). The known leader is forgotten first, whatever the
  // configuration says: a server that may not campaign must still stop
  // refusing (pre-)votes because of a leader that is gone.
  arm_election_timer();
  if (cfg_.timer_mode == TimerMode::kHashicorp && ever_contacted_ &&
      env().now() - last_contact_ < cfg_.heartbeat_timeout) {
    return;
  }
  set_leader(kNoNode);
  const Configuration& latest = latest_configuration();
  if (latest.servers.empty()) return;  // not bootstrapped/joined yet: no known peers
  // hashicorp v1.2.0: a server sits out only when its latest configuration
  // is committed and gives it no vote. One whose latest configuration is
  // uncommitted campaigns even without a vote in it (a demoted or removed
  // leader that lost its lease may be the only server with the newest log);
  // it then asks the voters for votes without counting its own.
  if (latest_configuration_index() <= commit_ && !latest.has_vote(env().self())) return;
  become_candidate(false);
}

void Node::become_candidate(bool from_transfer) {
  if (role_ == Role::kLeader) leave_leader();
  from_transfer_ = from_transfer;
  set_leader(kNoNode);
  set_role(Role::kCandidate);
  start_round();
}

void Node::start_round() {
  arm_election_timer();
  granted_.clear();
  ++election_seq_;
  if (cfg_.pre_vote && !from_transfer_) {
    prevote_phase_ = true;
    record(kRecordPreVote, term_ + 1);
    if (latest_configuration().has_vote(env().self())) granted_.insert(env().self());
    for (NodeId id : latest_configuration().voter_ids()) {
      if (id == env().self()) continue;
      send(id, kRequestPreVote, Msg{election_seq_, RequestPreVote{term_ + 1, last_log_index(), last_log_term()}});
    }
    if (granted_.size() >= latest_configuration().quorum()) start_real_election();
  } else {
    start_real_election();
  }
}

void Node::start_real_election() {
  if (prevote_phase_) {
    // hashicorp re-arms the election timer when the pre-vote is won.
    arm_election_timer();
  }
  prevote_phase_ = false;
  granted_.clear();
  ++election_seq_;
  set_term(term_ + 1);
  // hashicorp electSelf: the candidate votes for itself only if the latest
  // configuration gives it a vote; otherwise it just asks the voters.
  const bool self_vote = latest_configuration().has_vote(env().self());
  if (self_vote) {
    vote_term_ = term_;
    voted_for_ = env().self();
  }
  persist_term_vote();  // the RequestVotes below leave only after this sync
  record(kRecordElection, term_);
  if (self_vote) {
    record(kRecordVote, term_, env().self());
    granted_.insert(env().self());
  }
  for (NodeId id : latest_configuration().voter_ids()) {
    if (id == env().self()) continue;
    send(id, kRequestVote,
         Msg{election_seq_, RequestVote{term_, last_log_index(), last_log_term(), from_transfer_}});
  }
  if (granted_.size() >= latest_configuration().quorum()) become_leader();
}

void Node::become_leader() {
  assert(role_ == Role::kCandidate);
  disarm(election_timer_);
  prevote_phase_ = false;
  from_transfer_ = false;
  set_role(Role::kLeader);
  set_leader(env().self());
  self_durable_ = last_log_index();
  unsynced_.clear();
  sync_peers(false);  // the no-op appended below goes to everyone
  commit_timer_ = arm(random_timeout(cfg_.commit_timeout), kTimerCommit);
  if (cfg_.check_quorum) lease_timer_ = arm(cfg_.leader_lease_timeout, kTimerLease);
  leader_start_index_ = leader_append(EntryType::kNoop, {});
}

void Node::on_lease_timer() {
  // hashicorp checkLeaderLease: count voters heard from within the lease.
  const Configuration& conf = latest_configuration();
  size_t contacted = 0;
  Duration max_diff = 0;
  for (const Server& s : conf.servers) {
    if (s.suffrage != Suffrage::kVoter) continue;
    if (s.id == env().self()) {
      ++contacted;
      continue;
    }
    auto it = peers_.find(s.id);
    if (it == peers_.end()) continue;
    const Duration diff = env().now() - it->second.last_contact;
    if (diff <= cfg_.leader_lease_timeout) {
      ++contacted;
      max_diff = std::max(max_diff, diff);
    }
  }
  if (contacted < conf.quorum()) {
    // "failed to contact quorum of nodes, stepping down"
    become_follower();
    return;
  }
  lease_timer_ = arm(std::max(cfg_.leader_lease_timeout - max_diff, kMinCheckInterval), kTimerLease);
}

// ---------------------------------------------------------------- voting

bool Node::log_ok(uint64_t last_index, uint64_t last_term) const {
  if (cfg_.unsafe_skip_vote_log_check) return true;
  const uint64_t my_term = last_log_term();
  if (my_term != last_term) return last_term > my_term;
  return last_index >= last_log_index();
}

bool Node::refuses_candidate(NodeId from) const {
  // Deviation: hashicorp main refuses a (pre-)vote to a candidate outside its
  // latest configuration (PRs #477, #526) even when that configuration is
  // not committed here. A leader cut off with a configuration change nobody
  // else saw then refuses, forever, the only candidate that can win (the
  // one whose log is more up to date): a permanent loss of the leader
  // (tests/regressions/uncommitted-config-refuses-winner.json). An
  // uncommitted configuration may still be rolled back, so it is no reason
  // to refuse; a committed one keeps removed servers from disrupting, which
  // is what the check is for. (hashicorp v1.2.0, Consul 1.9's, has no such
  // check at all.)
  const Configuration& conf = latest_configuration();
  return !conf.servers.empty() && latest_configuration_index() <= commit_ && !conf.has_vote(from);
}

void Node::handle_request_vote(NodeId from, uint64_t seq, const RequestVote& m) {
  VoteResp resp{term_, false};
  const bool known_leader_blocks =
      cfg_.leader_stickiness && leader_ != kNoNode && leader_ != from && !m.leadership_transfer;
  if (refuses_candidate(from) || known_leader_blocks || m.term < term_) {
    send(from, kRequestVoteResp, Msg{seq, resp});
    return;
  }
  if (m.term > term_) {
    step_down(m.term);
    resp.term = term_;
  }
  if (vote_term_ == term_ && voted_for_ != kNoNode) {
    resp.granted = voted_for_ == from;  // a duplicate request gets the same answer
  } else if (log_ok(m.last_log_index, m.last_log_term)) {
    vote_term_ = term_;
    voted_for_ = from;
    persist_term_vote();  // the grant below leaves only after this sync
    record(kRecordVote, term_, from);
    resp.granted = true;
    last_contact_ = env().now();
    ever_contacted_ = true;
    if (cfg_.timer_mode == TimerMode::kPaper && role_ == Role::kFollower) arm_election_timer();
  }
  send(from, kRequestVoteResp, Msg{seq, resp});
}

void Node::handle_request_prevote(NodeId from, uint64_t seq, const RequestPreVote& m) {
  VoteResp resp{term_, false};
  // hashicorp requestPreVote: refused while a leader other than the
  // candidate is known (no transfer exception: transfers skip pre-vote). The
  // leader we know may be the candidate itself, restarted and campaigning:
  // refusing it would keep us waiting for a leader that is gone. A pre-vote
  // never changes our term.
  const bool other_leader = leader_ != kNoNode && leader_ != from;
  if (!refuses_candidate(from) && !other_leader && m.term >= term_ &&
      log_ok(m.last_log_index, m.last_log_term)) {
    resp.granted = true;
  }
  send(from, kRequestPreVoteResp, Msg{seq, resp});
}

void Node::handle_vote_resp(NodeId from, uint64_t seq, bool prevote, const VoteResp& m) {
  if (m.term > term_) {
    step_down(m.term);
    return;
  }
  if (role_ != Role::kCandidate || seq != election_seq_ || prevote != prevote_phase_) return;
  if (!prevote && m.term != term_) return;
  if (m.granted) granted_.insert(from);
  const size_t quorum = latest_configuration().quorum();
  if (granted_.size() >= quorum) {
    if (prevote) {
      start_real_election();
    } else {
      become_leader();
    }
  }
  // Refused by a quorum: wait for the election timer (hashicorp).
}

void Node::handle_timeout_now(NodeId from, uint64_t seq, const TimeoutNow& m) {
  // Deviation: hashicorp does not look at the term of a TimeoutNow; we ignore
  // stale ones (an old leader's delayed request must not start an election).
  if (m.term >= term_ && latest_configuration().has_vote(env().self())) {
    if (m.term > term_) step_down(m.term);
    set_leader(kNoNode);
    become_candidate(true);
  }
  send(from, kTimeoutNowResp, Msg{seq, TimeoutNowResp{term_}});
}

}  // namespace core::raft

#include "core/raft/node.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace core::raft {

namespace {

// ---- storage layout ----
// "raft/term"       current term (decimal)
// "raft/vote"       "<term> <candidate>" of the last vote cast
// "raft/log/<16 hex digits of index>"  entry: "<term> <type> " + data
//                   (fixed-width hex keeps index order = key order, so a
//                   suffix truncation or a prefix compaction is one erase_range)
// "raft/snap/meta"  "<index> <term> <conf index> <conf>"
// "raft/snap/data"  the state machine snapshot
constexpr const char* kTermKey = "raft/term";
constexpr const char* kVoteKey = "raft/vote";
constexpr const char* kLogPrefix = "raft/log/";
constexpr const char* kLogEnd = "raft/log/g";  // > every hex key
constexpr const char* kSnapMetaKey = "raft/snap/meta";
constexpr const char* kSnapDataKey = "raft/snap/data";

std::string log_key(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "raft/log/%016llx", static_cast<unsigned long long>(index));
  return buf;
}

std::string encode_entry(const Entry& e) {
  return std::to_string(e.term) + " " + std::to_string(static_cast<int>(e.type)) + " " + e.data;
}

uint64_t parse_u64(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
  if (pos < s.size() && s[pos] == ' ') ++pos;
  return v;
}

uint64_t parse_hex(std::string_view s) {
  uint64_t v = 0;
  for (char ch : s) v = v * 16 + static_cast<uint64_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
  return v;
}

constexpr Duration kFailureWait = 10 * kMillisecond;  // hashicorp failureWait
constexpr uint64_t kMaxFailureScale = 12;            // hashicorp maxFailureScale
constexpr Duration kMinCheckInterval = 10 * kMillisecond;

// hashicorp backoff(base, round, limit): base * 2^(min(round, limit) - 2).
Duration backoff(Duration base, uint64_t round, uint64_t limit) {
  uint64_t power = std::min(round, limit);
  while (power > 2) {
    base *= 2;
    --power;
  }
  return base;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
    case Role::kShutdown: return "shutdown";
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
  out.body = std::move(m);
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

// ---------------------------------------------------------------- persistence

void Node::persist_term_vote() {
  Storage& st = env().storage();
  st.put(kTermKey, std::to_string(term_));
  st.put(kVoteKey, std::to_string(vote_term_) + " " + std::to_string(voted_for_));
  env().sync();
}

void Node::persist_entries(size_t from_pos) {
  Storage& st = env().storage();
  for (size_t i = from_pos; i < log_.size(); ++i) st.put(log_key(log_[i].index), encode_entry(log_[i]));
}

void Node::truncate_from(uint64_t index) {
  assert(index > commit_ && "never truncate committed entries");
  assert(index >= first_index_);
  env().storage().erase_range(log_key(index), kLogEnd);
  while (!log_.empty() && log_.back().index >= index) log_.pop_back();
  log_confs_.erase(log_confs_.lower_bound(index), log_confs_.end());
  record(RecordKind::kRaftTruncate, index);
  note_config_change();
}

void Node::compact_through(uint64_t index) {
  if (index < first_index_) return;
  env().storage().erase_range(log_key(first_index_), log_key(index + 1));
  while (!log_.empty() && log_.front().index <= index) log_.pop_front();
  first_index_ = index + 1;
}

void Node::persist_snapshot() {
  Storage& st = env().storage();
  st.put(kSnapMetaKey, std::to_string(snapshot_index_) + " " + std::to_string(snapshot_term_) + " " +
                           std::to_string(snapshot_conf_index_) + " " + snapshot_conf_.encode());
  st.put(kSnapDataKey, snapshot_data_ ? *snapshot_data_ : std::string());
}

void Node::load() {
  const Storage& st = env().storage();
  term_ = 0;
  vote_term_ = 0;
  voted_for_ = kNoNode;
  log_.clear();
  log_confs_.clear();
  snapshot_index_ = snapshot_term_ = snapshot_conf_index_ = 0;
  snapshot_conf_ = Configuration{};
  snapshot_data_.reset();
  if (const std::string* t = st.get(kTermKey)) {
    size_t pos = 0;
    term_ = parse_u64(*t, pos);
  }
  if (const std::string* v = st.get(kVoteKey)) {
    size_t pos = 0;
    vote_term_ = parse_u64(*v, pos);
    voted_for_ = static_cast<NodeId>(parse_u64(*v, pos));
  }
  if (const std::string* meta = st.get(kSnapMetaKey)) {
    size_t pos = 0;
    snapshot_index_ = parse_u64(*meta, pos);
    snapshot_term_ = parse_u64(*meta, pos);
    snapshot_conf_index_ = parse_u64(*meta, pos);
    auto conf = Configuration::decode(std::string_view(*meta).substr(pos));
    assert(conf.has_value());
    snapshot_conf_ = conf.value_or(Configuration{});
    const std::string* data = st.get(kSnapDataKey);
    snapshot_data_ = std::make_shared<const std::string>(data ? *data : std::string());
  }
  const auto& view = st.view();
  for (auto it = view.lower_bound(kLogPrefix); it != view.end() && it->first < kLogEnd; ++it) {
    Entry e;
    e.index = parse_hex(std::string_view(it->first).substr(std::string_view(kLogPrefix).size()));
    size_t pos = 0;
    e.term = parse_u64(it->second, pos);
    e.type = static_cast<EntryType>(parse_u64(it->second, pos));
    e.data = it->second.substr(pos);
    assert(log_.empty() || log_.back().index + 1 == e.index);
    if (e.type == EntryType::kConfiguration && e.index > snapshot_conf_index_) {
      log_confs_[e.index] = Configuration::decode(e.data).value_or(Configuration{});
    }
    log_.push_back(std::move(e));
  }
  first_index_ = log_.empty() ? snapshot_index_ + 1 : log_.front().index;
}

// ---------------------------------------------------------------- entry points

void Node::start(Env& env) {
  env_ = &env;
  // Volatile state starts over; timers did not survive the crash.
  role_ = Role::kFollower;
  leader_ = kNoNode;
  ever_contacted_ = false;
  last_contact_ = 0;
  election_timer_ = snapshot_timer_ = commit_timer_ = lease_timer_ = transfer_timer_ = 0;
  peers_.clear();
  pending_.clear();
  unsynced_.clear();
  granted_.clear();
  refused_.clear();
  transfer_target_ = kNoNode;
  last_recorded_conf_index_ = UINT64_MAX;
  load();
  Storage& st = env.storage();
  if (bootstrap_ && term_ == 0 && log_.empty() && snapshot_index_ == 0 && st.get(kTermKey) == nullptr) {
    term_ = 1;
    Entry e{1, 1, EntryType::kConfiguration, bootstrap_->encode()};
    log_.push_back(e);
    first_index_ = 1;
    log_confs_[1] = *bootstrap_;
    persist_entries(0);
    persist_term_vote();  // syncs
  }
  // The state machine is rebuilt from the snapshot; the log after it is
  // re-applied once the commit index is learned again (as hashicorp does).
  sm_->restore(snapshot_data_ ? *snapshot_data_ : std::string());
  commit_ = applied_ = snapshot_index_;
  record(RecordKind::kRaftRole, term_, static_cast<uint64_t>(Role::kFollower));
  note_config_change();
  arm_election_timer();
  snapshot_timer_ = arm(random_timeout(cfg_.snapshot_interval), kTimerSnapshot);
}

void Node::on_message(Env& env, const Message& msg) {
  env_ = &env;
  const auto* m = std::get_if<Msg>(&msg.body);
  if (m == nullptr || role_ == Role::kShutdown) return;
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
}

void Node::on_timer(Env& env, uint64_t what) {
  env_ = &env;
  if (role_ == Role::kShutdown) return;
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
      send_heartbeat(peer);
      const Duration every = cfg_.timer_mode == TimerMode::kPaper ? cfg_.election_timeout / 2
                                                                  : random_timeout(cfg_.heartbeat_timeout / 10);
      it->second.hb_timer = arm(every, kTimerHeartbeat, peer);
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
      if (transfer_target_ != kNoNode) end_transfer(2);
      break;
    default:
      assert(false && "unknown raft timer");
  }
}

// ---------------------------------------------------------------- roles

void Node::set_term(uint64_t term) {
  assert(term > term_);
  term_ = term;
  record(RecordKind::kRaftTerm, term_);
}

void Node::set_leader(NodeId id) {
  if (leader_ == id) return;
  leader_ = id;
  record(RecordKind::kRaftLeader, term_, id);
}

void Node::set_role(Role r) {
  if (role_ == r) return;
  role_ = r;
  record(RecordKind::kRaftRole, term_, static_cast<uint64_t>(r));
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
  if (transfer_target_ != kNoNode) end_transfer(timeout_now_sent_ ? 3 : 2);
  // In-flight client requests: outcome unknown (hashicorp ErrLeadershipLost).
  for (const auto& [index, request] : pending_) {
    record(RecordKind::kRaftClientDone, request, 0, kLeadershipLost);
    if (collect_completions_) completions_.push_back(Completion{request, 0, 0, kLeadershipLost, {}});
  }
  pending_.clear();
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
  arm_election_timer();
  const Configuration& latest = latest_configuration();
  if (latest.servers.empty()) return;  // not bootstrapped/joined yet
  if (cfg_.timer_mode == TimerMode::kHashicorp && ever_contacted_ &&
      env().now() - last_contact_ < cfg_.heartbeat_timeout) {
    return;  // heard from the leader recently: the timer is not reset by heartbeats
  }
  // Deviation: hashicorp campaigns when its latest configuration is not yet
  // committed even without a vote in it; we never campaign without a vote.
  if (!latest.has_vote(env().self())) return;
  set_leader(kNoNode);
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
  refused_.clear();
  ++election_seq_;
  if (cfg_.pre_vote && !from_transfer_) {
    prevote_phase_ = true;
    record(RecordKind::kRaftPreVote, term_ + 1);
    granted_.insert(env().self());
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
  refused_.clear();
  ++election_seq_;
  set_term(term_ + 1);
  vote_term_ = term_;
  voted_for_ = env().self();
  persist_term_vote();  // the RequestVotes below leave only after this sync
  record(RecordKind::kRaftElection, term_);
  record(RecordKind::kRaftVote, term_, env().self());
  granted_.insert(env().self());
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

void Node::handle_request_vote(NodeId from, uint64_t seq, const RequestVote& m) {
  VoteResp resp{term_, false};
  const Configuration& conf = latest_configuration();
  const bool known_leader_blocks =
      cfg_.leader_stickiness && leader_ != kNoNode && leader_ != from && !m.leadership_transfer;
  if ((!conf.servers.empty() && !conf.has_vote(from)) || known_leader_blocks || m.term < term_) {
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
    record(RecordKind::kRaftVote, term_, from);
    resp.granted = true;
    last_contact_ = env().now();
    ever_contacted_ = true;
    if (cfg_.timer_mode == TimerMode::kPaper && role_ == Role::kFollower) arm_election_timer();
  }
  send(from, kRequestVoteResp, Msg{seq, resp});
}

void Node::handle_request_prevote(NodeId from, uint64_t seq, const RequestPreVote& m) {
  VoteResp resp{term_, false};
  const Configuration& conf = latest_configuration();
  // A pre-vote is refused while any leader is known (no transfer exception:
  // transfers skip pre-vote), and never changes our term.
  if ((conf.servers.empty() || conf.has_vote(from)) && leader_ == kNoNode && m.term >= term_ &&
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
  (m.granted ? granted_ : refused_).insert(from);
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

// ---------------------------------------------------------------- follower side

bool Node::accept_leader_term(NodeId from, uint64_t term) {
  if (term < term_) return false;
  if (term > term_) {
    step_down(term);
  } else if (role_ != Role::kFollower && !(role_ == Role::kCandidate && from_transfer_)) {
    // Same term: someone else won (or, hashicorp-style, a leader seeing
    // another leader of its term steps down).
    become_follower();
  }
  set_leader(from);
  last_contact_ = env().now();
  ever_contacted_ = true;
  if (cfg_.timer_mode == TimerMode::kPaper && role_ == Role::kFollower) arm_election_timer();
  return true;
}

void Node::handle_append_entries(NodeId from, uint64_t seq, const AppendEntries& m) {
  AppendEntriesResp resp;
  resp.term = term_;
  resp.last_log = last_log_index();
  resp.prev_log_index = m.prev_log_index;
  resp.heartbeat = m.heartbeat;
  if (!accept_leader_term(from, m.term)) {
    send(from, kAppendEntriesResp, Msg{seq, resp});
    return;
  }
  resp.term = term_;
  if (m.heartbeat) {
    resp.success = true;
    send(from, kAppendEntriesResp, Msg{seq, resp});
    return;
  }
  // Consistency check (Figure 2, AppendEntries rule 2).
  if (m.prev_log_index > 0) {
    const uint64_t t = term_at(m.prev_log_index);
    if (t == 0 || t != m.prev_log_term) {
      // A prev entry already folded into our snapshot is committed, hence
      // matches; any other miss or mismatch is a conflict.
      if (!(t == 0 && m.prev_log_index < snapshot_index_)) {
        resp.no_retry_backoff = true;
        send(from, kAppendEntriesResp, Msg{seq, resp});
        return;
      }
    }
  }
  // Append new entries, truncating a conflicting suffix (rule 3, 4).
  size_t i = 0;
  for (; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (e.index <= snapshot_index_ && term_at(e.index) == 0) continue;  // compacted: committed
    if (e.index > last_log_index()) break;
    if (term_at(e.index) == e.term) continue;
    truncate_from(e.index);
    break;
  }
  if (i < m.entries.size()) {
    const size_t pos = log_.size();
    for (; i < m.entries.size(); ++i) append_local(m.entries[i]);
    persist_entries(pos);
    env().sync();  // the ack below leaves only after the entries are durable
    record(RecordKind::kRaftAppend, log_[pos].index, log_.back().index, log_.back().term);
    note_config_change();
  }
  // Commit (rule 5). Deviation: hashicorp uses min(leaderCommit, our last
  // index); the paper's "index of last new entry" is used here so a stale
  // suffix beyond what this request verified can never be committed.
  const uint64_t verified = m.prev_log_index + m.entries.size();
  const uint64_t new_commit = std::min(m.leader_commit, verified);
  if (new_commit > commit_) set_commit(new_commit);
  resp.success = true;
  resp.match_index = verified;
  send(from, kAppendEntriesResp, Msg{seq, resp});
}

void Node::handle_install_snapshot(NodeId from, uint64_t seq, const InstallSnapshot& m) {
  InstallSnapshotResp resp{term_, m.last_index, false};
  if (!accept_leader_term(from, m.term)) {
    send(from, kInstallSnapshotResp, Msg{seq, resp});
    return;
  }
  resp.term = term_;
  // Deviation: hashicorp installs whatever it is sent; a snapshot that is not
  // ahead of our commit index would roll the state machine back, so it is
  // acknowledged without being installed.
  if (m.last_index > commit_) {
    if (term_at(m.last_index) == m.last_term && m.last_index <= last_log_index()) {
      // Keep the log after the snapshot (paper Figure 13, step 6).
      compact_through(m.last_index);
    } else {
      env().storage().erase_range(kLogPrefix, kLogEnd);
      log_.clear();
      first_index_ = m.last_index + 1;
      log_confs_.clear();
    }
    snapshot_index_ = m.last_index;
    snapshot_term_ = m.last_term;
    snapshot_conf_index_ = m.configuration_index;
    snapshot_conf_ = m.configuration;
    snapshot_data_ = m.data ? m.data : std::make_shared<const std::string>();
    log_confs_.erase(log_confs_.begin(), log_confs_.upper_bound(snapshot_index_));
    persist_snapshot();
    env().sync();
    sm_->restore(*snapshot_data_);
    record(RecordKind::kRaftSnapshot, snapshot_index_, snapshot_term_);
    commit_ = applied_ = snapshot_index_;
    record(RecordKind::kRaftCommit, commit_);
    note_config_change();
  }
  resp.success = true;
  send(from, kInstallSnapshotResp, Msg{seq, resp});
}

// ---------------------------------------------------------------- leader side

Proposal Node::leader_check() const {
  if (role_ != Role::kLeader) {
    return Proposal{leader_ == kNoNode ? "not leader; no known leader"
                                       : "not leader; leader is " + std::to_string(leader_)};
  }
  if (transfer_target_ != kNoNode) return Proposal{"leadership transfer in progress"};
  return Proposal{};
}

uint64_t Node::leader_append(EntryType type, std::string data) {
  Entry e{last_log_index() + 1, term_, type, std::move(data)};
  const uint64_t index = e.index;
  const size_t pos = log_.size();
  append_local(std::move(e));
  persist_entries(pos);
  env().sync();
  unsynced_.emplace_back(index, env().storage().last_write_seq());
  record(RecordKind::kRaftAppend, index, index, term_);
  if (type == EntryType::kConfiguration) {
    note_config_change();
    sync_peers(true);
  }
  replicate_all(false);
  maybe_commit();
  return index;
}

void Node::sync_peers(bool probe_new) {
  // Replicate to every server of the latest configuration, and keep serving
  // servers dropped by an uncommitted change until it commits (so a removed
  // server learns of its removal).
  std::set<NodeId> want;
  for (const Server& s : latest_configuration().servers) want.insert(s.id);
  if (latest_configuration_index() > commit_) {
    for (const Server& s : committed_configuration().servers) want.insert(s.id);
  }
  want.erase(env().self());
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (want.count(it->first) == 0) {
      disarm(it->second.hb_timer);
      disarm(it->second.retry_timer);
      disarm(it->second.rpc_timer);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  for (NodeId id : want) {
    if (peers_.count(id) != 0) continue;
    Peer& p = peers_[id];
    p.next = last_log_index() + 1;
    p.last_contact = env().now();
    const Duration first = cfg_.timer_mode == TimerMode::kPaper ? cfg_.election_timeout / 2
                                                                : random_timeout(cfg_.heartbeat_timeout / 10);
    p.hb_timer = arm(first, kTimerHeartbeat, id);
    // hashicorp startStopReplication triggers a new follower's replication at
    // once; with nothing new to send that is an empty AppendEntries probe.
    if (probe_new) replicate(id, true);
  }
}

void Node::replicate_all(bool force) {
  for (auto& [id, p] : peers_) replicate(id, force);
}

void Node::replicate(NodeId id, bool force) {
  auto it = peers_.find(id);
  if (it == peers_.end() || role_ != Role::kLeader) return;
  Peer& p = it->second;
  if (p.backing_off) return;
  if (!p.pipeline) {
    // Synchronous mode (hashicorp replicateTo): one request at a time until
    // the follower's log matches.
    if (!p.inflight.empty()) return;
    if (p.next <= last_log_index() || force) send_append(id, p);
    return;
  }
  // Pipeline mode. Deviation: hashicorp sends one batch per trigger; we send
  // every pending batch at once, bounded by max_inflight.
  bool sent = false;
  while (p.pipeline && p.inflight.size() < cfg_.max_inflight && (p.next <= last_log_index() || (force && !sent))) {
    send_append(id, p);
    sent = true;
  }
}

void Node::send_append(NodeId id, Peer& p) {
  const uint64_t prev = p.next - 1;
  const uint64_t prev_term = term_at(prev);
  if ((prev > 0 && prev_term == 0) || (p.next <= last_log_index() && p.next < first_index_)) {
    // The entries it needs were compacted away.
    p.pipeline = false;
    if (p.inflight.empty()) send_snapshot(id, p);
    return;
  }
  AppendEntries ae;
  ae.term = term_;
  ae.prev_log_index = prev;
  ae.prev_log_term = prev_term;
  ae.leader_commit = commit_;
  const uint64_t last = std::min(last_log_index(), prev + cfg_.max_append_entries);
  for (uint64_t i = p.next; i <= last; ++i) ae.entries.push_back(*entry(i));
  const uint64_t seq = ++seq_;
  if (p.pipeline) p.next = last + 1;  // optimistic: the next batch follows
  send(id, kAppendEntries, Msg{seq, std::move(ae)});
  track_inflight(id, p, seq);
}

void Node::send_snapshot(NodeId id, Peer& p) {
  if (!snapshot_data_) return;  // cannot happen: compaction follows a snapshot
  InstallSnapshot is;
  is.term = term_;
  is.last_index = snapshot_index_;
  is.last_term = snapshot_term_;
  is.configuration_index = snapshot_conf_index_;
  is.configuration = snapshot_conf_;
  is.data = snapshot_data_;
  const uint64_t seq = ++seq_;
  send(id, kInstallSnapshot, Msg{seq, std::move(is)});
  track_inflight(id, p, seq);
}

void Node::track_inflight(NodeId id, Peer& p, uint64_t seq) {
  p.inflight.emplace_back(seq, env().now());
  if (p.rpc_timer == 0) p.rpc_timer = arm(cfg_.rpc_timeout, kTimerRpc, id);
}

void Node::peer_failed(NodeId id, Peer& p) {
  // An RPC error: fall back to synchronous replication from what is known to
  // match, after hashicorp's backoff(failureWait, failures, maxFailureScale).
  ++p.failures;
  p.pipeline = false;
  p.inflight.clear();
  disarm(p.rpc_timer);
  p.next = std::max(p.match + 1, std::min(p.next, last_log_index() + 1));
  p.backing_off = true;
  disarm(p.retry_timer);
  p.retry_timer = arm(backoff(kFailureWait, p.failures, kMaxFailureScale), kTimerRetry, id);
}

void Node::send_heartbeat(NodeId id) {
  AppendEntries hb;
  hb.term = term_;
  hb.heartbeat = true;
  send(id, kAppendEntries, Msg{++seq_, std::move(hb)});
}

void Node::handle_append_resp(NodeId from, uint64_t seq, const AppendEntriesResp& m) {
  if (m.term > term_) {
    step_down(m.term);
    return;
  }
  auto it = peers_.find(from);
  if (role_ != Role::kLeader || m.term != term_ || it == peers_.end()) return;
  Peer& p = it->second;
  p.last_contact = env().now();
  if (m.heartbeat) return;
  auto fl = std::find_if(p.inflight.begin(), p.inflight.end(), [seq](const auto& f) { return f.first == seq; });
  const bool awaited = fl != p.inflight.end();
  if (awaited) p.inflight.erase(fl);
  if (p.inflight.empty()) disarm(p.rpc_timer);
  if (m.success) {
    // Even an answer we stopped waiting for proves a match: within one
    // leader term a follower never drops entries that match the leader's.
    p.failures = 0;
    p.match = std::max(p.match, m.match_index);
    p.next = std::max(p.next, p.match + 1);
    if (awaited) p.pipeline = true;
    maybe_commit();
    if (role_ != Role::kLeader) return;
    maybe_send_timeout_now();
    replicate(from, false);
    return;
  }
  if (!awaited) return;  // a stale refusal says nothing about the present
  p.pipeline = false;
  p.inflight.clear();
  disarm(p.rpc_timer);
  // Fast back-off (hashicorp): jump to just past the follower's last entry.
  p.next = std::max({std::min(m.prev_log_index, m.last_log + 1), p.match + 1, uint64_t{1}});
  if (m.no_retry_backoff) {
    p.failures = 0;
    replicate(from, true);
  } else {
    peer_failed(from, p);
  }
}

void Node::handle_install_resp(NodeId from, uint64_t seq, const InstallSnapshotResp& m) {
  if (m.term > term_) {
    step_down(m.term);
    return;
  }
  auto it = peers_.find(from);
  if (role_ != Role::kLeader || m.term != term_ || it == peers_.end()) return;
  Peer& p = it->second;
  p.last_contact = env().now();
  auto fl = std::find_if(p.inflight.begin(), p.inflight.end(), [seq](const auto& f) { return f.first == seq; });
  if (fl == p.inflight.end()) return;
  p.inflight.erase(fl);
  if (p.inflight.empty()) disarm(p.rpc_timer);
  if (!m.success) {
    peer_failed(from, p);
    return;
  }
  p.failures = 0;
  p.match = std::max(p.match, m.last_index);
  p.next = p.match + 1;
  maybe_commit();
  if (role_ != Role::kLeader) return;
  maybe_send_timeout_now();
  replicate(from, true);
}

void Node::maybe_commit() {
  if (role_ != Role::kLeader) return;
  // Our own log counts only once durable (hashicorp: after StoreLogs).
  const uint64_t durable = env().storage().durable_seq();
  while (!unsynced_.empty() && unsynced_.front().second <= durable) {
    self_durable_ = unsynced_.front().first;
    unsynced_.pop_front();
  }
  if (unsynced_.empty()) self_durable_ = last_log_index();
  std::vector<uint64_t> matches;
  for (const Server& s : latest_configuration().servers) {
    if (s.suffrage != Suffrage::kVoter) continue;
    if (s.id == env().self()) {
      matches.push_back(self_durable_);
    } else {
      auto it = peers_.find(s.id);
      matches.push_back(it == peers_.end() ? 0 : it->second.match);
    }
  }
  const size_t quorum = latest_configuration().quorum();
  if (matches.size() < quorum) return;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t n = matches[quorum - 1];
  // Only entries of the current term commit by counting (Figure 2, §5.4.2).
  if (n > commit_ && n >= leader_start_index_ && term_at(n) == term_) set_commit(n);
}

// ---------------------------------------------------------------- commit / apply

void Node::append_local(Entry e) {
  assert(e.index == last_log_index() + 1);
  if (log_.empty()) first_index_ = e.index;
  if (e.type == EntryType::kConfiguration) {
    log_confs_[e.index] = Configuration::decode(e.data).value_or(Configuration{});
  }
  log_.push_back(std::move(e));
}

void Node::set_commit(uint64_t index) {
  assert(index <= last_log_index());
  commit_ = index;
  record(RecordKind::kRaftCommit, commit_);
  apply_committed();
  if (role_ == Role::kLeader) {
    sync_peers(true);  // stop serving servers whose removal just committed
    // A leader without a vote in the committed configuration steps down
    // (hashicorp; Consul runs with ShutdownOnRemove = false, so it stays up
    // as a follower that never campaigns).
    if (latest_configuration_index() <= commit_ && !latest_configuration().has_vote(env().self())) {
      become_follower();
    }
  }
}

void Node::apply_committed() {
  while (applied_ < commit_) {
    const Entry* e = entry(applied_ + 1);
    // Only a broken safety variant (unsafe_skip_vote_log_check) can commit
    // past what this log holds; stop applying so that the checker, not a
    // crash, reports the violation.
    if (e == nullptr) break;
    ++applied_;
    std::string result;
    if (e->type == EntryType::kCommand) result = sm_->apply(e->index, e->term, e->data);
    record(RecordKind::kRaftApply, e->index, e->term, entry_hash(e->type, e->data));
    auto pending = pending_.find(e->index);
    if (pending != pending_.end()) {
      record(RecordKind::kRaftClientDone, pending->second, e->index, e->term);
      if (collect_completions_) {
        completions_.push_back(Completion{pending->second, e->index, e->term, kOk, std::move(result)});
      }
      pending_.erase(pending);
    }
  }
}

void Node::take_snapshot(Env& env) {
  env_ = &env;
  if (applied_ <= snapshot_index_) return;
  snapshot_conf_ = config_at(applied_, &snapshot_conf_index_);
  snapshot_index_ = applied_;
  snapshot_term_ = term_at(applied_);
  snapshot_data_ = std::make_shared<const std::string>(sm_->snapshot());
  log_confs_.erase(log_confs_.begin(), log_confs_.upper_bound(snapshot_conf_index_));
  persist_snapshot();
  record(RecordKind::kRaftSnapshot, snapshot_index_, snapshot_term_);
  // Keep TrailingLogs entries so slightly lagging followers need no snapshot.
  const uint64_t last = last_log_index();
  if (last > cfg_.trailing_logs) compact_through(std::min(snapshot_index_, last - cfg_.trailing_logs));
  env.sync();
}

void Node::note_config_change() {
  const uint64_t idx = latest_configuration_index();
  if (idx == last_recorded_conf_index_) return;
  last_recorded_conf_index_ = idx;
  const Configuration& c = latest_configuration();
  record(RecordKind::kRaftConfig, idx, c.mask(Suffrage::kVoter), c.mask(Suffrage::kNonvoter));
}

// ---------------------------------------------------------------- client API

Proposal Node::propose(Env& env, uint64_t request_id, std::string data) {
  env_ = &env;
  Proposal p = leader_check();
  if (!p.ok()) return p;
  p.term = term_;
  p.index = last_log_index() + 1;
  pending_[p.index] = request_id;
  leader_append(EntryType::kCommand, std::move(data));
  return p;
}

Proposal Node::add_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  return change_configuration(request_id, id, prev_index, 0);
}
Proposal Node::add_nonvoter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  return change_configuration(request_id, id, prev_index, 1);
}
Proposal Node::demote_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  return change_configuration(request_id, id, prev_index, 2);
}
Proposal Node::remove_server(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  return change_configuration(request_id, id, prev_index, 3);
}

Proposal Node::change_configuration(uint64_t request_id, NodeId id, uint64_t prev_index, int op) {
  Proposal p = leader_check();
  if (!p.ok()) return p;
  // hashicorp configurationChangeChIfStable: the latest configuration is
  // committed and this leader has committed an entry of its own term.
  // Deviation: hashicorp queues a change until the configuration is stable
  // (or the caller's timeout); we answer at once so the caller can retry.
  if (commit_ < leader_start_index_) return Proposal{"leader has not yet committed an entry in its term"};
  if (latest_configuration_index() > commit_) return Proposal{"configuration change already in progress"};
  if (prev_index != 0 && prev_index != latest_configuration_index()) {
    return Proposal{"configuration changed since " + std::to_string(prev_index) + " (latest is " +
                    std::to_string(latest_configuration_index()) + ")"};
  }
  Configuration next = latest_configuration();
  const Server* cur = next.find(id);
  switch (op) {
    case 0: next.upsert(Server{id, Suffrage::kVoter}); break;
    case 1:
      if (cur == nullptr) next.upsert(Server{id, Suffrage::kNonvoter});  // never demotes a voter
      break;
    case 2:
      if (cur != nullptr) next.upsert(Server{id, Suffrage::kNonvoter});
      break;
    default: next.remove(id); break;
  }
  if (next.voter_count() == 0) return Proposal{"configuration would have no voters"};
  p.term = term_;
  p.index = last_log_index() + 1;
  pending_[p.index] = request_id;
  leader_append(EntryType::kConfiguration, next.encode());
  return p;
}

std::string Node::transfer_leadership(Env& env, NodeId target) {
  env_ = &env;
  Proposal check = leader_check();
  if (!check.ok()) return check.error;
  const Configuration& conf = latest_configuration();
  if (target == kNoNode) {
    // hashicorp pickServer: the most up-to-date voter.
    uint64_t best = 0;
    for (const auto& [id, p] : peers_) {
      if (conf.has_vote(id) && (target == kNoNode || p.match > best)) {
        target = id;
        best = p.match;
      }
    }
    if (target == kNoNode) return "no other voter to transfer leadership to";
  } else if (target == env.self() || !conf.has_vote(target) || peers_.count(target) == 0) {
    return "cannot transfer leadership to " + std::to_string(target) + ": not another voter";
  }
  transfer_target_ = target;
  timeout_now_sent_ = false;
  record(RecordKind::kRaftTransfer, target, term_, 0);
  transfer_timer_ = arm(cfg_.election_timeout, kTimerTransfer);
  replicate(target, true);
  maybe_send_timeout_now();
  return {};
}

void Node::maybe_send_timeout_now() {
  if (transfer_target_ == kNoNode || timeout_now_sent_) return;
  auto it = peers_.find(transfer_target_);
  if (it == peers_.end() || it->second.match < last_log_index()) return;
  timeout_now_sent_ = true;
  record(RecordKind::kRaftTransfer, transfer_target_, term_, 1);
  send(transfer_target_, kTimeoutNow, Msg{++seq_, TimeoutNow{term_}});
  // Wait up to another election timeout to lose leadership.
  disarm(transfer_timer_);
  transfer_timer_ = arm(cfg_.election_timeout, kTimerTransfer);
}

void Node::end_transfer(uint64_t outcome) {
  record(RecordKind::kRaftTransfer, transfer_target_, term_, outcome);
  transfer_target_ = kNoNode;
  timeout_now_sent_ = false;
  disarm(transfer_timer_);
}

// ---------------------------------------------------------------- accessors

uint64_t Node::term_at(uint64_t index) const {
  if (index == 0) return 0;
  if (const Entry* e = entry(index)) return e->term;
  return index == snapshot_index_ ? snapshot_term_ : 0;
}

const Entry* Node::entry(uint64_t index) const {
  if (log_.empty() || index < first_index_ || index > log_.back().index) return nullptr;
  const uint64_t off = index - first_index_;
  // The log is contiguous from first_index_; the check keeps a broken safety
  // variant from reading out of bounds.
  if (off >= log_.size() || log_[off].index != index) return nullptr;
  return &log_[off];
}

std::optional<EntryInfo> Node::entry_info(uint64_t index) const {
  const Entry* e = entry(index);
  if (e == nullptr) return std::nullopt;
  return EntryInfo{e->index, e->term, e->type, entry_hash(e->type, e->data)};
}

const Configuration& Node::config_at(uint64_t index, uint64_t* conf_index) const {
  auto it = log_confs_.upper_bound(index);
  if (it == log_confs_.begin()) {
    if (conf_index != nullptr) *conf_index = snapshot_conf_index_;
    return snapshot_conf_;
  }
  --it;
  if (conf_index != nullptr) *conf_index = it->first;
  return it->second;
}

const Configuration& Node::latest_configuration() const { return config_at(UINT64_MAX, nullptr); }
uint64_t Node::latest_configuration_index() const {
  uint64_t i = 0;
  config_at(UINT64_MAX, &i);
  return i;
}
const Configuration& Node::committed_configuration() const { return config_at(commit_, nullptr); }
uint64_t Node::committed_configuration_index() const {
  uint64_t i = 0;
  config_at(commit_, &i);
  return i;
}

uint64_t Node::match_index(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.match;
}
uint64_t Node::next_index(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.next;
}

}  // namespace core::raft

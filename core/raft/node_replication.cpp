// raft::Node: log replication, both sides, and commit/apply.
#include "core/raft/node.hpp"

#include <algorithm>
#include <cassert>

#include "core/raft/storage_layout.hpp"

namespace core::raft {

using namespace layout;  // storage keys and encodings, internal to core/raft

namespace {

constexpr Duration kFailureWait = 10 * kMillisecond;  // hashicorp failureWait
constexpr uint64_t kMaxFailureScale = 12;            // hashicorp maxFailureScale

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
    if (e.index <= snapshot_index_) continue;  // inside our snapshot: committed, so it matches
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
    record(kRecordAppend, log_[pos].index, log_.back().index, log_.back().term);
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
    const bool keep_suffix = term_at(m.last_index) == m.last_term && m.last_index <= last_log_index();
    snapshot_index_ = m.last_index;
    snapshot_term_ = m.last_term;
    snapshot_conf_index_ = m.configuration_index;
    snapshot_conf_ = m.configuration;
    snapshot_data_ = m.data ? m.data : std::make_shared<const std::string>();
    // The snapshot is written before the log is cut, so a crash in between
    // leaves a snapshot plus a stale log, which load() cleans up.
    persist_snapshot();
    if (keep_suffix) {
      // Keep the log after the snapshot (paper Figure 13, step 6). It matches
      // the leader's log at last_index, so its configuration entries above
      // the snapshot are the leader's too.
      compact_through(m.last_index);
      log_confs_.erase(log_confs_.begin(), log_confs_.upper_bound(snapshot_index_));
    } else {
      // The whole log goes, and with it every configuration it held: one
      // left behind above the snapshot would be a latest configuration that
      // exists in no log (two leaders in one term with a stale quorum).
      env().storage().erase_range(kLogPrefix, kLogEnd);
      log_.clear();
      log_confs_.clear();
      first_index_ = m.last_index + 1;
    }
    env().sync();
    sm_->restore(*snapshot_data_);
    record(kRecordSnapshot, snapshot_index_, snapshot_term_);
    commit_ = applied_ = snapshot_index_;
    record(kRecordCommit, commit_);
    note_config_change();
  }
  resp.success = true;
  send(from, kInstallSnapshotResp, Msg{seq, resp});
}

// ---------------------------------------------------------------- leader side

Proposal Node::leader_check(bool during_transfer) const {
  if (role_ != Role::kLeader) {
    return Proposal{leader_ == kNoNode ? "not leader; no known leader"
                                       : "not leader; leader is " + std::to_string(leader_)};
  }
  if (transfer_target_ != kNoNode && !during_transfer) return Proposal{"leadership transfer in progress"};
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
  record(kRecordAppend, index, index, term_);
  if (type == EntryType::kConfiguration) {
    note_config_change();
    sync_peers(true);
    // The voters (and the quorum) of pending verifications are the latest
    // configuration's: a removed voter may have been the one missing.
    finish_verifications();
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
  // every pending batch at once, bounded by max_inflight. Our network may
  // reorder messages (TCP would not): a batch that overtakes its predecessor
  // fails the consistency check and drops the follower back to synchronous
  // mode, as any pipeline error does in hashicorp.
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
  uint64_t last = std::min(last_log_index(), prev + cfg_.max_append_entries);
  for (uint64_t i = p.next; i <= last; ++i) {
    const Entry* e = entry(i);
    if (e == nullptr) {  // only under a broken safety variant: a hole in the log
      last = i - 1;
      break;
    }
    ae.entries.push_back(*e);
  }
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
  // Deviation: hashicorp's heartbeat goroutine waits for each answer and backs
  // off (cappedExponentialBackoff, up to HT/2) after errors; here heartbeats
  // are fire-and-forget on their [HT/10, HT/5) timer, since a lost message
  // would otherwise stall them until an RPC deadline.
  AppendEntries hb;
  hb.term = term_;
  hb.heartbeat = true;
  send(id, kAppendEntries, Msg{++seq_, std::move(hb)});
}

void Node::heartbeat_now(NodeId id, Peer& p) {
  disarm(p.hb_timer);
  send_heartbeat(id);
  const Duration every = cfg_.timer_mode == TimerMode::kPaper ? cfg_.election_timeout / 2
                                                              : random_timeout(cfg_.heartbeat_timeout / 10);
  p.hb_timer = arm(every, kTimerHeartbeat, id);
}

// ---------------------------------------------------------------- leadership verification

// Deviation: hashicorp counts a vote from every replication (nonvoters too)
// on any successful answer that arrives after the verification started,
// whatever request it answers, always counts the leader itself, and fixes
// the quorum size at the start. Here only voters of the latest configuration
// count, the leader included only if it is one, and only answers to
// heartbeats sent at or after the call: an answer to an older request may
// predate the election of another leader, so it proves nothing about the
// present. (hashicorp also ends a verification on a refused heartbeat; ours
// refuse only for a newer term, which deposes the leader here anyway.)
void Node::note_heartbeat_ack(NodeId from, uint64_t seq) {
  if (verifications_.empty()) return;
  for (Verification& v : verifications_) {
    if (seq >= v.first_seq) v.acked.insert(from);
  }
  finish_verifications();
}

bool Node::verification_quorum(const Verification& v) const {
  const Configuration& conf = latest_configuration();
  size_t votes = conf.has_vote(env_->self()) ? 1 : 0;
  for (NodeId id : v.acked) {
    if (conf.has_vote(id)) ++votes;
  }
  return votes >= conf.quorum();
}

void Node::verified(uint64_t request_id) {
  record(kRecordClientDone, request_id, 0, kOk);
  if (collect_completions_) completions_.push_back(Completion{request_id, 0, term_, kOk, "verified"});
}

void Node::finish_verifications() {
  for (auto it = verifications_.begin(); it != verifications_.end();) {
    if (verification_quorum(*it)) {
      verified(it->request_id);
      it = verifications_.erase(it);
    } else {
      ++it;
    }
  }
}

Node::Peer* Node::response_peer(NodeId from, uint64_t term) {
  if (term > term_) {
    step_down(term);
    return nullptr;
  }
  auto it = peers_.find(from);
  if (role_ != Role::kLeader || term != term_ || it == peers_.end()) return nullptr;
  it->second.last_contact = env().now();
  return &it->second;
}

bool Node::settle_inflight(Peer& p, uint64_t seq) {
  auto fl = std::find_if(p.inflight.begin(), p.inflight.end(), [seq](const auto& f) { return f.first == seq; });
  const bool awaited = fl != p.inflight.end();
  if (awaited) p.inflight.erase(fl);
  if (p.inflight.empty()) disarm(p.rpc_timer);
  return awaited;
}

void Node::handle_append_resp(NodeId from, uint64_t seq, const AppendEntriesResp& m) {
  Peer* peer = response_peer(from, m.term);
  if (peer == nullptr) return;
  if (m.heartbeat) {
    // Heartbeats are fire-and-forget; an answer only feeds verifications.
    if (m.success) note_heartbeat_ack(from, seq);
    return;
  }
  Peer& p = *peer;
  const bool awaited = settle_inflight(p, seq);
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
  Peer* peer = response_peer(from, m.term);
  if (peer == nullptr) return;
  Peer& p = *peer;
  if (!settle_inflight(p, seq)) return;
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
  record(kRecordCommit, commit_);
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
    switch (e->type) {
      case EntryType::kCommand: result = sm_->apply(e->index, e->term, e->data); break;
      // The others never reach the state machine: a configuration took
      // effect when appended; a no-op and a barrier only mark a point in the
      // log (a barrier's caller is answered below, like a command's).
      case EntryType::kNoop:
      case EntryType::kConfiguration:
      case EntryType::kBarrier: break;
    }
    record(kRecordApply, e->index, e->term, entry_hash(e->type, e->data));
    auto pending = pending_.find(e->index);
    if (pending != pending_.end()) {
      record(kRecordClientDone, pending->second, e->index, e->term);
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
  record(kRecordSnapshot, snapshot_index_, snapshot_term_);
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
  record(kRecordConfig, idx, c.mask(Suffrage::kVoter), c.mask(Suffrage::kNonvoter));
}

}  // namespace core::raft

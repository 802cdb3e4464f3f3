// raft::Node: client API (proposals, membership, transfer) and accessors.
#include "core/raft/node.hpp"

#include <algorithm>
#include <cassert>

#include "core/check.hpp"

namespace core::raft {

// ---------------------------------------------------------------- client API

Proposal Node::propose(Env& env, uint64_t request_id, std::string data) {
  env_ = &env;
  Proposal p = leader_check();
  if (!p.ok()) return p;
  p = append_request(request_id, EntryType::kCommand, std::move(data));
  check_invariants();
  return p;
}

Proposal Node::barrier(Env& env, uint64_t request_id) {
  env_ = &env;
  // hashicorp sends a barrier down the same channel as Apply, so it is
  // refused in the same cases.
  Proposal p = leader_check();
  if (!p.ok()) return p;
  p = append_request(request_id, EntryType::kBarrier, {});
  check_invariants();
  return p;
}

Proposal Node::verify_leader(Env& env, uint64_t request_id) {
  env_ = &env;
  // hashicorp's leader loop serves verifyCh whatever a transfer is doing.
  Proposal p = leader_check(/*during_transfer=*/true);
  if (!p.ok()) return p;
  p.term = term_;
  // Every request this node sends from now on is numbered first_seq or
  // higher: an answer to one proves the peer still followed this term after
  // the call. An older answer proves nothing about the present.
  Verification v{request_id, seq_ + 1, {}};
  if (verification_quorum(v)) {
    verified(request_id);  // a single voter needs nobody
  } else {
    verifications_.push_back(std::move(v));
    // hashicorp notifies every replication's heartbeat loop, which sends at
    // once and then waits a whole interval again.
    for (auto& [id, peer] : peers_) heartbeat_now(id, peer);
  }
  check_invariants();
  return p;
}

Proposal Node::append_request(uint64_t request_id, EntryType type, std::string data) {
  Proposal p;
  p.term = term_;
  p.index = last_log_index() + 1;
  pending_[p.index] = request_id;
  leader_append(type, std::move(data));
  return p;
}

Proposal Node::add_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  Proposal p = change_configuration(request_id, id, prev_index, ConfigChange::kAddVoter);
  check_invariants();
  return p;
}
Proposal Node::add_nonvoter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  Proposal p = change_configuration(request_id, id, prev_index, ConfigChange::kAddNonvoter);
  check_invariants();
  return p;
}
Proposal Node::demote_voter(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  Proposal p = change_configuration(request_id, id, prev_index, ConfigChange::kDemoteVoter);
  check_invariants();
  return p;
}
Proposal Node::remove_server(Env& env, uint64_t request_id, NodeId id, uint64_t prev_index) {
  env_ = &env;
  Proposal p = change_configuration(request_id, id, prev_index, ConfigChange::kRemoveServer);
  check_invariants();
  return p;
}

Proposal Node::change_configuration(uint64_t request_id, NodeId id, uint64_t prev_index, ConfigChange op) {
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
    case ConfigChange::kAddVoter: next.upsert(Server{id, Suffrage::kVoter}); break;
    case ConfigChange::kAddNonvoter:
      if (cur == nullptr) next.upsert(Server{id, Suffrage::kNonvoter});  // never demotes a voter
      break;
    case ConfigChange::kDemoteVoter:
      if (cur != nullptr) next.upsert(Server{id, Suffrage::kNonvoter});
      break;
    case ConfigChange::kRemoveServer: next.remove(id); break;
  }
  if (next.voter_count() == 0) return Proposal{"configuration would have no voters"};
  return append_request(request_id, EntryType::kConfiguration, next.encode());
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
  record(kRecordTransfer, target, term_, kTransferStarted);
  transfer_timer_ = arm(cfg_.election_timeout, kTimerTransfer);
  replicate(target, true);
  maybe_send_timeout_now();
  check_invariants();
  return {};
}

void Node::maybe_send_timeout_now() {
  if (transfer_target_ == kNoNode || timeout_now_sent_) return;
  auto it = peers_.find(transfer_target_);
  if (it == peers_.end() || it->second.match < last_log_index()) return;
  timeout_now_sent_ = true;
  record(kRecordTransfer, transfer_target_, term_, kTransferTimeoutNowSent);
  send(transfer_target_, kTimeoutNow, Msg{++seq_, TimeoutNow{term_}});
  // Wait up to another election timeout to lose leadership.
  disarm(transfer_timer_);
  transfer_timer_ = arm(cfg_.election_timeout, kTimerTransfer);
}

void Node::end_transfer(TransferStage outcome) {
  record(kRecordTransfer, transfer_target_, term_, outcome);
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

void Node::check_invariants() const {
  // The deliberately broken build may lose committed entries; the checkers,
  // not these checks, report what follows.
  if (cfg_.unsafe_skip_vote_log_check) return;
  CORE_CHECK(commit_ <= last_log_index(), "raft: commit index beyond the log");
  CORE_CHECK(applied_ <= commit_, "raft: applied beyond the commit index");
  CORE_CHECK(snapshot_index_ <= applied_, "raft: snapshot beyond what was applied");
  CORE_CHECK(role_ == Role::kLeader || (pending_.empty() && verifications_.empty()),
             "raft: client requests waiting on a node that does not lead");
  CORE_CHECK(log_.empty() ? first_index_ == snapshot_index_ + 1
                          : log_.front().index == first_index_ && log_.back().index + 1 == first_index_ + log_.size() &&
                                first_index_ <= snapshot_index_ + 1,
             "raft: the log is not contiguous from first_log_index() to last_log_index()");
  // Cheap enough for every input: a node tracks a handful of configurations.
  for (const auto& [index, conf] : log_confs_) {
    const Entry* e = entry(index);
    CORE_CHECK(index > snapshot_conf_index_ && e != nullptr && e->type == EntryType::kConfiguration,
               "raft: a configuration that exists in no log (index " + std::to_string(index) + ")");
    assert(Configuration::decode(e->data).value_or(Configuration{}) == conf);
    (void)conf;
  }
}

uint64_t Node::match_index(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.match;
}
Time Node::peer_last_contact(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.last_contact;
}
uint64_t Node::next_index(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.next;
}

}  // namespace core::raft

// Serf: member statuses and their transitions (serf v0.9.5 serf.go
// handleNodeJoin, handleNodeLeave, handleNodeJoinIntent,
// handleNodeLeaveIntent, handlePrune, eraseNode, reap; reference B.2, B.5).
#include <algorithm>

#include "core/check.hpp"
#include "core/serf/serf.hpp"

namespace core::serf {

void Serf::set_member(Env& env, NodeId node, MemberStatus s, uint64_t ltime, bool announce) {
  CORE_CHECK(ltime <= UINT32_MAX, "serf: status Lamport times fit 32 bits");
  const MemberStatus old = status(node);
  const uint32_t old_ltime = ltimes_[node];
  if (old != s) {
    if (old == MemberStatus::kNone) ++members_;
    else --counts_[static_cast<size_t>(old)];
    if (s == MemberStatus::kNone) --members_;
    else ++counts_[static_cast<size_t>(s)];
    statuses_[node] = static_cast<uint8_t>(s);
  }
  ltimes_[node] = static_cast<uint32_t>(ltime);
  if (announce && s != MemberStatus::kNone && (old != s || old_ltime != ltime))
    env.record(Record(kRecordMember, node, static_cast<uint64_t>(s), ltime));
}

void Serf::emit(Env& env, MemberEventType type, NodeId node) {
  if (listener_) listener_->on_member_event(env, type, node);
}

bool Serf::remove_departed(std::vector<Departed>& list, NodeId node) {
  // serf removeOldMember: swap with the last entry and shrink.
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].node != node) continue;
    list[i] = list.back();
    list.pop_back();
    return true;
  }
  return false;
}

std::optional<Time> Serf::leave_time(NodeId n) const {
  const std::vector<Departed>* list = nullptr;
  if (status(n) == MemberStatus::kFailed) list = &failed_;
  else if (status(n) == MemberStatus::kLeft) list = &left_;
  if (!list) return std::nullopt;
  for (const Departed& d : *list)
    if (d.node == n) return d.leave_time;
  return std::nullopt;
}

bool Serf::has_alive_members() const {
  const uint32_t alive = count(MemberStatus::kAlive);
  return alive > (status(self_) == MemberStatus::kAlive ? 1u : 0u);
}

// ---------------------------------------------------------------- memberlist events

void Serf::handle_node_join(Env& env, NodeId node) {
  const MemberStatus old = status(node);
  if (old == MemberStatus::kNone) {
    // A buffered intent gives the new member its Lamport time; the buffer
    // holds one intent per node, so the newer of join and leave wins.
    MemberStatus s = MemberStatus::kAlive;
    LamportTime ltime = 0;
    if (auto j = intents_.recent(node, IntentType::kJoin)) ltime = *j;
    if (auto l = intents_.recent(node, IntentType::kLeave)) {
      s = MemberStatus::kLeaving;
      ltime = *l;
    }
    set_member(env, node, s, ltime);
  } else {
    if (old == MemberStatus::kFailed) {
      const std::optional<Time> since = leave_time(node);
      if (since && env.now() - *since < config_.flap_timeout) ++stats_.flaps;
    }
    set_member(env, node, MemberStatus::kAlive, ltimes_[node]);
    if (old == MemberStatus::kFailed || old == MemberStatus::kLeft) {
      remove_departed(failed_, node);
      remove_departed(left_, node);
    }
  }
  ++stats_.member_joins;
  if (config_.snapshot) snapshot_.member_alive(env, node, clock_.time());
  emit(env, MemberEventType::kJoin, node);
}

void Serf::handle_node_leave(Env& env, NodeId node) {
  const MemberStatus old = status(node);
  MemberEventType event;
  if (old == MemberStatus::kLeaving) {
    set_member(env, node, MemberStatus::kLeft, ltimes_[node]);
    left_.push_back(Departed{node, env.now()});
    ++stats_.member_leaves;
    event = MemberEventType::kLeave;
  } else if (old == MemberStatus::kAlive) {
    set_member(env, node, MemberStatus::kFailed, ltimes_[node]);
    failed_.push_back(Departed{node, env.now()});
    ++stats_.member_failures;
    event = MemberEventType::kFailed;
  } else {
    return;  // unknown, or failed / left already: serf logs "Bad state when leave"
  }
  if (config_.snapshot) snapshot_.member_gone(env, node, clock_.time());
  emit(env, event, node);
}

// ---------------------------------------------------------------- intents

bool Serf::handle_join_intent(Env& env, LamportTime ltime, NodeId node) {
  clock_.witness(ltime);
  if (node >= capacity()) return false;
  if (status(node) == MemberStatus::kNone) {
    const bool stored = intents_.upsert(node, IntentType::kJoin, ltime, env.now());
    if (stored) ++stats_.intents_buffered;
    return stored;
  }
  if (ltime <= ltimes_[node]) return false;
  // A join newer than the leave we heard of: the member stays.
  const MemberStatus s = status(node) == MemberStatus::kLeaving ? MemberStatus::kAlive : status(node);
  set_member(env, node, s, ltime);
  return true;
}

bool Serf::handle_leave_intent(Env& env, LamportTime ltime, NodeId node, bool prune) {
  clock_.witness(ltime);
  if (node >= capacity()) return false;
  if (status(node) == MemberStatus::kNone) {
    const bool stored = intents_.upsert(node, IntentType::kLeave, ltime, env.now());
    if (stored) ++stats_.intents_buffered;
    return stored;
  }
  if (ltime <= ltimes_[node]) return false;
  // An old leave intent about ourselves while we are alive: refute it with
  // a newer join intent.
  if (node == self_ && state_ == SerfState::kAlive) {
    ++stats_.refutes;
    broadcast_join(env, clock_.time());
    return false;
  }
  // The Lamport time moves even when the status does not, so that a second
  // copy of the same leave is not rebroadcast forever (serf's fix for
  // consul#8179 / #7960).
  switch (status(node)) {
    case MemberStatus::kAlive:
      set_member(env, node, MemberStatus::kLeaving, ltime);
      if (prune) handle_prune(env, node);
      return true;
    case MemberStatus::kFailed:
      // A forced leave: failed -> left, so that a push/pull takes it off
      // other members' failed lists too.
      // The member keeps its failure time: the tombstone timeout counts
      // from it (serf moves the memberState, leaveTime and all).
      {
        const Time since = leave_time(node).value_or(env.now());
        set_member(env, node, MemberStatus::kLeft, ltime);
        remove_departed(failed_, node);
        left_.push_back(Departed{node, since});
      }
      ++stats_.member_leaves;
      emit(env, MemberEventType::kLeave, node);
      if (prune) handle_prune(env, node);
      return true;
    case MemberStatus::kLeaving:
    case MemberStatus::kLeft:
      set_member(env, node, status(node), ltime);
      if (prune) handle_prune(env, node);
      return true;
    case MemberStatus::kNone: break;
  }
  return false;
}

void Serf::handle_prune(Env& env, NodeId node) {
  if (status(node) == MemberStatus::kLeaving) {
    // Let a leaving member finish leaving first (see kTimerPrune).
    prunes_[node] = true;
    env.set_timer(config_.broadcast_timeout + config_.leave_propagate_delay, timer(kTimerPrune, node));
    return;
  }
  remove_departed(left_, node);
  remove_departed(failed_, node);
  erase_node(env, node, /*forced=*/true);
}

void Serf::erase_node(Env& env, NodeId node, bool forced) {
  const MemberStatus old = status(node);
  set_member(env, node, MemberStatus::kNone, 0, /*announce=*/false);
  if (client_) client_->forget_node(node);
  cache_.erase(node);
  if (forced) ++stats_.prunes;
  ++stats_.reaps;
  env.record(Record(kRecordReap, node, static_cast<uint64_t>(old), forced ? 1 : 0));
  emit(env, MemberEventType::kReap, node);
}

// ---------------------------------------------------------------- reaper

void Serf::reap_list(Env& env, std::vector<Departed>& list, Duration timeout, MemberStatus expected) {
  // serf reap: walks the list, moving the last entry into each erased slot.
  const Time now = env.now();
  size_t n = list.size();
  for (size_t i = 0; i < n; ++i) {
    const Departed d = list[i];
    CORE_CHECK(status(d.node) == expected, "serf: a member in the failed/left list has that status");
    if (now - d.leave_time <= timeout) continue;
    list[i] = list[n - 1];
    list.pop_back();
    --n;
    --i;
    erase_node(env, d.node, /*forced=*/false);
  }
}

void Serf::reap(Env& env) {
  reap_list(env, failed_, config_.reconnect_timeout, MemberStatus::kFailed);
  reap_list(env, left_, config_.tombstone_timeout, MemberStatus::kLeft);
  intents_.reap(env.now(), config_.recent_intent_timeout);
}

// ---------------------------------------------------------------- invariants

void Serf::check_invariants() const {
  uint32_t sum = 0;
  for (size_t s = 1; s < counts_.size(); ++s) sum += counts_[s];
  CORE_CHECK(sum == members_, "serf: status counts add up to the member count");
  CORE_CHECK(failed_.size() == count(MemberStatus::kFailed), "serf: the failed list holds every failed member");
  CORE_CHECK(left_.size() == count(MemberStatus::kLeft), "serf: the left list holds every left member");
  // The local node never fails in its own view (memberlist never reports
  // its own death); while serf is alive it is a member.
  CORE_CHECK(status(self_) != MemberStatus::kFailed, "serf: the local node is never failed in its own view");
  if (state_ == SerfState::kAlive)
    CORE_CHECK(status(self_) != MemberStatus::kNone, "serf: the local node is a member while alive");
}

}  // namespace core::serf

// Serf: boot, inputs, the API and the background loops (serf v0.9.5
// serf.go, delegate.go, event_delegate.go, ping_delegate.go; reference B).
// Member handling is in serf_members.cpp.
#include "core/serf/serf.hpp"

#include <algorithm>
#include <utility>

#include "core/check.hpp"

namespace core::serf {

namespace {
constexpr uint64_t kPayloadMask = 0xFFFFFFFFull;
}  // namespace

// Deviation: serf computes the probability and its draw in float32
// (rand.Float32() > prob skips); here both are doubles from env.rng().
double reconnect_probability(uint32_t members, uint32_t failed, uint32_t left) {
  const int64_t alive = static_cast<int64_t>(members) - failed - left;
  const double denominator = alive <= 0 ? 1.0 : static_cast<double>(alive);
  return static_cast<double>(failed) / denominator;
}

std::string check_user_event_size(const Config& config, LamportTime ltime, const UserEvent& e) {
  const uint64_t raw = uint64_t{e.name_bytes} + e.payload_bytes;
  if (raw > config.user_event_size_limit)
    return "user event exceeds configured limit of " + std::to_string(config.user_event_size_limit) +
           " bytes before encoding";
  if (raw > kUserEventSizeHardLimit) return "user event exceeds sane limit of 9216 bytes before encoding";
  const uint32_t encoded = user_event_bytes(ltime, e);
  if (encoded > config.user_event_size_limit)
    return "encoded user event exceeds configured limit of " + std::to_string(config.user_event_size_limit) +
           " bytes after encoding";
  // (sic: serf's message says "before" here too)
  if (encoded > kUserEventSizeHardLimit) return "encoded user event exceeds sane limit of 9216 bytes before encoding";
  return "";
}

Serf::Serf(NodeId self, uint32_t capacity, const Config& config, std::string storage_prefix)
    : self_(self),
      config_(config),
      prefix_(std::move(storage_prefix)),
      memberlist_(self, capacity, config.memberlist,
                  memberlist::Delegates{this, this, config.disable_coordinates ? nullptr : this, this}),
      tags_bytes_(config.tags_bytes),
      statuses_(capacity, 0),
      ltimes_(capacity, 0),
      events_(config.event_buffer),
      intent_queue_(config.memberlist.retransmit_mult),
      event_queue_(config.memberlist.retransmit_mult),
      query_queue_(config.memberlist.retransmit_mult),
      snapshot_(prefix_, capacity, config.rejoin_after_leave) {
  CORE_CHECK(self < capacity, "serf: self id within capacity");
  CORE_CHECK(config.validate().empty(), "serf: a valid config");
}

uint64_t Serf::timer(TimerKind k, uint64_t payload) const {
  return (kTimerTag << 56) | (static_cast<uint64_t>(k) << 48) | ((epoch_ & 0xFFFF) << 32) | (payload & kPayloadMask);
}

// ---------------------------------------------------------------- boot

void Serf::start(Env& env, const std::vector<NodeId>& known) {
  ++epoch_;
  std::fill(statuses_.begin(), statuses_.end(), 0);
  std::fill(ltimes_.begin(), ltimes_.end(), 0);
  members_ = 0;
  counts_.fill(0);
  failed_.clear();
  left_.clear();
  intents_.clear();
  events_.clear();
  std::vector<uint64_t> dropped;
  intent_queue_.reset(&dropped);
  event_queue_.reset(&dropped);
  query_queue_.reset(&dropped);
  joins_.clear();
  ignore_old_joins_ = 0;
  rejoin_candidates_.clear();
  rejoin_next_ = 0;
  leave_stage_ = LeaveStage::kNone;
  leave_timer_ = 0;
  force_leaves_.clear();
  prunes_.clear();
  tags_bytes_ = config_.tags_bytes;
  cache_.clear();
  ack_payload_.reset();
  if (config_.disable_coordinates) client_.reset();
  else client_.emplace(config_.coordinate);

  // serf Create: the clocks start at 1 so that a join LTime of 0 means
  // "never", then move past what the snapshot remembers; events (and
  // queries) up to the remembered clock are not delivered again.
  clock_.reset();
  event_clock_.reset();
  query_clock_.reset();
  event_min_time_ = 0;
  query_min_time_ = 0;
  std::vector<NodeId> previous;
  if (config_.snapshot) {
    snapshot_.open(env.storage());
    previous = snapshot_.alive_nodes();
    event_min_time_ = snapshot_.last_event_clock() + 1;
    query_min_time_ = snapshot_.last_query_clock() + 1;
  }
  clock_.increment();
  event_clock_.increment();
  query_clock_.increment();
  if (config_.snapshot) {
    clock_.witness(snapshot_.last_clock());
    event_clock_.witness(snapshot_.last_event_clock());
    query_clock_.witness(snapshot_.last_query_clock());
  }

  set_state(env, SerfState::kAlive);
  memberlist_.start(env, known);
  // memberlist v0.2.2 reports the local node's own join (aliveNode at
  // Create); ours does not, so serf adds itself here.
  handle_node_join(env, self_);
  // Deviation: a pool that starts "already joined" (memberlist's `known`)
  // has every member alive at status time 0, without the joins' intents
  // and events, which retired long ago in the pool this stands for.
  // Quietly: no records or events (10^8 of them for 10,000 members); the
  // layer knows the starting views. The snapshot does note them (one
  // compacted write), so that a restart rejoins them.
  for (NodeId n : known) {
    if (n >= capacity() || status(n) != MemberStatus::kNone) continue;
    set_member(env, n, MemberStatus::kAlive, 0, /*announce=*/false);
  }
  if (config_.snapshot && !known.empty()) snapshot_.seed_alive(env, known);

  env.set_timer(config_.reap_interval, timer(kTimerReap));
  env.set_timer(config_.reconnect_interval, timer(kTimerReconnect));
  env.set_timer(config_.queue_check_interval, timer(kTimerQueueCheck));
  if (config_.snapshot) {
    snapshot_phase_ = env.now() + Snapshotter::kFlushInterval;
    snapshot_armed_ = true;
    env.set_timer(Snapshotter::kFlushInterval, timer(kTimerSnapshot));
  }

  // serf handleRejoin: the previously alive members in random order (serf
  // AliveNodes shuffles), one at a time until one answers.
  for (size_t i = 0; i < previous.size(); ++i) {
    const size_t j = static_cast<size_t>(env.rng().below(i + 1));
    std::swap(previous[i], previous[j]);
  }
  for (NodeId n : previous)
    if (n != self_) rejoin_candidates_.push_back(n);
  if (!rejoin_candidates_.empty()) next_rejoin(env);
  check_invariants();
}

void Serf::shutdown(Env& env) {
  if (state_ == SerfState::kShutdown) return;
  if (config_.snapshot) snapshot_.close(env, clock_.time());
  set_state(env, SerfState::kShutdown);
  shutdown();
}

void Serf::shutdown() {
  state_ = SerfState::kShutdown;
  memberlist_.shutdown();
  ++epoch_;  // every armed timer is now stale
}

void Serf::set_state(Env& env, SerfState s) {
  if (state_ == s) return;
  state_ = s;
  env.record(Record(kRecordState, static_cast<uint64_t>(s)));
}

// ---------------------------------------------------------------- inputs

void Serf::on_message(Env& env, const Message& msg) {
  if (state_ == SerfState::kShutdown) return;
  if (family_of(msg.type) != kFamilyMemberlist) return;
  memberlist_.on_message(env, msg);
  arm_snapshot(env);
  check_invariants();
}

void Serf::on_timer(Env& env, uint64_t what) {
  if (state_ == SerfState::kShutdown) return;
  if (memberlist::Memberlist::owns_timer(what)) {
    memberlist_.on_timer(env, what);
    arm_snapshot(env);
    check_invariants();
    return;
  }
  if (!owns_timer(what)) return;
  if (((what >> 32) & 0xFFFF) != (epoch_ & 0xFFFF)) return;
  const auto kind = static_cast<TimerKind>((what >> 48) & 0xFF);
  const uint32_t payload = static_cast<uint32_t>(what & kPayloadMask);
  switch (kind) {
    case kTimerReap:
      // serf's loops re-arm after each pass (time.After in a for loop).
      reap(env);
      env.set_timer(config_.reap_interval, timer(kTimerReap));
      break;
    case kTimerReconnect:
      // The loop blocks on the reconnect's memberlist Join; the next
      // interval starts when it returns (join_done).
      if (!reconnect(env)) env.set_timer(config_.reconnect_interval, timer(kTimerReconnect));
      break;
    case kTimerQueueCheck:
      check_queues(env);
      env.set_timer(config_.queue_check_interval, timer(kTimerQueueCheck));
      break;
    case kTimerSnapshot:
      snapshot_armed_ = false;
      snapshot_.tick(env, clock_.time());
      break;
    case kTimerLeaveIntentTimeout:
      if (leave_stage_ != LeaveStage::kWaitIntent) break;
      // serf Leave returns "timeout while waiting for graceful leave": no
      // memberlist leave, the node stays leaving.
      leave_stage_ = LeaveStage::kDone;
      env.record(Record(kRecordLeaveDone, kLeaveIntentTimeout));
      break;
    case kTimerLeaveIntentDone:
      if (leave_stage_ == LeaveStage::kWaitIntent) leave_memberlist(env);
      break;
    case kTimerLeavePropagate:
      if (leave_stage_ != LeaveStage::kPropagate) break;
      leave_stage_ = LeaveStage::kDone;
      set_state(env, SerfState::kLeft);
      env.record(Record(kRecordLeaveDone, kLeaveDone));
      break;
    case kTimerPrune: {
      auto it = prunes_.find(payload);
      if (it == prunes_.end()) break;
      prunes_.erase(it);
      // Deviation: serf's handlePrune sleeps BroadcastTimeout +
      // LeavePropagateDelay holding the member lock (blocking all of serf's
      // member handling meanwhile); here the erase waits on a timer and
      // serf goes on. It erases whatever the member has become by then, as
      // serf does, and also takes it off the failed list should it have
      // failed meanwhile (serf would leave a stale entry there).
      if (status(payload) == MemberStatus::kNone) break;
      remove_departed(left_, payload);
      remove_departed(failed_, payload);
      erase_node(env, payload, /*forced=*/true);
      break;
    }
    case kTimerForceLeaveTimeout: {
      auto it = force_leaves_.find(payload);
      if (it == force_leaves_.end()) break;
      env.record(Record(kRecordForceLeaveDone, it->second.node, 1));
      force_leaves_.erase(it);
      break;
    }
  }
  arm_snapshot(env);
  check_invariants();
}

void Serf::arm_snapshot(Env& env) {
  // Deviation: serf's snapshotter ticks every 500 ms; a tick with nothing
  // to write does nothing, so the tick is simulated only when a line is
  // buffered or the clock moved, at the ticker's phase.
  if (!config_.snapshot || snapshot_armed_ || state_ == SerfState::kShutdown) return;
  if (!snapshot_.has_work(clock_.time())) return;
  const Duration since = env.now() - snapshot_phase_;
  const Duration k = since < 0 ? 0 : since / Snapshotter::kFlushInterval + 1;
  snapshot_armed_ = true;
  env.set_timer(snapshot_phase_ + k * Snapshotter::kFlushInterval - env.now(), timer(kTimerSnapshot));
}

// ---------------------------------------------------------------- API

std::string Serf::join(Env& env, const std::vector<NodeId>& peers, bool ignore_old) {
  if (state_ != SerfState::kAlive) return "Serf can't Join after Leave or Shutdown";
  ++stats_.joins;
  enqueue_join(env, PendingJoin{JoinKind::kUser, peers, ignore_old});
  arm_snapshot(env);
  check_invariants();
  return "";
}

// Deviation: serf's Leave and forceLeave block their caller until the
// intent retired (or BroadcastTimeout), and Leave then blocks on memberlist
// and sleeps LeavePropagateDelay; a simulated node never blocks, so they
// return at once and report the outcome as kRecordLeaveDone /
// kRecordForceLeaveDone (serf's errors become outcome codes).
std::string Serf::leave(Env& env) {
  if (state_ == SerfState::kLeft) return "";
  if (state_ == SerfState::kLeaving) return "Leave already in progress";
  if (state_ == SerfState::kShutdown) return "Leave called after Shutdown";
  set_state(env, SerfState::kLeaving);
  if (config_.snapshot) snapshot_.leave(env);

  const LamportTime ltime = clock_.time();
  clock_.increment();
  handle_leave_intent(env, ltime, self_, false);
  if (has_alive_members()) {
    queue_broadcast(env, intent_queue_, make_leave(ltime, self_, false), kTokenLeave);
    ++stats_.leave_intents_sent;
    leave_stage_ = LeaveStage::kWaitIntent;
    leave_timer_ = env.set_timer(config_.broadcast_timeout, timer(kTimerLeaveIntentTimeout));
  } else {
    leave_memberlist(env);
  }
  arm_snapshot(env);
  check_invariants();
  return "";
}

void Serf::leave_memberlist(Env& env) {
  leave_stage_ = LeaveStage::kWaitMemberlist;
  // memberlist v0.2.2's deadNode reports the local node's own leave (ours
  // does not): serf's view of itself goes leaving -> left here.
  handle_node_leave(env, self_);
  memberlist_.leave(env, config_.broadcast_timeout);
}

void Serf::leave_done(Env& env, bool timed_out) {
  if (leave_stage_ != LeaveStage::kWaitMemberlist) return;
  if (timed_out) {
    // serf Leave returns memberlist's "timeout waiting for leave broadcast".
    leave_stage_ = LeaveStage::kDone;
    env.record(Record(kRecordLeaveDone, kLeaveMemberlistTimeout));
    return;
  }
  // Stay up long enough to answer probes from members that have not heard
  // of the leave yet (serf: time.Sleep(LeavePropagateDelay)).
  leave_stage_ = LeaveStage::kPropagate;
  env.set_timer(config_.leave_propagate_delay, timer(kTimerLeavePropagate));
}

std::string Serf::force_leave(Env& env, NodeId node, bool prune) {
  if (node >= capacity()) return "unknown node";
  const LamportTime ltime = clock_.time();
  clock_.increment();
  handle_leave_intent(env, ltime, node, prune);
  if (!has_alive_members()) {
    env.record(Record(kRecordForceLeaveDone, node, 0));
    arm_snapshot(env);
    check_invariants();
    return "";
  }
  const uint64_t token = next_token_++;
  queue_broadcast(env, intent_queue_, make_leave(ltime, node, prune), token);
  ++stats_.leave_intents_sent;
  const TimerId t = env.set_timer(config_.broadcast_timeout, timer(kTimerForceLeaveTimeout, token));
  force_leaves_[token] = ForceLeave{node, t};
  arm_snapshot(env);
  check_invariants();
  return "";
}

std::string Serf::user_event(Env& env, uint32_t name_id, uint32_t payload_bytes, uint64_t payload_hash, bool coalesce,
                             uint32_t name_bytes) {
  return user_event(env, UserEvent{name_id, name_bytes, payload_bytes, payload_hash, nullptr}, coalesce);
}

std::string Serf::user_event(Env& env, const UserEvent& e, bool coalesce) {
  const LamportTime ltime = event_clock_.time();
  if (std::string err = check_user_event_size(config_, ltime, e); !err.empty()) return err;
  event_clock_.increment();
  ++stats_.user_events_sent;
  env.record(Record(kRecordUserEventSent, ltime, e.name_id, e.payload_hash));
  handle_user_event(env, ltime, e, coalesce);
  queue_broadcast(env, event_queue_, make_user_event(ltime, e, coalesce));
  arm_snapshot(env);
  check_invariants();
  return "";
}

std::string Serf::set_tags(Env& env, uint32_t tags_bytes) {
  if (tags_bytes > kMetaMaxSize) return "Encoded length of tags exceeds limit of 512 bytes";
  tags_bytes_ = tags_bytes;
  memberlist_.update_node(env);
  arm_snapshot(env);
  check_invariants();
  return "";
}

// ---------------------------------------------------------------- joins

// serf's Join (under joinLock), each reconnect attempt and the rejoin after
// a restart are independent memberlist Joins; they may overlap. While a
// join with ignoreOld is in flight, serf's eventJoinIgnore is set for every
// push/pull merge, as in serf.
void Serf::enqueue_join(Env& env, PendingJoin j) {
  if (state_ == SerfState::kShutdown) return;
  const uint32_t id = next_join_id_++;
  if (j.ignore_old) ++ignore_old_joins_;
  const std::vector<NodeId> peers = j.peers;  // join_done may run during the call
  joins_.emplace(id, std::move(j));
  memberlist_.join(env, peers, id);
}

void Serf::join_done(Env& env, uint32_t join_id, uint32_t contacted) {
  auto it = joins_.find(join_id);
  CORE_CHECK(it != joins_.end(), "serf: join_done answers a join in flight");
  PendingJoin j = std::move(it->second);
  joins_.erase(it);
  if (j.ignore_old) --ignore_old_joins_;
  switch (j.kind) {
    case JoinKind::kUser:
      env.record(Record(kRecordJoinDone, contacted, j.peers.size()));
      // serf Join: a join intent at the member clock as it is after the
      // join's push/pulls merged the remote clocks.
      if (contacted > 0) broadcast_join(env, clock_.time());
      if (listener_) listener_->on_join_done(env, contacted, static_cast<uint32_t>(j.peers.size()));
      break;
    case JoinKind::kReconnect:
      env.set_timer(config_.reconnect_interval, timer(kTimerReconnect));
      break;
    case JoinKind::kRejoin:
      if (contacted > 0) {
        env.record(Record(kRecordRejoin, j.peers.front(), rejoin_next_));
        rejoin_candidates_.clear();
      } else {
        next_rejoin(env);
      }
      break;
  }
}

void Serf::next_rejoin(Env& env) {
  if (rejoin_next_ >= rejoin_candidates_.size()) {
    env.record(Record(kRecordRejoin, kNoNode, rejoin_next_));
    rejoin_candidates_.clear();
    return;
  }
  ++stats_.rejoin_attempts;
  const NodeId n = rejoin_candidates_[rejoin_next_++];
  // handleRejoin calls memberlist's Join directly: no join intent, and
  // eventJoinIgnore is not set.
  enqueue_join(env, PendingJoin{JoinKind::kRejoin, {n}, false});
}

bool Serf::reconnect(Env& env) {
  const auto n = static_cast<uint32_t>(failed_.size());
  if (n == 0) return false;
  const double prob = reconnect_probability(members_, n, static_cast<uint32_t>(left_.size()));
  if (env.rng().unit() > prob) {
    ++stats_.reconnects_throttled;
    return false;
  }
  const Departed& d = failed_[env.rng().below(n)];
  CORE_CHECK(status(d.node) == MemberStatus::kFailed, "serf: a member in the failed list is failed");
  ++stats_.reconnect_attempts;
  enqueue_join(env, PendingJoin{JoinKind::kReconnect, {d.node}, false});
  return true;
}

// ---------------------------------------------------------------- broadcasts

void Serf::queue_broadcast(Env& env, memberlist::TransmitLimitedQueue& q, std::shared_ptr<const memberlist::UserMsg> msg,
                           uint64_t notify) {
  auto item = std::make_shared<memberlist::Item>();
  item->type = memberlist::ItemType::kUser;
  item->from = self_;
  item->bytes = msg->bytes;
  item->user = std::move(msg);
  std::vector<uint64_t> finished;
  // serf's broadcasts are unique: never invalidated by a later one.
  q.queue(std::move(item), memberlist::TransmitLimitedQueue::kUnique, notify, &finished);
  CORE_CHECK(finished.empty(), "serf: unique broadcasts replace nothing");
  memberlist_.wake_gossip(env);
}

void Serf::broadcast_join(Env& env, LamportTime ltime) {
  clock_.witness(ltime);
  handle_join_intent(env, ltime, self_);
  queue_broadcast(env, intent_queue_, make_join(ltime, self_));
  ++stats_.join_intents_sent;
}

std::vector<memberlist::ItemPtr> Serf::get_broadcasts(Env& env, uint32_t overhead, uint32_t limit) {
  // serf's delegate: intents first, then queries, then events, each from
  // what the previous left of the budget. The retransmit limit scales with
  // serf's member count (failed and left members included).
  std::vector<uint64_t> finished;
  std::vector<memberlist::ItemPtr> out = intent_queue_.get_broadcasts(overhead, limit, members_, &finished);
  uint64_t used = 0;
  for (const auto& it : out) used += overhead + it->bytes;
  for (memberlist::TransmitLimitedQueue* q : {&query_queue_, &event_queue_}) {
    if (used >= limit) break;
    std::vector<memberlist::ItemPtr> more =
        q->get_broadcasts(overhead, static_cast<uint32_t>(limit - used), members_, &finished);
    for (auto& it : more) {
      used += overhead + it->bytes;
      out.push_back(std::move(it));
    }
  }
  if (!finished.empty()) handle_finished(env, finished);
  return out;
}

void Serf::handle_finished(Env& env, const std::vector<uint64_t>& tokens) {
  for (uint64_t t : tokens) {
    if (t == kTokenLeave) {
      if (leave_stage_ != LeaveStage::kWaitIntent) continue;
      // The leave goes on outside memberlist's call (serf's Leave goroutine
      // wakes on the closed channel).
      env.cancel_timer(leave_timer_);
      env.set_timer(0, timer(kTimerLeaveIntentDone));
      continue;
    }
    auto it = force_leaves_.find(t);
    if (it == force_leaves_.end()) continue;
    env.cancel_timer(it->second.timer);
    env.record(Record(kRecordForceLeaveDone, it->second.node, 0));
    force_leaves_.erase(it);
  }
}

void Serf::check_queues(Env& env) {
  // serf's three checkQueueDepth loops (they start together, so they tick
  // together), Intent, Event, Query.
  const std::pair<memberlist::TransmitLimitedQueue*, SerfQueue> queues[] = {
      {&intent_queue_, kQueueIntents}, {&event_queue_, kQueueEvents}, {&query_queue_, kQueueQueries}};
  for (const auto& [q, which] : queues) {
    const size_t depth = q->size();
    if (depth >= config_.queue_depth_warning) ++stats_.queue_depth_warnings;
    const uint32_t max = config_.queue_max(members_);
    if (depth <= max) continue;
    std::vector<uint64_t> finished;
    q->prune(max, &finished);
    stats_.queue_dropped += depth - max;
    env.record(Record(kRecordQueuePrune, which, depth, max));
    if (!finished.empty()) handle_finished(env, finished);
  }
}

// ---------------------------------------------------------------- delegate

void Serf::notify_msg(Env& env, const memberlist::UserMsg& msg) {
  if (state_ == SerfState::kShutdown) return;
  switch (msg.kind) {
    case kMsgLeave: {
      const auto& m = static_cast<const LeaveMsg&>(msg);
      ++stats_.leave_intents_received;
      if (handle_leave_intent(env, m.ltime, m.node, m.prune)) {
        std::shared_ptr<const LeaveMsg> same = m.weak_from_this().lock();
        queue_broadcast(env, intent_queue_, same ? same : make_leave(m.ltime, m.node, m.prune));
        ++stats_.intents_rebroadcast;
      }
      break;
    }
    case kMsgJoin: {
      const auto& m = static_cast<const JoinMsg&>(msg);
      ++stats_.join_intents_received;
      if (handle_join_intent(env, m.ltime, m.node)) {
        std::shared_ptr<const JoinMsg> same = m.weak_from_this().lock();
        queue_broadcast(env, intent_queue_, same ? same : make_join(m.ltime, m.node));
        ++stats_.intents_rebroadcast;
      }
      break;
    }
    case kMsgUserEvent: {
      const auto& m = static_cast<const UserEventMsg&>(msg);
      ++stats_.user_events_received;
      if (handle_user_event(env, m.ltime, m.event, m.coalesce)) {
        std::shared_ptr<const UserEventMsg> same = m.weak_from_this().lock();
        queue_broadcast(env, event_queue_, same ? same : make_user_event(m.ltime, m.event, m.coalesce));
        ++stats_.user_events_rebroadcast;
      }
      break;
    }
    default: break;  // serf logs "Received message of unknown type"
  }
}

std::shared_ptr<const memberlist::UserMsg> Serf::local_state(Env&, bool) {
  PushPullMsg pp;
  pp.ltime = clock_.time();
  pp.status_ltimes.reserve(members_);
  for (NodeId n = 0; n < capacity(); ++n)
    if (statuses_[n] != 0) pp.status_ltimes.push_back(MemberLTime{n, ltimes_[n]});
  pp.left_members.reserve(left_.size());
  for (const Departed& d : left_) pp.left_members.push_back(d.node);
  pp.event_ltime = event_clock_.time();
  pp.events = events_.used_slots();
  pp.event_buffer_len = events_.size();
  pp.query_ltime = query_clock_.time();
  return make_push_pull(std::move(pp));
}

void Serf::merge_remote_state(Env& env, const memberlist::UserMsg& state, bool join) {
  if (state_ == SerfState::kShutdown || state.kind != kMsgPushPull) return;
  const auto& pp = static_cast<const PushPullMsg&>(state);
  ++stats_.push_pull_merges;
  // No message with the remote clock's current value has been sent yet.
  if (pp.ltime > 0) clock_.witness(pp.ltime - 1);
  if (pp.event_ltime > 0) event_clock_.witness(pp.event_ltime - 1);
  if (pp.query_ltime > 0) query_clock_.witness(pp.query_ltime - 1);

  // Left members first, as leave intents one past their status time (the
  // leave must have come after it to put them on the left list).
  auto ltime_of = [&pp](NodeId n) -> LamportTime {
    auto it = std::lower_bound(pp.status_ltimes.begin(), pp.status_ltimes.end(), n,
                               [](const MemberLTime& m, NodeId id) { return m.node < id; });
    return it != pp.status_ltimes.end() && it->node == n ? it->ltime : 0;
  };
  std::vector<NodeId> left = pp.left_members;
  for (NodeId n : left)
    if (n < capacity()) handle_leave_intent(env, ltime_of(n) + 1, n, false);
  std::sort(left.begin(), left.end());
  // Everyone else as a join intent. (serf walks a Go map here; ascending
  // ids give the same result, each intent being about its own member.)
  for (const MemberLTime& m : pp.status_ltimes) {
    if (m.node >= capacity() || std::binary_search(left.begin(), left.end(), m.node)) continue;
    handle_join_intent(env, m.ltime, m.node);
  }
  if (join && ignore_old_joins_ > 0 && pp.event_ltime > event_min_time_) event_min_time_ = pp.event_ltime;
  // The remote's buffered events, delivered if new here (not rebroadcast).
  for (const EventSlot& slot : pp.events) {
    for (const UserEvent& e : slot.events) {
      ++stats_.user_events_received;
      handle_user_event(env, slot.ltime, e, false);
    }
  }
}

// ---------------------------------------------------------------- events

void Serf::notify_join(Env& env, NodeId node) {
  if (state_ == SerfState::kShutdown || node >= capacity()) return;
  handle_node_join(env, node);
}

void Serf::notify_leave(Env& env, NodeId node, bool) {
  // serf decides left vs failed from its own view (leaving -> left).
  if (state_ == SerfState::kShutdown || node >= capacity()) return;
  handle_node_leave(env, node);
}

void Serf::notify_update(Env& env, NodeId node) {
  if (state_ == SerfState::kShutdown || node >= capacity() || status(node) == MemberStatus::kNone) return;
  ++stats_.member_updates;
  env.record(Record(kRecordMemberUpdate, node));
  emit(env, MemberEventType::kUpdate, node);
}

bool Serf::handle_user_event(Env& env, LamportTime ltime, const UserEvent& e, bool coalesce) {
  event_clock_.witness(ltime);
  switch (events_.offer(ltime, e, event_clock_.time(), event_min_time_)) {
    case EventOutcome::kBeforeMinTime: ++stats_.user_events_before_min_time; return false;
    case EventOutcome::kTooOld: ++stats_.user_events_too_old; return false;
    case EventOutcome::kDuplicate: ++stats_.user_events_duplicate; return false;
    case EventOutcome::kNew: break;
  }
  ++stats_.user_events_delivered;
  env.record(Record(kRecordUserEvent, ltime, e.name_id, e.payload_hash));
  if (config_.snapshot) snapshot_.user_event(env, ltime);
  if (listener_) listener_->on_user_event(env, ltime, e, coalesce);
  return true;
}

// ---------------------------------------------------------------- coordinates

std::shared_ptr<const memberlist::UserMsg> Serf::ack_payload(Env&) {
  if (!client_) return nullptr;
  // One payload object until the coordinate moves (every ack shares it).
  if (!ack_payload_) ack_payload_ = make_coordinate_payload(client_->coordinate());
  return ack_payload_;
}

void Serf::notify_ping_complete(Env& env, NodeId node, Duration rtt, const memberlist::UserMsg* payload) {
  if (!client_ || payload == nullptr || payload->kind != kMsgCoordinate || node >= capacity()) return;
  const auto& p = static_cast<const CoordinatePayload&>(*payload);
  if (p.version != kPingVersion) {
    ++stats_.coordinate_rejections;  // "Unsupported ping version"
    return;
  }
  if (client_->update(node, p.coord, rtt, env.rng()) != coordinate::Status::kOk) {
    ++stats_.coordinate_rejections;
    return;
  }
  ++stats_.coordinate_updates;
  ack_payload_.reset();
  cache_put(node, p.coord);
  cache_put(self_, client_->coordinate());
}

void Serf::cache_put(NodeId node, const coordinate::Coordinate& c) {
  cache_.insert_or_assign(node, c);
}

std::optional<coordinate::Coordinate> Serf::cached_coordinate(NodeId n) const {
  auto it = cache_.find(n);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------- accounting

size_t Serf::memory_bytes() const {
  size_t b = sizeof(*this);
  b += statuses_.capacity() + ltimes_.capacity() * sizeof(uint32_t);
  b += (failed_.capacity() + left_.capacity()) * sizeof(Departed);
  b += intents_.size() * (sizeof(NodeId) + sizeof(Intent) + 32);  // map node overhead
  b += events_.memory_bytes();
  b += cache_.size() * (sizeof(NodeId) + sizeof(coordinate::Coordinate) + 32);  // map node overhead
  if (client_) b += client_->memory_bytes();
  b += capacity() / 8;  // the snapshot's alive bits
  return b;
}

}  // namespace core::serf

// Memberlist: state transitions, probing, dissemination and push/pull
// (memberlist v0.2.2 state.go, net.go, memberlist.go; reference A).
#include "core/memberlist/memberlist.hpp"

#include <algorithm>
#include <utility>

#include "core/check.hpp"
#include "core/memberlist/util.hpp"

namespace core::memberlist {

namespace {
constexpr uint64_t kPayloadMask = 0xFFFFFFFFull;
bool dead_or_left(State s) { return s == State::kDead || s == State::kLeft; }
}  // namespace

Memberlist::Memberlist(NodeId self, uint32_t capacity, const Config& config, Delegates delegates)
    : self_(self),
      config_(config),
      d_(delegates),
      awareness_(static_cast<int>(config.awareness_max_multiplier)),
      broadcasts_(config.retransmit_mult) {
  CORE_CHECK(self < capacity, "memberlist: self id within capacity");
  members_.resize(capacity);
}

// ---------------------------------------------------------------- boot

void Memberlist::start(Env& env, const std::vector<NodeId>& known) {
  running_ = true;
  leaving_ = false;
  boot_ = env.now();
  ++epoch_;
  std::fill(members_.begin(), members_.end(), Member{});
  nodes_.clear();
  probe_index_ = 0;
  suspicions_.clear();
  relays_.clear();
  joins_.clear();
  probe_ = Probe{};
  probe_tick_pending_ = false;
  leave_pending_ = false;
  live_ = 0;
  awareness_ = Awareness(static_cast<int>(config_.awareness_max_multiplier));
  std::vector<uint64_t> finished;
  broadcasts_.reset(&finished);

  if (known.empty()) {
    // memberlist setAlive: the local node at incarnation 1, announced.
    alive_node(env, self_, 1, /*bootstrap=*/true);
  } else {
    // Deviation: a pool that starts "already joined" knows every member at
    // incarnation 1 without the join's broadcasts, which retired long ago
    // in the pool this stands for.
    // Quietly: no records either (10^8 of them for 10,000 members); the
    // layer knows the starting views.
    for (NodeId n : known) {
      if (n >= members_.size() || members_[n].known) continue;
      insert_node(env, n);
      members_[n].state = static_cast<uint8_t>(State::kAlive);
      members_[n].incarnation = 1;
      ++live_;
    }
    if (!members_[self_].known) {
      insert_node(env, self_);
      members_[self_].state = static_cast<uint8_t>(State::kAlive);
      members_[self_].incarnation = 1;
      ++live_;
    }
  }

  // Deviation: memberlist v0.2.2 creates each ticker before its random
  // stagger, so the stagger does not move the ticks and members started at
  // the same instant would probe in lockstep. Members of a real pool start
  // at different times; the stagger is used as the tickers' phase.
  env.set_timer(static_cast<Duration>(env.rng().below(static_cast<uint64_t>(config_.probe_interval))),
                timer(kProbeTick));
  if (config_.push_pull_interval > 0) {
    const Duration stagger = static_cast<Duration>(env.rng().below(static_cast<uint64_t>(config_.push_pull_interval)));
    env.set_timer(stagger + push_pull_scale(config_.push_pull_interval, num_nodes()), timer(kPushPullTick));
  }
  if (config_.gossip_interval > 0 && config_.gossip_nodes > 0) {
    const Duration stagger = static_cast<Duration>(env.rng().below(static_cast<uint64_t>(config_.gossip_interval)));
    gossip_phase_ = env.now() + stagger;
    gossip_armed_ = true;
    env.set_timer(stagger, timer(kGossipTick));
  }
  check_invariants();
}

void Memberlist::shutdown() {
  running_ = false;
  ++epoch_;  // every armed timer is now stale
}

uint32_t Memberlist::num_members() const { return live_; }

uint32_t Memberlist::now_ms(Env& env) const {
  return static_cast<uint32_t>((env.now() - boot_) / kMillisecond);
}

// ---------------------------------------------------------------- inputs

void Memberlist::on_message(Env& env, const Message& msg) {
  if (!running_) return;
  const auto* body = std::get_if<std::shared_ptr<const Packet>>(&msg.body);
  CORE_CHECK(body && *body, "memberlist: a memberlist message carries a packet");
  const Packet& p = **body;
  handle_packet(env, msg, p);
  check_invariants();
}

void Memberlist::handle_packet(Env& env, const Message& msg, const Packet& p) {
  // The primary message is handled inline; the piggybacked broadcasts after
  // it, through the hand-off queues (handle_items).
  // Deviation: memberlist's handler goroutine may fall behind its receive
  // loop, and then the bounded LIFO queues drop and reorder. Here the
  // handler keeps up; a slow member is modelled by the simulator delaying
  // whole packets in a FIFO backlog before they reach memberlist (so a deep
  // backlog delivers stale broadcasts that memberlist would have dropped:
  // docs/gossip.md).
  switch (msg.type) {
    case kPing: handle_ping(env, msg, p); break;
    case kIndirectPing: handle_indirect_ping(env, msg, p); break;
    case kAck: handle_ack(env, msg, p); break;
    case kNack:
      if (probe_.active && p.seq_no == probe_.seq) ++probe_.nacks;
      break;
    case kGossip: break;
    case kPushPull: handle_push_pull(env, msg, p); return;  // push/pull carries no broadcasts
    case kStreamPing: {
      // handleConn: a ping over a stream is answered over it.
      if (p.target != self_) return;
      Packet ack;
      ack.seq_no = p.seq_no;
      emit(env, msg.from, kStreamAck, std::move(ack), kAckBytes, true);
      return;
    }
    case kStreamAck:
      if (probe_.active && p.seq_no == probe_.seq) probe_.stream_acked = true;
      return;
    default: return;
  }
  handle_items(env, p);
}

void Memberlist::handle_items(Env& env, const Packet& p) {
  // memberlist's hand-off (net.go handleCommand / getNextMessage): alive
  // messages go to the high-priority queue, the others (suspect, dead,
  // user) to the low-priority one, each bounded at HandoffQueueDepth (a
  // full queue drops the message); the handler takes from the back, newest
  // first, high priority first. The handler keeps up here, so both queues
  // drain after every packet.
  // Two passes over the packet, no copies: the queues hold the first
  // HandoffQueueDepth items of each priority (later ones are dropped), and
  // are taken from the back.
  if (p.items.empty()) return;
  uint32_t high = 0, low = 0;
  for (const ItemPtr& it : p.items) ++(it->type == ItemType::kAlive ? high : low);
  const uint32_t depth = config_.handoff_queue_depth;
  if (high > depth) stats_.handoff_dropped += high - depth;
  if (low > depth) stats_.handoff_dropped += low - depth;
  for (const bool alive : {true, false}) {
    uint32_t seen = alive ? high : low;  // rank (from 1) of the item in its queue
    for (auto it = p.items.rbegin(); it != p.items.rend(); ++it) {
      if (((*it)->type == ItemType::kAlive) != alive) continue;
      if (seen-- <= depth) handle_item(env, **it);
    }
  }
}

void Memberlist::handle_item(Env& env, const Item& it) {
  switch (it.type) {
    case ItemType::kAlive: alive_node(env, it.node, it.incarnation, false); break;
    case ItemType::kSuspect: suspect_node(env, it.node, it.incarnation, it.from); break;
    case ItemType::kDead: dead_node(env, it.node, it.incarnation, it.from); break;
    case ItemType::kUser:
      if (d_.delegate && it.user) d_.delegate->notify_msg(env, *it.user);
      break;
  }
}

void Memberlist::handle_ping(Env& env, const Message& msg, const Packet& p) {
  // A ping meant for another node (a reused address) is ignored.
  if (p.target != self_) return;
  Packet ack;
  ack.seq_no = p.seq_no;
  uint32_t bytes = kAckBytes;
  if (d_.ping) {
    ack.ack_payload = d_.ping->ack_payload(env);
    if (ack.ack_payload) bytes += ack.ack_payload->bytes;
  }
  send(env, msg.from, kAck, std::move(ack), bytes, true);
}

void Memberlist::handle_indirect_ping(Env& env, const Message& msg, const Packet& p) {
  // Probe the target on the requester's behalf with a sequence number of our
  // own; relay its ack, or a nack after ProbeTimeout if one was asked for.
  const uint32_t seq = ++seq_;
  relays_[seq] = Relay{msg.from, p.seq_no, p.want_nack, false};
  Packet ping;
  ping.seq_no = seq;
  ping.target = p.target;
  send(env, p.target, kPing, std::move(ping), kPingBytes, true);
  env.set_timer(config_.probe_timeout, timer(kIndirectTimeout, seq));
  ++stats_.indirect_probes;
}

void Memberlist::handle_ack(Env& env, const Message& msg, const Packet& p) {
  if (probe_.active && p.seq_no == probe_.seq) {
    if (probe_.acked) return;
    probe_.acked = true;
    if (!probe_.indirect && msg.from == probe_.target && d_.ping) {
      // Only an ack that answers the direct ping, before ProbeTimeout, gives
      // an RTT (probeNode's first select).
      d_.ping->notify_ping_complete(env, probe_.target, env.now() - probe_.sent, p.ack_payload.get());
    }
    apply_awareness(env, -1);
    probe_done(env);
    return;
  }
  auto it = relays_.find(p.seq_no);
  if (it == relays_.end() || it->second.done) return;
  it->second.done = true;
  Packet ack;
  ack.seq_no = it->second.source_seq;
  const NodeId source = it->second.source;
  relays_.erase(it);
  send(env, source, kAck, std::move(ack), kAckBytes, true);
}

// ---------------------------------------------------------------- timers

void Memberlist::on_timer(Env& env, uint64_t what) {
  if (!running_) return;
  const uint64_t epoch = (what >> 32) & 0xFFFF;
  if (epoch != (epoch_ & 0xFFFF)) return;
  const auto kind = static_cast<TimerKind>((what >> 48) & 0xFF);
  const uint32_t payload = static_cast<uint32_t>(what & kPayloadMask);
  switch (kind) {
    case kProbeTick:
      env.set_timer(config_.probe_interval, timer(kProbeTick));
      probe(env);
      break;
    case kProbeTimeout: probe_timeout(env, payload); break;
    case kProbeDeadline: probe_deadline(env, payload); break;
    case kGossipTick:
      gossip_armed_ = false;
      gossip(env);
      // Deviation: the ticker sleeps while there is nothing to gossip and wakes at its
      // next tick once something is queued (wake_gossip): the ticks that
      // would have found nothing are not simulated.
      if (!broadcasts_.empty() || (d_.delegate && d_.delegate->has_broadcasts())) arm_gossip(env);
      break;
    case kPushPullTick:
      // pushPullTrigger re-evaluates the scaled interval every cycle.
      env.set_timer(push_pull_scale(config_.push_pull_interval, num_nodes()), timer(kPushPullTick));
      push_pull(env);
      break;
    case kSuspicionTimer: {
      auto it = suspicions_.find(payload);
      if (it != suspicions_.end() && it->second.deadline() <= env.now()) suspicion_fired(env, payload);
      break;
    }
    case kIndirectTimeout: {
      auto it = relays_.find(payload);
      if (it == relays_.end()) break;
      const Relay r = it->second;
      relays_.erase(it);
      if (!r.done && r.want_nack) {
        Packet nack;
        nack.seq_no = r.source_seq;
        send(env, r.source, kNack, std::move(nack), kNackBytes, true);
      }
      break;
    }
    case kJoinTimeout: {
      auto it = joins_.find(payload);
      if (it == joins_.end()) break;
      const uint32_t contacted = it->second.contacted;
      joins_.erase(it);
      if (d_.owner) d_.owner->join_done(env, payload, contacted);
      break;
    }
    case kLeaveTimeout:
      if (leave_pending_) {
        leave_pending_ = false;
        if (d_.owner) d_.owner->leave_done(env, true);
      }
      break;
  }
  check_invariants();
}

uint64_t Memberlist::timer(TimerKind k, uint64_t payload) const {
  return (kTimerTag << 56) | (static_cast<uint64_t>(k) << 48) | ((epoch_ & 0xFFFF) << 32) | (payload & kPayloadMask);
}

// ---------------------------------------------------------------- probing

void Memberlist::probe(Env& env) {
  if (probe_.active) {
    // Go's ticker keeps one tick while the probe goroutine is busy: the next
    // probe starts as soon as this one ends.
    probe_tick_pending_ = true;
    return;
  }
  size_t checked = 0;
  while (checked < nodes_.size()) {
    if (probe_index_ >= nodes_.size()) {
      reset_nodes(env);
      probe_index_ = 0;
      ++checked;
      continue;
    }
    const NodeId n = nodes_[probe_index_++];
    if (n == self_ || dead_or_left(state(n))) {
      ++checked;
      continue;
    }
    probe_node(env, n);
    return;
  }
}

void Memberlist::probe_node(Env& env, NodeId target) {
  const uint32_t seq = ++seq_;
  probe_ = Probe{};
  probe_.active = true;
  probe_.seq = seq;
  probe_.target = target;
  probe_.incarnation = incarnation(target);
  probe_.sent = env.now();
  ++stats_.probes;
  const Duration interval = config_.lifeguard ? awareness_.scale(config_.probe_interval) : config_.probe_interval;

  Packet ping;
  ping.seq_no = seq;
  ping.target = target;
  if (state(target) == State::kAlive || !config_.lifeguard) {
    send(env, target, kPing, std::move(ping), kPingBytes, true);
  } else {
    // The buddy system: a ping to a suspect carries the suspicion, so that
    // the target can refute at once (a compound packet, nothing else on it).
    auto s = std::make_shared<Item>();
    s->type = ItemType::kSuspect;
    s->node = target;
    s->from = self_;
    s->incarnation = probe_.incarnation;
    s->bytes = kSuspectBytes;
    ping.items.push_back(std::move(s));
    const uint32_t bytes = kCompoundHeaderOverhead + 2 * kCompoundOverhead + kPingBytes + kSuspectBytes;
    emit(env, target, kPing, std::move(ping), bytes, false);
  }
  // The direct ack is awaited for ProbeTimeout, not scaled by awareness
  // (memberlist: waiting longer does not help UDP through); the scaled
  // interval bounds the indirect and stream attempts.
  probe_.interval = interval;
  probe_.timeout_timer = env.set_timer(config_.probe_timeout, timer(kProbeTimeout, seq));
}

void Memberlist::probe_timeout(Env& env, uint32_t seq) {
  if (!probe_.active || probe_.seq != seq || probe_.acked) return;
  probe_.indirect = true;
  // The scaled interval from the ping's send bounds what follows (the ack
  // handler's timeout); armed only now, as most probes end before.
  probe_.deadline_timer = env.set_timer(probe_.sent + probe_.interval - env.now(), timer(kProbeDeadline, seq));
  const NodeId target = probe_.target;
  const std::vector<NodeId> peers = random_nodes(env, config_.indirect_checks, kFilterIndirect, target);
  for (NodeId peer : peers) {
    Packet req;
    req.seq_no = seq;
    req.target = target;
    req.source = self_;
    // Every member here speaks protocol >= 4 and sends nacks; SWIM without
    // Lifeguard has none.
    req.want_nack = config_.lifeguard;
    if (req.want_nack) ++probe_.nacks_expected;
    send(env, peer, kIndirectPing, std::move(req), kIndirectPingBytes, true);
  }
  if (!config_.disable_tcp_pings) {
    // The stream fallback, with the probe's deadline (the scaled interval).
    Packet ping;
    ping.seq_no = seq;
    ping.target = target;
    emit(env, target, kStreamPing, std::move(ping), kPingBytes, true);
    ++stats_.stream_fallbacks;
  }
}

void Memberlist::probe_deadline(Env& env, uint32_t seq) {
  if (!probe_.active || probe_.seq != seq) return;
  if (probe_.stream_acked) {
    // memberlist: "was able to connect ... but other probes failed".
    ++stats_.stream_rescues;
    apply_awareness(env, -1);
    probe_done(env);
    return;
  }
  ++stats_.probe_failures;
  int delta = 1;
  if (probe_.nacks_expected > 0)
    delta = probe_.nacks < probe_.nacks_expected ? static_cast<int>(probe_.nacks_expected - probe_.nacks) : 0;
  apply_awareness(env, delta);
  env.record(Record(kRecordProbeFailed, probe_.target, probe_.nacks, probe_.nacks_expected));
  const NodeId target = probe_.target;
  const Incarnation inc = probe_.incarnation;
  probe_.active = false;
  suspect_node(env, target, inc, self_);
  probe_done(env);
}

void Memberlist::probe_done(Env& env) {
  // The probe's timers would find nothing to do.
  env.cancel_timer(probe_.timeout_timer);
  env.cancel_timer(probe_.deadline_timer);
  probe_.active = false;
  if (probe_tick_pending_) {
    probe_tick_pending_ = false;
    probe(env);
  }
}

void Memberlist::apply_awareness(Env& env, int delta) {
  if (!config_.lifeguard || delta == 0) return;
  const int before = awareness_.score();
  awareness_.apply_delta(delta);
  if (awareness_.score() != before) env.record(Record(kRecordAwareness, static_cast<uint64_t>(awareness_.score())));
}

std::vector<NodeId> Memberlist::random_nodes(Env& env, uint32_t k, int filter, NodeId exclude) const {
  // kRandomNodes: up to 3n random draws from the node list, keeping those the
  // filter passes, without repeats.
  std::vector<NodeId> out;
  const size_t n = nodes_.size();
  if (n == 0 || k == 0) return out;
  for (size_t i = 0; i < 3 * n && out.size() < k; ++i) {
    const NodeId c = nodes_[env.rng().below(n)];
    if (c == self_ || c == exclude) continue;
    const State s = state(c);
    bool ok = false;
    switch (filter) {
      case kFilterGossip:
        ok = s == State::kAlive || s == State::kSuspect ||
             (s == State::kDead && static_cast<Duration>(now_ms(env) - members_[c].change_ms) * kMillisecond <=
                                       config_.gossip_to_the_dead_time);
        break;
      case kFilterIndirect:
      case kFilterAlive: ok = s == State::kAlive; break;
    }
    if (!ok || std::find(out.begin(), out.end(), c) != out.end()) continue;
    out.push_back(c);
  }
  return out;
}

void Memberlist::reset_nodes(Env& env) {
  // At each wrap of the probe list: drop members dead (v0.3.1: or left) for
  // longer than GossipToTheDeadTime, then shuffle.
  const uint32_t now = now_ms(env);
  size_t w = 0;
  for (size_t r = 0; r < nodes_.size(); ++r) {
    const NodeId n = nodes_[r];
    const State s = state(n);
    const bool reap = n != self_ && (s == State::kDead || (config_.purge_left_nodes && s == State::kLeft)) &&
                      static_cast<Duration>(now - members_[n].change_ms) * kMillisecond > config_.gossip_to_the_dead_time;
    if (reap) {
      members_[n] = Member{};
      env.record(Record(kRecordReap, n));
      continue;
    }
    nodes_[w++] = n;
  }
  nodes_.resize(w);
  for (size_t i = 1; i < nodes_.size(); ++i) std::swap(nodes_[i], nodes_[env.rng().below(i + 1)]);
  check_full();
}

// ---------------------------------------------------------------- gossip

void Memberlist::arm_gossip(Env& env) {
  if (gossip_armed_ || !running_ || config_.gossip_interval <= 0 || config_.gossip_nodes == 0) return;
  // The next tick of the ticker's phase, strictly after now.
  const Duration since = env.now() - gossip_phase_;
  const Duration k = since < 0 ? 0 : since / config_.gossip_interval + 1;
  const Time next = gossip_phase_ + k * config_.gossip_interval;
  gossip_armed_ = true;
  env.set_timer(next - env.now(), timer(kGossipTick));
}

void Memberlist::wake_gossip(Env& env) { arm_gossip(env); }

void Memberlist::gossip(Env& env) {
  // Deviation: memberlist draws its targets first and then finds nothing to
  // send; skipping the draw when every queue is empty changes only which
  // random numbers later draws get.
  if (broadcasts_.empty() && !(d_.delegate && d_.delegate->has_broadcasts())) return;
  const std::vector<NodeId> targets = random_nodes(env, config_.gossip_nodes, kFilterGossip, kNoNode);
  const uint32_t avail = packet_budget() - kCompoundHeaderOverhead;
  for (NodeId to : targets) {
    // Each target gets a fresh batch; no batch, no packet.
    Packet p;
    p.items = get_broadcasts(env, kCompoundOverhead, avail);
    if (p.items.empty()) return;
    uint32_t bytes = 0;
    for (const ItemPtr& it : p.items) bytes += it->bytes + (it->type == ItemType::kUser ? kUserMsgOverhead : 0);
    // One message goes as it is; several as a compound packet.
    if (p.items.size() > 1) bytes += kCompoundHeaderOverhead + kCompoundOverhead * static_cast<uint32_t>(p.items.size());
    stats_.piggyback_bytes += bytes;
    emit(env, to, kGossip, std::move(p), bytes, false);
  }
}

uint32_t Memberlist::packet_budget() const {
  return config_.udp_buffer_size - (config_.encryption ? kEncryptionOverhead : 0);
}

std::vector<ItemPtr> Memberlist::get_broadcasts(Env& env, uint32_t overhead, uint32_t limit) {
  // memberlist's own queue first, then the delegate's user messages in what
  // is left, each with one more byte of overhead.
  const bool has_user = d_.delegate && d_.delegate->has_broadcasts();
  if (broadcasts_.empty() && !has_user) return {};
  std::vector<uint64_t> finished;
  std::vector<ItemPtr> out = broadcasts_.get_broadcasts(overhead, limit, num_nodes(), &finished);
  uint32_t used = 0;
  for (const ItemPtr& it : out) used += overhead + it->bytes;
  const uint32_t avail = limit > used ? limit - used : 0;
  if (has_user && avail > overhead + kUserMsgOverhead) {
    std::vector<ItemPtr> user = d_.delegate->get_broadcasts(env, overhead + kUserMsgOverhead, avail);
    for (ItemPtr& u : user) out.push_back(std::move(u));
  }
  if (!finished.empty()) notify_finished(env, finished);
  return out;
}

void Memberlist::send(Env& env, NodeId to, uint16_t type, Packet&& p, uint32_t primary_bytes, bool piggyback) {
  uint32_t bytes = primary_bytes;
  if (piggyback) {
    const uint32_t budget = packet_budget();
    const uint32_t used = primary_bytes + kCompoundHeaderOverhead;
    if (budget > used) p.items = get_broadcasts(env, kCompoundOverhead, budget - used);
    if (!p.items.empty()) {
      uint32_t extra = kCompoundHeaderOverhead + kCompoundOverhead;  // the header, the primary's length
      for (const ItemPtr& it : p.items)
        extra += kCompoundOverhead + it->bytes + (it->type == ItemType::kUser ? kUserMsgOverhead : 0);
      bytes += extra;
      stats_.piggyback_bytes += extra;
    }
  }
  emit(env, to, type, std::move(p), bytes, false);
}

void Memberlist::emit(Env& env, NodeId to, uint16_t type, Packet&& p, uint32_t bytes, bool stream) {
  Message m;
  m.to = to;
  m.type = type;
  m.stream = stream;
  // A datagram carries the keyring's framing when encryption is on.
  m.size_bytes = bytes + (!stream && config_.encryption ? kEncryptionOverhead : 0);
  m.body = std::make_shared<const Packet>(std::move(p));
  if (!stream) {
    ++stats_.packets;
    stats_.packet_bytes += m.size_bytes;
  }
  env.send(std::move(m));
}

void Memberlist::broadcast(Env& env, ItemType type, NodeId node, Incarnation inc, NodeId from, uint64_t notify) {
  auto it = std::make_shared<Item>();
  it->type = type;
  it->node = node;
  it->from = from;
  it->incarnation = inc;
  switch (type) {
    // Deviation: every member's meta has the size of the local node's (one
    // set of tags for the whole pool); memberlist carries each node's own.
    case ItemType::kAlive: it->bytes = kAliveBytes + (d_.delegate ? d_.delegate->node_meta_bytes() : 0); break;
    case ItemType::kSuspect: it->bytes = kSuspectBytes; break;
    case ItemType::kDead: it->bytes = kDeadBytes; break;
    case ItemType::kUser: break;
  }
  std::vector<uint64_t> finished;
  broadcasts_.queue(std::move(it), node, notify, &finished);
  if (!finished.empty()) notify_finished(env, finished);
  arm_gossip(env);
}

void Memberlist::notify_finished(Env& env, const std::vector<uint64_t>& tokens) {
  for (uint64_t t : tokens) {
    if (t == kLeaveToken && leave_pending_) {
      leave_pending_ = false;
      if (d_.owner) d_.owner->leave_done(env, false);
    }
  }
}

// ---------------------------------------------------------------- push/pull

void Memberlist::push_pull(Env& env) {
  const std::vector<NodeId> peer = random_nodes(env, 1, kFilterAlive, kNoNode);
  if (peer.empty()) return;
  send_push_pull(env, peer[0], false, false, 0);
}

void Memberlist::send_push_pull(Env& env, NodeId to, bool join, bool reply, uint32_t join_id) {
  // The whole node list, dead and left members not reaped yet included, in
  // list order, and the delegate's state; over a stream.
  auto list = std::make_shared<std::vector<PushNode>>();
  list->reserve(nodes_.size());
  for (NodeId n : nodes_) list->push_back(PushNode{n, members_[n].incarnation, state(n)});
  Packet p;
  p.seq_no = join_id;
  p.join = join;
  p.reply = reply;
  const uint32_t meta = d_.delegate ? d_.delegate->node_meta_bytes() : 0;
  uint32_t bytes = kPushPullHeaderBytes + static_cast<uint32_t>(list->size()) * (kPushNodeBytes + meta);
  p.nodes = std::move(list);
  if (d_.delegate) {
    p.user_state = d_.delegate->local_state(env, join);
    if (p.user_state) bytes += p.user_state->bytes;
  }
  ++stats_.push_pulls;
  emit(env, to, kPushPull, std::move(p), bytes, true);
}

void Memberlist::handle_push_pull(Env& env, const Message& msg, const Packet& p) {
  // The passive side answers with its own state before merging (handleConn).
  if (!p.reply) send_push_pull(env, msg.from, p.join, true, p.seq_no);
  if (p.nodes) merge_state(env, *p.nodes);
  if (d_.delegate && p.user_state) d_.delegate->merge_remote_state(env, *p.user_state, p.join);
  if (p.reply && p.join) {
    auto it = joins_.find(p.seq_no);
    if (it == joins_.end()) return;  // answered after TCPTimeout: the join has given up on it
    ++it->second.contacted;
    if (--it->second.pending == 0) {
      const uint32_t contacted = it->second.contacted;
      const uint32_t id = it->first;
      joins_.erase(it);
      if (d_.owner) d_.owner->join_done(env, id, contacted);
    }
  }
}

void Memberlist::merge_state(Env& env, const std::vector<PushNode>& remote) {
  for (const PushNode& r : remote) {
    switch (r.state) {
      case State::kAlive: alive_node(env, r.node, r.incarnation, false); break;
      case State::kLeft: dead_node(env, r.node, r.incarnation, r.node); break;
      // A remote death is only a suspicion here: we let our own probes and
      // the suspicion timer decide.
      case State::kDead:
      case State::kSuspect: suspect_node(env, r.node, r.incarnation, self_); break;
    }
  }
}

void Memberlist::join(Env& env, const std::vector<NodeId>& peers, uint32_t id) {
  CORE_CHECK(joins_.count(id) == 0, "memberlist: join ids are unique among joins in flight");
  uint32_t pending = 0;
  for (NodeId n : peers) {
    if (n == self_ || n >= members_.size()) continue;
    send_push_pull(env, n, true, false, id);
    ++pending;
  }
  if (pending == 0) {
    if (d_.owner) d_.owner->join_done(env, id, 0);
    return;
  }
  joins_[id] = Join{pending, 0};
  env.set_timer(config_.tcp_timeout, timer(kJoinTimeout, id));
}

// ---------------------------------------------------------------- leave

void Memberlist::leave(Env& env, Duration timeout) {
  if (leaving_ || !running_) return;
  leaving_ = true;
  bool any_alive = false;
  for (NodeId n : nodes_)
    if (n != self_ && !dead_or_left(state(n))) any_alive = true;
  leave_pending_ = any_alive;
  dead_node(env, self_, incarnation(self_), self_);
  if (!any_alive) {
    if (d_.owner) d_.owner->leave_done(env, false);
    return;
  }
  if (timeout > 0) env.set_timer(timeout, timer(kLeaveTimeout));
  check_invariants();
}

void Memberlist::update_node(Env& env) {
  if (!running_ || leaving_) return;
  const Incarnation inc = incarnation(self_) + 1;
  members_[self_].incarnation = inc;
  broadcast(env, ItemType::kAlive, self_, inc, self_);
}

// ---------------------------------------------------------------- state

void Memberlist::insert_node(Env& env, NodeId node) {
  // A new member goes to a random place in the probe list.
  members_[node].known = 1;
  members_[node].state = static_cast<uint8_t>(State::kDead);
  members_[node].change_ms = now_ms(env);
  const size_t n = nodes_.size();
  nodes_.push_back(node);
  if (n > 0) std::swap(nodes_[n], nodes_[env.rng().below(n)]);
}

void Memberlist::set_state(Env& env, NodeId node, State s, Incarnation inc) {
  Member& m = members_[node];
  const State old = static_cast<State>(m.state);
  const bool was_live = !dead_or_left(old);
  m.incarnation = inc;
  if (old != s) {
    m.state = static_cast<uint8_t>(s);
    m.change_ms = now_ms(env);
    env.record(Record(kRecordState, node, static_cast<uint64_t>(s), inc));
  }
  const bool live = !dead_or_left(s);
  if (live && !was_live) ++live_;
  if (!live && was_live) --live_;
  if (old == State::kSuspect && s != State::kSuspect) --suspects_;
  if (s == State::kSuspect && old != State::kSuspect) ++suspects_;
}

void Memberlist::alive_node(Env& env, NodeId node, Incarnation inc, bool bootstrap) {
  // A leaving node ignores alive messages about itself, which would re-join it.
  if (leaving_ && node == self_) return;
  if (node >= members_.size()) return;
  // An unknown node enters the list as dead at incarnation 0, so that the
  // alive message below makes it alive and reports a join.
  if (!members_[node].known) insert_node(env, node);
  // Deviation: a node's address never changes here (a restarted host keeps
  // its address), so memberlist's address-conflict and dead-node-reclaim
  // path never runs; DeadNodeReclaimTime has no effect.
  Member& m = members_[node];
  const bool local = node == self_;
  if (!local && inc <= m.incarnation) return;
  if (local && inc < m.incarnation) return;
  suspicions_.erase(node);
  const State old = static_cast<State>(m.state);
  if (!bootstrap && local) {
    // The same incarnation with the same meta is our own message coming back.
    if (inc == m.incarnation) return;
    refute(env, inc, kNoNode, State::kAlive);
    return;
  }
  broadcast(env, ItemType::kAlive, node, inc, node);
  set_state(env, node, State::kAlive, inc);
  // Deviation: memberlist also reports the local node's own join (at
  // setAlive) and leave to the event delegate; here the owner accounts for
  // itself, and only other members are reported.
  if (d_.events && !local && (old == State::kDead || old == State::kLeft)) d_.events->notify_join(env, node);
}

void Memberlist::suspect_node(Env& env, NodeId node, Incarnation inc, NodeId from) {
  if (node >= members_.size() || !members_[node].known) return;
  Member& m = members_[node];
  if (inc < m.incarnation) return;
  // A pending suspicion collects independent confirmations; a new one is
  // re-gossiped so that more can flow.
  auto it = suspicions_.find(node);
  if (it != suspicions_.end()) {
    if (it->second.confirm(from, env.now())) {
      broadcast(env, ItemType::kSuspect, node, inc, from);
      const Time deadline = it->second.deadline();
      if (deadline <= env.now()) suspicion_fired(env, node);
      else env.set_timer(deadline - env.now(), timer(kSuspicionTimer, node));
    }
    return;
  }
  if (state(node) != State::kAlive) return;
  if (node == self_) {
    refute(env, inc, from, State::kSuspect);
    return;
  }
  broadcast(env, ItemType::kSuspect, node, inc, from);
  ++stats_.suspicions;
  set_state(env, node, State::kSuspect, inc);
  m.change_ms = now_ms(env);
  // k confirmations bring the timeout from Max down to Min; with too few
  // other members to confirm, none are expected. Without Lifeguard the
  // timeout is Min, fixed.
  const uint32_t n = num_nodes();
  uint32_t k = config_.suspicion_mult > 2 ? config_.suspicion_mult - 2 : 0;
  if (n < k + 2 || !config_.lifeguard) k = 0;
  const Duration min = suspicion_timeout(config_.suspicion_mult, n, config_.probe_interval);
  const Duration max = static_cast<Duration>(config_.suspicion_max_timeout_mult) * min;
  auto [pos, inserted] = suspicions_.emplace(node, Suspicion(from, k, min, max, env.now()));
  env.set_timer(pos->second.deadline() - env.now(), timer(kSuspicionTimer, node));
}

void Memberlist::suspicion_fired(Env& env, NodeId node) {
  suspicions_.erase(node);
  if (state(node) != State::kSuspect) return;
  dead_node(env, node, incarnation(node), self_);
}

void Memberlist::dead_node(Env& env, NodeId node, Incarnation inc, NodeId from) {
  if (node >= members_.size() || !members_[node].known) return;
  if (inc < members_[node].incarnation) return;
  suspicions_.erase(node);
  if (dead_or_left(state(node))) return;
  if (node == self_) {
    if (!leaving_) {
      refute(env, inc, from, State::kDead);
      return;
    }
    // Our own leave: its retirement releases the leave waiter.
    broadcast(env, ItemType::kDead, node, inc, from, kLeaveToken);
  } else {
    broadcast(env, ItemType::kDead, node, inc, from);
  }
  // A dead message sent by the node itself is a voluntary leave.
  const bool left = node == from;
  set_state(env, node, left ? State::kLeft : State::kDead, inc);
  members_[node].change_ms = now_ms(env);
  if (d_.events && node != self_) d_.events->notify_leave(env, node, left);
}

void Memberlist::refute(Env& env, Incarnation accused, NodeId accuser, State accused_of) {
  Incarnation inc = incarnation(self_) + 1;
  if (accused >= inc) inc = accused + 1;
  members_[self_].incarnation = inc;
  ++stats_.refutes;
  env.record(Record(kRecordRefute, inc, accuser, static_cast<uint64_t>(accused_of)));
  apply_awareness(env, 1);
  broadcast(env, ItemType::kAlive, self_, inc, self_);
}

// ---------------------------------------------------------------- invariants

void Memberlist::check_invariants() const {
  // O(1) per call, on state the call touched; check_full() walks everything
  // once per probe-list wrap.
  CORE_CHECK(suspects_ == suspicions_.size(), "memberlist: a suspicion is pending for every suspect member and only for them");
}

void Memberlist::check_full() const {
  check_invariants();
  CORE_CHECK(members_[self_].known, "memberlist: the local node is in its own list");
  const State s = state(self_);
  CORE_CHECK(s == State::kAlive || (leaving_ && s == State::kLeft), "memberlist: the local node is alive in its own view unless it left");
  uint32_t known = 0, live = 0, suspects = 0;
  for (const Member& m : members_) {
    if (!m.known) continue;
    ++known;
    if (!dead_or_left(static_cast<State>(m.state))) ++live;
    if (static_cast<State>(m.state) == State::kSuspect) ++suspects;
  }
  CORE_CHECK(known == nodes_.size(), "memberlist: the node list holds each known member once");
  CORE_CHECK(live == live_, "memberlist: the live count matches the list");
  CORE_CHECK(suspects == suspects_, "memberlist: the suspect count matches the list");
  for (const auto& [n, sus] : suspicions_) CORE_CHECK(state(n) == State::kSuspect, "memberlist: suspicions are of suspects");
}

}  // namespace core::memberlist

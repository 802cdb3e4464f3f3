#include "sim/engine/simulation.hpp"

#include <algorithm>
#include <cassert>

#include "core/check.hpp"

namespace sim {

namespace {

// Trace hash words of a (host, port) or a type on a port. Port 0 adds
// nothing, so a host without ports hashes exactly as before ports existed.
uint64_t port_bits(core::Port p, int shift) { return static_cast<uint64_t>(p) << shift; }

// kDeliver's b: bit 0 marks a duplicate's copy (0 or 1 for every arrival).
// Higher bits exist only on a slow host's events: kBacklogged is the handling
// of a backlogged message coming due, kAdmitted one that left the backlog and
// was then held by a pause; both carry the receiver's incarnation (mod 2^29)
// from bit 3 up, so the handling of a process that crashed is dropped.
constexpr uint32_t kBacklogged = 2;
constexpr uint32_t kAdmitted = 4;
constexpr int kIncarnationShift = 3;
uint32_t incarnation_bits(uint32_t incarnation) { return incarnation << kIncarnationShift; }
// Bit 63 of a delivery's type word marks the extra record of a message that
// joined a slow host's backlog (a type and port never reach it).
constexpr uint64_t kBacklogRecord = uint64_t{1} << 63;

}  // namespace

// ---------------------------------------------------------------- HostEnv

core::Time Simulation::HostEnv::now() const { return sim_->hosts_[id_].clock.local(sim_->now_); }
void Simulation::HostEnv::send(core::Message&& msg) {
  sim_->check_running(sim_->hosts_[id_], "sent a message");
  sim_->env_send(sim_->hosts_[id_], port_, std::move(msg));
}
core::TimerId Simulation::HostEnv::set_timer(core::Duration delay, uint64_t what) {
  sim_->check_running(sim_->hosts_[id_], "set a timer");
  return sim_->env_set_timer(sim_->hosts_[id_], port_, delay, what);
}
void Simulation::HostEnv::cancel_timer(core::TimerId id) { sim_->env_cancel_timer(id); }
core::Rng& Simulation::HostEnv::rng() { return sim_->hosts_[id_].ports[static_cast<size_t>(port_)].rng; }
core::Storage& Simulation::HostEnv::storage() { return sim_->hosts_[id_].storage; }
void Simulation::HostEnv::sync() { sim_->env_sync(sim_->hosts_[id_], port_); }
void Simulation::HostEnv::record(const core::Record& r) {
  sim_->check_running(sim_->hosts_[id_], "recorded an event");
  sim_->env_record(sim_->hosts_[id_], port_, r);
}

void Simulation::not_running(const Host& h, const char* what) const {
  invariant_failed(h, std::string(what) + " while " + (h.up ? "paused" : "crashed"));
}

void Simulation::invariant_failed(const Host& h, const std::string& what) const {
  throw InvariantFailure("node " + h.name + ": " + what + " (at t=" + format_duration(now_) + ", event " +
                         std::to_string(events_processed_) + ", trace position " + std::to_string(hash_.events()) +
                         ", seed " + std::to_string(seed_) + ")");
}

// A protocol invariant violation stops the run with where and when it happened.
template <typename F>
void Simulation::guarded(const Host& h, F&& call) {
  try {
    call();
  } catch (const core::InvariantViolation& e) {
    invariant_failed(h, e.what());
  }
}

// ---------------------------------------------------------------- building

Simulation::Simulation(uint64_t seed) : seed_(seed) {}
Simulation::~Simulation() = default;

core::NodeId Simulation::add_node(std::string name, uint32_t lan, NodeFactory factory) {
  const core::NodeId id = static_cast<core::NodeId>(hosts_.size());
  network_.add_host(id, lan);
  Host h;
  h.name = std::move(name);
  h.lan = lan;
  h.factory = std::move(factory);
  h.ports[0].env = std::make_unique<HostEnv>(this, id, core::Port::kHost);
  h.ports[0].rng = core::Rng(core::derive_seed(seed_, core::kStreamNode, id));
  h.link_rng = core::Rng(core::derive_seed(seed_, core::kStreamLink, id));
  h.storage_rng = core::Rng(core::derive_seed(seed_, core::kStreamStorage, id));
  h.slow_rng = core::Rng(core::derive_seed(seed_, core::kStreamSlow, id));
  hosts_.push_back(std::move(h));
  return id;
}

void Simulation::set_storage_params(core::NodeId id, const StorageParams& params) {
  hosts_[id].storage_params = params;
}

core::NodeId Simulation::find_node(const std::string& name) const {
  for (core::NodeId i = 0; i < hosts_.size(); ++i)
    if (hosts_[i].name == name) return i;
  return core::kNoNode;
}

core::Env& Simulation::env(core::NodeId id, core::Port port) { return *port_state(hosts_[id], port).env; }

void Simulation::open_port(Host& h, core::Port p) {
  // Port 0's stream is the host's historical one; the others are derived
  // beside it, so adding a port changes no existing stream.
  PortState& ps = h.ports[static_cast<size_t>(p)];
  const auto id = static_cast<core::NodeId>(&h - hosts_.data());
  ps.env = std::make_unique<HostEnv>(this, id, p);
  ps.rng = core::Rng(core::derive_seed(seed_, core::kStreamNode, uint64_t{id} | (static_cast<uint64_t>(p) << 32)));
}

void Simulation::start_all() {
  for (core::NodeId i = 0; i < hosts_.size(); ++i)
    if (!hosts_[i].booted) boot(i);
}

void Simulation::boot(core::NodeId id) {
  Host& h = hosts_[id];
  h.node = h.factory(id);
  h.up = true;
  h.paused = false;
  h.booted = true;
  guarded(h, [&] { h.node->start(*h.ports[0].env); });
  for (Observer* o : observers_) o->after_event(now_, id);
}

// ---------------------------------------------------------------- lifecycle

void Simulation::crash(core::NodeId id) {
  Host& h = hosts_[id];
  if (!h.up) return;
  for (const Event& e : h.held) {
    if (e.kind() == EventKind::kDeliver) {
      reset_stream(e.a, true);
      drop(e.a, DropReason::kNodeDown);
    } else if (e.kind() == EventKind::kDepart) {
      drop(e.a, DropReason::kSenderDown);
    } else if (e.kind() == EventKind::kTimer) {
      release_timer(e.a);
    }
  }
  h.held.clear();
  h.node.reset();
  h.up = false;
  h.paused = false;
  ++h.incarnation;  // stale timers and held sends of the old process are skipped
  h.storage.crash(h.storage_params.lose_unsynced_on_crash);
  h.pending_syncs.clear();
  h.disk_done_at = 0;
  for (PortState& ps : h.ports) ps.sync_done_at = 0;
  // The slow backlog dies with the process: its queued handlings carry the old
  // incarnation and are dropped when they come due. Slowness itself stays.
  h.backlog = 0;
  h.busy_until = 0;
  for (Observer* o : observers_) o->on_lifecycle(now_, id, Lifecycle::kCrash);
}

void Simulation::restart(core::NodeId id) {
  if (hosts_[id].up) return;
  boot(id);
  for (Observer* o : observers_) o->on_lifecycle(now_, id, Lifecycle::kRestart);
}

void Simulation::pause(core::NodeId id) {
  Host& h = hosts_[id];
  if (!h.up || h.paused) return;
  h.paused = true;
  for (Observer* o : observers_) o->on_lifecycle(now_, id, Lifecycle::kPause);
}

void Simulation::resume(core::NodeId id) {
  Host& h = hosts_[id];
  if (!h.up || !h.paused) return;
  h.paused = false;
  // Everything that waited runs now, in the order it arrived.
  for (const Event& e : h.held) {
    if (e.kind() == EventKind::kTimer) timers_[e.a].state = TimerSlot::kQueued;
    queue_.push(now_, e.kind(), e.a, e.b);
  }
  h.held.clear();
  for (Observer* o : observers_) o->on_lifecycle(now_, id, Lifecycle::kResume);
}

void Simulation::slow(core::NodeId id, const Distribution& delay) {
  Host& h = hosts_[id];
  h.slow = true;
  h.slow_delay = delay;
}

void Simulation::unslow(core::NodeId id) { hosts_[id].slow = false; }

void Simulation::set_clock_drift(core::NodeId id, int64_t drift_ppb) {
  hosts_[id].clock.set_drift(drift_ppb, now_);
  reschedule_timers(id);
}

void Simulation::jump_clock(core::NodeId id, core::Duration by) {
  hosts_[id].clock.jump(by, now_);
  reschedule_timers(id);
}

void Simulation::reschedule_timers(core::NodeId id) {
  Host& h = hosts_[id];
  for (uint32_t i = 0; i < timers_.size(); ++i) {
    TimerSlot& t = timers_[i];
    if (t.state != TimerSlot::kQueued || t.node != id || t.incarnation != h.incarnation) continue;
    ++t.epoch;  // the queued event goes stale; a new one takes its place (the TimerId stays valid)
    queue_.push(h.clock.global_for(t.local_deadline, now_), EventKind::kTimer, i, t.epoch);
  }
}

// ---------------------------------------------------------------- messages

TraceLine Simulation::message_line(std::string_view ev, const core::Message& m) const {
  TraceLine line(now_, ev);
  line.str("from", hosts_[m.from].name).str("to", hosts_[m.to].name).str("type", core::message_type_name(m.type)).port(m.port);
  return line;
}

void Simulation::drop(uint32_t slot, DropReason reason) {
  const core::Message& m = pool_[slot].msg;
  ++stats_.dropped;
  ++stats_.dropped_by[static_cast<int>(reason)];
  hash_.fold(TraceCode::kDrop, now_, (uint64_t{m.from} << 32) | m.to, m.type | port_bits(m.port, 16),
             static_cast<uint64_t>(reason));
  if (writer_) {
    write_line(message_line("drop", m)
                   .str("reason", drop_reason_name(reason))
                   .done());
  }
  pool_.free(slot);
}

void Simulation::reset_stream(uint32_t slot, bool accepted) {
  const core::Message& m = pool_[slot].msg;
  if (!m.stream || !core::resets_connections(core::family_of(m.type))) return;
  core::Message r;
  r.from = m.to;  // the receiver's kernel answers
  r.to = m.from;
  r.port = m.port;
  r.stream = true;
  r.type = accepted ? core::kStreamReset : core::kStreamRefused;
  r.size_bytes = 40;  // a TCP segment with RST
  r.body = m.body;
  ++stats_.sent;
  TypeStats& ts = type_stats(r.type);
  ts.type = r.type;
  ++ts.sent;
  ts.bytes += r.size_bytes;
  transmit(pool_.alloc(std::move(r)));
}

TypeStats& Simulation::new_family(uint16_t type) {
  // A family's first message: its block of 256 counters.
  type_stats_.resize(type_stats_.size() + 256);
  family_slot_[core::family_of(type)] = static_cast<uint8_t>(type_stats_.size() / 256);
  return type_stats(type);
}

void Simulation::env_send(Host& h, core::Port port, core::Message&& m) {
  m.from = static_cast<core::NodeId>(&h - hosts_.data());
  m.port = port;
  if (m.to >= hosts_.size()) invariant_failed(h, "sent a message to unknown node id " + std::to_string(m.to));
  ++stats_.sent;
  TypeStats& ts = type_stats(m.type);
  ts.type = m.type;
  ++ts.sent;
  ts.bytes += m.size_bytes;
  const uint32_t slot = pool_.alloc(std::move(m));
  const core::Time wait = h.ports[static_cast<size_t>(port)].sync_done_at;
  if (wait > now_) {
    // Persist before send: the message leaves once its port's pending sync is done.
    pool_[slot].incarnation = h.incarnation;
    queue_.push(wait, EventKind::kDepart, slot, h.incarnation);
    return;
  }
  transmit(slot);
}

void Simulation::transmit(uint32_t slot) {
  const core::Message& m = pool_[slot].msg;
  core::Time at;
  if (network_.direct(m.from, m.to, now_, at)) {  // the common case, without building a Transit
    queue_.push(at, EventKind::kDeliver, slot, 0);
    return;
  }
  network_.set_stream(m.stream);
  const Transit tr = network_.transmit_general(m.from, m.to, m.size_bytes, now_, hosts_[m.from].link_rng);
  if (tr.drop == DropReason::kNone && tr.hop == Transit::kNoHop && !tr.duplicated) {
    queue_.push(tr.arrive, EventKind::kDeliver, slot, 0);
    return;
  }
  settle(slot, tr, false);
}

namespace {
// kHop's b: the hop code, whether the message may still be duplicated, and
// whether it is a copy.
uint32_t hop_tag(uint32_t hop, bool copy, bool may_duplicate) {
  return (hop << 2) | (may_duplicate ? 0u : 2u) | (copy ? 1u : 0u);
}
}  // namespace

void Simulation::queue_leg(uint32_t slot, core::Time at, uint32_t hop, bool copy, bool may_duplicate) {
  if (hop == Transit::kNoHop) {
    queue_.push(at, EventKind::kDeliver, slot, copy ? 1 : 0);
  } else {
    queue_.push(at, EventKind::kHop, slot, hop_tag(hop, copy, may_duplicate && !copy));
  }
}

void Simulation::settle(uint32_t slot, const Transit& tr, bool copy) {
  if (tr.drop == DropReason::kNone) queue_leg(slot, tr.arrive, tr.hop, copy, tr.may_duplicate);
  if (tr.duplicated) {
    const core::Message& m = pool_[slot].msg;
    ++stats_.duplicated;
    // The copy's delivery time; a copy that waits for a bandwidth-limited
    // link has no known delivery time yet, so the time it reaches that link
    // is folded instead, with bit 63 set to tell the two apart.
    const bool waits = tr.duplicate_hop != Transit::kNoHop;
    const uint64_t when = static_cast<uint64_t>(tr.duplicate_arrive) | (waits ? uint64_t{1} << 63 : 0);
    hash_.fold(TraceCode::kDuplicate, now_, (uint64_t{m.from} << 32) | m.to, m.type | port_bits(m.port, 16), when);
    if (writer_) {
      write_line(message_line("duplicate", m)
                     .num(waits ? "queued_at" : "arrive", tr.duplicate_arrive)
                     .done());
    }
    core::Message dup_msg = m;
    const uint32_t dup = pool_.alloc(std::move(dup_msg));
    queue_leg(dup, tr.duplicate_arrive, tr.duplicate_hop, true, false);
  }
  if (tr.drop != DropReason::kNone) drop(slot, tr.drop);
}

void Simulation::hop(const Event& e) {
  const core::Message& m = pool_[e.a].msg;
  const bool copy = (e.b & 1) != 0, may_duplicate = (e.b & 2) == 0;
  network_.set_stream(m.stream);
  const Transit tr = network_.resume(m.to, m.size_bytes, e.b >> 2, may_duplicate, now_, hosts_[m.from].link_rng);
  settle(e.a, tr, copy);
}

void Simulation::depart(const Event& e) {
  Host& h = hosts_[pool_[e.a].msg.from];
  if (e.b != h.incarnation) {
    drop(e.a, DropReason::kSenderDown);
    return;
  }
  if (h.paused) {
    hold(h, e);
    return;
  }
  transmit(e.a);
}

void Simulation::hold(Host& h, const Event& e) {
  if (e.kind() == EventKind::kTimer) timers_[e.a].state = TimerSlot::kHeld;
  h.held.push_back(e);
}

void Simulation::enqueue_backlog(Host& h, const Event& e) {
  const core::Message& m = pool_[e.a].msg;
  const core::Duration d = h.slow ? h.slow_delay.sample(h.slow_rng) : 0;
  const core::Time at = std::max(now_, h.busy_until) + d;
  h.busy_until = at;
  ++h.backlog;
  // Folded only on a slow host (or one draining its backlog), so every run
  // without the slow fault hashes as before.
  hash_.fold(TraceCode::kDeliver, now_, (uint64_t{m.from} << 32) | m.to,
             m.type | port_bits(m.port, 16) | kBacklogRecord, static_cast<uint64_t>(at));
  if (writer_) {
    write_line(message_line("backlog", m)
                   .num("handle_at", at)
                   .done());
  }
  queue_.push(at, EventKind::kDeliver, e.a, (e.b & 1) | kBacklogged | incarnation_bits(h.incarnation));
}

bool Simulation::leave_backlog(Host& h, const Event& e) {
  if (!h.up || (e.b >> kIncarnationShift) != (incarnation_bits(h.incarnation) >> kIncarnationShift)) {
    reset_stream(e.a, true);
    drop(e.a, DropReason::kNodeDown);  // the process it arrived at crashed
    return false;
  }
  if ((e.b & kBacklogged) != 0) --h.backlog;
  return true;
}

void Simulation::deliver(const Event& e) {
  const core::Message& m = pool_[e.a].msg;
  Host& h = hosts_[m.to];
  if (e.b > 1) [[unlikely]] {
    // A slow host's handling: the message arrived earlier (partitions no
    // longer drop it) and waited in the backlog.
    if (!leave_backlog(h, e)) return;
    if (h.paused) {
      hold(h, Event{e.time, e.seq_kind, e.a, (e.b & ~kBacklogged) | kAdmitted});
      return;
    }
  } else {
    if (network_.blocked(m.from, m.to)) {
      drop(e.a, DropReason::kPartition);
      return;
    }
    if (!h.up) {
      reset_stream(e.a, false);
      drop(e.a, DropReason::kNodeDown);
      return;
    }
    if (h.slow || h.backlog != 0) [[unlikely]] {
      enqueue_backlog(h, e);
      return;
    }
    if (h.paused) {
      hold(h, e);
      return;
    }
  }
  ++stats_.delivered;
  ++type_stats(m.type).delivered;
  hash_.fold(TraceCode::kDeliver, now_, (uint64_t{m.from} << 32) | m.to, m.type | port_bits(m.port, 16), m.size_bytes);
  if (writer_) {
    write_line(message_line("deliver", m)
                   .num("size", m.size_bytes)
                   .done());
  }
  // Pool slots do not move, so the handler reads the message in place.
  const core::NodeId to = m.to;
  core::Env& env = *port_state(h, m.port).env;
  guarded(h, [&] { h.node->on_message(env, m); });
  pool_.free(e.a);
  if (!observers_.empty())
    for (Observer* o : observers_) o->after_event(now_, to);
}

// ---------------------------------------------------------------- timers

void Simulation::release_timer(uint32_t slot) {
  TimerSlot& t = timers_[slot];
  ++t.gen;    // the TimerId is dead
  ++t.epoch;  // so is any queued event of the slot
  t.state = TimerSlot::kFree;
  t.next_free = timer_free_;
  timer_free_ = slot;
}

core::TimerId Simulation::env_set_timer(Host& h, core::Port port, core::Duration delay, uint64_t what) {
  if (delay < 0) delay = 0;
  uint32_t slot;
  if (timer_free_ != UINT32_MAX) {
    slot = timer_free_;
    timer_free_ = timers_[slot].next_free;
  } else {
    slot = static_cast<uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  TimerSlot& t = timers_[slot];
  t.local_deadline = h.clock.local(now_) + delay;
  t.what = what;
  t.node = static_cast<core::NodeId>(&h - hosts_.data());
  t.port = port;
  t.incarnation = h.incarnation;
  t.state = TimerSlot::kQueued;
  queue_.push(h.clock.global_for(t.local_deadline, now_), EventKind::kTimer, slot, t.epoch);
  return (uint64_t{t.gen} << 32) | (uint64_t{slot} + 1);
}

void Simulation::env_cancel_timer(core::TimerId id) {
  if (id == 0) return;
  const uint32_t slot = static_cast<uint32_t>(id & 0xffffffffu) - 1;
  const uint32_t gen = static_cast<uint32_t>(id >> 32);
  if (slot >= timers_.size()) return;
  TimerSlot& t = timers_[slot];
  if (t.gen != gen || t.state == TimerSlot::kFree) return;
  if (t.state == TimerSlot::kHeld) {
    // Remove it from the paused host's held list.
    auto& held = hosts_[t.node].held;
    for (size_t i = 0; i < held.size(); ++i)
      if (held[i].kind() == EventKind::kTimer && held[i].a == slot) {
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
  }
  release_timer(slot);
}

void Simulation::fire_timer(const Event& e) {
  TimerSlot& t = timers_[e.a];
  if (t.epoch != e.b || t.state != TimerSlot::kQueued) return;  // cancelled or rescheduled
  Host& h = hosts_[t.node];
  if (t.incarnation != h.incarnation) {  // the process that set it crashed
    release_timer(e.a);
    return;
  }
  if (h.paused) {
    hold(h, e);
    return;
  }
  const uint64_t what = t.what;
  const core::NodeId node = t.node;
  const core::Port port = t.port;
  release_timer(e.a);
  hash_.fold(TraceCode::kTimer, now_, node, what, port_bits(port, 0));
  if (writer_) write_line(TraceLine(now_, "timer").str("node", h.name).port(port).num("what", what).done());
  core::Env& env = *port_state(h, port).env;
  guarded(h, [&] { h.node->on_timer(env, what); });
  if (!observers_.empty())
    for (Observer* o : observers_) o->after_event(now_, node);
}

// ---------------------------------------------------------------- storage

void Simulation::env_sync(Host& h, core::Port port) {
  const uint64_t seq = h.storage.last_write_seq();
  if (seq <= h.storage.durable_seq() && h.pending_syncs.empty()) return;  // nothing to write
  const core::Duration d = h.storage_params.sync_latency.sample(h.storage_rng);
  if (d == 0 && h.pending_syncs.empty()) {
    h.storage.mark_durable(seq);
    return;
  }
  // Syncs complete in request order, like a single write-back queue; only
  // the port that asked waits for this one.
  core::Time done = now_ + d;
  if (done < h.disk_done_at) done = h.disk_done_at;
  h.disk_done_at = done;
  h.ports[static_cast<size_t>(port)].sync_done_at = done;
  h.pending_syncs.push_back({done, seq});
  queue_.push(done, EventKind::kSyncDone, static_cast<uint32_t>(&h - hosts_.data()), h.incarnation);
}

void Simulation::sync_done(const Event& e) {
  Host& h = hosts_[e.a];
  if (e.b != h.incarnation || h.pending_syncs.empty()) return;
  h.storage.mark_durable(h.pending_syncs.front().seq);
  h.pending_syncs.erase(h.pending_syncs.begin());
}

// ---------------------------------------------------------------- records and trace

void Simulation::env_record(Host& h, core::Port port, const core::Record& rec) {
  const core::NodeId id = static_cast<core::NodeId>(&h - hosts_.data());
  core::Record r = rec;
  r.port = port;
  hash_.fold(TraceCode::kRecord, now_, port_bits(port, 48) | (uint64_t{id} << 16) | static_cast<uint64_t>(r.kind), r.a,
             r.b ^ (r.c * 0x9E3779B97F4A7C15ull));
  if (writer_) {
    const core::RecordInfo info = core::record_info(r.kind);
    TraceLine line(now_, info.name);
    line.str("node", h.name).port(port);
    const uint64_t vals[3] = {r.a, r.b, r.c};
    for (int i = 0; i < 3; ++i)
      if (info.fields[i]) line.num(info.fields[i], vals[i]);
    write_line(line.done());
  }
  for (Observer* o : observers_) o->on_record(now_, id, r);
}

void Simulation::trace_fault(const std::string& description, uint64_t code, uint64_t x, uint64_t y) {
  hash_.fold(TraceCode::kFault, now_, code, x, y);
  if (writer_) write_line(TraceLine(now_, "fault").str("what", description).done());
}

void Simulation::write_line(const std::string& s) { writer_->line(s); }

// ---------------------------------------------------------------- control

void Simulation::schedule(core::Time at, std::function<void()> action) {
  if (at < now_) at = now_;
  uint32_t idx;
  if (!control_free_.empty()) {
    idx = control_free_.back();
    control_free_.pop_back();
    controls_[idx] = std::move(action);
  } else {
    idx = static_cast<uint32_t>(controls_.size());
    controls_.push_back(std::move(action));
  }
  queue_.push(at, EventKind::kControl, idx, 0);
}

bool Simulation::step() {
  if (queue_.empty()) return false;
  const Event e = queue_.pop();
  if (e.time > now_) {
    now_ = e.time;
    same_time_events_ = 0;
  } else if (++same_time_events_ > livelock_limit_) {
    throw SimulationError("livelock: more than " + std::to_string(livelock_limit_) +
                          " events without virtual time advancing, at t=" + format_duration(now_));
  }
  ++events_processed_;
  switch (e.kind()) {
    case EventKind::kDeliver: deliver(e); break;
    case EventKind::kTimer: fire_timer(e); break;
    case EventKind::kDepart: depart(e); break;
    case EventKind::kSyncDone: sync_done(e); break;
    case EventKind::kHop: hop(e); break;
    case EventKind::kControl: {
      std::function<void()> action = std::move(controls_[e.a]);
      controls_[e.a] = nullptr;
      control_free_.push_back(e.a);
      try {
        action();
      } catch (const core::InvariantViolation& ex) {
        // A fault, a workload request or a check called into protocol code,
        // or a simulator check of its own failed.
        throw InvariantFailure(std::string("in a control action: ") + ex.what() + " (at t=" + format_duration(now_) +
                               ", event " + std::to_string(events_processed_) + ", trace position " +
                               std::to_string(hash_.events()) + ", seed " + std::to_string(seed_) + ")");
      }
      break;
    }
  }
  return true;
}

void Simulation::run_until(core::Time t) {
  while (!stop_ && !queue_.empty() && queue_.top().time <= t) step();
  if (!stop_ && t > now_) {
    now_ = t;
    same_time_events_ = 0;
  }
}

std::vector<TypeStats> Simulation::message_types() const {
  std::vector<TypeStats> out;
  for (const TypeStats& ts : type_stats_)
    if (ts.sent || ts.delivered) out.push_back(ts);
  std::sort(out.begin(), out.end(), [](const TypeStats& a, const TypeStats& b) { return a.type < b.type; });
  return out;
}

size_t Simulation::engine_bytes() const {
  return queue_.capacity() * sizeof(Event) + pool_.bytes() + timers_.capacity() * sizeof(TimerSlot);
}

}  // namespace sim

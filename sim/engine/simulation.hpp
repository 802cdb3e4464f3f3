// One simulated cluster: the clock, the event queue, the hosts that run the
// protocol nodes, the network, and the trace (DESIGN.md, sim/ layer).
//
// Ownership: a Simulation owns everything it runs; there are no globals, so
// any number of simulations can live in one process (one thread each).
//
// Hot path: events are 24-byte records in a 4-ary heap; messages live in a
// pool and are referenced by index; nodes are in a vector indexed by id; the
// trace hash folds fixed-size records. Text is formatted only when a trace
// writer is attached. Control actions (faults, workload, checks) are the only
// std::function calls, and they are rare.
//
// Messages: a send walks the network path at once (Network::transmit). A
// message that reaches a bandwidth-limited link later than its send time waits
// in a kHop event for that time, when the link serves it and the walk goes on
// (Network::resume); it counts as in flight until it is delivered or dropped.
// A copy made by a duplicating element is queued the same way; its trace
// record carries its delivery time or, if it waits for a link, the time it
// reaches that link with bit 63 set. Partitions are checked at send and at
// delivery, a crashed receiver at delivery.
//
// Time: now() is global virtual time. Each node sees its own local clock
// (drift, jumps) through core::Env::now(); its timers run on that clock.
//
// Ports: each host runs one core::Node; each of its ports (core::Port) has an
// Env of its own, with its own random stream and its own sync ordering (a
// sync holds back that port's later sends only; the host's disk completes
// syncs in order). A message, a timer and a record carry their port; a
// message is handed to the receiver through the Env of its port. Port 0
// (kHost) folds into the trace hash exactly as a host without ports did.
//
// Node lifecycle: boot -> up; crash -> down (volatile state, timers and
// unsent messages gone; storage kept, minus unsynced writes when the node's
// StorageParams say so); restart -> a fresh node object started on the old
// storage; pause -> timers and inbound messages are held in order until
// resume, when they run at once (the clock keeps running meanwhile).
//
// Slow hosts (the "slow" fault; Lifeguard's slow members): while a host is
// slow, each message that arrives at it (its partition and crash checks
// passed) joins a FIFO backlog and is handled at
//   handled_at = max(arrival, busy_until) + a draw of the host's delay,
// busy_until = handled_at: one thread that falls behind when messages come
// faster than it handles them. The draws come from the host's own stream
// (kStreamSlow), so no other stream moves. Timers are not delayed (the clock
// and the timer path run normally). After unslow, arrivals get no draw, but
// while a backlog is left they still queue behind it (handled_at =
// max(arrival, busy_until)), so nothing overtakes it. A backlogged message
// has arrived: partitions no longer drop it; a crash does (DropReason
// kNodeDown, when its handling comes, as for a message in flight to a crashed
// host), also if the host restarted meanwhile; a pause holds it when its
// handling comes. Slowness is the host's: it outlives crash and restart.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/message.hpp"
#include "sim/engine/clock.hpp"
#include "sim/engine/distribution.hpp"
#include "sim/engine/event_queue.hpp"
#include "sim/engine/message_pool.hpp"
#include "sim/engine/network.hpp"
#include "sim/engine/trace.hpp"

namespace sim {

class SimulationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An internal invariant failed: a protocol's (core::InvariantViolation, from
// CORE_CHECK) or the simulator's own (a paused node's code ran, say). A bug,
// never a property of the scenario: the run stops, and what() says where and
// when (node, virtual time, event number, trace position, seed).
class InvariantFailure : public SimulationError {
 public:
  using SimulationError::SimulationError;
};

// A node's life as faults change it (explicit values: layers key on them).
enum class Lifecycle : uint8_t { kCrash = 1, kRestart = 2, kPause = 3, kResume = 4 };

struct StorageParams {
  Distribution sync_latency = Distribution::constant(0);  // like fsync
  bool lose_unsynced_on_crash = false;
  bool operator==(const StorageParams&) const = default;
};

using NodeFactory = std::function<std::unique_ptr<core::Node>(core::NodeId)>;

// Watches a run (checkers, metrics). Called synchronously; must not mutate the
// simulation from on_record/after_event.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_record(core::Time /*now*/, core::NodeId /*node*/, const core::Record& /*r*/) {}
  // After every event that ran protocol code on `node`.
  virtual void after_event(core::Time /*now*/, core::NodeId /*node*/) {}
  // After a fault changed a node's lifecycle.
  virtual void on_lifecycle(core::Time /*now*/, core::NodeId /*node*/, Lifecycle /*what*/) {}
};

struct MessageStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t dropped_by[6] = {0, 0, 0, 0, 0, 0};  // indexed by DropReason
};

struct TypeStats {
  uint16_t type = 0;
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t bytes = 0;
};

class Simulation {
 public:
  explicit Simulation(uint64_t seed);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  uint64_t seed() const { return seed_; }
  Network& network() { return network_; }

  // --- building ---
  // Adds a node on LAN `lan` (add LANs to network() first). Ids are dense.
  core::NodeId add_node(std::string name, uint32_t lan, NodeFactory factory);
  void set_storage_params(core::NodeId id, const StorageParams& params);
  // Boots every node that is not up yet, in id order, at the current time.
  void start_all();

  uint32_t node_count() const { return static_cast<uint32_t>(hosts_.size()); }
  const std::string& node_name(core::NodeId id) const { return hosts_[id].name; }
  // kNoNode when unknown.
  core::NodeId find_node(const std::string& name) const;

  // --- faults and lifecycle (call between events or from control actions) ---
  void crash(core::NodeId id);
  void restart(core::NodeId id);
  void pause(core::NodeId id);
  void resume(core::NodeId id);
  // Makes the host slow from now on: each message arriving at it is handled
  // after the ones before it plus a draw of `delay` (see the top of this file);
  // a later slow() replaces the distribution.
  void slow(core::NodeId id, const Distribution& delay);
  // Messages arriving from now on get no processing delay (a backlog left
  // keeps its times, and later arrivals still wait behind it).
  void unslow(core::NodeId id);
  bool is_slow(core::NodeId id) const { return hosts_[id].slow; }
  // Messages waiting in the host's slow backlog.
  uint32_t slow_backlog(core::NodeId id) const { return hosts_[id].backlog; }
  void set_clock_drift(core::NodeId id, int64_t drift_ppb);
  void jump_clock(core::NodeId id, core::Duration by);
  bool is_up(core::NodeId id) const { return hosts_[id].up; }
  bool is_paused(core::NodeId id) const { return hosts_[id].paused; }
  core::Time local_time(core::NodeId id) const { return hosts_[id].clock.local(now_); }

  // The node object, nullptr while crashed. Use with env(id) to call a
  // protocol's API (client requests, membership changes) between events.
  core::Node* node(core::NodeId id) { return hosts_[id].node.get(); }
  core::Env& env(core::NodeId id, core::Port port = core::Port::kHost);
  core::Storage& storage(core::NodeId id) { return hosts_[id].storage; }

  // Records a fault (or any world change made by the caller) in the trace.
  void trace_fault(const std::string& description, uint64_t code, uint64_t x, uint64_t y);

  // --- control ---
  // Runs `action` at virtual time `at` (>= now()).
  void schedule(core::Time at, std::function<void()> action);
  // Processes the next event; false when there is none.
  bool step();
  // When the next event happens (core::kNever when there is none).
  core::Time next_event_time() const { return queue_.empty() ? core::kNever : queue_.top().time; }
  // Processes every event with time <= t, then sets now() to t (or stops
  // early after stop()).
  void run_until(core::Time t);
  void stop() { stop_ = true; }
  bool stopped() const { return stop_; }
  core::Time now() const { return now_; }
  // A loop of events without time advancing this long is reported as a livelock.
  void set_livelock_limit(uint64_t events) { livelock_limit_ = events; }

  // --- results ---
  uint64_t trace_hash() const { return hash_.value(); }
  uint64_t trace_events() const { return hash_.events(); }
  uint64_t events_processed() const { return events_processed_; }
  const MessageStats& messages() const { return stats_; }
  std::vector<TypeStats> message_types() const;
  size_t inflight_messages() const { return pool_.live(); }
  size_t peak_inflight_messages() const { return pool_.peak(); }
  // Bytes held by the event queue and message pool (capacity, not size).
  size_t engine_bytes() const;
  static constexpr size_t bytes_per_inflight_message() { return sizeof(PoolSlot) + sizeof(Event); }

  void set_trace_writer(TraceSink* writer) { writer_ = writer; }
  void add_observer(Observer* o) { observers_.push_back(o); }

 private:
  struct Host;
  // The core::Env of one (host, port): forwards to the simulation.
  class HostEnv final : public core::Env {
   public:
    HostEnv(Simulation* sim, core::NodeId id, core::Port port) : sim_(sim), id_(id), port_(port) {}
    core::NodeId self() const override { return id_; }
    core::Time now() const override;
    void send(core::Message&& msg) override;
    core::TimerId set_timer(core::Duration delay, uint64_t what) override;
    void cancel_timer(core::TimerId id) override;
    core::Rng& rng() override;
    core::Storage& storage() override;
    void sync() override;
    void record(const core::Record& r) override;
    core::Port port() const override { return port_; }
    core::Env& on_port(core::Port p) override { return sim_->env(id_, p); }

   private:
    Simulation* sim_;
    core::NodeId id_;
    core::Port port_;
  };
  // What each port of a host has of its own.
  struct PortState {
    std::unique_ptr<HostEnv> env;  // made on first use
    core::Rng rng;                 // the component's protocol stream
    core::Time sync_done_at = 0;   // its later sends wait until then
  };
  struct PendingSync {
    core::Time done;
    uint64_t seq;
  };
  struct Host {
    std::string name;
    uint32_t lan = 0;
    NodeFactory factory;
    std::unique_ptr<core::Node> node;
    PortState ports[core::kPortCount];
    core::Storage storage;
    StorageParams storage_params;
    LocalClock clock;
    core::Rng link_rng;     // network draws for what this host sends
    core::Rng storage_rng;  // fsync latency draws
    bool up = false;
    bool paused = false;
    bool booted = false;
    uint32_t incarnation = 0;
    core::Time disk_done_at = 0;             // the last queued sync completes then
    std::vector<PendingSync> pending_syncs;  // the disk's queue, in completion order
    std::vector<Event> held;  // events waiting while paused, in arrival order
    // The slow fault (see the top of this file).
    bool slow = false;
    Distribution slow_delay;
    core::Rng slow_rng;           // processing-delay draws (kStreamSlow)
    core::Time busy_until = 0;    // when the last backlogged message is handled
    uint32_t backlog = 0;         // backlogged messages of this incarnation not yet handled
  };
  using PoolSlot = MessagePool::Slot;
  struct TimerSlot {
    core::Time local_deadline = 0;
    uint64_t what = 0;
    core::NodeId node = 0;
    core::Port port = core::Port::kHost;
    uint32_t gen = 1;    // identity of the armed timer, part of its TimerId; bumped when the slot is freed
    uint32_t epoch = 1;  // generation of its queued event; bumped when freed and on every reschedule
    uint32_t incarnation = 0;
    uint32_t next_free = UINT32_MAX;
    enum State : uint8_t { kFree, kQueued, kHeld } state = kFree;
  };
  PortState& port_state(Host& h, core::Port p) {
    PortState& ps = h.ports[static_cast<size_t>(p)];
    if (!ps.env) open_port(h, p);
    return ps;
  }
  void open_port(Host& h, core::Port p);
  // A paused process is frozen and a crashed one is gone: protocol code that
  // runs on either (a driver calling into it, say) is a simulator bug that
  // would silently let a frozen node act.
  void check_running(const Host& h, const char* what) const {
    if (!h.up || h.paused) [[unlikely]]
      not_running(h, what);
  }
  [[noreturn]] void not_running(const Host& h, const char* what) const;
  [[noreturn]] void invariant_failed(const Host& h, const std::string& what) const;
  template <typename F>
  void guarded(const Host& h, F&& call);
  void release_timer(uint32_t slot);
  TypeStats& type_stats(uint16_t type) {
    const uint8_t slot = family_slot_[core::family_of(type)];
    if (slot == 0) return new_family(type);
    return type_stats_[(static_cast<size_t>(slot - 1) << 8) | (type & 0xff)];
  }
  TypeStats& new_family(uint16_t type);
  void transmit(uint32_t slot);
  // Queues what a walk left of message `slot` (`copy`: it is a duplicate):
  // its delivery or next hop, the copy an element made, or its drop.
  void settle(uint32_t slot, const Transit& tr, bool copy);
  void queue_leg(uint32_t slot, core::Time at, uint32_t hop, bool copy, bool may_duplicate);
  void hop(const Event& e);
  void deliver(const Event& e);
  // A message arriving at a slow host (or one with a backlog): queues its
  // handling at max(now, busy_until) + draw.
  void enqueue_backlog(Host& h, const Event& e);
  // The handling time of a backlogged message came: false (and the message
  // dropped) when the process it arrived at is gone.
  bool leave_backlog(Host& h, const Event& e);
  void fire_timer(const Event& e);
  void depart(const Event& e);
  void sync_done(const Event& e);
  void hold(Host& h, const Event& e);
  void boot(core::NodeId id);
  void reschedule_timers(core::NodeId id);
  void drop(uint32_t slot, DropReason reason);
  // A stream message of a connection family lost with its receiver's
  // process: its sender gets a refusal or a reset (core/message.hpp).
  void reset_stream(uint32_t slot, bool accepted);
  void write_line(const std::string& s);
  // A trace line for an event of message m: its time, ev, from, to, type, port.
  TraceLine message_line(std::string_view ev, const core::Message& m) const;

  // HostEnv entry points.
  void env_send(Host& h, core::Port port, core::Message&& m);
  core::TimerId env_set_timer(Host& h, core::Port port, core::Duration delay, uint64_t what);
  void env_cancel_timer(core::TimerId id);
  void env_sync(Host& h, core::Port port);
  void env_record(Host& h, core::Port port, const core::Record& r);

  uint64_t seed_;
  core::Time now_ = 0;
  EventQueue queue_;
  Network network_;
  std::vector<Host> hosts_;
  MessagePool pool_;
  std::vector<TimerSlot> timers_;
  uint32_t timer_free_ = UINT32_MAX;
  std::vector<std::function<void()>> controls_;
  std::vector<uint32_t> control_free_;
  TraceHash hash_;
  MessageStats stats_;
  // Per-type counters: 256 per protocol family, in the order families were
  // first seen (family_slot_[family] is the block's number + 1, 0 = none yet).
  std::vector<TypeStats> type_stats_;
  uint8_t family_slot_[256] = {};
  TraceSink* writer_ = nullptr;
  std::vector<Observer*> observers_;
  uint64_t events_processed_ = 0;
  uint64_t livelock_limit_ = 50'000'000;
  uint64_t same_time_events_ = 0;
  bool stop_ = false;
};

}  // namespace sim

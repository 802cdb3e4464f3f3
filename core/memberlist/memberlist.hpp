// core::memberlist::Memberlist: one member of a gossip pool with
// hashicorp/memberlist v0.2.2's behaviour (reference gossip_ae.md A): SWIM's
// randomized round-robin probing with indirect probes and a stream (TCP)
// fallback, suspicion with Lifeguard's confirmations and local health
// multiplier, infection-style dissemination piggybacked on every packet and
// by a gossip ticker, push/pull state sync, join and graceful leave.
// Deviations from memberlist are marked "Deviation:" in memberlist*.cpp.
//
// Composition: Memberlist is not a core::Node; its owner (serf) is, and
// hands it the messages of family kFamilyMemberlist and the timers for which
// owns_timer() is true, with the Env of the port they share. Memberlist
// calls its delegates (delegate.hpp) in-process with that Env. The Env
// reference is only used during a call.
//
// State is volatile: memberlist keeps nothing on disk, and a restarted node
// starts over at incarnation 1 (peers' views of it make it refute upwards).
//
// Memory: a 10,000-member pool means 10^8 (viewer, member) pairs, so a
// member's record is 12 bytes in a vector indexed by NodeId, plus 4 bytes of
// the probe list; suspicions and ack handlers are sparse.
//
// Invariants (CORE_CHECK: the counts after every call, everything at each
// wrap of the probe list): the node list holds each known
// member exactly once and self always; a member is Suspect iff a suspicion
// is pending for it; the local node is never Suspect or Dead in its own view
// unless it is leaving (then Left).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/env.hpp"
#include "core/memberlist/awareness.hpp"
#include "core/memberlist/config.hpp"
#include "core/memberlist/delegate.hpp"
#include "core/memberlist/messages.hpp"
#include "core/memberlist/queue.hpp"
#include "core/memberlist/records.hpp"
#include "core/memberlist/suspicion.hpp"
#include "core/memberlist/wire.hpp"
#include "core/message.hpp"

namespace core::memberlist {

class Memberlist {
 public:
  // Timers of memberlist carry this tag in the top byte of `what`.
  static constexpr uint64_t kTimerTag = 0x4D;
  static bool owns_timer(uint64_t what) { return (what >> 56) == kTimerTag; }

  // `capacity`: node ids are < capacity (the hosts of the run).
  Memberlist(NodeId self, uint32_t capacity, const Config& config, Delegates delegates);

  // Boots (every start, also after a restart). `known`: members known at once,
  // alive at incarnation 1, as after a completed join (no broadcasts, no
  // events); empty: only itself.
  void start(Env& env, const std::vector<NodeId>& known);
  void on_message(Env& env, const Message& msg);
  void on_timer(Env& env, uint64_t what);

  // Join: a push/pull with join=true to each of `peers`; Owner::join_done
  // reports, with `join_id` (the caller's, unique among its joins in
  // flight), how many answered within TCPTimeout. It may report at once
  // (no peer to ask), during this call.
  void join(Env& env, const std::vector<NodeId>& peers, uint32_t join_id);
  // Leave: marks itself Left, broadcasts that, and reports Owner::leave_done
  // once the broadcast retired (or at once if nobody else is alive), or after
  // `timeout` (0: no timeout).
  void leave(Env& env, Duration timeout);
  // Stops every activity (memberlist Shutdown): later messages and timers are
  // ignored until the next start().
  void shutdown();
  // Re-advertises the local node (memberlist UpdateNode): a new incarnation
  // with the delegate's current meta.
  void update_node(Env& env);
  // The delegate queued a broadcast: the gossip ticker, asleep while there
  // was nothing to send, takes its next tick.
  void wake_gossip(Env& env);

  // --- state ---
  NodeId self() const { return self_; }
  const Config& config() const { return config_; }
  bool running() const { return running_; }
  bool leaving() const { return leaving_; }
  // numNodes: the node list's length, self and every suspect, dead and left
  // member not reaped yet included (it scales timeouts and limits).
  uint32_t num_nodes() const { return static_cast<uint32_t>(nodes_.size()); }
  // NumMembers: members not dead or left, self included.
  uint32_t num_members() const;
  bool knows(NodeId n) const { return n < members_.size() && members_[n].known; }
  State state(NodeId n) const { return static_cast<State>(members_[n].state); }
  Incarnation incarnation(NodeId n) const { return members_[n].incarnation; }
  int health_score() const { return awareness_.score(); }
  // The pending suspicion of member `n` (its confirmations and deadline),
  // nullptr when `n` is not suspected here.
  const Suspicion* suspicion(NodeId n) const {
    auto it = suspicions_.find(n);
    return it == suspicions_.end() ? nullptr : &it->second;
  }
  size_t queued_broadcasts() const { return broadcasts_.size(); }
  // The probe list in its current order (for tests).
  const std::vector<NodeId>& node_list() const { return nodes_; }

  // Counters since construction (for metrics).
  struct Stats {
    uint64_t probes = 0, probe_failures = 0, indirect_probes = 0, stream_fallbacks = 0, stream_rescues = 0;
    uint64_t suspicions = 0, refutes = 0, push_pulls = 0, packets = 0, piggyback_bytes = 0, packet_bytes = 0;
    uint64_t handoff_dropped = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Member {
    Incarnation incarnation = 0;
    uint32_t change_ms = 0;  // local time of the last state change, ms since boot
    uint8_t state = 0;       // State
    uint8_t known = 0;       // in the node list
  };
  static_assert(sizeof(Member) == 12, "one (viewer, member) pair");

  enum TimerKind : uint64_t {
    kProbeTick = 1,
    kProbeTimeout = 2,   // payload: seq no — direct ack wait over, go indirect
    kProbeDeadline = 3,  // payload: seq no — the probe's scaled interval over
    kGossipTick = 4,
    kPushPullTick = 5,
    kSuspicionTimer = 6,  // payload: node
    kIndirectTimeout = 7, // payload: our seq no of the relayed ping
    kJoinTimeout = 8,     // payload: join id
    kLeaveTimeout = 9,
  };
  // tag (8 bits) | kind (8) | boot epoch (16) | payload (32): a timer armed
  // before a shutdown or restart is recognised as stale.
  uint64_t timer(TimerKind k, uint64_t payload = 0) const;
  enum Filter { kFilterGossip = 0, kFilterIndirect = 1, kFilterAlive = 2 };

  // The probe in progress (memberlist's probeNode runs one at a time).
  struct Probe {
    bool active = false;
    uint32_t seq = 0;
    NodeId target = kNoNode;
    Incarnation incarnation = 0;
    Time sent = 0;
    bool indirect = false;  // ProbeTimeout passed: indirect and stream probes sent
    bool acked = false;
    bool stream_acked = false;
    uint32_t nacks_expected = 0;
    uint32_t nacks = 0;
    Duration interval = 0;  // the probe interval scaled by awareness
    TimerId timeout_timer = 0;
    TimerId deadline_timer = 0;
  };
  // A ping this node relays for another's indirect probe.
  struct Relay {
    NodeId source = kNoNode;
    uint32_t source_seq = 0;
    bool want_nack = false;
    bool done = false;
  };
  struct Join {
    uint32_t pending = 0;
    uint32_t contacted = 0;
    bool done = false;
  };

  // Inputs.
  void handle_packet(Env& env, const Message& msg, const Packet& p);
  void handle_items(Env& env, const Packet& p);
  void handle_item(Env& env, const Item& item);
  void handle_ping(Env& env, const Message& msg, const Packet& p);
  void handle_indirect_ping(Env& env, const Message& msg, const Packet& p);
  void handle_ack(Env& env, const Message& msg, const Packet& p);
  void handle_push_pull(Env& env, const Message& msg, const Packet& p);

  // SWIM.
  void probe(Env& env);
  void probe_node(Env& env, NodeId target);
  void probe_timeout(Env& env, uint32_t seq);
  void probe_deadline(Env& env, uint32_t seq);
  void probe_done(Env& env);
  void gossip(Env& env);
  void arm_gossip(Env& env);
  void push_pull(Env& env);
  void send_push_pull(Env& env, NodeId to, bool join, bool reply, uint32_t join_id);
  void merge_state(Env& env, const std::vector<PushNode>& remote);
  void reset_nodes(Env& env);

  // State transitions (memberlist aliveNode / suspectNode / deadNode / refute).
  void alive_node(Env& env, NodeId node, Incarnation inc, bool bootstrap);
  void suspect_node(Env& env, NodeId node, Incarnation inc, NodeId from);
  void dead_node(Env& env, NodeId node, Incarnation inc, NodeId from);
  void refute(Env& env, Incarnation accused, NodeId accuser, State accused_of);
  void suspicion_fired(Env& env, NodeId node);
  void set_state(Env& env, NodeId node, State s, Incarnation inc);
  void insert_node(Env& env, NodeId node);
  void apply_awareness(Env& env, int delta);

  // Output.
  void broadcast(Env& env, ItemType type, NodeId node, Incarnation inc, NodeId from, uint64_t notify = 0);
  void send(Env& env, NodeId to, uint16_t type, Packet&& p, uint32_t primary_bytes, bool piggyback);
  // Puts one packet on the wire: a datagram (counted in the packet stats,
  // with the keyring's framing when encryption is on) or a stream message.
  void emit(Env& env, NodeId to, uint16_t type, Packet&& p, uint32_t bytes, bool stream);
  std::vector<ItemPtr> get_broadcasts(Env& env, uint32_t overhead, uint32_t limit);
  void notify_finished(Env& env, const std::vector<uint64_t>& tokens);
  uint32_t packet_budget() const;

  uint32_t now_ms(Env& env) const;
  std::vector<NodeId> random_nodes(Env& env, uint32_t k, int filter, NodeId exclude) const;
  void check_invariants() const;
  void check_full() const;

  NodeId self_;
  Config config_;
  Delegates d_;
  bool running_ = false;
  bool leaving_ = false;
  Time boot_ = 0;  // local time of start()

  std::vector<Member> members_;  // indexed by NodeId
  std::vector<NodeId> nodes_;    // memberlist's node list: probe order
  size_t probe_index_ = 0;
  std::map<NodeId, Suspicion> suspicions_;
  Awareness awareness_;
  TransmitLimitedQueue broadcasts_;

  uint32_t seq_ = 0;
  Probe probe_;
  bool probe_tick_pending_ = false;  // a tick came while a probe ran (Go ticker's one-slot buffer)
  std::map<uint32_t, Relay> relays_;
  std::map<uint32_t, Join> joins_;
  bool leave_pending_ = false;
  Time gossip_phase_ = 0;  // local time of the gossip ticker's first tick
  bool gossip_armed_ = false;
  uint64_t epoch_ = 0;
  uint32_t live_ = 0;      // members not dead or left, self included
  uint32_t suspects_ = 0;  // members in state Suspect
  static constexpr uint64_t kLeaveToken = 1;
  Stats stats_;
};

}  // namespace core::memberlist

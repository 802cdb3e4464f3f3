// core::serf::Serf: one member of a serf pool with hashicorp/serf v0.9.5's
// behaviour (reference gossip_ae.md B) over our memberlist: member statuses
// (alive, leaving, left, failed) driven by memberlist's events and by
// Lamport-timed join / leave intents; user events with serf's 512-slot
// de-duplication buffer; three broadcast queues piggybacked on memberlist's
// packets; push/pull state exchange; reaping, reconnecting to failed
// members, graceful leave and force-leave; a snapshot for rejoining after a
// restart; Vivaldi coordinates fed by memberlist's probes.
// Deviations from serf are marked "Deviation:" in serf*.cpp and
// snapshot.hpp.
//
// Not modelled: queries (the query clock exists and travels in push/pull,
// nothing uses it), event coalescing (Consul disables it), the key manager,
// name-conflict resolution (names are NodeIds and never conflict), tags as
// key/value pairs (a node's tags are their encoded size), per-member
// reconnect-timeout overrides (Consul's rc_tm tag), the merge delegate.
//
// Composition: Serf is not a core::Node. Its owner (GossipNode, or a Consul
// agent) hands it the messages of family kFamilyMemberlist and the timers
// for which owns_timer() is true, with the Env of the port they share (the
// owner's serf-lan or serf-wan port). Serf owns its Memberlist and is its
// Delegate, EventDelegate, PingDelegate (unless coordinates are disabled)
// and Owner. The Env reference is only used during a call.
//
// Events: serf's event channel is an EventListener (set_listener), called
// in-process as the event happens; records (records.hpp) trace the same.
//
// Memory (a 10,000-member pool has 10^8 viewer/member pairs): a member is
// 5 bytes (status, status Lamport time) in vectors indexed by NodeId; leave
// times are kept only for failed and left members (serf's failedMembers /
// leftMembers lists); intents, prunes and force-leaves are sparse. The
// coordinate client and cache grow per measured peer (config.hpp).
//
// Invariants (CORE_CHECK after every input and API call): the status
// counters add up to the member count; the failed list holds exactly the
// failed members and the left list exactly the left ones (each entry is
// checked whenever the reaper or reconnect visits it); the local node is
// never failed in its own view, and is a member while serf is alive.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/coordinate/client.hpp"
#include "core/env.hpp"
#include "core/memberlist/delegate.hpp"
#include "core/memberlist/memberlist.hpp"
#include "core/memberlist/queue.hpp"
#include "core/message.hpp"
#include "core/serf/config.hpp"
#include "core/serf/event_buffer.hpp"
#include "core/serf/intents.hpp"
#include "core/serf/lamport.hpp"
#include "core/serf/messages.hpp"
#include "core/serf/records.hpp"
#include "core/serf/snapshot.hpp"

namespace core::serf {

// serf EventType for member events.
enum class MemberEventType : uint8_t { kJoin = 0, kLeave = 1, kFailed = 2, kUpdate = 3, kReap = 4 };

// serf's EventCh, as in-process calls. Calls arrive in the middle of serf's
// handling of an input: a listener may read serf's state but must not call
// back into it.
class EventListener {
 public:
  virtual ~EventListener() = default;
  virtual void on_member_event(Env& env, MemberEventType type, NodeId member) = 0;
  virtual void on_user_event(Env& env, LamportTime ltime, const UserEvent& event, bool coalesce) = 0;
  // A join() ended (Join's return): `contacted` of `asked` answered.
  virtual void on_join_done(Env& /*env*/, uint32_t /*contacted*/, uint32_t /*asked*/) {}
};

// serf's reconnect throttle: the chance that this node tries one failed
// member this ReconnectInterval, failed / (members - failed - left) with the
// denominator at least 1, so that the pool as a whole tries each failed
// member about once per interval.
double reconnect_probability(uint32_t members, uint32_t failed, uint32_t left);

// serf UserEvent's size checks: "" or serf's error message.
std::string check_user_event_size(const Config& config, LamportTime ltime, const UserEvent& e);

class Serf final : public memberlist::Delegate,
                   public memberlist::EventDelegate,
                   public memberlist::PingDelegate,
                   public memberlist::Owner {
 public:
  // Timers of serf carry this tag in the top byte of `what`:
  // tag (8 bits) | kind (8) | boot epoch (16) | payload (32).
  static constexpr uint64_t kTimerTag = 0x53;
  static bool owns_timer(uint64_t what) { return (what >> 56) == kTimerTag; }

  // `capacity`: node ids are < capacity. `storage_prefix` names this pool's
  // keys in env.storage() ("serf-lan/", "serf-wan/"). `config` must be valid.
  Serf(NodeId self, uint32_t capacity, const Config& config, std::string storage_prefix = "serf-lan/");
  Serf(const Serf&) = delete;
  Serf& operator=(const Serf&) = delete;

  // Boots (every start, also after a restart: all volatile state is
  // forgotten). `known`: members known at once, alive, as after a completed
  // join (memberlist::Memberlist::start); they are not announced by records
  // or events. With a snapshot, the clocks are restored from it and the
  // members it last saw alive are rejoined one at a time until one answers
  // (serf handleRejoin).
  void start(Env& env, const std::vector<NodeId>& known);
  void on_message(Env& env, const Message& msg);
  void on_timer(Env& env, uint64_t what);

  // ---- API (serf.go). "" when accepted; otherwise serf's error. ----
  // Join: memberlist joins `peers`; if any answered, a join intent is
  // broadcast. ignore_old: user events from before the join are not
  // delivered (eventMinTime := the remote event clock during the join).
  // Outcome: kRecordJoinDone. Joins run one at a time (see serf.cpp).
  std::string join(Env& env, const std::vector<NodeId>& peers, bool ignore_old);
  // Graceful leave (B.6): leave intent, wait until it retired or
  // BroadcastTimeout, memberlist leave, LeavePropagateDelay, state left.
  // Outcome: kRecordLeaveDone.
  std::string leave(Env& env);
  // Marks a failed member left for everyone (prune: erases it at once).
  // Outcome: kRecordForceLeaveDone once the intent retired or timed out.
  std::string force_leave(Env& env, NodeId node, bool prune = false);
  // Fires a user event: delivered here, then gossiped.
  std::string user_event(Env& env, uint32_t name_id, uint32_t payload_bytes, uint64_t payload_hash, bool coalesce,
                         uint32_t name_bytes = kConsulEventNameBytes);
  // The same with the whole event, its payload's content included.
  std::string user_event(Env& env, const UserEvent& e, bool coalesce);
  // serf SetTags: new encoded tag size, re-advertised by memberlist.
  std::string set_tags(Env& env, uint32_t tags_bytes);
  // serf Shutdown: stops serf and memberlist; later messages and timers are
  // ignored until the next start(). With the Env, the snapshot is flushed
  // and synced first (serf's snapshotter does on shutdown).
  void shutdown(Env& env);
  void shutdown();
  void set_listener(EventListener* listener) { listener_ = listener; }

  // ---- views ----
  NodeId self() const { return self_; }
  uint32_t capacity() const { return static_cast<uint32_t>(statuses_.size()); }
  const Config& config() const { return config_; }
  SerfState state() const { return state_; }
  MemberStatus status(NodeId n) const { return static_cast<MemberStatus>(statuses_[n]); }
  uint32_t status_ltime(NodeId n) const { return ltimes_[n]; }
  // Indexed by NodeId: MemberStatus (kNone = not a member) and its Lamport time.
  const std::vector<uint8_t>& statuses() const { return statuses_; }
  const std::vector<uint32_t>& status_ltimes() const { return ltimes_; }
  // serf NumNodes: every member, failed and left ones until reaped.
  uint32_t num_members() const { return members_; }
  uint32_t count(MemberStatus s) const { return counts_[static_cast<size_t>(s)]; }
  // serf failedMembers / leftMembers, in serf's order (it matters to
  // reconnect's random pick), with the local time each left.
  struct Departed {
    NodeId node = kNoNode;
    Time leave_time = 0;
  };
  const std::vector<Departed>& failed_members() const { return failed_; }
  const std::vector<Departed>& left_members() const { return left_; }
  // Local time member `n` failed or left, if it is failed or left.
  std::optional<Time> leave_time(NodeId n) const;
  LamportTime member_clock() const { return clock_.time(); }
  LamportTime event_clock() const { return event_clock_.time(); }
  LamportTime query_clock() const { return query_clock_.time(); }
  LamportTime event_min_time() const { return event_min_time_; }
  const EventBuffer& event_buffer() const { return events_; }
  const IntentBuffer& intents() const { return intents_; }
  size_t intent_queue_depth() const { return intent_queue_.size(); }
  size_t event_queue_depth() const { return event_queue_.size(); }
  size_t query_queue_depth() const { return query_queue_.size(); }
  // True once a leave() has ended, whatever its outcome (kRecordLeaveDone
  // says which): the point where serf's Leave returns.
  bool leave_finished() const { return leave_stage_ == LeaveStage::kDone; }
  const Snapshotter* snapshotter() const { return config_.snapshot ? &snapshot_ : nullptr; }
  uint32_t tags_bytes() const { return tags_bytes_; }
  // The previously alive members the rejoin after a restart may still try
  // (empty once it has finished, or if the snapshot offered nobody).
  const std::vector<NodeId>& rejoin_candidates() const { return rejoin_candidates_; }

  // Coordinates: nullptr / nullopt when disabled.
  const coordinate::Client* coordinate_client() const { return client_ ? &*client_ : nullptr; }
  // serf GetCachedCoordinate: the last coordinate `n` sent in an ack (and
  // this node's own, once it has measured anyone).
  std::optional<coordinate::Coordinate> cached_coordinate(NodeId n) const;
  size_t coordinate_cache_size() const { return cache_.size(); }

  memberlist::Memberlist& memberlist() { return memberlist_; }
  const memberlist::Memberlist& memberlist() const { return memberlist_; }

  // Counters since construction (for metrics).
  struct Stats {
    // User events.
    uint64_t user_events_sent = 0;       // originated here
    uint64_t user_events_received = 0;   // offered by gossip or push/pull
    uint64_t user_events_delivered = 0;  // new (also those originated here)
    uint64_t user_events_duplicate = 0;
    uint64_t user_events_too_old = 0;
    uint64_t user_events_before_min_time = 0;
    uint64_t user_events_rebroadcast = 0;
    // Intents.
    uint64_t join_intents_received = 0;
    uint64_t leave_intents_received = 0;
    uint64_t intents_rebroadcast = 0;
    uint64_t intents_buffered = 0;  // about a node not known yet
    uint64_t join_intents_sent = 0;
    uint64_t leave_intents_sent = 0;
    uint64_t refutes = 0;  // an old leave intent about this node answered by a join intent
    // Members.
    uint64_t member_joins = 0, member_leaves = 0, member_failures = 0, member_updates = 0;
    uint64_t reaps = 0, prunes = 0, flaps = 0;
    // Joins.
    uint64_t joins = 0, reconnect_attempts = 0, reconnects_throttled = 0, rejoin_attempts = 0;
    // Queues.
    uint64_t queue_depth_warnings = 0, queue_dropped = 0;
    // Push/pull and coordinates.
    uint64_t push_pull_merges = 0, coordinate_updates = 0, coordinate_rejections = 0;
  };
  const Stats& stats() const { return stats_; }

  // Heap and inline bytes this instance holds (capacities), memberlist
  // excluded, for memory accounting.
  size_t memory_bytes() const;

  // ---- memberlist's delegates (called by Memberlist only) ----
  uint32_t node_meta_bytes() override { return tags_bytes_; }
  void notify_msg(Env& env, const memberlist::UserMsg& msg) override;
  std::vector<memberlist::ItemPtr> get_broadcasts(Env& env, uint32_t overhead, uint32_t limit) override;
  bool has_broadcasts() const override {
    return !intent_queue_.empty() || !event_queue_.empty() || !query_queue_.empty();
  }
  std::shared_ptr<const memberlist::UserMsg> local_state(Env& env, bool join) override;
  void merge_remote_state(Env& env, const memberlist::UserMsg& state, bool join) override;
  void notify_join(Env& env, NodeId node) override;
  void notify_leave(Env& env, NodeId node, bool left) override;
  void notify_update(Env& env, NodeId node) override;
  std::shared_ptr<const memberlist::UserMsg> ack_payload(Env& env) override;
  void notify_ping_complete(Env& env, NodeId node, Duration rtt, const memberlist::UserMsg* payload) override;
  void join_done(Env& env, uint32_t join_id, uint32_t contacted) override;
  void leave_done(Env& env, bool timed_out) override;

  // ---- serf's handlers, public for unit tests (serf_test.cpp drives them
  // directly, as serf's own tests do). Each returns serf's "rebroadcast". ----
  bool handle_join_intent(Env& env, LamportTime ltime, NodeId node);
  bool handle_leave_intent(Env& env, LamportTime ltime, NodeId node, bool prune);
  bool handle_user_event(Env& env, LamportTime ltime, const UserEvent& e, bool coalesce);
  // One pass of the reaper / the reconnect throttle / the queue-depth check,
  // as their timers run them.
  void reap(Env& env);
  bool reconnect(Env& env);
  void check_queues(Env& env);

 private:
  enum TimerKind : uint64_t {
    kTimerReap = 1,
    kTimerReconnect = 2,
    kTimerQueueCheck = 3,
    kTimerSnapshot = 4,
    kTimerLeaveIntentTimeout = 5,
    kTimerLeaveIntentDone = 6,  // 0 delay: continue the leave outside memberlist's call
    kTimerLeavePropagate = 7,
    kTimerPrune = 8,              // payload: node
    kTimerForceLeaveTimeout = 9,  // payload: token
  };
  uint64_t timer(TimerKind k, uint64_t payload = 0) const;

  enum class JoinKind : uint8_t { kUser, kReconnect, kRejoin };
  struct PendingJoin {
    JoinKind kind = JoinKind::kUser;
    std::vector<NodeId> peers;
    bool ignore_old = false;
  };
  enum class LeaveStage : uint8_t { kNone, kWaitIntent, kWaitMemberlist, kPropagate, kDone };
  struct ForceLeave {
    NodeId node = kNoNode;
    TimerId timer = 0;
  };
  struct CacheEntry {
    NodeId node;
    coordinate::Coordinate coord;
  };

  static constexpr uint64_t kTokenLeave = 1;

  // Members.
  void set_member(Env& env, NodeId node, MemberStatus s, uint64_t ltime, bool announce = true);
  void handle_node_join(Env& env, NodeId node);
  void handle_node_leave(Env& env, NodeId node);
  void handle_prune(Env& env, NodeId node);
  void erase_node(Env& env, NodeId node, bool forced);  // the caller has taken it off the lists
  static bool remove_departed(std::vector<Departed>& list, NodeId node);
  void reap_list(Env& env, std::vector<Departed>& list, Duration timeout, MemberStatus expected);
  bool has_alive_members() const;
  void emit(Env& env, MemberEventType type, NodeId node);

  // Broadcasts.
  void arm_snapshot(Env& env);
  void queue_broadcast(Env& env, memberlist::TransmitLimitedQueue& q, std::shared_ptr<const memberlist::UserMsg> msg,
                       uint64_t notify = 0);
  void broadcast_join(Env& env, LamportTime ltime);
  void handle_finished(Env& env, const std::vector<uint64_t>& tokens);

  // Joins, one at a time.
  void enqueue_join(Env& env, PendingJoin j);
  void next_rejoin(Env& env);

  // Leave.
  void leave_memberlist(Env& env);
  void set_state(Env& env, SerfState s);

  // Coordinates.
  void cache_put(NodeId node, const coordinate::Coordinate& c);

  void check_invariants() const;

  NodeId self_;
  Config config_;
  std::string prefix_;
  memberlist::Memberlist memberlist_;
  EventListener* listener_ = nullptr;

  SerfState state_ = SerfState::kShutdown;
  uint64_t epoch_ = 0;
  uint32_t tags_bytes_;

  LamportClock clock_;
  LamportClock event_clock_;
  LamportClock query_clock_;
  LamportTime event_min_time_ = 0;
  LamportTime query_min_time_ = 0;

  std::vector<uint8_t> statuses_;  // MemberStatus, indexed by NodeId
  std::vector<uint32_t> ltimes_;   // status Lamport times
  uint32_t members_ = 0;
  std::array<uint32_t, 5> counts_{};
  std::vector<Departed> failed_;
  std::vector<Departed> left_;
  IntentBuffer intents_;
  EventBuffer events_;

  memberlist::TransmitLimitedQueue intent_queue_;
  memberlist::TransmitLimitedQueue event_queue_;
  memberlist::TransmitLimitedQueue query_queue_;  // always empty: no queries

  std::map<uint32_t, PendingJoin> joins_;  // in flight, by join id
  uint32_t next_join_id_ = 1;
  uint32_t ignore_old_joins_ = 0;  // joins in flight with ignoreOld: serf's eventJoinIgnore is set
  std::vector<NodeId> rejoin_candidates_;
  size_t rejoin_next_ = 0;

  LeaveStage leave_stage_ = LeaveStage::kNone;
  TimerId leave_timer_ = 0;
  std::map<uint64_t, ForceLeave> force_leaves_;  // by notify token
  uint64_t next_token_ = kTokenLeave + 1;
  std::map<NodeId, bool> prunes_;  // pending (leaving) prunes

  std::optional<coordinate::Client> client_;
  // A hash map, only ever looked up (never iterated): a sorted vector's
  // inserts moved ~100 KB per ping at 1,000 members, a tree chased pointers.
  Time snapshot_phase_ = 0;
  bool snapshot_armed_ = false;
  std::unordered_map<NodeId, coordinate::Coordinate> cache_;
  std::shared_ptr<const CoordinatePayload> ack_payload_;

  Snapshotter snapshot_;
  Stats stats_;
};

}  // namespace core::serf

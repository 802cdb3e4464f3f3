// Unit tests of core/serf: the pure pieces (Lamport clock, intent buffer,
// event buffer, sizes, reconnect throttle, config), serf's handlers driven
// directly through the memberlist delegate calls with a FakeEnv, the
// snapshot, and a few end-to-end checks on a tiny deterministic cluster of
// real Serf + Memberlist instances (a FakeEnv per node over one scheduler;
// no simulator).
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/message.hpp"
#include "core/serf/config.hpp"
#include "core/serf/event_buffer.hpp"
#include "core/serf/intents.hpp"
#include "core/serf/lamport.hpp"
#include "core/serf/messages.hpp"
#include "core/serf/node.hpp"
#include "core/serf/records.hpp"
#include "core/serf/serf.hpp"
#include "core/serf/snapshot.hpp"

using core::Duration;
using core::kMillisecond;
using core::kSecond;
using core::NodeId;
using core::Time;
using namespace core::serf;

namespace {

// ---------------------------------------------------------------- FakeEnv

// One scheduler shared by the FakeEnvs of a test: a settable clock, armed
// timers and (when `deliver`) messages in flight, ordered by (time, seq).
struct Sched {
  struct Event {
    NodeId node = core::kNoNode;
    bool timer = false;
    uint64_t what = 0;
    core::TimerId id = 0;
    std::shared_ptr<core::Message> msg;
  };
  using Key = std::pair<Time, uint64_t>;
  Time now = 0;
  uint64_t seq = 0;
  core::TimerId next_timer = 0;
  bool deliver = false;                 // sends become deliveries after `latency`
  Duration latency = 1 * kMillisecond;
  std::map<Key, Event> queue;
  std::map<core::TimerId, Key> timers;
};

class FakeEnv final : public core::Env {
 public:
  FakeEnv(NodeId self, Sched* sched, uint64_t seed = 1) : self_(self), sched_(sched), rng_(seed) {}

  NodeId self() const override { return self_; }
  Time now() const override { return sched_->now; }
  void send(core::Message&& m) override {
    m.from = self_;
    m.port = core::Port::kSerfLan;
    sent.push_back(m);
    if (sched_->deliver) {
      Sched::Event e;
      e.node = m.to;
      e.msg = std::make_shared<core::Message>(std::move(m));
      sched_->queue[{sched_->now + sched_->latency, ++sched_->seq}] = std::move(e);
    }
  }
  core::TimerId set_timer(Duration delay, uint64_t what) override {
    const core::TimerId id = ++sched_->next_timer;
    const Sched::Key k{sched_->now + delay, ++sched_->seq};
    Sched::Event e;
    e.node = self_;
    e.timer = true;
    e.what = what;
    e.id = id;
    sched_->queue[k] = e;
    sched_->timers[id] = k;
    return id;
  }
  void cancel_timer(core::TimerId id) override {
    auto it = sched_->timers.find(id);
    if (it == sched_->timers.end()) return;
    sched_->queue.erase(it->second);
    sched_->timers.erase(it);
  }
  core::Rng& rng() override { return rng_; }
  core::Storage& storage() override { return storage_; }
  void sync() override {
    ++syncs;
    storage_.mark_durable(storage_.last_write_seq());
  }
  void record(const core::Record& r) override { records.push_back(r); }
  core::Port port() const override { return core::Port::kSerfLan; }
  core::Env& on_port(core::Port) override { return *this; }

  size_t count(core::RecordKind k) const {
    size_t n = 0;
    for (const auto& r : records)
      if (r.kind == k) ++n;
    return n;
  }
  const core::Record* last(core::RecordKind k) const {
    for (auto it = records.rbegin(); it != records.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
  // Timers of this node still armed whose `what` matches.
  size_t armed(const std::function<bool(uint64_t)>& pred) const {
    size_t n = 0;
    for (const auto& [k, e] : sched_->queue)
      if (e.timer && e.node == self_ && pred(e.what)) ++n;
    return n;
  }

  std::vector<core::Message> sent;
  std::vector<core::Record> records;
  uint64_t syncs = 0;

 private:
  NodeId self_;
  Sched* sched_;
  core::Rng rng_;
  core::Storage storage_;
};

bool is_serf_timer(uint64_t what) { return Serf::owns_timer(what); }

// Fires due events in order until `until`; `handle` gets each.
void run_until(Sched& s, Time until, const std::function<void(const Sched::Event&)>& handle) {
  while (!s.queue.empty() && s.queue.begin()->first.first <= until) {
    auto it = s.queue.begin();
    const Sched::Event e = it->second;
    s.now = it->first.first;
    s.queue.erase(it);
    if (e.timer) s.timers.erase(e.id);
    handle(e);
  }
  if (s.now < until) s.now = until;
}

// Fires only serf's own timers of one Serf (memberlist's stay armed, so no
// packets go out and nothing retires).
void run_serf_timers(Sched& s, FakeEnv& env, Serf& serf, Time until) {
  std::vector<Sched::Key> keep;
  while (true) {
    auto it = s.queue.begin();
    while (it != s.queue.end() && !(it->second.timer && is_serf_timer(it->second.what))) ++it;
    if (it == s.queue.end() || it->first.first > until) break;
    const Sched::Event e = it->second;
    s.now = it->first.first;
    s.queue.erase(it);
    s.timers.erase(e.id);
    serf.on_timer(env, e.what);
  }
  if (s.now < until) s.now = until;
}

Config test_config() {
  Config c = Config::consul_lan();
  c.snapshot = false;
  return c;
}

// Node 0 of an 8-node capacity, started alone, with its FakeEnv: the
// fixture of most single-instance tests (TEST_CASE_METHOD).
struct OneSerf {
  OneSerf() { serf.start(env, {}); }
  Sched s;
  FakeEnv env{0, &s};
  Serf serf{0, 8, test_config()};
};

// A UserEvent with a payload of `bytes` and name id `name`.
UserEvent ev(uint32_t name, uint64_t hash, uint32_t bytes = 10) { return UserEvent{name, 8, bytes, hash, nullptr}; }

// ---------------------------------------------------------------- a tiny cluster

// N Serf instances over real memberlists, one FakeEnv each, messages
// delivered after a fixed latency. Deterministic.
struct Cluster {
  explicit Cluster(uint32_t n, Config config = test_config(), bool preformed = true) {
    sched.deliver = true;
    known = std::make_shared<std::vector<NodeId>>();
    for (NodeId i = 0; i < n; ++i) known->push_back(i);
    for (NodeId i = 0; i < n; ++i) {
      envs.push_back(std::make_unique<FakeEnv>(i, &sched, 1000 + i));
      serfs.push_back(std::make_unique<Serf>(i, n, config));
      up.push_back(true);
    }
    for (NodeId i = 0; i < n; ++i) serfs[i]->start(*envs[i], preformed ? *known : std::vector<NodeId>{});
  }
  void run(Duration d) {
    run_until(sched, sched.now + d, [&](const Sched::Event& e) {
      if (e.node >= serfs.size() || !up[e.node]) return;
      if (e.timer) serfs[e.node]->on_timer(*envs[e.node], e.what);
      else serfs[e.node]->on_message(*envs[e.node], *e.msg);
    });
  }
  void crash(NodeId n) { up[n] = false; }
  // A new process on the crashed host: its timers are gone, its storage is
  // kept (a process crash loses nothing that was written).
  void restart(NodeId n, const Config& config) {
    for (auto it = sched.queue.begin(); it != sched.queue.end();) {
      if (it->second.timer && it->second.node == n) {
        sched.timers.erase(it->second.id);
        it = sched.queue.erase(it);
      } else {
        ++it;
      }
    }
    serfs[n] = std::make_unique<Serf>(n, static_cast<uint32_t>(serfs.size()), config);
    up[n] = true;
    serfs[n]->start(*envs[n], {});
  }
  size_t count_status(NodeId target, MemberStatus s) const {
    size_t c = 0;
    for (NodeId i = 0; i < serfs.size(); ++i)
      if (up[i] && serfs[i]->status(target) == s) ++c;
    return c;
  }
  size_t up_count() const {
    size_t c = 0;
    for (bool u : up) c += u ? 1 : 0;
    return c;
  }

  Sched sched;
  std::shared_ptr<std::vector<NodeId>> known;
  std::vector<std::unique_ptr<FakeEnv>> envs;
  std::vector<std::unique_ptr<Serf>> serfs;
  std::vector<bool> up;
};

}  // namespace

// ================================================================ pure pieces

TEST_CASE("serf lamport: time, increment, witness moves one past what it saw", "[serf]") {
  LamportClock c;
  CHECK(c.time() == 0);
  CHECK(c.increment() == 1);
  CHECK(c.time() == 1);
  c.witness(41);
  CHECK(c.time() == 42);
  c.witness(10);  // older: nothing
  CHECK(c.time() == 42);
  c.witness(42);  // equal: one past it
  CHECK(c.time() == 43);
}

TEST_CASE("serf intents: one per node, replaced only by a newer ltime, expire after the timeout", "[serf]") {
  IntentBuffer b;
  CHECK(b.upsert(7, IntentType::kJoin, 5, 0));
  CHECK_FALSE(b.upsert(7, IntentType::kLeave, 5, 1));  // not newer
  CHECK(b.recent(7, IntentType::kJoin) == 5u);
  CHECK_FALSE(b.recent(7, IntentType::kLeave).has_value());
  CHECK(b.upsert(7, IntentType::kLeave, 6, 10 * kSecond));  // newer: the type changes too
  CHECK(b.recent(7, IntentType::kLeave) == 6u);
  CHECK_FALSE(b.recent(7, IntentType::kJoin).has_value());
  CHECK(b.upsert(8, IntentType::kJoin, 1, 20 * kSecond));
  // Expiry is strictly after the timeout, measured from when it was stored.
  CHECK(b.reap(10 * kSecond + 60 * kSecond, 60 * kSecond) == 0);
  CHECK(b.reap(10 * kSecond + 60 * kSecond + 1, 60 * kSecond) == 1);
  CHECK(b.size() == 1);
  CHECK(b.recent(8, IntentType::kJoin) == 1u);
}

TEST_CASE("serf event buffer: new, duplicate, too old, before min time, slot replacement", "[serf]") {
  EventBuffer b(512);
  CHECK(b.offer(3, ev(1, 0xAA), 4, 0) == EventOutcome::kNew);
  CHECK(b.offer(3, ev(1, 0xAA), 4, 0) == EventOutcome::kDuplicate);
  // Same time, other payload or name: a different event in the same slot.
  CHECK(b.offer(3, ev(1, 0xBB), 4, 0) == EventOutcome::kNew);
  CHECK(b.offer(3, ev(2, 0xAA), 4, 0) == EventOutcome::kNew);
  CHECK(b.offer(3, ev(1, 0xAA, 11), 4, 0) == EventOutcome::kNew);  // same hash, other size
  REQUIRE(b.slot(3) != nullptr);
  CHECK(b.slot(3)->events.size() == 4);
  // Before the minimum time.
  CHECK(b.offer(9, ev(1, 1), 10, 10) == EventOutcome::kBeforeMinTime);
  // Too old: only once the clock has passed the buffer's length.
  CHECK(b.offer(1, ev(1, 2), 512, 0) == EventOutcome::kNew);           // clock == len: never too old
  CHECK(b.offer(99, ev(1, 2), 612, 0) == EventOutcome::kTooOld);       // 99 < 612 - 512
  CHECK(b.offer(100, ev(1, 2), 612, 0) == EventOutcome::kNew);         // 100 is not < 100
  // ltime 3 + 512 lands in slot 3 and replaces its events.
  CHECK(b.offer(515, ev(5, 5), 520, 0) == EventOutcome::kNew);
  REQUIRE(b.slot(3) != nullptr);
  CHECK(b.slot(3)->ltime == 515);
  CHECK(b.slot(3)->events.size() == 1);
  // The old event at time 3 would now be too old anyway; at a low clock it
  // would be new again (serf's buffer forgets it).
  CHECK(b.offer(3, ev(1, 0xAA), 4, 0) == EventOutcome::kNew);
  CHECK(b.used_slots().size() == 3);  // slots 1, 3, 100
}

TEST_CASE("serf reconnect probability: failed / (members - failed - left), denominator at least 1", "[serf]") {
  CHECK(reconnect_probability(10, 0, 0) == 0.0);
  CHECK(reconnect_probability(10, 1, 0) == Approx(1.0 / 9));
  CHECK(reconnect_probability(10, 2, 3) == Approx(2.0 / 5));
  CHECK(reconnect_probability(3, 2, 1) == 2.0);  // nobody alive: / 1
  CHECK(reconnect_probability(2, 1, 0) == 1.0);
}

TEST_CASE("serf sizes: msgpack encodings of serf's messages", "[serf]") {
  CHECK(msgpack_uint_bytes(0) == 1);
  CHECK(msgpack_uint_bytes(127) == 1);
  CHECK(msgpack_uint_bytes(128) == 2);
  CHECK(msgpack_uint_bytes(65535) == 3);
  CHECK(msgpack_uint_bytes(65536) == 5);
  CHECK(msgpack_uint_bytes(uint64_t{1} << 32) == 9);
  CHECK(msgpack_str_bytes(31) == 32);
  CHECK(msgpack_str_bytes(32) == 35);
  // Join {LTime: 5, Node: 12-byte name}: type 1 + map 1 + "LTime" 6 + 1 +
  // "Node" 5 + 13 = 27.
  CHECK(make_join(5, 1)->bytes == 27);
  CHECK(make_join(5, 1)->kind == kMsgJoin);
  // Leave adds "Prune" 6 + bool 1.
  CHECK(make_leave(5, 1, false)->bytes == 34);
  CHECK(make_leave(5, 1, false)->kind == kMsgLeave);
  // User event {LTime, Name (8), Payload (10), CC}: 1 + 1 + 7 + 5+9 + 8+11 + 3+1.
  CHECK(make_user_event(5, ev(1, 1), false)->bytes == 46);
  // Ping payload: version + {Vec: 8 float64, Error, Adjustment, Height}.
  CHECK(coordinate_payload_bytes(8) == 130);
  // An empty push/pull of one member with a 512-slot empty buffer.
  PushPullMsg pp;
  pp.ltime = 2;
  pp.status_ltimes = {MemberLTime{0, 1}};
  pp.event_ltime = 1;
  pp.event_buffer_len = 512;
  pp.query_ltime = 1;
  // type 1 + map 1 + LTime (6+1) + StatusLTimes (13 + 1 + 13+1) +
  // LeftMembers (12 + 1) + EventLTime (11+1) + Events (7 + 3 + 512 nils) +
  // QueryLTime (11+1)
  CHECK(push_pull_bytes(pp) == 596);
}

TEST_CASE("serf size checks: configured limit and the 9 KB cap, before and after encoding", "[serf]") {
  Config c = Config::consul_lan();
  CHECK(check_user_event_size(c, 1, UserEvent{1, 19, 400, 0, nullptr}).empty());
  CHECK(check_user_event_size(c, 1, UserEvent{1, 19, 494, 0, nullptr}) ==
        "user event exceeds configured limit of 512 bytes before encoding");
  // Within 512 raw, over it once encoded.
  CHECK(check_user_event_size(c, 1, UserEvent{1, 19, 480, 0, nullptr}) ==
        "encoded user event exceeds configured limit of 512 bytes after encoding");
  c.user_event_size_limit = kUserEventSizeHardLimit;
  CHECK(check_user_event_size(c, 1, UserEvent{1, 19, 9300, 0, nullptr}) ==
        "user event exceeds configured limit of 9216 bytes before encoding");
}

TEST_CASE("serf config: serf defaults, Consul's overrides, validation names the field", "[serf]") {
  const Config d = Config::serf_default();
  CHECK(d.broadcast_timeout == 5 * kSecond);
  CHECK(d.leave_propagate_delay == 1 * kSecond);
  CHECK(d.event_buffer == 512);
  CHECK(d.reap_interval == 15 * kSecond);
  CHECK(d.reconnect_interval == 30 * kSecond);
  CHECK(d.reconnect_timeout == 24 * 3600 * kSecond);
  CHECK(d.tombstone_timeout == 24 * 3600 * kSecond);
  CHECK(d.recent_intent_timeout == 300 * kSecond);
  CHECK(d.queue_depth_warning == 128);
  CHECK(d.max_queue_depth == 4096);
  CHECK(d.min_queue_depth == 0);
  CHECK(d.enable_name_conflict_resolution);
  CHECK(d.user_event_size_limit == 512);
  CHECK(d.memberlist == core::memberlist::Config::lan());
  CHECK(d.validate().empty());

  const Config lan = Config::consul_lan();
  CHECK(lan.leave_propagate_delay == 3 * kSecond);
  CHECK(lan.reconnect_timeout == 72 * 3600 * kSecond);
  CHECK(lan.min_queue_depth == 4096);
  CHECK(lan.queue_depth_warning == 1000000);
  CHECK_FALSE(lan.enable_name_conflict_resolution);
  CHECK(lan.snapshot);
  CHECK_FALSE(lan.rejoin_after_leave);
  CHECK(lan.memberlist == core::memberlist::Config::consul_lan());
  CHECK(lan.validate().empty());
  CHECK(Config::consul_wan().memberlist == core::memberlist::Config::consul_wan());
  CHECK(Config::consul_wan().validate().empty());

  // Queue depth: max(4096, 2 x members) with MinQueueDepth, else MaxQueueDepth.
  CHECK(lan.queue_max(100) == 4096);
  CHECK(lan.queue_max(3000) == 6000);
  CHECK(d.queue_max(3000) == 4096);

  Config bad = lan;
  bad.user_event_size_limit = 10000;
  CHECK(bad.validate().find("user_event_size_limit") != std::string::npos);
  bad = lan;
  bad.coalesce_period = kSecond;
  CHECK(bad.validate().find("coalesce_period") != std::string::npos);
  bad = lan;
  bad.tags_bytes = 600;
  CHECK(bad.validate().find("tags_bytes") != std::string::npos);
  bad = lan;
  bad.memberlist.probe_interval = 0;
  CHECK(bad.validate().rfind("memberlist.", 0) == 0);
  bad = lan;
  bad.protocol_version = 6;
  CHECK(bad.validate().find("protocol_version") != std::string::npos);
}

// ================================================================ one Serf, driven by hand

TEST_CASE_METHOD(OneSerf, "serf members: memberlist join / leave events and the failed list", "[serf]") {
  CHECK(serf.state() == SerfState::kAlive);
  CHECK(serf.status(0) == MemberStatus::kAlive);
  CHECK(serf.num_members() == 1);
  CHECK(serf.member_clock() == 1);
  CHECK(serf.event_clock() == 1);
  CHECK(serf.query_clock() == 1);

  serf.notify_join(env, 3);
  CHECK(serf.status(3) == MemberStatus::kAlive);
  CHECK(serf.status_ltime(3) == 0);
  CHECK(serf.num_members() == 2);
  REQUIRE(env.last(kRecordMember) != nullptr);
  CHECK(env.last(kRecordMember)->a == 3);

  // memberlist says dead: alive -> failed, onto the failed list.
  s.now = 10 * kSecond;
  serf.notify_leave(env, 3, false);
  CHECK(serf.status(3) == MemberStatus::kFailed);
  REQUIRE(serf.failed_members().size() == 1);
  CHECK(serf.failed_members()[0].node == 3);
  CHECK(serf.leave_time(3) == 10 * kSecond);
  // A second leave event changes nothing.
  serf.notify_leave(env, 3, false);
  CHECK(serf.failed_members().size() == 1);
  // Back within FlapTimeout: alive again, a flap, off the failed list.
  s.now = 20 * kSecond;
  serf.notify_join(env, 3);
  CHECK(serf.status(3) == MemberStatus::kAlive);
  CHECK(serf.failed_members().empty());
  CHECK(serf.stats().flaps == 1);
  // A leave event about a node serf never heard of is ignored.
  serf.notify_leave(env, 5, true);
  CHECK(serf.status(5) == MemberStatus::kNone);
  // Updates of known members only.
  serf.notify_update(env, 3);
  serf.notify_update(env, 6);
  CHECK(env.count(kRecordMemberUpdate) == 1);
}

TEST_CASE_METHOD(OneSerf, "serf intents: leave -> leaving -> left, newer join refutes leaving, old ones ignored", "[serf]") {
  serf.notify_join(env, 2);

  CHECK(serf.handle_leave_intent(env, 5, 2, false));
  CHECK(serf.status(2) == MemberStatus::kLeaving);
  CHECK(serf.status_ltime(2) == 5);
  CHECK(serf.member_clock() == 6);  // witnessed
  // The same intent again: not newer, not rebroadcast.
  CHECK_FALSE(serf.handle_leave_intent(env, 5, 2, false));
  // A newer join intent: back to alive.
  CHECK(serf.handle_join_intent(env, 7, 2));
  CHECK(serf.status(2) == MemberStatus::kAlive);
  CHECK(serf.status_ltime(2) == 7);
  CHECK_FALSE(serf.handle_join_intent(env, 7, 2));
  CHECK_FALSE(serf.handle_leave_intent(env, 6, 2, false));  // older than the join
  CHECK(serf.status(2) == MemberStatus::kAlive);
  // Leave, then memberlist's leave event: left, onto the left list.
  CHECK(serf.handle_leave_intent(env, 9, 2, false));
  serf.notify_leave(env, 2, true);
  CHECK(serf.status(2) == MemberStatus::kLeft);
  CHECK(serf.left_members().size() == 1);
  // A leave intent about a left member updates its time only.
  CHECK(serf.handle_leave_intent(env, 12, 2, false));
  CHECK(serf.status(2) == MemberStatus::kLeft);
  CHECK(serf.status_ltime(2) == 12);
  // A join intent about a left member changes its time, not its status.
  CHECK(serf.handle_join_intent(env, 13, 2));
  CHECK(serf.status(2) == MemberStatus::kLeft);
}

TEST_CASE_METHOD(OneSerf, "serf intents: buffered for unknown nodes, applied when memberlist reports the join", "[serf]") {
  CHECK(serf.handle_join_intent(env, 4, 5));
  CHECK_FALSE(serf.handle_join_intent(env, 3, 5));  // older: not stored, not rebroadcast
  CHECK(serf.intents().size() == 1);
  serf.notify_join(env, 5);
  CHECK(serf.status(5) == MemberStatus::kAlive);
  CHECK(serf.status_ltime(5) == 4);

  CHECK(serf.handle_leave_intent(env, 8, 6, false));
  serf.notify_join(env, 6);
  CHECK(serf.status(6) == MemberStatus::kLeaving);
  CHECK(serf.status_ltime(6) == 8);

  // Expired by the reaper after RecentIntentTimeout.
  CHECK(serf.intents().size() == 2);
  s.now = serf.config().recent_intent_timeout + 1;
  serf.reap(env);
  CHECK(serf.intents().size() == 0);
}

TEST_CASE_METHOD(OneSerf, "serf intents: an old leave intent about ourselves is refuted with a join intent", "[serf]") {
  serf.notify_join(env, 1);
  const size_t queued = serf.intent_queue_depth();
  CHECK_FALSE(serf.handle_leave_intent(env, 5, 0, false));
  CHECK(serf.status(0) == MemberStatus::kAlive);
  CHECK(serf.stats().refutes == 1);
  CHECK(serf.intent_queue_depth() == queued + 1);
  // The refuting join carries the clock after witnessing 5: 6, and our
  // status time moved to it.
  CHECK(serf.status_ltime(0) == 6);
  CHECK(serf.member_clock() == 7);
}

TEST_CASE_METHOD(OneSerf, "serf force leave: failed -> left keeps its failure time; prune erases at once", "[serf]") {
  serf.notify_join(env, 1);
  serf.notify_join(env, 2);
  s.now = 5 * kSecond;
  serf.notify_leave(env, 1, false);
  serf.notify_leave(env, 2, false);
  CHECK(serf.count(MemberStatus::kFailed) == 2);

  s.now = 6 * kSecond;
  CHECK(serf.force_leave(env, 1).empty());
  CHECK(serf.status(1) == MemberStatus::kLeft);
  CHECK(serf.leave_time(1) == 5 * kSecond);
  CHECK(serf.failed_members().size() == 1);
  CHECK(serf.left_members().size() == 1);
  // Nobody else alive: done at once.
  REQUIRE(env.last(kRecordForceLeaveDone) != nullptr);
  CHECK(env.last(kRecordForceLeaveDone)->a == 1);

  CHECK(serf.force_leave(env, 2, /*prune=*/true).empty());
  CHECK(serf.status(2) == MemberStatus::kNone);
  CHECK(serf.num_members() == 2);
  REQUIRE(env.last(kRecordReap) != nullptr);
  CHECK(env.last(kRecordReap)->a == 2);
  CHECK(env.last(kRecordReap)->c == 1);  // forced
}

TEST_CASE_METHOD(OneSerf, "serf prune of a leaving member waits BroadcastTimeout + LeavePropagateDelay", "[serf]") {
  serf.notify_join(env, 1);
  CHECK(serf.handle_leave_intent(env, 5, 1, /*prune=*/true));
  CHECK(serf.status(1) == MemberStatus::kLeaving);
  run_serf_timers(s, env, serf, 7 * kSecond);
  CHECK(serf.status(1) == MemberStatus::kLeaving);
  run_serf_timers(s, env, serf, 8 * kSecond);  // 5 s + 3 s
  CHECK(serf.status(1) == MemberStatus::kNone);
  CHECK(serf.stats().prunes == 1);
}

TEST_CASE("serf reaper: failed after ReconnectTimeout, left after TombstoneTimeout, not a tick before", "[serf]") {
  Sched s;
  FakeEnv env(0, &s);
  Config c = test_config();
  c.reconnect_timeout = 60 * kSecond;
  c.tombstone_timeout = 120 * kSecond;
  Serf serf(0, 8, c);
  serf.start(env, {});
  for (NodeId n : {1u, 2u, 3u}) serf.notify_join(env, n);
  serf.notify_leave(env, 1, false);  // failed at 0
  serf.handle_leave_intent(env, 3, 2, false);
  serf.notify_leave(env, 2, true);  // left at 0

  s.now = 60 * kSecond;  // exactly the timeout: kept (serf reaps when older)
  serf.reap(env);
  CHECK(serf.status(1) == MemberStatus::kFailed);
  s.now = 60 * kSecond + 1;
  serf.reap(env);
  CHECK(serf.status(1) == MemberStatus::kNone);
  CHECK(serf.status(2) == MemberStatus::kLeft);
  REQUIRE(env.last(kRecordReap) != nullptr);
  CHECK(env.last(kRecordReap)->a == 1);
  CHECK(env.last(kRecordReap)->b == static_cast<uint64_t>(MemberStatus::kFailed));
  CHECK(env.last(kRecordReap)->c == 0);
  s.now = 120 * kSecond + 1;
  serf.reap(env);
  CHECK(serf.status(2) == MemberStatus::kNone);
  CHECK(serf.status(3) == MemberStatus::kAlive);
  CHECK(serf.stats().reaps == 2);

  // The reap timer runs every ReapInterval (15 s) from start.
  Sched s2;
  FakeEnv env2(0, &s2);
  Serf serf2(0, 8, c);
  serf2.start(env2, {});
  serf2.notify_join(env2, 1);
  serf2.notify_leave(env2, 1, false);
  run_serf_timers(s2, env2, serf2, 60 * kSecond);  // ticks at 15, 30, 45, 60: not yet
  CHECK(serf2.status(1) == MemberStatus::kFailed);
  run_serf_timers(s2, env2, serf2, 75 * kSecond);
  CHECK(serf2.status(1) == MemberStatus::kNone);
}

TEST_CASE("serf reconnect: throttled by failed / alive, a memberlist join to a failed member", "[serf]") {
  Sched s;
  FakeEnv env(0, &s, 77);
  Serf serf(0, 16, test_config());
  serf.start(env, {});
  for (NodeId n = 1; n < 10; ++n) serf.notify_join(env, n);
  CHECK_FALSE(serf.reconnect(env));  // nobody failed: no draw, no attempt
  CHECK(serf.stats().reconnects_throttled == 0);
  serf.notify_leave(env, 4, false);
  // 10 members, 1 failed: p = 1/9.
  const int trials = 9000;
  for (int i = 0; i < trials; ++i) serf.reconnect(env);
  const double rate = static_cast<double>(serf.stats().reconnect_attempts) / trials;
  CHECK(rate == Approx(1.0 / 9).margin(0.02));
  // The join went to the failed member as a memberlist push/pull (join=true).
  bool joined = false;
  for (const auto& m : env.sent)
    if (m.to == 4 && m.type == core::memberlist::kPushPull) joined = true;
  CHECK(joined);
}

TEST_CASE_METHOD(OneSerf, "serf user events: delivered locally, gossiped, duplicates and old ones dropped", "[serf]") {
  CHECK(serf.user_event(env, 7, 100, 0xFEED, false).empty());
  CHECK(serf.event_clock() == 2);
  CHECK(serf.stats().user_events_delivered == 1);
  CHECK(serf.event_queue_depth() == 1);
  REQUIRE(env.last(kRecordUserEvent) != nullptr);
  CHECK(env.last(kRecordUserEvent)->a == 1);
  CHECK(env.last(kRecordUserEvent)->b == 7);
  CHECK(env.last(kRecordUserEvent)->c == 0xFEED);
  CHECK(env.count(kRecordUserEventSent) == 1);

  // The same event coming back by gossip: a duplicate, not rebroadcast.
  auto back = make_user_event(1, UserEvent{7, kConsulEventNameBytes, 100, 0xFEED, nullptr}, false);
  serf.notify_msg(env, *back);
  CHECK(serf.stats().user_events_duplicate == 1);
  CHECK(serf.event_queue_depth() == 1);
  // A new one from elsewhere: delivered and re-queued (the same object).
  auto other = make_user_event(5, ev(9, 1), false);
  serf.notify_msg(env, *other);
  CHECK(serf.stats().user_events_delivered == 2);
  CHECK(serf.event_queue_depth() == 2);
  CHECK(serf.event_clock() == 6);
  // Push the clock far ahead; an event from long ago is too old.
  serf.handle_user_event(env, 2000, ev(9, 2), false);
  CHECK_FALSE(serf.handle_user_event(env, 1000, ev(9, 3), false));
  CHECK(serf.stats().user_events_too_old == 1);
  // Too large.
  CHECK_FALSE(serf.user_event(env, 1, 600, 0, false).empty());
}

TEST_CASE_METHOD(OneSerf, "serf broadcasts: intents before events, within the budget, retired after the limit", "[serf]") {
  serf.notify_join(env, 1);
  serf.notify_join(env, 2);
  serf.user_event(env, 1, 10, 1, false);
  serf.handle_leave_intent(env, 9, 1, false);  // handled, not queued by this call
  serf.force_leave(env, 1);                    // queues a leave intent (node 2 is alive)
  auto out = serf.get_broadcasts(env, 3, 1000);
  REQUIRE(out.size() == 2);
  CHECK(out[0]->user->kind == kMsgLeave);
  CHECK(out[1]->user->kind == kMsgUserEvent);
  CHECK(out[0]->type == core::memberlist::ItemType::kUser);
  CHECK(out[0]->bytes == out[0]->user->bytes);
  // A budget that fits only the intent.
  out = serf.get_broadcasts(env, 3, out[0]->bytes + 3);
  REQUIRE(out.size() == 1);
  CHECK(out[0]->user->kind == kMsgLeave);
  // Retransmit limit for 3 members: 4 x ceil(log10(4)) = 4 sends each.
  for (int i = 0; i < 10; ++i) serf.get_broadcasts(env, 3, 1000);
  CHECK(serf.intent_queue_depth() == 0);
  CHECK(serf.event_queue_depth() == 0);
  // The force-leave's intent retired: its completion is recorded.
  REQUIRE(env.last(kRecordForceLeaveDone) != nullptr);
  CHECK(env.last(kRecordForceLeaveDone)->b == 0);
}

TEST_CASE("serf queue depth: pruned to max(MinQueueDepth, 2 x members) every QueueCheckInterval", "[serf]") {
  Sched s;
  FakeEnv env(0, &s);
  Config c = test_config();
  c.min_queue_depth = 16;
  Serf serf(0, 8, c);
  serf.start(env, {});
  for (uint32_t i = 0; i < 40; ++i) serf.user_event(env, i, 10, i, false);
  CHECK(serf.event_queue_depth() == 40);
  run_serf_timers(s, env, serf, 30 * kSecond);
  CHECK(serf.event_queue_depth() == 16);
  CHECK(serf.stats().queue_dropped == 24);
  REQUIRE(env.last(kRecordQueuePrune) != nullptr);
  CHECK(env.last(kRecordQueuePrune)->a == kQueueEvents);
  CHECK(env.last(kRecordQueuePrune)->b == 40);
  CHECK(env.last(kRecordQueuePrune)->c == 16);
}

TEST_CASE_METHOD(OneSerf, "serf push/pull: local state, and merge as intents, clocks minus one, events", "[serf]") {
  serf.notify_join(env, 1);
  serf.notify_join(env, 2);
  serf.handle_leave_intent(env, 4, 2, false);
  serf.notify_leave(env, 2, true);
  serf.user_event(env, 3, 10, 33, false);

  auto local = serf.local_state(env, false);
  REQUIRE(local != nullptr);
  REQUIRE(local->kind == kMsgPushPull);
  const auto& mine = static_cast<const PushPullMsg&>(*local);
  CHECK(mine.status_ltimes.size() == 3);
  CHECK(mine.left_members == std::vector<NodeId>{2});
  CHECK(mine.events.size() == 1);
  CHECK(mine.event_buffer_len == 512);
  CHECK(mine.bytes == push_pull_bytes(mine));

  // A remote state: node 3 alive at 10, node 1 left at 6 (-> leave at 7),
  // node 4 unknown (buffered), clocks ahead, one event.
  PushPullMsg pp;
  pp.ltime = 50;
  pp.status_ltimes = {{0, 0}, {1, 6}, {3, 10}, {4, 11}};
  pp.left_members = {1};
  pp.event_ltime = 20;
  pp.events = {EventSlot{15, {ev(8, 88)}}};
  pp.event_buffer_len = 512;
  pp.query_ltime = 30;
  auto remote = make_push_pull(std::move(pp));
  serf.notify_join(env, 3);
  serf.merge_remote_state(env, *remote, false);
  CHECK(serf.member_clock() == 50);
  CHECK(serf.event_clock() == 20);
  CHECK(serf.query_clock() == 30);
  CHECK(serf.status(1) == MemberStatus::kLeaving);
  CHECK(serf.status_ltime(1) == 7);
  CHECK(serf.status(3) == MemberStatus::kAlive);
  CHECK(serf.status_ltime(3) == 10);
  CHECK(serf.intents().recent(4, IntentType::kJoin) == 11u);
  CHECK(serf.stats().user_events_delivered == 2);
  CHECK(serf.event_queue_depth() == 1);  // merged events are not rebroadcast
  CHECK(serf.intent_queue_depth() == 0);
}

TEST_CASE_METHOD(OneSerf, "serf join with ignore_old: remote events before the join are not delivered", "[serf]") {
  CHECK(serf.join(env, {1}, /*ignore_old=*/true).empty());
  PushPullMsg pp;
  pp.ltime = 5;
  pp.status_ltimes = {{1, 2}};
  pp.event_ltime = 9;
  pp.events = {EventSlot{8, {ev(1, 1)}}};
  pp.event_buffer_len = 512;
  pp.query_ltime = 1;
  auto remote = make_push_pull(std::move(pp));
  serf.notify_join(env, 1);  // memberlist merges its node list first
  serf.merge_remote_state(env, *remote, /*join=*/true);
  CHECK(serf.event_min_time() == 9);
  CHECK(serf.stats().user_events_delivered == 0);
  CHECK(serf.stats().user_events_before_min_time == 1);
  // The join finishes: a join intent at the member clock is broadcast.
  serf.join_done(env, 1, 1);
  REQUIRE(env.last(kRecordJoinDone) != nullptr);
  CHECK(env.last(kRecordJoinDone)->a == 1);
  CHECK(serf.intent_queue_depth() == 1);
  CHECK(serf.status_ltime(0) == 5);
  CHECK(serf.stats().join_intents_sent == 1);
  // Without ignore_old the same push/pull delivers.
  Sched s2;
  FakeEnv env2(0, &s2);
  Serf serf2(0, 8, test_config());
  serf2.start(env2, {});
  serf2.join(env2, {1}, false);
  serf2.merge_remote_state(env2, *remote, true);
  CHECK(serf2.stats().user_events_delivered == 1);
  // Joining is refused once leaving.
  serf2.join_done(env2, 1, 0);
  serf2.leave(env2);
  CHECK(serf2.join(env2, {1}, true) == "Serf can't Join after Leave or Shutdown");
}

TEST_CASE_METHOD(OneSerf, "serf leave: alone, goes through memberlist and LeavePropagateDelay to left", "[serf]") {
  CHECK(serf.leave(env).empty());
  CHECK(serf.state() == SerfState::kLeaving);
  CHECK(serf.leave(env) == "Leave already in progress");
  CHECK(serf.status(0) == MemberStatus::kLeft);
  CHECK(serf.intent_queue_depth() == 0);  // nobody to tell
  run_serf_timers(s, env, serf, 2 * kSecond);
  CHECK(serf.state() == SerfState::kLeaving);
  run_serf_timers(s, env, serf, 3 * kSecond);
  CHECK(serf.state() == SerfState::kLeft);
  REQUIRE(env.last(kRecordLeaveDone) != nullptr);
  CHECK(env.last(kRecordLeaveDone)->a == kLeaveDone);
  CHECK(serf.leave(env).empty());  // already left
}

TEST_CASE("serf leave: the intent not retiring within BroadcastTimeout ends the leave", "[serf]") {
  Sched s;
  FakeEnv env(0, &s);
  Serf serf(0, 8, test_config());
  serf.start(env, {1});
  CHECK(serf.status(1) == MemberStatus::kAlive);
  CHECK(env.count(kRecordMember) == 1);  // ourselves only: known members are quiet
  serf.leave(env);
  CHECK(serf.intent_queue_depth() == 1);
  run_serf_timers(s, env, serf, 5 * kSecond);
  REQUIRE(env.last(kRecordLeaveDone) != nullptr);
  CHECK(env.last(kRecordLeaveDone)->a == kLeaveIntentTimeout);
  CHECK(serf.state() == SerfState::kLeaving);
}

TEST_CASE("serf snapshotter: lines to storage on the tick, replay, leave forgets, compaction", "[serf]") {
  Sched s;
  FakeEnv env(0, &s);
  Snapshotter snap("serf-lan/", 64, false);
  snap.open(env.storage());
  snap.member_alive(env, 3, 1);
  snap.member_alive(env, 5, 4);
  snap.member_gone(env, 3, 4);
  snap.user_event(env, 7);
  CHECK(env.storage().view().empty());  // buffered until the tick
  snap.tick(env, 9);
  CHECK_FALSE(env.storage().view().empty());
  CHECK(env.syncs == 0);

  Snapshotter again("serf-lan/", 64, false);
  again.open(env.storage());
  CHECK(again.alive_nodes() == std::vector<NodeId>{5});
  CHECK(again.last_clock() == 8);
  CHECK(again.last_event_clock() == 7);

  // Another prefix is another snapshot.
  Snapshotter wan("serf-wan/", 64, false);
  wan.open(env.storage());
  CHECK(wan.alive_nodes().empty());

  // Leave: forgets members and clocks on replay, and syncs.
  again.leave(env);
  CHECK(env.syncs == 1);
  Snapshotter after("serf-lan/", 64, false);
  after.open(env.storage());
  CHECK(after.alive_nodes().empty());
  CHECK(after.last_clock() == 0);
  Snapshotter keep("serf-lan/", 64, /*rejoin_after_leave=*/true);
  keep.open(env.storage());
  CHECK(keep.alive_nodes() == std::vector<NodeId>{5});

  // Compaction once the file outgrows 128 KB: the log folds into the base.
  Sched s2;
  FakeEnv env2(0, &s2);
  Snapshotter big("serf-lan/", 64, false);
  big.open(env2.storage());
  for (int i = 0; i < 4000; ++i) {
    big.member_alive(env2, static_cast<NodeId>(i % 64), 0);
    big.member_gone(env2, static_cast<NodeId>((i + 32) % 64), 0);
  }
  big.tick(env2, 0);
  CHECK(big.compactions() >= 1);
  CHECK(env2.syncs >= 1);
  CHECK(big.offset_bytes() < Snapshotter::kMinCompactSize);
  Snapshotter replay("serf-lan/", 64, false);
  replay.open(env2.storage());
  CHECK(replay.alive_nodes() == big.alive_nodes());
}

TEST_CASE("serf restart: clocks restored from the snapshot, previous members rejoined", "[serf]") {
  Sched s;
  FakeEnv env(0, &s, 5);
  Config c = Config::consul_lan();  // snapshot on
  {
    Serf serf(0, 8, c);
    serf.start(env, {});
    serf.notify_join(env, 2);
    serf.notify_join(env, 3);
    serf.handle_join_intent(env, 40, 3);
    serf.handle_user_event(env, 12, ev(1, 1), false);
    run_serf_timers(s, env, serf, 1 * kSecond);  // the snapshot ticks
  }
  // A new process on the same storage; the old one's timers died with it.
  s.queue.clear();
  s.timers.clear();
  env.sent.clear();
  Serf serf(0, 8, c);
  serf.start(env, {});
  CHECK(serf.member_clock() == 41);  // the snapshot kept 40 (clock - 1); witness -> 41
  CHECK(serf.event_clock() == 13);
  CHECK(serf.event_min_time() == 13);
  CHECK(serf.rejoin_candidates().size() == 2);
  // One rejoin at a time: a memberlist join push/pull to one of them.
  size_t pushes = 0;
  for (const auto& m : env.sent)
    if (m.type == core::memberlist::kPushPull) {
      ++pushes;
      CHECK((m.to == 2 || m.to == 3));
    }
  CHECK(pushes == 1);
  // It fails (no answer within TCPTimeout): the other is tried next.
  run_until(s, s.now + 10 * kSecond + 1, [&](const Sched::Event& e) {
    if (e.timer) serf.on_timer(env, e.what);
  });
  pushes = 0;
  for (const auto& m : env.sent)
    if (m.type == core::memberlist::kPushPull) ++pushes;
  CHECK(pushes == 2);
  // An old event replayed is below the minimum time.
  CHECK_FALSE(serf.handle_user_event(env, 12, ev(1, 1), false));
  CHECK(serf.stats().user_events_before_min_time == 1);
}

TEST_CASE_METHOD(OneSerf, "serf coordinates: ack payload is our coordinate; a ping updates the client and the cache", "[serf]") {
  auto payload = serf.ack_payload(env);
  REQUIRE(payload != nullptr);
  CHECK(payload->kind == kMsgCoordinate);
  CHECK(payload->bytes == 130);
  CHECK(serf.ack_payload(env) == payload);  // shared until the coordinate moves

  core::coordinate::Coordinate theirs(serf.config().coordinate);
  theirs.vec()[0] = 0.01;
  auto p = make_coordinate_payload(theirs);
  serf.notify_ping_complete(env, 3, 20 * kMillisecond, p.get());
  CHECK(serf.stats().coordinate_updates == 1);
  REQUIRE(serf.cached_coordinate(3).has_value());
  CHECK(*serf.cached_coordinate(3) == theirs);
  REQUIRE(serf.cached_coordinate(0).has_value());
  CHECK(*serf.cached_coordinate(0) == serf.coordinate_client()->coordinate());
  CHECK(serf.ack_payload(env) != payload);
  // An RTT out of range is refused.
  serf.notify_ping_complete(env, 3, 11 * kSecond, p.get());
  CHECK(serf.stats().coordinate_rejections == 1);
  // Reaping a member forgets its coordinate.
  serf.notify_join(env, 3);
  serf.notify_leave(env, 3, false);
  s.now = serf.config().reconnect_timeout + 1;
  serf.reap(env);
  CHECK_FALSE(serf.cached_coordinate(3).has_value());

  Config off = test_config();
  off.disable_coordinates = true;
  Serf plain(1, 8, off);
  plain.start(env, {});
  CHECK(plain.ack_payload(env) == nullptr);
  CHECK(plain.coordinate_client() == nullptr);
  plain.notify_ping_complete(env, 3, 20 * kMillisecond, p.get());
  CHECK_FALSE(plain.cached_coordinate(3).has_value());
}

TEST_CASE("serf coordinates: what a client and cache cost per measured peer", "[serf]") {
  Sched s;
  FakeEnv env(0, &s);
  Serf serf(0, 1001, test_config());
  serf.start(env, {});
  const size_t before = serf.memory_bytes();
  core::coordinate::Coordinate theirs(serf.config().coordinate);
  auto p = make_coordinate_payload(theirs);
  for (NodeId n = 1; n <= 1000; ++n) serf.notify_ping_complete(env, n, 5 * kMillisecond, p.get());
  const double per_peer = static_cast<double>(serf.memory_bytes() - before) / 1000.0;
  // Latency filter (~29 B) + cache entry (~104 B), vector slack included.
  CHECK(per_peer < 400);
  CHECK(per_peer > 100);
}

// ================================================================ a tiny cluster

TEST_CASE("serf cluster: a user event reaches every member once", "[serf]") {
  Cluster c(5);
  c.run(1 * kSecond);
  REQUIRE(c.serfs[2]->user_event(*c.envs[2], 4, 40, 0xC0FFEE, false).empty());
  c.run(5 * kSecond);
  for (NodeId i = 0; i < 5; ++i) {
    INFO("node " << i);
    CHECK(c.serfs[i]->stats().user_events_delivered == 1);
    CHECK(c.envs[i]->count(kRecordUserEvent) == 1);
    CHECK(c.serfs[i]->event_queue_depth() == 0);
  }
}

TEST_CASE("serf cluster: join from scratch, then a graceful leave seen as left by all", "[serf]") {
  Cluster c(4, test_config(), /*preformed=*/false);
  for (NodeId i = 1; i < 4; ++i) REQUIRE(c.serfs[i]->join(*c.envs[i], {0}, true).empty());
  c.run(10 * kSecond);
  for (NodeId i = 0; i < 4; ++i) {
    INFO("viewer " << i);
    CHECK(c.serfs[i]->num_members() == 4);
    CHECK(c.serfs[i]->count(MemberStatus::kAlive) == 4);
    // Every member's join intent arrived: status times > 0 except where
    // only the bootstrap saw it.
    CHECK(c.serfs[i]->status_ltime(1) > 0);
  }
  REQUIRE(c.serfs[3]->leave(*c.envs[3]).empty());
  c.run(15 * kSecond);
  CHECK(c.serfs[3]->state() == SerfState::kLeft);
  REQUIRE(c.envs[3]->last(kRecordLeaveDone) != nullptr);
  CHECK(c.envs[3]->last(kRecordLeaveDone)->a == kLeaveDone);
  for (NodeId i = 0; i < 3; ++i) {
    INFO("viewer " << i);
    CHECK(c.serfs[i]->status(3) == MemberStatus::kLeft);
  }
}

TEST_CASE("serf cluster: a crashed member becomes failed everywhere, force-leave makes it left", "[serf]") {
  Cluster c(5);
  c.run(1 * kSecond);
  c.crash(4);
  c.run(60 * kSecond);
  CHECK(c.count_status(4, MemberStatus::kFailed) == 4);
  REQUIRE(c.serfs[0]->force_leave(*c.envs[0], 4).empty());
  c.run(10 * kSecond);
  CHECK(c.count_status(4, MemberStatus::kLeft) == 4);
  REQUIRE(c.envs[0]->last(kRecordForceLeaveDone) != nullptr);
  CHECK(c.envs[0]->last(kRecordForceLeaveDone)->a == 4);
  for (NodeId i = 0; i < 4; ++i) CHECK(c.serfs[i]->failed_members().empty());
}

TEST_CASE("serf cluster: a restarted member rejoins from its snapshot and is alive again everywhere", "[serf]") {
  Config config = Config::consul_lan();  // snapshot on
  Cluster c(4, config);
  c.run(1 * kSecond);
  c.crash(3);
  c.run(40 * kSecond);
  CHECK(c.count_status(3, MemberStatus::kFailed) == 3);
  c.restart(3, config);
  CHECK(c.serfs[3]->rejoin_candidates().size() == 3);
  c.run(10 * kSecond);
  REQUIRE(c.envs[3]->last(kRecordRejoin) != nullptr);
  CHECK(c.envs[3]->last(kRecordRejoin)->a != core::kNoNode);
  CHECK(c.count_status(3, MemberStatus::kAlive) == 4);
  CHECK(c.serfs[3]->count(MemberStatus::kAlive) == 4);
  for (NodeId i = 0; i < 3; ++i) CHECK(c.serfs[i]->failed_members().empty());
}

TEST_CASE("serf cluster: runs are deterministic", "[serf]") {
  auto fingerprint = [] {
    Cluster c(6);
    c.serfs[1]->user_event(*c.envs[1], 1, 10, 1, false);
    c.run(2 * kSecond);
    c.crash(5);
    c.run(40 * kSecond);
    uint64_t h = 1469598103934665603ull;
    for (const auto& e : c.envs)
      for (const auto& r : e->records) {
        for (uint64_t v : {uint64_t{static_cast<uint16_t>(r.kind)}, r.a, r.b, r.c}) h = (h ^ v) * 1099511628211ull;
      }
    return h;
  };
  CHECK(fingerprint() == fingerprint());
}

TEST_CASE("serf gossip node: bootstrap on first boot, join targets, restart rejoins from the snapshot", "[serf]") {
  Sched s;
  FakeEnv env(3, &s);
  auto known = std::make_shared<const std::vector<NodeId>>(std::vector<NodeId>{0, 1, 2, 3});
  {
    GossipNode node(3, 8, Config::consul_lan(), known, {0});
    node.start(env);
    CHECK_FALSE(node.restarted());
    CHECK(node.serf().num_members() == 4);
    bool joined = false;
    for (const auto& m : env.sent)
      if (m.to == 0 && m.type == core::memberlist::kPushPull) joined = true;
    CHECK(joined);
    run_until(s, s.now + 1 * kSecond, [&](const Sched::Event& e) {
      if (e.timer) node.on_timer(env, e.what);
    });
  }
  s.queue.clear();
  s.timers.clear();
  env.sent.clear();
  GossipNode again(3, 8, Config::consul_lan(), known, {0});
  again.start(env);
  CHECK(again.restarted());
  CHECK(again.serf().num_members() == 1);  // not bootstrapped again
  CHECK(again.serf().rejoin_candidates().size() == 3);
}

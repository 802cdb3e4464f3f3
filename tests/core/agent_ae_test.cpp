// Unit tests of Consul v1.9.0's anti-entropy pieces (core/agent): the scale
// factor and staggers (ae.go, lib/cluster.go; reference gossip_ae.md F), the
// local state's flags, output deferral and sync plans (agent/local/state.go),
// and the StateSyncer's state machine (ae.go) over a hand-driven FakeEnv.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/agent/ae_scale.hpp"
#include "core/agent/local_state.hpp"
#include "core/agent/state_syncer.hpp"
#include "core/check.hpp"

using core::Duration;
using core::kSecond;
using core::Time;
using namespace core::agent;

namespace {

// A settable clock, timers fired by hand in (time, arming order), one Rng.
class FakeEnv final : public core::Env {
 public:
  struct Arm {
    Time at;         // when it was armed
    Duration delay;
    uint64_t what;
  };

  explicit FakeEnv(uint64_t seed = 1) : rng_(seed) {}

  core::NodeId self() const override { return 0; }
  Time now() const override { return now_; }
  void send(core::Message&&) override { CORE_CHECK(false, "FakeEnv: nothing here sends"); }
  core::TimerId set_timer(Duration delay, uint64_t what) override {
    CORE_CHECK(delay >= 0, "FakeEnv: a delay is not negative");
    const core::TimerId id = ++next_id_;
    const Key k{now_ + delay, ++seq_};
    queue_[k] = {id, what};
    ids_[id] = k;
    arms.push_back({now_, delay, what});
    return id;
  }
  void cancel_timer(core::TimerId id) override {
    auto it = ids_.find(id);
    if (it == ids_.end()) return;
    queue_.erase(it->second);
    ids_.erase(it);
  }
  core::Rng& rng() override { return rng_; }
  core::Storage& storage() override { return storage_; }
  void sync() override {}
  void record(const core::Record&) override {}
  core::Port port() const override { return core::Port::kHost; }
  core::Env& on_port(core::Port) override { return *this; }

  size_t armed() const { return queue_.size(); }
  Time next_due() const { return queue_.empty() ? core::kNever : queue_.begin()->first.first; }
  // Fires the earliest timer due by `until` (advancing the clock to it).
  bool fire_one(Time until, uint64_t* what) {
    if (queue_.empty() || queue_.begin()->first.first > until) return false;
    auto it = queue_.begin();
    now_ = it->first.first;
    *what = it->second.second;
    ids_.erase(it->second.first);
    queue_.erase(it);
    return true;
  }
  void set_now(Time t) { now_ = t; }
  // Delays of the timers armed so far whose kind (for the syncer) is `k`.
  std::vector<Duration> delays(StateSyncer::TimerKind k) const {
    std::vector<Duration> out;
    for (const Arm& a : arms)
      if (StateSyncer::owns_timer(a.what) && StateSyncer::timer_kind(a.what) == k) out.push_back(a.delay);
    return out;
  }

  std::vector<Arm> arms;

 private:
  using Key = std::pair<Time, uint64_t>;
  Time now_ = 0;
  uint64_t seq_ = 0;
  core::TimerId next_id_ = 0;
  std::map<Key, std::pair<core::TimerId, uint64_t>> queue_;
  std::map<core::TimerId, Key> ids_;
  core::Rng rng_;
  core::Storage storage_;
};

// Runs every timer due by `until` through the syncer (and a local state, if
// given), then sets the clock to `until`.
void run_until(FakeEnv& env, Time until, StateSyncer* syncer, LocalState* local = nullptr) {
  uint64_t what = 0;
  while (env.fire_one(until, &what)) {
    if (syncer && StateSyncer::owns_timer(what)) {
      syncer->on_timer(env, what);
    } else if (local && LocalState::owns_timer(what)) {
      local->on_timer(env, what);
    } else {
      CORE_CHECK(false, "run_until: a timer nobody owns");
    }
  }
  env.set_now(until);
}

class FakeTarget final : public SyncTarget {
 public:
  explicit FakeTarget(const FakeEnv& env) : env_(env) {}
  Result sync_full(core::Env&) override {
    full_at.push_back(env_.now());
    if (!full_results.empty()) {
      const Result r = full_results.front();
      full_results.erase(full_results.begin());
      return r;
    }
    return Result::kOk;
  }
  Result sync_changes(core::Env&) override {
    changes_at.push_back(env_.now());
    return changes_result;
  }
  std::vector<Time> full_at;
  std::vector<Time> changes_at;
  std::vector<Result> full_results;  // consumed in order; then kOk
  Result changes_result = Result::kOk;

 private:
  const FakeEnv& env_;
};

// Consul's float formula (ae.go scaleFactor), for comparison.
uint64_t scale_factor_float(uint64_t n) {
  if (n <= 128) return 1;
  return static_cast<uint64_t>(std::ceil(std::log2(static_cast<double>(n)) - std::log2(128.0)) + 1.0);
}

std::string numbered(const char* prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

}  // namespace

// ------------------------------------------------------------------ ae_scale

TEST_CASE("ae scale: factor matches reference F's table exactly", "[ae]") {
  const std::vector<std::pair<uint64_t, uint64_t>> table = {
      {3, 1}, {10, 1}, {32, 1}, {50, 1}, {100, 1}, {129, 2}, {500, 3}, {1000, 4}, {10000, 8}};
  for (const auto& [n, f] : table) {
    INFO("n = " << n);
    CHECK(scale_factor(n) == f);
  }
  // The steps (D.1): 128 | 129..256 | 257..512 | 513..1024; 8192 -> 7.
  CHECK(scale_factor(0) == 1);
  CHECK(scale_factor(1) == 1);
  CHECK(scale_factor(128) == 1);
  CHECK(scale_factor(256) == 2);
  CHECK(scale_factor(257) == 3);
  CHECK(scale_factor(512) == 3);
  CHECK(scale_factor(513) == 4);
  CHECK(scale_factor(1024) == 4);
  CHECK(scale_factor(1025) == 5);
  CHECK(scale_factor(8192) == 7);
  CHECK(scale_factor(8193) == 8);
}

TEST_CASE("ae scale: factor for every n up to 100,000 equals a doubling count and Consul's float formula", "[ae]") {
  uint64_t mismatches = 0;
  for (uint64_t n = 0; n <= 100000; ++n) {
    // Independent: the factor is 1 + how many times 128 must double to reach n.
    uint64_t f = 1;
    for (uint64_t limit = 128; n > limit; limit *= 2) ++f;
    if (scale_factor(n) != f || scale_factor_float(n) != f) ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(scale_factor(100000) == 11);
}

TEST_CASE("ae scale: RandomStagger is in [0, d), and 0 for d = 0 without a draw", "[ae]") {
  core::Rng a(7);
  core::Rng b(7);
  CHECK(random_stagger(a, 0) == 0);
  CHECK(a.next() == b.next());  // nothing drawn
  Duration lo = core::kNever;
  Duration hi = -1;
  for (int i = 0; i < 4000; ++i) {
    const Duration s = random_stagger(a, 3 * kSecond);
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  CHECK(lo >= 0);
  CHECK(lo < 30 * core::kMillisecond);
  CHECK(hi < 3 * kSecond);
  CHECK(hi > 2970 * core::kMillisecond);
  CHECK(random_stagger(a, 1) == 0);
  CHECK_THROWS_AS(random_stagger(a, -1), core::InvariantViolation);
}

TEST_CASE("ae scale: full-sync and retry delays span reference F's periods", "[ae]") {
  struct Row {
    uint64_t n;
    Duration lo, hi;  // [lo, hi)
  };
  // Reference F, "AE full-sync period": interval + RandomStagger(f * interval).
  const std::vector<Row> rows = {{3, 60 * kSecond, 120 * kSecond},     {100, 60 * kSecond, 120 * kSecond},
                                 {129, 60 * kSecond, 180 * kSecond},   {500, 60 * kSecond, 240 * kSecond},
                                 {1000, 60 * kSecond, 300 * kSecond},  {10000, 60 * kSecond, 540 * kSecond}};
  core::Rng rng(11);
  for (const Row& r : rows) {
    INFO("n = " << r.n);
    Duration lo = core::kNever;
    Duration hi = -1;
    for (int i = 0; i < 4000; ++i) {
      const Duration d = next_full_sync_delay(rng, r.n);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    const Duration slack = (r.hi - r.lo) / 100;
    CHECK(lo >= r.lo);
    CHECK(lo < r.lo + slack);
    CHECK(hi < r.hi);
    CHECK(hi >= r.hi - slack);
    // retryFailIntv + stagger(retryFailIntv): [15 s, 15 s + f * 15 s).
    const auto f = static_cast<Duration>(scale_factor(r.n));
    for (int i = 0; i < 200; ++i) {
      const Duration d = retry_full_sync_delay(rng, r.n);
      CHECK(d >= 15 * kSecond);
      CHECK(d < 15 * kSecond + f * 15 * kSecond);
    }
    // The server-up stagger: [0, f * 3 s).
    for (int i = 0; i < 200; ++i) {
      const Duration d = ae_stagger(rng, r.n, kServerUpInterval);
      CHECK(d >= 0);
      CHECK(d < f * 3 * kSecond);
    }
  }
}

// ------------------------------------------------------------------ local state

namespace {
LocalConfig node_config() {
  LocalConfig c;
  c.node.id = "node-id-1";
  c.node.address = "10.0.0.1";
  c.node.tagged_addresses = {{"lan", "10.0.0.1"}};
  c.node.meta = {{"rack", "r1"}};
  return c;
}
Service web() { return Service{"web", {"v1"}, 80, false}; }
Check passing(const std::string& service_id, const std::string& output = "ok") {
  return Check{"chk", CheckStatus::kPassing, output, service_id};
}
// Everything InSync as after a successful full sync against `catalog`.
CatalogView catalog_of(const LocalState& s) {
  CatalogView v;
  v.node = s.config().node;
  for (const auto& [id, st] : s.services())
    if (!st.deleted) v.services[id] = st.service;
  for (const auto& [id, st] : s.checks())
    if (!st.deleted) v.checks[id] = st.check;
  return v;
}
std::vector<std::string> describe(const std::vector<CatalogOp>& ops) {
  std::vector<std::string> out;
  for (const CatalogOp& op : ops) {
    std::string s;
    switch (op.kind) {
      case OpKind::kRegisterNode: s = "register-node"; break;
      case OpKind::kDeregisterService: s = "deregister-service " + op.id; break;
      case OpKind::kDeregisterCheck: s = "deregister-check " + op.id; break;
      case OpKind::kRegisterService: s = "register-service " + op.id; break;
      case OpKind::kRegisterCheck: s = "register-check " + op.id; break;
    }
    for (const auto& [cid, c] : op.checks)
      if (op.kind == OpKind::kRegisterService) s += " +" + cid;
    if (op.kind == OpKind::kRegisterCheck && op.service) s += " (service " + op.service->first + ")";
    out.push_back(s);
  }
  return out;
}
// Reports every op ok; returns how many were reported.
size_t apply_all(FakeEnv& env, LocalState& s, const std::vector<CatalogOp>& ops) {
  size_t n = 0;
  for (const CatalogOp& op : ops) {
    ++n;
    if (!s.report(env, op, true)) break;
  }
  return n;
}
}  // namespace

TEST_CASE("ae local state: add and remove mark entries out of sync, keep tombstones, and trigger", "[ae]") {
  LocalState s(node_config());
  uint64_t fired = 0;
  s.set_trigger([&] { ++fired; });
  s.add_service("", web());  // an empty id takes the name
  REQUIRE(s.service("web") != nullptr);
  CHECK_FALSE(s.service("web")->in_sync);
  CHECK_FALSE(s.service("web")->deleted);
  CHECK(fired == 1);
  CHECK(s.add_check("c1", passing("web")));
  CHECK_FALSE(s.add_check("c2", passing("nope")));  // refers to a non-existent service
  CHECK(s.check("c2") == nullptr);
  CHECK(s.add_check("n1", passing("")));            // node check
  CHECK(fired == 3);
  CHECK(s.remove_service("web"));
  CHECK(s.service("web")->deleted);
  CHECK_FALSE(s.service("web")->in_sync);
  CHECK_FALSE(s.remove_service("web"));  // already a tombstone
  CHECK_FALSE(s.remove_service("other"));
  CHECK(s.add_check("c3", passing("web")));  // a tombstone still counts as existing (state.go)
  CHECK(s.remove_check("n1"));
  CHECK(s.check("n1")->deleted);
  CHECK_FALSE(s.remove_check("n1"));
  CHECK(fired == 6);
  CHECK(s.triggers() == 6);
}

TEST_CASE("ae local state: a status change syncs at once, an output-only change is deferred", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  s.add_check("c", passing("", "a"));
  apply_all(env, s, s.sync_changes());
  REQUIRE(s.check("c")->in_sync);
  const uint64_t t0 = s.triggers();

  s.update_check(env, "c", CheckStatus::kPassing, "a");  // idempotent
  CHECK(s.triggers() == t0);
  CHECK(env.armed() == 0);

  s.update_check(env, "c", CheckStatus::kPassing, "b");  // output only: deferred
  CHECK(s.check("c")->check.output == "b");
  CHECK(s.check("c")->in_sync);
  CHECK(s.triggers() == t0);
  REQUIRE(env.armed() == 1);
  // d/2 + RandomStagger(d) with d = 5 min: [150 s, 450 s).
  const Duration delay = env.arms.back().delay;
  CHECK(delay >= 150 * kSecond);
  CHECK(delay < 450 * kSecond);
  s.update_check(env, "c", CheckStatus::kPassing, "c");  // a timer is pending: no second one
  CHECK(env.armed() == 1);
  CHECK(s.triggers() == t0);

  run_until(env, delay - 1, nullptr, &s);
  CHECK(s.check("c")->in_sync);
  run_until(env, delay, nullptr, &s);
  CHECK_FALSE(s.check("c")->in_sync);
  CHECK(s.check("c")->defer_serial == 0);
  CHECK(s.triggers() == t0 + 1);
  apply_all(env, s, s.sync_changes());

  s.update_check(env, "c", CheckStatus::kCritical, "down");  // status: at once
  CHECK_FALSE(s.check("c")->in_sync);
  CHECK(s.triggers() == t0 + 2);
  CHECK(s.check("c")->critical_since == env.now());
  const Time crit = env.now();
  env.set_now(crit + kSecond);
  s.update_check(env, "c", CheckStatus::kCritical, "down");  // still critical since then
  CHECK(s.check("c")->critical_since == crit);
  s.update_check(env, "c", CheckStatus::kWarning, "meh");
  CHECK(s.check("c")->critical_since == core::kNever);
  s.update_check(env, "gone", CheckStatus::kPassing, "x");  // unknown: no-op
  CHECK(s.triggers() == t0 + 3);
}

TEST_CASE("ae local state: check_update_interval 0 syncs output at once; discard_check_output drops it", "[ae]") {
  FakeEnv env;
  LocalConfig cfg = node_config();
  cfg.check_update_interval = 0;
  LocalState s(cfg);
  s.add_check("c", passing("", "a"));
  apply_all(env, s, s.sync_changes());
  s.update_check(env, "c", CheckStatus::kPassing, "b");
  CHECK_FALSE(s.check("c")->in_sync);
  CHECK(env.armed() == 0);

  LocalConfig d = node_config();
  d.discard_check_output = true;
  LocalState t(d);
  t.add_check("c", passing("", "long output"));
  CHECK(t.check("c")->check.output.empty());
  apply_all(env, t, t.sync_changes());
  const uint64_t n = t.triggers();
  t.update_check(env, "c", CheckStatus::kPassing, "other output");  // output discarded: idempotent
  CHECK(t.triggers() == n);
  CHECK(t.check("c")->in_sync);
}

TEST_CASE("ae local state: update_sync_state marks node, services and checks against the catalog", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  s.add_service("web", web());
  s.add_service("db", Service{"db", {}, 5432, false});
  s.add_service("tagged", Service{"tagged", {"local"}, 1, true});
  s.add_check("c-web", passing("web"));
  s.add_check("c-node", passing(""));
  apply_all(env, s, s.sync_changes());
  REQUIRE(s.node_info_in_sync());

  CatalogView v = catalog_of(s);
  v.services["db"].port = 5433;                 // differs
  v.services.erase("web");                      // missing remotely
  v.services["tagged"].tags = {"remote"};       // EnableTagOverride: adopt
  v.services["extra"] = Service{"extra", {}, 9, false};  // catalog only: tombstone
  v.services[kConsulServiceId] = Service{"consul", {}, 8300, false};  // never deregistered
  v.checks["c-node"].output = "stale";          // differs
  v.checks["orphan"] = passing("");             // catalog only: tombstone
  v.checks[kSerfCheckId] = passing("");         // never deregistered
  v.node->meta["rack"] = "r2";
  s.update_sync_state(v);

  CHECK_FALSE(s.node_info_in_sync());
  CHECK_FALSE(s.service("web")->in_sync);
  CHECK_FALSE(s.service("db")->in_sync);
  CHECK(s.service("tagged")->in_sync);
  CHECK(s.service("tagged")->service.tags == std::vector<std::string>{"remote"});
  REQUIRE(s.service("extra") != nullptr);
  CHECK(s.service("extra")->deleted);
  CHECK_FALSE(s.service("extra")->has_record);
  CHECK(s.service(kConsulServiceId) == nullptr);
  CHECK(s.check("c-web")->in_sync);
  CHECK_FALSE(s.check("c-node")->in_sync);
  CHECK(s.check("orphan")->deleted);
  CHECK(s.check(kSerfCheckId) == nullptr);

  CHECK(describe(s.sync_changes()) == std::vector<std::string>{
                                          "register-node",
                                          "register-service db",
                                          "deregister-service extra",
                                          "register-service web",
                                          "register-check c-node",
                                          "deregister-check orphan",
                                      });
}

TEST_CASE("ae local state: outputs are not compared while a defer timer is pending", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  s.add_check("c", passing("", "a"));
  apply_all(env, s, s.sync_changes());
  CatalogView v = catalog_of(s);
  s.update_check(env, "c", CheckStatus::kPassing, "b");  // deferred
  s.update_sync_state(v);
  CHECK(s.check("c")->in_sync);
  v.checks["c"].status = CheckStatus::kWarning;
  s.update_sync_state(v);
  CHECK_FALSE(s.check("c")->in_sync);
  // Without a pending timer the output counts.
  LocalState t(node_config());
  t.add_check("c", passing("", "b"));
  apply_all(env, t, t.sync_changes());
  CatalogView w = catalog_of(t);
  w.checks["c"].output = "a";
  t.update_sync_state(w);
  CHECK_FALSE(t.check("c")->in_sync);
}

namespace {
// Node out of sync; services: a (tombstone), b (out of sync), c (in sync);
// checks: b1 (b's, same token: rides on b), b2 (b's, other token), x (a's,
// tombstone with a record: pruned with a), y (catalog-only tombstone), z
// (node check, out of sync).
void mixed_state(FakeEnv& env, LocalState& s) {
  s.add_service("a", Service{"a", {}, 1, false});
  s.add_service("c", Service{"c", {}, 3, false});
  s.add_check("x", passing("a"));
  apply_all(env, s, s.sync_changes());
  CatalogView v = catalog_of(s);
  v.checks["y"] = passing("");
  v.node->id = "someone-else";
  s.add_service("b", Service{"b", {}, 2, false}, "tok");
  s.add_check("b1", passing("b"), "tok");
  s.add_check("b2", passing("b"), "other");
  s.add_check("z", passing(""));
  s.remove_service("a");
  s.remove_check("x");
  s.update_sync_state(v);
}
const std::vector<std::string> kMixedPlan = {
    "register-node",
    "deregister-service a",
    "register-service b +b1",
    "register-check b2 (service b)",
    "deregister-check y",
    "register-check z",
};
}  // namespace

TEST_CASE("ae local state: sync_changes orders node, services, then checks by sorted id", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  mixed_state(env, s);
  const std::vector<CatalogOp> ops = s.sync_changes();
  CHECK(describe(ops) == kMixedPlan);
  CHECK(s.pass_open());
  CHECK_FALSE(ops[0].skip_node_update);
  for (size_t i = 1; i < ops.size(); ++i) CHECK(ops[i].skip_node_update);
  CHECK(ops[2].token == "tok");
  CHECK(ops[3].token == "other");

  CHECK(apply_all(env, s, ops) == ops.size());
  CHECK_FALSE(s.pass_open());
  CHECK_FALSE(s.pass_failed());
  CHECK(s.node_info_in_sync());
  CHECK(s.service("a") == nullptr);
  CHECK(s.check("x") == nullptr);  // pruned with its service
  CHECK(s.check("y") == nullptr);
  for (const char* id : {"b", "c"}) CHECK(s.service(id)->in_sync);
  for (const char* id : {"b1", "b2", "z"}) CHECK(s.check(id)->in_sync);
  CHECK(s.sync_changes().empty());
  CHECK_FALSE(s.pass_open());
}

TEST_CASE("ae local state: the first failed op ends the pass; the next pass starts from there", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  mixed_state(env, s);
  const std::vector<CatalogOp> ops = s.sync_changes();
  REQUIRE(ops.size() == kMixedPlan.size());
  CHECK(s.report(env, ops[0], true));
  CHECK(s.report(env, ops[1], true));
  CHECK_FALSE(s.report(env, ops[2], false));  // register-service b fails
  CHECK_FALSE(s.pass_open());
  CHECK(s.pass_failed());
  CHECK_THROWS_AS(s.report(env, ops[3], true), core::InvariantViolation);  // nothing after the failure
  CHECK(s.node_info_in_sync());
  CHECK(s.service("a") == nullptr);
  CHECK_FALSE(s.service("b")->in_sync);
  CHECK_FALSE(s.check("b1")->in_sync);
  CHECK(s.check("y") != nullptr);
  CHECK_FALSE(s.check("z")->in_sync);

  const std::vector<CatalogOp> again = s.sync_changes();
  CHECK(describe(again) == std::vector<std::string>(kMixedPlan.begin() + 2, kMixedPlan.end()));
  // A late report of the abandoned pass changes nothing.
  CHECK_FALSE(s.report(env, ops[5], true));
  CHECK_FALSE(s.check("z")->in_sync);
  CHECK_THROWS_AS(s.report(env, again[1], true), core::InvariantViolation);  // out of order
}

TEST_CASE("ae local state: an entry changed during its op stays out of sync", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  s.add_service("web", web());
  const std::vector<CatalogOp> ops = s.sync_changes();
  REQUIRE(describe(ops) == std::vector<std::string>{"register-node", "register-service web"});
  CHECK(s.report(env, ops[0], true));
  s.add_service("web", Service{"web", {"v2"}, 81, false});  // while the register is in flight
  CHECK_FALSE(s.report(env, ops[1], true));
  CHECK_FALSE(s.service("web")->in_sync);
  CHECK(describe(s.sync_changes()) == std::vector<std::string>{"register-service web"});
}

TEST_CASE("ae local state: registering a check stops its defer timer", "[ae]") {
  FakeEnv env;
  LocalState s(node_config());
  s.add_check("c", passing("", "a"));
  apply_all(env, s, s.sync_changes());
  s.update_check(env, "c", CheckStatus::kPassing, "b");  // deferred
  REQUIRE(env.armed() == 1);
  s.update_check(env, "c", CheckStatus::kWarning, "b");  // status: out of sync now
  const std::vector<CatalogOp> ops = s.sync_changes();
  REQUIRE(describe(ops) == std::vector<std::string>{"register-check c"});
  CHECK(ops[0].checks[0].second.status == CheckStatus::kWarning);
  CHECK_FALSE(s.report(env, ops[0], false));  // stopped even when the register fails
  CHECK(env.armed() == 0);
  CHECK(s.check("c")->defer_serial == 0);
}

// ------------------------------------------------------------------ syncer

namespace {
struct Rig {
  explicit Rig(uint64_t n, uint64_t seed = 1) : env(seed), target(env), nodes(n), syncer(target, [this] { return nodes; }) {}
  FakeEnv env;
  FakeTarget target;
  uint64_t nodes;
  StateSyncer syncer;
  void until(Time t) { run_until(env, t, &syncer); }
};
using Kind = StateSyncer::TimerKind;
using St = StateSyncer::State;
using R = SyncTarget::Result;
}  // namespace

TEST_CASE("ae syncer: run() full-syncs at once and arms the next full sync at interval + stagger", "[ae]") {
  Rig r(3);
  r.syncer.run(r.env);
  CHECK(r.target.full_at == std::vector<Time>{0});
  CHECK(r.syncer.state() == St::kPartialWait);
  const std::vector<Duration> d = r.env.delays(Kind::kNextFull);
  REQUIRE(d.size() == 1);
  CHECK(d[0] >= 60 * kSecond);
  CHECK(d[0] < 120 * kSecond);
  r.until(d[0] - 1);
  CHECK(r.target.full_at.size() == 1);
  r.until(d[0]);
  CHECK(r.target.full_at == std::vector<Time>{0, d[0]});
}

TEST_CASE("ae syncer: periodic full syncs at the scaled interval for 3, 200 and 10,000 nodes (reference F)", "[ae]") {
  struct Row {
    uint64_t n;
    Duration hi;  // the period is [60 s, hi)
  };
  for (const Row& row : {Row{3, 120 * kSecond}, Row{200, 180 * kSecond}, Row{10000, 540 * kSecond}}) {
    INFO("n = " << row.n);
    Rig r(row.n, 100 + row.n);
    r.syncer.run(r.env);
    r.until(800 * row.hi);
    const std::vector<Time>& at = r.target.full_at;
    REQUIRE(at.size() > 800);
    const std::vector<Duration> armed = r.env.delays(Kind::kNextFull);
    Duration lo = core::kNever;
    Duration hi = -1;
    for (size_t i = 1; i < at.size(); ++i) {
      const Duration gap = at[i] - at[i - 1];
      CHECK(gap == armed[i - 1]);  // each period is the delay the syncer armed
      lo = std::min(lo, gap);
      hi = std::max(hi, gap);
    }
    const Duration slack = (row.hi - 60 * kSecond) / 50;
    CHECK(lo >= 60 * kSecond);
    CHECK(lo < 60 * kSecond + slack);
    CHECK(hi < row.hi);
    CHECK(hi >= row.hi - slack);
    CHECK(r.target.changes_at.empty());
    CHECK(r.env.armed() == 1);  // only the next-full-sync timer
  }
}

TEST_CASE("ae syncer: a failed full sync retries after 15 s + stagger and resets the next full sync", "[ae]") {
  Rig r(3);
  r.target.full_results = {R::kFailed, R::kFailed};
  r.syncer.run(r.env);
  CHECK(r.syncer.state() == St::kRetryWait);
  CHECK(r.syncer.full_sync_failures() == 1);
  std::vector<Duration> retry = r.env.delays(Kind::kRetry);
  REQUIRE(retry.size() == 1);
  CHECK(retry[0] >= 15 * kSecond);
  CHECK(retry[0] < 30 * kSecond);
  r.syncer.trigger_sync_changes(r.env);  // not taken while retrying
  CHECK(r.target.changes_at.empty());
  CHECK(r.syncer.sync_changes_pending());
  r.until(retry[0]);
  CHECK(r.target.full_at == std::vector<Time>{0, retry[0]});
  CHECK(r.env.delays(Kind::kNextFull).size() == 2);  // reset at the retry
  retry = r.env.delays(Kind::kRetry);
  REQUIRE(retry.size() == 2);
  const Time third = r.target.full_at[1] + retry[1];
  r.until(third);
  CHECK(r.target.full_at.size() == 3);
  CHECK(r.target.full_at[2] == third);
  CHECK(r.syncer.state() == St::kPartialWait);
  // The held partial-sync trigger runs right after the successful full sync.
  CHECK(r.target.changes_at == std::vector<Time>{third});
  // The next full sync is the reset one, armed at `third`.
  const Duration next = r.env.delays(Kind::kNextFull).back();
  r.until(third + next);
  CHECK(r.target.full_at.back() == third + next);
  // Retry periods scale too: 10,000 nodes -> [15 s, 135 s).
  Rig big(10000, 5);
  big.target.full_results = std::vector<R>(400, R::kFailed);
  big.syncer.run(big.env);
  big.until(400 * 135 * kSecond);
  Duration hi = -1;
  for (Duration d : big.env.delays(Kind::kRetry)) {
    CHECK(d >= 15 * kSecond);
    CHECK(d < 135 * kSecond);
    hi = std::max(hi, d);
  }
  CHECK(hi > 130 * kSecond);
}

TEST_CASE("ae syncer: partial syncs on change; triggers coalesce while a sync is pending", "[ae]") {
  Rig r(3);
  r.syncer.run(r.env);
  r.env.set_now(5 * kSecond);
  r.syncer.trigger_sync_changes(r.env);
  CHECK(r.target.changes_at == std::vector<Time>{5 * kSecond});
  r.target.changes_result = R::kFailed;  // only counted: no retry is scheduled
  r.syncer.trigger_sync_changes(r.env);
  CHECK(r.syncer.partial_sync_failures() == 1);
  CHECK(r.env.armed() == 1);
  CHECK(r.syncer.state() == St::kPartialWait);

  r.target.changes_result = R::kPending;
  r.syncer.trigger_sync_changes(r.env);
  CHECK(r.syncer.state() == St::kPartialSyncing);
  r.syncer.trigger_sync_changes(r.env);
  r.syncer.trigger_sync_changes(r.env);  // one slot: these two coalesce
  CHECK(r.target.changes_at.size() == 3);
  r.target.changes_result = R::kOk;
  r.syncer.sync_done(r.env, true);
  CHECK(r.target.changes_at.size() == 4);
  CHECK(r.syncer.partial_syncs() == 4);
  CHECK_FALSE(r.syncer.sync_changes_pending());
}

TEST_CASE("ae syncer: pause nests; paused partial triggers are dropped; the last resume triggers", "[ae]") {
  Rig r(3);
  r.syncer.run(r.env);
  r.syncer.pause();
  r.syncer.pause();
  r.syncer.trigger_sync_changes(r.env);
  CHECK(r.target.changes_at.empty());
  CHECK_FALSE(r.syncer.sync_changes_pending());  // consumed and dropped
  CHECK_FALSE(r.syncer.resume(r.env));
  CHECK(r.syncer.paused());
  CHECK(r.target.changes_at.empty());
  CHECK(r.syncer.resume(r.env));
  CHECK_FALSE(r.syncer.paused());
  CHECK(r.target.changes_at.size() == 1);
  CHECK_THROWS_AS(r.syncer.resume(r.env), core::InvariantViolation);  // unbalanced

  // A full sync due while paused goes to retry instead.
  r.syncer.pause();
  const Duration next = r.env.delays(Kind::kNextFull).back();
  r.until(next);
  CHECK(r.target.full_at.size() == 1);
  CHECK(r.syncer.state() == St::kRetryWait);
  const Duration retry = r.env.delays(Kind::kRetry).back();
  r.syncer.resume(r.env);  // its partial trigger waits through the retry
  CHECK(r.syncer.sync_changes_pending());
  r.until(next + retry);
  CHECK(r.target.full_at == std::vector<Time>{0, next + retry});
  CHECK(r.target.changes_at.size() == 2);
  CHECK(r.target.changes_at.back() == next + retry);
}

TEST_CASE("ae syncer: a full-sync trigger (ServerUp, consul:new-leader) full-syncs after stagger(3 s)", "[ae]") {
  Rig r(3);
  r.syncer.run(r.env);
  r.env.set_now(10 * kSecond);
  r.syncer.trigger_sync_full(r.env);  // taken at once: the stagger starts
  r.syncer.trigger_sync_full(r.env);  // held in the one-slot channel
  CHECK(r.syncer.state() == St::kPartialServerUpWait);
  std::vector<Duration> up = r.env.delays(Kind::kServerUp);
  REQUIRE(up.size() == 1);
  CHECK(up[0] >= 0);
  CHECK(up[0] < 3 * kSecond);
  r.syncer.trigger_sync_changes(r.env);  // held during the stagger
  CHECK(r.target.changes_at.empty());
  r.until(10 * kSecond + up[0]);
  // The full sync; then the held full trigger wins over the held partial one.
  CHECK(r.target.full_at == std::vector<Time>{0, 10 * kSecond + up[0]});
  CHECK(r.syncer.state() == St::kPartialServerUpWait);
  CHECK(r.env.delays(Kind::kNextFull).size() == 2);  // reset by the triggered sync
  up = r.env.delays(Kind::kServerUp);
  REQUIRE(up.size() == 2);
  const Time second = r.env.now() + up[1];
  r.until(second);
  CHECK(r.target.full_at.size() == 3);
  CHECK(r.target.changes_at == std::vector<Time>{second});
  CHECK(r.env.delays(Kind::kNextFull).size() == 3);

  // In retry, a trigger cancels the retry timer; the full sync follows the
  // stagger and does not reset the next-full-sync timer.
  Rig f(10000, 3);
  f.target.full_results = {R::kFailed};
  f.syncer.run(f.env);
  REQUIRE(f.syncer.state() == St::kRetryWait);
  f.syncer.trigger_sync_full(f.env);
  CHECK(f.syncer.state() == St::kRetryServerUpWait);
  const std::vector<Duration> fu = f.env.delays(Kind::kServerUp);
  REQUIRE(fu.size() == 1);
  CHECK(fu[0] < 8 * 3 * kSecond);  // scaled: [0, 24 s) at 10,000 nodes
  CHECK(f.env.armed() == 2);       // next-full + server-up; the retry timer is gone
  f.until(fu[0]);
  CHECK(f.target.full_at == std::vector<Time>{0, fu[0]});
  CHECK(f.env.delays(Kind::kNextFull).size() == 1);
  CHECK(f.syncer.state() == St::kPartialWait);
}

TEST_CASE("ae syncer: the server-up stagger scales with the cluster size", "[ae]") {
  for (uint64_t n : {3u, 200u, 10000u}) {
    Rig r(n, n);
    r.syncer.run(r.env);
    Duration hi = -1;
    for (int i = 0; i < 300; ++i) {
      r.syncer.trigger_sync_full(r.env);
      r.until(r.env.now() + 30 * kSecond);
    }
    const auto f = static_cast<Duration>(scale_factor(n));
    for (Duration d : r.env.delays(Kind::kServerUp)) {
      CHECK(d < f * 3 * kSecond);
      hi = std::max(hi, d);
    }
    CHECK(hi > f * 3 * kSecond * 9 / 10);
  }
}

TEST_CASE("ae syncer: a pending full sync holds triggers and the next-full tick until sync_done", "[ae]") {
  Rig r(3);
  r.target.full_results = {R::kPending};
  r.syncer.run(r.env);
  CHECK(r.syncer.state() == St::kFullSyncing);
  const Duration next = r.env.delays(Kind::kNextFull).back();
  r.until(next + kSecond);  // the tick waits in its channel
  r.syncer.trigger_sync_changes(r.env);
  CHECK(r.target.full_at.size() == 1);
  r.syncer.sync_done(r.env, true);
  // The held tick wins over the held partial trigger (fixed priority), then
  // the partial sync runs after that full sync.
  CHECK(r.target.full_at.size() == 2);
  CHECK(r.target.changes_at.size() == 1);
  CHECK_THROWS_AS(r.syncer.sync_done(r.env, true), core::InvariantViolation);
}

TEST_CASE("ae syncer: shutdown disarms every timer; a re-entrant trigger from the target is taken after", "[ae]") {
  struct Reentrant final : SyncTarget {
    StateSyncer* syncer = nullptr;
    core::Env* env = nullptr;
    int fulls = 0, changes = 0;
    Result sync_full(core::Env&) override {
      ++fulls;
      syncer->trigger_sync_changes(*env);  // a local change during the sync
      return Result::kOk;
    }
    Result sync_changes(core::Env&) override {
      ++changes;
      return Result::kOk;
    }
  };
  FakeEnv env;
  Reentrant t;
  StateSyncer s(t, [] { return uint64_t{3}; });
  t.syncer = &s;
  t.env = &env;
  s.run(env);
  CHECK(t.fulls == 1);
  CHECK(t.changes == 1);
  s.shutdown(env);
  CHECK(env.armed() == 0);
  CHECK(s.state() == St::kDone);
  s.trigger_sync_full(env);
  s.trigger_sync_changes(env);
  CHECK(t.fulls == 1);
  CHECK(t.changes == 1);
  CHECK(env.armed() == 0);
}

TEST_CASE("ae syncer: same seed, same timers; the cluster size is read at each stagger", "[ae]") {
  auto trace = [](uint64_t seed) {
    Rig r(3, seed);
    r.syncer.run(r.env);
    for (int i = 0; i < 20; ++i) {
      r.nodes = (i % 2 == 0) ? 3 : 5000;
      r.syncer.trigger_sync_full(r.env);
      r.until(r.env.now() + 200 * kSecond);
    }
    std::vector<std::pair<Time, Duration>> out;
    for (const auto& a : r.env.arms) out.emplace_back(a.at, a.delay);
    return out;
  };
  CHECK(trace(9) == trace(9));
  CHECK(trace(9) != trace(10));
}

// ------------------------------------------------------------------ together

TEST_CASE("ae local state + syncer: a local change reaches a fake catalog by partial sync", "[ae]") {
  struct Catalog final : SyncTarget {
    LocalState* local = nullptr;
    CatalogView view;
    int fail_at = -1;  // index of the op to fail in the next pass
    Result run_pass(core::Env& env) {
      const std::vector<CatalogOp> ops = local->sync_changes();
      for (const CatalogOp& op : ops) {
        const bool ok = static_cast<int>(op.index) != fail_at;
        if (ok) apply(op);
        if (!local->report(env, op, ok)) break;
      }
      fail_at = -1;
      return local->pass_failed() ? Result::kFailed : Result::kOk;
    }
    void apply(const CatalogOp& op) {
      if (!op.skip_node_update) view.node = op.node;
      switch (op.kind) {
        case OpKind::kRegisterNode: break;
        case OpKind::kDeregisterService:
          view.services.erase(op.id);
          for (auto it = view.checks.begin(); it != view.checks.end();)
            it = it->second.service_id == op.id ? view.checks.erase(it) : std::next(it);
          break;
        case OpKind::kDeregisterCheck: view.checks.erase(op.id); break;
        case OpKind::kRegisterService:
        case OpKind::kRegisterCheck:
          if (op.service) view.services[op.service->first] = op.service->second;
          for (const auto& [id, c] : op.checks) view.checks[id] = c;
          break;
      }
    }
    Result sync_full(core::Env& env) override {
      local->update_sync_state(view);
      return run_pass(env);
    }
    Result sync_changes(core::Env& env) override { return run_pass(env); }
  };
  FakeEnv env;
  LocalState local(node_config());
  Catalog cat;
  cat.local = &local;
  StateSyncer syncer(cat, [] { return uint64_t{3}; });
  local.set_trigger([&] { syncer.trigger_sync_changes(env); });
  syncer.run(env);
  REQUIRE(cat.view.node);
  for (int i = 0; i < 5; ++i) local.add_service(numbered("s", i), Service{numbered("s", i), {}, 80, false});
  CHECK(cat.view.services.size() == 5);
  CHECK(local.add_check("c", passing("s1")));
  CHECK(cat.view.checks.count("c") == 1);
  // Something deletes a service behind the agent's back; the next full sync heals it.
  cat.view.services.erase("s3");
  cat.view.services["rogue"] = Service{"rogue", {}, 1, false};
  run_until(env, 120 * kSecond, &syncer, &local);
  CHECK(cat.view.services.count("s3") == 1);
  CHECK(cat.view.services.count("rogue") == 0);
  CHECK(local.service("rogue") == nullptr);
  // A failure midway leaves the rest for the next pass.
  cat.fail_at = 0;
  local.remove_service("s0");
  CHECK(cat.view.services.count("s0") == 1);
  local.remove_service("s4");
  CHECK(cat.view.services.count("s0") == 0);
  CHECK(cat.view.services.count("s4") == 0);
}

// Unit tests of core/raft pieces (config, KV encoding, configuration
// encoding, messages) and of sim::RaftChecker, plus randomized safety runs:
// the correct build must never trip the checker; the broken build
// (unsafe_skip_vote_log_check) must.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/message.hpp"
#include "core/raft/config.hpp"
#include "core/raft/configuration.hpp"
#include "core/raft/messages.hpp"
#include "core/raft/state_machine.hpp"
#include "sim/check/raft_safety.hpp"
#include "tests/core/raft_harness.hpp"

using core::kMillisecond;
using core::kSecond;
using core::raft::Config;
using core::raft::Configuration;
using core::raft::KvStateMachine;
using core::raft::Role;

TEST_CASE("raft config: hashicorp defaults, Consul scaling, validation", "[raft]") {
  const Config d = Config::hashicorp_default();
  CHECK(d.heartbeat_timeout == 1 * kSecond);
  CHECK(d.election_timeout == 1 * kSecond);
  CHECK(d.leader_lease_timeout == 500 * kMillisecond);
  CHECK(d.commit_timeout == 50 * kMillisecond);
  CHECK(d.max_append_entries == 64);
  CHECK(d.trailing_logs == 10240);
  CHECK(d.snapshot_interval == 120 * kSecond);
  CHECK(d.snapshot_threshold == 8192);
  CHECK(d.pre_vote);
  CHECK(d.check_quorum);
  CHECK(d.leader_stickiness);
  CHECK(d.validate().empty());

  const Config c = Config::consul();  // raft_multiplier 5
  CHECK(c.heartbeat_timeout == 5 * kSecond);
  CHECK(c.election_timeout == 5 * kSecond);
  CHECK(c.leader_lease_timeout == 2500 * kMillisecond);
  CHECK(c.commit_timeout == 50 * kMillisecond);  // not scaled
  CHECK(c.snapshot_interval == 30 * kSecond);
  CHECK(c.snapshot_threshold == 16384);
  CHECK(c.validate().empty());

  Config bad = d;
  bad.leader_lease_timeout = 2 * kSecond;
  CHECK(bad.validate() == "leader_lease_timeout cannot be larger than heartbeat_timeout");
  bad = d;
  bad.election_timeout = 500 * kMillisecond;
  CHECK(bad.validate() == "election_timeout must be equal or greater than heartbeat_timeout");
  bad = d;
  bad.max_append_entries = 2000;
  CHECK(bad.validate() == "max_append_entries is too large (maximum 1024)");
  bad = d;
  bad.heartbeat_timeout = 4 * kMillisecond;
  CHECK(!bad.validate().empty());
  bad = d;
  bad.commit_timeout = 0;
  CHECK(bad.validate() == "commit_timeout is too low (minimum 1ms)");
}

TEST_CASE("raft KV state machine: commands, results, snapshot round trip", "[raft]") {
  KvStateMachine kv;
  CHECK(KvStateMachine::put("k", "v") == "put k v");
  CHECK(kv.apply(1, 1, KvStateMachine::get("k")) == "notfound");
  CHECK(kv.apply(2, 1, KvStateMachine::put("k", "v1")) == "ok");
  CHECK(kv.apply(3, 1, KvStateMachine::get("k")) == "ok v1");
  CHECK(kv.apply(4, 1, KvStateMachine::cas("k", "v0", "v2")) == "fail v1");
  CHECK(kv.apply(5, 1, KvStateMachine::cas("k", "v1", "v2")) == "ok");
  CHECK(kv.apply(6, 1, KvStateMachine::cas("z", "a", "b")) == "notfound");
  CHECK(kv.apply(7, 1, KvStateMachine::put("e", "")) == "ok");
  CHECK(kv.apply(8, 1, "frobnicate") == "error unknown command");
  const std::string snap = kv.snapshot();
  CHECK(snap == "1:e0:1:k2:v2");
  KvStateMachine other;
  other.restore(snap);
  CHECK(other.data() == kv.data());
  CHECK(kv.apply(9, 1, KvStateMachine::del("k")) == "ok");
  CHECK(kv.apply(10, 1, KvStateMachine::del("k")) == "notfound");
  other.restore("");
  CHECK(other.data().empty());
}

TEST_CASE("raft configuration: encoding and quorum", "[raft]") {
  Configuration c = Configuration::voters({2, 0, 1});
  c.upsert({5, core::raft::Suffrage::kNonvoter});
  CHECK(c.encode() == "v0,v1,v2,n5");
  CHECK(c.to_string() == "{0 1 2 n5}");
  CHECK(c.quorum() == 2);
  CHECK(c.has_vote(1));
  CHECK(!c.has_vote(5));
  CHECK(Configuration::decode(c.encode()) == c);
  CHECK(Configuration::decode("") == Configuration{});
  CHECK(!Configuration::decode("x1").has_value());
  CHECK(!Configuration::decode("v").has_value());
  c.remove(0);
  CHECK(c.voter_count() == 2);
  CHECK(c.quorum() == 2);
  CHECK(c.mask(core::raft::Suffrage::kVoter) == 0b110);
}

TEST_CASE("raft messages: names, sizes, and a small core::Message", "[raft]") {
  CHECK(std::string(core::message_type_name(core::raft::kAppendEntries)) == "raft.append_entries");
  CHECK(std::string(core::raft::type_name(core::raft::kTimeoutNowResp)) == "raft.timeout_now_resp");
  CHECK(std::string(core::raft::type_name(0x02FF)) == "unknown");
  core::raft::Msg m;
  core::raft::AppendEntries ae;
  ae.entries.push_back({1, 1, core::raft::EntryType::kCommand, std::string(100, 'x')});
  m.body = ae;
  const uint32_t one = core::raft::estimate_size(core::raft::kAppendEntries, m);
  ae.entries.push_back({2, 1, core::raft::EntryType::kCommand, std::string(100, 'x')});
  m.body = ae;
  CHECK(core::raft::estimate_size(core::raft::kAppendEntries, m) == one + 132);
  // 16 bytes of addressing, type, port and size, and a 24-byte body variant
  // (a heartbeat inline, Raft bodies behind a shared pointer). The message
  // pool's slot and the bytes-per-message figure of the benchmarks follow it.
  STATIC_REQUIRE(sizeof(core::Message) == 40);
}

TEST_CASE("raft checker: election safety and state machine safety from records", "[raft][checker]") {
  sim::RaftChecker ck;
  ck.on_record(10, 0, {core::raft::kRecordRole, 3, 2, 0}, 1);
  ck.on_record(11, 0, {core::raft::kRecordRole, 3, 2, 0}, 2);  // same node again: fine
  CHECK(ck.ok());
  ck.on_record(12, 1, {core::raft::kRecordApply, 5, 3, 0xabc}, 3);
  ck.on_record(13, 2, {core::raft::kRecordApply, 5, 3, 0xabc}, 4);
  CHECK(ck.ok());
  ck.on_record(14, 1, {core::raft::kRecordRole, 3, 2, 0}, 5);
  REQUIRE(!ck.ok());
  CHECK(ck.violation()->property == "election_safety");
  CHECK(ck.violation()->event_seq == 5);
  CHECK(ck.violation()->nodes == std::vector<core::NodeId>{0, 1});
  CHECK(ck.violation()->term == 3);

  sim::RaftChecker ck2;
  ck2.on_record(12, 1, {core::raft::kRecordApply, 5, 3, 0xabc}, 3);
  ck2.on_record(13, 2, {core::raft::kRecordApply, 5, 3, 0xabd}, 4);
  REQUIRE(!ck2.ok());
  CHECK(ck2.violation()->property == "state_machine_safety");
  CHECK(ck2.violation()->index == 5);
}

TEST_CASE("raft leader counts its own entry only once durable", "[raft]") {
  raft_test::ClusterOptions o;
  o.nodes = 1;
  o.manual_sync = true;
  raft_test::Cluster c(o);
  c.complete_sync(0);
  c.fire(0, "election");
  REQUIRE(c.node(0).role() == Role::kLeader);
  c.complete_sync(0);
  c.fire(0, "commit");
  CHECK(c.node(0).commit_index() == 2);  // the no-op, once durable
  c.propose(0, KvStateMachine::put("a", "1"));
  c.fire(0, "commit");
  CHECK(c.node(0).commit_index() == 2);  // write not durable yet: no quorum
  c.complete_sync(0);
  c.fire(0, "commit");
  CHECK(c.node(0).commit_index() == 3);
  CHECK(c.checker().ok());
}

TEST_CASE("raft broken build: a committed entry is lost and the checker says so", "[raft][checker]") {
  raft_test::ClusterOptions o;
  o.config.unsafe_skip_vote_log_check = true;
  o.config.pre_vote = false;
  o.config.leader_stickiness = false;
  raft_test::Cluster c(o);
  c.fire(0, "election");
  c.stabilize();
  c.propose(0, KvStateMachine::put("x", "1"));
  c.deliver(core::kNoNode, 1);
  c.deliver(core::kNoNode, 2, 0, /*drop=*/true);
  c.stabilize();
  REQUIRE(c.node(0).commit_index() == 3);
  c.crash(0, false);
  c.advance(150 * kMillisecond);
  c.fire(2, "election");
  c.stabilize();
  CHECK(c.node(2).role() == Role::kLeader);
  REQUIRE(!c.checker().ok());
  CHECK(c.checker().violation()->property == "leader_completeness");
  CHECK(c.checker().violation()->index == 3);
}

namespace {

// One randomized run: random delivery order, loss, duplication-free
// reordering, timer firing, crashes (sometimes losing unsynced writes),
// partitions, proposals, membership churn and snapshots. Returns the checker
// result and how many entries the cluster committed.
struct SoakResult {
  bool ok = true;
  std::string summary;
  uint64_t max_commit = 0;
};

SoakResult soak(uint64_t seed, bool unsafe, size_t steps) {
  raft_test::ClusterOptions o;
  o.nodes = 5;
  o.seed = seed;
  o.manual_sync = true;
  o.config.unsafe_skip_vote_log_check = unsafe;
  o.config.trailing_logs = 5;
  o.config.snapshot_threshold = 8;
  if (unsafe) {
    o.config.pre_vote = false;
    o.config.leader_stickiness = false;
  }
  raft_test::Cluster c(o);
  core::Rng rng(core::derive_seed(seed, 99, 0));
  SoakResult r;
  // The broken build keeps running after a violation: it must not crash.
  for (size_t step = 0; step < steps && (unsafe || c.checker().ok()); ++step) {
    const auto n = static_cast<core::NodeId>(rng.below(o.nodes));
    const auto m = static_cast<core::NodeId>(rng.below(o.nodes));
    const uint64_t dice = rng.below(100);
    if (dice < 40) {
      c.deliver(n, m, 0, rng.chance(0.05), 1 + rng.below(3));
    } else if (dice < 55) {
      c.tick(static_cast<core::Duration>(rng.below(30)) * kMillisecond);
    } else if (dice < 70) {
      if (c.up(n)) c.complete_sync(n);
    } else if (dice < 80) {
      if (c.up(n) && c.node(n).role() == Role::kLeader) {
        std::string key = "k";
        key += std::to_string(m);
        c.propose(n, KvStateMachine::put(key, std::to_string(step)));
      }
    } else if (dice < 81) {
      if (c.up(n)) {
        c.crash(n, rng.chance(0.5));
      } else {
        c.restart(n);
      }
    } else if (dice < 85) {
      if (!c.up(n)) c.restart(n);
    } else if (dice < 86) {
      c.isolate(n);
    } else if (dice < 90) {
      c.heal();
    } else if (dice < 92) {
      if (c.up(n)) c.snapshot(n);
    } else if (dice < 94) {
      if (c.up(n) && c.node(n).role() == Role::kLeader) {
        const uint64_t prev = c.node(n).latest_configuration_index();
        if (rng.chance(0.5)) {
          c.change(n, "demote", m, prev);
        } else {
          c.change(n, "add-voter", m, prev);
        }
      }
    } else if (dice < 95) {
      if (c.up(n) && c.node(n).role() == Role::kLeader) c.transfer(n, core::kNoNode);
    } else {
      // Deliver everything pending (after syncing all): lets the cluster make progress.
      for (core::NodeId i = 0; i < o.nodes; ++i)
        if (c.up(i)) c.complete_sync(i);
      c.deliver();
    }
    c.take_output();
    for (core::NodeId i = 0; i < o.nodes; ++i)
      if (c.up(i)) r.max_commit = std::max(r.max_commit, c.node(i).commit_index());
  }
  r.ok = c.checker().ok();
  r.summary = c.checker().summary();
  return r;
}

// RAFT_SOAK_SEEDS=N runs N seeds instead of 40 (for longer local runs).
uint64_t soak_seeds() {
  const char* env = std::getenv("RAFT_SOAK_SEEDS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 40;
}

}  // namespace

TEST_CASE("raft randomized runs: the correct build never violates safety", "[raft][soak]") {
  uint64_t total_commits = 0;
  for (uint64_t seed = 1; seed <= soak_seeds(); ++seed) {
    const SoakResult r = soak(seed, false, 3000);
    INFO("seed " << seed << ": " << r.summary);
    REQUIRE(r.ok);
    total_commits += r.max_commit;
  }
  CHECK(total_commits > 5 * soak_seeds());  // the runs did make progress
}

TEST_CASE("raft randomized runs: the broken build is caught", "[raft][soak][checker]") {
  size_t caught = 0;
  for (uint64_t seed = 1; seed <= soak_seeds(); ++seed) {
    if (!soak(seed, true, 3000).ok) ++caught;
  }
  CHECK(caught > 0);
}

namespace {

// The one leader of the highest term among live nodes, or kNoNode.
core::NodeId current_leader(raft_test::Cluster& c) {
  core::NodeId best = core::kNoNode;
  uint64_t term = 0;
  for (core::NodeId i = 0; i < c.size(); ++i) {
    if (c.up(i) && c.node(i).role() == Role::kLeader && c.node(i).term() >= term) {
      best = i;
      term = c.node(i).term();
    }
  }
  return best;
}

}  // namespace

TEST_CASE("raft liveness: leader crashes and partitions heal into a working cluster", "[raft][liveness]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    raft_test::ClusterOptions o;
    o.nodes = 5;
    o.seed = seed;
    raft_test::Cluster c(o);
    core::Rng rng(core::derive_seed(seed, 98, 0));
    for (int round = 0; round < 6; ++round) {
      // Within 3 x HT of any disturbance a leader serves the majority
      // (hashicorp: detection in [HT, 2HT) plus the election).
      c.run(600 * kMillisecond);
      const core::NodeId l = current_leader(c);
      REQUIRE(l != core::kNoNode);
      const uint64_t before = c.node(l).commit_index();
      REQUIRE(c.propose(l, KvStateMachine::put("k", std::to_string(round))).ok());
      c.run(100 * kMillisecond);
      if (c.up(l) && c.node(l).role() == Role::kLeader) CHECK(c.node(l).commit_index() > before);
      // Disturb: crash the leader, or isolate it, or restart someone.
      switch (rng.below(3)) {
        case 0:
          c.crash(l, rng.chance(0.5));
          c.run(300 * kMillisecond);
          c.restart(l);
          break;
        case 1:
          c.isolate(l);
          c.run(400 * kMillisecond);
          c.heal();
          break;
        default: {
          const auto n = static_cast<core::NodeId>(rng.below(o.nodes));
          c.crash(n, false);
          c.restart(n);
        }
      }
      c.take_output();
    }
    // Every live node converges on the leader's commit index.
    c.run(1000 * kMillisecond);
    const core::NodeId l = current_leader(c);
    REQUIRE(l != core::kNoNode);
    for (core::NodeId i = 0; i < o.nodes; ++i) CHECK(c.node(i).last_applied() == c.node(l).commit_index());
    CHECK(c.checker().ok());
    c.take_output();
  }
}

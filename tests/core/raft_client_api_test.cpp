// The client calls a Consul server makes besides propose: barrier() (hashicorp
// Barrier), verify_leader() (VerifyLeader) and bootstrap() on a running node
// (BootstrapCluster / liveBootstrap). Each test states the behaviour that a
// broken implementation would miss; testdata/raft/{barrier,verify_leader,
// bootstrap}.txt show the same runs message by message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/raft/node.hpp"
#include "core/raft/state_machine.hpp"
#include "tests/core/raft_harness.hpp"

using core::kMillisecond;
using core::kNoNode;
using core::NodeId;
using core::raft::Completion;
using core::raft::EntryType;
using core::raft::KvStateMachine;
using core::raft::Role;

namespace {

// A KV store that remembers the index of every entry handed to it.
class RecordingKv : public KvStateMachine {
 public:
  explicit RecordingKv(std::shared_ptr<std::vector<uint64_t>> seen) : seen_(std::move(seen)) {}
  std::string apply(uint64_t index, uint64_t term, const std::string& data) override {
    seen_->push_back(index);
    return KvStateMachine::apply(index, term, data);
  }

 private:
  std::shared_ptr<std::vector<uint64_t>> seen_;
};

// Per node, the indexes its state machine was handed (across restarts).
struct Recorded {
  std::vector<std::shared_ptr<std::vector<uint64_t>>> seen;
  bool saw(NodeId id, uint64_t index) const {
    return std::find(seen[id]->begin(), seen[id]->end(), index) != seen[id]->end();
  }
};

raft_test::ClusterOptions recording(size_t nodes, Recorded& rec) {
  raft_test::ClusterOptions o;
  o.nodes = nodes;
  o.state_machine = [&rec]() {
    rec.seen.push_back(std::make_shared<std::vector<uint64_t>>());
    return std::make_unique<RecordingKv>(rec.seen.back());
  };
  return o;
}

// Elects node 0 (pre-vote and vote delivered at once) and commits its no-op.
void elect_node0(raft_test::Cluster& c) {
  REQUIRE(c.fire(0, "election"));
  c.stabilize();
  REQUIRE(c.node(0).role() == Role::kLeader);
  REQUIRE(c.node(0).commit_index() == c.node(0).last_log_index());
}

// The completions of `request` so far.
std::vector<Completion> done(const raft_test::Cluster& c, uint64_t request) {
  std::vector<Completion> out;
  for (const auto& [node, comp] : c.completions())
    if (comp.request_id == request) out.push_back(comp);
  return out;
}

// Position of `request`'s first completion in the order they were queued.
size_t done_position(const raft_test::Cluster& c, uint64_t request) {
  const auto& all = c.completions();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].second.request_id == request) return i;
  return SIZE_MAX;
}

}  // namespace

// ---------------------------------------------------------------- barrier

TEST_CASE("raft barrier: answered once the commands before it are applied, never seen by the state machine",
          "[raft][barrier]") {
  Recorded rec;
  raft_test::Cluster c(recording(3, rec));
  elect_node0(c);
  // Request ids are numbered by the harness from 1 in call order.
  REQUIRE(c.propose(0, KvStateMachine::put("a", "1")).ok());  // request 1
  REQUIRE(c.propose(0, KvStateMachine::put("b", "2")).ok());  // request 2
  const core::raft::Proposal b = c.barrier(0);                 // request 3
  REQUIRE(b.ok());
  CHECK(b.index == c.node(0).last_log_index());
  CHECK(b.term == c.node(0).term());
  REQUIRE(c.node(0).entry(b.index) != nullptr);
  CHECK(c.node(0).entry(b.index)->type == EntryType::kBarrier);
  // Appended, not yet committed: no answer yet.
  CHECK(done(c, 3).empty());
  CHECK(c.node(0).last_applied() < b.index - 1);

  c.stabilize();
  REQUIRE(c.node(0).last_applied() == b.index);
  const auto barrier_done = done(c, 3);
  REQUIRE(barrier_done.size() == 1);
  CHECK(barrier_done[0].error == core::raft::kOk);
  CHECK(barrier_done[0].index == b.index);
  CHECK(barrier_done[0].term == b.term);
  CHECK(barrier_done[0].result.empty());
  // The commands before it were answered first.
  CHECK(done_position(c, 1) < done_position(c, 3));
  CHECK(done_position(c, 2) < done_position(c, 3));
  CHECK(!rec.saw(0, b.index));
  CHECK(rec.saw(0, b.index - 1));

  // Followers apply it (once they learn the commit index) without touching
  // their state machines, and answer nobody.
  c.fire(0, "commit");
  c.stabilize();
  for (NodeId id : {1, 2}) {
    CHECK(c.node(id).last_applied() == b.index);
    CHECK(!rec.saw(id, b.index));
    CHECK(rec.saw(id, b.index - 1));
  }
  CHECK(done(c, 3).size() == 1);
  CHECK(c.checker().ok());
}

TEST_CASE("raft barrier: refused when not leader, like propose", "[raft][barrier]") {
  raft_test::Cluster c(raft_test::ClusterOptions{});
  elect_node0(c);
  const core::raft::Proposal p = c.barrier(1);
  CHECK(!p.ok());
  CHECK(p.error == "not leader; leader is 0");
  CHECK(c.node(1).last_log_index() == c.node(0).last_log_index());
}

TEST_CASE("raft barrier: the leader deposed before it commits answers leadership lost", "[raft][barrier]") {
  raft_test::Cluster c(raft_test::ClusterOptions{});
  elect_node0(c);
  c.isolate(0);
  const core::raft::Proposal b = c.barrier(0);
  REQUIRE(b.ok());
  c.stabilize();  // dropped
  CHECK(done(c, 1).empty());
  // Lease 50ms: without a quorum's contact the leader steps down.
  c.tick(60 * kMillisecond);
  REQUIRE(c.node(0).role() == Role::kFollower);
  const auto out = done(c, 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].error == core::raft::kLeadershipLost);
  CHECK(out[0].index == 0);
  CHECK(c.node(0).commit_index() < b.index);
}

TEST_CASE("raft barrier: the entry survives a restart and a restarted follower re-applies around it",
          "[raft][barrier]") {
  Recorded rec;
  raft_test::Cluster c(recording(3, rec));
  elect_node0(c);
  REQUIRE(c.propose(0, KvStateMachine::put("a", "1")).ok());
  const uint64_t barrier_index = c.barrier(0).index;
  REQUIRE(c.propose(0, KvStateMachine::put("c", "3")).ok());
  c.stabilize();
  c.fire(0, "commit");
  c.stabilize();
  REQUIRE(c.node(1).last_applied() == barrier_index + 1);

  // Unsynced writes lost: the barrier was synced with the rest of the log.
  c.crash(1, /*lose_unsynced=*/true);
  c.restart(1);
  REQUIRE(c.node(1).entry(barrier_index) != nullptr);
  CHECK(c.node(1).entry(barrier_index)->type == EntryType::kBarrier);
  CHECK(c.node(1).entry(barrier_index)->term == c.node(0).term());
  CHECK(c.node(1).entry(barrier_index)->data.empty());
  CHECK(c.node(1).last_log_index() == c.node(0).last_log_index());
  CHECK(c.node(1).last_applied() == 0);

  rec.seen[1]->clear();
  c.fire(0, "commit");
  c.stabilize();
  CHECK(c.node(1).last_applied() == barrier_index + 1);
  CHECK(rec.saw(1, barrier_index - 1));
  CHECK(rec.saw(1, barrier_index + 1));
  CHECK(!rec.saw(1, barrier_index));
  const auto& kv = dynamic_cast<const KvStateMachine&>(c.node(1).state_machine());
  CHECK(kv.data() == dynamic_cast<const KvStateMachine&>(c.node(0).state_machine()).data());
  CHECK(kv.data().size() == 2);

  // The whole cluster restarts: the leader's copy comes back too.
  for (NodeId id : {0, 1, 2}) c.crash(id, true);
  for (NodeId id : {0, 1, 2}) c.restart(id);
  for (NodeId id : {0, 1, 2}) {
    REQUIRE(c.node(id).entry(barrier_index) != nullptr);
    CHECK(c.node(id).entry(barrier_index)->type == EntryType::kBarrier);
  }
  CHECK(c.checker().ok());
}

// ---------------------------------------------------------------- verify_leader

TEST_CASE("raft verify_leader: a quorum of answers to heartbeats sent since the call confirms leadership",
          "[raft][verify]") {
  raft_test::Cluster c(raft_test::ClusterOptions{});
  elect_node0(c);
  REQUIRE(c.queued() == 0);
  const core::raft::Proposal p = c.verify(0);  // request 1
  REQUIRE(p.ok());
  CHECK(p.term == c.node(0).term());
  CHECK(p.index == 0);
  // A heartbeat to each peer at once; no answer yet.
  CHECK(c.queued() == 2);
  CHECK(done(c, 1).empty());
  c.deliver(kNoNode, 1);
  c.deliver(1, 0);  // n1 and n0 itself: 2 of 3
  const auto out = done(c, 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].error == core::raft::kOk);
  CHECK(out[0].index == 0);
  CHECK(out[0].term == p.term);
  CHECK(out[0].result == "verified");
  c.stabilize();
  CHECK(done(c, 1).size() == 1);
  CHECK(c.node(0).role() == Role::kLeader);
}

TEST_CASE("raft verify_leader: a minority's answers, however many, and answers to older heartbeats are not enough",
          "[raft][verify]") {
  raft_test::ClusterOptions o;
  o.nodes = 5;
  raft_test::Cluster c(o);
  elect_node0(c);
  // n2 answers a heartbeat sent before the call.
  REQUIRE(c.fire(0, "heartbeat/2"));
  REQUIRE(c.deliver(kNoNode, 2) == 1);
  REQUIRE(c.verify(0).ok());  // request 1
  c.deliver(kNoNode, 1);
  c.deliver(1, 0);
  CHECK(c.deliver(2, 0) == 1);  // the old answer: not counted
  CHECK(done(c, 1).empty());
  // n1 again: still one voter besides the leader.
  REQUIRE(c.fire(0, "heartbeat/1"));
  c.deliver(kNoNode, 1);
  CHECK(c.deliver(1, 0) == 1);
  CHECK(done(c, 1).empty());
  // n2's answer to the heartbeat sent by the call makes 3 of 5.
  c.deliver(kNoNode, 2);
  c.deliver(2, 0);
  const auto out = done(c, 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].error == core::raft::kOk);
  CHECK(c.checker().ok());
}

TEST_CASE("raft verify_leader: a partitioned leader fails it with leadership lost", "[raft][verify]") {
  SECTION("it steps down on its lease") {
    raft_test::Cluster c(raft_test::ClusterOptions{});
    elect_node0(c);
    c.isolate(0);
    REQUIRE(c.verify(0).ok());
    c.stabilize();  // heartbeats dropped
    CHECK(done(c, 1).empty());
    c.tick(60 * kMillisecond);  // lease 50ms
    REQUIRE(c.node(0).role() == Role::kFollower);
    const auto out = done(c, 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].error == core::raft::kLeadershipLost);
    CHECK(out[0].index == 0);
  }
  SECTION("without the lease check, it learns of the next leader when the partition heals") {
    raft_test::ClusterOptions o;
    o.config.check_quorum = false;
    raft_test::Cluster c(o);
    elect_node0(c);
    const uint64_t old_term = c.node(0).term();
    c.isolate(0);
    REQUIRE(c.verify(0).ok());
    c.run(500 * kMillisecond);
    REQUIRE(c.node(0).role() == Role::kLeader);  // still believes it leads
    CHECK(done(c, 1).empty());
    const bool new_leader = (c.node(1).role() == Role::kLeader) != (c.node(2).role() == Role::kLeader);
    REQUIRE(new_leader);
    c.heal();
    c.run(100 * kMillisecond);
    CHECK(c.node(0).role() == Role::kFollower);
    CHECK(c.node(0).term() > old_term);
    const auto out = done(c, 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].error == core::raft::kLeadershipLost);
    CHECK(c.checker().ok());
  }
}

TEST_CASE("raft verify_leader: a single voter verifies at once, nonvoters or not", "[raft][verify]") {
  raft_test::ClusterOptions o;
  o.nodes = 2;
  o.voters = {0};
  raft_test::Cluster c(o);
  REQUIRE(c.fire(0, "election"));
  REQUIRE(c.node(0).role() == Role::kLeader);
  REQUIRE(c.verify(0).ok());  // request 1
  REQUIRE(done(c, 1).size() == 1);
  CHECK(done(c, 1)[0].result == "verified");
  CHECK(c.queued() == 0);

  REQUIRE(c.change(0, "add-nonvoter", 1, 0).ok());  // request 2
  c.stabilize();
  c.fire(0, "commit");
  c.stabilize();
  REQUIRE(c.node(0).latest_configuration().find(1) != nullptr);
  REQUIRE(c.queued() == 0);
  REQUIRE(c.verify(0).ok());  // request 3
  REQUIRE(done(c, 3).size() == 1);
  CHECK(done(c, 3)[0].error == core::raft::kOk);
  CHECK(c.queued() == 0);
}

TEST_CASE("raft verify_leader: only the latest configuration's voters count", "[raft][verify]") {
  raft_test::ClusterOptions o;
  o.voters = {0, 1};
  raft_test::Cluster c(o);
  elect_node0(c);
  REQUIRE(c.change(0, "add-nonvoter", 2, 0).ok());  // request 1
  c.stabilize();
  c.fire(0, "commit");
  c.stabilize();
  REQUIRE(c.node(0).committed_configuration().find(2) != nullptr);
  c.isolate(1);
  REQUIRE(c.verify(0).ok());  // request 2
  c.stabilize();              // n2 answers; n1 is cut off
  CHECK(done(c, 2).empty());
  // Removing n1 leaves n0 the only voter: the verification has its quorum.
  c.heal();
  REQUIRE(c.change(0, "remove", 1, 0).ok());  // request 3
  const auto out = done(c, 2);
  REQUIRE(out.size() == 1);
  CHECK(out[0].error == core::raft::kOk);
}

TEST_CASE("raft verify_leader: refused when not leader, allowed during a leadership transfer", "[raft][verify]") {
  raft_test::Cluster c(raft_test::ClusterOptions{});
  elect_node0(c);
  const core::raft::Proposal p = c.verify(1);
  CHECK(!p.ok());
  CHECK(p.error == "not leader; leader is 0");
  REQUIRE(c.transfer(0, 2).empty());
  CHECK(c.propose(0, KvStateMachine::put("a", "1")).error == "leadership transfer in progress");
  CHECK(c.barrier(0).error == "leadership transfer in progress");
  CHECK(c.verify(0).ok());
}

// ---------------------------------------------------------------- bootstrap

namespace {

raft_test::ClusterOptions empty_servers(size_t nodes) {
  raft_test::ClusterOptions o;
  o.nodes = nodes;
  o.bootstrap = false;
  return o;
}

}  // namespace

TEST_CASE("raft bootstrap: a running server without state, bootstrapped alone, elects itself",
          "[raft][bootstrap]") {
  raft_test::Cluster c(empty_servers(1));
  // Without a configuration the election timer fires to no effect.
  REQUIRE(c.fire(0, "election"));
  REQUIRE(c.node(0).role() == Role::kFollower);
  REQUIRE(c.node(0).term() == 0);

  REQUIRE(c.bootstrap(0, {0}).empty());
  const core::raft::Node& n = c.node(0);
  CHECK(n.role() == Role::kFollower);
  CHECK(n.term() == 1);
  CHECK(n.first_log_index() == 1);
  CHECK(n.last_log_index() == 1);
  REQUIRE(n.entry(1) != nullptr);
  CHECK(n.entry(1)->term == 1);
  CHECK(n.entry(1)->type == EntryType::kConfiguration);
  CHECK(n.latest_configuration() == core::raft::Configuration::voters({0}));
  CHECK(n.latest_configuration_index() == 1);
  CHECK(n.commit_index() == 0);

  // The election timer that was already running makes it campaign.
  c.run(250 * kMillisecond);
  CHECK(n.role() == Role::kLeader);
  CHECK(n.term() == 2);
  CHECK(n.commit_index() == 2);
  CHECK(c.checker().ok());
}

TEST_CASE("raft bootstrap: three servers bootstrapped live elect one leader", "[raft][bootstrap]") {
  raft_test::Cluster c(empty_servers(3));
  c.run(300 * kMillisecond);  // nothing happens without a configuration
  for (NodeId id : {0, 1, 2}) REQUIRE(c.node(id).term() == 0);
  for (NodeId id : {0, 1, 2}) REQUIRE(c.bootstrap(id, {0, 1, 2}).empty());
  c.run(500 * kMillisecond);
  std::vector<NodeId> leaders;
  for (NodeId id : {0, 1, 2})
    if (c.node(id).role() == Role::kLeader) leaders.push_back(id);
  REQUIRE(leaders.size() == 1);
  for (NodeId id : {0, 1, 2}) {
    CHECK(c.node(id).leader() == leaders[0]);
    CHECK(c.node(id).commit_index() >= 2);
  }
  REQUIRE(c.propose(leaders[0], KvStateMachine::put("a", "1")).ok());
  c.run(100 * kMillisecond);
  for (NodeId id : {0, 1, 2}) CHECK(dynamic_cast<const KvStateMachine&>(c.node(id).state_machine()).data().size() == 1);
  CHECK(c.checker().ok());
}

TEST_CASE("raft bootstrap: refused on a server with any state, and without a voter", "[raft][bootstrap]") {
  const std::string kNotNew = "bootstrap only works on new clusters";
  SECTION("bootstrapped at its first boot") {
    raft_test::Cluster c(raft_test::ClusterOptions{});
    CHECK(c.bootstrap(1, {1}) == kNotNew);
    CHECK(c.node(1).latest_configuration() == core::raft::Configuration::voters({0, 1, 2}));
  }
  SECTION("bootstrapped live once already") {
    raft_test::Cluster c(empty_servers(1));
    REQUIRE(c.bootstrap(0, {0}).empty());
    CHECK(c.bootstrap(0, {0}) == kNotNew);
  }
  SECTION("an empty server that a leader has contacted") {
    raft_test::ClusterOptions o;
    o.voters = {0, 1};
    raft_test::Cluster c(o);
    elect_node0(c);
    REQUIRE(c.node(2).term() == 0);
    REQUIRE(c.change(0, "add-voter", 2, 0).ok());
    c.stabilize();
    REQUIRE(c.node(2).term() == c.node(0).term());
    const uint64_t last = c.node(2).last_log_index();
    CHECK(c.bootstrap(2, {2}) == kNotNew);
    CHECK(c.node(2).last_log_index() == last);
    CHECK(c.node(2).latest_configuration() == core::raft::Configuration::voters({0, 1, 2}));
  }
  SECTION("a server whose term alone was raised (a vote request)") {
    raft_test::ClusterOptions o;
    o.voters = {0, 1};
    o.config.pre_vote = false;
    o.config.leader_stickiness = false;
    raft_test::Cluster c(o);
    REQUIRE(c.fire(0, "election"));
    // n2 is not asked by n0; hand it n0's request as if it had been.
    core::raft::Msg m{1, core::raft::RequestVote{c.node(0).term(), 1, 1, false}};
    core::Message msg;
    msg.from = 0;
    msg.to = 2;
    msg.type = core::raft::kRequestVote;
    msg.body = std::make_shared<const core::raft::Msg>(std::move(m));
    c.inject(std::move(msg));
    REQUIRE(c.deliver(0, 2) == 1);
    REQUIRE(c.node(2).term() == c.node(0).term());
    REQUIRE(c.node(2).last_log_index() == 0);
    CHECK(c.bootstrap(2, {2}) == kNotNew);
  }
  SECTION("a configuration without a voter changes nothing") {
    raft_test::Cluster c(empty_servers(1));
    CHECK(c.node(0).term() == 0);
    CHECK(c.bootstrap(0, {}) == "need at least one voter in configuration: {}");
    CHECK(c.node(0).term() == 0);
    CHECK(c.node(0).last_log_index() == 0);
    CHECK(c.bootstrap(0, {0}).empty());
  }
}

TEST_CASE("raft bootstrap: the writes are synced before the call returns", "[raft][bootstrap]") {
  raft_test::Cluster c(empty_servers(1));
  REQUIRE(c.bootstrap(0, {0}).empty());
  c.crash(0, /*lose_unsynced=*/true);
  c.restart(0);
  CHECK(c.node(0).term() == 1);
  CHECK(c.node(0).last_log_index() == 1);
  CHECK(c.node(0).latest_configuration() == core::raft::Configuration::voters({0}));
  CHECK(c.bootstrap(0, {0}) == "bootstrap only works on new clusters");
  c.run(250 * kMillisecond);
  CHECK(c.node(0).role() == Role::kLeader);
}

// ---------------------------------------------------------------- randomized

TEST_CASE("raft client calls under random faults: safe, each request answered at most once", "[raft][soak]") {
  size_t barriers_ok = 0, verified = 0, lost = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    raft_test::ClusterOptions o;
    o.nodes = 5;
    o.seed = seed;
    o.manual_sync = true;
    o.config.trailing_logs = 5;
    o.config.snapshot_threshold = 8;
    raft_test::Cluster c(o);
    core::Rng rng(core::derive_seed(seed, 97, 0));
    std::map<uint64_t, std::string> kind;  // request id -> "barrier" | "verify" | "other"
    uint64_t requests = 0;
    for (size_t step = 0; step < 2000 && c.checker().ok(); ++step) {
      const auto n = static_cast<NodeId>(rng.below(o.nodes));
      const auto m = static_cast<NodeId>(rng.below(o.nodes));
      const uint64_t dice = rng.below(100);
      const bool leads = c.up(n) && c.node(n).role() == Role::kLeader;
      if (dice < 35) {
        c.deliver(n, m, 0, rng.chance(0.05), 1 + rng.below(3));
      } else if (dice < 45) {
        c.tick(static_cast<core::Duration>(rng.below(20)) * kMillisecond);
      } else if (dice < 55) {
        if (c.up(n)) c.complete_sync(n);
      } else if (dice < 61) {
        if (leads) {
          c.propose(n, KvStateMachine::put("k" + std::to_string(m), std::to_string(step)));
          kind[++requests] = "other";
        }
      } else if (dice < 66) {
        if (leads) {
          c.barrier(n);
          kind[++requests] = "barrier";
        }
      } else if (dice < 71) {
        if (leads) {
          c.verify(n);
          kind[++requests] = "verify";
        }
      } else if (dice < 72) {
        if (c.up(n)) c.crash(n, rng.chance(0.5));
        else c.restart(n);
      } else if (dice < 75) {
        if (!c.up(n)) c.restart(n);
      } else if (dice < 76) {
        c.isolate(n);
      } else if (dice < 80) {
        c.heal();
      } else if (dice < 82) {
        if (c.up(n)) c.snapshot(n);
      } else if (dice < 83) {
        if (leads) c.transfer(n, kNoNode);
      } else {
        // Everything pending, after syncing all: lets requests finish.
        for (NodeId i = 0; i < o.nodes; ++i)
          if (c.up(i)) c.complete_sync(i);
        c.deliver();
      }
      c.take_output();
    }
    INFO("seed " << seed << ": " << c.checker().summary());
    REQUIRE(c.checker().ok());
    std::map<uint64_t, size_t> answers;
    for (const auto& [node, comp] : c.completions()) {
      INFO("request " << comp.request_id);
      CHECK(++answers[comp.request_id] == 1);
      const std::string& k = kind[comp.request_id];
      if (comp.error == core::raft::kLeadershipLost) {
        ++lost;
        CHECK(comp.index == 0);
      } else if (k == "verify") {
        ++verified;
        CHECK(comp.index == 0);
        CHECK(comp.result == "verified");
      } else if (k == "barrier") {
        ++barriers_ok;
        CHECK(comp.index != 0);
        CHECK(comp.result.empty());
      }
    }
  }
  // The runs did exercise both outcomes.
  CHECK(barriers_ok > 0);
  CHECK(verified > 0);
  CHECK(lost > 0);
}

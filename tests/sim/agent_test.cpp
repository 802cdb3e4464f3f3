// The Consul agent in the simulator, without the scenario layer: a
// datacenter of servers and clients made of core::agent::Agent nodes. A
// leader is elected and registers every member with serfHealth passing;
// anti-entropy syncs a client's services and checks; KV writes and reads go
// through the RPC path in every read mode; user events reach every ring;
// failures, reaps, leaves and a leader crash are reconciled into the catalog;
// TTL and TCP checks change status; runs replay exactly.
#include <catch2/catch.hpp>

#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/agent/agent.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/sim/hook_node.hpp"

using core::kMillisecond;
using core::kSecond;
using core::NodeId;
using core::agent::Agent;
using core::agent::AgentConfig;
using core::agent::CheckDefinition;
using core::agent::CheckStatus;
using core::agent::Directory;
using core::agent::Method;
using core::agent::ReadMode;
using core::agent::RpcRequest;
using core::agent::RpcResponse;
using sim::Simulation;

namespace {

struct Dc {
  std::unique_ptr<Simulation> sim;
  uint32_t servers = 0;
  uint32_t n = 0;
  Agent* agent(NodeId i) { return sim->is_up(i) ? static_cast<Agent*>(sim->node(i)) : nullptr; }
  core::Env& env(NodeId i) { return sim->env(i); }
  // The running leader, or kNoNode.
  NodeId leader() {
    for (NodeId i = 0; i < servers; ++i) {
      Agent* a = agent(i);
      if (a && !a->shut_down() && a->server()->is_leader()) return i;
    }
    return core::kNoNode;
  }
  const core::catalog::Store& catalog() {
    const NodeId l = leader();
    REQUIRE(l != core::kNoNode);
    return agent(l)->server()->store();
  }
  void run_for(core::Duration d) { sim->run_until(sim->now() + d); }
  // An RPC through agent `via`; the answer once it came (runs the simulation up to `within`).
  std::optional<RpcResponse> call(NodeId via, RpcRequest req, core::Duration within = 20 * kSecond) {
    auto out = std::make_shared<std::optional<RpcResponse>>();
    agent(via)->rpc(env(via), std::move(req), [out](core::Env&, const RpcResponse& r) { *out = r; });
    const core::Time until = sim->now() + within;
    while (!*out && sim->now() < until) sim->run_until(std::min(until, sim->now() + 10 * kMillisecond));
    return *out;
  }
};

AgentConfig base_config(std::shared_ptr<const Directory> dir, bool server, uint32_t servers) {
  AgentConfig c;
  c.server = server;
  c.directory = std::move(dir);
  c.raft = core::raft::Config::consul(1);
  c.bootstrap_expect = server ? servers : 0;
  c.ae_interval = 60 * kSecond;
  return c;
}

// `servers` servers then `clients` clients in one formed pool (LAN 1-3 ms).
Dc make_dc(uint32_t servers, uint32_t clients, uint64_t seed, std::function<void(AgentConfig&)> tweak = nullptr,
           std::function<void(NodeId, AgentConfig&)> tweak_node = nullptr) {
  Dc dc;
  dc.servers = servers;
  dc.n = servers + clients;
  dc.sim = std::make_unique<Simulation>(seed);
  sim::LinkParams lan;
  lan.latency = sim::Distribution::uniform(kMillisecond, 3 * kMillisecond);
  dc.sim->network().add_lan("dc1", lan);
  auto dir = std::make_shared<Directory>();
  dir->datacenters = {"dc1"};
  for (uint32_t i = 0; i < dc.n; ++i)
    dir->nodes.push_back({i < servers ? sim_test::numbered("s", i + 1) : sim_test::numbered("c", i - servers + 1), i < servers, 0});
  auto all = std::make_shared<std::vector<NodeId>>(dc.n);
  std::iota(all->begin(), all->end(), 0);
  auto srv = std::make_shared<std::vector<NodeId>>(servers);
  std::iota(srv->begin(), srv->end(), 0);
  for (uint32_t i = 0; i < dc.n; ++i) {
    AgentConfig c = base_config(dir, i < servers, servers);
    c.lan_known = all;
    c.wan_known = srv;
    if (tweak) tweak(c);
    if (tweak_node) tweak_node(i, c);
    dc.sim->add_node(dir->nodes[i].name, 0, [c](NodeId id) { return std::make_unique<Agent>(id, c); });
  }
  dc.sim->start_all();
  return dc;
}

bool serf_health(const core::catalog::Store& st, const std::string& node, core::catalog::Health h) {
  const core::catalog::Check* c = st.check(node, core::catalog::kSerfCheckId);
  return c && c->status == h;
}

RpcRequest kv_put(const std::string& key, const std::string& value) {
  RpcRequest r;
  r.method = Method::kKvsApply;
  core::catalog::KvsRequest k;
  k.op = core::catalog::KvOp::kSet;
  k.entry.key = key;
  k.entry.value = value;
  r.args = k;
  return r;
}

RpcRequest kv_get(const std::string& key, ReadMode mode) {
  RpcRequest r;
  r.method = Method::kKvsGet;
  r.mode = mode;
  r.args = core::agent::KeyQuery{key};
  return r;
}

}  // namespace

TEST_CASE("agent: a datacenter elects a leader that registers every member", "[agent]") {
  Dc dc = make_dc(3, 5, 1);
  dc.run_for(15 * kSecond);
  REQUIRE(dc.leader() != core::kNoNode);
  const auto& st = dc.catalog();
  CHECK(st.node_count() == 8);
  for (NodeId i = 0; i < dc.n; ++i) {
    const std::string& name = dc.agent(i)->name();
    CHECK(serf_health(st, name, core::catalog::Health::kPassing));
    CHECK((st.service(name, "consul") != nullptr) == (i < 3));
  }
  // Every agent's first full sync succeeded by now (or a retry did).
  for (NodeId i = 0; i < dc.n; ++i) CHECK(dc.agent(i)->syncer().full_syncs() >= 1);
}

TEST_CASE("agent: anti-entropy syncs a client's services and checks, and removes them", "[agent]") {
  Dc dc = make_dc(3, 2, 2);
  dc.run_for(15 * kSecond);
  const NodeId c1 = 3;
  Agent& a = *dc.agent(c1);
  core::agent::Service web;
  web.name = "web";
  web.tags = {"v2", "v1"};
  web.port = 8080;
  REQUIRE(a.add_service(dc.env(c1), "web-1", web).empty());
  CheckDefinition ttl;
  ttl.kind = CheckDefinition::Kind::kTtl;
  ttl.name = "web alive";
  ttl.service_id = "web-1";
  ttl.ttl = 30 * kSecond;
  REQUIRE(a.add_check(dc.env(c1), "web-ttl", ttl).empty());
  dc.run_for(2 * kSecond);
  {
    const auto& st = dc.catalog();
    const core::catalog::Service* s = st.service("c1", "web-1");
    REQUIRE(s != nullptr);
    CHECK(s->name == "web");
    CHECK(s->tags == std::vector<std::string>{"v1", "v2"});
    const core::catalog::Check* chk = st.check("c1", "web-ttl");
    REQUIRE(chk != nullptr);
    CHECK(chk->status == core::catalog::Health::kCritical);
  }
  REQUIRE(a.update_ttl(dc.env(c1), "web-ttl", CheckStatus::kPassing, "ok").empty());
  dc.run_for(2 * kSecond);
  CHECK(dc.catalog().check("c1", "web-ttl")->status == core::catalog::Health::kPassing);
  // Not updated again: critical after the TTL.
  dc.run_for(31 * kSecond);
  CHECK(a.local().check("web-ttl")->check.status == CheckStatus::kCritical);
  CHECK(dc.catalog().check("c1", "web-ttl")->status == core::catalog::Health::kCritical);
  REQUIRE(a.remove_service(dc.env(c1), "web-1").empty());
  dc.run_for(2 * kSecond);
  CHECK(dc.catalog().service("c1", "web-1") == nullptr);
  CHECK(dc.catalog().check("c1", "web-ttl") == nullptr);
  for (const auto& [id, s] : a.local().services()) CHECK(s.in_sync);
}

TEST_CASE("agent: a full sync deregisters what the agent does not have", "[agent]") {
  Dc dc = make_dc(3, 1, 3, [](AgentConfig& c) { c.ae_interval = 5 * kSecond; });
  dc.run_for(15 * kSecond);
  // Someone registers a service for c1 straight into the catalog.
  RpcRequest req;
  req.method = Method::kCatalogRegister;
  core::catalog::RegisterRequest r;
  r.node = "c1";
  r.node_id = dc.agent(3)->local().config().node.id;
  r.address = 3;
  core::catalog::Service s;
  s.id = "ghost";
  s.name = "ghost";
  r.service = s;
  req.args = r;
  auto resp = dc.call(0, req);
  REQUIRE(resp);
  REQUIRE(resp->ok);
  CHECK(dc.catalog().service("c1", "ghost") != nullptr);
  // The next full sync (within interval + stagger = 5..10 s) removes it.
  dc.run_for(12 * kSecond);
  CHECK(dc.catalog().service("c1", "ghost") == nullptr);
}

TEST_CASE("agent: KV through a client in every read mode", "[agent]") {
  Dc dc = make_dc(3, 2, 4);
  dc.run_for(15 * kSecond);
  auto put = dc.call(3, kv_put("k1", "v1"));
  REQUIRE(put);
  REQUIRE(put->ok);
  CHECK(put->raft_index > 0);
  CHECK(std::get<core::catalog::ApplyResult>(put->reply).code == core::catalog::ApplyResult::kOk);
  for (ReadMode m : {ReadMode::kDefault, ReadMode::kConsistent, ReadMode::kStale}) {
    dc.run_for(100 * kMillisecond);  // a stale read may lag by a heartbeat
    auto got = dc.call(4, kv_get("k1", m));
    REQUIRE(got);
    REQUIRE(got->ok);
    const auto& e = std::get<std::optional<core::catalog::KvEntry>>(got->reply);
    REQUIRE(e.has_value());
    CHECK(e->value == "v1");
    CHECK(got->index >= put->raft_index);
    CHECK(got->known_leader);
  }
  auto missing = dc.call(4, kv_get("nope", ReadMode::kDefault));
  REQUIRE(missing);
  CHECK(missing->ok);
  CHECK_FALSE(std::get<std::optional<core::catalog::KvEntry>>(missing->reply).has_value());
  // A CAS with a stale index fails without writing.
  RpcRequest cas = kv_put("k1", "v2");
  std::get<core::catalog::KvsRequest>(cas.args).op = core::catalog::KvOp::kCas;
  std::get<core::catalog::KvsRequest>(cas.args).entry.modify_index = 1;
  auto casr = dc.call(3, cas);
  REQUIRE(casr);
  REQUIRE(casr->ok);
  CHECK(std::get<core::catalog::ApplyResult>(casr->reply).code == core::catalog::ApplyResult::kFalse);
  CHECK(dc.catalog().kv_get("k1").value->value == "v1");
}

TEST_CASE("agent: a user event reaches every agent's ring, filters apply", "[agent]") {
  Dc dc = make_dc(3, 6, 5);
  dc.run_for(10 * kSecond);
  core::agent::UserEvent ev;
  ev.name = "deploy";
  ev.payload_size = 20;
  auto ok = std::make_shared<int>(0);
  REQUIRE(dc.agent(4)->fire_event(dc.env(4), ev, "", [ok](core::Env&, const RpcResponse& r) { *ok = r.ok ? 1 : -1; }).empty());
  core::agent::UserEvent only_c;
  only_c.name = "clients";
  only_c.node_filter = "c";
  REQUIRE(dc.agent(0)->fire_event(dc.env(0), only_c, "", nullptr).empty());
  dc.run_for(5 * kSecond);
  CHECK(*ok == 1);
  for (NodeId i = 0; i < dc.n; ++i) {
    bool deploy = false, clients = false;
    for (const core::agent::UserEvent& e : dc.agent(i)->events().events()) {
      deploy = deploy || e.name == "deploy";
      clients = clients || e.name == "clients";
    }
    CHECK(deploy);
    CHECK(clients == (i >= 3));
  }
  CHECK(dc.agent(5)->events().last() != nullptr);
}

TEST_CASE("agent: a failed client turns critical, is reaped and deregistered", "[agent]") {
  Dc dc = make_dc(3, 3, 6, [](AgentConfig& c) {
    c.serf_lan.reconnect_timeout = 60 * kSecond;
    c.serf_lan.reap_interval = 5 * kSecond;
  });
  dc.run_for(15 * kSecond);
  dc.sim->crash(5);
  dc.run_for(40 * kSecond);
  CHECK(serf_health(dc.catalog(), "c3", core::catalog::Health::kCritical));
  dc.run_for(60 * kSecond);
  CHECK(dc.catalog().node("c3") == nullptr);
}

TEST_CASE("agent: a client's graceful leave deregisters it; a leaving server leaves Raft", "[agent]") {
  Dc dc = make_dc(3, 2, 7);
  dc.run_for(15 * kSecond);
  REQUIRE(dc.agent(4)->leave(dc.env(4)).empty());
  dc.run_for(15 * kSecond);
  CHECK(dc.agent(4)->shut_down());
  CHECK(dc.catalog().node("c2") == nullptr);
  // A follower server leaves: the leader removes it from Raft.
  const NodeId l = dc.leader();
  const NodeId f = l == 0 ? 1 : 0;
  REQUIRE(dc.agent(f)->leave(dc.env(f)).empty());
  dc.run_for(20 * kSecond);
  CHECK(dc.agent(f)->shut_down());
  const NodeId l2 = dc.leader();
  REQUIRE(l2 != core::kNoNode);
  CHECK(dc.agent(l2)->server()->raft().latest_configuration().find(f) == nullptr);
  CHECK(dc.catalog().node(dc.agent(l2)->name()) != nullptr);
}

TEST_CASE("agent: a new leader after the leader crashes; KV keeps working", "[agent]") {
  Dc dc = make_dc(3, 2, 8);
  dc.run_for(15 * kSecond);
  const NodeId l = dc.leader();
  REQUIRE(l != core::kNoNode);
  auto put = dc.call(3, kv_put("a", "1"));
  REQUIRE((put && put->ok));
  dc.sim->crash(l);
  dc.run_for(10 * kSecond);
  const NodeId l2 = dc.leader();
  REQUIRE(l2 != core::kNoNode);
  CHECK(l2 != l);
  auto put2 = dc.call(3, kv_put("a", "2"));
  REQUIRE(put2);
  CHECK(put2->ok);
  auto got = dc.call(4, kv_get("a", ReadMode::kConsistent));
  REQUIRE((got && got->ok));
  CHECK(std::get<std::optional<core::catalog::KvEntry>>(got->reply)->value == "2");
}

TEST_CASE("agent: a TCP check on another node fails when that node is cut off", "[agent]") {
  Dc dc = make_dc(3, 2, 9);
  dc.run_for(10 * kSecond);
  core::agent::Service db;
  db.name = "db";
  REQUIRE(dc.agent(4)->add_service(dc.env(4), "db", db).empty());
  CheckDefinition tcp;
  tcp.kind = CheckDefinition::Kind::kTcp;
  tcp.name = "db reachable";
  tcp.interval = 2 * kSecond;
  tcp.timeout = kSecond;
  tcp.target = 4;
  tcp.target_service = "db";
  REQUIRE(dc.agent(3)->add_check(dc.env(3), "db-tcp", tcp).empty());
  dc.run_for(5 * kSecond);
  CHECK(dc.agent(3)->local().check("db-tcp")->check.status == CheckStatus::kPassing);
  dc.sim->network().block(3, 4);
  dc.run_for(5 * kSecond);
  CHECK(dc.agent(3)->local().check("db-tcp")->check.status == CheckStatus::kCritical);
  dc.sim->network().heal();
  dc.agent(4)->set_service_answers("db", false);
  dc.run_for(5 * kSecond);
  CHECK(dc.agent(3)->local().check("db-tcp")->check.status == CheckStatus::kCritical);
  dc.agent(4)->set_service_answers("db", true);
  dc.run_for(5 * kSecond);
  CHECK(dc.agent(3)->local().check("db-tcp")->check.status == CheckStatus::kPassing);
}

TEST_CASE("agent: services survive a restart of their agent", "[agent]") {
  Dc dc = make_dc(3, 1, 10);
  dc.run_for(10 * kSecond);
  core::agent::Service s;
  s.name = "cache";
  REQUIRE(dc.agent(3)->add_service(dc.env(3), "", s).empty());
  dc.run_for(2 * kSecond);
  dc.sim->crash(3);
  dc.run_for(2 * kSecond);
  dc.sim->restart(3);
  dc.run_for(kSecond);
  REQUIRE(dc.agent(3)->local().service("cache") != nullptr);
  dc.run_for(5 * kSecond);
  CHECK(dc.catalog().service("c1", "cache") != nullptr);
}

TEST_CASE("agent: retry_join keeps trying every retry_interval until a join contacts someone", "[agent]") {
  // c2 starts outside the pool and joins c1, which is down until 40s.
  const NodeId c1 = 3, c2 = 4;
  auto pool = std::make_shared<std::vector<NodeId>>(std::vector<NodeId>{0, 1, 2, 3});
  Dc dc = make_dc(3, 2, 13, nullptr, [&](NodeId id, AgentConfig& c) {
    c.lan_known = id == c2 ? nullptr : pool;
    if (id == c2) c.retry_join = {c1};
  });
  dc.sim->crash(c1);
  dc.run_for(35 * kSecond);
  CHECK(dc.agent(c2)->delegate().lan_member_count() == 1);  // still alone after the 0s and 30s tries
  dc.sim->restart(c1);
  dc.run_for(30 * kSecond);  // the 60s try reaches c1
  CHECK(dc.agent(c2)->delegate().lan_member_count() == 5);
  dc.run_for(10 * kSecond);
  CHECK(serf_health(dc.catalog(), "c2", core::catalog::Health::kPassing));
}

TEST_CASE("agent: runs replay exactly", "[agent]") {
  auto run = [](uint64_t seed) {
    Dc dc = make_dc(3, 4, seed);
    dc.run_for(20 * kSecond);
    core::agent::Service s;
    s.name = "web";
    dc.agent(4)->add_service(dc.env(4), "", s);
    dc.run_for(5 * kSecond);
    return std::make_pair(dc.sim->trace_hash(), dc.sim->trace_events());
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
}

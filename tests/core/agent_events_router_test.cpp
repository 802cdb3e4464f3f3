// Unit tests of two agent pieces of Consul v1.9.0: the user-event ring
// (agent/user_event.go, server_serf.go event names; reference gossip_ae.md
// E.4) and the client's server list with its rebalance delay and RPC retry
// rule (agent/router/manager.go, client.go RPC, rpc.go canRetry; E.2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/agent/server_manager.hpp"
#include "core/agent/user_events.hpp"

using core::Duration;
using core::kMillisecond;
using core::kSecond;
using namespace core::agent;

namespace {

UserEvent ev(const std::string& name, uint64_t ltime) {
  UserEvent e;
  e.id = "id-" + std::to_string(ltime);
  e.name = name;
  e.ltime = ltime;
  return e;
}

std::map<std::string, ServiceState> services_of(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& list) {
  std::map<std::string, ServiceState> out;
  for (const auto& [id, tags] : list) {
    ServiceState st;
    st.service.name = id;
    st.service.tags = tags;
    out[id] = st;
  }
  return out;
}

ServerMeta srv(const std::string& name, core::NodeId node = 0, const std::string& dc = "dc1") {
  return ServerMeta{name, node, dc};
}

std::vector<std::string> names(const std::vector<ServerMeta>& list) {
  std::vector<std::string> out;
  for (const ServerMeta& s : list) out.push_back(s.name);
  return out;
}

}  // namespace

TEST_CASE("user events: serf names carry the consul:event: prefix", "[agent]") {
  CHECK(user_event_name("deploy") == "consul:event:deploy");
  CHECK(is_user_event("consul:event:deploy"));
  CHECK_FALSE(is_user_event("consul:new-leader"));
  CHECK(raw_user_event_name("consul:event:deploy") == "deploy");
  CHECK(raw_user_event_name("deploy") == "deploy");  // TrimPrefix leaves it
  CHECK(raw_user_event_name(user_event_name("")) == "");
}

TEST_CASE("user events: validation at fire time", "[agent]") {
  UserEvent e = ev("", 1);
  CHECK(validate_user_event(e) == UserEventError::kMissingName);
  e.name = "x";
  e.tag_filter = "v1";
  CHECK(validate_user_event(e) == UserEventError::kTagWithoutService);
  e.service_filter = "web";
  CHECK_FALSE(validate_user_event(e).has_value());
}

TEST_CASE("user events: empty ring, order oldest to newest, last event", "[agent]") {
  UserEventRing ring;
  CHECK(ring.events().empty());
  CHECK(ring.last() == nullptr);
  for (uint64_t i = 1; i <= 5; ++i) CHECK(ring.ingest(ev("e", i)));
  const auto out = ring.events();
  REQUIRE(out.size() == 5);
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i].ltime == i + 1);
  REQUIRE(ring.last() != nullptr);
  CHECK(ring.last()->ltime == 5);
  CHECK(ring.index() == 5);
  CHECK(ring.notifies() == 5);
}

TEST_CASE("user events: the ring wraps at 256, dropping the oldest", "[agent]") {
  UserEventRing ring;
  for (uint64_t i = 1; i <= 255; ++i) ring.ingest(ev("e", i));
  CHECK(ring.size() == 255);
  CHECK(ring.events().front().ltime == 1);
  ring.ingest(ev("e", 256));  // exactly full: eventIndex back at 0
  CHECK(ring.index() == 0);
  auto out = ring.events();
  REQUIRE(out.size() == 256);
  CHECK(out.front().ltime == 1);
  CHECK(out.back().ltime == 256);
  CHECK(ring.last()->ltime == 256);

  for (uint64_t i = 257; i <= 300; ++i) ring.ingest(ev("e", i));
  out = ring.events();
  REQUIRE(out.size() == 256);
  CHECK(out.front().ltime == 300 - 256 + 1);  // 45: the 44 oldest overwritten
  for (size_t i = 1; i < out.size(); ++i) CHECK(out[i].ltime == out[i - 1].ltime + 1);
  CHECK(ring.last()->ltime == 300);
  CHECK(ring.index() == 300 % 256);
}

TEST_CASE("user events: arrival order is kept, not LTime order", "[agent]") {
  UserEventRing ring;
  ring.ingest(ev("a", 9));
  ring.ingest(ev("b", 3));
  const auto out = ring.events();
  REQUIRE(out.size() == 2);
  CHECK(out[0].name == "a");
  CHECK(out[1].name == "b");
  CHECK(ring.last()->name == "b");
}

TEST_CASE("user events: _rexec is not stored", "[agent]") {
  UserEventRing ring;
  CHECK_FALSE(ring.ingest(ev(std::string(kRemoteExecName), 1)));
  CHECK(ring.events().empty());
  CHECK(ring.notifies() == 0);
}

TEST_CASE("user events: filter rule is prefix, ^ ignored, $ exact (Deviation)", "[agent]") {
  CHECK(filter_matches("", "anything"));
  CHECK(filter_matches("web", "web"));
  CHECK(filter_matches("web", "web-1"));
  CHECK_FALSE(filter_matches("web", "my-web"));
  CHECK(filter_matches("^web", "web-1"));
  CHECK(filter_matches("^web$", "web"));
  CHECK_FALSE(filter_matches("^web$", "web-1"));
  CHECK(filter_matches("web$", "web"));
}

TEST_CASE("user events: node, service and tag filters", "[agent]") {
  const auto services = services_of({{"api", {"v2"}}, {"web-1", {"blue", "v1"}}});
  UserEventRing ring;

  UserEvent e = ev("deploy", 1);
  CHECK(ring.handle(e, "node-7", services));  // no filters: accepted

  e.node_filter = "node-";
  CHECK(should_process_user_event(e, "node-7", services));
  e.node_filter = "^node-8$";
  CHECK_FALSE(should_process_user_event(e, "node-7", services));
  CHECK_FALSE(ring.handle(e, "node-7", services));
  e.node_filter.clear();

  e.service_filter = "web";
  CHECK(should_process_user_event(e, "n", services));
  e.service_filter = "db";
  CHECK_FALSE(should_process_user_event(e, "n", services));

  e.service_filter = "web";
  e.tag_filter = "v1";
  CHECK(should_process_user_event(e, "n", services));
  e.tag_filter = "v2";  // api has v2, but api does not match "web"
  CHECK_FALSE(should_process_user_event(e, "n", services));
  e.service_filter = "";  // a tag filter alone is ignored (Consul)
  CHECK(should_process_user_event(e, "n", services));

  // Deleted services do not count (State.Services omits them).
  auto gone = services;
  gone["web-1"].deleted = true;
  e.service_filter = "web";
  e.tag_filter.clear();
  CHECK_FALSE(should_process_user_event(e, "n", gone));

  // A node filter and a service filter must both pass.
  e.node_filter = "node-7";
  CHECK(should_process_user_event(e, "node-7", services));
  CHECK_FALSE(should_process_user_event(e, "node-9", services));

  REQUIRE(ring.events().size() == 1);
  CHECK(ring.last()->name == "deploy");
}

TEST_CASE("server manager: add, replace in place, remove, find", "[agent]") {
  ServerManager m("dc1");
  CHECK(m.offline());
  CHECK(m.find_server() == nullptr);
  m.add_server(srv("s1", 1));
  CHECK_FALSE(m.offline());
  m.add_server(srv("s2", 2));
  m.add_server(srv("s3", 3));
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2", "s3"});
  m.add_server(srv("s2", 22));  // known: replaced in place
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(m.servers()[1].node == 22);
  REQUIRE(m.find_server() != nullptr);
  CHECK(m.find_server()->name == "s1");
  CHECK(m.remove_server("s1"));
  CHECK_FALSE(m.remove_server("s1"));
  CHECK(m.find_server()->name == "s2");
  CHECK(m.num_servers() == 2);
}

TEST_CASE("server manager: serf member events", "[agent]") {
  ServerManager m("dc1");
  MemberEffect fx = m.on_member_event(MemberEvent::kJoin, true, srv("s1"));
  CHECK(fx.added);
  CHECK(fx.server_up);
  fx = m.on_member_event(MemberEvent::kJoin, false, srv("client-1"));  // not a server
  CHECK_FALSE(fx.added);
  fx = m.on_member_event(MemberEvent::kJoin, true, srv("s9", 9, "dc2"));  // wrong datacenter
  CHECK_FALSE(fx.added);
  fx = m.on_member_event(MemberEvent::kUpdate, true, srv("s2"));
  CHECK(fx.added);
  CHECK_FALSE(fx.server_up);
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2"});
  for (MemberEvent k : {MemberEvent::kLeave, MemberEvent::kFailed, MemberEvent::kReap}) {
    m.add_server(srv("s3"));
    fx = m.on_member_event(k, true, srv("s3"));
    CHECK(fx.removed);
  }
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2"});
}

TEST_CASE("server manager: a failed first server rotates to the end", "[agent]") {
  ServerManager m("dc1");
  for (const char* n : {"s1", "s2", "s3"}) m.add_server(srv(n));
  CHECK_FALSE(m.notify_failed_server("s2"));  // not the first: no change
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(m.notify_failed_server("s1"));
  CHECK(names(m.servers()) == std::vector<std::string>{"s2", "s3", "s1"});
  CHECK(m.find_server()->name == "s2");
  CHECK(m.notify_failed_server("s2"));
  CHECK(m.notify_failed_server("s3"));
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s2", "s3"});

  ServerManager one("dc1");
  one.add_server(srv("only"));
  CHECK_FALSE(one.notify_failed_server("only"));  // a single server stays
}

TEST_CASE("server manager: rebalance interval table", "[agent]") {
  // Delay(servers, nodes) = max(2 min + U[0, 1 min), nodes * 15.625 ms / servers).
  struct Row {
    uint64_t servers, nodes;
    Duration node_term;  // computed by hand
  };
  const std::vector<Row> rows = {
      {3, 10, 52'083'333},            // 156.25 ms / 3 = 52.083 ms -> the 120..180 s floor
      {3, 1000, 5'208'333'333},       // 15.625 s / 3 = 5.208 s -> floor
      {5, 10000, 31'250 * kMillisecond},  // 156.25 s / 5 = 31.25 s -> floor
  };
  core::Rng rng(42);
  for (const Row& r : rows) {
    CHECK(rebalance_node_delay(r.servers, r.nodes) == r.node_term);
    for (int i = 0; i < 200; ++i) {
      const Duration d = rebalance_delay(rng, r.servers, r.nodes);
      CHECK(d >= 120 * kSecond);
      CHECK(d < 180 * kSecond);
    }
  }
  // Above the floor the node term wins outright: 100,000 nodes / 5 servers
  // = 20,000 * 15.625 ms = 312.5 s; 11,520 nodes per server = exactly 180 s.
  CHECK(rebalance_delay(rng, 5, 100000) == 312'500 * kMillisecond);
  CHECK(rebalance_delay(rng, 1, 11520) == 180 * kSecond);
  // No servers: the floor; the jitter is drawn in every case.
  const Duration d0 = rebalance_delay(rng, 0, 1'000'000);
  CHECK(d0 >= 120 * kSecond);
  CHECK(d0 < 180 * kSecond);
  core::Rng a(7), b(7);
  (void)rebalance_delay(a, 5, 100000);  // one draw, though the node term wins
  (void)b.next();
  CHECK(a.next() == b.next());
  CHECK(kRebalanceMinDelay == 120 * kSecond);
  CHECK(kRebalanceDelayPerNode == 15'625'000);
}

TEST_CASE("server manager: the shuffle is deterministic with a seed", "[agent]") {
  std::vector<ServerMeta> base;
  for (int i = 0; i < 7; ++i) base.push_back(srv("s" + std::to_string(i)));
  std::set<std::vector<std::string>> seen;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto x = base, y = base;
    core::Rng r1(seed), r2(seed);
    ServerManager::shuffle_servers(x, r1);
    ServerManager::shuffle_servers(y, r2);
    CHECK(names(x) == names(y));
    auto sorted = names(x);
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == names(base));  // a permutation
    seen.insert(names(x));
  }
  CHECK(seen.size() > 10);  // seeds give different orders
  // Fisher-Yates from the back draws n - 1 values.
  auto x = base;
  core::Rng r(3), probe(3);
  ServerManager::shuffle_servers(x, r);
  for (int i = 0; i < 6; ++i) (void)probe.next();
  CHECK(r.next() == probe.next());
}

TEST_CASE("server manager: rebalance pings from the front and cycles failures", "[agent]") {
  ServerManager m("dc1");
  for (const char* n : {"s1", "s2", "s3", "s4"}) m.add_server(srv(n));
  core::Rng r1(11), r2(11);
  const auto candidates = m.rebalance_candidates(r1);
  std::vector<std::string> pinged;
  const std::string dead = candidates.front().name;
  CHECK(m.rebalance(r2, [&](const ServerMeta& s) {
    pinged.push_back(s.name);
    return s.name != dead;
  }));
  REQUIRE(pinged.size() == 2);
  CHECK(pinged[0] == dead);
  CHECK(m.find_server()->name == candidates[1].name);
  CHECK(m.servers().back().name == dead);  // cycled to the back
  CHECK_FALSE(m.offline());

  // No server answers: offline, list unchanged.
  const auto before = m.servers();
  core::Rng r3(5);
  int pings = 0;
  CHECK_FALSE(m.rebalance(r3, [&](const ServerMeta&) { return ++pings, false; }));
  CHECK(pings == 4);
  CHECK(m.offline());
  CHECK(m.servers() == before);

  // A server's own name is healthy without a ping.
  ServerManager self("dc1", "s2");
  self.add_server(srv("s2"));
  core::Rng r4(1);
  CHECK(self.rebalance(r4, [](const ServerMeta&) { return false; }));
  CHECK_FALSE(self.offline());
}

TEST_CASE("server manager: reconcile merges changes made during a rebalance", "[agent]") {
  ServerManager m("dc1");
  for (const char* n : {"s1", "s2", "s3"}) m.add_server(srv(n));
  const std::vector<ServerMeta> order = {srv("s3"), srv("s1"), srv("s2")};
  m.remove_server("s2");
  m.add_server(srv("s4"));
  CHECK(m.finish_rebalance(order, true));
  CHECK(names(m.servers()) == std::vector<std::string>{"s3", "s1", "s4"});
  // The chosen server left meanwhile: nothing changes.
  m.remove_server("s3");
  CHECK_FALSE(m.finish_rebalance({srv("s3"), srv("s1"), srv("s4")}, true));
  CHECK(names(m.servers()) == std::vector<std::string>{"s1", "s4"});
}

TEST_CASE("rpc retry: canRetry and the 7 s hold loop", "[agent]") {
  CHECK(can_retry(RpcError::kNoLeader, false));
  CHECK(can_retry(RpcError::kNoLeader, true));
  CHECK(can_retry(RpcError::kEof, true));
  CHECK_FALSE(can_retry(RpcError::kEof, false));  // a write may have applied
  CHECK_FALSE(can_retry(RpcError::kChunkingResubmit, true));
  CHECK_FALSE(can_retry(RpcError::kOther, true));
  CHECK_FALSE(can_retry(RpcError::kNoServers, true));
  CHECK_FALSE(can_retry(RpcError::kRateLimited, true));

  core::Rng rng(9);
  const core::Time t0 = 100 * kSecond;
  for (int i = 0; i < 200; ++i) {
    const RetryDecision d = rpc_retry(rng, RpcError::kNoLeader, false, t0, t0 + i * 30 * kMillisecond);
    CHECK(d.retry);
    CHECK(d.wait >= 0);
    CHECK(d.wait < 437'500 * core::kMicrosecond);  // 7 s / 16
  }
  CHECK(rpc_retry(rng, RpcError::kNoLeader, false, t0, t0 + 7 * kSecond - 1).retry);
  CHECK_FALSE(rpc_retry(rng, RpcError::kNoLeader, false, t0, t0 + 7 * kSecond).retry);
  CHECK_FALSE(rpc_retry(rng, RpcError::kOther, true, t0, t0).retry);
  // No draw when not retrying.
  core::Rng a(4), b(4);
  (void)rpc_retry(a, RpcError::kEof, false, t0, t0);
  (void)rpc_retry(a, RpcError::kNoLeader, false, t0, t0 + 8 * kSecond);
  CHECK(a.next() == b.next());
}

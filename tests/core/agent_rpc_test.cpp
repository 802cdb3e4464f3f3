// The agent's RPC plumbing alone: the method table (reads, forwarding),
// wire sizes, one attempt's outcomes in RpcCaller (an answer, the deadline,
// a late answer, a refused or reset connection), Deferred's closures, and
// the serf events Consul sends.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/agent/deferred.hpp"
#include "core/agent/delegate.hpp"
#include "core/agent/rpc.hpp"
#include "core/agent/rpc_caller.hpp"
#include "core/check.hpp"

using core::Duration;
using core::kSecond;
using core::Time;
using namespace core::agent;

namespace {

// Records sends; timers fire by hand.
class WireEnv final : public core::Env {
 public:
  core::NodeId self() const override { return 7; }
  Time now() const override { return now_; }
  void send(core::Message&& m) override {
    m.from = 7;
    sent.push_back(std::move(m));
  }
  core::TimerId set_timer(Duration delay, uint64_t what) override {
    const core::TimerId id = ++next_;
    timers[id] = {now_ + delay, what};
    return id;
  }
  void cancel_timer(core::TimerId id) override { timers.erase(id); }
  core::Rng& rng() override { return rng_; }
  core::Storage& storage() override { return storage_; }
  void sync() override {}
  void record(const core::Record&) override {}
  core::Port port() const override { return core::Port::kRpc; }
  core::Env& on_port(core::Port) override { return *this; }

  // Fires every timer due by `t` (in deadline order) through `fire`.
  template <class F>
  void advance(Time t, F fire) {
    for (;;) {
      auto best = timers.end();
      for (auto it = timers.begin(); it != timers.end(); ++it)
        if (it->second.first <= t && (best == timers.end() || it->second.first < best->second.first)) best = it;
      if (best == timers.end()) break;
      now_ = best->second.first;
      const uint64_t what = best->second.second;
      timers.erase(best);
      fire(what);
    }
    now_ = t;
  }

  std::vector<core::Message> sent;
  std::map<core::TimerId, std::pair<Time, uint64_t>> timers;

 private:
  Time now_ = 0;
  core::TimerId next_ = 0;
  core::Rng rng_{1};
  core::Storage storage_;
};

const RpcRequest& request_of(const core::Message& m) {
  const AgentMsg* body = agent_body(m);
  REQUIRE(body != nullptr);
  return std::get<RpcRequest>(body->body);
}

// The engine's bounce of a message (what a down host's kernel answers).
core::Message bounce(const core::Message& m, uint16_t type) {
  core::Message r;
  r.from = m.to;
  r.to = m.from;
  r.type = type;
  r.stream = true;
  r.body = m.body;
  return r;
}

}  // namespace

TEST_CASE("agent rpc: methods, reads and forwarding follow Consul's RPCInfo", "[agent][rpc]") {
  CHECK_FALSE(is_read(Method::kCatalogRegister));
  CHECK_FALSE(is_read(Method::kCatalogDeregister));
  CHECK_FALSE(is_read(Method::kKvsApply));
  CHECK_FALSE(is_read(Method::kSnapshotRestore));
  CHECK(is_read(Method::kKvsGet));
  CHECK(is_read(Method::kCatalogNodeServices));
  CHECK(is_read(Method::kInternalEventFire));  // EventFireRequest embeds QueryOptions
  CHECK(forwards(Method::kKvsApply));
  CHECK_FALSE(forwards(Method::kStatusLeader));
  CHECK_FALSE(forwards(Method::kStatusPeers));
  CHECK(std::string(method_name(Method::kKvsApply)) == "KVS.Apply");
  CHECK(std::string(core::message_type_name(kRpcRequest)) == "rpc.request");
  CHECK(std::string(core::message_type_name(core::kStreamRefused)) == "net.refused");
  CHECK(core::resets_connections(core::kFamilyRpc));
  CHECK_FALSE(core::resets_connections(core::kFamilyMemberlist));
}

TEST_CASE("agent rpc: messages are streams whose size grows with what they carry", "[agent][rpc]") {
  RpcRequest small;
  small.method = Method::kKvsGet;
  small.args = KeyQuery{"k"};
  RpcRequest big = small;
  big.args = KeyQuery{std::string(500, 'k')};
  const core::Message a = make_message(1, small), b = make_message(1, big);
  CHECK(a.stream);
  CHECK(a.type == kRpcRequest);
  CHECK(b.size_bytes >= a.size_bytes + 499);
  core::catalog::RegisterRequest reg;
  reg.node = "c1";
  core::catalog::Service svc;
  svc.id = "web";
  svc.name = "web";
  svc.tags = {"a", "b"};
  reg.service = svc;
  RpcRequest r;
  r.method = Method::kCatalogRegister;
  r.args = reg;
  CHECK(request_bytes(r) > request_bytes(small));
}

TEST_CASE("agent rpc: one attempt ends with its answer, its deadline, or a refusal", "[agent][rpc]") {
  WireEnv env;
  RpcCaller caller(10 * kSecond);
  std::vector<RpcResponse> got;
  const auto keep = [&](core::Env&, const RpcResponse& r) { got.push_back(r); };
  RpcRequest req;
  req.method = Method::kStatusPing;

  SECTION("the answer") {
    caller.call(env, 3, req, keep);
    REQUIRE(env.sent.size() == 1);
    CHECK(env.sent[0].to == 3);
    RpcResponse ok;
    ok.id = request_of(env.sent[0]).id;
    CHECK(caller.on_response(env, ok));
    REQUIRE(got.size() == 1);
    CHECK(got[0].ok);
    CHECK(env.timers.empty());
    CHECK_FALSE(caller.on_response(env, ok));  // answered once only
  }
  SECTION("no answer by the deadline: session shutdown, an EOF; a late answer is dropped") {
    caller.call(env, 3, req, keep);
    const uint64_t id = request_of(env.sent[0]).id;
    env.advance(10 * kSecond - 1, [&](uint64_t w) { caller.on_timer(env, w); });
    CHECK(got.empty());
    env.advance(10 * kSecond, [&](uint64_t w) { caller.on_timer(env, w); });
    REQUIRE(got.size() == 1);
    CHECK_FALSE(got[0].ok);
    CHECK(got[0].error == RpcError::kEof);
    CHECK(got[0].error_text == kErrSessionShutdown);
    RpcResponse late;
    late.id = id;
    CHECK_FALSE(caller.on_response(env, late));
    CHECK(got.size() == 1);
  }
  SECTION("refused at once by a host whose process is down: not retryable") {
    caller.call(env, 3, req, keep);
    CHECK(caller.on_bounce(env, bounce(env.sent[0], core::kStreamRefused)));
    REQUIRE(got.size() == 1);
    CHECK(got[0].error == RpcError::kOther);
    CHECK(got[0].error_text == kErrConnectionRefused);
    CHECK_FALSE(can_retry(got[0].error, true));
    CHECK(env.timers.empty());
  }
  SECTION("reset when the process crashed with the request waiting: an EOF, retryable for reads") {
    caller.call(env, 3, req, keep);
    CHECK(caller.on_bounce(env, bounce(env.sent[0], core::kStreamReset)));
    REQUIRE(got.size() == 1);
    CHECK(got[0].error == RpcError::kEof);
    CHECK(can_retry(got[0].error, true));
    CHECK_FALSE(can_retry(got[0].error, false));
  }
  SECTION("shutting down fails every pending call") {
    caller.call(env, 3, req, keep);
    caller.call(env, 4, req, keep);
    caller.fail_all(env);
    CHECK(got.size() == 2);
    CHECK(caller.pending() == 0);
    CHECK(env.timers.empty());
  }
}

TEST_CASE("agent deferred: a closure runs once when its timer fires, never after cancel", "[agent]") {
  WireEnv env;
  Deferred d(0x44);
  int a = 0, b = 0;
  d.after(env, kSecond, [&](core::Env&) { ++a; });
  const uint64_t hb = d.after(env, 2 * kSecond, [&](core::Env&) { ++b; });
  d.cancel(env, hb);
  env.advance(5 * kSecond, [&](uint64_t w) {
    REQUIRE(d.owns(w));
    d.fire(env, w);
  });
  CHECK(a == 1);
  CHECK(b == 0);
  CHECK(d.pending() == 0);
}

TEST_CASE("agent events: consul:new-leader and consul:event:* as serf carries them", "[agent]") {
  auto ev = std::make_shared<UserEvent>();
  ev->id = "c1-1";
  ev->name = "deploy";
  const core::serf::UserEvent u = make_serf_event(user_event_name("deploy"), ev, {}, 100);
  CHECK(u.name_id == kUserEventId);
  CHECK(u.name_bytes == std::string("consul:event:deploy").size());
  CHECK(u.payload_bytes == 100);
  const auto* p = dynamic_cast<const ConsulEventPayload*>(u.payload.get());
  REQUIRE(p != nullptr);
  CHECK(p->name == "consul:event:deploy");
  CHECK(p->event->name == "deploy");
  // Two leaders' events differ by payload (the leader's name), as Consul's do.
  const auto l1 = make_serf_event(std::string(kNewLeaderEvent), nullptr, "s1", 2);
  const auto l2 = make_serf_event(std::string(kNewLeaderEvent), nullptr, "s2", 2);
  CHECK(l1.name_id == kNewLeaderEventId);
  CHECK_FALSE(l1.same(l2));
}

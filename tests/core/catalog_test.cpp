// Tests of core/catalog: Consul v1.9's catalog and KV state store as a Raft
// state machine — registration semantics, Raft and table indexes, KV CAS and
// delete-tree, the command encoding (round trip and fuzzed garbage), snapshot
// round trips and replica determinism.
#include <catch2/catch.hpp>

#include "core/catalog/codec.hpp"
#include "core/catalog/commands.hpp"
#include "core/catalog/state_machine.hpp"
#include "core/catalog/store.hpp"
#include "core/check.hpp"
#include "core/random.hpp"

using namespace core::catalog;

namespace {

Check serf_check(const std::string& node, Health h) {
  Check c;
  c.node = node;
  c.id = kSerfCheckId;
  c.name = kSerfCheckName;
  c.status = h;
  c.output = h == Health::kPassing ? kSerfCheckAliveOutput : kSerfCheckFailedOutput;
  return c;
}

RegisterRequest reg_node(const std::string& node, uint32_t address, const std::string& id = "") {
  RegisterRequest r;
  r.node = node;
  r.node_id = id;
  r.address = address;
  return r;
}

RegisterRequest reg_service(const std::string& node, uint32_t address, const std::string& sid,
                            const std::string& name, uint32_t port = 80) {
  RegisterRequest r = reg_node(node, address);
  Service s;
  s.id = sid;
  s.name = name;
  s.port = port;
  r.service = s;
  return r;
}

Check service_check(const std::string& node, const std::string& cid, const std::string& sid, Health h) {
  Check c;
  c.node = node;
  c.id = cid;
  c.name = cid;
  c.status = h;
  c.service_id = sid;
  return c;
}

KvsRequest kv(KvOp op, const std::string& key, const std::string& value = "", uint64_t cas = 0) {
  KvsRequest r;
  r.op = op;
  r.entry.key = key;
  r.entry.value = value;
  r.entry.modify_index = cas;
  return r;
}

const ApplyResult kOk = ApplyResult::ok();
const ApplyResult kCasFailed = ApplyResult::cas_failed();

}  // namespace

TEST_CASE("catalog: register node, service and checks in one write", "[catalog]") {
  Store s;
  RegisterRequest r = reg_service("n1", 7, "web1", "web");
  r.service->tags = {"v2", "a"};
  r.checks = {serf_check("n1", Health::kPassing), service_check("n1", "web-alive", "web1", Health::kWarning)};
  CHECK(s.ensure_registration(5, r) == kOk);
  s.check_invariants();

  const Node* n = s.node("n1");
  REQUIRE(n != nullptr);
  CHECK(n->address == 7);
  CHECK(n->create_index == 5);
  CHECK(n->modify_index == 5);
  const Service* svc = s.service("n1", "web1");
  REQUIRE(svc != nullptr);
  CHECK(svc->tags == std::vector<std::string>{"a", "v2"});  // kept sorted
  CHECK(svc->create_index == 5);
  const Check* c = s.check("n1", "web-alive");
  REQUIRE(c != nullptr);
  CHECK(c->service_name == "web");  // copied from the service
  CHECK(c->status == Health::kWarning);
  CHECK(s.table_indexes() == TableIndexes{5, 5, 5, 0, 0, 0});
  CHECK(s.service_index("web") == 5);

  auto ns = s.node_services("n1");
  CHECK(ns.index == 5);
  REQUIRE(ns.value);
  CHECK(ns.value->services.size() == 1);
  auto checks = s.node_checks("n1");
  CHECK(checks.index == 5);
  REQUIRE(checks.value.size() == 2);
  CHECK(checks.value[0].id == "serfHealth");  // by check id
  auto sn = s.service_nodes("web");
  CHECK(sn.index == 5);
  REQUIRE(sn.value.size() == 1);
  CHECK(sn.value[0].node == "n1");
  CHECK(sn.value[0].address == 7);
  CHECK(s.services().value.at("web") == std::vector<std::string>{"a", "v2"});
}

TEST_CASE("catalog: registration errors change nothing", "[catalog]") {
  Store s;
  REQUIRE(s.ensure_registration(1, reg_node("n1", 1)) == kOk);
  const Store before = s;

  SECTION("a check of a service that is neither registered nor in the request") {
    RegisterRequest r = reg_service("n2", 2, "db1", "db");
    r.checks = {service_check("n2", "c", "nope", Health::kPassing)};
    const ApplyResult res = s.ensure_registration(2, r);
    CHECK(res.code == ApplyResult::kError);
    CHECK(res.error == "failed inserting check: Missing service registration on node \"n2\"");
  }
  SECTION("a check for another node") {
    RegisterRequest r = reg_node("n2", 2);
    r.checks = {serf_check("n3", Health::kPassing)};
    CHECK(s.ensure_registration(2, r).error == "check node \"n3\" does not match node \"n2\"");
  }
  SECTION("no node name") {
    CHECK(s.ensure_registration(2, reg_node("", 2)).error == "Must provide node");
  }
  // The node, service and earlier checks of a failed request are not written.
  CHECK(s.node("n2") == nullptr);
  CHECK(s.table_indexes() == before.table_indexes());
  CHECK(s.nodes().value == before.nodes().value);
}

TEST_CASE("catalog: node ids, renames and reserved names", "[catalog]") {
  Store s;
  RegisterRequest a = reg_node("a", 1, "id-1");
  a.checks = {serf_check("a", Health::kPassing)};
  REQUIRE(s.ensure_registration(1, a) == kOk);
  RegisterRequest web = reg_service("a", 1, "web1", "web");
  web.node_id = "id-1";  // without it, the node's id would be cleared
  REQUIRE(s.ensure_registration(2, web) == kOk);

  // Another id may not take a healthy node's name.
  RegisterRequest thief = reg_node("a", 9, "id-2");
  CHECK(s.ensure_registration(3, thief).code == ApplyResult::kError);
  CHECK(s.node("a")->id == "id-1");

  // The same id under a new name renames the node: the old name goes with
  // its services and checks; the create index is kept.
  REQUIRE(s.ensure_registration(4, reg_node("b", 1, "id-1")) == kOk);
  s.check_invariants();
  CHECK(s.node("a") == nullptr);
  REQUIRE(s.node("b") != nullptr);
  CHECK(s.node("b")->create_index == 1);
  CHECK(s.node("b")->modify_index == 4);
  CHECK(s.service_nodes("web").value.empty());

  // A critical node's name can be taken by another id.
  RegisterRequest c = reg_node("c", 3, "id-3");
  c.checks = {serf_check("c", Health::kCritical)};
  REQUIRE(s.ensure_registration(5, c) == kOk);
  CHECK(s.ensure_registration(6, reg_node("c", 4, "id-4")) == kOk);
  CHECK(s.node("c")->id == "id-4");
  s.check_invariants();
}

TEST_CASE("catalog: unchanged writes keep indexes; skip node update", "[catalog]") {
  Store s;
  RegisterRequest r = reg_service("n1", 1, "web1", "web");
  r.checks = {serf_check("n1", Health::kPassing)};
  REQUIRE(s.ensure_registration(10, r) == kOk);

  // The same registration again: no record or table index moves.
  REQUIRE(s.ensure_registration(11, r) == kOk);
  CHECK(s.node("n1")->modify_index == 10);
  CHECK(s.service("n1", "web1")->modify_index == 10);
  CHECK(s.table_indexes() == TableIndexes{10, 10, 10, 0, 0, 0});

  // A changed check bumps the check, the checks table and the service's
  // index (a node-level check touches every service of the node), not the node.
  r.checks[0] = serf_check("n1", Health::kCritical);
  REQUIRE(s.ensure_registration(12, r) == kOk);
  CHECK(s.check("n1", "serfHealth")->create_index == 10);
  CHECK(s.check("n1", "serfHealth")->modify_index == 12);
  CHECK(s.table_indexes().checks == 12);
  CHECK(s.table_indexes().nodes == 10);
  CHECK(s.service_index("web") == 12);
  CHECK(s.service_nodes("web").index == 12);

  // SkipNodeUpdate: the node's new address is not written...
  RegisterRequest moved = reg_service("n1", 99, "web1", "web", 81);
  moved.skip_node_update = true;
  REQUIRE(s.ensure_registration(13, moved) == kOk);
  CHECK(s.node("n1")->address == 1);
  CHECK(s.node("n1")->modify_index == 10);
  CHECK(s.service("n1", "web1")->port == 81);
  CHECK(s.service("n1", "web1")->modify_index == 13);
  // ...but a missing node is still created.
  RegisterRequest fresh = reg_node("n2", 2);
  fresh.skip_node_update = true;
  REQUIRE(s.ensure_registration(14, fresh) == kOk);
  CHECK(s.node("n2")->create_index == 14);

  // Without it, the address changes: node modify index and nodes table move.
  REQUIRE(s.ensure_registration(15, reg_node("n1", 99)) == kOk);
  CHECK(s.node("n1")->address == 99);
  CHECK(s.node("n1")->create_index == 10);
  CHECK(s.node("n1")->modify_index == 15);
  CHECK(s.table_indexes().nodes == 15);
  CHECK(s.service_index("web") == 15);  // node data is part of health results
  s.check_invariants();
}

TEST_CASE("catalog: deregistration of a check, a service, a node", "[catalog]") {
  Store s;
  RegisterRequest r = reg_service("n1", 1, "web1", "web");
  r.checks = {serf_check("n1", Health::kPassing), service_check("n1", "w", "web1", Health::kPassing)};
  REQUIRE(s.ensure_registration(1, r) == kOk);
  RegisterRequest r2 = reg_service("n1", 1, "db1", "db");
  r2.checks = {service_check("n1", "d", "db1", Health::kPassing)};
  REQUIRE(s.ensure_registration(2, r2) == kOk);
  REQUIRE(s.ensure_registration(3, reg_service("n2", 2, "web2", "web")) == kOk);

  // Deregistering something absent succeeds and changes nothing.
  CHECK(s.deregister(4, DeregisterRequest{"ghost", "", ""}) == kOk);
  CHECK(s.deregister(5, DeregisterRequest{"n1", "ghost", ""}) == kOk);
  CHECK(s.table_indexes() == TableIndexes{3, 3, 2, 0, 0, 0});

  // One check.
  CHECK(s.deregister(6, DeregisterRequest{"n1", "", "w"}) == kOk);
  CHECK(s.check("n1", "w") == nullptr);
  CHECK(s.table_indexes().checks == 6);
  CHECK(s.service_index("web") == 6);

  // One service takes its checks along.
  CHECK(s.deregister(7, DeregisterRequest{"n1", "db1", ""}) == kOk);
  CHECK(s.service("n1", "db1") == nullptr);
  CHECK(s.check("n1", "d") == nullptr);
  CHECK(s.table_indexes().services == 7);
  CHECK(s.service_index("db") == 0);  // the last instance: index dropped
  CHECK(s.table_indexes().service_last_extinction == 7);
  CHECK(s.service_nodes("db").index == 7);

  // The node takes its services and checks along.
  CHECK(s.deregister(8, DeregisterRequest{"n1", "", ""}) == kOk);
  CHECK(s.node("n1") == nullptr);
  CHECK(s.service("n1", "web1") == nullptr);
  CHECK(s.check("n1", "serfHealth") == nullptr);
  CHECK(s.node_checks("n1").value.empty());
  CHECK(s.node_services("n1").index == 0);  // unknown node: index 0, as Consul's store
  CHECK(!s.node_services("n1").value);
  CHECK(s.table_indexes() == TableIndexes{8, 8, 8, 0, 0, 7});
  auto web = s.service_nodes("web");
  CHECK(web.index == 8);
  REQUIRE(web.value.size() == 1);
  CHECK(web.value[0].node == "n2");
  CHECK(s.nodes().value.size() == 1);
  CHECK(s.nodes().index == 8);
  s.check_invariants();
}

TEST_CASE("catalog: KV set, CAS rules, delete-CAS, indexes", "[catalog]") {
  Store s;
  CHECK(s.kvs(1, kv(KvOp::kSet, "a", "1")) == kOk);
  auto a = s.kv_get("a");
  CHECK(a.index == 1);
  REQUIRE(a.value);
  CHECK(a.value->create_index == 1);
  CHECK(a.value->modify_index == 1);

  // An identical set is a no-op, indexes included.
  CHECK(s.kvs(2, kv(KvOp::kSet, "a", "1")) == kOk);
  CHECK(s.kv_get("a").value->modify_index == 1);
  CHECK(s.table_indexes().kvs == 1);

  // CAS with index 0: create only if absent.
  CHECK(s.kvs(3, kv(KvOp::kCas, "a", "x", 0)) == kCasFailed);
  CHECK(s.kvs(4, kv(KvOp::kCas, "b", "2", 0)) == kOk);
  CHECK(s.kv_get("b").value->create_index == 4);
  // A mismatched index fails; an absent key with a non-zero index fails.
  CHECK(s.kvs(5, kv(KvOp::kCas, "a", "x", 7)) == kCasFailed);
  CHECK(s.kvs(6, kv(KvOp::kCas, "zz", "x", 1)) == kCasFailed);
  CHECK(s.kv_get("a").value->value == "1");
  // The matching index succeeds and moves the modify index only.
  CHECK(s.kvs(7, kv(KvOp::kCas, "a", "x", 1)) == kOk);
  CHECK(s.kv_get("a").value->value == "x");
  CHECK(s.kv_get("a").value->create_index == 1);
  CHECK(s.kv_get("a").value->modify_index == 7);
  CHECK(s.table_indexes().kvs == 7);

  // Delete-CAS: mismatch fails, absent key succeeds, match deletes.
  CHECK(s.kvs(8, kv(KvOp::kDeleteCas, "a", "", 1)) == kCasFailed);
  CHECK(s.kvs(9, kv(KvOp::kDeleteCas, "nope", "", 1)) == kOk);
  CHECK(s.table_indexes().kvs == 7);
  CHECK(s.kvs(10, kv(KvOp::kDeleteCas, "a", "", 7)) == kOk);
  CHECK(!s.kv_get("a").value);
  CHECK(s.tombstones().at("a") == 10);
  CHECK(s.kv_get("a").index == 10);

  CHECK(s.kvs(11, kv(KvOp::kSet, "", "v")).error == "Must provide key");
  s.check_invariants();
}

TEST_CASE("catalog: KV delete-tree, list indexes, tombstones and reaping", "[catalog]") {
  Store s;
  REQUIRE(s.kvs(1, kv(KvOp::kSet, "app/a", "1")) == kOk);
  REQUIRE(s.kvs(2, kv(KvOp::kSet, "app/b", "2")) == kOk);
  REQUIRE(s.kvs(3, kv(KvOp::kSet, "apple", "3")) == kOk);
  REQUIRE(s.kvs(4, kv(KvOp::kSet, "other", "4")) == kOk);

  auto app = s.kv_list("app/");
  CHECK(app.value.size() == 2);
  CHECK(app.index == 2);  // the highest modify index under the prefix
  CHECK(s.kv_list("").index == 4);
  CHECK(s.kv_list("app").value.size() == 3);

  // A delete leaves a tombstone, which keeps the prefix's list index.
  REQUIRE(s.kvs(5, kv(KvOp::kDelete, "app/b")) == kOk);
  CHECK(s.kv_list("app/").index == 5);
  CHECK(s.kv_list("app/").value.size() == 1);
  CHECK(s.kvs(6, kv(KvOp::kDelete, "app/b")) == kOk);  // absent: no-op
  CHECK(s.table_indexes().kvs == 5);

  REQUIRE(s.kvs(7, kv(KvOp::kDeleteTree, "app")) == kOk);
  CHECK(s.kv_list("app").value.empty());
  CHECK(s.kv_get("other").value);
  CHECK(s.tombstones().at("app") == 7);
  CHECK(s.kv_list("app/").index == 5);  // the tree's tombstone is "app", not under "app/"
  CHECK(s.kv_list("ap").index == 7);
  CHECK(s.table_indexes().kvs == 7);

  // A list of nothing under a prefix without tombstones: the table index.
  CHECK(s.kv_list("zzz").index == 7);

  REQUIRE(s.apply(8, TombstoneRequest{5}) == kOk);
  CHECK(!s.tombstones().contains("app/b"));
  CHECK(s.tombstones().contains("app"));

  // Delete-tree of "" drops everything and leaves no tombstone.
  REQUIRE(s.kvs(9, kv(KvOp::kDeleteTree, "")) == kOk);
  CHECK(s.kv_count() == 0);
  CHECK(s.tombstones().size() == 1);
  CHECK(s.table_indexes().kvs == 9);
  s.check_invariants();
}

TEST_CASE("catalog: command encoding round trip", "[catalog]") {
  RegisterRequest r = reg_service("node-\xff\x00x", 4000000000u, "web1", "web", 65535);
  r.node_id = "6c1a3f2e";
  r.service->tags = {"", "b", "a"};
  r.checks = {serf_check("node-\xff\x00x", Health::kWarning), service_check("n", "c", "web1", Health::kCritical)};
  r.skip_node_update = true;
  KvsRequest k = kv(KvOp::kCas, "k/ey", std::string("v\0al", 4), UINT64_MAX);
  k.entry.flags = 42;
  const std::vector<Command> cmds = {r, RegisterRequest{}, DeregisterRequest{"n", "s", "c"}, k,
                                     kv(KvOp::kDeleteTree, ""), TombstoneRequest{1ull << 40}};
  for (const Command& c : cmds) {
    const std::string bytes = encode(c);
    CHECK(bytes[0] == static_cast<char>(kEncodingVersion));
    Decoded d = decode(bytes);
    INFO(d.error);
    REQUIRE(d.command);
    CHECK(*d.command == c);
    CHECK(encode(*d.command) == bytes);
  }
  CHECK(decode("").error == "truncated");
  CHECK(decode(std::string("\x02\x00", 2)).error == "unknown encoding version");
  CHECK(decode(std::string("\x01\x09", 2)).error == "unknown command type");
  CHECK(decode(encode(TombstoneRequest{3}) + "x").error == "trailing bytes");
  CHECK(decode(std::string("\x01\x04\x80\x00", 4)).error == "non-minimal varint");
  CHECK(decode(std::string("\x01\x02\x09", 3)).error == "unknown KVS operation");

  for (const ApplyResult& a : {ApplyResult::ok(), ApplyResult::cas_failed(), ApplyResult::failure("x y")}) {
    CHECK(ApplyResult::decode(a.encode()) == a);
  }
}

TEST_CASE("catalog: fuzzed garbage never crashes the decoder or the state machine", "[catalog]") {
  core::Rng rng(0xca7a10);
  std::vector<std::string> seeds;
  RegisterRequest r = reg_service("n1", 1, "web1", "web");
  r.checks = {serf_check("n1", Health::kPassing)};
  seeds.push_back(encode(r));
  seeds.push_back(encode(kv(KvOp::kSet, "key", "value")));
  seeds.push_back(encode(DeregisterRequest{"n1", "web1", ""}));
  CatalogStateMachine sm;
  uint64_t index = 0;
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (rng.below(2) == 0) {
      // Pure garbage, sometimes with a valid header.
      const size_t n = rng.below(40);
      for (size_t j = 0; j < n; ++j) bytes.push_back(static_cast<char>(rng.below(256)));
      if (n >= 2 && rng.below(2) == 0) bytes[0] = static_cast<char>(kEncodingVersion);
    } else {
      // A valid command with bytes flipped, cut or appended.
      bytes = seeds[rng.below(seeds.size())];
      const uint64_t mutations = 1 + rng.below(3);
      for (uint64_t m = 0; m < mutations; ++m) {
        switch (rng.below(3)) {
          case 0: {
            const size_t at = rng.below(bytes.size());
            bytes[at] = static_cast<char>(rng.below(256));
            break;
          }
          case 1: bytes.resize(rng.below(bytes.size() + 1)); break;
          default: bytes.push_back(static_cast<char>(rng.below(256))); break;
        }
        if (bytes.empty()) break;
      }
    }
    Decoded d = decode(bytes);
    CHECK(d.command.has_value() == d.error.empty());
    if (d.command) {
      ++decoded;
      CHECK(encode(*d.command) == bytes);  // one value, one encoding
    }
    const ApplyResult res = ApplyResult::decode(sm.apply(++index, 1, bytes));
    if (!d.command) CHECK(res.error.starts_with("failed to decode request: "));
  }
  CHECK(decoded > 100);
  sm.store().check_invariants();
  // Garbage snapshots are rejected with a reason, not a crash.
  const std::string snap = sm.snapshot();
  for (int i = 0; i < 2000; ++i) {
    std::string bad = snap;
    if (bad.empty()) break;
    const size_t at = rng.below(bad.size());
    bad[at] = static_cast<char>(bad[at] ^ static_cast<char>(1 + rng.below(255)));
    bad.resize(rng.below(bad.size() + 1));
    std::string error;
    std::optional<Store> s = Store::decode_snapshot(bad, &error);
    CHECK(s.has_value() == error.empty());
  }
}

namespace {

// A deterministic mixed workload over a few nodes, services and keys.
std::vector<std::string> workload(uint64_t seed, int n) {
  core::Rng rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const std::string node = "n" + std::to_string(rng.below(6));
    const std::string sid = "s" + std::to_string(rng.below(3));
    switch (rng.below(7)) {
      case 0: {
        RegisterRequest r = reg_node(node, static_cast<uint32_t>(rng.below(4)), "id-" + node);
        r.checks = {serf_check(node, rng.below(3) == 0 ? Health::kCritical : Health::kPassing)};
        r.skip_node_update = rng.below(2) == 0;
        out.push_back(encode(r));
        break;
      }
      case 1: {
        RegisterRequest r = reg_service(node, 1, sid, "svc" + std::to_string(rng.below(2)));
        r.service->tags = {"t" + std::to_string(rng.below(3))};
        r.checks = {service_check(node, "c" + sid, sid, static_cast<Health>(rng.below(3)))};
        out.push_back(encode(r));
        break;
      }
      case 2: out.push_back(encode(DeregisterRequest{node, rng.below(2) ? sid : "", ""})); break;
      case 3: out.push_back(encode(DeregisterRequest{node, "", "c" + sid})); break;
      case 4: out.push_back(encode(kv(KvOp::kSet, "k/" + std::to_string(rng.below(5)), std::to_string(i)))); break;
      case 5: {
        // One draw per statement: argument evaluation order is unspecified.
        const std::string key = "k/" + std::to_string(rng.below(5));
        const uint64_t factor = rng.below(3);
        out.push_back(encode(kv(KvOp::kCas, key, "c", factor * rng.below(static_cast<uint64_t>(n)))));
        break;
      }
      default: {
        const KvOp op = rng.below(2) ? KvOp::kDeleteTree : KvOp::kDelete;
        out.push_back(encode(kv(op, "k/" + std::to_string(rng.below(5)))));
        break;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("catalog: snapshot/restore round trip and replica determinism", "[catalog]") {
  const std::vector<std::string> log = workload(7, 600);
  CatalogStateMachine a;
  CatalogStateMachine b;
  std::vector<std::string> results;
  for (size_t i = 0; i < log.size(); ++i) {
    results.push_back(a.apply(i + 1, 1, log[i]));
    CHECK(b.apply(i + 1, 1, log[i]) == results.back());
  }
  a.store().check_invariants();
  CHECK(a.digest() == b.digest());
  CHECK(a.store() == b.store());
  CHECK(a.store().node_count() > 0);

  // Restore from a snapshot taken halfway, replay the rest: same state.
  CatalogStateMachine c;
  for (size_t i = 0; i < 300; ++i) c.apply(i + 1, 1, log[i]);
  const std::string snap = c.snapshot();
  CatalogStateMachine d;
  d.restore(snap);
  CHECK(d.store() == c.store());
  CHECK(d.snapshot() == snap);
  CHECK(d.digest() == c.digest());
  for (size_t i = 300; i < log.size(); ++i) CHECK(d.apply(i + 1, 1, log[i]) == results[i]);
  CHECK(d.store() == a.store());
  CHECK(d.digest() == a.digest());
  CHECK(d.store().service_nodes("svc0").index == a.store().service_nodes("svc0").index);
  CHECK(d.store().kv_list("k/").index == a.store().kv_list("k/").index);

  // A different history gives a different digest; restore("") empties.
  CatalogStateMachine e;
  const std::vector<std::string> other = workload(8, 600);
  for (size_t i = 0; i < other.size(); ++i) e.apply(i + 1, 1, other[i]);
  CHECK(e.digest() != a.digest());
  e.restore("");
  CHECK(e.store() == Store{});
  CHECK_THROWS_AS(e.restore("garbage"), core::InvariantViolation);

  // Indexes must increase from one apply to the next.
  CHECK_THROWS_AS(a.apply(5, 1, log[0]), core::InvariantViolation);
}

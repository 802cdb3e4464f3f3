// Consul's state store (agent/consul/state/catalog.go, catalog_oss.go,
// kvs.go, kvs_oss.go, graveyard.go, v1.9.0), the part the agent needs: nodes,
// their services and checks, the KV store with its tombstones, and the table
// indexes that blocking queries wait on.
//
// Writes take the Raft index of the entry being applied (`idx`); indexes
// must not decrease from one write to the next. Each write is atomic: a
// registration that fails changes nothing (Consul aborts the memdb txn; here
// every failure is found before the first change).
//
// Table indexes, as Consul's "index" table keeps them: "nodes", "services",
// "checks", "kvs", "tombstones" (the index of the last write that touched the
// table), "service.<name>" per service name (also bumped by writes that change
// what a health query on that service returns: its node, its checks), and
// "service_last_extinction" (the last write that removed a name's last
// instance). 0 means "no entry" (Raft indexes start at 1).
//
// Invariants (check_invariants(), CORE_CHECK): every service and check belongs
// to a registered node; a check's service exists on its node; modify_index >=
// create_index > 0 and <= last_index(); table indexes <= last_index().
//
// Determinism: ordered containers only; every listing is in key order (Consul
// lists in memdb order, by lowercased name; names compare exactly here).
//
// Memory: per node one map entry with its services and checks inline, plus a
// by-name index of service instances; a few thousand nodes cost a few MB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/catalog/commands.hpp"
#include "core/catalog/types.hpp"

namespace core::catalog {

struct TableIndexes {
  uint64_t nodes = 0;
  uint64_t services = 0;
  uint64_t checks = 0;
  uint64_t kvs = 0;
  uint64_t tombstones = 0;
  uint64_t service_last_extinction = 0;
  bool operator==(const TableIndexes&) const = default;
};

// Catalog.NodeServices' answer.
struct NodeServices {
  Node node;
  std::vector<Service> services;  // by service id
  bool operator==(const NodeServices&) const = default;
};

class Store {
 public:
  // --- writes (the FSM's) ---------------------------------------------------
  // EnsureRegistration. Errors: "Must provide node", a check for another
  // node, a service check whose service is neither registered nor in the
  // request, a node id / name clash with a healthy node.
  ApplyResult ensure_registration(uint64_t idx, const RegisterRequest& req);
  // applyDeregister: DeleteService / DeleteCheck / DeleteNode. Deleting
  // something absent is a no-op that succeeds.
  ApplyResult deregister(uint64_t idx, const DeregisterRequest& req);
  ApplyResult kvs(uint64_t idx, const KvsRequest& req);
  // ReapTombstones: drops tombstones with index <= reap_index.
  ApplyResult reap_tombstones(uint64_t idx, uint64_t reap_index);
  // Replaces the whole state by a snapshot (encode_snapshot()); the last
  // index becomes `idx`. A malformed snapshot is an error with no effect.
  ApplyResult restore(uint64_t idx, const RestoreRequest& req);
  ApplyResult apply(uint64_t idx, const Command& c);

  // --- queries, each with the index Consul returns --------------------------
  // Catalog.ListNodes: index "nodes".
  Indexed<std::vector<Node>> nodes() const;
  // Catalog.NodeServices: index max(nodes, services); an unknown node gives
  // index 0 and nullopt, as Consul's state store does (its RPC layer raises
  // the index to 1).
  Indexed<std::optional<NodeServices>> node_services(std::string_view node) const;
  // Health.NodeChecks: index "checks"; by check id.
  Indexed<std::vector<Check>> node_checks(std::string_view node) const;
  // Catalog.ServiceNodes: index "service.<name>", or the extinction index
  // when there is no instance, or max(nodes, services); by (node, id).
  Indexed<std::vector<ServiceNode>> service_nodes(std::string_view name) const;
  // Catalog.ListServices: index "services"; name -> union of tags, sorted.
  Indexed<std::map<std::string, std::vector<std::string>>> services() const;
  // KVS.Get: index max(kvs, tombstones).
  Indexed<std::optional<KvEntry>> kv_get(std::string_view key) const;
  // KVS.List: the highest modify index under the prefix or of a tombstone
  // under it; the table index when the prefix is "" or nothing matched.
  Indexed<std::vector<KvEntry>> kv_list(std::string_view prefix) const;

  // Direct reads (no index).
  const Node* node(std::string_view name) const;
  const Service* service(std::string_view node, std::string_view service_id) const;
  const Check* check(std::string_view node, std::string_view check_id) const;
  const TableIndexes& table_indexes() const { return tables_; }
  uint64_t service_index(std::string_view name) const;  // "service.<name>", 0 if none
  const std::map<std::string, uint64_t, std::less<>>& tombstones() const { return tombstones_; }
  size_t node_count() const { return nodes_.size(); }
  size_t kv_count() const { return kvs_.size(); }
  // The highest index written (or restored).
  uint64_t last_index() const { return last_index_; }
  void set_last_index(uint64_t idx);

  // Full O(state) check of the invariants above; throws InvariantViolation.
  void check_invariants() const;

  // Snapshot encoding (the whole state, indexes included) and its inverse.
  // decode_snapshot returns the reason on malformed input.
  std::string encode_snapshot() const;
  static std::optional<Store> decode_snapshot(std::string_view bytes, std::string* error);

  bool operator==(const Store& o) const {
    return last_index_ == o.last_index_ && tables_ == o.tables_ && service_indexes_ == o.service_indexes_ &&
           nodes_ == o.nodes_ && kvs_ == o.kvs_ && tombstones_ == o.tombstones_;
  }

 private:
  struct NodeEntry {
    Node node;
    std::map<std::string, Service, std::less<>> services;  // by id
    std::map<std::string, Check, std::less<>> checks;      // by id
    bool operator==(const NodeEntry&) const = default;
  };
  // (node, service id) of every instance of a service name.
  using Instances = std::set<std::pair<std::string, std::string>, std::less<>>;

  void begin_write(uint64_t idx);
  void bump(uint64_t& table, uint64_t idx);
  void bump_service(const std::string& name, uint64_t idx);
  void bump_all_services_of(const NodeEntry& e, uint64_t idx);

  std::optional<std::string> registration_error(const RegisterRequest& req) const;
  std::optional<std::string> name_clash(const Node& node, bool allow_clash_without_id) const;
  void ensure_node(uint64_t idx, Node node);
  void ensure_service(uint64_t idx, NodeEntry& e, Service svc);
  void ensure_check(uint64_t idx, NodeEntry& e, Check chk);
  void delete_node(uint64_t idx, const std::string& name);
  void delete_service(uint64_t idx, NodeEntry& e, const std::string& service_id);
  void delete_check(uint64_t idx, NodeEntry& e, const std::string& check_id);
  void kv_set(uint64_t idx, const KvEntry& entry);
  void kv_delete(uint64_t idx, const std::string& key);
  void kv_delete_tree(uint64_t idx, const std::string& prefix);
  void rebuild_derived();

  uint64_t last_index_ = 0;
  TableIndexes tables_;
  std::map<std::string, uint64_t, std::less<>> service_indexes_;  // "service.<name>"
  std::map<std::string, NodeEntry, std::less<>> nodes_;           // by name
  std::map<std::string, std::string, std::less<>> node_ids_;      // node id -> name (ids != "")
  std::map<std::string, Instances, std::less<>> by_service_;      // service name -> instances
  std::map<std::string, KvEntry, std::less<>> kvs_;
  std::map<std::string, uint64_t, std::less<>> tombstones_;       // key or prefix -> index
};

}  // namespace core::catalog

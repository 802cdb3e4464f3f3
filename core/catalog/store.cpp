#include "core/catalog/store.hpp"

#include <algorithm>

#include "core/catalog/codec.hpp"
#include "core/check.hpp"

namespace core::catalog {

namespace {

constexpr uint8_t kSnapshotVersion = 1;

bool equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void check_raft_index(uint64_t create, uint64_t modify, uint64_t last, const char* what) {
  CORE_CHECK(create > 0, std::string("catalog: zero create index on ") + what);
  CORE_CHECK(modify >= create, std::string("catalog: modify index below create index on ") + what);
  CORE_CHECK(modify <= last, std::string("catalog: index from the future on ") + what);
}

}  // namespace

// --- write plumbing ---------------------------------------------------------

void Store::begin_write(uint64_t idx) {
  CORE_CHECK(idx > 0, "catalog: write at index 0");
  CORE_CHECK(idx >= last_index_, "catalog: write index went backwards");
  last_index_ = idx;
}

void Store::set_last_index(uint64_t idx) { begin_write(idx); }

void Store::bump(uint64_t& table, uint64_t idx) {
  CORE_CHECK(idx >= table, "catalog: table index went backwards");
  table = idx;
}

// indexUpdateMaxTxn("service.<name>").
void Store::bump_service(const std::string& name, uint64_t idx) {
  uint64_t& v = service_indexes_[name];
  if (idx > v) v = idx;
}

// updateAllServiceIndexesOfNode: node data and node-level checks show up in
// every health query on the node's services.
void Store::bump_all_services_of(const NodeEntry& e, uint64_t idx) {
  for (const auto& [id, s] : e.services) bump_service(s.name, idx);
}

ApplyResult Store::apply(uint64_t idx, const Command& c) {
  if (const auto* r = std::get_if<RegisterRequest>(&c)) return ensure_registration(idx, *r);
  if (const auto* d = std::get_if<DeregisterRequest>(&c)) return deregister(idx, *d);
  if (const auto* k = std::get_if<KvsRequest>(&c)) return kvs(idx, *k);
  if (const auto* t = std::get_if<TombstoneRequest>(&c)) return reap_tombstones(idx, t->reap_index);
  return restore(idx, std::get<RestoreRequest>(c));
}

ApplyResult Store::restore(uint64_t idx, const RestoreRequest& req) {
  std::string why;
  std::optional<Store> s = decode_snapshot(req.snapshot, &why);
  if (!s) return ApplyResult::failure("malformed snapshot: " + why);
  if (s->last_index_ > idx) return ApplyResult::failure("snapshot is newer than the log");
  *this = std::move(*s);
  begin_write(idx);
  return ApplyResult::ok();
}

// --- registration -------------------------------------------------------------

// ensureNoNodeWithSimilarNameTxn: another node (by case-insensitive name,
// with a different id) holds the name and its serfHealth is not critical.
std::optional<std::string> Store::name_clash(const Node& node, bool allow_clash_without_id) const {
  for (const auto& [name, e] : nodes_) {
    if (!equal_fold(node.name, name) || node.id == e.node.id) continue;
    auto serf = e.checks.find(kSerfCheckId);
    const bool healthy = serf != e.checks.end() && serf->second.status != Health::kCritical;
    if (!(e.node.id.empty() && allow_clash_without_id) && healthy) {
      return "Node name " + node.name + " is reserved by node " + e.node.id + " with name " + name;
    }
  }
  return std::nullopt;
}

// Everything ensureRegistrationTxn could fail on, found before any change.
std::optional<std::string> Store::registration_error(const RegisterRequest& req) const {
  if (req.node.empty()) return std::string("Must provide node");
  auto it = nodes_.find(req.node);
  const Node node{req.node, req.node_id, req.address, 0, 0};
  const bool changes_node = it == nodes_.end() || (!req.skip_node_update && !it->second.node.same_as(node));
  if (changes_node && !node.id.empty()) {
    auto by_id = node_ids_.find(node.id);
    if (by_id != node_ids_.end() && by_id->second != node.name) {
      if (auto clash = name_clash(node, false)) {
        return "failed inserting node: Error while renaming Node ID: \"" + node.id + "\": " + *clash;
      }
    } else if (by_id == node_ids_.end()) {
      if (auto clash = name_clash(node, true)) {
        return "failed inserting node: Error while renaming Node ID: \"" + node.id + "\": " + *clash;
      }
    }
  }
  for (const Check& c : req.checks) {
    if (c.node != req.node) return "check node \"" + c.node + "\" does not match node \"" + req.node + "\"";
    if (c.service_id.empty()) continue;
    const bool in_request = req.service && req.service->id == c.service_id;
    const bool registered = it != nodes_.end() && it->second.services.contains(c.service_id);
    if (!in_request && !registered) {
      return "failed inserting check: Missing service registration on node \"" + req.node + "\"";
    }
  }
  return std::nullopt;
}

ApplyResult Store::ensure_registration(uint64_t idx, const RegisterRequest& req) {
  begin_write(idx);
  if (auto err = registration_error(req)) return ApplyResult::failure(std::move(*err));

  const Node node{req.node, req.node_id, req.address, 0, 0};
  auto it = nodes_.find(req.node);
  // RegisterRequest.ChangesNode: skip the node write when nothing changes
  // (or when asked to), so that service and check updates do not bump the
  // node's modify index or the nodes table.
  if (it == nodes_.end() || (!req.skip_node_update && !it->second.node.same_as(node))) ensure_node(idx, node);
  NodeEntry& e = nodes_.find(req.node)->second;
  if (req.service) ensure_service(idx, e, *req.service);
  for (const Check& c : req.checks) ensure_check(idx, e, c);
  return ApplyResult::ok();
}

// ensureNodeTxn.
void Store::ensure_node(uint64_t idx, Node node) {
  std::optional<Node> prev;
  if (!node.id.empty()) {
    auto by_id = node_ids_.find(node.id);
    if (by_id != node_ids_.end()) {
      prev = nodes_.at(by_id->second).node;
      // The same id under another name: a rename. The old name goes, with
      // its services and checks (registration_error vetted the clash).
      if (prev->name != node.name) delete_node(idx, prev->name);
    }
  }
  if (!prev) {
    auto it = nodes_.find(node.name);
    if (it != nodes_.end()) prev = it->second.node;
  }
  if (prev) {
    node.create_index = prev->create_index;
    node.modify_index = prev->modify_index;
    if (node.same_as(*prev)) return;
    node.modify_index = idx;
  } else {
    node.create_index = idx;
    node.modify_index = idx;
  }
  // Replacing a node's record keeps its services and checks (memdb keys
  // them by node name).
  NodeEntry& e = nodes_[node.name];
  if (!e.node.id.empty() && e.node.id != node.id) node_ids_.erase(e.node.id);
  if (!node.id.empty()) node_ids_[node.id] = node.name;
  e.node = std::move(node);
  check_raft_index(e.node.create_index, e.node.modify_index, last_index_, "node");
  bump(tables_.nodes, idx);
  bump_all_services_of(e, idx);
}

// ensureServiceTxn.
void Store::ensure_service(uint64_t idx, NodeEntry& e, Service svc) {
  std::sort(svc.tags.begin(), svc.tags.end());
  auto it = e.services.find(svc.id);
  if (it != e.services.end()) {
    svc.create_index = it->second.create_index;
    svc.modify_index = it->second.modify_index;
    if (svc.same_as(it->second)) return;
    if (it->second.name != svc.name) {
      // Consul leaves the old name's indexes alone here.
      auto inst = by_service_.find(it->second.name);
      inst->second.erase({e.node.name, svc.id});
      if (inst->second.empty()) by_service_.erase(inst);
    }
  } else {
    svc.create_index = idx;
  }
  svc.modify_index = idx;
  check_raft_index(svc.create_index, svc.modify_index, last_index_, "service");
  by_service_[svc.name].insert({e.node.name, svc.id});
  bump(tables_.services, idx);
  bump_service(svc.name, idx);
  e.services.insert_or_assign(svc.id, std::move(svc));
}

// ensureCheckTxn.
void Store::ensure_check(uint64_t idx, NodeEntry& e, Check chk) {
  auto it = e.checks.find(chk.id);
  if (it != e.checks.end()) {
    chk.create_index = it->second.create_index;
    chk.modify_index = it->second.modify_index;
  } else {
    chk.create_index = idx;
  }
  chk.service_name.clear();
  const bool same_as_before = [&] {
    if (!chk.service_id.empty()) {
      auto s = e.services.find(chk.service_id);
      CORE_CHECK(s != e.services.end(), "catalog: check of a missing service passed validation");
      chk.service_name = s->second.name;
    }
    return it != e.checks.end() && it->second.same_as(chk);
  }();
  if (same_as_before) return;
  if (!chk.service_id.empty()) {
    bump_service(chk.service_name, idx);
  } else {
    bump_all_services_of(e, idx);
  }
  chk.modify_index = idx;
  check_raft_index(chk.create_index, chk.modify_index, last_index_, "check");
  bump(tables_.checks, idx);
  e.checks.insert_or_assign(chk.id, std::move(chk));
}

// --- deregistration -------------------------------------------------------------

ApplyResult Store::deregister(uint64_t idx, const DeregisterRequest& req) {
  begin_write(idx);
  auto it = nodes_.find(req.node);
  if (it == nodes_.end()) return ApplyResult::ok();
  if (!req.service_id.empty()) {
    delete_service(idx, it->second, req.service_id);
  } else if (!req.check_id.empty()) {
    delete_check(idx, it->second, req.check_id);
  } else {
    delete_node(idx, req.node);
  }
  return ApplyResult::ok();
}

// deleteNodeTxn (coordinates and sessions are not modelled).
void Store::delete_node(uint64_t idx, const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  NodeEntry& e = it->second;
  std::vector<std::string> ids;
  for (const auto& [id, s] : e.services) {
    bump_service(s.name, idx);
    ids.push_back(id);
  }
  for (const std::string& id : ids) delete_service(idx, e, id);
  ids.clear();
  for (const auto& [id, c] : e.checks) ids.push_back(id);
  for (const std::string& id : ids) delete_check(idx, e, id);
  if (!e.node.id.empty()) node_ids_.erase(e.node.id);
  nodes_.erase(it);
  bump(tables_.nodes, idx);
}

// deleteServiceTxn.
void Store::delete_service(uint64_t idx, NodeEntry& e, const std::string& service_id) {
  auto it = e.services.find(service_id);
  if (it == e.services.end()) return;
  std::vector<std::string> checks;
  for (const auto& [id, c] : e.checks) {
    if (c.service_id == service_id) checks.push_back(id);
  }
  for (const std::string& id : checks) delete_check(idx, e, id);
  bump(tables_.checks, idx);

  const std::string name = it->second.name;
  e.services.erase(it);
  auto inst = by_service_.find(name);
  CORE_CHECK(inst != by_service_.end(), "catalog: service missing from the by-name index");
  inst->second.erase({e.node.name, service_id});
  bump(tables_.services, idx);
  if (!inst->second.empty()) {
    bump_service(name, idx);
  } else {
    // The last instance: drop "service.<name>", remember the extinction.
    by_service_.erase(inst);
    service_indexes_.erase(name);
    bump(tables_.service_last_extinction, idx);
  }
}

// deleteCheckTxn.
void Store::delete_check(uint64_t idx, NodeEntry& e, const std::string& check_id) {
  auto it = e.checks.find(check_id);
  if (it == e.checks.end()) return;
  if (!it->second.service_id.empty()) {
    CORE_CHECK(e.services.contains(it->second.service_id), "catalog: check outlived its service");
    bump_service(it->second.service_name, idx);
  } else {
    bump_all_services_of(e, idx);
    bump(tables_.services, idx);
  }
  e.checks.erase(it);
  bump(tables_.checks, idx);
}

// --- KV ---------------------------------------------------------------------

ApplyResult Store::kvs(uint64_t idx, const KvsRequest& req) {
  begin_write(idx);
  const KvEntry& in = req.entry;
  // KVS.Apply's check, kept at the boundary of the state machine here.
  if (in.key.empty() && req.op != KvOp::kDeleteTree) return ApplyResult::failure("Must provide key");
  auto it = kvs_.find(in.key);
  switch (req.op) {
    case KvOp::kSet:
      kv_set(idx, in);
      return ApplyResult::ok();
    case KvOp::kCas:
      // kvsSetCASTxn: index 0 creates only if absent; otherwise the entry
      // must exist with exactly that modify index.
      if (in.modify_index == 0 && it != kvs_.end()) return ApplyResult::cas_failed();
      if (in.modify_index != 0 && it == kvs_.end()) return ApplyResult::cas_failed();
      if (it != kvs_.end() && in.modify_index != it->second.modify_index) return ApplyResult::cas_failed();
      kv_set(idx, in);
      return ApplyResult::ok();
    case KvOp::kDelete:
      kv_delete(idx, in.key);
      return ApplyResult::ok();
    case KvOp::kDeleteCas:
      // kvsDeleteCASTxn: deleting an absent key succeeds.
      if (it == kvs_.end()) return ApplyResult::ok();
      if (it->second.modify_index != in.modify_index) return ApplyResult::cas_failed();
      kv_delete(idx, in.key);
      return ApplyResult::ok();
    case KvOp::kDeleteTree:
      kv_delete_tree(idx, in.key);
      return ApplyResult::ok();
  }
  return ApplyResult::failure("Invalid KVS operation");
}

// kvsSetTxn: an identical write changes nothing, not even the modify index.
void Store::kv_set(uint64_t idx, const KvEntry& in) {
  auto it = kvs_.find(in.key);
  KvEntry e{in.key, in.value, in.flags, idx, idx};
  if (it != kvs_.end()) {
    if (it->second.same_as(e)) return;
    e.create_index = it->second.create_index;
  }
  check_raft_index(e.create_index, e.modify_index, last_index_, "kv entry");
  kvs_.insert_or_assign(in.key, std::move(e));
  bump(tables_.kvs, idx);
}

// kvsDeleteTxn: a tombstone keeps the index for blocking list queries.
void Store::kv_delete(uint64_t idx, const std::string& key) {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return;
  tombstones_[key] = idx;
  bump(tables_.tombstones, idx);
  kvs_.erase(it);
  bump(tables_.kvs, idx);
}

// kvsDeleteTreeTxn: one tombstone for the prefix (none for ""), not per key.
void Store::kv_delete_tree(uint64_t idx, const std::string& prefix) {
  auto first = kvs_.lower_bound(prefix);
  auto last = first;
  while (last != kvs_.end() && last->first.starts_with(prefix)) ++last;
  if (first == last) return;
  kvs_.erase(first, last);
  if (!prefix.empty()) {
    tombstones_[prefix] = idx;
    bump(tables_.tombstones, idx);
  }
  bump(tables_.kvs, idx);
}

ApplyResult Store::reap_tombstones(uint64_t idx, uint64_t reap_index) {
  begin_write(idx);
  std::erase_if(tombstones_, [reap_index](const auto& t) { return t.second <= reap_index; });
  return ApplyResult::ok();
}

// --- queries ------------------------------------------------------------------

Indexed<std::vector<Node>> Store::nodes() const {
  Indexed<std::vector<Node>> out{tables_.nodes, {}};
  out.value.reserve(nodes_.size());
  for (const auto& [name, e] : nodes_) out.value.push_back(e.node);
  return out;
}

Indexed<std::optional<NodeServices>> Store::node_services(std::string_view node) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return {0, std::nullopt};
  NodeServices ns{it->second.node, {}};
  ns.services.reserve(it->second.services.size());
  for (const auto& [id, s] : it->second.services) ns.services.push_back(s);
  return {std::max(tables_.nodes, tables_.services), std::move(ns)};
}

Indexed<std::vector<Check>> Store::node_checks(std::string_view node) const {
  Indexed<std::vector<Check>> out{tables_.checks, {}};
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return out;
  for (const auto& [id, c] : it->second.checks) out.value.push_back(c);
  return out;
}

Indexed<std::vector<ServiceNode>> Store::service_nodes(std::string_view name) const {
  Indexed<std::vector<ServiceNode>> out;
  auto inst = by_service_.find(name);
  if (inst != by_service_.end()) {
    for (const auto& [node, id] : inst->second) {
      const NodeEntry& e = nodes_.find(node)->second;
      out.value.push_back(ServiceNode{node, e.node.address, e.services.find(id)->second});
    }
  }
  // maxIndexForService(name, exists, checks = false).
  auto svc_idx = service_indexes_.find(name);
  if (out.value.empty() && tables_.service_last_extinction != 0) {
    out.index = tables_.service_last_extinction;
  } else if (svc_idx != service_indexes_.end()) {
    out.index = svc_idx->second;
  } else {
    out.index = std::max(tables_.nodes, tables_.services);
  }
  return out;
}

Indexed<std::map<std::string, std::vector<std::string>>> Store::services() const {
  Indexed<std::map<std::string, std::vector<std::string>>> out{tables_.services, {}};
  for (const auto& [name, inst] : by_service_) {
    std::set<std::string> tags;
    for (const auto& [node, id] : inst) {
      const Service& s = nodes_.find(node)->second.services.find(id)->second;
      tags.insert(s.tags.begin(), s.tags.end());
    }
    out.value.emplace(name, std::vector<std::string>(tags.begin(), tags.end()));
  }
  return out;
}

Indexed<std::optional<KvEntry>> Store::kv_get(std::string_view key) const {
  Indexed<std::optional<KvEntry>> out{std::max(tables_.kvs, tables_.tombstones), std::nullopt};
  auto it = kvs_.find(key);
  if (it != kvs_.end()) out.value = it->second;
  return out;
}

Indexed<std::vector<KvEntry>> Store::kv_list(std::string_view prefix) const {
  Indexed<std::vector<KvEntry>> out{std::max(tables_.kvs, tables_.tombstones), {}};
  uint64_t lindex = 0;
  for (auto it = kvs_.lower_bound(prefix); it != kvs_.end() && it->first.starts_with(prefix); ++it) {
    out.value.push_back(it->second);
    lindex = std::max(lindex, it->second.modify_index);
  }
  if (!prefix.empty()) {
    for (auto it = tombstones_.lower_bound(prefix); it != tombstones_.end() && it->first.starts_with(prefix); ++it) {
      lindex = std::max(lindex, it->second);
    }
  } else {
    lindex = out.index;
  }
  if (lindex != 0) out.index = lindex;
  return out;
}

const Node* Store::node(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second.node;
}

const Service* Store::service(std::string_view node, std::string_view service_id) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return nullptr;
  auto s = it->second.services.find(service_id);
  return s == it->second.services.end() ? nullptr : &s->second;
}

const Check* Store::check(std::string_view node, std::string_view check_id) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return nullptr;
  auto c = it->second.checks.find(check_id);
  return c == it->second.checks.end() ? nullptr : &c->second;
}

uint64_t Store::service_index(std::string_view name) const {
  auto it = service_indexes_.find(name);
  return it == service_indexes_.end() ? 0 : it->second;
}

// --- invariants -------------------------------------------------------------------

void Store::check_invariants() const {
  const uint64_t last = last_index_;
  for (uint64_t t : {tables_.nodes, tables_.services, tables_.checks, tables_.kvs, tables_.tombstones,
                     tables_.service_last_extinction}) {
    CORE_CHECK(t <= last, "catalog: table index from the future");
  }
  for (const auto& [name, v] : service_indexes_) CORE_CHECK(v > 0 && v <= last, "catalog: bad service index");
  size_t with_id = 0;
  size_t instances = 0;
  for (const auto& [name, e] : nodes_) {
    CORE_CHECK(e.node.name == name, "catalog: node stored under another name");
    check_raft_index(e.node.create_index, e.node.modify_index, last, "node");
    if (!e.node.id.empty()) {
      ++with_id;
      auto id = node_ids_.find(e.node.id);
      CORE_CHECK(id != node_ids_.end() && id->second == name, "catalog: node id index out of date");
    }
    for (const auto& [id, s] : e.services) {
      CORE_CHECK(s.id == id, "catalog: service stored under another id");
      CORE_CHECK(std::is_sorted(s.tags.begin(), s.tags.end()), "catalog: service tags not sorted");
      check_raft_index(s.create_index, s.modify_index, last, "service");
      auto inst = by_service_.find(s.name);
      CORE_CHECK(inst != by_service_.end() && inst->second.contains({name, id}),
                 "catalog: service missing from the by-name index");
      CORE_CHECK(service_indexes_.contains(s.name), "catalog: registered service without its index");
      ++instances;
    }
    for (const auto& [id, c] : e.checks) {
      CORE_CHECK(c.id == id, "catalog: check stored under another id");
      CORE_CHECK(c.node == name, "catalog: check belongs to another node");
      CORE_CHECK(c.service_id.empty() || e.services.contains(c.service_id), "catalog: check of a missing service");
      check_raft_index(c.create_index, c.modify_index, last, "check");
    }
  }
  CORE_CHECK(node_ids_.size() == with_id, "catalog: stale node ids");
  size_t indexed = 0;
  for (const auto& [name, inst] : by_service_) {
    CORE_CHECK(!inst.empty(), "catalog: empty by-name entry");
    indexed += inst.size();
  }
  CORE_CHECK(indexed == instances, "catalog: stale by-name index");
  for (const auto& [key, e] : kvs_) {
    CORE_CHECK(e.key == key, "catalog: kv entry stored under another key");
    check_raft_index(e.create_index, e.modify_index, last, "kv entry");
  }
  for (const auto& [key, v] : tombstones_) CORE_CHECK(v > 0 && v <= last, "catalog: bad tombstone index");
}

// --- snapshot -----------------------------------------------------------------------

std::string Store::encode_snapshot() const {
  Writer w;
  w.u8(kSnapshotVersion);
  w.u64(last_index_);
  for (uint64_t t : {tables_.nodes, tables_.services, tables_.checks, tables_.kvs, tables_.tombstones,
                     tables_.service_last_extinction}) {
    w.u64(t);
  }
  w.u64(service_indexes_.size());
  for (const auto& [name, v] : service_indexes_) {
    w.str(name);
    w.u64(v);
  }
  w.u64(nodes_.size());
  for (const auto& [name, e] : nodes_) {
    w.node(e.node, true);
    w.u64(e.services.size());
    for (const auto& [id, s] : e.services) w.service(s, true);
    w.u64(e.checks.size());
    for (const auto& [id, c] : e.checks) w.check(c, true);
  }
  w.u64(kvs_.size());
  for (const auto& [key, e] : kvs_) w.kv(e, true);
  w.u64(tombstones_.size());
  for (const auto& [key, v] : tombstones_) {
    w.str(key);
    w.u64(v);
  }
  return w.take();
}

std::optional<Store> Store::decode_snapshot(std::string_view bytes, std::string* error) {
  Reader r(bytes);
  Store s;
  if (r.u8() != kSnapshotVersion) r.fail("unknown snapshot version");
  s.last_index_ = r.u64();
  for (uint64_t* t : {&s.tables_.nodes, &s.tables_.services, &s.tables_.checks, &s.tables_.kvs,
                      &s.tables_.tombstones, &s.tables_.service_last_extinction}) {
    *t = r.u64();
  }
  auto unique = [&r](bool inserted) {
    if (!inserted) r.fail("duplicate key in snapshot");
  };
  for (uint64_t i = 0, n = r.count(); i < n && r.ok(); ++i) {
    std::string name = r.str();
    const uint64_t v = r.u64();
    unique(s.service_indexes_.emplace(std::move(name), v).second);
  }
  for (uint64_t i = 0, n = r.count(); i < n && r.ok(); ++i) {
    NodeEntry e;
    e.node = r.node(true);
    for (uint64_t j = 0, m = r.count(); j < m && r.ok(); ++j) {
      Service svc = r.service(true);
      std::string id = svc.id;
      unique(e.services.emplace(std::move(id), std::move(svc)).second);
    }
    for (uint64_t j = 0, m = r.count(); j < m && r.ok(); ++j) {
      Check c = r.check(true);
      std::string id = c.id;
      unique(e.checks.emplace(std::move(id), std::move(c)).second);
    }
    std::string name = e.node.name;
    unique(s.nodes_.emplace(std::move(name), std::move(e)).second);
  }
  for (uint64_t i = 0, n = r.count(); i < n && r.ok(); ++i) {
    KvEntry e = r.kv(true);
    std::string key = e.key;
    unique(s.kvs_.emplace(std::move(key), std::move(e)).second);
  }
  for (uint64_t i = 0, n = r.count(); i < n && r.ok(); ++i) {
    std::string key = r.str();
    const uint64_t v = r.u64();
    unique(s.tombstones_.emplace(std::move(key), v).second);
  }
  r.finish();
  if (!r.ok()) {
    if (error != nullptr) *error = r.error();
    return std::nullopt;
  }
  s.rebuild_derived();
  return s;
}

void Store::rebuild_derived() {
  node_ids_.clear();
  by_service_.clear();
  for (const auto& [name, e] : nodes_) {
    if (!e.node.id.empty()) node_ids_[e.node.id] = name;
    for (const auto& [id, svc] : e.services) by_service_[svc.name].insert({name, id});
  }
}

}  // namespace core::catalog

#include "core/agent/local_state.hpp"

#include <set>

#include "core/agent/ae_scale.hpp"
#include "core/check.hpp"

namespace core::agent {

namespace {
constexpr uint64_t kSerialMask = (uint64_t{1} << 56) - 1;
}  // namespace

LocalState::LocalState(LocalConfig config) : config_(std::move(config)) {
  CORE_CHECK(config_.check_update_interval >= 0, "local state: check_update_interval is not negative");
}

void LocalState::trigger() {
  ++triggers_;
  if (trigger_) trigger_();
}

void LocalState::stop_defer(Env& env, CheckState& c) {
  if (c.defer_serial == 0) return;
  auto it = defers_.find(c.defer_serial);
  CORE_CHECK(it != defers_.end(), "local state: a pending defer timer is known");
  env.cancel_timer(it->second.first);
  defers_.erase(it);
  c.defer_serial = 0;
}

// state.go pruneCheck: stop the defer timer, forget the entry.
void LocalState::prune_check(Env& env, std::map<std::string, CheckState>::iterator it) {
  stop_defer(env, it->second);
  checks_.erase(it);
}

// ---------------------------------------------------------------- local changes

void LocalState::add_service(std::string id, Service service, std::string token) {
  if (id.empty()) id = service.name;
  ServiceState s;
  s.service = std::move(service);
  s.token = std::move(token);
  s.version = ++next_version_;
  services_[id] = std::move(s);
  trigger();
}

bool LocalState::remove_service(const std::string& id) {
  auto it = services_.find(id);
  if (it == services_.end() || it->second.deleted) return false;
  // Kept as a tombstone: deregistration needs its token.
  it->second.in_sync = false;
  it->second.deleted = true;
  it->second.version = ++next_version_;
  trigger();
  return true;
}

bool LocalState::add_check(std::string id, Check check, std::string token) {
  if (config_.discard_check_output) check.output.clear();
  if (!check.service_id.empty() && services_.count(check.service_id) == 0) return false;
  CheckState c;
  c.check = std::move(check);
  c.token = std::move(token);
  c.version = ++next_version_;
  checks_[std::move(id)] = std::move(c);
  trigger();
  return true;
}

bool LocalState::remove_check(const std::string& id) {
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.deleted) return false;
  it->second.in_sync = false;
  it->second.deleted = true;
  it->second.version = ++next_version_;
  trigger();
  return true;
}

void LocalState::update_check(Env& env, const std::string& id, CheckStatus status, std::string output) {
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.deleted) return;
  CheckState& c = it->second;
  if (config_.discard_check_output) output.clear();

  // Critical-time tracking never causes a server update, so it is always kept.
  if (status == CheckStatus::kCritical) {
    if (c.critical_since == kNever) c.critical_since = env.now();
  } else {
    c.critical_since = kNever;
  }

  if (c.check.status == status && c.check.output == output) return;
  c.version = ++next_version_;

  // Output-only change: store it, write it back later (rate-limits chatty checks).
  if (config_.check_update_interval > 0 && c.check.status == status) {
    c.check.output = std::move(output);
    if (c.defer_serial == 0) {
      const Duration d = config_.check_update_interval;
      const Duration delay = d / 2 + random_stagger(env.rng(), d);
      const uint64_t serial = ++next_defer_serial_;
      CORE_CHECK(serial <= kSerialMask, "local state: defer serials fit 56 bits");
      const TimerId t = env.set_timer(delay, timer_what(serial));
      defers_.emplace(serial, std::make_pair(t, id));
      c.defer_serial = serial;
    }
    return;
  }

  c.check.status = status;
  c.check.output = std::move(output);
  c.in_sync = false;
  trigger();
}

void LocalState::on_timer(Env& /*env*/, uint64_t what) {
  CORE_CHECK(owns_timer(what), "local state: a timer of ours");
  auto d = defers_.find(what & kSerialMask);
  CORE_CHECK(d != defers_.end(), "local state: a fired defer timer is armed");
  const std::string id = std::move(d->second.second);
  defers_.erase(d);
  auto it = checks_.find(id);
  if (it == checks_.end()) return;
  CheckState& c = it->second;
  c.defer_serial = 0;  // as state.go: whichever defer timer fired, DeferCheck = nil
  if (c.deleted) return;
  c.in_sync = false;
  trigger();
}

// ---------------------------------------------------------------- full sync

void LocalState::update_sync_state(const CatalogView& catalog) {
  const NodeInfo& me = config_.node;
  if (!catalog.node || catalog.node->id != me.id || catalog.node->tagged_addresses != me.tagged_addresses ||
      catalog.node->meta != me.meta) {
    node_info_in_sync_ = false;
  }

  for (auto& [id, s] : services_)
    if (catalog.services.count(id) == 0) s.in_sync = false;
  for (const auto& [id, rs] : catalog.services) {
    auto it = services_.find(id);
    if (it == services_.end()) {
      if (id == kConsulServiceId) continue;  // managed by the server itself
      ServiceState tomb;
      tomb.deleted = true;
      tomb.has_record = false;
      tomb.version = ++next_version_;
      services_.emplace(id, std::move(tomb));
      continue;
    }
    ServiceState& ls = it->second;
    if (ls.deleted) continue;
    if (ls.service.enable_tag_override && ls.service.tags != rs.tags) {
      ls.service.tags = rs.tags;
      ls.version = ++next_version_;
    }
    ls.in_sync = ls.service == rs;
  }

  for (auto& [id, c] : checks_)
    if (catalog.checks.count(id) == 0) c.in_sync = false;
  for (const auto& [id, rc] : catalog.checks) {
    auto it = checks_.find(id);
    if (it == checks_.end()) {
      if (id == kSerfCheckId) continue;  // managed by the leader
      CheckState tomb;
      tomb.deleted = true;
      tomb.has_record = false;
      tomb.version = ++next_version_;
      checks_.emplace(id, std::move(tomb));
      continue;
    }
    CheckState& lc = it->second;
    if (lc.deleted) continue;
    if (config_.check_update_interval == 0 || lc.defer_serial == 0) {
      lc.in_sync = lc.check == rc;
      continue;
    }
    // A defer timer is pending: its firing will sync the output, so only
    // the rest of the check is compared now.
    Check l = lc.check;
    Check r = rc;
    l.output.clear();
    r.output.clear();
    lc.in_sync = l == r;
  }
}

std::vector<CatalogOp> LocalState::sync_changes() {
  ++pass_;
  std::vector<CatalogOp> ops;
  bool node_in_sync = node_info_in_sync_;  // as it would be after the ops so far succeed
  auto add = [&](OpKind kind, const std::string& id, const std::string& token) -> CatalogOp& {
    CatalogOp op;
    op.kind = kind;
    op.pass = pass_;
    op.index = static_cast<uint32_t>(ops.size());
    op.id = id;
    op.token = token;
    op.node = config_.node;
    op.skip_node_update = node_in_sync;
    ops.push_back(std::move(op));
    return ops.back();
  };

  if (!node_in_sync) {
    add(OpKind::kRegisterNode, std::string(), std::string());  // the agent token
    node_in_sync = true;
  }

  std::set<std::string> covered;  // checks synced or removed by a service op
  for (const auto& [sid, s] : services_) {
    if (s.deleted) {
      CatalogOp& op = add(OpKind::kDeregisterService, sid, s.token);
      op.service_version = s.version;
      // The catalog drops the service's checks with it; local check
      // tombstones of that service are pruned (not those without a record).
      for (const auto& [cid, c] : checks_)
        if (c.deleted && c.has_record && c.check.service_id == sid) covered.insert(cid);
    } else if (!s.in_sync) {
      CatalogOp& op = add(OpKind::kRegisterService, sid, s.token);
      op.service = std::make_pair(sid, s.service);
      op.service_version = s.version;
      for (const auto& [cid, c] : checks_) {
        if (c.deleted || c.in_sync || c.check.service_id != sid || c.token != s.token) continue;
        op.checks.emplace_back(cid, c.check);
        op.check_versions.push_back(c.version);
        covered.insert(cid);
      }
    }
  }
  for (const auto& [cid, c] : checks_) {
    if (covered.count(cid) != 0) continue;
    if (c.deleted) {
      CatalogOp& op = add(OpKind::kDeregisterCheck, cid, c.token);
      op.check_versions.push_back(c.version);
    } else if (!c.in_sync) {
      CatalogOp& op = add(OpKind::kRegisterCheck, cid, c.token);
      op.checks.emplace_back(cid, c.check);
      op.check_versions.push_back(c.version);
      auto s = services_.find(c.check.service_id);
      if (s != services_.end() && !s->second.deleted) op.service = std::make_pair(s->first, s->second.service);
    }
  }
  next_index_ = 0;
  pass_size_ = static_cast<uint32_t>(ops.size());
  pass_open_ = !ops.empty();
  pass_failed_ = false;
  return ops;
}

bool LocalState::report(Env& env, const CatalogOp& op, bool ok) {
  CORE_CHECK(op.pass <= pass_, "local state: a report of a planned op");
  if (op.pass < pass_) return false;  // an abandoned pass
  CORE_CHECK(pass_open_, "local state: no report after the pass ended");
  CORE_CHECK(op.index == next_index_, "local state: ops are reported in order");
  ++next_index_;

  if (op.kind == OpKind::kRegisterCheck) {
    // SyncChanges stops the defer timer before registering, whatever the outcome.
    auto it = checks_.find(op.id);
    if (it != checks_.end() && it->second.version == op.check_versions.at(0)) stop_defer(env, it->second);
  }
  if (!ok) {
    pass_open_ = false;  // the first error aborts the rest of the pass
    pass_failed_ = true;
    return false;
  }

  switch (op.kind) {
    case OpKind::kRegisterNode:
      node_info_in_sync_ = true;
      break;
    case OpKind::kDeregisterService: {
      auto it = services_.find(op.id);
      if (it == services_.end() || !it->second.deleted || it->second.version != op.service_version) break;
      services_.erase(it);
      for (auto c = checks_.begin(); c != checks_.end();) {
        auto next = std::next(c);
        if (c->second.deleted && c->second.has_record && c->second.check.service_id == op.id) prune_check(env, c);
        c = next;
      }
      break;
    }
    case OpKind::kDeregisterCheck: {
      auto it = checks_.find(op.id);
      if (it != checks_.end() && it->second.deleted && it->second.version == op.check_versions.at(0))
        prune_check(env, it);
      break;
    }
    case OpKind::kRegisterService:
    case OpKind::kRegisterCheck: {
      // The register API also writes the node's fields.
      node_info_in_sync_ = true;
      if (op.kind == OpKind::kRegisterService) {
        auto it = services_.find(op.id);
        if (it != services_.end() && !it->second.deleted && it->second.version == op.service_version)
          it->second.in_sync = true;
      }
      for (size_t i = 0; i < op.checks.size(); ++i) {
        auto it = checks_.find(op.checks[i].first);
        if (it != checks_.end() && !it->second.deleted && it->second.version == op.check_versions[i])
          it->second.in_sync = true;
      }
      break;
    }
  }
  if (next_index_ == pass_size_) {
    pass_open_ = false;
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- queries

const ServiceState* LocalState::service(const std::string& id) const {
  auto it = services_.find(id);
  return it == services_.end() ? nullptr : &it->second;
}

const CheckState* LocalState::check(const std::string& id) const {
  auto it = checks_.find(id);
  return it == checks_.end() ? nullptr : &it->second;
}

}  // namespace core::agent

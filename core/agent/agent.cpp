#include "core/agent/agent.hpp"

#include <algorithm>
#include <utility>

#include "core/agent/records.hpp"
#include "core/catalog/codec.hpp"
#include "core/check.hpp"

namespace core::agent {

namespace {

constexpr const char* kServicePrefix = "agent/service/";
constexpr const char* kCheckPrefix = "agent/check/";
const std::string kCheckStatePrefix = "agent/check-state/";
constexpr const char* kBootMarker = "agent/booted";

LocalConfig local_config(NodeId self, const AgentConfig& c) {
  LocalConfig lc;
  lc.node.id = c.directory->node_id(self);
  lc.node.address = c.directory->at(self).name;
  lc.check_update_interval = c.check_update_interval;
  return lc;
}

std::unique_ptr<Delegate> make_delegate(NodeId self, const AgentConfig& c, AgentHooks& hooks) {
  if (c.server) return std::make_unique<Server>(self, c, hooks);
  return std::make_unique<Client>(self, c, hooks);
}

catalog::Health health(CheckStatus s) { return static_cast<catalog::Health>(static_cast<uint8_t>(s)); }
CheckStatus status_of(catalog::Health h) { return static_cast<CheckStatus>(static_cast<uint8_t>(h)); }

std::string encode_service(const Service& s) {
  catalog::Writer w;
  w.str(s.name);
  w.u64(s.tags.size());
  for (const std::string& t : s.tags) w.str(t);
  w.u64(s.port);
  w.boolean(s.enable_tag_override);
  return w.take();
}

std::optional<Service> decode_service(const std::string& bytes) {
  catalog::Reader r(bytes);
  Service s;
  s.name = r.str();
  for (uint64_t i = 0, n = r.count(); i < n && r.ok(); ++i) s.tags.push_back(r.str());
  s.port = static_cast<uint16_t>(r.u32());
  s.enable_tag_override = r.boolean();
  r.finish();
  if (!r.ok()) return std::nullopt;
  return s;
}

std::string encode_check(const CheckDefinition& d) {
  catalog::Writer w;
  w.u8(static_cast<uint8_t>(d.kind));
  w.str(d.name);
  w.str(d.service_id);
  w.u64(static_cast<uint64_t>(d.ttl));
  w.u64(static_cast<uint64_t>(d.interval));
  w.u64(static_cast<uint64_t>(d.timeout));
  w.u64(d.target);
  w.str(d.target_service);
  w.u8(static_cast<uint8_t>(d.initial));
  return w.take();
}

std::optional<CheckDefinition> decode_check(const std::string& bytes) {
  catalog::Reader r(bytes);
  CheckDefinition d;
  const uint8_t kind = r.u8();
  if (kind > static_cast<uint8_t>(CheckDefinition::Kind::kHttp)) r.fail("check kind");
  d.kind = static_cast<CheckDefinition::Kind>(kind);
  d.name = r.str();
  d.service_id = r.str();
  d.ttl = static_cast<Duration>(r.u64());
  d.interval = static_cast<Duration>(r.u64());
  d.timeout = static_cast<Duration>(r.u64());
  d.target = r.u32();
  d.target_service = r.str();
  const uint8_t initial = r.u8();
  if (initial > static_cast<uint8_t>(CheckStatus::kCritical)) r.fail("check status");
  d.initial = static_cast<CheckStatus>(initial);
  r.finish();
  if (!r.ok()) return std::nullopt;
  return d;
}

}  // namespace

Agent::Agent(NodeId self, AgentConfig config)
    : self_(self),
      config_(std::move(config)),
      delegate_(make_delegate(self_, config_, *this)),
      local_(local_config(self_, config_)),
      syncer_(*this, [this] { return delegate_->lan_member_count(); },
              SyncerConfig{config_.ae_interval, kServerUpInterval, kRetryFailInterval}),
      deferred_(kTimerTag) {
  local_.set_trigger([this] { triggered_ = true; });
}

Agent::~Agent() = default;

const std::string& Agent::name() const { return config_.directory->at(self_).name; }

// ---------------------------------------------------------------- hosting

void Agent::start(Env& env) {
  Env& host = env.on_port(Port::kHost);
  restarted_ = host.storage().get(kBootMarker) != nullptr;
  if (!restarted_) host.storage().put(kBootMarker, "1");
  delegate_->start(env, restarted_);
  if (restarted_) restore(host);
  syncer_.run(host);
  if (!config_.retry_join.empty()) {
    retry_joining_ = true;
    try_join(host);
  }
  flush(host);
}

void Agent::on_message(Env& env, const Message& msg) {
  if (shut_down_) return;
  if (env.port() == Port::kHost) {
    const AgentMsg* m = agent_body(msg);
    if (!m) return;
    const bool bounced = msg.type == kStreamRefused || msg.type == kStreamReset;
    if (const auto* p = std::get_if<Probe>(&m->body); p && bounced) {
      // The probed node's process is down: the connect is refused at once.
      auto it = probes_.find(p->id);
      if (it != probes_.end()) {
        const std::string check = it->second;
        probes_.erase(it);
        auto run = runners_.find(check);
        if (run != runners_.end() && run->second.probe == p->id) {
          deferred_.cancel(env, run->second.timer);
          probe_done(env, check, run->second.serial, false, "dial tcp: connect: connection refused");
        }
      }
    } else if (bounced) {
      // An answer of ours to a prober that went away.
    } else if (const auto* probe = std::get_if<Probe>(&m->body)) {
      handle_probe(env, msg.from, *probe);
    } else if (const auto* r = std::get_if<ProbeReply>(&m->body)) {
      auto it = probes_.find(r->id);
      if (it != probes_.end()) {
        const std::string check = it->second;
        probes_.erase(it);
        auto run = runners_.find(check);
        if (run != runners_.end() && run->second.probe == r->id) {
          deferred_.cancel(env, run->second.timer);
          const CheckDefinition& d = defs_.at(check);
          const std::string target = d.target == kNoNode ? name() : config_.directory->at(d.target).name;
          probe_done(env, check, run->second.serial, r->healthy,
                     r->healthy ? (d.kind == CheckDefinition::Kind::kHttp ? "HTTP GET " + target + ": 200 OK"
                                                                          : "TCP connect " + target + ": Success")
                                : (d.kind == CheckDefinition::Kind::kHttp ? "HTTP GET " + target + ": 503 Service Unavailable"
                                                                          : "dial tcp " + target + ": connection refused"));
        }
      }
    }
    flush(env);
    return;
  }
  delegate_->on_message(env, msg);
  flush(env);
}

void Agent::on_timer(Env& env, uint64_t what) {
  if (shut_down_) return;
  if (env.port() == Port::kHost) {
    if (LocalState::owns_timer(what)) local_.on_timer(env, what);
    else if (StateSyncer::owns_timer(what)) syncer_.on_timer(env, what);
    else if (deferred_.owns(what)) deferred_.fire(env, what);
    flush(env);
    return;
  }
  delegate_->on_timer(env, what);
  flush(env);
}

void Agent::flush(Env& env) {
  if (!triggered_ || shut_down_) return;
  triggered_ = false;
  syncer_.trigger_sync_changes(env.on_port(Port::kHost));
}

// ---------------------------------------------------------------- local state

std::string Agent::add_service(Env& env, std::string id, Service service) {
  if (shut_down_) return "agent is shut down";
  if (service.name.empty()) return "Missing service name";
  if (id.empty()) id = service.name;
  std::sort(service.tags.begin(), service.tags.end());
  Env& host = env.on_port(Port::kHost);
  // addServiceInternal pauses anti-entropy during the change; the resume
  // that ends the pause triggers the partial sync.
  syncer_.pause();
  local_.add_service(id, std::move(service));
  host.record(Record(kRecordLocal, kServiceAdded, id_hash(id)));
  persist_service(host, id);
  triggered_ = false;
  syncer_.resume(host);
  flush(host);
  return "";
}

std::string Agent::remove_service(Env& env, const std::string& id) {
  if (shut_down_) return "agent is shut down";
  const ServiceState* s = local_.service(id);
  if (s == nullptr || s->deleted) return "Unknown service ID \"" + id + "\". Ensure that the service ID is passed, not the service name.";
  Env& host = env.on_port(Port::kHost);
  // removeServiceLocked: the service and its checks go in one change
  // (RemoveServiceWithChecks), so one pass deregisters the service, which
  // takes its checks with it.
  syncer_.pause();
  std::vector<std::string> checks;
  for (const auto& [cid, d] : defs_)
    if (d.service_id == id) checks.push_back(cid);
  for (const std::string& cid : checks) drop_check(host, cid);
  local_.remove_service(id);
  answers_.erase(id);
  host.record(Record(kRecordLocal, kServiceRemoved, id_hash(id)));
  persist_service(host, id);
  triggered_ = false;
  syncer_.resume(host);
  flush(host);
  return "";
}

void Agent::drop_check(Env& env, const std::string& id) {
  stop_check(env, id);
  defs_.erase(id);
  local_.remove_check(id);
  env.record(Record(kRecordLocal, kCheckRemoved, id_hash(id)));
  persist_check(env, id);
  env.storage().erase(kCheckStatePrefix + id);  // purgeCheckState
}

std::string Agent::add_check(Env& env, std::string id, CheckDefinition def) {
  if (shut_down_) return "agent is shut down";
  if (def.name.empty()) return "Missing check name";
  if (id.empty()) id = def.name;
  if (def.kind == CheckDefinition::Kind::kTtl && def.ttl <= 0) return "TTL must be > 0 for TTL checks";
  if (def.kind != CheckDefinition::Kind::kTtl) {
    if (def.interval <= 0) return "Interval must be > 0 for Script, HTTP, or TCP checks";
    def.interval = std::max(def.interval, kMinCheckInterval);
    if (def.timeout <= 0) def.timeout = 10 * kSecond;
    if (def.target != kNoNode && def.target >= config_.directory->nodes.size()) return "unknown target node";
  }
  if (!def.service_id.empty()) {
    const ServiceState* s = local_.service(def.service_id);
    if (s == nullptr || s->deleted) return "ServiceID \"" + def.service_id + "\" does not exist";
  }
  Env& host = env.on_port(Port::kHost);
  stop_check(host, id);
  Check c;
  c.name = def.name;
  c.status = def.initial;
  c.service_id = def.service_id;
  if (!local_.add_check(id, c)) return "ServiceID \"" + def.service_id + "\" does not exist";
  defs_[id] = std::move(def);
  host.record(Record(kRecordLocal, kCheckAdded, id_hash(id), static_cast<uint64_t>(c.status)));
  persist_check(host, id);
  start_check(host, id);
  flush(host);
  return "";
}

std::string Agent::remove_check(Env& env, const std::string& id) {
  if (shut_down_) return "agent is shut down";
  const CheckState* c = local_.check(id);
  if (c == nullptr || c->deleted) return "Unknown check \"" + id + "\"";
  Env& host = env.on_port(Port::kHost);
  drop_check(host, id);
  flush(host);
  return "";
}

std::string Agent::update_ttl(Env& env, const std::string& id, CheckStatus status, std::string output) {
  if (shut_down_) return "agent is shut down";
  auto d = defs_.find(id);
  if (d == defs_.end()) return "Unknown check \"" + id + "\"";
  if (d->second.kind != CheckDefinition::Kind::kTtl) return "CheckID \"" + id + "\" does not have associated TTL";
  Env& host = env.on_port(Port::kHost);
  // CheckTTL.SetStatus: the timer starts over.
  Runner& r = runners_[id];
  deferred_.cancel(host, r.timer);
  r.serial = next_serial_++;
  const uint64_t serial = r.serial;
  r.timer = deferred_.after(host, d->second.ttl, [this, id, serial](Env& e) { ttl_expired(e, id, serial); });
  r.last_output = output;
  // persistCheckState: the status survives a restart until the TTL would
  // have expired.
  catalog::Writer w;
  w.u8(static_cast<uint8_t>(status));
  w.str(output);
  w.u64(static_cast<uint64_t>(host.now() + d->second.ttl));
  host.storage().put(kCheckStatePrefix + id, w.take());
  set_check(host, id, status, std::move(output));
  flush(host);
  return "";
}

void Agent::set_service_answers(const std::string& id, bool answers) {
  if (answers) answers_.erase(id);
  else answers_[id] = false;
}

void Agent::set_check(Env& env, const std::string& id, CheckStatus status, std::string output) {
  const CheckState* before = local_.check(id);
  if (before == nullptr || before->deleted) return;
  const CheckStatus old = before->check.status;
  local_.update_check(env, id, status, std::move(output));
  if (old != status) env.record(Record(kRecordLocal, kCheckStatus, id_hash(id), static_cast<uint64_t>(status)));
}

void Agent::persist_service(Env& env, const std::string& id) {
  Storage& st = env.storage();
  const std::string key = kServicePrefix + id;
  const ServiceState* s = local_.service(id);
  if (s == nullptr || s->deleted || !s->has_record) st.erase(key);
  else st.put(key, encode_service(s->service));
  env.sync();
}

void Agent::persist_check(Env& env, const std::string& id) {
  Storage& st = env.storage();
  const std::string key = kCheckPrefix + id;
  auto d = defs_.find(id);
  if (d == defs_.end()) st.erase(key);
  else st.put(key, encode_check(d->second));
  env.sync();
}

void Agent::restore(Env& env) {
  // loadServices / loadChecks: what was registered through the API comes back.
  const Storage::Map& view = env.storage().view();
  const std::string sp = kServicePrefix;
  std::vector<std::pair<std::string, Service>> services;
  for (auto it = view.lower_bound(sp); it != view.end() && it->first.starts_with(sp); ++it) {
    std::optional<Service> s = decode_service(it->second);
    CORE_CHECK(s.has_value(), "agent: a persisted service decodes");
    services.emplace_back(it->first.substr(sp.size()), std::move(*s));
  }
  const std::string cp = kCheckPrefix;
  std::vector<std::pair<std::string, CheckDefinition>> checks;
  for (auto it = view.lower_bound(cp); it != view.end() && it->first.starts_with(cp); ++it) {
    std::optional<CheckDefinition> d = decode_check(it->second);
    CORE_CHECK(d.has_value(), "agent: a persisted check decodes");
    checks.emplace_back(it->first.substr(cp.size()), std::move(*d));
  }
  for (auto& [id, s] : services) local_.add_service(id, std::move(s));
  for (auto& [id, d] : checks) {
    // loadChecks: a persisted check starts critical; a TTL check takes back
    // its persisted status while its TTL has not run out (loadCheckState).
    Check c;
    c.name = d.name;
    c.status = CheckStatus::kCritical;
    c.service_id = d.service_id;
    std::string last_output;
    if (d.kind == CheckDefinition::Kind::kTtl) {
      if (const std::string* state = env.storage().get(kCheckStatePrefix + id)) {
        catalog::Reader r(*state);
        const uint8_t status = r.u8();
        std::string output = r.str();
        const auto expires = static_cast<Time>(r.u64());
        r.finish();
        CORE_CHECK(r.ok() && status <= static_cast<uint8_t>(CheckStatus::kCritical), "agent: a persisted check state decodes");
        if (env.now() < expires) {
          c.status = static_cast<CheckStatus>(status);
          c.output = output;
          last_output = std::move(output);
        }
      }
    }
    if (!local_.add_check(id, c)) continue;
    defs_[id] = std::move(d);
    start_check(env, id);
    runners_[id].last_output = std::move(last_output);
  }
}

// ---------------------------------------------------------------- anti-entropy

// A pass may end inside the call (a server answers its own RPCs in
// process): then the syncer gets the outcome as the call's result, not later.
SyncTarget::Result Agent::finish_call(bool started_inside) {
  in_sync_call_ = false;
  if (!started_inside || !sync_result_) return Result::kPending;
  const bool ok = *sync_result_;
  sync_result_.reset();
  return ok ? Result::kOk : Result::kFailed;
}

SyncTarget::Result Agent::sync_full(Env& env) {
  const uint64_t pass = ++sync_pass_;
  in_sync_call_ = true;
  sync_result_.reset();
  full_sync_read(env, pass);
  return finish_call(true);
}

void Agent::full_sync_read(Env& env, uint64_t pass) {
  // updateSyncState: this node's services, then its checks, stale reads.
  RpcRequest services;
  services.method = Method::kCatalogNodeServices;
  services.mode = ReadMode::kStale;
  services.args = NodeQuery{name()};
  rpc(env, std::move(services), [this, pass](Env& e, const RpcResponse& r1) {
    if (pass != sync_pass_ || shut_down_) return;
    if (!r1.ok) {
      sync_ended(e, pass, true, false, 0);
      return;
    }
    auto view = std::make_shared<CatalogView>();
    if (const auto* ns = std::get_if<std::optional<catalog::NodeServices>>(&r1.reply); ns && *ns) {
      view->node = NodeInfo{(*ns)->node.id, name(), {}, {}};
      for (const catalog::Service& s : (*ns)->services) {
        Service svc;
        svc.name = s.name;
        svc.tags = s.tags;
        svc.port = static_cast<uint16_t>(s.port);
        // The catalog keeps EnableTagOverride as registered: the local value.
        if (const ServiceState* l = local_.service(s.id)) svc.enable_tag_override = l->service.enable_tag_override;
        view->services.emplace(s.id, std::move(svc));
      }
    }
    RpcRequest checks;
    checks.method = Method::kHealthNodeChecks;
    checks.mode = ReadMode::kStale;
    checks.args = NodeQuery{name()};
    rpc(e, std::move(checks), [this, pass, view](Env& e2, const RpcResponse& r2) {
      if (pass != sync_pass_ || shut_down_) return;
      if (!r2.ok) {
        sync_ended(e2, pass, true, false, 0);
        return;
      }
      if (const auto* cs = std::get_if<std::vector<catalog::Check>>(&r2.reply)) {
        for (const catalog::Check& c : *cs) {
          Check chk;
          chk.name = c.name;
          chk.status = status_of(c.status);
          chk.output = c.output;
          chk.service_id = c.service_id;
          view->checks.emplace(c.id, std::move(chk));
        }
      }
      local_.update_sync_state(*view);
      run_ops(e2, pass, std::make_shared<std::vector<CatalogOp>>(local_.sync_changes()), 0, true);
    });
  });
}

SyncTarget::Result Agent::sync_changes(Env& env) {
  auto ops = std::make_shared<std::vector<CatalogOp>>(local_.sync_changes());
  if (ops->empty()) {
    env.on_port(Port::kHost).record(Record(kRecordSync, kSyncChanges, 1, 0));
    return Result::kOk;
  }
  const uint64_t pass = ++sync_pass_;
  in_sync_call_ = true;
  sync_result_.reset();
  run_ops(env, pass, std::move(ops), 0, false);
  return finish_call(true);
}

void Agent::run_ops(Env& env, uint64_t pass, std::shared_ptr<std::vector<CatalogOp>> ops, size_t next, bool full) {
  if (next == ops->size()) {
    sync_ended(env, pass, full, !local_.pass_failed(), ops->size());
    return;
  }
  const CatalogOp& op = (*ops)[next];
  const std::string& node = name();
  RpcRequest req;
  switch (op.kind) {
    case OpKind::kRegisterNode: {
      req.method = Method::kCatalogRegister;
      catalog::RegisterRequest r;
      r.node = node;
      r.node_id = op.node.id;
      r.address = self_;
      req.args = std::move(r);
      break;
    }
    case OpKind::kDeregisterService:
    case OpKind::kDeregisterCheck: {
      req.method = Method::kCatalogDeregister;
      catalog::DeregisterRequest r;
      r.node = node;
      if (op.kind == OpKind::kDeregisterService) r.service_id = op.id;
      else r.check_id = op.id;
      req.args = std::move(r);
      break;
    }
    case OpKind::kRegisterService:
    case OpKind::kRegisterCheck: {
      req.method = Method::kCatalogRegister;
      catalog::RegisterRequest r;
      r.node = node;
      r.node_id = op.node.id;
      r.address = self_;
      r.skip_node_update = op.skip_node_update;
      if (op.service) {
        catalog::Service s;
        s.id = op.service->first;
        s.name = op.service->second.name;
        s.tags = op.service->second.tags;
        s.port = op.service->second.port;
        r.service = std::move(s);
      }
      for (const auto& [cid, c] : op.checks) {
        catalog::Check chk;
        chk.node = node;
        chk.id = cid;
        chk.name = c.name;
        chk.status = health(c.status);
        chk.output = c.output;
        chk.service_id = c.service_id;
        r.checks.push_back(std::move(chk));
      }
      req.args = std::move(r);
      break;
    }
  }
  rpc(env, std::move(req), [this, pass, ops, next, full](Env& e, const RpcResponse& resp) {
    if (pass != sync_pass_ || shut_down_) return;
    Env& host = e.on_port(Port::kHost);
    if (local_.report(host, (*ops)[next], resp.ok)) {
      run_ops(e, pass, ops, next + 1, full);
      return;
    }
    sync_ended(e, pass, full, !local_.pass_failed(), next + 1);
  });
}

void Agent::sync_ended(Env& env, uint64_t pass, bool full, bool ok, size_t ops) {
  if (pass != sync_pass_) return;
  Env& host = env.on_port(Port::kHost);
  const uint64_t cause = full ? static_cast<uint64_t>(syncer_.last_full_sync_cause()) << 32 : 0;
  host.record(Record(kRecordSync, full ? kSyncFull : kSyncChanges, ok ? 1 : 0, ops | cause));
  if (in_sync_call_) {
    sync_result_ = ok;
    return;
  }
  syncer_.sync_done(host, ok);
  flush(host);
}

void Agent::server_up(Env& env) {
  if (shut_down_) return;
  syncer_.trigger_sync_full(env.on_port(Port::kHost));
}

// ---------------------------------------------------------------- RPC, events

void Agent::rpc(Env& env, RpcRequest req, RpcDone done) {
  Env& host = env.on_port(Port::kHost);
  const Time start = host.now();
  const Method method = req.method;
  delegate_->rpc(env, std::move(req), [this, start, method, done = std::move(done)](Env& e, const RpcResponse& resp) {
    Env& h = e.on_port(Port::kHost);
    const uint64_t outcome = resp.ok ? 0 : static_cast<uint64_t>(resp.error);
    h.record(Record(kRecordRpc, static_cast<uint64_t>(method) | (outcome << 8), resp.attempts,
                    static_cast<uint64_t>(h.now() - start)));
    if (done) done(e, resp);
    flush(h);
  });
}

std::string Agent::fire_event(Env& env, UserEvent event, std::string dc, RpcDone done) {
  if (shut_down_) return "agent is shut down";
  if (const auto err = validate_user_event(event)) {
    return *err == UserEventError::kMissingName ? "User event missing name"
                                                : "Cannot provide tag filter without service filter";
  }
  // UserEvent: a fresh ID (Consul: a UUID) and the version.
  if (event.id.empty()) event.id = name() + "-" + std::to_string(next_event_++);
  event.version = kUserEventMaxVersion;
  RpcRequest req;
  req.method = Method::kInternalEventFire;
  req.datacenter = std::move(dc);
  req.mode = ReadMode::kStale;
  req.args = EventFireArgs{std::make_shared<const UserEvent>(std::move(event))};
  rpc(env, std::move(req), std::move(done));
  return "";
}

void Agent::user_event(Env& env, const UserEvent& event) {
  if (shut_down_) return;
  if (ring_.handle(event, name(), local_.services()))
    env.on_port(Port::kHost).record(Record(kRecordUserEvent, id_hash(event.id), event.ltime));
}

// ---------------------------------------------------------------- checks

void Agent::start_check(Env& env, const std::string& id) {
  const CheckDefinition& d = defs_.at(id);
  Runner& r = runners_[id];
  r.serial = next_serial_++;
  const uint64_t serial = r.serial;
  if (d.kind == CheckDefinition::Kind::kTtl) {
    r.timer = deferred_.after(env, d.ttl, [this, id, serial](Env& e) { ttl_expired(e, id, serial); });
    return;
  }
  // CheckTCP/CheckHTTP.run: a random pause of up to one interval first.
  r.timer = deferred_.after(env, random_stagger(env.rng(), d.interval), [this, id, serial](Env& e) { probe(e, id, serial); });
}

void Agent::stop_check(Env& env, const std::string& id) {
  auto it = runners_.find(id);
  if (it == runners_.end()) return;
  deferred_.cancel(env, it->second.timer);
  if (it->second.probe != 0) probes_.erase(it->second.probe);
  runners_.erase(it);
}

void Agent::ttl_expired(Env& env, const std::string& id, uint64_t serial) {
  auto it = runners_.find(id);
  if (it == runners_.end() || it->second.serial != serial) return;
  it->second.timer = 0;
  // CheckTTL.getExpiredOutput: the last output given to SetStatus, if any.
  const std::string& last = it->second.last_output;
  set_check(env, id, CheckStatus::kCritical,
            last.empty() ? "TTL expired" : "TTL expired (last output before timeout follows): " + last);
}

void Agent::probe(Env& env, const std::string& id, uint64_t serial) {
  auto it = runners_.find(id);
  if (it == runners_.end() || it->second.serial != serial) return;
  const CheckDefinition& d = defs_.at(id);
  const std::string service = d.target_service.empty() ? d.service_id : d.target_service;
  const NodeId target = d.target == kNoNode ? self_ : d.target;
  if (target == self_) {
    // A probe of a local service never leaves the host (localhost).
    const ServiceState* s = local_.service(service);
    const bool healthy = s != nullptr && !s->deleted && answers_.count(service) == 0;
    probe_done(env, id, serial, healthy,
               healthy ? "TCP connect localhost: Success" : "dial tcp localhost: connection refused");
    return;
  }
  Runner& r = it->second;
  r.probe = next_probe_++;
  probes_.emplace(r.probe, id);
  env.send(make_message(target, Probe{r.probe, service, d.kind == CheckDefinition::Kind::kHttp}));
  const uint64_t probe_id = r.probe;
  r.timer = deferred_.after(env, d.timeout, [this, id, serial, probe_id](Env& e) {
    probes_.erase(probe_id);
    probe_done(e, id, serial, false, "dial tcp: i/o timeout");
  });
}

void Agent::probe_done(Env& env, const std::string& id, uint64_t serial, bool healthy, const std::string& output) {
  auto it = runners_.find(id);
  if (it == runners_.end() || it->second.serial != serial) return;
  it->second.probe = 0;
  env.record(Record(kRecordProbe, id_hash(id), healthy ? 1 : 0));
  set_check(env, id, healthy ? CheckStatus::kPassing : CheckStatus::kCritical, output);
  const Duration interval = defs_.at(id).interval;
  it->second.timer = deferred_.after(env, interval, [this, id, serial](Env& e) { probe(e, id, serial); });
}

void Agent::handle_probe(Env& env, NodeId from, const Probe& p) {
  const ServiceState* s = local_.service(p.service);
  const bool healthy = s != nullptr && !s->deleted && answers_.count(p.service) == 0;
  env.send(make_message(from, ProbeReply{p.id, healthy}));
}

// ---------------------------------------------------------------- join, leave

std::string Agent::join(Env& env, const std::vector<NodeId>& addrs) {
  if (shut_down_) return "agent is shut down";
  for (NodeId n : addrs)
    if (n >= config_.directory->nodes.size()) return "unknown node";
  return delegate_->join_lan(env, addrs);
}

void Agent::try_join(Env& env) {
  // retryJoinLAN: join the targets; on failure, again after retry_interval.
  ++join_attempts_;
  std::vector<NodeId> targets;
  for (NodeId n : config_.retry_join)
    if (n != self_) targets.push_back(n);
  const std::string err = targets.empty() ? "no join targets" : delegate_->join_lan(env, targets);
  if (!err.empty()) {
    env.record(Record(kRecordJoin, 0, join_attempts_));
    deferred_.after(env, config_.retry_interval, [this](Env& e) {
      if (retry_joining_ && !shut_down_) try_join(e);
    });
  }
}

void Agent::join_done(Env& env, uint32_t contacted, uint32_t /*asked*/) {
  Env& host = env.on_port(Port::kHost);
  host.record(Record(kRecordJoin, contacted, join_attempts_));
  if (!retry_joining_) return;
  if (contacted > 0) {
    retry_joining_ = false;
    return;
  }
  deferred_.after(host, config_.retry_interval, [this](Env& e) {
    if (retry_joining_ && !shut_down_) try_join(e);
  });
}

std::string Agent::leave(Env& env) {
  if (shut_down_) return "agent is shut down";
  if (leaving_) return "Leave already in progress";
  leaving_ = true;
  retry_joining_ = false;
  delegate_->leave(env, [this](Env& e) { shutdown(e); });
  return "";
}

std::string Agent::force_leave(Env& env, NodeId node, bool prune) {
  if (shut_down_) return "agent is shut down";
  if (node >= config_.directory->nodes.size()) return "unknown node";
  return delegate_->remove_failed_node(env, node, prune);
}

void Agent::shutdown(Env& env) {
  if (shut_down_) return;
  Env& host = env.on_port(Port::kHost);
  host.record(Record(kRecordLeave, kLeaveShutdown));
  shut_down_ = true;
  deferred_.clear(host);
  syncer_.shutdown(host);
  delegate_->shutdown(env);
}

}  // namespace core::agent

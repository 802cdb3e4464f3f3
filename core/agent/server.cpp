// Server: hosting (ports, serf events, Raft completions), the RPC endpoints
// with ForwardRPC's rules, and the graceful leave. The leader's duties and
// bootstrap are in leader.cpp.
#include "core/agent/server.hpp"

#include <algorithm>
#include <utility>

#include "core/check.hpp"

namespace core::agent {

namespace {
const std::vector<NodeId> kNone;
constexpr Duration kLeavePollInterval = 50 * kMillisecond;  // server.go Leave
}  // namespace

Server::Server(NodeId self, const AgentConfig& config, AgentHooks& hooks)
    : Delegate(self, config.directory, hooks, config.serf_lan, config.rpc_timeout),
      config_(config),
      wan_(self, static_cast<uint32_t>(config.directory->nodes.size()), config.serf_wan, "serf-wan/"),
      wan_listener_(*this),
      raft_(config.raft, std::make_unique<catalog::CatalogStateMachine>()),
      bootstrap_expect_(config.bootstrap_expect) {
  wan_.set_listener(&wan_listener_);
  raft_.set_collect_completions(true);
}

const catalog::Store& Server::store() const {
  return static_cast<const catalog::CatalogStateMachine&>(raft_.state_machine()).store();
}

// ---------------------------------------------------------------- hosting

void Server::start(Env& host_env, bool restarted) {
  lan_.start(host_env.on_port(Port::kSerfLan), !restarted && config_.lan_known ? *config_.lan_known : kNone);
  wan_.start(host_env.on_port(Port::kSerfWan), !restarted && config_.wan_known ? *config_.wan_known : kNone);
  // A WAN pool known at boot announces nobody: its servers seed the router.
  for (NodeId n = 0; n < wan_.capacity(); ++n)
    if (n != self_ && wan_.status(n) == serf::MemberStatus::kAlive) wan_queued_.emplace_back(serf::MemberEventType::kJoin, n);
  raft_.start(host_env.on_port(Port::kRaft));
  after_raft(host_env);
  if (bootstrap_expect_ != 0) maybe_bootstrap(host_env);
  after_serf(host_env);
}

void Server::after_serf(Env& env) {
  drain_events(env);
  drain_wan(env);
  if (leave_done_ && (leave_stage_ == LeaveStage::kWan || leave_stage_ == LeaveStage::kLan)) leave_serf(env);
}

void Server::after_raft(Env& env) {
  // Completions may make more (a callback proposes again); drain until none.
  for (;;) {
    std::vector<raft::Completion> done = raft_.take_completions();
    if (done.empty()) break;
    for (const raft::Completion& c : done) {
      auto it = raft_waiters_.find(c.request_id);
      if (it == raft_waiters_.end()) continue;
      RaftDone fn = std::move(it->second);
      raft_waiters_.erase(it);
      if (c.error != raft::kOk) ++stats_.raft_apply_failures;
      fn(env, c);
    }
  }
  if (is_leader() != was_leader_) leadership_changed(env);
}

void Server::on_message(Env& env, const Message& msg) {
  if (shut_down_) return;
  switch (env.port()) {
    case Port::kSerfLan:
      lan_.on_message(env, msg);
      after_serf(env);
      return;
    case Port::kSerfWan:
      wan_.on_message(env, msg);
      after_serf(env);
      return;
    case Port::kRaft:
      raft_.on_message(env, msg);
      after_raft(env);
      return;
    case Port::kRpc: {
      if (handle_rpc_answer(env, msg)) return;
      const AgentMsg* m = agent_body(msg);
      if (!m) return;
      if (const auto* req = std::get_if<RpcRequest>(&m->body)) {
        const NodeId from = msg.from;
        const uint64_t id = req->id;
        handle_request(env, *req, [this, from, id](Env& e, RpcResponse r) {
          if (shut_down_) return;  // the connection went with the process
          r.id = id;
          e.on_port(Port::kRpc).send(make_message(from, std::move(r)));
        });
      }
      return;
    }
    default: return;
  }
}

void Server::on_timer(Env& env, uint64_t what) {
  if (shut_down_) return;
  switch (env.port()) {
    case Port::kSerfLan:
      lan_.on_timer(env, what);
      after_serf(env);
      return;
    case Port::kSerfWan:
      wan_.on_timer(env, what);
      after_serf(env);
      return;
    case Port::kRaft:
      raft_.on_timer(env, what);
      after_raft(env);
      return;
    case Port::kRpc:
      handle_rpc_timer(env, what);
      return;
    default: return;
  }
}

void Server::WanListener::on_member_event(Env& /*env*/, serf::MemberEventType type, NodeId member) {
  s_.wan_queued_.emplace_back(type, member);
}

void Server::drain_wan(Env& /*env*/) {
  // The WAN router (router.go): servers of other datacenters, by datacenter.
  std::vector<std::pair<serf::MemberEventType, NodeId>> queued = std::move(wan_queued_);
  wan_queued_.clear();
  for (const auto& [type, node] : queued) {
    const Directory::Entry& e = directory_->at(node);
    if (!e.server || e.dc == directory_->at(self_).dc) continue;
    auto it = routers_.try_emplace(e.dc, directory_->datacenters[e.dc]).first;
    it->second.on_member_event(member_event_of(type), true, ServerMeta{e.name, node, directory_->datacenters[e.dc]});
  }
}

void Server::handle_member_event(Env& env, serf::MemberEventType type, NodeId member) {
  // server_serf.go lanEventHandler: the server lookup needs nothing here
  // (servers are NodeIds); joins may complete a bootstrap; every member
  // event goes to the leader's reconcile channel.
  const Directory::Entry& e = directory_->at(member);
  if (type == serf::MemberEventType::kJoin && e.server && e.dc == directory_->at(self_).dc && bootstrap_expect_ != 0)
    maybe_bootstrap(env);
  if (!is_leader()) return;  // localMemberEvent
  uint64_t status = 0;
  switch (lan_.status(member)) {
    case serf::MemberStatus::kAlive: status = kMemberAlive; break;
    case serf::MemberStatus::kFailed: status = kMemberFailed; break;
    case serf::MemberStatus::kLeft: status = kMemberLeft; break;
    case serf::MemberStatus::kLeaving: status = 0; break;  // reconcileMember ignores leaving
    case serf::MemberStatus::kNone: status = kMemberReap; break;
  }
  if (type == serf::MemberEventType::kReap) status = kMemberReap;
  push_reconcile(env, member, status);
}

// ---------------------------------------------------------------- Raft plumbing

bool Server::raft_apply(Env& env, const catalog::Command& cmd, RaftDone done, std::string* error) {
  const uint64_t id = next_raft_request_++;
  const raft::Proposal p = raft_.propose(env.on_port(Port::kRaft), id, catalog::encode(cmd));
  if (!p.ok()) {
    if (error) *error = kErrNotLeader;
    return false;
  }
  ++stats_.raft_applies;
  raft_waiters_.emplace(id, std::move(done));
  return true;
}

bool Server::raft_config(Env& env, ConfigOp op, NodeId server, RaftDone done, std::string* error) {
  if (!is_leader()) {
    if (error) *error = kErrNotLeader;
    return false;
  }
  const uint64_t id = next_raft_request_++;
  Env& renv = env.on_port(Port::kRaft);
  raft::Proposal p;
  switch (op) {
    case ConfigOp::kAddNonvoter: p = raft_.add_nonvoter(renv, id, server, 0); break;
    case ConfigOp::kAddVoter: p = raft_.add_voter(renv, id, server, 0); break;
    case ConfigOp::kRemove: p = raft_.remove_server(renv, id, server, 0); break;
  }
  if (p.ok()) {
    raft_waiters_.emplace(id, std::move(done));
    return true;
  }
  const bool busy = p.error.find("in progress") != std::string::npos || p.error.find("not yet committed") != std::string::npos;
  if (!busy) {
    if (error) *error = p.error;
    return false;
  }
  // Queued, as hashicorp/raft's configurationChangeCh would hold it.
  const uint64_t term = raft_.term();
  deferred_.after(env.on_port(Port::kRpc), kConfigRetry, [this, op, server, term, done = std::move(done)](Env& e) mutable {
    if (!is_leader() || raft_.term() != term) {
      done(e, raft::Completion{0, 0, 0, raft::kLeadershipLost, {}});
      return;
    }
    std::string err;
    auto fn = std::make_shared<RaftDone>(std::move(done));
    if (!raft_config(e, op, server, [fn](Env& e2, const raft::Completion& c) { (*fn)(e2, c); }, &err))
      (*fn)(e, raft::Completion{0, 0, 0, raft::kLeadershipLost, {}});
    after_raft(e);
  });
  return true;
}

bool Server::raft_barrier(Env& env, RaftDone done) {
  const uint64_t id = next_raft_request_++;
  if (!raft_.barrier(env.on_port(Port::kRaft), id).ok()) return false;
  raft_waiters_.emplace(id, std::move(done));
  return true;
}

bool Server::raft_verify(Env& env, RaftDone done) {
  const uint64_t id = next_raft_request_++;
  if (!raft_.verify_leader(env.on_port(Port::kRaft), id).ok()) return false;
  raft_waiters_.emplace(id, std::move(done));
  after_raft(env);  // a single voter verifies at once
  return true;
}

// ---------------------------------------------------------------- RPC

void Server::rpc(Env& env, RpcRequest req, RpcDone done) {
  handle_request(env, std::move(req), [done = std::move(done)](Env& e, RpcResponse r) { done(e, r); });
}

void Server::handle_request(Env& env, RpcRequest req, Sink sink) {
  // ForwardRPC (and Status.Leader/Peers): another datacenter first.
  if (!req.datacenter.empty() && req.datacenter != datacenter() && req.method != Method::kStatusPing) {
    forward_dc(env, std::move(req), std::move(sink));
    return;
  }
  if (!forwards(req.method)) {
    serve(env, req, std::move(sink));
    return;
  }
  // A stale read once Raft has had contact with a leader.
  if (is_read(req.method) && req.mode == ReadMode::kStale && raft_.last_contact() != 0) {
    serve(env, req, std::move(sink));
    return;
  }
  check_leader(env, std::make_shared<RpcRequest>(std::move(req)), std::move(sink), -1,
               rpc_error(0, RpcError::kNoLeader, kErrNoLeader));
}

void Server::check_leader(Env& env, std::shared_ptr<RpcRequest> req, Sink sink, Time first_check, RpcResponse last_error) {
  // CHECK_LEADER: fail fast while leaving.
  if (leaving_ || shut_down_) {
    ++stats_.rpcs_no_leader;
    sink(env, rpc_error(req->id, RpcError::kNoLeader, kErrNoLeader));
    return;
  }
  if (is_leader()) {
    serve(env, *req, std::move(sink));
    return;
  }
  const NodeId leader = raft_.leader();
  Env& rpc_env = env.on_port(Port::kRpc);
  const auto retry = [this, req, first_check](Env& e, Sink s, RpcResponse err) {
    // RETRY: gate the request until there is a leader, up to rpc_hold_timeout.
    const Time first = first_check < 0 ? e.now() : first_check;
    if (e.now() - first < config_.rpc_hold_timeout) {
      const Duration jitter = random_stagger(e.rng(), config_.rpc_hold_timeout / kRpcJitterFraction);
      deferred_.after(e, jitter, [this, req, s = std::move(s), first, err](Env& e2) mutable {
        check_leader(e2, req, std::move(s), first, std::move(err));
      });
      return;
    }
    if (err.error == RpcError::kNoLeader) ++stats_.rpcs_no_leader;
    s(e, std::move(err));
  };
  if (leader != kNoNode && leader != self_) {
    ++stats_.rpcs_forwarded;
    caller_.call(rpc_env, leader, *req, [req, sink = std::move(sink), retry](Env& e, const RpcResponse& resp) mutable {
      if (!resp.ok && can_retry(resp.error, is_read(req->method))) {
        retry(e, std::move(sink), resp);
        return;
      }
      sink(e, resp);
    });
    return;
  }
  retry(rpc_env, std::move(sink), std::move(last_error));
}

void Server::forward_dc(Env& env, RpcRequest req, Sink sink) {
  auto it = std::find(directory_->datacenters.begin(), directory_->datacenters.end(), req.datacenter);
  const uint32_t dc = static_cast<uint32_t>(it - directory_->datacenters.begin());
  auto r = routers_.find(dc);
  const ServerMeta* target = r == routers_.end() ? nullptr : r->second.find_server();
  if (target == nullptr) {
    sink(env, rpc_error(req.id, RpcError::kOther, kErrNoDcPath));
    return;
  }
  ++stats_.rpcs_cross_dc;
  const std::string name = target->name;
  caller_.call(env.on_port(Port::kRpc), target->node, std::move(req),
               [this, dc, name, sink = std::move(sink)](Env& e, const RpcResponse& resp) {
                 if (!resp.ok) {
                   auto it2 = routers_.find(dc);
                   if (it2 != routers_.end()) it2->second.notify_failed_server(name);
                 }
                 sink(e, resp);
               });
}

RpcResponse Server::read_meta(Env& env, uint64_t id) const {
  // setQueryMeta.
  RpcResponse r;
  r.id = id;
  r.served_by = self_;
  if (is_leader()) {
    r.known_leader = true;
    r.last_contact = 0;
  } else {
    r.known_leader = raft_.leader() != kNoNode;
    r.last_contact = raft_.last_contact() == 0 ? 0 : env.on_port(Port::kRaft).now() - raft_.last_contact();
  }
  return r;
}

void Server::serve(Env& env, const RpcRequest& req, Sink sink) {
  ++stats_.rpcs_served;
  switch (req.method) {
    case Method::kStatusPing: {
      RpcResponse r;
      r.served_by = self_;
      sink(env, std::move(r));
      return;
    }
    case Method::kStatusLeader: {
      RpcResponse r;
      r.served_by = self_;
      r.reply = raft_.leader();
      sink(env, std::move(r));
      return;
    }
    case Method::kStatusPeers: {
      RpcResponse r;
      r.served_by = self_;
      Peers p;
      for (const raft::Server& s : raft_.latest_configuration().servers) p.servers.push_back(s.id);
      r.reply = std::move(p);
      sink(env, std::move(r));
      return;
    }
    case Method::kCatalogRegister: {
      const auto& args = std::get<catalog::RegisterRequest>(req.args);
      if (args.node.empty()) {
        sink(env, rpc_error(req.id, RpcError::kOther, "Must provide node"));
        return;
      }
      if (args.service && args.service->name.empty()) {
        sink(env, rpc_error(req.id, RpcError::kOther, "Must provide service name"));
        return;
      }
      reply_write(env, req.id, args, std::move(sink));
      return;
    }
    case Method::kCatalogDeregister: {
      const auto& args = std::get<catalog::DeregisterRequest>(req.args);
      if (args.node.empty()) {
        sink(env, rpc_error(req.id, RpcError::kOther, "Must provide node"));
        return;
      }
      reply_write(env, req.id, args, std::move(sink));
      return;
    }
    case Method::kKvsApply: {
      const auto& args = std::get<catalog::KvsRequest>(req.args);
      if (args.entry.key.empty() && args.op != catalog::KvOp::kDeleteTree) {
        sink(env, rpc_error(req.id, RpcError::kOther, "Must provide key"));
        return;
      }
      reply_write(env, req.id, args, std::move(sink));
      return;
    }
    case Method::kInternalEventFire: {
      const auto& args = std::get<EventFireArgs>(req.args);
      RpcResponse r = read_meta(env, req.id);
      if (!args.event) {
        sink(env, rpc_error(req.id, RpcError::kOther, "User event missing name"));
        return;
      }
      // server.go UserEvent: serf LAN, "consul:event:<name>", coalesce false.
      const uint32_t payload = static_cast<uint32_t>(args.event->payload_size) + 80;  // the encoded UserEvent
      const std::string err = lan_.user_event(env.on_port(Port::kSerfLan),
                                              make_serf_event(user_event_name(args.event->name), args.event, {}, payload), false);
      after_serf(env);
      if (!err.empty()) {
        sink(env, rpc_error(req.id, RpcError::kOther, err));
        return;
      }
      sink(env, std::move(r));
      return;
    }
    case Method::kSnapshotRestore: {
      const auto& args = std::get<RestoreArgs>(req.args);
      if (!args.snapshot) {
        sink(env, rpc_error(req.id, RpcError::kOther, "missing snapshot"));
        return;
      }
      reply_write(env, req.id, catalog::RestoreRequest{*args.snapshot}, std::move(sink));
      return;
    }
    case Method::kCatalogNodeServices:
    case Method::kHealthNodeChecks:
    case Method::kKvsGet:
    case Method::kSnapshotSave:
      if (req.mode == ReadMode::kConsistent) {
        consistent_read(env, std::make_shared<RpcRequest>(req), std::move(sink));
        return;
      }
      serve_read(env, req, std::move(sink));
      return;
  }
}

void Server::serve_read(Env& env, const RpcRequest& req, Sink sink) {
  RpcResponse r = read_meta(env, req.id);
  const catalog::Store& st = store();
  switch (req.method) {
    case Method::kCatalogNodeServices: {
      auto q = st.node_services(std::get<NodeQuery>(req.args).node);
      r.index = std::max<uint64_t>(q.index, 1);
      r.reply = std::move(q.value);
      break;
    }
    case Method::kHealthNodeChecks: {
      auto q = st.node_checks(std::get<NodeQuery>(req.args).node);
      r.index = std::max<uint64_t>(q.index, 1);
      r.reply = std::move(q.value);
      break;
    }
    case Method::kKvsGet: {
      // kvs_endpoint.go Get: the entry's ModifyIndex when it exists, else the
      // table's index (at least 1).
      auto q = st.kv_get(std::get<KeyQuery>(req.args).key);
      r.index = q.value ? q.value->modify_index : std::max<uint64_t>(q.index, 1);
      r.reply = std::move(q.value);
      break;
    }
    case Method::kSnapshotSave: {
      SnapshotReply s;
      s.snapshot = std::make_shared<const std::string>(raft_.state_machine().snapshot());
      s.index = raft_.last_applied();
      r.index = s.index;
      r.reply = std::move(s);
      break;
    }
    default: CORE_CHECK(false, "server: a read method");
  }
  sink(env, std::move(r));
}

void Server::consistent_read(Env& env, std::shared_ptr<RpcRequest> req, Sink sink) {
  // consistentRead: VerifyLeader, then wait (up to rpc_hold_timeout) until
  // leadership is established.
  const bool started = raft_verify(env, [this, req, sink](Env& e, const raft::Completion& c) mutable {
    if (c.error != raft::kOk) {
      sink(e, rpc_error(req->id, RpcError::kOther, kErrNotLeader));
      return;
    }
    wait_consistent_ready(e, req, std::move(sink), e.on_port(Port::kRpc).now() + config_.rpc_hold_timeout);
  });
  if (!started) sink(env, rpc_error(req->id, RpcError::kOther, kErrNotLeader));
}

void Server::wait_consistent_ready(Env& env, std::shared_ptr<RpcRequest> req, Sink sink, Time deadline) {
  if (established()) {
    serve_read(env, *req, std::move(sink));
    return;
  }
  Env& rpc_env = env.on_port(Port::kRpc);
  if (rpc_env.now() >= deadline) {
    sink(env, rpc_error(req->id, RpcError::kOther, kErrNotReadyForConsistentReads));
    return;
  }
  const Duration jitter = random_stagger(rpc_env.rng(), config_.rpc_hold_timeout / kRpcJitterFraction);
  deferred_.after(rpc_env, jitter, [this, req, sink = std::move(sink), deadline](Env& e) mutable {
    wait_consistent_ready(e, req, std::move(sink), deadline);
  });
}

void Server::reply_write(Env& env, uint64_t id, catalog::Command cmd, Sink sink) {
  std::string error;
  const bool ok = raft_apply(
      env, cmd,
      [this, id, sink](Env& e, const raft::Completion& c) mutable {
        if (c.error != raft::kOk) {
          sink(e, rpc_error(id, RpcError::kOther, kErrLeadershipLost));
          return;
        }
        RpcResponse r;
        r.id = id;
        r.served_by = self_;
        r.raft_index = c.index;
        const catalog::ApplyResult res = catalog::ApplyResult::decode(c.result);
        if (res.code == catalog::ApplyResult::kError) {
          sink(e, rpc_error(id, RpcError::kOther, res.error));
          return;
        }
        r.reply = res;
        sink(e, std::move(r));
      },
      &error);
  if (!ok) sink(env, rpc_error(id, RpcError::kOther, error));
}

// ---------------------------------------------------------------- leave, shutdown

void Server::leave(Env& env, std::function<void(Env&)> done) {
  leave_done_ = std::move(done);
  leave_was_leader_ = is_leader();
  env.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveStarted));
  // The leader with other voters removes itself first (autopilot RemoveServer).
  if (leave_was_leader_ && raft_.latest_configuration().voter_count() > 1) {
    leave_stage_ = LeaveStage::kRaftRemove;
    const bool started = raft_config(env, ConfigOp::kRemove, self_, [this](Env& e, const raft::Completion&) {
      e.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveRaftRemoved));
      leave_stage_ = LeaveStage::kWan;
      wan_.leave(e.on_port(Port::kSerfWan));
      leave_serf(e);
    });
    if (started) {
      after_raft(env);
      return;
    }
  }
  leave_stage_ = LeaveStage::kWan;
  wan_.leave(env.on_port(Port::kSerfWan));
  leave_serf(env);
}

void Server::leave_serf(Env& env) {
  if (leave_stage_ == LeaveStage::kWan) {
    if (!wan_.leave_finished() && wan_.state() == serf::SerfState::kLeaving) return;
    leave_stage_ = LeaveStage::kLan;
    const std::string err = lan_.leave(env.on_port(Port::kSerfLan));
    if (!err.empty() && lan_.state() != serf::SerfState::kLeaving) {
      leave_drain(env);
      return;
    }
  }
  if (leave_stage_ == LeaveStage::kLan) {
    if (!lan_.leave_finished() && lan_.state() == serf::SerfState::kLeaving) return;
    leave_drain(env);
  }
}

void Server::leave_drain(Env& env) {
  env.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveSerfDone));
  // Start refusing RPCs now that the LAN pool knows we left.
  leave_stage_ = LeaveStage::kDrain;
  leaving_ = true;
  deferred_.after(env.on_port(Port::kRpc), config_.leave_drain_time, [this](Env& e) {
    e.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveDrained));
    if (leave_was_leader_) {
      leave_finish(e);
      return;
    }
    leave_stage_ = LeaveStage::kPoll;
    leave_poll(e, e.now() + config_.raft_remove_grace);
  });
}

void Server::leave_poll(Env& env, Time limit) {
  // Wait to be removed from the Raft configuration, polling every 50 ms.
  deferred_.after(env, kLeavePollInterval, [this, limit](Env& e) {
    if (raft_.latest_configuration().find(self_) == nullptr) {
      e.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveRaftConfirmed));
      leave_finish(e);
      return;
    }
    if (e.now() >= limit) {
      e.on_port(Port::kHost).record(Record(kRecordLeave, kLeaveRaftTimeout));
      leave_finish(e);
      return;
    }
    leave_poll(e, limit);
  });
}

void Server::leave_finish(Env& env) {
  leave_stage_ = LeaveStage::kDone;
  std::function<void(Env&)> done = std::move(leave_done_);
  leave_done_ = nullptr;
  if (done) done(env);
}

std::string Server::remove_failed_node(Env& env, NodeId node, bool prune) {
  std::string err = Delegate::remove_failed_node(env, node, prune);
  if (err.empty() && directory_->at(node).server) {
    err = wan_.force_leave(env.on_port(Port::kSerfWan), node, prune);
    after_serf(env);
  }
  return err;
}

void Server::shutdown(Env& env) {
  if (shut_down_) return;
  shut_down_ = true;
  leaving_ = true;
  lan_.shutdown(env.on_port(Port::kSerfLan));
  wan_.shutdown(env.on_port(Port::kSerfWan));
  Env& rpc_env = env.on_port(Port::kRpc);
  deferred_.clear(rpc_env);
  caller_.fail_all(rpc_env);
  raft_waiters_.clear();
  leader_.reset();
}

std::map<std::string, std::map<std::string, std::string>> Server::stats() const {
  const auto u = [](uint64_t v) { return std::to_string(v); };
  return {{"consul",
           {{"server", "true"},
            {"leader", is_leader() ? "true" : "false"},
            {"leader_addr", raft_.leader() == kNoNode ? "" : directory_->at(raft_.leader()).name},
            {"known_datacenters", u(routers_.size() + 1)},
            {"bootstrap", bootstrap_expect_ != 0 ? "true" : "false"}}},
          {"raft",
           {{"state", raft::role_name(raft_.role())},
            {"term", u(raft_.term())},
            {"commit_index", u(raft_.commit_index())},
            {"applied_index", u(raft_.last_applied())},
            {"last_log_index", u(raft_.last_log_index())},
            {"num_peers", u(raft_.latest_configuration().voter_count() > 0 ? raft_.latest_configuration().voter_count() - 1 : 0)}}},
          {"serf_lan", {{"members", u(lan_.num_members())}, {"event_time", u(lan_.event_clock())}}},
          {"serf_wan", {{"members", u(wan_.num_members())}}}};
}

}  // namespace core::agent

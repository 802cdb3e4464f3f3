// Server: the leader's duties (leader.go leaderLoop, reconcile,
// reconcileMember and its handlers), autopilot (raft-autopilot v0.1.1 as
// Consul 1.9 drives it) and maybeBootstrap (server_serf.go).
#include <algorithm>
#include <utility>

#include "core/agent/server.hpp"
#include "core/check.hpp"

namespace core::agent {

namespace {
// leader.go: the "consul" service a server registers for itself.
constexpr const char* kConsulServiceName = "consul";
constexpr uint32_t kServerPort = 8300;
// autopilot: ServerHealthInterval (its state update), and how often a
// configuration change that Raft refused because another is in progress is
// tried again (hashicorp/raft queues it instead).
constexpr Duration kServerHealthInterval = 2 * kSecond;
}  // namespace

// ---------------------------------------------------------------- leadership

void Server::leadership_changed(Env& env) {
  was_leader_ = is_leader();
  Env& host = env.on_port(Port::kHost);
  Env& rpc_env = env.on_port(Port::kRpc);
  if (!was_leader_) {
    if (leader_) {
      host.record(Record(kRecordLeader, kLeaderLost, leader_->term));
      deferred_.cancel(rpc_env, leader_->interval_timer);
      deferred_.cancel(rpc_env, leader_->autopilot_timer);
      leader_.reset();
    }
    return;
  }
  ++stats_.leader_terms;
  leader_.emplace();
  leader_->epoch = ++leader_epoch_;
  leader_->term = raft_.term();
  // Fire a user event indicating a new leader (payload: our node name).
  const std::string& name = directory_->at(self_).name;
  const std::string err = lan_.user_event(
      env.on_port(Port::kSerfLan),
      make_serf_event(std::string(kNewLeaderEvent), nullptr, name, static_cast<uint32_t>(name.size())), false);
  host.record(Record(kRecordLeader, kLeaderGained, leader_->term, err.empty() ? 1 : 0));
  leader_reconcile(env);
  after_serf(env);
}

void Server::leader_reconcile(Env& env) {
  // RECONCILE: arm the interval, barrier, establish once, full reconcile;
  // only then is the reconcile channel read.
  LeaderState& L = *leader_;
  const uint64_t epoch = L.epoch;
  Env& rpc_env = env.on_port(Port::kRpc);
  L.reconcile_open = false;
  L.interval_due = false;
  deferred_.cancel(rpc_env, L.interval_timer);
  L.interval_timer = deferred_.after(rpc_env, config_.reconcile_interval, [this, epoch](Env& e) {
    if (!still_leading(epoch)) return;
    leader_->interval_timer = 0;
    leader_->interval_due = true;
    leader_wait(e);
  });
  L.busy = true;
  const bool started = raft_barrier(env, [this, epoch](Env& e, const raft::Completion& c) {
    if (!still_leading(epoch)) return;
    Env& host = e.on_port(Port::kHost);
    host.record(Record(kRecordLeader, kLeaderBarrier, leader_->term, c.error == raft::kOk ? 1 : 0));
    if (c.error != raft::kOk) {
      leader_->busy = false;
      leader_wait(e);
      return;
    }
    if (!leader_->established) {
      // establishLeadership: consistent reads become possible, autopilot starts.
      leader_->established = true;
      host.record(Record(kRecordLeader, kLeaderEstablished, leader_->term));
      const uint64_t ep = leader_->epoch;
      leader_->last_autopilot_reconcile = e.on_port(Port::kRaft).now();
      leader_->autopilot_start = leader_->last_autopilot_reconcile;
      leader_->autopilot_timer = deferred_.after(e.on_port(Port::kRpc), kServerHealthInterval, [this, ep](Env& e2) {
        if (still_leading(ep)) autopilot_tick(e2);
      });
    }
    ++stats_.full_reconciles;
    auto items = std::make_shared<std::vector<ReconcileItem>>();
    for (const Member& m : lan_members()) {
      uint64_t status = 0;
      switch (m.status) {
        case serf::MemberStatus::kAlive: status = kMemberAlive; break;
        case serf::MemberStatus::kFailed: status = kMemberFailed; break;
        case serf::MemberStatus::kLeft: status = kMemberLeft; break;
        default: break;  // leaving: reconcileMember has nothing to do
      }
      items->push_back({m.node, status});
    }
    reconcile_all(e, std::move(items), 0, false);
  });
  if (!started) L.busy = false;
}

void Server::reconcile_all(Env& env, std::shared_ptr<std::vector<ReconcileItem>> items, size_t next, bool reaped) {
  // reconcile(): every serf member in turn, then (reconcileReaped) every
  // catalog node with a serfHealth check that serf no longer knows.
  const uint64_t epoch = leader_->epoch;
  if (next < items->size()) {
    const ReconcileItem item = (*items)[next];
    reconcile_member(env, item, [this, epoch, items, next, reaped](Env& e) {
      if (still_leading(epoch)) reconcile_all(e, items, next + 1, reaped);
    });
    return;
  }
  if (!reaped) {
    auto gone = std::make_shared<std::vector<ReconcileItem>>();
    reconcile_reaped_items(*gone);
    reconcile_all(env, std::move(gone), 0, true);
    return;
  }
  env.on_port(Port::kHost).record(Record(kRecordLeader, kLeaderReconciled, leader_->term, lan_.num_members()));
  leader_->reconcile_open = true;
  leader_->busy = false;
  leader_wait(env);
}

void Server::reconcile_reaped_items(std::vector<ReconcileItem>& out) const {
  const catalog::Store& st = store();
  for (const catalog::Node& n : st.nodes().value) {
    const catalog::Check* c = st.check(n.name, catalog::kSerfCheckId);
    if (c == nullptr) continue;
    const NodeId id = directory_->find(n.name);
    if (id != kNoNode && lan_.status(id) != serf::MemberStatus::kNone) continue;  // known to serf
    if (id == kNoNode) continue;  // not one of our nodes: nothing to deregister by
    out.push_back({id, kMemberReap});
  }
}

void Server::leader_wait(Env& env) {
  // WAIT: the interval first, then the reconcile channel.
  if (!leader_ || leader_->busy || !is_leader()) return;
  LeaderState& L = *leader_;
  if (L.interval_due) {
    leader_reconcile(env);
    return;
  }
  if (!L.reconcile_open || reconcile_queue_.empty()) return;
  const ReconcileItem item = reconcile_queue_.front();
  reconcile_queue_.pop_front();
  L.busy = true;
  const uint64_t epoch = L.epoch;
  reconcile_member(env, item, [this, epoch](Env& e) {
    if (!still_leading(epoch)) return;
    leader_->busy = false;
    leader_wait(e);
  });
}

void Server::push_reconcile(Env& env, NodeId member, uint64_t status) {
  // localMemberEvent: a non-blocking send; a full channel drops the member.
  if (reconcile_queue_.size() >= kReconcileChannelCapacity) {
    ++stats_.reconcile_dropped;
    env.on_port(Port::kHost).record(Record(kRecordLeader, kReconcileDropped, raft_.term(), member));
    return;
  }
  reconcile_queue_.push_back({member, status});
  leader_wait(env);
}

// ---------------------------------------------------------------- reconcileMember

void Server::reconcile_member(Env& env, ReconcileItem item, std::function<void(Env&)> next) {
  ++stats_.reconciles;
  // shouldHandleMember: Consul nodes and servers of this datacenter.
  if (item.member == kNoNode || directory_->at(item.member).dc != directory_->at(self_).dc) {
    next(env);
    return;
  }
  switch (item.status) {
    case kMemberAlive: handle_alive_member(env, item.member, std::move(next)); return;
    case kMemberFailed: handle_failed_member(env, item.member, std::move(next)); return;
    case kMemberLeft:
    case kMemberReap: handle_deregister_member(env, item.member, item.status, std::move(next)); return;
    default: next(env); return;
  }
}

namespace {

bool serf_check_is(const catalog::Store& st, const std::string& node, catalog::Health h) {
  const catalog::Check* c = st.check(node, catalog::kSerfCheckId);
  return c != nullptr && c->status == h;
}

// The registration handleAliveMember / handleFailedMember make: the node
// with its serfHealth check in status `h`.
catalog::RegisterRequest serf_health_registration(const Directory& dir, NodeId m, catalog::Health h) {
  catalog::RegisterRequest req;
  req.node = dir.at(m).name;
  req.node_id = dir.node_id(m);
  req.address = m;
  catalog::Check chk;
  chk.node = req.node;
  chk.id = catalog::kSerfCheckId;
  chk.name = catalog::kSerfCheckName;
  chk.status = h;
  chk.output = h == catalog::Health::kPassing ? catalog::kSerfCheckAliveOutput : catalog::kSerfCheckFailedOutput;
  req.checks.push_back(std::move(chk));
  return req;
}

}  // namespace

void Server::handle_alive_member(Env& env, NodeId m, std::function<void(Env&)> next) {
  const bool server = directory_->at(m).server;
  const uint64_t epoch = leader_->epoch;
  auto after_join = [this, m, server, epoch, next = std::move(next)](Env& e) mutable {
    if (!still_leading(epoch)) return;
    const catalog::Store& st = store();
    const std::string& name = directory_->at(m).name;
    Env& host = e.on_port(Port::kHost);
    const catalog::Node* node = st.node(name);
    if (node != nullptr && node->address == m) {
      const bool service_ok = !server || st.service(name, kConsulServiceId) != nullptr;
      if (service_ok && serf_check_is(st, name, catalog::Health::kPassing)) {
        host.record(Record(kRecordReconcile, m, kMemberAlive, kReconcileSkipped));
        next(e);
        return;
      }
    }
    catalog::RegisterRequest req = serf_health_registration(*directory_, m, catalog::Health::kPassing);
    if (server) {
      catalog::Service svc;
      svc.id = kConsulServiceId;
      svc.name = kConsulServiceName;
      svc.port = kServerPort;
      req.service = svc;
    }
    auto fn = std::make_shared<std::function<void(Env&)>>(std::move(next));
    const bool started = raft_apply(e, req, [m, fn](Env& e2, const raft::Completion& c) {
      e2.on_port(Port::kHost).record(
          Record(kRecordReconcile, m, kMemberAlive, c.error == raft::kOk ? kReconcileRegistered : kReconcileFailed));
      (*fn)(e2);
    });
    if (!started) {
      host.record(Record(kRecordReconcile, m, kMemberAlive, kReconcileFailed));
      (*fn)(e);
    }
  };
  if (server) autopilot_add_server(env, m, std::move(after_join));
  else after_join(env);
}

void Server::handle_failed_member(Env& env, NodeId m, std::function<void(Env&)> next) {
  const catalog::Store& st = store();
  const std::string& name = directory_->at(m).name;
  Env& host = env.on_port(Port::kHost);
  const catalog::Node* node = st.node(name);
  if (node == nullptr || (node->address == m && serf_check_is(st, name, catalog::Health::kCritical))) {
    host.record(Record(kRecordReconcile, m, kMemberFailed, kReconcileSkipped));
    next(env);
    return;
  }
  catalog::RegisterRequest req = serf_health_registration(*directory_, m, catalog::Health::kCritical);
  req.skip_node_update = true;
  auto fn = std::make_shared<std::function<void(Env&)>>(std::move(next));
  const bool started = raft_apply(env, req, [m, fn](Env& e, const raft::Completion& c) {
    e.on_port(Port::kHost).record(
        Record(kRecordReconcile, m, kMemberFailed, c.error == raft::kOk ? kReconcileCritical : kReconcileFailed));
    (*fn)(e);
  });
  if (!started) {
    host.record(Record(kRecordReconcile, m, kMemberFailed, kReconcileFailed));
    (*fn)(env);
  }
}

void Server::handle_deregister_member(Env& env, NodeId m, uint64_t status, std::function<void(Env&)> next) {
  Env& host = env.on_port(Port::kHost);
  // Never deregister ourself (a leaving leader): a follower does it later.
  if (m == self_) {
    host.record(Record(kRecordReconcile, m, status, kReconcileSkipped));
    next(env);
    return;
  }
  const uint64_t epoch = leader_->epoch;
  auto fn = std::make_shared<std::function<void(Env&)>>(std::move(next));
  auto deregister = [this, m, status, epoch, fn](Env& e) {
    if (!still_leading(epoch)) return;
    const std::string& name = directory_->at(m).name;
    if (store().node(name) == nullptr) {
      e.on_port(Port::kHost).record(Record(kRecordReconcile, m, status, kReconcileSkipped));
      (*fn)(e);
      return;
    }
    catalog::DeregisterRequest req;
    req.node = name;
    const bool started = raft_apply(e, req, [m, status, fn](Env& e2, const raft::Completion& c) {
      e2.on_port(Port::kHost).record(
          Record(kRecordReconcile, m, status, c.error == raft::kOk ? kReconcileDeregistered : kReconcileFailed));
      (*fn)(e2);
    });
    if (!started) {
      e.on_port(Port::kHost).record(Record(kRecordReconcile, m, status, kReconcileFailed));
      (*fn)(e);
    }
  };
  // removeConsulServer: autopilot RemoveServer, if it is in the configuration.
  if (directory_->at(m).server && raft_.latest_configuration().find(m) != nullptr) {
    const bool started = raft_config(env, ConfigOp::kRemove, m, [this, m, epoch, fn, deregister](Env& e, const raft::Completion& c) {
      e.on_port(Port::kHost).record(Record(kRecordAutopilot, m, kAutopilotRemove, c.error == raft::kOk ? 1 : 0));
      if (!still_leading(epoch)) return;
      // A failed removal: handleDeregisterMember returns the error, and the
      // member waits for the next reconcile.
      if (c.error != raft::kOk) (*fn)(e);
      else deregister(e);
    });
    if (!started) {
      host.record(Record(kRecordAutopilot, m, kAutopilotRemove, 0));
      (*fn)(env);
    }
    return;
  }
  deregister(env);
}

// ---------------------------------------------------------------- autopilot

bool Server::member_alive(NodeId n) const {
  // autopilotServerFromMetadata: leaving counts as alive.
  const serf::MemberStatus s = lan_.status(n);
  return s == serf::MemberStatus::kAlive || s == serf::MemberStatus::kLeaving;
}

void Server::autopilot_add_server(Env& env, NodeId m, std::function<void(Env&)> next) {
  // AddServer: nothing to do when it is in the configuration already; else
  // it joins as a non-voter, and autopilot promotes it once stable.
  if (raft_.latest_configuration().find(m) != nullptr) {
    next(env);
    return;
  }
  auto fn = std::make_shared<std::function<void(Env&)>>(std::move(next));
  const uint64_t epoch = leader_->epoch;
  const bool started = raft_config(env, ConfigOp::kAddNonvoter, m, [this, m, fn, epoch](Env& e, const raft::Completion& c) {
    e.on_port(Port::kHost).record(Record(kRecordAutopilot, m, kAutopilotAddNonvoter, c.error == raft::kOk ? 1 : 0));
    // AddServer ends with RemoveDeadServers: a prune.
    if (still_leading(epoch) && leader_->established) autopilot_prune(e);
    (*fn)(e);
  });
  if (!started) {
    env.on_port(Port::kHost).record(Record(kRecordAutopilot, m, kAutopilotAddNonvoter, 0));
    (*fn)(env);
  }
}

void Server::autopilot_tick(Env& env) {
  // Every ServerHealthInterval: update each server's health; every
  // AutopilotInterval: promote stable non-voters, or else prune dead servers.
  LeaderState& L = *leader_;
  const uint64_t epoch = L.epoch;
  Env& rpc_env = env.on_port(Port::kRpc);
  const Time now = env.on_port(Port::kRaft).now();
  const raft::Configuration& conf = raft_.latest_configuration();
  for (const raft::Server& s : conf.servers) {
    bool healthy = member_alive(s.id);
    if (s.id != self_) {
      healthy = healthy && now - raft_.peer_last_contact(s.id) <= config_.autopilot.last_contact_threshold &&
                raft_.match_index(s.id) + config_.autopilot.max_trailing_logs >= raft_.last_log_index();
    }
    if (!healthy) L.healthy_since.erase(s.id);
    else L.healthy_since.emplace(s.id, now);
  }
  for (auto it = L.healthy_since.begin(); it != L.healthy_since.end();)
    it = conf.find(it->first) == nullptr ? L.healthy_since.erase(it) : std::next(it);

  L.autopilot_timer = deferred_.after(rpc_env, kServerHealthInterval, [this, epoch](Env& e) {
    if (still_leading(epoch)) autopilot_tick(e);
  });
  if (now - L.last_autopilot_reconcile < config_.autopilot.interval) return;
  L.last_autopilot_reconcile = now;

  // The stable promoter: every healthy non-voter stable for long enough
  // (State.ServerStabilizationTime: no wait at all until autopilot has run
  // for 110 % of the stabilization time). Raft takes them one at a time.
  const Duration stable_for = now - L.autopilot_start > config_.autopilot.server_stabilization_time * 110 / 100
                                  ? config_.autopilot.server_stabilization_time
                                  : 0;
  for (const raft::Server& s : conf.servers) {
    if (s.suffrage != raft::Suffrage::kNonvoter) continue;
    auto h = L.healthy_since.find(s.id);
    if (h == L.healthy_since.end() || now - h->second < stable_for) continue;
    autopilot_change(env, ConfigOp::kAddVoter, s.id);
  }
  autopilot_prune(env);
}

void Server::autopilot_change(Env& env, ConfigOp op, NodeId id) {
  LeaderState& L = *leader_;
  if (!L.config_pending.insert(id).second) return;  // a change about it is queued already
  const uint64_t action = op == ConfigOp::kAddVoter ? kAutopilotPromote : kAutopilotRemove;
  const uint64_t epoch = L.epoch;
  const bool started = raft_config(env, op, id, [this, id, action, epoch](Env& e, const raft::Completion& c) {
    if (still_leading(epoch)) leader_->config_pending.erase(id);
    if (c.error == raft::kOk && action == kAutopilotPromote) ++stats_.promotions;
    e.on_port(Port::kHost).record(Record(kRecordAutopilot, id, action, c.error == raft::kOk ? 1 : 0));
  });
  if (!started) {
    L.config_pending.erase(id);
    env.on_port(Port::kHost).record(Record(kRecordAutopilot, id, action, 0));
  }
}

void Server::autopilot_prune(Env& env) {
  if (!config_.autopilot.cleanup_dead_servers) return;
  const raft::Configuration& conf = raft_.latest_configuration();
  const uint32_t own_dc = directory_->at(self_).dc;
  std::vector<NodeId> failed_voters, failed_nonvoters, stale_voters, stale_nonvoters;
  size_t voters = conf.voter_count();
  for (const raft::Server& s : conf.servers) {
    const serf::MemberStatus st = lan_.status(s.id);
    const bool known = st != serf::MemberStatus::kNone && directory_->at(s.id).server && directory_->at(s.id).dc == own_dc;
    if (!known) {
      (s.suffrage == raft::Suffrage::kVoter ? stale_voters : stale_nonvoters).push_back(s.id);
    } else if (!member_alive(s.id)) {
      (s.suffrage == raft::Suffrage::kVoter ? failed_voters : failed_nonvoters).push_back(s.id);
    }
  }
  Env& host = env.on_port(Port::kHost);
  const auto remove_failed = [&](NodeId id) {
    // RemoveFailedServer -> RemoveFailedNode: a force-leave on both pools.
    host.record(Record(kRecordAutopilot, id, kAutopilotRemoveFailed, 1));
    lan_.force_leave(env.on_port(Port::kSerfLan), id, false);
    wan_.force_leave(env.on_port(Port::kSerfWan), id, false);
  };
  for (NodeId id : failed_nonvoters) remove_failed(id);
  for (NodeId id : stale_nonvoters) autopilot_change(env, ConfigOp::kRemove, id);
  size_t max_removal = voters == 0 ? 0 : (voters - 1) / 2;
  for (NodeId id : stale_voters) {
    if (voters - 1 < config_.autopilot.min_quorum || max_removal < 1) continue;
    autopilot_change(env, ConfigOp::kRemove, id);
    --max_removal;
    --voters;
  }
  for (NodeId id : failed_voters) {
    if (voters - 1 < config_.autopilot.min_quorum || max_removal < 1) continue;
    remove_failed(id);
    --max_removal;
    --voters;
  }
  after_serf(env);
  after_raft(env);
}

// ---------------------------------------------------------------- bootstrap

void Server::maybe_bootstrap(Env& env) {
  if (raft_.last_log_index() != 0) {
    bootstrap_expect_ = 0;  // Raft data found, disabling bootstrap mode
    return;
  }
  if (bootstrapping_) return;  // an attempt is under way; it ends by bootstrapping or by giving up for good
  auto servers = std::make_shared<std::vector<NodeId>>();
  const uint32_t own_dc = directory_->at(self_).dc;
  for (const Member& m : lan_members())
    if (m.server && m.dc == own_dc) servers->push_back(m.node);
  if (servers->size() < bootstrap_expect_) return;
  bootstrapping_ = true;
  query_peers(env, std::move(servers), 0, 0);
}

void Server::query_peers(Env& env, std::shared_ptr<std::vector<NodeId>> servers, size_t next, uint32_t attempt) {
  if (shut_down_) return;
  if (raft_.last_log_index() != 0 || bootstrap_expect_ == 0) {
    bootstrap_expect_ = 0;
    bootstrapping_ = false;
    return;
  }
  Env& host = env.on_port(Port::kHost);
  if (next == servers->size()) {
    // Every server reports no Raft peers: a live bootstrap.
    const std::string err = raft_.bootstrap(env.on_port(Port::kRaft), raft::Configuration::voters(*servers));
    host.record(Record(kRecordLeader, err.empty() ? kBootstrapped : kBootstrapSkipped, raft_.term(),
                       err.empty() ? servers->size() : self_));
    bootstrap_expect_ = 0;
    bootstrapping_ = false;
    after_raft(env);
    return;
  }
  const NodeId target = (*servers)[next];
  if (target == self_) {
    query_peers(env, std::move(servers), next + 1, 0);
    return;
  }
  RpcRequest req;
  req.method = Method::kStatusPeers;
  caller_.call(env.on_port(Port::kRpc), target, std::move(req),
               [this, servers, next, attempt, target](Env& e, const RpcResponse& resp) {
                 if (shut_down_) return;
                 if (!resp.ok) {
                   // Retry with exponential backoff; after the last failure
                   // too it sleeps before giving up on this server.
                   const bool again = attempt + 1 < kMaxPeerRetries;
                   deferred_.after(e, (Duration{1} << attempt) * kSecond, [this, servers, next, attempt, again](Env& e2) {
                     if (again) query_peers(e2, servers, next, attempt + 1);
                     else query_peers(e2, servers, next + 1, 0);
                   });
                   return;
                 }
                 const auto* peers = std::get_if<Peers>(&resp.reply);
                 if (peers && !peers->servers.empty()) {
                   // Existing Raft peers reported: disabling bootstrap mode.
                   e.on_port(Port::kHost).record(Record(kRecordLeader, kBootstrapSkipped, raft_.term(), target));
                   bootstrap_expect_ = 0;
                   bootstrapping_ = false;
                   return;
                 }
                 query_peers(e, servers, next + 1, 0);
               });
}

}  // namespace core::agent

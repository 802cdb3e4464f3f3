#include "core/agent/client.hpp"

#include <utility>

#include "core/check.hpp"

namespace core::agent {

Client::Client(NodeId self, const AgentConfig& config, AgentHooks& hooks)
    : Delegate(self, config.directory, hooks, config.serf_lan, config.rpc_timeout),
      config_(config),
      manager_(config.directory->datacenters[config.directory->at(self).dc]) {}

void Client::start(Env& host_env, bool restarted) {
  static const std::vector<NodeId> kNone;
  lan_.start(host_env.on_port(Port::kSerfLan), !restarted && config_.lan_known ? *config_.lan_known : kNone);
  // A pool known at boot announces nobody; its servers seed the list as
  // their join events would have.
  for (const Member& m : lan_members()) {
    if (m.server && m.node != self_ && m.dc == directory_->at(self_).dc && m.status == serf::MemberStatus::kAlive)
      manager_.add_server(ServerMeta{m.name, m.node, datacenter()});
  }
  arm_rebalance(host_env.on_port(Port::kRpc), kRebalanceMinDelay);
  after_serf(host_env);
}

void Client::after_serf(Env& env) {
  drain_events(env);
  if (leave_done_ && lan_.leave_finished()) {
    std::function<void(Env&)> done = std::move(leave_done_);
    leave_done_ = nullptr;
    done(env);
  }
}

void Client::on_message(Env& env, const Message& msg) {
  if (shut_down_) return;
  switch (env.port()) {
    case Port::kSerfLan:
      lan_.on_message(env, msg);
      after_serf(env);
      return;
    case Port::kRpc:
      handle_rpc_answer(env, msg);  // a client serves no RPC; it only hears answers (and refusals)
      return;
    default: return;
  }
}

void Client::on_timer(Env& env, uint64_t what) {
  if (shut_down_) return;
  switch (env.port()) {
    case Port::kSerfLan:
      lan_.on_timer(env, what);
      after_serf(env);
      return;
    case Port::kRpc:
      handle_rpc_timer(env, what);
      return;
    default: return;
  }
}

void Client::handle_member_event(Env& env, serf::MemberEventType type, NodeId node) {
  const Directory::Entry& e = directory_->at(node);
  const MemberEffect fx =
      manager_.on_member_event(member_event_of(type), e.server, ServerMeta{e.name, node, directory_->datacenters[e.dc]});
  if (fx.server_up) hooks_.server_up(env);
}

// ---------------------------------------------------------------- RPC

void Client::rpc(Env& env, RpcRequest req, RpcDone done) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->done = std::move(done);
  Env& rpc_env = env.on_port(Port::kRpc);
  call->first = rpc_env.now();
  attempt(rpc_env, std::move(call));
}

void Client::attempt(Env& env, std::shared_ptr<Call> call) {
  if (shut_down_) {
    finish(env, call, rpc_error(0, RpcError::kEof, kErrSessionShutdown));
    return;
  }
  const ServerMeta* server = manager_.find_server();
  if (server == nullptr) {
    finish(env, call, rpc_error(0, RpcError::kNoServers, kErrNoServers));
    return;
  }
  ++call->attempts;
  const std::string name = server->name;
  caller_.call(env, server->node, call->req, [this, call, name](Env& e, const RpcResponse& resp) {
    if (resp.ok) {
      finish(e, call, resp);
      return;
    }
    // Move off to another server, and see if we can retry (any error moves).
    manager_.notify_failed_server(name);
    const RetryDecision d =
        rpc_retry(e.rng(), resp.error, is_read(call->req.method), call->first, e.now(), config_.rpc_hold_timeout);
    if (!d.retry || shut_down_) {
      finish(e, call, resp);
      return;
    }
    deferred_.after(e, d.wait, [this, call](Env& e2) { attempt(e2, call); });
  });
}

void Client::finish(Env& env, const std::shared_ptr<Call>& call, const RpcResponse& resp) {
  RpcDone done = std::move(call->done);
  call->done = nullptr;
  if (!done) return;
  RpcResponse r = resp;
  r.attempts = call->attempts;
  done(env, r);
}

// ---------------------------------------------------------------- rebalance

void Client::arm_rebalance(Env& env, Duration delay) {
  deferred_.after(env, delay, [this](Env& e) { rebalance(e); });
}

void Client::rebalance(Env& env) {
  ++rebalances_;
  auto order = std::make_shared<std::vector<ServerMeta>>(manager_.rebalance_candidates(env.rng()));
  ping_next(env, std::move(order), 0);
}

void Client::ping_next(Env& env, std::shared_ptr<std::vector<ServerMeta>> order, size_t tried) {
  if (tried >= order->size()) {
    manager_.finish_rebalance(std::move(*order), false);
    arm_rebalance(env, manager_.next_rebalance_delay(env.rng(), lan_member_count()));
    return;
  }
  RpcRequest ping;
  ping.method = Method::kStatusPing;
  caller_.call(env, order->front().node, std::move(ping), [this, order, tried](Env& e, const RpcResponse& resp) {
    if (shut_down_) return;
    if (resp.ok) {
      manager_.finish_rebalance(std::move(*order), true);
      arm_rebalance(e, manager_.next_rebalance_delay(e.rng(), lan_member_count()));
      return;
    }
    ServerManager::cycle_server(*order);
    ping_next(e, order, tried + 1);
  });
}

// ---------------------------------------------------------------- leave, shutdown

void Client::leave(Env& env, std::function<void(Env&)> done) {
  const std::string err = lan_.leave(env.on_port(Port::kSerfLan));
  if (!err.empty() || lan_.leave_finished()) {
    done(env);
    return;
  }
  leave_done_ = std::move(done);
}

void Client::shutdown(Env& env) {
  if (shut_down_) return;
  shut_down_ = true;
  lan_.shutdown(env.on_port(Port::kSerfLan));
  Env& rpc_env = env.on_port(Port::kRpc);
  deferred_.clear(rpc_env);
  caller_.fail_all(rpc_env);
}

std::map<std::string, std::map<std::string, std::string>> Client::stats() const {
  return {{"consul",
           {{"server", "false"},
            {"known_servers", std::to_string(manager_.num_servers())},
            {"rebalances", std::to_string(rebalances_)}}},
          {"serf_lan",
           {{"members", std::to_string(lan_.num_members())},
            {"failed", std::to_string(lan_.count(serf::MemberStatus::kFailed))},
            {"left", std::to_string(lan_.count(serf::MemberStatus::kLeft))},
            {"event_time", std::to_string(lan_.event_clock())},
            {"member_time", std::to_string(lan_.member_clock())}}}};
}

}  // namespace core::agent

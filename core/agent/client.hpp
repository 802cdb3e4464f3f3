// The client half of an agent (Consul v1.9.0 agent/consul/client.go,
// client_serf.go, agent/router/manager.go; reference gossip_ae.md E.2):
// serf LAN, a list of the datacenter's servers learned from gossip, and RPC
// to the first server of that list with rotation on failure and retries of
// retryable errors within rpc_hold_timeout; a periodic rebalance shuffles
// the list and pings from the front until a server answers.
//
// Ports: serf LAN on kSerfLan; RPC requests, answers and the client's own
// timers on kRpc (RpcCaller 'R', the client's waits 'D').
#pragma once

#include <functional>
#include <memory>

#include "core/agent/config.hpp"
#include "core/agent/deferred.hpp"
#include "core/agent/delegate.hpp"
#include "core/agent/rpc_caller.hpp"
#include "core/agent/server_manager.hpp"

namespace core::agent {

class Client final : public Delegate {
 public:
  Client(NodeId self, const AgentConfig& config, AgentHooks& hooks);

  bool is_server() const override { return false; }
  void start(Env& host_env, bool restarted) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;
  // client.go Leave: serf LAN leave; `done` when it finished.
  void leave(Env& env, std::function<void(Env&)> done) override;
  // client.go RPC (see the top of this file).
  void rpc(Env& env, RpcRequest req, RpcDone done) override;
  void shutdown(Env& env) override;
  std::map<std::string, std::map<std::string, std::string>> stats() const override;

  const ServerManager& servers() const { return manager_; }
  uint64_t rebalances() const { return rebalances_; }

 private:
  struct Call {
    RpcRequest req;
    RpcDone done;
    Time first = 0;
    uint32_t attempts = 0;
  };
  void handle_member_event(Env& env, serf::MemberEventType type, NodeId member) override;
  void attempt(Env& env, std::shared_ptr<Call> call);
  void finish(Env& env, const std::shared_ptr<Call>& call, const RpcResponse& resp);
  void arm_rebalance(Env& env, Duration delay);
  void rebalance(Env& env);
  void ping_next(Env& env, std::shared_ptr<std::vector<ServerMeta>> order, size_t tried);
  void after_serf(Env& env);

  AgentConfig config_;
  ServerManager manager_;
  std::function<void(Env&)> leave_done_;
  uint64_t rebalances_ = 0;
};

}  // namespace core::agent

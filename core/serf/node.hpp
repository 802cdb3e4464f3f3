// core::serf::GossipNode: one host running serf (and its memberlist) on
// port kSerfLan, as a Consul agent's LAN gossip does, without the rest of
// the agent. The simulator's "gossip" stack runs one per host.
//
// Boot: the host calls start() with its port-0 Env; serf gets the serf-lan
// port's Env (env.on_port(kSerfLan)), through which every later message and
// timer of serf arrives. On the first boot of a host (no boot marker under
// "serf-lan/" in its storage), serf starts knowing `bootstrap_known` (a
// pool that is already formed; may be null) and then joins `join_targets`
// with ignore_old (Consul's start_join / retry_join: JoinLAN passes true).
// On a restart, serf rejoins from its snapshot (Config::snapshot); the join
// targets are joined again only if the snapshot offers nobody to rejoin
// (e.g. the node had left, or snapshots are off), as an agent configured
// with retry_join would.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/env.hpp"
#include "core/serf/config.hpp"
#include "core/serf/serf.hpp"

namespace core::serf {

class GossipNode final : public core::Node {
 public:
  static constexpr Port kPort = Port::kSerfLan;
  static constexpr const char* kStoragePrefix = "serf-lan/";

  GossipNode(NodeId self, uint32_t capacity, Config config, std::shared_ptr<const std::vector<NodeId>> bootstrap_known,
             std::vector<NodeId> join_targets);

  void start(Env& env) override;
  void on_message(Env& env, const Message& msg) override;
  void on_timer(Env& env, uint64_t what) override;

  Serf& serf() { return serf_; }
  const Serf& serf() const { return serf_; }
  // False on the host's first boot, true after a restart.
  bool restarted() const { return restarted_; }

 private:
  Serf serf_;
  std::shared_ptr<const std::vector<NodeId>> bootstrap_known_;
  std::vector<NodeId> join_targets_;
  bool restarted_ = false;
};

}  // namespace core::serf

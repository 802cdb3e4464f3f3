#include "core/serf/node.hpp"

#include <string>
#include <utility>

namespace core::serf {

GossipNode::GossipNode(NodeId self, uint32_t capacity, Config config,
                       std::shared_ptr<const std::vector<NodeId>> bootstrap_known, std::vector<NodeId> join_targets)
    : serf_(self, capacity, config, kStoragePrefix),
      bootstrap_known_(std::move(bootstrap_known)),
      join_targets_(std::move(join_targets)) {}

void GossipNode::start(Env& host_env) {
  Env& env = host_env.on_port(kPort);
  const std::string marker = std::string(kStoragePrefix) + "booted";
  restarted_ = env.storage().get(marker) != nullptr;
  if (!restarted_) env.storage().put(marker, "1");
  static const std::vector<NodeId> kNone;
  serf_.start(env, !restarted_ && bootstrap_known_ ? *bootstrap_known_ : kNone);
  if (!join_targets_.empty() && (!restarted_ || serf_.rejoin_candidates().empty()))
    serf_.join(env, join_targets_, /*ignore_old=*/true);
}

void GossipNode::on_message(Env& env, const Message& msg) { serf_.on_message(env, msg); }

void GossipNode::on_timer(Env& env, uint64_t what) { serf_.on_timer(env, what); }

}  // namespace core::serf

#include "core/agent/server_manager.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/agent/ae_scale.hpp"
#include "core/check.hpp"

namespace core::agent {

Duration rebalance_node_delay(uint64_t servers, uint64_t nodes) {
  if (servers == 0) return 0;
  constexpr auto per_node = static_cast<uint64_t>(kRebalanceDelayPerNode);
  CORE_CHECK(nodes <= static_cast<uint64_t>(std::numeric_limits<Duration>::max()) / per_node,
             "router: the rebalance node term fits");
  return static_cast<Duration>(nodes * per_node / servers);
}

Duration rebalance_delay(Rng& rng, uint64_t servers, uint64_t nodes) {
  // Go draws the jitter first, whatever the outcome.
  const Duration min =
      kRebalanceMinDelay + static_cast<Duration>(rng.below(static_cast<uint64_t>(kRebalanceMaxJitter)));
  if (servers == 0) return min;
  return std::max(min, rebalance_node_delay(servers, nodes));
}

bool can_retry(RpcError err, bool is_read) {
  switch (err) {
    case RpcError::kNoLeader: return true;
    case RpcError::kEof: return is_read;
    case RpcError::kChunkingResubmit:
    case RpcError::kNoServers:
    case RpcError::kRateLimited:
    case RpcError::kOther: return false;
  }
  CORE_CHECK(false, "router: a known RpcError");
  return false;
}

RetryDecision rpc_retry(Rng& rng, RpcError err, bool is_read, Time first_try, Time now, Duration hold) {
  CORE_CHECK(now >= first_try, "router: time does not run backwards");
  CORE_CHECK(hold >= 0, "router: the hold timeout is not negative");
  if (!can_retry(err, is_read)) return {};
  if (now - first_try >= hold) return {};
  return {true, random_stagger(rng, hold / kRpcJitterFraction)};
}

ServerManager::ServerManager(std::string datacenter, std::string self_server)
    : datacenter_(std::move(datacenter)), self_server_(std::move(self_server)) {}

MemberEffect ServerManager::on_member_event(MemberEvent kind, bool is_consul_server, const ServerMeta& server) {
  MemberEffect fx;
  if (!is_consul_server) return fx;
  switch (kind) {
    case MemberEvent::kJoin:
    case MemberEvent::kUpdate:
      if (server.datacenter != datacenter_) return fx;  // "server has joined the wrong cluster"
      add_server(server);
      fx.added = true;
      fx.server_up = kind == MemberEvent::kJoin;
      return fx;
    case MemberEvent::kLeave:
    case MemberEvent::kFailed:
    case MemberEvent::kReap:
      fx.removed = remove_server(server.name);
      return fx;
  }
  CORE_CHECK(false, "router: a known MemberEvent");
  return fx;
}

void ServerManager::add_server(const ServerMeta& s) {
  auto it = std::find_if(servers_.begin(), servers_.end(), [&](const ServerMeta& x) { return x.name == s.name; });
  if (it != servers_.end()) {
    *it = s;
  } else {
    servers_.push_back(s);
  }
  offline_ = false;
}

bool ServerManager::remove_server(const std::string& name) {
  auto it = std::find_if(servers_.begin(), servers_.end(), [&](const ServerMeta& x) { return x.name == name; });
  if (it == servers_.end()) return false;
  servers_.erase(it);
  return true;
}

bool ServerManager::notify_failed_server(const std::string& name) {
  if (servers_.size() <= 1 || servers_.front().name != name) return false;
  cycle_server(servers_);
  return true;
}

const ServerMeta* ServerManager::find_server() const { return servers_.empty() ? nullptr : &servers_.front(); }

void ServerManager::shuffle_servers(std::vector<ServerMeta>& list, Rng& rng) {
  for (size_t i = list.size(); i-- > 1;) {
    const auto j = static_cast<size_t>(rng.below(i + 1));
    std::swap(list[i], list[j]);
  }
}

void ServerManager::cycle_server(std::vector<ServerMeta>& list) {
  if (list.size() < 2) return;
  std::rotate(list.begin(), list.begin() + 1, list.end());
}

std::vector<ServerMeta> ServerManager::rebalance_candidates(Rng& rng) const {
  std::vector<ServerMeta> out = servers_;
  shuffle_servers(out, rng);
  return out;
}

bool ServerManager::finish_rebalance(std::vector<ServerMeta> order, bool found_healthy) {
  if (!found_healthy) {
    offline_ = true;  // "No healthy servers during rebalance, aborting"
    return false;
  }
  offline_ = false;
  if (servers_.empty() || order.empty()) return false;
  auto in = [](const std::vector<ServerMeta>& list, const std::string& name) {
    return std::any_of(list.begin(), list.end(), [&](const ServerMeta& s) { return s.name == name; });
  };
  // The chosen server was removed meanwhile: keep the current list.
  if (!in(servers_, order.front().name)) return false;
  std::vector<ServerMeta> merged;
  merged.reserve(servers_.size());
  for (ServerMeta& s : order)
    if (in(servers_, s.name)) merged.push_back(std::move(s));
  for (const ServerMeta& s : servers_)
    if (!in(merged, s.name)) merged.push_back(s);
  servers_ = std::move(merged);
  return true;
}

bool ServerManager::rebalance(Rng& rng, const std::function<bool(const ServerMeta&)>& healthy) {
  std::vector<ServerMeta> order = rebalance_candidates(rng);
  bool found = false;
  for (size_t i = 0; i < order.size(); ++i) {
    const ServerMeta& first = order.front();
    if ((!self_server_.empty() && first.name == self_server_) || healthy(first)) {
      found = true;
      break;
    }
    cycle_server(order);
  }
  return finish_rebalance(std::move(order), found);
}

}  // namespace core::agent

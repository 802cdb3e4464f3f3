#include "sim/run/stacks.hpp"

#include <vector>

#include "sim/layers/consul.hpp"
#include "sim/layers/heartbeat.hpp"
#include "sim/layers/memberlist.hpp"
#include "sim/layers/raft.hpp"
#include "sim/layers/serf.hpp"
#include "sim/workload/kv.hpp"

namespace sim {

namespace {

class Registry final : public StackRegistry {
 public:
  Registry() {
    // name, what it is, its layers (the first makes each host's node), its workloads.
    stacks_ = {
        {"heartbeat", "an all-to-all heartbeat failure detector on every node", {&heartbeat_layer_def()}, {}},
        {"raft", "Raft servers (hashicorp/raft) with a KV state machine", {&raft_layer_def()}, {&kv_workload_def()}},
        {"gossip", "a LAN gossip pool: serf over memberlist (SWIM + Lifeguard) on every agent",
         {&serf_layer_def(), &memberlist_layer_def()}, {}},
        {"consul",
         "Consul agents: servers (Raft with the catalog and KV store, RPC, the leader's reconcile) and clients, "
         "LAN and WAN gossip, anti-entropy, user events, health checks",
         {&consul_layer_def(), &raft_layer_def(), &serf_layer_def(), &memberlist_layer_def()}, {&kv_workload_def()}},
    };
  }
  const StackDef* find(const std::string& name) const override {
    for (const StackDef& s : stacks_)
      if (s.name == name) return &s;
    return nullptr;
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const StackDef& s : stacks_) out.push_back(s.name);
    return out;
  }
  std::string default_name() const override { return "raft"; }

 private:
  std::vector<StackDef> stacks_;
};

}  // namespace

const StackRegistry& stacks() {
  static const Registry registry;
  return registry;
}

Scenario parse_scenario(const std::string& json_text, const std::string& origin) {
  return parse_scenario(json_text, stacks(), origin);
}

Scenario load_scenario_file(const std::string& path) { return load_scenario_file(path, stacks()); }

Fault parse_fault(const Scenario& base, const nlohmann::json& fault, const std::string& path) {
  return parse_fault(base, fault, stacks(), path);
}

}  // namespace sim

#include "sim/run/bench_consul.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/agent/agent.hpp"
#include "core/catalog/types.hpp"
#include "sim/layers/consul.hpp"
#include "sim/run/bench.hpp"
#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/reader.hpp"
#include "sim/workload/kv.hpp"

namespace sim {

namespace {

constexpr core::Duration kRegisterAt = 5 * core::kSecond;
constexpr core::Duration kKvStart = 10 * core::kSecond;

void validate(const ConsulBenchParams& p) {
  if (p.servers < 1) throw std::invalid_argument("--servers must be at least 1");
  if (p.servers > 9) throw std::invalid_argument("--servers must be at most 9");
  if (p.agents <= p.servers)
    throw std::invalid_argument("--agents must exceed --servers (" + std::to_string(p.servers) +
                                "): the KV load goes through the clients");
  if (p.agents > 100'000) throw std::invalid_argument("--agents must be at most 100000");
  if (p.virtual_ns <= kKvStart)
    throw std::invalid_argument("--virtual must be longer than 10s: services register at 5s and the KV load starts at 10s");
  if (!(p.kv_rate >= 0.0) || p.kv_rate > 100'000.0) throw std::invalid_argument("--kv-rate must be in [0, 100000]");
}

}  // namespace

std::string consul_bench_scenario(const ConsulBenchParams& p) {
  validate(p);
  using nlohmann::json;
  json doc = {
      {"name", "bench consul: " + std::to_string(p.agents) + " agents"},
      {"description",
       "clustersim bench consul: one datacenter of " + std::to_string(p.servers) + " servers and " +
           std::to_string(p.agents - p.servers) +
           " clients in a formed LAN pool, Consul 1.9's settings with raft_multiplier 1; every client registers "
           "one service at 5s; a KV load through the clients from 10s."},
      {"protocol", "consul"},
      {"seed", p.seed},
      {"cluster", {{"servers", p.servers}, {"clients", p.agents - p.servers}}},
      {"network", {{"latency", {{"uniform", {"1ms", "3ms"}}}}}},
      {"storage", {{"sync_latency", {{"uniform", {"1ms", "3ms"}}}}}},
      {"raft", {{"raft_multiplier", 1}}},
      {"faults",
       {{{"at", write_duration(kRegisterAt)},
         {"register_service", "all_clients"},
         {"service", {{"name", "web"}, {"port", 8080}}}}}},
      {"until", write_duration(p.virtual_ns)},
  };
  if (p.kv_rate > 0)
    doc["workload"] = {{"kv", {{"rate_per_s", p.kv_rate}, {"keys", 16}, {"start", write_duration(kKvStart)}, {"put", 0.5}}}};
  return doc.dump(2);
}

ConsulBenchResult run_consul_bench(const ConsulBenchParams& p) {
  validate(p);
  ConsulBenchResult r;
  r.params = p;
  r.rss_before_bytes = current_rss_bytes();

  const auto t0 = std::chrono::steady_clock::now();
  const Scenario scenario = parse_scenario(consul_bench_scenario(p), "bench consul");
  Runner runner(scenario, RunOptions{});  // builds the cluster and boots every agent
  const auto t_started = std::chrono::steady_clock::now();
  runner.finish();
  const auto t1 = std::chrono::steady_clock::now();

  const Simulation& s = runner.sim();
  const double virtual_s = static_cast<double>(p.virtual_ns) / static_cast<double>(core::kSecond);
  const double run_wall = std::chrono::duration<double>(t1 - t_started).count();
  r.wall_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.setup_seconds = std::chrono::duration<double>(t_started - t0).count();
  r.wall_per_virtual_second = run_wall / virtual_s;
  r.events = s.events_processed();
  r.messages = s.messages().delivered;
  r.events_per_virtual_second = static_cast<double>(r.events) / virtual_s;
  r.messages_per_virtual_second = static_cast<double>(r.messages) / virtual_s;
  r.events_per_second = run_wall > 0 ? static_cast<double>(r.events) / run_wall : 0.0;
  r.peak_rss_bytes = peak_rss_bytes();
  r.bytes_per_agent = static_cast<double>(r.peak_rss_bytes - std::min(r.peak_rss_bytes, r.rss_before_bytes)) / p.agents;
  r.trace_hash = s.trace_hash();

  // Health: a leader, every agent registered and passing, the KV load acknowledged.
  const auto fail = [&](const std::string& why) {
    if (r.error.empty()) r.error = why;
  };
  const auto* consul = dynamic_cast<const ConsulLayer*>(runner.stack().layer("consul"));
  if (consul == nullptr) throw std::logic_error("bench consul: the consul stack has no consul layer");
  const std::optional<core::NodeId> leader = runner.stack().leader();
  const core::agent::Agent* la = leader ? consul->agent(*leader) : nullptr;
  if (la == nullptr || la->server() == nullptr) {
    fail("no leader at the end of the run");
  } else {
    r.leader = la->name();
    const core::catalog::Store& st = la->server()->store();
    std::string first_missing, first_unhealthy;
    for (const NodeSpec& n : scenario.nodes) {
      if (st.node(n.name) == nullptr) {
        if (first_missing.empty()) first_missing = n.name;
        continue;
      }
      ++r.registered;
      const core::catalog::Check* sh = st.check(n.name, core::catalog::kSerfCheckId);
      if (sh != nullptr && sh->status == core::catalog::Health::kPassing) ++r.passing;
      else if (first_unhealthy.empty()) first_unhealthy = n.name + (sh ? " has serfHealth " + std::string(core::catalog::health_name(sh->status)) : " has no serfHealth");
    }
    if (r.registered != p.agents)
      fail(std::to_string(p.agents - r.registered) + " agents are not in the catalog (first: " + first_missing + ")");
    else if (r.passing != p.agents)
      fail(std::to_string(p.agents - r.passing) + " agents are not passing serfHealth (first: " + first_unhealthy + ")");
  }
  if (p.kv_rate > 0) {
    const Workload* kv = runner.stack().workload("kv");
    if (kv == nullptr) throw std::logic_error("bench consul: no kv workload");
    const nlohmann::json client = kv->metrics()["client"];
    r.kv_submitted = client["submitted"].get<uint64_t>();
    r.kv_acknowledged = client["acknowledged"].get<uint64_t>();
    if (r.kv_submitted == 0) fail("the KV load submitted no operation");
    else if (static_cast<double>(r.kv_acknowledged) < 0.99 * static_cast<double>(r.kv_submitted))
      fail("the KV load acknowledged " + std::to_string(r.kv_acknowledged) + " of " + std::to_string(r.kv_submitted) +
           " operations (less than 99 %)");
  }
  const nlohmann::json ae = consul->metrics()["anti_entropy"];
  r.full_syncs = ae["full_syncs"].get<uint64_t>();
  r.partial_syncs = ae["partial_syncs"].get<uint64_t>();
  r.ok = r.error.empty();
  return r;
}

}  // namespace sim

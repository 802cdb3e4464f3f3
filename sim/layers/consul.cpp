// The consul layer: settings, agents, actions, properties, checkers and
// metrics of core::agent::Agent in a run.
#include "sim/layers/consul.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <ostream>

#include "core/agent/records.hpp"
#include "sim/engine/stats.hpp"
#include "sim/layers/memberlist.hpp"
#include "sim/layers/raft.hpp"
#include "sim/layers/serf.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using core::agent::Agent;
using nlohmann::json;

// ---------------------------------------------------------------- settings

json ConsulSettings::to_json() const {
  json j = {{"rpc_hold_timeout", write_duration(rpc_hold_timeout)},
            {"rpc_timeout", write_duration(rpc_timeout)},
            {"reconcile_interval", write_duration(reconcile_interval)},
            {"leave_drain_time", write_duration(leave_drain_time)},
            {"ae_interval", write_duration(ae_interval)},
            {"check_update_interval", write_duration(check_update_interval)},
            {"retry_interval", write_duration(retry_interval)},
            {"autopilot",
             {{"cleanup_dead_servers", autopilot.cleanup_dead_servers},
              {"last_contact_threshold", write_duration(autopilot.last_contact_threshold)},
              {"max_trailing_logs", autopilot.max_trailing_logs},
              {"min_quorum", autopilot.min_quorum},
              {"server_stabilization_time", write_duration(autopilot.server_stabilization_time)},
              {"interval", write_duration(autopilot.interval)}}}};
  if (bootstrap_expect != 0) j["bootstrap_expect"] = bootstrap_expect;
  if (kv_through_names.empty()) j["kv_through"] = kv_through;
  else j["kv_through"] = kv_through_names;
  if (!kv_datacenter.empty()) j["kv_datacenter"] = kv_datacenter;
  return j;
}

bool ConsulSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const ConsulSettings*>(&other);
  return o && o->bootstrap_expect == bootstrap_expect && o->rpc_hold_timeout == rpc_hold_timeout &&
         o->rpc_timeout == rpc_timeout && o->reconcile_interval == reconcile_interval &&
         o->leave_drain_time == leave_drain_time && o->ae_interval == ae_interval &&
         o->check_update_interval == check_update_interval && o->retry_interval == retry_interval &&
         o->autopilot == autopilot && o->kv_through == kv_through && o->kv_through_names == kv_through_names &&
         o->kv_datacenter == kv_datacenter;
}

json ServiceArgs::to_json() const {
  json j = json::object();
  if (!name.empty()) j["name"] = name;
  if (!id.empty()) j["id"] = id;
  if (!tags.empty()) j["tags"] = tags;
  if (port != 0) j["port"] = port;
  if (count != 1) j["count"] = count;
  return {{"service", j}};
}
bool ServiceArgs::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const ServiceArgs*>(&other);
  return o && o->id == id && o->name == name && o->tags == tags && o->port == port && o->count == count;
}

json CheckArgs::to_json() const {
  json j = {{"id", id}};
  if (update) {
    j["status"] = status;
    if (!output.empty()) j["output"] = output;
    return {{"check", j}};
  }
  if (!name.empty()) j["name"] = name;
  if (kind != "ttl") j["type"] = kind;
  if (!service.empty()) j["service"] = service;
  if (kind == "ttl") j["ttl"] = write_duration(ttl);
  else {
    j["interval"] = write_duration(interval);
    j["timeout"] = write_duration(timeout);
    if (!target.empty()) j["target"] = target;
    if (!target_service.empty()) j["target_service"] = target_service;
  }
  if (!status.empty()) j["status"] = status;
  if (!output.empty()) j["output"] = output;
  return {{"check", j}};
}
bool CheckArgs::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const CheckArgs*>(&other);
  return o && o->id == id && o->name == name && o->kind == kind && o->service == service && o->ttl == ttl &&
         o->interval == interval && o->timeout == timeout && o->target == target &&
         o->target_service == target_service && o->status == status && o->output == output && o->update == update;
}

json EventArgs::to_json() const {
  json j = {{"name", name}};
  if (payload_bytes != 0) j["payload_bytes"] = payload_bytes;
  if (!node_filter.empty()) j["node_filter"] = node_filter;
  if (!service_filter.empty()) j["service_filter"] = service_filter;
  if (!tag_filter.empty()) j["tag_filter"] = tag_filter;
  if (!datacenter.empty()) j["datacenter"] = datacenter;
  return {{"event", j}};
}
bool EventArgs::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const EventArgs*>(&other);
  return o && o->name == name && o->payload_bytes == payload_bytes && o->node_filter == node_filter &&
         o->service_filter == service_filter && o->tag_filter == tag_filter && o->datacenter == datacenter;
}

namespace {

std::vector<std::string> node_names(const Scenario& s) {
  std::vector<std::string> names;
  for (const NodeSpec& n : s.nodes) names.push_back(n.name);
  return names;
}

bool status_of(const std::string& text, core::agent::CheckStatus& out) {
  if (text == "passing") out = core::agent::CheckStatus::kPassing;
  else if (text == "warning") out = core::agent::CheckStatus::kWarning;
  else if (text == "critical") out = core::agent::CheckStatus::kCritical;
  else return false;
  return true;
}

std::shared_ptr<const Settings> read_service(const Reader& fault, const Scenario& /*s*/, bool for_register) {
  if (!fault.require("service", for_register ? "{\"name\": \"web\"}" : "{\"id\": \"web\"} or {\"name\": \"web\"}"))
    return nullptr;
  const Reader r = fault["service"];
  auto out = std::make_shared<ServiceArgs>();
  if (!r.object({"id", "name", "tags", "port", "count"})) return out;
  if (r.has("id")) r["id"].string(out->id);
  if (r.has("name")) r["name"].string(out->name);
  if (for_register && out->name.empty()) r.require("name", "\"web\"");
  if (!for_register && out->name.empty() && out->id.empty()) r.error("give the service's \"id\" or \"name\"");
  if (r.has("tags") && r["tags"].array()) {
    for (size_t i = 0; i < r["tags"].size(); ++i) {
      std::string t;
      if (r["tags"][i].string(t)) out->tags.push_back(t);
    }
  }
  uint64_t v = 0;
  if (r.has("port") && r["port"].count(v, 0, 65535)) out->port = static_cast<uint32_t>(v);
  if (r.has("count") && r["count"].count(v, 1, 100000)) out->count = static_cast<uint32_t>(v);
  return out;
}

std::shared_ptr<const Settings> read_check(const Reader& fault, const Scenario& s, bool for_register) {
  if (!fault.require("check", for_register ? "{\"id\": \"web-ttl\", \"type\": \"ttl\", \"ttl\": \"30s\"}"
                                           : "{\"id\": \"web-ttl\", \"status\": \"passing\"}"))
    return nullptr;
  const Reader r = fault["check"];
  auto out = std::make_shared<CheckArgs>();
  out->update = !for_register;
  if (for_register) {
    if (!r.object({"id", "name", "type", "service", "ttl", "interval", "timeout", "target", "target_service", "status"}))
      return out;
  } else if (!r.object({"id", "status", "output"})) {
    return out;
  }
  if (r.require("id", "\"web-ttl\"")) r["id"].string(out->id);
  if (r.has("name")) r["name"].string(out->name);
  if (r.has("type")) r["type"].choice(out->kind, {"ttl", "tcp", "http"});
  if (r.has("service")) r["service"].string(out->service);
  if (r.has("ttl")) r["ttl"].duration(out->ttl, Reader::Sign::kPositive);
  if (r.has("interval")) r["interval"].duration(out->interval, Reader::Sign::kPositive);
  if (r.has("timeout")) r["timeout"].duration(out->timeout, Reader::Sign::kPositive);
  if (r.has("target")) {
    const std::vector<std::string> names = node_names(s);
    std::string t;
    if (r["target"].string(t)) {
      if (std::find(names.begin(), names.end(), t) == names.end()) r["target"].error("unknown node \"" + t + "\"");
      else out->target = t;
    }
  }
  if (r.has("target_service")) r["target_service"].string(out->target_service);
  if (r.has("output")) r["output"].string(out->output);
  if (!for_register) r.require("status", "\"passing\", \"warning\" or \"critical\"");
  if (r.has("status")) r["status"].choice(out->status, {"passing", "warning", "critical"});
  if (for_register && out->kind != "ttl" && out->target.empty() && out->target_service.empty() && out->service.empty())
    r.error("a tcp or http check probes a service: give \"service\" or \"target_service\"");
  return out;
}

std::shared_ptr<const Settings> read_event(const Reader& fault, const Scenario& s) {
  auto out = std::make_shared<EventArgs>();
  if (!fault.has("event")) return out;
  const Reader r = fault["event"];
  if (!r.object({"name", "payload_bytes", "node_filter", "service_filter", "tag_filter", "datacenter"})) return out;
  if (r.has("name")) r["name"].string(out->name);
  if (out->name.empty()) r["name"].error("a user event needs a name");
  uint64_t v = 0;
  if (r.has("payload_bytes") && r["payload_bytes"].count(v, 0, 400)) out->payload_bytes = static_cast<uint32_t>(v);
  if (r.has("node_filter")) r["node_filter"].string(out->node_filter);
  if (r.has("service_filter")) r["service_filter"].string(out->service_filter);
  if (r.has("tag_filter")) r["tag_filter"].string(out->tag_filter);
  if (!out->tag_filter.empty() && out->service_filter.empty())
    r["tag_filter"].error("Cannot provide tag filter without service filter");
  if (r.has("datacenter") && r["datacenter"].string(out->datacenter) &&
      std::find(s.datacenters.begin(), s.datacenters.end(), out->datacenter) == s.datacenters.end())
    r["datacenter"].error("unknown datacenter \"" + out->datacenter + "\"");
  return out;
}

class ConsulDef final : public LayerDef {
 public:
  std::string name() const override { return "consul"; }
  std::vector<std::string> actions() const override {
    return {"register_service", "deregister_service", "register_check", "check_status", "service_down",
            "service_up", "user_event", "join", "leave", "force_leave", "snapshot_save", "snapshot_restore"};
  }
  std::vector<std::string> action_params(const std::string& action) const override {
    if (action == "register_service" || action == "deregister_service" || action == "service_down" ||
        action == "service_up")
      return {"service"};
    if (action == "register_check" || action == "check_status") return {"check"};
    if (action == "user_event") return {"event"};
    return {};
  }
  std::shared_ptr<const Settings> read_action(const std::string& action, const Reader& fault,
                                              const Scenario& s) const override {
    if (action == "register_service") return read_service(fault, s, true);
    if (action == "deregister_service" || action == "service_down" || action == "service_up")
      return read_service(fault, s, false);
    if (action == "register_check") return read_check(fault, s, true);
    if (action == "check_status") return read_check(fault, s, false);
    if (action == "user_event") return read_event(fault, s);
    return nullptr;
  }
  std::vector<PropertyDef> properties() const override {
    return {{"catalog_converged", false,
             "every running agent's services and checks are in the catalog as the agent has them, and nothing else "
             "of its node (anti-entropy)",
             &read_true_argument},
            {"members_reconciled", false,
             "the catalog holds every running member with serfHealth passing, every member that is down critical or "
             "reaped, and no member that left",
             &read_true_argument},
            {"user_events_delivered", false,
             "every user event fired reached the ring of every agent running since, whose filters it passes",
             &read_true_argument},
            {"kv_acknowledged_applied", false,
             "every acknowledged KV write is applied by every running server, and the catalog's KV store reflects it "
             "or a later write (no acknowledged write lost)",
             &read_true_argument},
            {"ae_full_sync_periods", false,
             "every full-sync period the next-full-sync timer ended lies in [ae_interval, ae_interval x (1 + f)) "
             "(ae.go's scale factor f of the LAN size), and their mean (of the periods that began early enough to "
             "be measured whatever their length) is within 5 % of ae_interval x (1 + f/2); at least 20 periods measured",
             &read_true_argument},
            {"catalog_stale_bounded", true,
             "the catalog never shows a service that its agent (running and in contact with the leader) no longer "
             "has for longer than the anti-entropy bound",
             nullptr}};
  }
  std::shared_ptr<const Settings> read(const Reader& r, const Reader& cluster, const Scenario& s) const override {
    auto out = std::make_shared<ConsulSettings>();
    if (s.servers().empty()) cluster.error("a Consul datacenter needs at least one server");
    for (uint32_t dc = 0; dc < s.dc_counts.size(); ++dc)
      if (s.dc_counts[dc].first == 0)
        cluster.error("datacenter \"" + s.datacenters[dc] + "\" has no server (every Consul datacenter needs one)");
    if (r.is_null()) {
      if (s.clients().empty()) out->kv_through = "servers";
      return out;
    }
    static const std::vector<std::string> keys = {
        "bootstrap_expect", "rpc_hold_timeout", "rpc_timeout", "reconcile_interval", "leave_drain_time",
        "ae_interval", "check_update_interval", "retry_interval", "autopilot", "kv_through", "kv_datacenter"};
    if (!r.object(keys)) return out;
    uint64_t v = 0;
    if (r.has("bootstrap_expect") && r["bootstrap_expect"].count(v, 1, 100)) out->bootstrap_expect = static_cast<uint32_t>(v);
    const auto duration = [&](const char* key, core::Duration& field, Reader::Sign sign) {
      if (r.has(key)) r[key].duration(field, sign);
    };
    duration("rpc_hold_timeout", out->rpc_hold_timeout, Reader::Sign::kNonNegative);
    duration("rpc_timeout", out->rpc_timeout, Reader::Sign::kPositive);
    duration("reconcile_interval", out->reconcile_interval, Reader::Sign::kPositive);
    duration("leave_drain_time", out->leave_drain_time, Reader::Sign::kNonNegative);
    duration("ae_interval", out->ae_interval, Reader::Sign::kPositive);
    duration("check_update_interval", out->check_update_interval, Reader::Sign::kNonNegative);
    duration("retry_interval", out->retry_interval, Reader::Sign::kPositive);
    if (r.has("autopilot")) {
      const Reader a = r["autopilot"];
      if (a.object({"cleanup_dead_servers", "last_contact_threshold", "max_trailing_logs", "min_quorum",
                    "server_stabilization_time", "interval"})) {
        core::agent::AutopilotConfig& ap = out->autopilot;
        if (a.has("cleanup_dead_servers")) a["cleanup_dead_servers"].boolean(ap.cleanup_dead_servers);
        if (a.has("last_contact_threshold")) a["last_contact_threshold"].duration(ap.last_contact_threshold, Reader::Sign::kPositive);
        if (a.has("max_trailing_logs") && a["max_trailing_logs"].count(v, 0, 1u << 30)) ap.max_trailing_logs = v;
        if (a.has("min_quorum") && a["min_quorum"].count(v, 0, 100)) ap.min_quorum = static_cast<uint32_t>(v);
        if (a.has("server_stabilization_time"))
          a["server_stabilization_time"].duration(ap.server_stabilization_time, Reader::Sign::kNonNegative);
        if (a.has("interval")) a["interval"].duration(ap.interval, Reader::Sign::kPositive);
      }
    }
    if (!r.has("kv_through") && s.clients().empty()) out->kv_through = "servers";
    if (r.has("kv_through")) {
      const Reader k = r["kv_through"];
      if (k.json().is_string()) {
        k.choice(out->kv_through, {"clients", "servers", "all"});
        if (out->kv_through == "clients" && s.clients().empty()) k.error("the cluster has no clients");
      } else {
        std::vector<uint32_t> picked;
        const std::vector<std::string> names = node_names(s);
        if (k.name_list(picked, names, "node"))
          for (uint32_t i : picked) out->kv_through_names.push_back(names[i]);
      }
    }
    if (r.has("kv_datacenter") && r["kv_datacenter"].string(out->kv_datacenter) &&
        std::find(s.datacenters.begin(), s.datacenters.end(), out->kv_datacenter) == s.datacenters.end())
      r["kv_datacenter"].error("unknown datacenter \"" + out->kv_datacenter + "\"");
    return out;
  }
  std::unique_ptr<Layer> make(const Scenario& s) const override {
    return std::make_unique<ConsulLayer>(s.layer_settings<ConsulSettings>("consul"));
  }
};

}  // namespace

const LayerDef& consul_layer_def() {
  static const ConsulDef def;
  return def;
}

// ---------------------------------------------------------------- building

void ConsulLayer::attach(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  scenario_ = &s;
  const uint32_t n = static_cast<uint32_t>(s.nodes.size());
  directory_ = std::make_shared<core::agent::Directory>();
  directory_->datacenters = s.datacenters;
  for (const NodeSpec& spec : s.nodes) directory_->nodes.push_back({spec.name, spec.server, spec.dc});

  const auto& serf = s.layer_settings<SerfSettings>("serf");
  const auto& ml = s.layer_settings<MemberlistSettings>("memberlist");
  const auto& raft = s.layer_settings<RaftSettings>("raft");
  const std::vector<std::string> names = node_names(s);
  const auto id_of = [&](const std::string& name) {
    return static_cast<core::NodeId>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  std::vector<uint8_t> initial(n, serf.initial_members.empty() ? 1 : 0);
  for (const std::string& m : serf.initial_members) initial[id_of(m)] = 1;
  // Each datacenter's formed LAN pool, and one WAN pool of every initial server.
  std::vector<std::shared_ptr<std::vector<core::NodeId>>> lan(s.datacenters.size());
  for (auto& l : lan) l = std::make_shared<std::vector<core::NodeId>>();
  auto wan = std::make_shared<std::vector<core::NodeId>>();
  std::vector<uint32_t> servers_in(s.datacenters.size(), 0);
  for (core::NodeId v = 0; v < n; ++v) {
    if (s.nodes[v].server) ++servers_in[s.nodes[v].dc];
    if (!initial[v]) continue;
    lan[s.nodes[v].dc]->push_back(v);
    if (s.nodes[v].server) wan->push_back(v);
  }
  configs_.resize(n);
  for (core::NodeId v = 0; v < n; ++v) {
    core::agent::AgentConfig& c = configs_[v];
    c.server = s.nodes[v].server;
    c.directory = directory_;
    c.serf_lan = serf.config;
    c.serf_lan.memberlist = ml.config;
    c.serf_wan = core::serf::Config::consul_wan();
    if (initial[v]) {
      c.lan_known = lan[s.nodes[v].dc];
      if (c.server) c.wan_known = wan;
    } else {
      for (const std::string& j : serf.start_join) {
        const core::NodeId t = id_of(j);
        if (t != v && s.nodes[t].dc == s.nodes[v].dc) c.retry_join.push_back(t);
      }
    }
    c.raft = raft.config;
    c.bootstrap_expect = c.server ? (settings_.bootstrap_expect != 0 ? settings_.bootstrap_expect : servers_in[s.nodes[v].dc]) : 0;
    c.reconcile_interval = settings_.reconcile_interval;
    c.leave_drain_time = settings_.leave_drain_time;
    c.autopilot = settings_.autopilot;
    c.rpc_hold_timeout = settings_.rpc_hold_timeout;
    c.rpc_timeout = settings_.rpc_timeout;
    c.ae_interval = settings_.ae_interval;
    c.check_update_interval = settings_.check_update_interval;
    c.retry_interval = settings_.retry_interval;
  }
  // Which agents the KV workload goes through.
  if (!settings_.kv_through_names.empty()) {
    for (const std::string& name : settings_.kv_through_names) kv_through_.push_back(id_of(name));
  } else {
    for (core::NodeId v = 0; v < n; ++v) {
      const bool server = s.nodes[v].server;
      if (settings_.kv_through == "all" || (settings_.kv_through == "servers") == server) kv_through_.push_back(v);
    }
  }
  last_full_sync_.assign(n, -1);
  unsynced_since_.assign(n, -1);
  max_acked_index_.assign(s.datacenters.size(), 0);
}

uint32_t ConsulLayer::kv_dc(core::NodeId via) const {
  if (settings_.kv_datacenter.empty()) return dc_of(via);
  const auto& dcs = directory_->datacenters;
  return static_cast<uint32_t>(std::find(dcs.begin(), dcs.end(), settings_.kv_datacenter) - dcs.begin());
}

void ConsulLayer::connect(Layer& other) {
  if (auto* r = dynamic_cast<RaftLayer*>(&other)) {
    raft_ = r;
    std::vector<uint32_t> cluster(directory_->nodes.size(), UINT32_MAX);
    for (core::NodeId v = 0; v < cluster.size(); ++v)
      if (directory_->at(v).server) cluster[v] = directory_->at(v).dc;
    r->set_external(core::Port::kRaft, std::move(cluster), directory_->datacenters);
  } else if (auto* ml = dynamic_cast<MemberlistLayer*>(&other)) {
    std::vector<uint32_t> pools(directory_->nodes.size());
    for (core::NodeId v = 0; v < pools.size(); ++v) pools[v] = dc_of(v);
    ml->set_pools(std::move(pools));
  } else if (auto* sl = dynamic_cast<SerfLayer*>(&other)) {
    serf_ = sl;
    std::vector<uint32_t> pools(directory_->nodes.size());
    for (core::NodeId v = 0; v < pools.size(); ++v) pools[v] = dc_of(v);
    sl->set_pools(std::move(pools));
    sl->set_lookup([this](core::NodeId id) -> core::serf::Serf* {
      Agent* a = agent(id);
      return a ? &a->delegate().serf_lan() : nullptr;
    });
  }
}

std::unique_ptr<core::Node> ConsulLayer::make_node(core::NodeId id) {
  auto a = std::make_unique<Agent>(id, configs_[id]);
  if (raft_ && a->server()) raft_->adopt(id, &a->server()->raft());
  return a;
}

void ConsulLayer::started() {
  // The staleness checker samples only for a scenario that asks for it.
  for (const Expectation& e : scenario_->expect)
    if (e.property == "catalog_stale_bounded") {
      sim_->schedule(sim_->now() + 5 * core::kSecond, [this] { sample_stale(); });
      break;
    }
}

Agent* ConsulLayer::agent(core::NodeId id) const {
  if (id >= directory_->nodes.size() || !sim_->is_up(id)) return nullptr;
  auto* a = static_cast<Agent*>(sim_->node(id));
  return a && !a->shut_down() ? a : nullptr;
}

bool ConsulLayer::running(core::NodeId id) const { return agent(id) != nullptr && !sim_->is_paused(id); }

bool ConsulLayer::passes_filters(const Fired& f, core::NodeId id) const {
  // A filter is a prefix of the value; a leading '^' changes nothing, a
  // trailing '$' makes it the whole value; an empty filter passes all.
  const auto match = [](std::string filter, const std::string& value) {
    if (!filter.empty() && filter.front() == '^') filter.erase(0, 1);
    if (!filter.empty() && filter.back() == '$') return value == filter.substr(0, filter.size() - 1);
    return value.compare(0, filter.size(), filter) == 0;
  };
  const Agent* a = agent(id);
  if (!a || dc_of(id) != f.dc) return false;
  if (!f.node_filter.empty() && !match(f.node_filter, directory_->at(id).name)) return false;
  if (f.service_filter.empty()) return true;
  for (const auto& [sid, st] : a->local().services()) {
    if (st.deleted || !st.has_record || !match(f.service_filter, sid)) continue;
    if (f.tag_filter.empty()) return true;
    for (const std::string& tag : st.service.tags)
      if (match(f.tag_filter, tag)) return true;
  }
  return false;
}

Agent* ConsulLayer::leader_agent(uint32_t dc) const {
  Agent* best = nullptr;
  uint64_t term = 0;
  for (core::NodeId v = 0; v < directory_->nodes.size(); ++v) {
    if (!directory_->at(v).server || dc_of(v) != dc || !running(v)) continue;
    Agent* a = agent(v);
    if (a->server()->is_leader() && a->server()->raft().term() >= term) {
      best = a;
      term = a->server()->raft().term();
    }
  }
  return best;
}

// ---------------------------------------------------------------- observing

void ConsulLayer::on_record(core::Time now, core::NodeId v, const core::Record& r) {
  namespace ag = core::agent;
  if (r.kind == ag::kRecordRpc) {
    const auto method = static_cast<ag::Method>(r.a & 0xFF);
    const uint64_t outcome = r.a >> 8;
    RpcStat& s = rpcs_[method];
    if (outcome == 0) ++s.ok;
    else {
      static const char* const kNames[] = {"", "no_leader", "eof", "chunking", "no_servers", "rate_limited", "other"};
      ++s.errors[outcome < 7 ? kNames[outcome] : "other"];
    }
    s.latency_ns.push_back(static_cast<int64_t>(r.c));
  } else if (r.kind == ag::kRecordSync) {
    const bool full = r.a == ag::kSyncFull;
    const bool ok = r.b == 1;
    if (full) {
      ok ? ++full_syncs_ok_ : ++full_syncs_failed_;
      if (ok) {
        // A period is the time between two full syncs when the second came
        // from the next-full-sync timer (a ServerUp trigger or a retry
        // shortens it, as it should).
        const auto cause = static_cast<core::agent::StateSyncer::FullSyncCause>(r.c >> 32);
        if (last_full_sync_[v] >= 0 && cause == core::agent::StateSyncer::FullSyncCause::kInterval) {
          const Agent* a = agent(v);
          const uint64_t f = a ? core::agent::scale_factor(a->delegate().lan_member_count()) : 1;
          full_sync_periods_.emplace_back(f, now - last_full_sync_[v]);
          full_sync_period_starts_.push_back(last_full_sync_[v]);
        }
        last_full_sync_[v] = now;
      }
    } else {
      ok ? ++partial_syncs_ok_ : ++partial_syncs_failed_;
    }
    if (ok && unsynced_since_[v] >= 0) touched_.push_back(v);
  } else if (r.kind == ag::kRecordLocal) {
    if (unsynced_since_[v] < 0) unsynced_since_[v] = now;
    if (r.a == ag::kCheckStatus) ++check_transitions_;
  } else if (r.kind == ag::kRecordUserEvent) {
    auto it = fired_.find(r.a);
    if (it != fired_.end()) {
      it->second.delivered.emplace(v, now);
      if (wrong_event_.empty() && !passes_filters(it->second, v))
        wrong_event_ = "user event " + it->second.name + " was stored by " + directory_->at(v).name +
                       ", whose node name and services its filters reject";
    }
  } else if (r.kind == ag::kRecordReconcile) {
    switch (r.c) {
      case ag::kReconcileRegistered: ++reconcile_registered_; break;
      case ag::kReconcileCritical: ++reconcile_critical_; break;
      case ag::kReconcileDeregistered: ++reconcile_deregistered_; break;
      case ag::kReconcileFailed: ++reconcile_failed_; break;
      default: ++reconcile_skipped_; break;
    }
  } else if (r.kind == ag::kRecordLeader) {
    if (r.a == ag::kLeaderGained) ++new_leaders_;
    if (r.a == ag::kReconcileDropped) ++reconcile_dropped_;
  } else if (r.kind == ag::kRecordAutopilot) {
    if (r.c == 1) ++autopilot_changes_;
  } else if (r.kind == ag::kRecordLeave && r.a == ag::kLeaveShutdown) {
    if (raft_ && directory_->at(v).server) raft_->retire(v);
  }
}

void ConsulLayer::after_records(core::Time now, const std::vector<core::NodeId>& /*nodes*/) {
  // Anti-entropy convergence: a sync just succeeded on these agents.
  for (core::NodeId v : touched_) {
    if (unsynced_since_[v] < 0) continue;
    Agent* a = agent(v);
    Agent* l = a ? leader_agent(dc_of(v)) : nullptr;
    if (!l) continue;
    if (catalog_matches(v, l->server()->store(), nullptr)) {
      converge_ns_.push_back(now - unsynced_since_[v]);
      unsynced_since_[v] = -1;
    }
  }
  touched_.clear();
}

void ConsulLayer::on_lifecycle(core::Time /*now*/, core::NodeId node, Lifecycle what) {
  if (what == Lifecycle::kCrash) {
    if (kv_) kv_->server_lost(node);
    unsynced_since_[node] = -1;
    last_full_sync_[node] = -1;
  }
}

// ---------------------------------------------------------------- the KV target

bool ConsulLayer::kv_running(core::NodeId a) const {
  // running(a) && !agent(a)->leaving(), with one look-up: the workload asks
  // this of every agent it may go through, for every operation.
  const Agent* p = agent(a);
  return p != nullptr && !sim_->is_paused(a) && !p->leaving();
}

bool ConsulLayer::kv_submit(core::NodeId via, uint64_t request, const KvOp& op) {
  Agent* a = agent(via);
  if (!a) return false;
  core::Env& env = sim_->env(via);
  core::agent::RpcRequest req;
  req.datacenter = settings_.kv_datacenter;
  const auto done = [this, via, request, op](core::Env&, const core::agent::RpcResponse& resp) {
    kv_answer(via, request, op, resp);
  };
  switch (op.kind) {
    case KvOp::Kind::kGet:
      req.method = core::agent::Method::kKvsGet;
      req.mode = op.mode;
      req.args = core::agent::KeyQuery{op.key};
      break;
    case KvOp::Kind::kPut:
    case KvOp::Kind::kDelete: {
      req.method = core::agent::Method::kKvsApply;
      core::catalog::KvsRequest k;
      k.op = op.kind == KvOp::Kind::kPut ? core::catalog::KvOp::kSet : core::catalog::KvOp::kDelete;
      k.entry.key = op.key;
      k.entry.value = op.value;
      req.args = std::move(k);
      break;
    }
    case KvOp::Kind::kCas: {
      // A compare-and-set by value, as a client of Consul's index-based CAS
      // does it: read the entry (consistent), then CAS at its modify index.
      req.method = core::agent::Method::kKvsGet;
      req.mode = core::agent::ReadMode::kConsistent;
      req.args = core::agent::KeyQuery{op.key};
      a->rpc(env, std::move(req), [this, via, request, op](core::Env& e, const core::agent::RpcResponse& got) {
        if (!got.ok) {
          kv_answer(via, request, op, got);
          return;
        }
        const auto& entry = std::get<std::optional<core::catalog::KvEntry>>(got.reply);
        if (!entry || entry->value != op.expected) {
          KvResult res;
          res.outcome = KvResult::Outcome::kFail;
          res.found = entry.has_value();
          if (entry) res.value = entry->value;
          res.error = "value differs";
          if (kv_) kv_->done(request, res);
          return;
        }
        Agent* again = agent(via);
        if (!again) return;  // the agent went away: the workload counts it unknown
        core::agent::RpcRequest cas;
        cas.method = core::agent::Method::kKvsApply;
        cas.datacenter = settings_.kv_datacenter;
        core::catalog::KvsRequest k;
        k.op = core::catalog::KvOp::kCas;
        k.entry.key = op.key;
        k.entry.value = op.value;
        k.entry.modify_index = entry->modify_index;
        cas.args = std::move(k);
        again->rpc(e, std::move(cas), [this, via, request, op](core::Env&, const core::agent::RpcResponse& resp) {
          kv_answer(via, request, op, resp);
        });
      });
      return true;
    }
  }
  a->rpc(env, std::move(req), done);
  return true;
}

void ConsulLayer::kv_answer(core::NodeId via, uint64_t request, const KvOp& op, const core::agent::RpcResponse& resp) {
  KvResult res;
  if (!resp.ok) {
    res.error = resp.error_text;
    // Unknown when the write may have reached a leader's log: the connection
    // died, or leadership was lost while committing. Any other error means
    // it never did; a failed read had no effect either.
    const bool maybe = op.kind != KvOp::Kind::kGet &&
                       (resp.error == core::agent::RpcError::kEof || resp.error_text == core::agent::kErrLeadershipLost);
    res.outcome = maybe ? KvResult::Outcome::kUnknown : KvResult::Outcome::kFail;
  } else if (op.kind == KvOp::Kind::kGet) {
    const auto& entry = std::get<std::optional<core::catalog::KvEntry>>(resp.reply);
    res.found = entry.has_value();
    if (entry) res.value = entry->value;
    res.index = resp.index;
  } else {
    const auto& r = std::get<core::catalog::ApplyResult>(resp.reply);
    res.index = resp.raft_index;
    if (r.code == core::catalog::ApplyResult::kFalse) {
      res.outcome = KvResult::Outcome::kFail;
      res.error = "cas index changed";
    }
  }
  if (res.outcome == KvResult::Outcome::kOk && op.kind != KvOp::Kind::kGet && res.index > 0) {
    const uint32_t dc = kv_dc(via);
    max_acked_index_[dc] = std::max(max_acked_index_[dc], res.index);
    auto& last = last_acked_[{dc, op.key}];
    if (res.index > last.first) last = {res.index, op.kind == KvOp::Kind::kDelete};
    if (raft_) raft_->note_acknowledged(dc, res.index);
  }
  if (kv_) kv_->done(request, res);
}

// ---------------------------------------------------------------- actions

std::string ConsulLayer::action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) {
  // One line for the summary: each node's outcome when there are a few,
  // a count and the failures when there are many.
  std::string said;
  size_t succeeded = 0;
  const bool many = nodes.size() > 3;
  const auto say = [&](const std::string& s) {
    if (s.empty()) return;
    if (!said.empty()) said += "; ";
    said += s;
  };
  const auto ok = [&](const std::string& s) {
    ++succeeded;
    if (!many) say(s);
  };
  for (core::NodeId v : nodes) {
    const std::string& vname = directory_->at(v).name;
    if (name == "force_leave") {
      // A running agent (a server of the node's datacenter if one runs)
      // forces the target out: Consul's force-leave is for failed members.
      core::NodeId by = core::kNoNode;
      for (core::NodeId u = 0; u < directory_->nodes.size() && by == core::kNoNode; ++u)
        if (u != v && running(u) && dc_of(u) == dc_of(v)) by = u;
      if (by == core::kNoNode) {
        say("no running agent to force " + vname + " out");
        continue;
      }
      const std::string err = agent(by)->force_leave(sim_->env(by), v, false);
      if (err.empty() && serf_) serf_->note_forced(v);
      if (err.empty()) ok(directory_->at(by).name + " forces " + vname + " to leave");
      else say(directory_->at(by).name + ": " + err);
      continue;
    }
    Agent* a = agent(v);
    if (!a || sim_->is_paused(v)) {
      say(vname + " is not running");
      continue;
    }
    core::Env& env = sim_->env(v);
    std::string err;
    if (name == "register_service" || name == "deregister_service" || name == "service_down" || name == "service_up") {
      const auto& sa = static_cast<const ServiceArgs&>(*args);
      for (uint32_t i = 1; i <= sa.count && err.empty(); ++i) {
        std::string id = sa.id.empty() ? sa.name : sa.id;
        if (sa.count > 1) id += "-" + std::to_string(i);
        if (name == "register_service") {
          core::agent::Service svc;
          svc.name = sa.name;
          svc.tags = sa.tags;
          svc.port = static_cast<uint16_t>(sa.port);
          err = a->add_service(env, id, std::move(svc));
        } else if (name == "deregister_service") {
          err = a->remove_service(env, id);
        } else {
          a->set_service_answers(id, name == "service_up");
        }
      }
      if (err.empty()) ok(vname + ": " + name + " " + (sa.id.empty() ? sa.name : sa.id) + (sa.count > 1 ? " x" + std::to_string(sa.count) : ""));
    } else if (name == "register_check") {
      const auto& ca = static_cast<const CheckArgs&>(*args);
      core::agent::CheckDefinition d;
      d.kind = ca.kind == "tcp" ? core::agent::CheckDefinition::Kind::kTcp
               : ca.kind == "http" ? core::agent::CheckDefinition::Kind::kHttp
                                   : core::agent::CheckDefinition::Kind::kTtl;
      d.name = ca.name.empty() ? ca.id : ca.name;
      d.service_id = ca.service;
      d.ttl = ca.ttl;
      d.interval = ca.interval;
      d.timeout = ca.timeout;
      d.target = ca.target.empty() ? core::kNoNode : directory_->find(ca.target);
      d.target_service = ca.target_service;
      if (!ca.status.empty()) status_of(ca.status, d.initial);
      err = a->add_check(env, ca.id, std::move(d));
      if (err.empty()) ok(vname + ": check " + ca.id + " registered");
    } else if (name == "check_status") {
      const auto& ca = static_cast<const CheckArgs&>(*args);
      core::agent::CheckStatus st = core::agent::CheckStatus::kCritical;
      status_of(ca.status, st);
      err = a->update_ttl(env, ca.id, st, ca.output);
      if (err.empty()) ok(vname + ": check " + ca.id + " " + ca.status);
    } else if (name == "user_event") {
      const auto& ea = static_cast<const EventArgs&>(*args);
      core::agent::UserEvent ev;
      ev.name = ea.name;
      ev.payload_size = ea.payload_bytes;
      ev.node_filter = ea.node_filter;
      ev.service_filter = ea.service_filter;
      ev.tag_filter = ea.tag_filter;
      ev.id = "ev-" + std::to_string(++events_fired_);
      const uint64_t key = core::agent::id_hash(ev.id);
      Fired f;
      f.at = sim_->now();
      f.name = ea.name;
      f.node_filter = ea.node_filter;
      f.service_filter = ea.service_filter;
      f.tag_filter = ea.tag_filter;
      f.dc = ea.datacenter.empty() ? dc_of(v)
                                   : static_cast<uint32_t>(std::find(directory_->datacenters.begin(),
                                                                     directory_->datacenters.end(), ea.datacenter) -
                                                           directory_->datacenters.begin());
      for (core::NodeId u = 0; u < directory_->nodes.size(); ++u)
        if (agent(u) && dc_of(u) == f.dc && passes_filters(f, u)) f.eligible.push_back(u);
      fired_[key] = std::move(f);
      err = a->fire_event(env, ev, ea.datacenter, [this, key](core::Env&, const core::agent::RpcResponse& r) {
        auto it = fired_.find(key);
        if (it != fired_.end()) it->second.accepted = r.ok;
      });
      if (err.empty()) ok(vname + " fires user event " + ev.id + " (" + ea.name + ")");
      else fired_.erase(key);
    } else if (name == "join") {
      std::vector<core::NodeId> peers = configs_[v].retry_join;
      if (peers.empty()) {
        for (core::NodeId u = 0; u < directory_->nodes.size() && peers.empty(); ++u)
          if (u != v && running(u) && dc_of(u) == dc_of(v)) peers.push_back(u);
      }
      if (peers.empty()) {
        say(vname + " has no member to join");
        continue;
      }
      err = a->join(env, peers);
      if (err.empty()) {
        if (serf_) serf_->note_join(sim_->now(), v);
        ok(vname + " joins through " + directory_->at(peers[0]).name);
      }
    } else if (name == "leave") {
      err = a->leave(env);
      if (err.empty()) ok(vname + " leaves");
    } else if (name == "snapshot_save") {
      a->delegate().snapshot_rpc(env, nullptr, [this](core::Env&, const core::agent::RpcResponse& r) {
        if (const auto* s = std::get_if<core::agent::SnapshotReply>(&r.reply); r.ok && s) snapshot_ = s->snapshot;
      });
      ok(vname + " saves a snapshot");
    } else if (name == "snapshot_restore") {
      if (!snapshot_) {
        say("no snapshot saved yet: nothing restored");
        continue;
      }
      // The restored store forgets what was written after the snapshot:
      // acknowledged writes before the restore no longer count.
      const uint32_t dc = dc_of(v);
      a->delegate().snapshot_rpc(env, snapshot_, [this, dc](core::Env&, const core::agent::RpcResponse& r) {
        if (!r.ok) return;
        for (auto it = last_acked_.begin(); it != last_acked_.end();)
          it = it->first.first == dc && it->second.first < r.raft_index ? last_acked_.erase(it) : std::next(it);
      });
      ok(vname + " restores the last snapshot");
    }
    if (!err.empty()) say(vname + ": " + err);
  }
  if (many) said = std::to_string(succeeded) + " of " + std::to_string(nodes.size()) + " agents" + (said.empty() ? "" : "; " + said);
  return said;
}

// ---------------------------------------------------------------- properties

bool ConsulLayer::catalog_matches(core::NodeId id, const core::catalog::Store& st, std::string* why) const {
  const Agent* a = agent(id);
  if (!a) return true;
  const std::string& node = directory_->at(id).name;
  const auto fail = [&](const std::string& s) {
    if (why) *why = node + ": " + s;
    return false;
  };
  const auto& local = a->local();
  for (const auto& [sid, s] : local.services()) {
    if (s.deleted || !s.has_record) continue;
    const core::catalog::Service* cs = st.service(node, sid);
    if (!cs) return fail("service " + sid + " is not in the catalog");
    if (cs->name != s.service.name || cs->tags != s.service.tags || cs->port != s.service.port)
      return fail("service " + sid + " differs in the catalog");
  }
  if (auto ns = st.node_services(node).value) {
    for (const core::catalog::Service& cs : ns->services) {
      if (cs.id == core::agent::kConsulServiceId && a->is_server()) continue;
      const core::agent::ServiceState* ls = local.service(cs.id);
      if (!ls || ls->deleted) return fail("the catalog holds service " + cs.id + " that the agent does not have");
    }
  }
  for (const auto& [cid, c] : local.checks()) {
    if (c.deleted || !c.has_record) continue;
    const core::catalog::Check* cc = st.check(node, cid);
    if (!cc) return fail("check " + cid + " is not in the catalog");
    if (static_cast<uint8_t>(cc->status) != static_cast<uint8_t>(c.check.status) || cc->service_id != c.check.service_id)
      return fail("check " + cid + " is " + core::catalog::health_name(cc->status) + " in the catalog");
  }
  for (const core::catalog::Check& cc : st.node_checks(node).value) {
    if (cc.id == core::catalog::kSerfCheckId) continue;
    const core::agent::CheckState* lc = local.check(cc.id);
    if (!lc || lc->deleted) return fail("the catalog holds check " + cc.id + " that the agent does not have");
  }
  return true;
}

bool ConsulLayer::holds(const Expectation& e, std::string& detail) {
  const uint32_t dcs = static_cast<uint32_t>(directory_->datacenters.size());
  if (e.property == "catalog_converged" || e.property == "members_reconciled") {
    uint32_t checked = 0;
    for (uint32_t dc = 0; dc < dcs; ++dc) {
      Agent* l = leader_agent(dc);
      if (!l) {
        detail = "datacenter " + directory_->datacenters[dc] + " has no leader";
        return false;
      }
      const core::catalog::Store& st = l->server()->store();
      for (core::NodeId v = 0; v < directory_->nodes.size(); ++v) {
        if (dc_of(v) != dc) continue;
        const std::string& node = directory_->at(v).name;
        if (e.property == "catalog_converged") {
          if (!running(v)) continue;
          std::string why;
          if (!catalog_matches(v, st, &why)) {
            detail = why;
            return false;
          }
          ++checked;
          continue;
        }
        // members_reconciled: the truth the simulator knows.
        const core::catalog::Node* cn = st.node(node);
        const core::catalog::Check* sh = st.check(node, core::catalog::kSerfCheckId);
        const bool left = serf_ && serf_->has_left(v);
        if (serf_ && !left && !serf_->is_member(v)) continue;  // never joined: nothing to reconcile
        if (left) {
          if (cn) {
            detail = node + " left but is still in the catalog";
            return false;
          }
        } else if (running(v) && sim_->network().reachable(v, l->self()) && sim_->network().reachable(l->self(), v)) {
          if (!sh || sh->status != core::catalog::Health::kPassing) {
            detail = node + " is running but its serfHealth is " + (sh ? core::catalog::health_name(sh->status) : "missing");
            return false;
          }
        } else if (!running(v)) {
          if (sh && sh->status == core::catalog::Health::kPassing) {
            detail = node + " is down but its serfHealth is passing";
            return false;
          }
        }
        ++checked;
      }
    }
    detail = std::to_string(checked) + " agents checked";
    return true;
  }
  if (e.property == "user_events_delivered") {
    std::vector<const Fired*> order;
    for (const auto& [key, f] : fired_) order.push_back(&f);
    std::sort(order.begin(), order.end(), [](const Fired* x, const Fired* y) { return x->at < y->at; });
    size_t later = order.size();  // events fired after this one
    if (!wrong_event_.empty()) {
      detail = wrong_event_;
      return false;
    }
    for (const Fired* f : order) {
      --later;
      if (!f->accepted) continue;
      if (later >= core::agent::kEventBufferSize) continue;  // overwritten in the rings since
      for (core::NodeId u : f->eligible) {
        // Eligible then and now (an agent that dropped the service since
        // may rightly have skipped it).
        if (!running(u) || f->delivered.count(u) || !passes_filters(*f, u)) continue;
        detail = "user event " + f->name + " did not reach " + directory_->at(u).name;
        return false;
      }
    }
    detail = std::to_string(fired_.size()) + " user events checked";
    return true;
  }
  if (e.property == "ae_full_sync_periods") {
    // A period runs from one full sync's end to the next's; each sync takes
    // a few RPCs, so a period may exceed the timer's range by that much.
    const core::Duration slack = 2 * settings_.rpc_timeout;
    for (const auto& [f, p] : full_sync_periods_) {
      const core::Duration lo = settings_.ae_interval, hi = settings_.ae_interval * static_cast<core::Duration>(1 + f);
      if (p < lo - slack || p >= hi + slack) {
        detail = "a full-sync period of " + format_duration(p) + " at scale factor " + std::to_string(f) +
                 " is outside [" + format_duration(lo) + ", " + format_duration(hi) + ")";
        return false;
      }
    }
    // The mean of the periods whose end did not depend on their length (see unbiased_periods()).
    const std::map<uint64_t, std::pair<double, uint64_t>> by_f = unbiased_periods();
    if (full_sync_periods_.size() < 20) {
      detail = "only " + std::to_string(full_sync_periods_.size()) + " full-sync periods measured";
      return false;
    }
    std::string all;
    for (const auto& [f, sc] : by_f) {
      if (sc.second < 20) continue;
      const double mean = sc.first / static_cast<double>(sc.second);
      const double want = static_cast<double>(settings_.ae_interval) * (1.0 + static_cast<double>(f) / 2.0);
      all += (all.empty() ? "" : "; ") + std::string("f=") + std::to_string(f) + ": mean " +
             format_duration(static_cast<core::Duration>(mean)) + " of " + std::to_string(sc.second) + " (expected " +
             format_duration(static_cast<core::Duration>(want)) + ")";
      if (mean < 0.95 * want || mean > 1.05 * want) {
        detail = all;
        return false;
      }
    }
    detail = all;
    return true;
  }
  if (e.property == "kv_acknowledged_applied") {
    uint64_t keys = 0;
    for (uint32_t dc = 0; dc < dcs; ++dc) {
      if (max_acked_index_[dc] == 0) continue;
      Agent* l = leader_agent(dc);
      if (!l) {
        detail = "datacenter " + directory_->datacenters[dc] + " has no leader";
        return false;
      }
      const core::raft::Configuration& conf = l->server()->raft().latest_configuration();
      for (const core::raft::Server& s : conf.servers) {
        if (!running(s.id)) continue;
        const uint64_t applied = agent(s.id)->server()->raft().last_applied();
        if (applied < max_acked_index_[dc]) {
          detail = directory_->at(s.id).name + " applied up to " + std::to_string(applied) + " but writes up to " +
                   std::to_string(max_acked_index_[dc]) + " were acknowledged";
          return false;
        }
      }
      const core::catalog::Store& st = l->server()->store();
      for (const auto& [dk, w] : last_acked_) {
        if (dk.first != dc) continue;
        ++keys;
        const std::string& key = dk.second;
        const auto got = st.kv_get(key).value;
        const auto tomb = st.tombstones().find(key);
        const uint64_t present = got ? got->modify_index : 0;
        const uint64_t deleted = tomb != st.tombstones().end() ? tomb->second : 0;
        // A write is reflected when the key holds it or a later write, or a
        // later delete removed it; a delete when the key is absent or was
        // written again since (deleting an absent key leaves no tombstone).
        const bool lost = w.second ? (got && present < w.first) : std::max(present, deleted) < w.first;
        if (lost) {
          detail = "key " + key + ": the acknowledged write at index " + std::to_string(w.first) +
                   " is lost (the store shows index " + std::to_string(std::max(present, deleted)) + ")";
          return false;
        }
      }
    }
    detail = std::to_string(keys) + " keys with acknowledged writes checked";
    return true;
  }
  detail = "unknown property";
  return false;
}

bool ConsulLayer::connected(core::NodeId id, const Agent* leader) const {
  if (!leader || !running(id)) return false;
  // The agent and its datacenter's leader can exchange messages (its RPCs
  // reach the leader directly or through a server that can).
  return id == leader->self() ||
         (sim_->network().reachable(id, leader->self()) && sim_->network().reachable(leader->self(), id));
}

core::Duration ConsulLayer::stale_bound(core::NodeId id) const {
  // A full sync is due within interval * (1 + f); a failed one is retried
  // after retry_fail_interval * (1 + f); each sync may spend an RPC's hold
  // time and deadline per request (two reads and the writes).
  const Agent* a = agent(id);
  const uint64_t f = a ? core::agent::scale_factor(a->delegate().lan_member_count()) : 1;
  const core::Duration per_rpc = settings_.rpc_hold_timeout + settings_.rpc_timeout;
  return settings_.ae_interval * static_cast<core::Duration>(1 + f) +
         core::agent::kRetryFailInterval * static_cast<core::Duration>(1 + f) + 4 * per_rpc + 10 * core::kSecond;
}

void ConsulLayer::sample_stale() {
  const core::Time now = sim_->now();
  std::map<std::pair<core::NodeId, std::string>, core::Time> next;
  for (uint32_t dc = 0; dc < directory_->datacenters.size(); ++dc) {
    Agent* l = leader_agent(dc);
    if (!l) continue;
    const core::catalog::Store& st = l->server()->store();
    for (core::NodeId v = 0; v < directory_->nodes.size(); ++v) {
      if (dc_of(v) != dc || !connected(v, l)) continue;  // l is leader_agent(dc), found once per sample
      Agent* a = agent(v);
      const std::string& node = directory_->at(v).name;
      auto ns = st.node_services(node).value;
      if (!ns) continue;
      for (const core::catalog::Service& cs : ns->services) {
        if (cs.id == core::agent::kConsulServiceId && a->is_server()) continue;
        const core::agent::ServiceState* ls = a->local().service(cs.id);
        if (ls && !ls->deleted) continue;
        const auto key = std::make_pair(v, cs.id);
        auto it = stale_since_.find(key);
        const core::Time since = it == stale_since_.end() ? now : it->second;
        next.emplace(key, since);
        if (!stale_violation_ && now - since > stale_bound(v)) {
          Violation viol;
          viol.time = now;
          viol.trace_position = sim_->trace_events();
          viol.property = "catalog_stale_bounded";
          viol.description = "the catalog has shown service " + cs.id + " of " + node + " for " +
                             format_duration(now - since) + " after its agent stopped having it (bound " +
                             format_duration(stale_bound(v)) + ")";
          stale_violation_ = viol;
        }
      }
    }
  }
  stale_since_ = std::move(next);
  sim_->schedule(now + 5 * core::kSecond, [this] { sample_stale(); });
}

std::optional<Violation> ConsulLayer::violation(const std::string& property) const {
  if (property == "catalog_stale_bounded") return stale_violation_;
  return std::nullopt;
}

void ConsulLayer::finish() {}

// ---------------------------------------------------------------- metrics

std::map<uint64_t, std::pair<double, uint64_t>> ConsulLayer::unbiased_periods() const {
  // The plain mean favours short periods: one that began late in the run is
  // measured only if it was short enough to end before the run did. Only
  // the periods that began early enough for any length in the range (plus
  // two RPC deadlines for the syncs) to end by now count here, so whether a
  // period counts does not depend on its length.
  std::map<uint64_t, std::pair<double, uint64_t>> out;  // f -> (sum, count)
  for (size_t i = 0; i < full_sync_periods_.size(); ++i) {
    const auto& [f, p] = full_sync_periods_[i];
    const core::Duration hi = settings_.ae_interval * static_cast<core::Duration>(1 + f);
    if (full_sync_period_starts_[i] + hi + 2 * settings_.rpc_timeout > sim_->now()) continue;
    out[f].first += static_cast<double>(p);
    ++out[f].second;
  }
  return out;
}

json ConsulLayer::metrics() const {
  json rpc = json::object();
  for (const auto& [method, s] : rpcs_) {
    json errors = json::object();
    for (const auto& [k, n] : s.errors) errors[k] = n;
    std::vector<int64_t> lat = s.latency_ns;
    rpc[core::agent::method_name(method)] = {{"ok", s.ok}, {"errors", errors}, {"latency", quantiles_ns(lat)}};
  }
  // Full-sync periods by scale factor, against ae.go's [interval, interval *
  // (1 + f)); the unbiased mean as unbiased_periods() says.
  std::map<uint64_t, std::vector<int64_t>> by_f;
  for (const auto& [f, p] : full_sync_periods_) by_f[f].push_back(p);
  std::map<uint64_t, std::pair<double, uint64_t>> unbiased = unbiased_periods();
  json periods = json::array();
  for (auto& [f, ps] : by_f) {
    double mean = 0;
    for (int64_t p : ps) mean += static_cast<double>(p);
    mean /= static_cast<double>(ps.size());
    const auto& [usum, ucount] = unbiased[f];
    periods.push_back({{"scale_factor", f},
                       {"count", ps.size()},
                       {"expected_min_ns", settings_.ae_interval},
                       {"expected_max_ns", settings_.ae_interval * static_cast<core::Duration>(1 + f)},
                       {"expected_mean_ns", static_cast<double>(settings_.ae_interval) * (1.0 + static_cast<double>(f) / 2.0)},
                       {"mean_ns", mean},
                       {"unbiased_count", ucount},
                       {"unbiased_mean_ns", ucount ? usum / static_cast<double>(ucount) : 0.0},
                       {"period", quantiles_ns(ps)}});
  }
  std::vector<int64_t> conv = converge_ns_;
  // User events: delivered share and latency to all eligible agents.
  json events = json::array();
  std::vector<int64_t> to_all;
  double share_sum = 0;
  uint64_t counted = 0;
  for (const auto& [key, f] : fired_) {
    if (!f.accepted) continue;
    uint32_t got = 0;
    core::Time last = f.at;
    for (core::NodeId u : f.eligible) {
      auto d = f.delivered.find(u);
      if (d == f.delivered.end()) continue;
      ++got;
      last = std::max(last, d->second);
    }
    const double share = f.eligible.empty() ? 1.0 : static_cast<double>(got) / static_cast<double>(f.eligible.size());
    share_sum += share;
    ++counted;
    if (got == f.eligible.size()) to_all.push_back(last - f.at);
    if (events.size() < 50)
      events.push_back({{"name", f.name}, {"at_ns", f.at}, {"eligible", f.eligible.size()}, {"delivered", got}});
  }
  // The catalog as the first datacenter's leader has it.
  json catalog = nullptr;
  if (Agent* l = leader_agent(0)) {
    const core::catalog::Store& st = l->server()->store();
    uint64_t services = 0, checks = 0, critical = 0;
    for (const core::catalog::Node& n : st.nodes().value) {
      if (auto ns = st.node_services(n.name).value) services += ns->services.size();
      for (const core::catalog::Check& c : st.node_checks(n.name).value) {
        ++checks;
        if (c.status == core::catalog::Health::kCritical) ++critical;
      }
    }
    catalog = {{"leader", l->name()},
               {"nodes", st.node_count()},
               {"services", services},
               {"checks", checks},
               {"critical_checks", critical},
               {"kv_entries", st.kv_count()},
               {"last_index", st.last_index()}};
  }
  return {{"rpc", rpc},
          {"anti_entropy",
           {{"full_syncs", full_syncs_ok_},
            {"full_sync_failures", full_syncs_failed_},
            {"partial_syncs", partial_syncs_ok_},
            {"partial_sync_failures", partial_syncs_failed_},
            {"full_sync_periods", periods},
            {"convergence", quantiles_ns(conv)}}},
          {"user_events",
           {{"fired", events_fired_},
            {"mean_delivered_share", counted ? share_sum / static_cast<double>(counted) : 1.0},
            {"delivered_to_all", quantiles_ns(to_all)},
            {"events", events}}},
          {"leader",
           {{"new_leaders", new_leaders_},
            {"reconcile",
             {{"registered", reconcile_registered_},
              {"critical", reconcile_critical_},
              {"deregistered", reconcile_deregistered_},
              {"skipped", reconcile_skipped_},
              {"failed", reconcile_failed_},
              {"dropped", reconcile_dropped_}}},
            {"autopilot_changes", autopilot_changes_}}},
          {"checks", {{"status_changes", check_transitions_}}},
          {"catalog", catalog}};
}

// ---------------------------------------------------------------- state for embeddings

namespace {

const char* local_status_name(core::agent::CheckStatus st) {
  switch (st) {
    case core::agent::CheckStatus::kPassing: return "passing";
    case core::agent::CheckStatus::kWarning: return "warning";
    case core::agent::CheckStatus::kCritical: return "critical";
  }
  return "unknown";
}

const char* sync_state_name(core::agent::StateSyncer::State st) {
  using State = core::agent::StateSyncer::State;
  switch (st) {
    case State::kIdle: return "idle";
    case State::kFullSyncing: return "full_syncing";
    case State::kRetryWait: return "retry_wait";
    case State::kRetryServerUpWait: return "retry_server_up_wait";
    case State::kPartialWait: return "partial_wait";
    case State::kPartialServerUpWait: return "partial_server_up_wait";
    case State::kPartialSyncing: return "partial_syncing";
    case State::kDone: return "done";
  }
  return "unknown";
}

}  // namespace

void ConsulLayer::describe_node(core::NodeId id, json& out) const {
  const Agent* a = agent(id);
  if (!a) return;
  uint64_t critical = 0;
  for (const auto& [cid, c] : a->local().checks())
    if (!c.deleted && c.has_record && c.check.status == core::agent::CheckStatus::kCritical) ++critical;
  const auto live = [](const auto& m) {
    return static_cast<uint64_t>(std::count_if(m.begin(), m.end(), [](const auto& kv) { return !kv.second.deleted && kv.second.has_record; }));
  };
  const core::agent::UserEvent* last = a->events().last();
  json d = {{"server", a->is_server()},
            {"datacenter", a->delegate().datacenter()},
            {"leaving", a->leaving()},
            {"services", live(a->local().services())},
            {"checks", live(a->local().checks())},
            {"critical_checks", critical},
            {"user_events", a->events().size()},
            {"last_user_event", last ? json(last->name) : json(nullptr)},
            {"sync",
             {{"state", sync_state_name(a->syncer().state())},
              {"paused", a->syncer().paused()},
              {"full_syncs", a->syncer().full_syncs()},
              {"full_sync_failures", a->syncer().full_sync_failures()},
              {"partial_syncs", a->syncer().partial_syncs()},
              {"partial_sync_failures", a->syncer().partial_sync_failures()}}}};
  if (const core::agent::Server* sv = a->server()) {
    d["leader"] = sv->is_leader();
    d["established"] = sv->established();
    d["catalog_index"] = sv->store().last_index();
  }
  out["agent"] = std::move(d);
}

std::vector<Layer::QueryDef> ConsulLayer::queries() const {
  return {{"local_state",
           "an agent's local services and checks, with whether each is in sync with the catalog",
           {"node"}},
          {"user_events", "an agent's user-event ring, oldest first: id, name, ltime, payload_bytes, filters", {"node"}},
          {"catalog",
           "the catalog as a server's store holds it (default: the leader of `datacenter`, default the first): nodes "
           "with their services and checks",
           {"datacenter", "server"}},
          {"kv", "the KV entries under `prefix` as a server's store holds them (server, datacenter as for catalog)",
           {"datacenter", "server", "prefix"}}};
}

json ConsulLayer::query(const std::string& name, const json& args) const {
  if (name == "local_state" || name == "user_events") {
    const core::NodeId id = query_node(*sim_, name, args);
    const Agent* a = agent(id);
    if (!a) throw std::invalid_argument(name + "(): node '" + sim_->node_name(id) + "' is down");
    if (name == "user_events") {
      json out = json::array();
      for (const core::agent::UserEvent& ev : a->events().events())
        out.push_back({{"id", ev.id},
                       {"name", ev.name},
                       {"ltime", ev.ltime},
                       {"payload_bytes", ev.payload_size},
                       {"node_filter", ev.node_filter},
                       {"service_filter", ev.service_filter},
                       {"tag_filter", ev.tag_filter}});
      return out;
    }
    json services = json::object(), checks = json::object();
    for (const auto& [sid, st] : a->local().services()) {
      if (!st.has_record) continue;
      services[sid] = {{"name", st.service.name},
                       {"tags", st.service.tags},
                       {"port", st.service.port},
                       {"in_sync", st.in_sync},
                       {"deleted", st.deleted}};
    }
    for (const auto& [cid, st] : a->local().checks()) {
      if (!st.has_record) continue;
      checks[cid] = {{"name", st.check.name},
                     {"status", local_status_name(st.check.status)},
                     {"output", st.check.output},
                     {"service_id", st.check.service_id},
                     {"in_sync", st.in_sync},
                     {"deleted", st.deleted}};
    }
    return {{"services", services}, {"checks", checks}};
  }
  // catalog, kv: one server's store.
  uint32_t dc = 0;
  if (args.contains("datacenter")) {
    if (!args["datacenter"].is_string()) throw std::invalid_argument(name + "(): datacenter is a name");
    const auto& dcs = directory_->datacenters;
    const auto it = std::find(dcs.begin(), dcs.end(), args["datacenter"].get<std::string>());
    if (it == dcs.end()) throw std::invalid_argument(name + "(): unknown datacenter '" + args["datacenter"].get<std::string>() + "'");
    dc = static_cast<uint32_t>(it - dcs.begin());
  }
  const Agent* from = nullptr;
  if (args.contains("server")) {
    const core::NodeId id = query_node(*sim_, name, args, "server");
    if (!directory_->at(id).server) throw std::invalid_argument(name + "(): '" + sim_->node_name(id) + "' is not a server");
    if (args.contains("datacenter") && dc_of(id) != dc)
      throw std::invalid_argument(name + "(): server '" + sim_->node_name(id) + "' is not in datacenter '" +
                                  directory_->datacenters[dc] + "'");
    from = agent(id);
    if (!from) throw std::invalid_argument(name + "(): server '" + sim_->node_name(id) + "' is down");
  } else {
    from = leader_agent(dc);
    if (!from)
      throw std::invalid_argument(name + "(): datacenter '" + directory_->datacenters[dc] +
                                  "' has no leader now; name a server (server=NAME) to read its copy");
  }
  const core::catalog::Store& st = from->server()->store();
  if (name == "kv") {
    std::string prefix;
    if (args.contains("prefix")) {
      if (!args["prefix"].is_string()) throw std::invalid_argument("kv(): prefix is a string");
      prefix = args["prefix"].get<std::string>();
    }
    json out = json::object();
    for (const core::catalog::KvEntry& e : st.kv_list(prefix).value)
      out[e.key] = {{"value", e.value}, {"flags", e.flags}, {"create_index", e.create_index}, {"modify_index", e.modify_index}};
    return out;
  }
  json nodes = json::object();
  for (const core::catalog::Node& n : st.nodes().value) {
    json services = json::object(), checks = json::object();
    if (auto ns = st.node_services(n.name).value)
      for (const core::catalog::Service& sv : ns->services)
        services[sv.id] = {{"name", sv.name}, {"tags", sv.tags}, {"port", sv.port}, {"modify_index", sv.modify_index}};
    for (const core::catalog::Check& c : st.node_checks(n.name).value)
      checks[c.id] = {{"name", c.name},
                      {"status", core::catalog::health_name(c.status)},
                      {"output", c.output},
                      {"service_id", c.service_id},
                      {"modify_index", c.modify_index}};
    nodes[n.name] = {{"id", n.id}, {"services", services}, {"checks", checks}, {"modify_index", n.modify_index}};
  }
  return {{"server", from->name()}, {"datacenter", directory_->datacenters[dc]}, {"index", st.last_index()}, {"nodes", nodes}};
}

void ConsulLayer::print_metrics(const json& m, std::ostream& out) const {
  const json& ae = m["anti_entropy"];
  out << "consul     anti-entropy: " << ae["full_syncs"] << " full syncs (" << ae["full_sync_failures"] << " failed), "
      << ae["partial_syncs"] << " partial (" << ae["partial_sync_failures"] << " failed); converged after a change "
      << describe_quantiles(ae["convergence"]) << "\n";
  for (const json& p : ae["full_sync_periods"]) {
    char line[300];
    std::snprintf(line, sizeof line,
                  "           full-sync period at scale factor %llu: mean %s (expected %s, range [%s, %s)), %llu periods; "
                  "unbiased mean %s of %llu\n",
                  static_cast<unsigned long long>(p["scale_factor"].get<uint64_t>()),
                  format_duration(static_cast<core::Duration>(p["mean_ns"].get<double>())).c_str(),
                  format_duration(static_cast<core::Duration>(p["expected_mean_ns"].get<double>())).c_str(),
                  format_duration(p["expected_min_ns"].get<int64_t>()).c_str(),
                  format_duration(p["expected_max_ns"].get<int64_t>()).c_str(),
                  static_cast<unsigned long long>(p["count"].get<uint64_t>()),
                  format_duration(static_cast<core::Duration>(p["unbiased_mean_ns"].get<double>())).c_str(),
                  static_cast<unsigned long long>(p["unbiased_count"].get<uint64_t>()));
    out << line;
  }
  out << "           rpc:";
  for (const auto& [method, s] : m["rpc"].items()) {
    uint64_t errors = 0;
    for (const auto& [k, n] : s["errors"].items()) errors += n.get<uint64_t>();
    out << " " << method << " " << s["ok"] << (errors ? "/" + std::to_string(errors) + " failed" : "");
  }
  out << "\n";
  const json& ue = m["user_events"];
  if (ue["fired"].get<uint64_t>() > 0)
    out << "           user events: " << ue["fired"] << " fired; delivered share " << ue["mean_delivered_share"]
        << "; to all eligible " << describe_quantiles(ue["delivered_to_all"]) << "\n";
  const json& ld = m["leader"];
  const json& rc = ld["reconcile"];
  out << "           leader: " << ld["new_leaders"] << " new leaders; reconcile " << rc["registered"] << " registered, "
      << rc["critical"] << " critical, " << rc["deregistered"] << " deregistered, " << rc["dropped"] << " dropped; "
      << ld["autopilot_changes"] << " autopilot changes\n";
  if (!m["catalog"].is_null()) {
    const json& c = m["catalog"];
    out << "           catalog at " << c["leader"].get<std::string>() << ": " << c["nodes"] << " nodes, " << c["services"]
        << " services, " << c["checks"] << " checks (" << c["critical_checks"] << " critical), " << c["kv_entries"]
        << " keys\n";
  }
}

}  // namespace sim

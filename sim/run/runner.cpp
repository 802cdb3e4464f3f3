#include "sim/run/runner.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "core/check.hpp"
#include "sim/run/stacks.hpp"
#include "sim/workload/kv.hpp"

namespace sim {

using nlohmann::json;

Runner::Runner(const Scenario& scenario, const RunOptions& options)
    : scenario_(scenario),
      seed_(options.seed.value_or(scenario.seed)),
      until_(options.until.value_or(scenario.until)),
      fault_rng_(core::derive_seed(seed_, core::kStreamFault, 0)) {
  if (!options.history_path.empty() && !scenario_.workload("kv"))
    throw std::invalid_argument("--history: scenario \"" + scenario_.name +
                                "\" has no kv workload (\"workload\": {\"kv\": {...}}), so no client history to write");
  sim_ = std::make_unique<Simulation>(seed_);
  Network& net = sim_->network();
  // network.bandwidth is the hosts' NIC speed: it applies to every access
  // link (FIFO per direction), not to the LAN switch.
  LinkParams lan = scenario_.lan;
  lan.bandwidth_bps = 0;
  for (const std::string& dc : scenario_.datacenters) net.add_lan(dc, lan);
  for (uint32_t a = 0; a < scenario_.datacenters.size(); ++a)
    for (uint32_t b = a + 1; b < scenario_.datacenters.size(); ++b) net.add_wan_link(a, b, scenario_.wan);
  const StackDef* def = stacks().find(scenario_.stack);
  if (def == nullptr) throw std::invalid_argument("unknown stack '" + scenario_.stack + "'");
  stack_ = std::make_unique<Stack>(*def, scenario_);
  stack_->build(*sim_);
  for (core::NodeId i = 0; i < sim_->node_count(); ++i) sim_->set_storage_params(i, scenario_.storage);
  if (scenario_.lan.bandwidth_bps > 0) {
    LinkParams nic;
    nic.bandwidth_bps = scenario_.lan.bandwidth_bps;
    for (core::NodeId i = 0; i < sim_->node_count(); ++i) net.configure_host(i, nic);
  }
  if (!options.trace_path.empty()) {
    writer_ = std::make_unique<TraceWriter>(options.trace_path);
    sim_->set_trace_writer(writer_.get());
  } else if (options.trace_sink != nullptr) {
    sim_->set_trace_writer(options.trace_sink);
  }
  if (!options.history_path.empty()) history_ = std::make_unique<TraceWriter>(options.history_path, "history");
  sim_->start_all();
  stack_->start(*sim_);
  for (size_t i = 0; i < scenario_.faults.size(); ++i) {
    if (scenario_.faults[i].at > until_) continue;
    sim_->schedule(scenario_.faults[i].at, [this, i] { apply_fault(scenario_.faults[i]); });
  }
  results_.resize(scenario_.expect.size());
  for (size_t i = 0; i < scenario_.expect.size(); ++i) {
    const Expectation& e = scenario_.expect[i];
    results_[i].name = e.name;
    if (e.kind == Expectation::Kind::kBy && e.by <= until_) {
      sim_->schedule(e.by, [this, i] {
        ExpectationResult& r = results_[i];
        r.evaluated = true;
        r.at = sim_->now();
        r.trace_position = sim_->trace_events();
        r.pass = stack_->holds(scenario_.expect[i], r.detail);
      });
    }
  }
}

Runner::~Runner() = default;

void Runner::run_until(core::Time t) { sim_->run_until(std::min(t, until_)); }

void Runner::finish() {
  if (finished_) return;
  sim_->run_until(until_);
  stack_->finish();
  for (size_t i = 0; i < scenario_.expect.size(); ++i) {
    const Expectation& e = scenario_.expect[i];
    ExpectationResult& r = results_[i];
    if (e.kind == Expectation::Kind::kAlways) {
      r.evaluated = true;
      const auto v = stack_->violation(e.property);
      r.pass = !v.has_value();
      if (v) {
        r.at = v->time;
        r.trace_position = v->trace_position;
        r.detail = v->description;
      } else {
        r.at = sim_->now();
        r.trace_position = sim_->trace_events();
      }
    } else if (!r.evaluated) {
      r.detail = "not evaluated: the run ended at " + format_duration(sim_->now()) + " before the deadline";
    }
  }
  if (history_) {
    const auto* kv = dynamic_cast<const KvWorkload*>(stack_->workload("kv"));
    CORE_CHECK(kv != nullptr, "--history without a kv workload");  // the constructor refused it
    const LineSink line = [this](const std::string& l) { history_->line(l); };
    if (history_format_of(history_->path()) == HistoryFormat::kEdn) {
      write_history_edn(kv->history(), line);
    } else {
      std::vector<std::string> names;
      for (core::NodeId i = 0; i < sim_->node_count(); ++i) names.push_back(sim_->node_name(i));
      write_history_jsonl(kv->history(), names, line);
    }
  }
  if (writer_) {
    writer_->commit();
    sim_->set_trace_writer(nullptr);
  }
  if (history_) history_->commit();
  finished_ = true;
}

bool Runner::passed() const {
  return std::all_of(results_.begin(), results_.end(), [](const ExpectationResult& r) { return r.evaluated && r.pass; });
}

std::vector<core::NodeId> Runner::resolve(const Target& t, Fault::Kind action) {
  const uint32_t n = sim_->node_count();
  // Which nodes the action can apply to: crash needs a node that is up
  // (paused or not), pause a running one, restart a crashed one, resume a
  // paused one. Every other action (network, clock, protocol actions) picks
  // by selector only among live nodes, up and not paused: a frozen process
  // is nobody's leader or follower, and a fault drawn for a dead node would
  // be a silent no-op. The all_* selectors take every node of their kind.
  auto applicable = [&](core::NodeId id, bool every) {
    switch (action) {
      case Fault::Kind::kCrash: return sim_->is_up(id);
      case Fault::Kind::kPause: return sim_->is_up(id) && !sim_->is_paused(id);
      case Fault::Kind::kRestart: return !sim_->is_up(id);
      case Fault::Kind::kResume: return sim_->is_up(id) && sim_->is_paused(id);
      default: return every || (sim_->is_up(id) && !sim_->is_paused(id));
    }
  };
  std::vector<core::NodeId> pool;
  auto collect = [&](bool servers, bool clients, bool every = false) {
    for (core::NodeId i = 0; i < n; ++i) {
      const bool is_server = scenario_.nodes[i].server;
      if (((is_server && servers) || (!is_server && clients)) && applicable(i, every)) pool.push_back(i);
    }
  };
  auto pick = [&](size_t k) {
    // Partial Fisher-Yates with the fault stream: k distinct nodes, sorted.
    for (size_t i = 0; i < k && i < pool.size(); ++i) {
      const size_t j = i + static_cast<size_t>(fault_rng_.below(pool.size() - i));
      std::swap(pool[i], pool[j]);
    }
    pool.resize(std::min(k, pool.size()));
    std::sort(pool.begin(), pool.end());
    return pool;
  };
  // The stack's leader is always a live node (never a paused one).
  const core::NodeId leader = stack_->leader().value_or(core::kNoNode);
  const size_t servers = scenario_.servers().size();
  switch (t.kind) {
    case Target::Kind::kNames: return t.nodes;
    case Target::Kind::kLeader:
      if (leader != core::kNoNode && applicable(leader, false)) return {leader};
      return {};
    case Target::Kind::kFollowers:
    case Target::Kind::kRandomFollower:
      collect(true, false);
      pool.erase(std::remove(pool.begin(), pool.end(), leader), pool.end());
      return t.kind == Target::Kind::kFollowers ? pool : pick(1);
    case Target::Kind::kRandomServer: collect(true, false); return pick(1);
    case Target::Kind::kRandomClient: collect(false, true); return pick(1);
    case Target::Kind::kRandomNode: collect(true, true); return pick(1);
    case Target::Kind::kMinority: collect(true, false); return pick((servers - 1) / 2);
    case Target::Kind::kMajority: collect(true, false); return pick(servers / 2 + 1);
    case Target::Kind::kAllServers: collect(true, false, true); return pool;
    case Target::Kind::kAllClients: collect(false, true, true); return pool;
    case Target::Kind::kAll: collect(true, true, true); return pool;
    case Target::Kind::kAllCrashed:
      for (core::NodeId i = 0; i < n; ++i)
        if (!sim_->is_up(i)) pool.push_back(i);
      return pool;
    case Target::Kind::kAllPaused:
      for (core::NodeId i = 0; i < n; ++i)
        if (sim_->is_up(i) && sim_->is_paused(i)) pool.push_back(i);
      return pool;
  }
  return {};
}

void Runner::apply_fault(const Fault& f) {
  Simulation& s = *sim_;
  Network& net = s.network();
  const std::vector<core::NodeId> nodes = resolve(f.target, f.kind);
  std::vector<core::NodeId> resolved = nodes;
  std::string outcome;
  switch (f.kind) {
    case Fault::Kind::kCrash:
      for (core::NodeId n : nodes) {
        if (f.lose_unsynced) {
          StorageParams p = scenario_.storage;
          p.lose_unsynced_on_crash = *f.lose_unsynced;
          s.set_storage_params(n, p);
          s.crash(n);
          s.set_storage_params(n, scenario_.storage);
        } else {
          s.crash(n);
        }
      }
      break;
    case Fault::Kind::kRestart:
      for (core::NodeId n : nodes) s.restart(n);
      break;
    case Fault::Kind::kPause:
      for (core::NodeId n : nodes) s.pause(n);
      break;
    case Fault::Kind::kResume:
      for (core::NodeId n : nodes) s.resume(n);
      break;
    case Fault::Kind::kIsolate: {
      std::vector<std::vector<core::NodeId>> groups;
      for (core::NodeId n : nodes) groups.push_back({n});
      if (!groups.empty()) net.partition(groups);
      break;
    }
    case Fault::Kind::kPartitionGroups:
      net.partition(f.groups);
      resolved.clear();
      for (const auto& g : f.groups) resolved.insert(resolved.end(), g.begin(), g.end());
      break;
    case Fault::Kind::kPartitionShape: {
      std::vector<core::NodeId> all;
      for (core::NodeId i = 0; i < s.node_count(); ++i) all.push_back(i);
      for (size_t i = 0; i + 1 < all.size(); ++i)  // Fisher-Yates with the fault stream
        std::swap(all[i], all[i + static_cast<size_t>(fault_rng_.below(all.size() - i))]);
      resolved = all;
      net.shape(f.shape == "random_halves"     ? PartitionShape::kRandomHalves
                : f.shape == "majorities_ring" ? PartitionShape::kMajoritiesRing
                                               : PartitionShape::kBridge,
                all);
      break;
    }
    case Fault::Kind::kBlock: {
      const std::vector<core::NodeId> to = resolve(f.target2, f.kind);
      for (core::NodeId a : nodes)
        for (core::NodeId b : to)
          if (a != b) net.block(a, b);
      resolved.insert(resolved.end(), to.begin(), to.end());
      break;
    }
    case Fault::Kind::kHeal: net.heal(); break;
    case Fault::Kind::kDegradeNodes:
      for (core::NodeId n : nodes) net.degrade_host(n, f.link);
      break;
    case Fault::Kind::kRestoreNodes:
      for (core::NodeId n : nodes) net.restore_host(n);
      break;
    case Fault::Kind::kDegradeWan: net.degrade_wan(net.wan_link(f.wan_a, f.wan_b), f.link); break;
    case Fault::Kind::kRestoreWan: net.restore_wan(net.wan_link(f.wan_a, f.wan_b)); break;
    case Fault::Kind::kClockDrift:
      for (core::NodeId n : nodes) s.set_clock_drift(n, f.drift_ppb);
      break;
    case Fault::Kind::kClockJump:
      for (core::NodeId n : nodes) s.jump_clock(n, f.jump);
      break;
    case Fault::Kind::kSlow:
      for (core::NodeId n : nodes) s.slow(n, f.delay);
      break;
    case Fault::Kind::kUnslow:
      for (core::NodeId n : nodes) s.unslow(n);
      break;
    case Fault::Kind::kAction:
      outcome = stack_->action(f.action, nodes, f.args.get());
      break;
  }
  stack_->after_fault(f.kind == Fault::Kind::kPause ? "paused" : f.kind == Fault::Kind::kCrash ? "crash" : "isolated");
  uint64_t h = 0;
  json names = json::array();
  for (core::NodeId n : resolved) {
    h = h * 1000003u + n + 1;
    names.push_back(s.node_name(n));
  }
  std::string desc = f.description;
  if (f.target.kind != Target::Kind::kNames || f.kind == Fault::Kind::kPartitionShape) desc += " -> " + names.dump();
  if (resolved.empty() && f.kind != Fault::Kind::kHeal && f.kind != Fault::Kind::kDegradeWan && f.kind != Fault::Kind::kRestoreWan)
    desc += " (matched no node: no-op)";
  s.trace_fault(desc, static_cast<uint64_t>(f.kind) + 1, h, resolved.size());
  json applied = {{"at_ns", s.now()}, {"fault", desc}, {"nodes", names}};
  if (!outcome.empty()) applied["outcome"] = outcome;
  applied_faults_.push_back(std::move(applied));
}

json Runner::summary() const {
  const Simulation& s = *sim_;
  const MessageStats& m = s.messages();
  json dropped_by = json::object();
  for (int r = 1; r < 6; ++r)
    if (m.dropped_by[r]) dropped_by[drop_reason_name(static_cast<DropReason>(r))] = m.dropped_by[r];
  json by_type = json::object();
  for (const TypeStats& t : s.message_types())
    by_type[core::message_type_name(t.type)] = {{"sent", t.sent}, {"delivered", t.delivered}, {"bytes", t.bytes}};
  json expectations = json::array();
  for (const ExpectationResult& r : results_) {
    json e = {{"name", r.name}, {"pass", r.evaluated && r.pass}};
    if (r.evaluated) {
      e["at_ns"] = r.at;
      e["trace_position"] = r.trace_position;
    }
    if (!r.detail.empty()) e["detail"] = r.detail;
    expectations.push_back(e);
  }
  json metrics = stack_->metrics();
  metrics["messages_by_type"] = by_type;
  return {
      {"scenario", scenario_.name},
      {"protocol", scenario_.stack},
      {"seed", seed_},
      {"virtual_time_ns", s.now()},
      {"events", s.events_processed()},
      {"trace_events", s.trace_events()},
      {"messages",
       {{"sent", m.sent}, {"delivered", m.delivered}, {"dropped", m.dropped}, {"duplicated", m.duplicated},
        {"dropped_by", dropped_by}}},
      {"trace_hash", hex16(s.trace_hash())},
      {"passed", passed()},
      {"expectations", expectations},
      {"faults", applied_faults_},
      {"metrics", metrics},
  };
}

}  // namespace sim

namespace sim {

void Runner::print_summary(const json& s, std::ostream& out) const {
  out << "scenario   " << s["scenario"].get<std::string>() << " (" << s["protocol"].get<std::string>() << ", seed "
      << s["seed"] << ")\n";
  out << "ran to     " << format_duration(s["virtual_time_ns"].get<int64_t>()) << " virtual, " << s["events"]
      << " events\n";
  const json& m = s["messages"];
  out << "messages   sent " << m["sent"] << ", delivered " << m["delivered"] << ", dropped " << m["dropped"]
      << ", duplicated " << m["duplicated"];
  if (!m["dropped_by"].empty()) {
    out << " (dropped by";
    bool first = true;
    for (auto it = m["dropped_by"].begin(); it != m["dropped_by"].end(); ++it) {
      out << (first ? " " : ", ") << it.key() << " " << it.value();
      first = false;
    }
    out << ")";
  }
  out << "\n";
  for (const json& f : s["faults"]) {
    out << "fault      " << format_duration(f["at_ns"].get<int64_t>()) << "  " << f["fault"].get<std::string>();
    if (f.contains("outcome")) out << " (" << f["outcome"].get<std::string>() << ")";
    out << "\n";
  }
  for (const json& e : s["expectations"]) {
    out << (e["pass"].get<bool>() ? "PASS       " : "FAIL       ") << e["name"].get<std::string>();
    if (e.contains("detail")) out << " - " << e["detail"].get<std::string>();
    if (!e["pass"].get<bool>() && e.contains("at_ns"))
      out << " (at " << format_duration(e["at_ns"].get<int64_t>()) << ", trace event " << e["trace_position"] << ")";
    out << "\n";
  }
  stack_->print_metrics(s["metrics"], out);
  const json& types = s["metrics"]["messages_by_type"];
  if (!types.empty()) {
    out << "by type    type                          sent   delivered       bytes\n";
    for (auto it = types.begin(); it != types.end(); ++it) {
      char line[160];
      std::snprintf(line, sizeof line, "           %-26s %9llu %11llu %11llu\n", it.key().c_str(),
                    static_cast<unsigned long long>(it.value()["sent"].get<uint64_t>()),
                    static_cast<unsigned long long>(it.value()["delivered"].get<uint64_t>()),
                    static_cast<unsigned long long>(it.value()["bytes"].get<uint64_t>()));
      out << line;
    }
  }
  out << "trace_hash " << s["trace_hash"].get<std::string>() << "\n";
}

}  // namespace sim

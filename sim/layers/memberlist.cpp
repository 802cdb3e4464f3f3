// The memberlist layer: settings, convergence, failure detection, false
// positives and load of memberlist in a run.
#include "sim/layers/memberlist.hpp"

#include <algorithm>
#include <stdexcept>
#include <cstdio>
#include <ostream>

#include "core/memberlist/messages.hpp"
#include "sim/engine/stats.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using core::memberlist::Config;
using core::memberlist::State;
using nlohmann::json;

// ---------------------------------------------------------------- settings

json MemberlistSettings::to_json() const {
  const Config& c = config;
  return {{"profile", profile},
          {"probe_interval", write_duration(c.probe_interval)},
          {"probe_timeout", write_duration(c.probe_timeout)},
          {"indirect_checks", c.indirect_checks},
          {"retransmit_mult", c.retransmit_mult},
          {"suspicion_mult", c.suspicion_mult},
          {"suspicion_max_timeout_mult", c.suspicion_max_timeout_mult},
          {"gossip_interval", write_duration(c.gossip_interval)},
          {"gossip_nodes", c.gossip_nodes},
          {"gossip_to_the_dead_time", write_duration(c.gossip_to_the_dead_time)},
          {"push_pull_interval", write_duration(c.push_pull_interval)},
          {"tcp_timeout", write_duration(c.tcp_timeout)},
          {"udp_buffer_size", c.udp_buffer_size},
          {"awareness_max_multiplier", c.awareness_max_multiplier},
          {"disable_tcp_pings", c.disable_tcp_pings},
          {"lifeguard", c.lifeguard},
          {"encryption", c.encryption},
          {"purge_left_nodes", c.purge_left_nodes}};
}

bool MemberlistSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const MemberlistSettings*>(&other);
  return o && o->profile == profile && o->config == config;
}

namespace {

class MemberlistDef final : public LayerDef {
 public:
  std::string name() const override { return "memberlist"; }
  std::vector<PropertyDef> properties() const override {
    return {{"gossip_converged", false,
             "every running member sees each other member alive if it is up and reachable both ways, "
             "and not alive or suspect otherwise",
             &read_true_argument}};
  }
  std::shared_ptr<const Settings> read(const Reader& r, const Reader& /*cluster*/, const Scenario& /*s*/) const override {
    auto out = std::make_shared<MemberlistSettings>();
    if (r.is_null()) return out;
    static const std::vector<std::string> keys = {
        "profile", "probe_interval", "probe_timeout", "indirect_checks", "retransmit_mult", "suspicion_mult",
        "suspicion_max_timeout_mult", "gossip_interval", "gossip_nodes", "gossip_to_the_dead_time",
        "push_pull_interval", "tcp_timeout", "udp_buffer_size", "awareness_max_multiplier", "disable_tcp_pings",
        "lifeguard", "encryption", "purge_left_nodes"};
    if (!r.object(keys)) return out;
    if (r.has("profile") && r["profile"].choice(out->profile, {"lan", "wan", "local"})) {
      if (out->profile == "wan") out->config = Config::consul_wan();
      if (out->profile == "local") out->config = Config::local();
    }
    Config& c = out->config;
    const auto duration = [&](const char* key, core::Duration& field, Reader::Sign sign) {
      if (r.has(key)) r[key].duration(field, sign);
    };
    duration("probe_interval", c.probe_interval, Reader::Sign::kPositive);
    duration("probe_timeout", c.probe_timeout, Reader::Sign::kPositive);
    duration("gossip_interval", c.gossip_interval, Reader::Sign::kPositive);
    duration("gossip_to_the_dead_time", c.gossip_to_the_dead_time, Reader::Sign::kNonNegative);
    duration("push_pull_interval", c.push_pull_interval, Reader::Sign::kNonNegative);
    duration("tcp_timeout", c.tcp_timeout, Reader::Sign::kPositive);
    const auto count = [&](const char* key, uint32_t& field, uint64_t lo, uint64_t hi) {
      uint64_t v = 0;
      if (r.has(key) && r[key].count(v, lo, hi)) field = static_cast<uint32_t>(v);
    };
    count("indirect_checks", c.indirect_checks, 0, 16);
    count("retransmit_mult", c.retransmit_mult, 1, 64);
    count("suspicion_mult", c.suspicion_mult, 1, 64);
    count("suspicion_max_timeout_mult", c.suspicion_max_timeout_mult, 1, 64);
    count("gossip_nodes", c.gossip_nodes, 0, 64);
    count("udp_buffer_size", c.udp_buffer_size, 200, 65507);
    count("awareness_max_multiplier", c.awareness_max_multiplier, 1, 64);
    for (const char* key : {"disable_tcp_pings", "lifeguard", "encryption", "purge_left_nodes"}) {
      if (!r.has(key)) continue;
      bool b = false;
      if (!r[key].boolean(b)) continue;
      const std::string k = key;
      if (k == "disable_tcp_pings") c.disable_tcp_pings = b;
      if (k == "lifeguard") c.lifeguard = b;
      if (k == "encryption") c.encryption = b;
      if (k == "purge_left_nodes") c.purge_left_nodes = b;
    }
    const std::string problem = c.validate();
    if (!problem.empty()) r.error(problem);
    return out;
  }
  std::unique_ptr<Layer> make(const Scenario& s) const override {
    return std::make_unique<MemberlistLayer>(s.layer_settings<MemberlistSettings>("memberlist"));
  }
};

const char* change_name(int k) {
  static const char* names[] = {"failure", "recovery", "join", "leave"};
  return names[k];
}

}  // namespace

const LayerDef& memberlist_layer_def() {
  static const MemberlistDef def;
  return def;
}

// ---------------------------------------------------------------- views

void MemberlistLayer::attach(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  n_ = static_cast<uint32_t>(s.nodes.size());
  views_.assign(size_t{n_} * n_, kUnknown);
  // Until it joins, a host is not a member: its truth is "not in the pool".
  truth_.assign(n_, Truth::kLeft);
  active_.assign(n_, 0);
  disagree_.assign(n_, 0);
  falsely_dead_.assign(n_, 0);
}

void MemberlistLayer::set_initial_members(const std::vector<core::NodeId>& members) {
  for (core::NodeId v : members) {
    truth_[v] = Truth::kUp;
    active_[v] = 1;
    for (core::NodeId j : members) view(v, j) = static_cast<uint8_t>(State::kAlive);
  }
}

void MemberlistLayer::started() {
  start_ = sim_->now();
  // The starting disagreements (none in a formed pool).
  for (core::NodeId j = 0; j < n_; ++j) {
    uint32_t d = 0;
    for (core::NodeId v = 0; v < n_; ++v)
      if (v != j && active_[v] && counted(v, j) && !agrees(views_[size_t{v} * n_ + j], truth_[j])) ++d;
    disagree_[j] = d;
  }
}

bool MemberlistLayer::agrees(uint8_t v, Truth t) const {
  switch (t) {
    case Truth::kUp: return v == static_cast<uint8_t>(State::kAlive);
    case Truth::kDown: return v == static_cast<uint8_t>(State::kDead) || v == kUnknown;
    case Truth::kLeft: return v == static_cast<uint8_t>(State::kLeft) || v == kUnknown;
  }
  return false;
}

bool MemberlistLayer::healthy_pair(core::NodeId viewer, core::NodeId member) const {
  Network& net = sim_->network();
  return sim_->is_up(member) && !sim_->is_paused(member) && sim_->is_up(viewer) && net.reachable(viewer, member) &&
         net.reachable(member, viewer);
}

void MemberlistLayer::on_record(core::Time now, core::NodeId v, const core::Record& r) {
  namespace ml = core::memberlist;
  if (r.port == core::Port::kSerfWan) return;  // a server's WAN pool: not this layer's
  if (r.kind == ml::kRecordState || r.kind == ml::kRecordReap) {
    const auto j = static_cast<core::NodeId>(r.a);
    if (j >= n_) return;
    const uint8_t next = r.kind == ml::kRecordReap ? kUnknown : static_cast<uint8_t>(r.b);
    uint8_t& cur = view(v, j);
    if (!counted(v, j)) return;
    if (active_[v] && j != v) {
      const bool before = agrees(cur, truth_[j]), after = agrees(next, truth_[j]);
      if (before && !after) ++disagree_[j];
      if (!before && after) --disagree_[j];
    }
    cur = next;
    if (j == v) return;
    if (next == static_cast<uint8_t>(State::kDead) && truth_[j] == Truth::kUp && healthy_pair(v, j) && !falsely_dead_[j]) {
      falsely_dead_[j] = 1;
      ++false_dead_views_;
      if (false_examples_.size() < 10) false_examples_.push_back({now, v, j, "dead"});
    }
    if (falsely_dead_[j] && disagree_[j] == 0) falsely_dead_[j] = 0;
    auto it = open_.find(j);
    if (it != open_.end()) {
      if (next == static_cast<uint8_t>(State::kSuspect) && it->second.first_suspect < 0) it->second.first_suspect = now;
      if (next == static_cast<uint8_t>(State::kDead) && it->second.first_dead < 0) it->second.first_dead = now;
    }
    close_if_converged(now, j);
  } else if (r.kind == ml::kRecordProbeFailed) {
    ++probe_failures_;
    const auto j = static_cast<core::NodeId>(r.a);
    if (j < n_ && truth_[j] == Truth::kUp && healthy_pair(v, j)) {
      ++false_probe_failures_;
      if (false_examples_.size() < 10) false_examples_.push_back({now, v, j, "suspicion"});
    }
  } else if (r.kind == ml::kRecordRefute) {
    ++refutes_;
  }
}

void MemberlistLayer::on_lifecycle(core::Time now, core::NodeId v, Lifecycle what) {
  const bool member = truth_[v] != Truth::kLeft;
  switch (what) {
    case Lifecycle::kCrash:
      activate_viewer(v, false);
      std::fill(views_.begin() + static_cast<ptrdiff_t>(size_t{v} * n_), views_.begin() + static_cast<ptrdiff_t>(size_t{v + 1} * n_), kUnknown);
      if (member) set_truth(now, v, Truth::kDown, Change::kFailure);
      break;
    case Lifecycle::kPause:
      activate_viewer(v, false);
      if (member) set_truth(now, v, Truth::kDown, Change::kFailure);
      break;
    case Lifecycle::kResume:
    case Lifecycle::kRestart:
      if (member) {
        activate_viewer(v, true);
        set_truth(now, v, Truth::kUp, Change::kRecovery);
      }
      break;
  }
}

void MemberlistLayer::member_left(core::Time now, core::NodeId v) {
  activate_viewer(v, false);
  set_truth(now, v, Truth::kLeft, Change::kLeave);
}

void MemberlistLayer::member_back(core::Time now, core::NodeId v) {
  if (!sim_->is_up(v)) return;
  activate_viewer(v, true);
  set_truth(now, v, Truth::kUp, Change::kJoin);
}

void MemberlistLayer::activate_viewer(core::NodeId v, bool active) {
  if ((active_[v] != 0) == active) return;
  active_[v] = active ? 1 : 0;
  for (core::NodeId j = 0; j < n_; ++j) {
    if (j == v || !counted(v, j) || agrees(view(v, j), truth_[j])) continue;
    if (active) ++disagree_[j];
    else --disagree_[j];
  }
  if (!active) {
    std::vector<core::NodeId> open;
    for (const auto& [j, e] : open_) open.push_back(j);
    for (core::NodeId j : open) close_if_converged(sim_->now(), j);
  }
}

void MemberlistLayer::set_truth(core::Time now, core::NodeId j, Truth t, Change kind) {
  if (truth_[j] == t) return;
  truth_[j] = t;
  uint32_t d = 0;
  for (core::NodeId v = 0; v < n_; ++v)
    if (v != j && active_[v] && counted(v, j) && !agrees(view(v, j), t)) ++d;
  disagree_[j] = d;
  // A change before the previous one converged replaces it (it never converged).
  open_[j] = Episode{j, kind, now, -1, -1};
  close_if_converged(now, j);
}

void MemberlistLayer::close_if_converged(core::Time now, core::NodeId j) {
  if (disagree_[j] != 0) return;
  auto it = open_.find(j);
  if (it == open_.end()) return;
  const Episode& e = it->second;
  converge_ns_[static_cast<size_t>(e.kind)].push_back(now - e.start);
  if (e.kind == Change::kFailure) {
    if (e.first_suspect >= 0) first_suspect_ns_.push_back(e.first_suspect - e.start);
    if (e.first_dead >= 0) first_dead_ns_.push_back(e.first_dead - e.start);
    all_know_ns_.push_back(now - e.start);
  }
  open_.erase(it);
}

// ---------------------------------------------------------------- state

void MemberlistLayer::describe_node(core::NodeId id, json& out) const {
  const core::memberlist::Memberlist* ml = lookup_ ? lookup_(id) : nullptr;
  if (!ml) return;
  uint32_t suspects = 0;
  for (core::NodeId j = 0; j < n_; ++j)
    if (ml->knows(j) && ml->state(j) == State::kSuspect) ++suspects;
  out["memberlist"] = {{"running", ml->running()},
                       {"incarnation", ml->incarnation(id)},
                       {"health_score", ml->health_score()},
                       {"nodes", ml->num_nodes()},
                       {"members", ml->num_members()},
                       {"suspects", suspects}};
}

std::vector<Layer::QueryDef> MemberlistLayer::queries() const {
  return {{"memberlist_views", "a member's memberlist view: {name: {\"state\", \"incarnation\"}}", {"node"}},
          {"suspicions",
           "the member's pending suspicions: {name: {\"confirmations\", \"wanted\", \"since_ns\", \"deadline_ns\", "
           "\"min_ns\", \"max_ns\"}} (its local clock)",
           {"node"}}};
}

json MemberlistLayer::query(const std::string& name, const json& args) const {
  const core::NodeId id = query_node(*sim_, name, args);
  const core::memberlist::Memberlist* ml = lookup_ ? lookup_(id) : nullptr;
  if (!ml) throw std::invalid_argument("node '" + sim_->node_name(id) + "' is down");
  json out = json::object();
  for (core::NodeId j = 0; j < n_; ++j) {
    if (!ml->knows(j)) continue;
    if (name == "memberlist_views") {
      out[sim_->node_name(j)] = {{"state", core::memberlist::state_name(ml->state(j))}, {"incarnation", ml->incarnation(j)}};
    } else if (const core::memberlist::Suspicion* sp = ml->suspicion(j)) {
      out[sim_->node_name(j)] = {{"confirmations", sp->confirmations()}, {"wanted", sp->k()}, {"since_ns", sp->start()},
                                 {"deadline_ns", sp->deadline()}, {"min_ns", sp->min()}, {"max_ns", sp->max()}};
    }
  }
  return out;
}

// ---------------------------------------------------------------- results

bool MemberlistLayer::holds(const Expectation& e, std::string& detail) {
  if (e.property != "gossip_converged") return false;
  Network& net = sim_->network();
  for (core::NodeId v = 0; v < n_; ++v) {
    if (!sim_->is_up(v) || sim_->is_paused(v) || truth_[v] != Truth::kUp) continue;
    const core::memberlist::Memberlist* ml = lookup_ ? lookup_(v) : nullptr;
    if (!ml || !ml->running()) continue;
    for (core::NodeId j = 0; j < n_; ++j) {
      if (j == v || !counted(v, j)) continue;
      const bool up = truth_[j] == Truth::kUp && sim_->is_up(j) && !sim_->is_paused(j) && net.reachable(v, j) &&
                      net.reachable(j, v);
      const bool known = ml->knows(j);
      const State s = known ? ml->state(j) : State::kDead;
      const bool ok = up ? (known && s == State::kAlive) : (!known || s == State::kDead || s == State::kLeft);
      if (!ok) {
        detail = sim_->node_name(v) + " sees " + sim_->node_name(j) + " as " +
                 (known ? core::memberlist::state_name(s) : "unknown") + " (it is " +
                 (up ? "up and reachable" : truth_[j] == Truth::kLeft ? "not a member" : "down or unreachable") + ")";
        return false;
      }
    }
  }
  return true;
}

std::optional<Violation> MemberlistLayer::violation(const std::string& /*property*/) const { return std::nullopt; }

json MemberlistLayer::metrics() const {
  json conv = json::object();
  for (int k = 0; k < 4; ++k) conv[change_name(k)] = quantiles_ns(converge_ns_[static_cast<size_t>(k)]);
  conv["unconverged"] = open_.size();
  const double seconds = static_cast<double>(sim_->now() - start_) / static_cast<double>(core::kSecond);
  const double member_hours = static_cast<double>(n_) * seconds / 3600.0;
  json examples = json::array();
  for (const FalsePositive& f : false_examples_)
    examples.push_back({{"at_ns", f.at}, {"viewer", sim_->node_name(f.viewer)}, {"member", sim_->node_name(f.member)}, {"what", f.what}});
  json load = json::object();
  for (const TypeStats& t : sim_->message_types()) {
    if (core::family_of(t.type) != core::kFamilyMemberlist || seconds <= 0 || n_ == 0) continue;
    load[core::message_type_name(t.type)] = {{"messages", static_cast<double>(t.sent) / n_ / seconds},
                                             {"bytes", static_cast<double>(t.bytes) / n_ / seconds}};
  }
  uint64_t packets = 0, packet_bytes = 0, piggyback = 0;
  for (core::NodeId v = 0; v < n_; ++v) {
    const core::memberlist::Memberlist* ml = lookup_ ? lookup_(v) : nullptr;
    if (!ml) continue;
    packets += ml->stats().packets;
    packet_bytes += ml->stats().packet_bytes;
    piggyback += ml->stats().piggyback_bytes;
  }
  const uint32_t budget = settings_.config.udp_buffer_size;
  return {{"profile", settings_.profile},
          {"lifeguard", settings_.config.lifeguard},
          {"encryption", settings_.config.encryption},
          {"convergence", conv},
          {"failure_detection",
           {{"first_suspicion", quantiles_ns(first_suspect_ns_)},
            {"first_dead", quantiles_ns(first_dead_ns_)},
            {"all_know", quantiles_ns(all_know_ns_)}}},
          {"false_positives",
           {{"suspicions", false_probe_failures_},
            {"dead_views", false_dead_views_},
            {"member_hours", member_hours},
            {"suspicions_per_member_hour", member_hours > 0 ? static_cast<double>(false_probe_failures_) / member_hours : 0.0},
            {"dead_per_member_hour", member_hours > 0 ? static_cast<double>(false_dead_views_) / member_hours : 0.0},
            {"first", examples}}},
          {"probe_failures", probe_failures_},
          {"refutes", refutes_},
          {"load_per_member_per_second", load},
          {"packets", {{"count", packets},
                       {"mean_bytes", packets ? static_cast<double>(packet_bytes) / static_cast<double>(packets) : 0.0},
                       {"piggyback_bytes", piggyback},
                       {"piggyback_fill", packets ? static_cast<double>(piggyback) / (static_cast<double>(packets) * budget) : 0.0}}}};
}

void MemberlistLayer::print_metrics(const json& m, std::ostream& out) const {
  out << "memberlist profile " << m["profile"].get<std::string>() << (m["lifeguard"].get<bool>() ? ", lifeguard" : ", no lifeguard")
      << (m["encryption"].get<bool>() ? ", encrypted" : "") << "\n";
  for (const char* k : {"failure", "recovery", "join", "leave"}) {
    const json& q = m["convergence"][k];
    if (q["count"].get<int64_t>() > 0) out << "           converged after " << k << ": " << describe_quantiles(q) << "\n";
  }
  if (m["convergence"]["unconverged"].get<int64_t>() > 0)
    out << "           " << m["convergence"]["unconverged"] << " changes not converged at the end\n";
  const json& fd = m["failure_detection"];
  if (fd["first_suspicion"]["count"].get<int64_t>() > 0) {
    out << "           first suspicion " << describe_quantiles(fd["first_suspicion"]) << "\n";
    out << "           first dead      " << describe_quantiles(fd["first_dead"]) << "\n";
  }
  const json& fp = m["false_positives"];
  char line[160];
  std::snprintf(line, sizeof line, "           false positives: %llu suspicions, %llu dead views (%.3f / %.3f per member-hour)\n",
                static_cast<unsigned long long>(fp["suspicions"].get<uint64_t>()),
                static_cast<unsigned long long>(fp["dead_views"].get<uint64_t>()),
                fp["suspicions_per_member_hour"].get<double>(), fp["dead_per_member_hour"].get<double>());
  out << line;
  std::snprintf(line, sizeof line, "           packets %llu, mean %.0f bytes, piggyback fill %.1f%%\n",
                static_cast<unsigned long long>(m["packets"]["count"].get<uint64_t>()), m["packets"]["mean_bytes"].get<double>(),
                100.0 * m["packets"]["piggyback_fill"].get<double>());
  out << line;
}

}  // namespace sim

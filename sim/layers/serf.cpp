// The serf layer: settings, nodes, membership actions, user events and
// serf's metrics in a run.
#include "sim/layers/serf.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <ostream>
#include <stdexcept>

#include "core/serf/records.hpp"
#include "sim/engine/stats.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using core::serf::MemberStatus;
using nlohmann::json;

// ---------------------------------------------------------------- settings

json SerfSettings::to_json() const {
  const core::serf::Config& c = config;
  json j = {{"broadcast_timeout", write_duration(c.broadcast_timeout)},
            {"leave_propagate_delay", write_duration(c.leave_propagate_delay)},
            {"reap_interval", write_duration(c.reap_interval)},
            {"reconnect_interval", write_duration(c.reconnect_interval)},
            {"reconnect_timeout", write_duration(c.reconnect_timeout)},
            {"tombstone_timeout", write_duration(c.tombstone_timeout)},
            {"snapshot", c.snapshot},
            {"disable_coordinates", c.disable_coordinates},
            {"tags_bytes", c.tags_bytes},
            {"event_payload_bytes", event_payload_bytes}};
  if (!initial_members.empty()) j["initial_members"] = initial_members;
  if (!start_join.empty()) j["start_join"] = start_join;
  return j;
}

bool SerfSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const SerfSettings*>(&other);
  return o && o->config == config && o->initial_members == initial_members && o->start_join == start_join &&
         o->event_payload_bytes == event_payload_bytes;
}

namespace {

std::vector<std::string> node_names(const Scenario& s) {
  std::vector<std::string> names;
  for (const NodeSpec& n : s.nodes) names.push_back(n.name);
  return names;
}

class SerfDef final : public LayerDef {
 public:
  std::string name() const override { return "serf"; }
  std::vector<std::string> actions() const override { return {"join", "leave", "force_leave", "user_event"}; }
  std::vector<PropertyDef> properties() const override {
    return {{"serf_converged", false,
             "every running member's serf view: alive for members up and reachable, failed (or reaped) for those "
             "down or unreachable, left (or reaped) for those that left",
             &read_true_argument},
            {"events_delivered", false, "every running member delivered every user event sent", &read_true_argument}};
  }
  std::shared_ptr<const Settings> read(const Reader& r, const Reader& /*cluster*/, const Scenario& s) const override {
    auto out = std::make_shared<SerfSettings>();
    if (r.is_null()) return out;
    static const std::vector<std::string> keys = {
        "initial_members", "start_join", "broadcast_timeout", "leave_propagate_delay", "reap_interval",
        "reconnect_interval", "reconnect_timeout", "tombstone_timeout", "snapshot", "disable_coordinates",
        "tags_bytes", "event_payload_bytes"};
    if (!r.object(keys)) return out;
    const std::vector<std::string> names = node_names(s);
    const auto names_of = [&](const char* key, std::vector<std::string>& field) {
      if (!r.has(key)) return;
      if (r[key].json().is_string() && r[key].json().get<std::string>() == "all") return;
      std::vector<uint32_t> picked;
      if (r[key].name_list(picked, names, "node"))
        for (uint32_t i : picked) field.push_back(names[i]);
    };
    names_of("initial_members", out->initial_members);
    names_of("start_join", out->start_join);
    core::serf::Config& c = out->config;
    const auto duration = [&](const char* key, core::Duration& field) {
      if (r.has(key)) r[key].duration(field, Reader::Sign::kPositive);
    };
    duration("broadcast_timeout", c.broadcast_timeout);
    duration("leave_propagate_delay", c.leave_propagate_delay);
    duration("reap_interval", c.reap_interval);
    duration("reconnect_interval", c.reconnect_interval);
    duration("reconnect_timeout", c.reconnect_timeout);
    duration("tombstone_timeout", c.tombstone_timeout);
    if (r.has("snapshot")) r["snapshot"].boolean(c.snapshot);
    if (r.has("disable_coordinates")) r["disable_coordinates"].boolean(c.disable_coordinates);
    uint64_t v = 0;
    if (r.has("tags_bytes") && r["tags_bytes"].count(v, 0, core::serf::kMetaMaxSize)) c.tags_bytes = static_cast<uint32_t>(v);
    if (r.has("event_payload_bytes") && r["event_payload_bytes"].count(v, 0, c.user_event_size_limit))
      out->event_payload_bytes = static_cast<uint32_t>(v);
    const std::string problem = c.validate();
    if (!problem.empty()) r.error(problem);
    return out;
  }
  std::unique_ptr<Layer> make(const Scenario& s) const override {
    return std::make_unique<SerfLayer>(s.layer_settings<SerfSettings>("serf"),
                                       s.layer_settings<MemberlistSettings>("memberlist").config);
  }
};

}  // namespace

const LayerDef& serf_layer_def() {
  static const SerfDef def;
  return def;
}

// ---------------------------------------------------------------- building

void SerfLayer::attach(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  n_ = static_cast<uint32_t>(s.nodes.size());
  member_.assign(n_, 0);
  left_.assign(n_, 0);
  forced_.assign(n_, 0);
  initial_ = std::make_shared<std::vector<core::NodeId>>();
  const std::vector<std::string> names = node_names(s);
  const auto id_of = [&](const std::string& name) {
    return static_cast<core::NodeId>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  if (settings_.initial_members.empty()) {
    initial_->resize(n_);
    std::iota(initial_->begin(), initial_->end(), 0);
  } else {
    for (const std::string& m : settings_.initial_members) initial_->push_back(id_of(m));
    std::sort(initial_->begin(), initial_->end());
  }
  for (const std::string& m : settings_.start_join) start_join_.push_back(id_of(m));
  for (core::NodeId v : *initial_) member_[v] = 1;
}

void SerfLayer::connect(Layer& other) {
  auto* ml = dynamic_cast<MemberlistLayer*>(&other);
  if (!ml) return;
  memberlist_ = ml;
  ml->set_lookup([this](core::NodeId id) -> const core::memberlist::Memberlist* {
    core::serf::Serf* s = serf_of(id);
    return s ? &s->memberlist() : nullptr;
  });
  ml->set_initial_members(*initial_);
}

std::unique_ptr<core::Node> SerfLayer::make_node(core::NodeId id) {
  core::serf::Config c = settings_.config;
  c.memberlist = memberlist_config_;
  const bool initial = std::binary_search(initial_->begin(), initial_->end(), id);
  std::vector<core::NodeId> join;
  if (!initial)
    for (core::NodeId j : start_join_)
      if (j != id) join.push_back(j);
  return std::make_unique<core::serf::GossipNode>(id, n_, c, initial ? initial_ : nullptr, std::move(join));
}

void SerfLayer::started() {
  if (!settings_.config.disable_coordinates) {
    sample_coordinates();
    sim_->schedule(sim_->now() + kCoordinateSampleEvery, [this] { coordinate_tick(); });
  }
  // Members that join at boot are joining from the start.
  if (start_join_.empty()) return;
  for (core::NodeId v = 0; v < n_; ++v) {
    if (member_[v]) continue;
    member_[v] = 1;
    if (memberlist_) memberlist_->member_back(sim_->now(), v);
  }
}

void SerfLayer::coordinate_tick() {
  sample_coordinates();
  sim_->schedule(sim_->now() + kCoordinateSampleEvery, [this] { coordinate_tick(); });
}

void SerfLayer::sample_coordinates() {
  // Up to kCoordinatePairs pairs of running members, chosen by a fixed
  // stride (no random draws: sampling must not move any stream). The
  // estimate is serf's: the distance between the two members' own
  // coordinates; the truth is the mean RTT of the route both ways.
  Network& net = sim_->network();
  double sum_abs = 0.0, max_abs = 0.0, sum_rel = 0.0;
  uint32_t pairs = 0;
  const uint64_t stride = 7919;
  for (uint64_t k = 0; k < kCoordinatePairs * 4 && pairs < kCoordinatePairs && n_ > 1; ++k) {
    const auto i = static_cast<core::NodeId>((k * stride) % n_);
    const auto j = static_cast<core::NodeId>((k * stride + 1 + k % (n_ - 1)) % n_);
    if (i == j || !running_member(i) || !running_member(j) || pool_of(i) != pool_of(j)) continue;
    const core::coordinate::Client* ci = serf_of(i)->coordinate_client();
    const core::coordinate::Client* cj = serf_of(j)->coordinate_client();
    if (!ci || !cj) continue;
    const double there = net.mean_latency_ns(i, j), back = net.mean_latency_ns(j, i);
    if (there < 0 || back < 0) continue;
    const double truth = there + back;
    const double est = static_cast<double>(ci->coordinate().distance_to(cj->coordinate()));
    const double err = est > truth ? est - truth : truth - est;
    sum_abs += err;
    sum_rel += truth > 0 ? err / truth : 0.0;
    if (err > max_abs) max_abs = err;
    ++pairs;
  }
  if (pairs == 0) return;
  coordinate_samples_.push_back({sim_->now(), pairs, sum_abs / pairs, max_abs, sum_rel / pairs});
}

core::serf::Serf* SerfLayer::serf_of(core::NodeId id) const {
  if (id >= n_ || !sim_->is_up(id)) return nullptr;
  if (lookup_) return lookup_(id);
  auto* g = dynamic_cast<core::serf::GossipNode*>(sim_->node(id));
  return g ? &g->serf() : nullptr;
}

void SerfLayer::note_join(core::Time now, core::NodeId v) {
  member_[v] = 1;
  left_[v] = 0;
  if (memberlist_) memberlist_->member_back(now, v);
}

bool SerfLayer::running_member(core::NodeId v) const {
  return is_member(v) && sim_->is_up(v) && !sim_->is_paused(v);
}

core::NodeId SerfLayer::first_running_member(core::NodeId except) const {
  for (core::NodeId v = 0; v < n_; ++v)
    if (v != except && running_member(v)) return v;
  return core::kNoNode;
}

// ---------------------------------------------------------------- observing

void SerfLayer::on_lifecycle(core::Time /*now*/, core::NodeId node, Lifecycle what) {
  // A force-left member that comes back rejoins (its snapshot knows the pool).
  if (what == Lifecycle::kRestart) forced_[node] = 0;
}

void SerfLayer::on_record(core::Time now, core::NodeId v, const core::Record& r) {
  namespace sf = core::serf;
  if (r.port == core::Port::kSerfWan) return;  // a server's WAN pool: not this layer's
  if (r.kind == sf::kRecordUserEventSent) {
    uint32_t needed = 0;
    for (core::NodeId m = 0; m < n_; ++m)
      if (running_member(m) && pool_of(m) == pool_of(v)) ++needed;
    events_[{pool_of(v), r.a, r.b, r.c}] = Event{now, pool_of(v), needed, {}};
  } else if (r.kind == sf::kRecordUserEvent) {
    auto it = events_.find({pool_of(v), r.a, r.b, r.c});
    if (it != events_.end()) it->second.delivered.push_back(now);
  } else if (r.kind == sf::kRecordLeaveDone) {
    if (r.a == sf::kLeaveDone) ++leaves_done_;
    else ++leaves_timed_out_;
    // The agent leaves, then shuts down (`consul leave`); an agent of
    // another node-making layer shuts itself down.
    member_[v] = 0;
    left_[v] = 1;
    if (memberlist_) memberlist_->member_left(now, v);
    if (!lookup_) {
      sim_->schedule(now, [this, v] {
        if (core::serf::Serf* s = serf_of(v)) s->shutdown(sim_->env(v, core::serf::GossipNode::kPort));
      });
    }
  } else if (r.kind == sf::kRecordJoinDone) {
    ++joins_done_;
  }
}

// ---------------------------------------------------------------- actions

std::string SerfLayer::action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* /*args*/) {
  std::string said;
  const auto say = [&](const std::string& s) {
    if (!said.empty()) said += "; ";
    said += s;
  };
  for (core::NodeId v : nodes) {
    if (name == "force_leave") {
      // The target is usually down (Consul's force-leave is for failed
      // members): a running member broadcasts the intent.
      const core::NodeId by = first_running_member(v);
      if (by == core::kNoNode) {
        say("no running member to force " + sim_->node_name(v) + " out");
        continue;
      }
      const std::string err = serf_of(by)->force_leave(sim_->env(by, core::serf::GossipNode::kPort), v);
      if (err.empty()) forced_[v] = 1;
      say(err.empty() ? sim_->node_name(by) + " forces " + sim_->node_name(v) + " to leave" : sim_->node_name(by) + ": " + err);
      continue;
    }
    core::serf::Serf* sp = serf_of(v);
    if (!sp || sim_->is_paused(v)) {
      say(sim_->node_name(v) + " is not running");
      continue;
    }
    core::Env& env = sim_->env(v, core::serf::GossipNode::kPort);
    core::serf::Serf& serf = *sp;
    std::string err;
    if (name == "join") {
      std::vector<core::NodeId> peers;
      for (core::NodeId j : start_join_)
        if (j != v) peers.push_back(j);
      if (peers.empty()) {
        const core::NodeId j = first_running_member(v);
        if (j != core::kNoNode) peers.push_back(j);
      }
      if (peers.empty()) {
        say(sim_->node_name(v) + " has no member to join");
        continue;
      }
      err = serf.join(env, peers, true);
      if (err.empty()) {
        member_[v] = 1;
        left_[v] = 0;
        if (memberlist_) memberlist_->member_back(sim_->now(), v);
        say(sim_->node_name(v) + " joins through " + sim_->node_name(peers[0]));
      }
    } else if (name == "leave") {
      err = serf.leave(env);
      if (err.empty()) say(sim_->node_name(v) + " leaves");
    } else if (name == "user_event") {
      const uint32_t id = next_event_name_++;
      err = serf.user_event(env, id, settings_.event_payload_bytes, core::derive_seed(0x5E5F, id, v), false);
      if (err.empty()) say(sim_->node_name(v) + " sends user event " + std::to_string(id));
    }
    if (!err.empty()) say(sim_->node_name(v) + ": " + err);
  }
  return said;
}

// ---------------------------------------------------------------- results

bool SerfLayer::holds(const Expectation& e, std::string& detail) {
  Network& net = sim_->network();
  if (e.property == "events_delivered") {
    for (const auto& [key, ev] : events_) {
      uint32_t running = 0;
      for (core::NodeId v = 0; v < n_; ++v)
        if (running_member(v) && pool_of(v) == ev.pool) ++running;
      if (ev.delivered.size() < std::min(ev.needed, running)) {
        detail = "user event " + std::to_string(std::get<2>(key)) + " delivered by " + std::to_string(ev.delivered.size()) +
                 " of " + std::to_string(running) + " running members";
        return false;
      }
    }
    detail = std::to_string(events_.size()) + " events delivered everywhere";
    return true;
  }
  if (e.property != "serf_converged") return false;
  for (core::NodeId v = 0; v < n_; ++v) {
    if (!running_member(v)) continue;
    const core::serf::Serf* sv = serf_of(v);
    if (!sv) continue;
    for (core::NodeId j = 0; j < n_; ++j) {
      if (j == v || pool_of(j) != pool_of(v)) continue;
      const MemberStatus s = sv->status(j);
      bool ok;
      const char* truth;
      if (left_[j] || forced_[j] || !member_[j]) {
        ok = s == MemberStatus::kLeft || s == MemberStatus::kNone;
        truth = "not a member";
      } else if (running_member(j) && net.reachable(v, j) && net.reachable(j, v)) {
        ok = s == MemberStatus::kAlive;
        truth = "up and reachable";
      } else {
        ok = s == MemberStatus::kFailed || s == MemberStatus::kNone;
        truth = "down or unreachable";
      }
      if (!ok) {
        detail = sim_->node_name(v) + " sees " + sim_->node_name(j) + " as " + core::serf::member_status_name(s) +
                 " (it is " + truth + ")";
        return false;
      }
    }
  }
  return true;
}

std::optional<Violation> SerfLayer::violation(const std::string& /*property*/) const { return std::nullopt; }

void SerfLayer::describe_node(core::NodeId id, json& out) const {
  const core::serf::Serf* sf = serf_of(id);
  if (!sf) return;
  out["serf"] = {{"state", core::serf::serf_state_name(sf->state())},
                 {"members", sf->num_members()},
                 {"alive", sf->count(MemberStatus::kAlive)},
                 {"leaving", sf->count(MemberStatus::kLeaving)},
                 {"left", sf->count(MemberStatus::kLeft)},
                 {"failed", sf->count(MemberStatus::kFailed)},
                 {"member_time", sf->member_clock()},
                 {"event_time", sf->event_clock()}};
}

std::vector<Layer::QueryDef> SerfLayer::queries() const {
  return {{"serf_members", "a member's serf view: {name: \"alive\" | \"leaving\" | \"left\" | \"failed\"}", {"node"}}};
}

json SerfLayer::query(const std::string& name, const json& args) const {
  const core::NodeId id = query_node(*sim_, name, args);
  const core::serf::Serf* sf = serf_of(id);
  if (!sf) throw std::invalid_argument("node '" + sim_->node_name(id) + "' is down");
  json out = json::object();
  for (core::NodeId j = 0; j < n_; ++j)
    if (sf->status(j) != MemberStatus::kNone) out[sim_->node_name(j)] = core::serf::member_status_name(sf->status(j));
  return out;
}

json SerfLayer::metrics() const {
  std::vector<int64_t> p50, p90, p99, all;
  uint64_t incomplete = 0;
  for (const auto& kv : events_) {
    const Event& ev = kv.second;
    std::vector<core::Time> d = ev.delivered;
    std::sort(d.begin(), d.end());
    const auto at = [&](double q, std::vector<int64_t>& out) {
      const size_t k = static_cast<size_t>(q * ev.needed + 0.999999);
      if (k == 0) return;
      if (d.size() >= k) out.push_back(d[k - 1] - ev.sent);
    };
    at(0.5, p50);
    at(0.9, p90);
    at(0.99, p99);
    at(1.0, all);
    if (d.size() < ev.needed) ++incomplete;
  }
  core::serf::Serf::Stats sum;
  for (core::NodeId v = 0; v < n_; ++v) {
    const core::serf::Serf* sv = serf_of(v);
    if (!sv) continue;
    const auto& s = sv->stats();
    sum.user_events_duplicate += s.user_events_duplicate;
    sum.user_events_too_old += s.user_events_too_old;
    sum.reconnect_attempts += s.reconnect_attempts;
    sum.reaps += s.reaps;
    sum.flaps += s.flaps;
    sum.member_failures += s.member_failures;
    sum.member_joins += s.member_joins;
    sum.member_leaves += s.member_leaves;
    sum.join_intents_received += s.join_intents_received;
    sum.leave_intents_received += s.leave_intents_received;
    sum.queue_dropped += s.queue_dropped;
  }
  return {{"user_events",
           {{"sent", events_.size()},
            {"incomplete", incomplete},
            {"delivered_to_50pct", quantiles_ns(p50)},
            {"delivered_to_90pct", quantiles_ns(p90)},
            {"delivered_to_99pct", quantiles_ns(p99)},
            {"delivered_to_all", quantiles_ns(all)},
            {"duplicates", sum.user_events_duplicate},
            {"too_old", sum.user_events_too_old}}},
          {"members",
           {{"joins_seen", sum.member_joins},
            {"failures_seen", sum.member_failures},
            {"leaves_seen", sum.member_leaves},
            {"flaps", sum.flaps},
            {"reaps", sum.reaps},
            {"reconnect_attempts", sum.reconnect_attempts},
            {"join_intents_received", sum.join_intents_received},
            {"leave_intents_received", sum.leave_intents_received},
            {"queue_dropped", sum.queue_dropped}}},
          {"leaves", {{"done", leaves_done_}, {"timed_out", leaves_timed_out_}}},
          {"coordinate_error", coordinate_json()},
          {"joins_done", joins_done_}};
}

json SerfLayer::coordinate_json() const {
  json series = json::array();
  for (const CoordinateSample& c : coordinate_samples_)
    series.push_back({{"at_ns", c.at}, {"pairs", c.pairs}, {"mean_abs_ns", c.mean_abs_ns}, {"max_abs_ns", c.max_abs_ns},
                      {"mean_relative", c.mean_relative}});
  json out = {{"series", series}};
  if (!coordinate_samples_.empty()) out["last"] = series.back();
  return out;
}

void SerfLayer::print_metrics(const json& m, std::ostream& out) const {
  const json& ue = m["user_events"];
  out << "serf       " << ue["sent"] << " user events";
  if (ue["sent"].get<int64_t>() > 0) out << "; delivered to all " << describe_quantiles(ue["delivered_to_all"]);
  out << "\n";
  const json& mm = m["members"];
  out << "           seen: " << mm["joins_seen"] << " joins, " << mm["failures_seen"] << " failures, " << mm["leaves_seen"]
      << " leaves, " << mm["flaps"] << " flaps, " << mm["reaps"] << " reaps, " << mm["reconnect_attempts"]
      << " reconnect attempts\n";
  const json& ce = m["coordinate_error"];
  if (ce.contains("last")) {
    char line[200];
    const json& first = ce["series"][0];
    const json& last = ce["last"];
    std::snprintf(line, sizeof line,
                  "           coordinate error vs true RTT: mean %.2fms max %.2fms at %s; %.2fms at the start\n",
                  last["mean_abs_ns"].get<double>() / 1e6, last["max_abs_ns"].get<double>() / 1e6,
                  format_duration(last["at_ns"].get<int64_t>()).c_str(), first["mean_abs_ns"].get<double>() / 1e6);
    out << line;
  }
}

}  // namespace sim

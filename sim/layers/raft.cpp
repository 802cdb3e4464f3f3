#include "sim/layers/raft.hpp"

#include <algorithm>
#include <cmath>

#include "core/raft/state_machine.hpp"
#include "sim/layers/heartbeat.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

namespace {

struct RaftSettings {
  core::raft::Config config;
  std::vector<core::NodeId> initial_voters;  // empty = all servers
};

// Reads "$.raft". Explicit timeouts are final values; raft_multiplier (Consul's
// performance.raft_multiplier, default 5) scales only the defaults of the
// heartbeat, election and leader-lease timeouts, as Consul does.
RaftSettings parse_settings(const Scenario& s, const json& j, std::vector<ScenarioError>* errors) {
  RaftSettings out;
  auto err = [&](const std::string& path, const std::string& msg) {
    if (errors) errors->push_back({path, msg});
  };
  int64_t multiplier = 5;
  if (!j.is_null() && !j.is_object()) {
    err("$.raft", "expected an object of Raft settings");
  }
  const json obj = j.is_object() ? j : json::object();
  if (obj.contains("raft_multiplier")) {
    const json& m = obj["raft_multiplier"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 10)
      err("$.raft.raft_multiplier", "expected an integer from 1 to 10 (Consul's performance.raft_multiplier)");
    else multiplier = m.get<int64_t>();
  }
  out.config = core::raft::Config::consul(static_cast<int>(multiplier));
  core::raft::Config& c = out.config;
  auto duration = [&](const std::string& key, core::Duration& field) {
    core::Duration d = 0;
    const json& v = obj[key];
    if (!v.is_string() || !parse_duration(v.get<std::string>(), d) || d <= 0) {
      err("$.raft." + key, "expected a positive duration such as \"1s\" or \"150ms\"");
      return;
    }
    field = d;
  };
  auto count = [&](const std::string& key, uint64_t lo, uint64_t hi, auto& field) {
    const json& v = obj[key];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi) {
      err("$.raft." + key, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(v.get<uint64_t>());
  };
  auto flag = [&](const std::string& key, bool& field) {
    if (!obj[key].is_boolean()) {
      err("$.raft." + key, "expected true or false");
      return;
    }
    field = obj[key].get<bool>();
  };
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k == "raft_multiplier") continue;
    if (k == "heartbeat_timeout") duration(k, c.heartbeat_timeout);
    else if (k == "election_timeout") duration(k, c.election_timeout);
    else if (k == "leader_lease_timeout") duration(k, c.leader_lease_timeout);
    else if (k == "commit_timeout") duration(k, c.commit_timeout);
    else if (k == "snapshot_interval") duration(k, c.snapshot_interval);
    else if (k == "election_timeout_max") duration(k, c.election_timeout_max);
    else if (k == "rpc_timeout") duration(k, c.rpc_timeout);
    else if (k == "max_append_entries") count(k, 1, 1024, c.max_append_entries);
    else if (k == "trailing_logs") count(k, 0, 1u << 30, c.trailing_logs);
    else if (k == "snapshot_threshold") count(k, 1, 1u << 30, c.snapshot_threshold);
    else if (k == "max_inflight") count(k, 1, 1024, c.max_inflight);
    else if (k == "pre_vote") flag(k, c.pre_vote);
    else if (k == "check_quorum") flag(k, c.check_quorum);
    else if (k == "leader_stickiness") flag(k, c.leader_stickiness);
    else if (k == "unsafe_skip_vote_log_check") flag(k, c.unsafe_skip_vote_log_check);
    else if (k == "timer_mode") {
      const std::string m = it->is_string() ? it->get<std::string>() : "";
      if (m == "hashicorp") c.timer_mode = core::raft::TimerMode::kHashicorp;
      else if (m == "paper") c.timer_mode = core::raft::TimerMode::kPaper;
      else err("$.raft.timer_mode", "expected \"hashicorp\" (default) or \"paper\"");
    } else if (k == "initial_voters") {
      if (!it->is_array() || it->empty()) {
        err("$.raft.initial_voters", "expected a non-empty list of server names");
        continue;
      }
      for (size_t i = 0; i < it->size(); ++i) {
        const json& v = (*it)[i];
        const std::string p = "$.raft.initial_voters[" + std::to_string(i) + "]";
        core::NodeId id = core::kNoNode;
        if (v.is_string())
          for (core::NodeId n = 0; n < s.nodes.size(); ++n)
            if (s.nodes[n].name == v.get<std::string>() && s.nodes[n].server) id = n;
        if (id == core::kNoNode) err(p, "expected the name of a server, got " + v.dump());
        else if (std::find(out.initial_voters.begin(), out.initial_voters.end(), id) != out.initial_voters.end())
          err(p, "server listed twice");
        else out.initial_voters.push_back(id);
      }
      std::sort(out.initial_voters.begin(), out.initial_voters.end());
    } else {
      err("$.raft." + k,
          "unknown key (expected raft_multiplier, heartbeat_timeout, election_timeout, leader_lease_timeout, "
          "commit_timeout, max_append_entries, trailing_logs, snapshot_interval, snapshot_threshold, pre_vote, "
          "check_quorum, leader_stickiness, timer_mode, election_timeout_max, rpc_timeout, max_inflight, "
          "initial_voters, unsafe_skip_vote_log_check)");
    }
  }
  const std::string problem = c.validate();
  if (!problem.empty()) err("$.raft", problem);
  if (!s.clients().empty()) err("$.cluster.clients", "client agents are not modelled with protocol raft yet; use 0");
  return out;
}

}  // namespace

void validate_raft_config(const Scenario& s, const json& j, std::vector<ScenarioError>& errors) {
  parse_settings(s, j, &errors);
}

void validate_raft_workload(const Scenario& /*s*/, const json& j, std::vector<ScenarioError>& errors) {
  auto err = [&](const std::string& p, const std::string& m) { errors.push_back({p, m}); };
  if (!j.is_object()) return err("$.workload", "expected an object such as {\"kv\": {\"rate_per_s\": 100}}");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "kv") err("$.workload." + it.key(), "unknown workload (expected \"kv\")");
  if (!j.contains("kv")) return;
  const json& kv = j["kv"];
  if (!kv.is_object()) return err("$.workload.kv", "expected an object");
  for (auto it = kv.begin(); it != kv.end(); ++it) {
    const std::string p = "$.workload.kv." + it.key();
    const std::string& k = it.key();
    core::Duration d = 0;
    if (k == "rate_per_s") {
      if (!it->is_number() || !(it->get<double>() > 0) || it->get<double>() > 100000)
        err(p, "expected a rate above 0 and at most 100000 operations per second");
    } else if (k == "keys") {
      if (!it->is_number_unsigned() || it->get<uint64_t>() < 1 || it->get<uint64_t>() > 1000000)
        err(p, "expected an integer from 1 to 1000000");
    } else if (k == "start" || k == "stop") {
      if (!it->is_string() || !parse_duration(it->get<std::string>(), d)) err(p, "expected a duration such as \"1s\"");
    } else if (k == "put" || k == "cas") {
      if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1) err(p, "expected a share between 0 and 1");
    } else {
      err(p, "unknown key (expected rate_per_s, keys, start, stop, put, cas)");
    }
  }
  if (!kv.contains("rate_per_s")) err("$.workload.kv", "missing key \"rate_per_s\"");
  const double put = kv.value("put", 0.5), cas = kv.value("cas", 0.0);
  if (put + cas > 1.0 + 1e-9) err("$.workload.kv", "put + cas shares exceed 1 (the rest are gets)");
}

// ---------------------------------------------------------------- building

void RaftDriver::build(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  const RaftSettings settings = parse_settings(s, s.protocol_config, nullptr);
  servers_ = s.servers();
  const std::vector<core::NodeId> voters = settings.initial_voters.empty() ? servers_ : settings.initial_voters;
  nodes_.assign(s.nodes.size(), nullptr);
  view_.assign(s.nodes.size(), nullptr);
  for (core::NodeId i = 0; i < s.nodes.size(); ++i) {
    const bool bootstrap = std::find(voters.begin(), voters.end(), i) != voters.end();
    sim.add_node(s.nodes[i].name, s.nodes[i].dc, [this, settings, voters, bootstrap](core::NodeId id) {
      auto node = std::make_unique<core::raft::Node>(settings.config, std::make_unique<core::raft::KvStateMachine>());
      if (bootstrap) node->set_bootstrap(core::raft::Configuration::voters(voters));
      node->set_collect_completions(true);
      nodes_[id] = node.get();
      view_[id] = node.get();
      return node;
    });
  }
  open_interval("start");
  sim.add_observer(this);
}

void RaftDriver::start_workload(Simulation& sim, const Scenario& s) {
  workload_rng_ = core::Rng(core::derive_seed(sim.seed(), core::kStreamWorkload, 0));
  if (!s.workload.is_object() || !s.workload.contains("kv")) return;
  const json& kv = s.workload["kv"];
  workload_ = true;
  rate_per_s_ = kv["rate_per_s"].get<double>();
  keys_ = static_cast<uint32_t>(kv.value("keys", 16));
  put_share_ = kv.value("put", 0.5);
  cas_share_ = kv.value("cas", 0.0);
  if (kv.contains("start")) parse_duration(kv["start"].get<std::string>(), workload_start_);
  if (kv.contains("stop")) parse_duration(kv["stop"].get<std::string>(), workload_stop_);
  sim.schedule(workload_start_, [this] { schedule_next_op(); });
}

// Poisson arrivals: exponential gaps with mean 1/rate.
void RaftDriver::schedule_next_op() {
  const double gap_ns = workload_rng_.exponential(1e9 / rate_per_s_);
  const core::Time at = sim_->now() + 1 + static_cast<core::Time>(gap_ns);
  if (at >= workload_stop_) return;
  sim_->schedule(at, [this] {
    submit_one();
    schedule_next_op();
  });
}

void RaftDriver::submit_one() {
  // The client asks a random running server and follows its leader hint once
  // (as Consul's RPC layer forwards to the leader).
  std::vector<core::NodeId> up;
  for (core::NodeId id : servers_)
    if (nodes_[id] && !sim_->is_paused(id)) up.push_back(id);
  const uint64_t request = next_request_++;
  ++submitted_;
  if (up.empty()) {
    ++rejected_;
    return;
  }
  core::NodeId target = up[workload_rng_.below(up.size())];
  const core::NodeId hint = nodes_[target]->leader();
  if (hint != core::kNoNode && hint < nodes_.size() && nodes_[hint] && !sim_->is_paused(hint)) target = hint;
  const std::string key = "k" + std::to_string(workload_rng_.below(keys_));
  const double u = workload_rng_.unit();
  std::string cmd;
  if (u < put_share_) cmd = core::raft::KvStateMachine::put(key, "v" + std::to_string(request));
  else if (u < put_share_ + cas_share_)
    cmd = core::raft::KvStateMachine::cas(key, "v" + std::to_string(request - 1), "v" + std::to_string(request));
  else cmd = core::raft::KvStateMachine::get(key);
  const core::raft::Proposal p = nodes_[target]->propose(sim_->env(target), request, std::move(cmd));
  if (!p.ok()) {
    ++rejected_;
    return;
  }
  pending_[request] = {sim_->now(), target};
  drain(target);
}

void RaftDriver::drain(core::NodeId node) {
  if (!nodes_[node]) return;
  for (const core::raft::Completion& c : nodes_[node]->take_completions()) {
    auto it = pending_.find(c.request_id);
    if (it == pending_.end()) continue;
    if (c.error == core::raft::kOk) {
      ++acknowledged_;
      commit_latency_ns_.push_back(sim_->now() - it->second.submitted);
      max_acked_index_ = std::max(max_acked_index_, c.index);
    } else {
      ++failed_;
    }
    pending_.erase(it);
  }
}

// ---------------------------------------------------------------- observation

void RaftDriver::on_record(core::Time now, core::NodeId node, const core::Record& r) {
  checker_.on_record(now, node, r, sim_->trace_events());
  if (r.kind == core::raft::kRecordElection) election_terms_.emplace(r.a, false);
  if (r.kind == core::raft::kRecordRole && r.b == static_cast<uint64_t>(core::raft::Role::kLeader))
    election_terms_[r.a] = true;
}

void RaftDriver::after_event(core::Time now, core::NodeId node) {
  checker_.after_event(now, sim_->trace_events(), view_);
  if (node < nodes_.size()) drain(node);
  update_leadership("step_down");
}

void RaftDriver::on_lifecycle(core::Time /*now*/, core::NodeId node, Lifecycle what) {
  if (what == Lifecycle::kCrash) {
    nodes_[node] = nullptr;
    view_[node] = nullptr;
    for (auto it = pending_.begin(); it != pending_.end();)  // outcome unknown: the server is gone
      it = it->second.server == node ? pending_.erase(it) : std::next(it);
  }
  update_leadership(what == Lifecycle::kCrash ? "crash" : what == Lifecycle::kPause ? "paused" : "step_down");
}

bool RaftDriver::cut_off(core::NodeId leader) const {
  const core::raft::Node* l = nodes_[leader];
  if (!l || sim_->is_paused(leader)) return true;
  size_t reach = 0, voters = 0;
  for (core::NodeId v : l->latest_configuration().voter_ids()) {
    ++voters;
    if (v == leader || (nodes_[v] && !sim_->is_paused(v) && sim_->network().reachable(leader, v) &&
                        sim_->network().reachable(v, leader)))
      ++reach;
  }
  return reach < voters / 2 + 1;
}

void RaftDriver::world_changed(const char* cause) {
  // A leader that can no longer exchange messages with a quorum has been lost,
  // even if it and its followers do not know it yet.
  if (current_leader_ != core::kNoNode && !interval_open() && cut_off(current_leader_)) {
    const core::raft::Node* l = nodes_[current_leader_];
    open_interval(!l ? "crash" : sim_->is_paused(current_leader_) ? "paused" : cause);
  }
  update_leadership(cause);
}

bool RaftDriver::interval_open() const { return !intervals_.empty() && intervals_.back().end_ns < 0; }

void RaftDriver::open_interval(const char* cause) {
  LeaderlessInterval iv;
  iv.start_ns = sim_->now();
  iv.cause = cause;
  iv.old_term = current_term_;
  intervals_.push_back(iv);
  votes_at_open_ = sent_of_type(core::raft::kRequestVote);
  prevotes_at_open_ = sent_of_type(core::raft::kRequestPreVote);
}

core::NodeId RaftDriver::stable_leader() const {
  for (core::NodeId id : servers_) {
    const core::raft::Node* n = nodes_[id];
    if (!n || n->role() != core::raft::Role::kLeader || sim_->is_paused(id)) continue;
    const auto voters = n->latest_configuration().voter_ids();
    size_t know = 0;
    for (core::NodeId v : voters)
      if (nodes_[v] && nodes_[v]->leader() == id && nodes_[v]->term() == n->term()) ++know;
    if (know >= voters.size() / 2 + 1) return id;
  }
  return core::kNoNode;
}

void RaftDriver::update_leadership(const char* cause) {
  const core::NodeId s = stable_leader();
  if (!interval_open()) {
    if (s == current_leader_ && (s == core::kNoNode || nodes_[s]->term() == current_term_)) return;
    open_interval(cause);  // the stable leader is gone (or changed without a visible gap)
  }
  LeaderlessInterval& iv = intervals_.back();
  if (s == core::kNoNode) return;
  const uint64_t term = nodes_[s]->term();
  // The leader that was lost, back in the same term (a short isolation or
  // pause that nobody campaigned through): the interval closes once it can
  // again exchange messages with a quorum, not merely because its followers
  // never forgot it.
  if (term <= iv.old_term && s == current_leader_ && cut_off(s)) return;
  iv.end_ns = sim_->now();
  iv.new_term = term;
  for (auto it = election_terms_.upper_bound(iv.old_term); it != election_terms_.end() && it->first <= term; ++it) {
    ++iv.elections;
    if (!it->second) ++iv.split_votes;
  }
  iv.vote_requests = sent_of_type(core::raft::kRequestVote) - votes_at_open_;
  iv.prevote_requests = sent_of_type(core::raft::kRequestPreVote) - prevotes_at_open_;
  current_leader_ = s;
  current_term_ = term;
}

uint64_t RaftDriver::sent_of_type(uint16_t type) const {
  for (const TypeStats& t : sim_->message_types())
    if (t.type == type) return t.sent;
  return 0;
}

core::NodeId RaftDriver::leader() const {
  // The running leader of the highest term. A paused leader is frozen: it
  // cannot take a client request or a membership change, and a selector or
  // an action must not make it act.
  core::NodeId best = core::kNoNode;
  uint64_t best_term = 0;
  for (core::NodeId id : servers_) {
    const core::raft::Node* n = nodes_[id];
    if (n && !sim_->is_paused(id) && n->role() == core::raft::Role::kLeader && n->term() >= best_term) {
      best = id;
      best_term = n->term();
    }
  }
  return best;
}

void RaftDriver::action(const std::string& name, const std::vector<core::NodeId>& nodes) {
  const core::NodeId l = leader();
  if (l == core::kNoNode) return;
  for (core::NodeId id : nodes) {
    core::raft::Node* n = nodes_[l];
    if (!n) return;
    core::Env& env = sim_->env(l);
    const uint64_t request = next_request_++;
    if (name == "add_voter") n->add_voter(env, request, id, 0);
    else if (name == "add_nonvoter") n->add_nonvoter(env, request, id, 0);
    else if (name == "demote_voter") n->demote_voter(env, request, id, 0);
    else if (name == "remove_server") n->remove_server(env, request, id, 0);
    else if (name == "transfer_leadership") break;  // handled below
    drain(l);
  }
  if (name == "transfer_leadership") {
    // One target: hand leadership to it (nothing to do if it already leads).
    // Several (e.g. "followers"): to the most up-to-date voter, as hashicorp's
    // LeadershipTransfer() picks.
    if (nodes.size() == 1 && nodes[0] != l) nodes_[l]->transfer_leadership(sim_->env(l), nodes[0]);
    else if (nodes.size() > 1) nodes_[l]->transfer_leadership(sim_->env(l), core::kNoNode);
  }
  update_leadership("step_down");
}

// ---------------------------------------------------------------- results

bool RaftDriver::holds(const Expectation& e, std::string& detail) {
  if (e.property == "leader_known_to") {
    const core::NodeId l = leader();
    if (l == core::kNoNode) {
      detail = "no server is leader";
      return false;
    }
    const auto voters = nodes_[l]->latest_configuration().voter_ids();
    size_t know = 0, live = 0;
    std::string missing;
    for (core::NodeId id : servers_) {
      if (!nodes_[id] || sim_->is_paused(id)) continue;
      const bool in_config = nodes_[l]->latest_configuration().find(id) != nullptr;
      if (!in_config) continue;
      ++live;
      if (nodes_[id]->leader() == l) ++know;
      else missing += (missing.empty() ? "" : ", ") + sim_->node_name(id);
    }
    const bool ok = e.argument == "all" ? know == live : know >= voters.size() / 2 + 1;
    detail = "leader " + sim_->node_name(l) + " (term " + std::to_string(nodes_[l]->term()) + ") known to " +
             std::to_string(know) + " of " + std::to_string(live) + " running members" +
             (missing.empty() ? "" : "; not to " + missing);
    return ok;
  }
  if (e.property == "applied_everywhere") {
    for (core::NodeId id : servers_) {
      if (!nodes_[id] || sim_->is_paused(id)) continue;
      const core::NodeId l = leader();
      if (l != core::kNoNode && nodes_[l]->latest_configuration().find(id) == nullptr) continue;
      if (nodes_[id]->last_applied() < max_acked_index_) {
        detail = sim_->node_name(id) + " applied up to " + std::to_string(nodes_[id]->last_applied()) +
                 " but commands up to index " + std::to_string(max_acked_index_) + " were acknowledged";
        return false;
      }
    }
    detail = std::to_string(acknowledged_) + " acknowledged commands applied on every running member";
    return true;
  }
  detail = "unknown property";
  return false;
}

std::optional<Violation> RaftDriver::violation(const std::string& property) const {
  if (property == "message_conservation") return conservation_violation(*sim_);
  if (property == "raft_safety" && checker_.violation()) {
    const RaftViolation& rv = *checker_.violation();
    Violation v;
    v.time = rv.time_ns;
    v.trace_position = rv.event_seq;
    v.property = rv.property;
    std::string nodes;
    for (core::NodeId n : rv.nodes) nodes += (nodes.empty() ? "" : ", ") + sim_->node_name(n);
    v.description = rv.property + ": " + rv.description + " (nodes " + nodes + ", term " + std::to_string(rv.term) +
                    ", index " + std::to_string(rv.index) + ")";
    return v;
  }
  return std::nullopt;
}

namespace {
json distribution_summary(std::vector<int64_t> v) {
  json j = {{"count", v.size()}};
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(std::floor(p * static_cast<double>(v.size()))))]; };
  j["min_ns"] = v.front();
  j["p50_ns"] = q(0.50);
  j["p90_ns"] = q(0.90);
  j["p99_ns"] = q(0.99);
  j["max_ns"] = v.back();
  return j;
}
}  // namespace

json RaftDriver::metrics() const {
  json ivs = json::array();
  std::vector<int64_t> downtimes;
  for (const LeaderlessInterval& iv : intervals_) {
    json j = {{"start_ns", iv.start_ns},
              {"cause", iv.cause},
              {"old_term", iv.old_term},
              {"elections", iv.elections},
              {"split_votes", iv.split_votes},
              {"vote_requests", iv.vote_requests},
              {"prevote_requests", iv.prevote_requests}};
    if (iv.end_ns >= 0) {
      j["end_ns"] = iv.end_ns;
      j["downtime_ns"] = iv.downtime_ns();
      j["new_term"] = iv.new_term;
      j["terms_used"] = iv.new_term - iv.old_term;
      if (iv.cause != "start") downtimes.push_back(iv.downtime_ns());
    } else {
      j["end_ns"] = nullptr;
      j["downtime_ns"] = nullptr;
    }
    ivs.push_back(j);
  }
  json servers = json::array();
  for (core::NodeId id : servers_) {
    json s = {{"name", sim_->node_name(id)}, {"up", nodes_[id] != nullptr}};
    if (const core::raft::Node* n = nodes_[id]) {
      s["role"] = core::raft::role_name(n->role());
      s["term"] = n->term();
      s["commit_index"] = n->commit_index();
      s["last_applied"] = n->last_applied();
      s["snapshot_index"] = n->snapshot_index();
    }
    servers.push_back(s);
  }
  return {{"raft",
           {{"leaderless_intervals", ivs},
            {"downtime", distribution_summary(downtimes)},
            {"commit_latency", distribution_summary(commit_latency_ns_)},
            {"client",
             {{"submitted", submitted_},
              {"acknowledged", acknowledged_},
              {"rejected", rejected_},
              {"failed", failed_},
              {"unknown", submitted_ - acknowledged_ - rejected_ - failed_}}},
            {"checker", checker_.summary()},
            {"servers", servers}}}};
}

}  // namespace sim

// The Raft layer: settings, nodes, leadership tracking, actions, properties
// and metrics of core::raft::Node in a run.
#include "sim/layers/raft.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <stdexcept>

#include "core/check.hpp"
#include "core/raft/state_machine.hpp"
#include "sim/engine/stats.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

// ---------------------------------------------------------------- settings

json RaftSettings::to_json() const {
  const core::raft::Config& c = config;
  json j = {{"raft_multiplier", multiplier},
            {"heartbeat_timeout", write_duration(c.heartbeat_timeout)},
            {"election_timeout", write_duration(c.election_timeout)},
            {"leader_lease_timeout", write_duration(c.leader_lease_timeout)},
            {"commit_timeout", write_duration(c.commit_timeout)},
            {"max_append_entries", c.max_append_entries},
            {"trailing_logs", c.trailing_logs},
            {"snapshot_interval", write_duration(c.snapshot_interval)},
            {"snapshot_threshold", c.snapshot_threshold},
            {"pre_vote", c.pre_vote},
            {"check_quorum", c.check_quorum},
            {"leader_stickiness", c.leader_stickiness},
            {"timer_mode", c.timer_mode == core::raft::TimerMode::kPaper ? "paper" : "hashicorp"},
            {"rpc_timeout", write_duration(c.rpc_timeout)},
            {"max_inflight", c.max_inflight}};
  if (c.election_timeout_max > 0) j["election_timeout_max"] = write_duration(c.election_timeout_max);
  if (c.unsafe_skip_vote_log_check) j["unsafe_skip_vote_log_check"] = true;
  if (!initial_voter_names.empty()) j["initial_voters"] = initial_voter_names;
  return j;
}

bool RaftSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const RaftSettings*>(&other);
  return o && o->multiplier == multiplier && o->config == config && o->initial_voters == initial_voters;
}

namespace {

bool read_known_to(const Reader& r, std::string& argument) {
  return r.choice(argument, {"all", "majority"});
}

class RaftDef final : public LayerDef {
 public:
  std::string name() const override { return "raft"; }
  bool has_leader() const override { return true; }
  std::vector<std::string> actions() const override {
    return {"add_voter", "add_nonvoter", "demote_voter", "remove_server", "transfer_leadership"};
  }
  std::vector<PropertyDef> properties() const override {
    return {{"raft_safety", true, "election safety, log matching, leader completeness, state machine safety", nullptr},
            {"leader_known_to", false, "\"all\" (every running member) or \"majority\" know the leader", &read_known_to},
            {"applied_everywhere", false, "every running member applied every acknowledged command", &read_true_argument}};
  }

  // Explicit timeouts are final values; raft_multiplier (Consul's
  // performance.raft_multiplier, default 5) scales only the defaults of the
  // heartbeat, election and leader-lease timeouts, as Consul does.
  std::shared_ptr<const Settings> read(const Reader& r, const Reader& cluster, const Scenario& s) const override {
    auto out = std::make_shared<RaftSettings>();
    // In the raft stack this layer makes the nodes: servers only. (Consul
    // agents, clients included, run in the consul stack.)
    const bool own_nodes = s.stack == "raft";
    if (own_nodes && !s.clients().empty())
      cluster["clients"].error("protocol raft runs servers only; use 0 (client agents run in protocol consul)");
    if (s.servers().empty()) cluster.error("a raft cluster needs at least one server");
    if (r.is_null()) return out;
    static const std::vector<std::string> keys = {
        "raft_multiplier", "heartbeat_timeout", "election_timeout", "leader_lease_timeout", "commit_timeout",
        "max_append_entries", "trailing_logs", "snapshot_interval", "snapshot_threshold", "pre_vote",
        "check_quorum", "leader_stickiness", "timer_mode", "election_timeout_max", "rpc_timeout", "max_inflight",
        "initial_voters", "unsafe_skip_vote_log_check"};
    if (!r.object(keys)) return out;
    int64_t multiplier = 5;
    if (r.has("raft_multiplier")) r["raft_multiplier"].integer(multiplier, 1, 10);
    out->multiplier = static_cast<int>(multiplier);
    out->config = core::raft::Config::consul(out->multiplier);
    core::raft::Config& c = out->config;
    const auto duration = [&](const char* key, core::Duration& field) {
      if (r.has(key)) r[key].duration(field, Reader::Sign::kPositive);
    };
    duration("heartbeat_timeout", c.heartbeat_timeout);
    duration("election_timeout", c.election_timeout);
    duration("leader_lease_timeout", c.leader_lease_timeout);
    duration("commit_timeout", c.commit_timeout);
    duration("snapshot_interval", c.snapshot_interval);
    duration("election_timeout_max", c.election_timeout_max);
    duration("rpc_timeout", c.rpc_timeout);
    uint64_t v = 0;
    if (r.has("max_append_entries") && r["max_append_entries"].count(v, 1, 1024)) c.max_append_entries = static_cast<uint32_t>(v);
    if (r.has("trailing_logs") && r["trailing_logs"].count(v, 0, 1u << 30)) c.trailing_logs = v;
    if (r.has("snapshot_threshold") && r["snapshot_threshold"].count(v, 1, 1u << 30)) c.snapshot_threshold = v;
    if (r.has("max_inflight") && r["max_inflight"].count(v, 1, 1024)) c.max_inflight = static_cast<uint32_t>(v);
    if (r.has("pre_vote")) r["pre_vote"].boolean(c.pre_vote);
    if (r.has("check_quorum")) r["check_quorum"].boolean(c.check_quorum);
    if (r.has("leader_stickiness")) r["leader_stickiness"].boolean(c.leader_stickiness);
    if (r.has("unsafe_skip_vote_log_check")) r["unsafe_skip_vote_log_check"].boolean(c.unsafe_skip_vote_log_check);
    std::string mode;
    if (r.has("timer_mode") && r["timer_mode"].choice(mode, {"hashicorp", "paper"}))
      c.timer_mode = mode == "paper" ? core::raft::TimerMode::kPaper : core::raft::TimerMode::kHashicorp;
    if (r.has("initial_voters") && !own_nodes)
      r["initial_voters"].error("only protocol raft takes initial voters (Consul servers bootstrap with "
                                "$.consul.bootstrap_expect)");
    if (r.has("initial_voters") && own_nodes) {
      std::vector<std::string> server_names;
      std::vector<core::NodeId> ids = s.servers();
      for (core::NodeId id : ids) server_names.push_back(s.nodes[id].name);
      std::vector<uint32_t> picked;
      if (r["initial_voters"].name_list(picked, server_names, "server")) {
        for (uint32_t i : picked) {
          out->initial_voters.push_back(ids[i]);
          out->initial_voter_names.push_back(server_names[i]);
        }
        std::sort(out->initial_voters.begin(), out->initial_voters.end());
      }
    }
    const std::string problem = c.validate();
    if (!problem.empty()) r.error(problem);
    return out;
  }

  std::unique_ptr<Layer> make(const Scenario& s) const override {
    return std::make_unique<RaftLayer>(s.layer_settings<RaftSettings>("raft"));
  }
};

}  // namespace

const LayerDef& raft_layer_def() {
  static const RaftDef def;
  return def;
}

// ---------------------------------------------------------------- building

void RaftLayer::attach(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  nodes_.assign(s.nodes.size(), nullptr);
  clusters_.assign(1, Cluster{});
  Cluster& c = clusters_.front();
  c.servers = s.servers();
  c.voters = settings_.initial_voters.empty() ? c.servers : settings_.initial_voters;
  c.view.assign(s.nodes.size(), nullptr);
  cluster_of_.assign(s.nodes.size(), UINT32_MAX);
  for (core::NodeId id : c.servers) cluster_of_[id] = 0;
  open_interval(c, "start");
}

void RaftLayer::set_external(core::Port port, std::vector<uint32_t> cluster_of, const std::vector<std::string>& names) {
  port_ = port;
  external_ = true;
  cluster_of_ = std::move(cluster_of);
  clusters_.assign(names.size(), Cluster{});
  for (size_t i = 0; i < names.size(); ++i) {
    clusters_[i].name = names[i];
    clusters_[i].view.assign(nodes_.size(), nullptr);
  }
  for (core::NodeId id = 0; id < cluster_of_.size(); ++id)
    if (cluster_of_[id] != UINT32_MAX) clusters_[cluster_of_[id]].servers.push_back(id);
  for (Cluster& c : clusters_) {
    c.voters = c.servers;
    open_interval(c, "start");
  }
}

void RaftLayer::adopt(core::NodeId id, core::raft::Node* node) {
  nodes_[id] = node;
  if (cluster_of_[id] != UINT32_MAX) clusters_[cluster_of_[id]].view[id] = node;
}

void RaftLayer::retire(core::NodeId id) {
  if (cluster_of_[id] == UINT32_MAX || !nodes_[id]) return;
  Cluster& c = clusters_[cluster_of_[id]];
  nodes_[id] = nullptr;
  c.view[id] = nullptr;
  c.checker.node_down(id);
  update_leadership("step_down");
}

void RaftLayer::note_acknowledged(uint32_t cluster, uint64_t index) {
  if (cluster < clusters_.size()) clusters_[cluster].max_acked_index = std::max(clusters_[cluster].max_acked_index, index);
}

std::unique_ptr<core::Node> RaftLayer::make_node(core::NodeId id) {
  const Cluster& c = clusters_.front();
  if (std::find(c.servers.begin(), c.servers.end(), id) == c.servers.end()) return nullptr;
  auto node = std::make_unique<core::raft::Node>(settings_.config, std::make_unique<core::raft::KvStateMachine>());
  if (std::find(c.voters.begin(), c.voters.end(), id) != c.voters.end())
    node->set_bootstrap(core::raft::Configuration::voters(c.voters));
  node->set_collect_completions(true);
  adopt(id, node.get());
  return node;
}

// ---------------------------------------------------------------- the KV target

bool RaftLayer::kv_running(core::NodeId server) const {
  return server < nodes_.size() && nodes_[server] != nullptr && !sim_->is_paused(server);
}

core::NodeId RaftLayer::kv_leader_hint(core::NodeId server) const { return nodes_[server]->leader(); }

bool RaftLayer::kv_submit(core::NodeId server, uint64_t request, const KvOp& op) {
  std::string cmd;
  switch (op.kind) {
    case KvOp::Kind::kPut: cmd = core::raft::KvStateMachine::put(op.key, op.value); break;
    case KvOp::Kind::kCas: cmd = core::raft::KvStateMachine::cas(op.key, op.expected, op.value); break;
    case KvOp::Kind::kGet: cmd = core::raft::KvStateMachine::get(op.key); break;  // every read goes through the log
    case KvOp::Kind::kDelete: cmd = core::raft::KvStateMachine::del(op.key); break;
  }
  const core::raft::Proposal p = nodes_[server]->propose(sim_->env(server, port_), request, std::move(cmd));
  if (!p.ok()) return false;
  kv_requests_.emplace(request, KvRequest{op.kind, server});
  drain(server);
  return true;
}

namespace {

// The KV state machine's answer (core/raft/state_machine.hpp) as the
// workload's outcome. An answer the state machine cannot give is a bug.
KvResult kv_result(KvOp::Kind kind, const core::raft::Completion& c) {
  KvResult r;
  if (c.error == core::raft::kLeadershipLost) {
    // The entry may still commit under a later leader (hashicorp's ErrLeadershipLost).
    r.outcome = KvResult::Outcome::kUnknown;
    r.error = "leadership lost";
    return r;
  }
  CORE_CHECK(c.error == core::raft::kOk, "unknown client error " + std::to_string(c.error));
  r.index = c.index;
  const std::string& a = c.result;
  const auto bad = [&] { return "unexpected answer \"" + a + "\" to a " + kv_op_name(kind); };
  switch (kind) {
    case KvOp::Kind::kPut: CORE_CHECK(a == "ok", bad()); break;
    case KvOp::Kind::kGet:
      CORE_CHECK(a == "notfound" || a.rfind("ok ", 0) == 0, bad());
      r.found = a != "notfound";
      if (r.found) r.value = a.substr(3);
      break;
    case KvOp::Kind::kCas:
      CORE_CHECK(a == "ok" || a == "notfound" || a.rfind("fail ", 0) == 0, bad());
      r.found = a != "notfound";
      if (a != "ok") r.outcome = KvResult::Outcome::kFail;  // compared and changed nothing
      if (a.rfind("fail ", 0) == 0) r.value = a.substr(5);
      break;
    case KvOp::Kind::kDelete:
      // Deleting an absent key answers "notfound" and changes nothing: it
      // happened, as in Consul (a delete of an absent key succeeds).
      CORE_CHECK(a == "ok" || a == "notfound", bad());
      r.found = a == "ok";
      break;
  }
  return r;
}

}  // namespace

void RaftLayer::drain(core::NodeId node) {
  if (external_ || !nodes_[node]) return;  // the node's own maker takes its completions
  for (const core::raft::Completion& c : nodes_[node]->take_completions()) {
    auto it = kv_requests_.find(c.request_id);
    if (it == kv_requests_.end()) continue;  // a membership change
    const KvOp::Kind kind = it->second.kind;
    kv_requests_.erase(it);
    if (kv_ && kv_->done(c.request_id, kv_result(kind, c)) && c.error == core::raft::kOk)
      note_acknowledged(cluster_of_[node], c.index);
  }
}

// ---------------------------------------------------------------- observation

void RaftLayer::on_record(core::Time now, core::NodeId node, const core::Record& r) {
  Cluster& c = clusters_[cluster_of_[node]];
  c.checker.on_record(now, node, r, sim_->trace_events());
  if (r.kind == core::raft::kRecordElection) c.election_terms.emplace(r.a, false);
  if (r.kind == core::raft::kRecordRole && r.b == static_cast<uint64_t>(core::raft::Role::kLeader))
    c.election_terms[r.a] = true;
}

void RaftLayer::after_records(core::Time now, const std::vector<core::NodeId>& nodes) {
  if (clusters_.size() == 1) {
    clusters_.front().checker.after_records(now, sim_->trace_events(), clusters_.front().view, nodes);
  } else {
    std::vector<core::NodeId> mine;
    for (size_t i = 0; i < clusters_.size(); ++i) {
      mine.clear();
      for (core::NodeId n : nodes)
        if (cluster_of_[n] == i) mine.push_back(n);
      if (!mine.empty()) clusters_[i].checker.after_records(now, sim_->trace_events(), clusters_[i].view, mine);
    }
  }
  for (core::NodeId n : nodes) drain(n);
  update_leadership("step_down");
}

void RaftLayer::on_lifecycle(core::Time /*now*/, core::NodeId node, Lifecycle what) {
  if (what == Lifecycle::kCrash && cluster_of_[node] != UINT32_MAX) {
    Cluster& c = clusters_[cluster_of_[node]];
    nodes_[node] = nullptr;
    c.view[node] = nullptr;
    c.checker.node_down(node);
    for (auto it = kv_requests_.begin(); it != kv_requests_.end();)  // their completions are lost with the node
      it = it->second.server == node ? kv_requests_.erase(it) : std::next(it);
    if (kv_) kv_->server_lost(node);
  }
  update_leadership(what == Lifecycle::kCrash ? "crash" : what == Lifecycle::kPause ? "paused" : "step_down");
}

bool RaftLayer::cut_off(core::NodeId leader) const {
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

void RaftLayer::world_changed(const char* cause) {
  for (Cluster& c : clusters_) {
    // A leader that can no longer exchange messages with a quorum has been
    // lost, even if it and its followers do not know it yet.
    if (c.current_leader != core::kNoNode && !interval_open(c) && cut_off(c.current_leader)) {
      const core::raft::Node* l = nodes_[c.current_leader];
      open_interval(c, !l ? "crash" : sim_->is_paused(c.current_leader) ? "paused" : cause);
    }
    update_leadership(c, cause);
  }
}

bool RaftLayer::interval_open(const Cluster& c) { return !c.intervals.empty() && c.intervals.back().end_ns < 0; }

void RaftLayer::open_interval(Cluster& c, const char* cause) {
  LeaderlessInterval iv;
  iv.start_ns = sim_->now();
  iv.cause = cause;
  iv.old_term = c.current_term;
  c.intervals.push_back(iv);
  c.votes_at_open = sent_of_type(core::raft::kRequestVote);
  c.prevotes_at_open = sent_of_type(core::raft::kRequestPreVote);
}

core::NodeId RaftLayer::stable_leader(const Cluster& c) const {
  for (core::NodeId id : c.servers) {
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

void RaftLayer::update_leadership(const char* cause) {
  for (Cluster& c : clusters_) update_leadership(c, cause);
}

void RaftLayer::update_leadership(Cluster& c, const char* cause) {
  const core::NodeId s = stable_leader(c);
  if (!interval_open(c)) {
    if (s == c.current_leader && (s == core::kNoNode || nodes_[s]->term() == c.current_term)) return;
    open_interval(c, cause);  // the stable leader is gone (or changed without a visible gap)
  }
  LeaderlessInterval& iv = c.intervals.back();
  if (s == core::kNoNode) return;
  const uint64_t term = nodes_[s]->term();
  // The leader that was lost, back in the same term (a short isolation or
  // pause that nobody campaigned through): the interval closes once it can
  // again exchange messages with a quorum, not merely because its followers
  // never forgot it.
  if (term <= iv.old_term && s == c.current_leader && cut_off(s)) return;
  iv.end_ns = sim_->now();
  iv.new_term = term;
  for (auto it = c.election_terms.upper_bound(iv.old_term); it != c.election_terms.end() && it->first <= term; ++it) {
    ++iv.elections;
    if (!it->second) ++iv.split_votes;
  }
  iv.vote_requests = sent_of_type(core::raft::kRequestVote) - c.votes_at_open;
  iv.prevote_requests = sent_of_type(core::raft::kRequestPreVote) - c.prevotes_at_open;
  c.current_leader = s;
  c.current_term = term;
}

uint64_t RaftLayer::sent_of_type(uint16_t type) const {
  for (const TypeStats& t : sim_->message_types())
    if (t.type == type) return t.sent;
  return 0;
}

core::NodeId RaftLayer::running_leader(const Cluster& c) const {
  // The running leader of the highest term. A paused leader is frozen: it
  // cannot take a client request or a membership change, and a selector or
  // an action must not make it act.
  core::NodeId best = core::kNoNode;
  uint64_t best_term = 0;
  for (core::NodeId id : c.servers) {
    const core::raft::Node* n = nodes_[id];
    if (n && !sim_->is_paused(id) && n->role() == core::raft::Role::kLeader && n->term() >= best_term) {
      best = id;
      best_term = n->term();
    }
  }
  return best;
}

std::optional<core::NodeId> RaftLayer::leader() const {
  const core::NodeId l = running_leader(clusters_.front());
  if (l == core::kNoNode) return std::nullopt;
  return l;
}

std::string RaftLayer::action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* /*args*/) {
  const core::NodeId l = running_leader(clusters_.front());
  if (l == core::kNoNode) return "no running leader: nothing done";
  core::raft::Node* n = nodes_[l];
  core::Env& env = sim_->env(l, port_);
  std::string outcome;
  if (name == "transfer_leadership") {
    // Every action with targets takes a request id, a transfer too (ids
    // appear in client_done records, so their numbering is part of a run).
    if (!nodes.empty()) ++next_request_;
    // One target: hand leadership to it (nothing to do if it already leads).
    // Several (e.g. "followers"): to the most up-to-date voter, as hashicorp's
    // LeadershipTransfer() picks.
    if (nodes.size() == 1 && nodes[0] != l) outcome = n->transfer_leadership(env, nodes[0]);
    else if (nodes.size() > 1) outcome = n->transfer_leadership(env, core::kNoNode);
  } else {
    for (core::NodeId id : nodes) {
      const uint64_t request = next_request_++;
      core::raft::Proposal p;
      if (name == "add_voter") p = n->add_voter(env, request, id, 0);
      else if (name == "add_nonvoter") p = n->add_nonvoter(env, request, id, 0);
      else if (name == "demote_voter") p = n->demote_voter(env, request, id, 0);
      else if (name == "remove_server") p = n->remove_server(env, request, id, 0);
      if (!p.ok()) outcome += (outcome.empty() ? "" : "; ") + sim_->node_name(id) + ": " + p.error;
      drain(l);
    }
  }
  update_leadership("step_down");
  return outcome.empty() ? "by leader " + sim_->node_name(l) : "by leader " + sim_->node_name(l) + ": " + outcome;
}

// ---------------------------------------------------------------- results

bool RaftLayer::holds(const Expectation& e, std::string& detail) {
  if (clusters_.size() == 1) return holds_in(clusters_.front(), e, detail);
  std::string all;
  for (const Cluster& c : clusters_) {
    std::string d;
    const bool ok = holds_in(c, e, d);
    all += (all.empty() ? "" : "; ") + c.name + ": " + d;
    if (!ok) {
      detail = c.name + ": " + d;
      return false;
    }
  }
  detail = all;
  return true;
}

bool RaftLayer::holds_in(const Cluster& c, const Expectation& e, std::string& detail) const {
  if (e.property == "leader_known_to") {
    const core::NodeId l = running_leader(c);
    if (l == core::kNoNode) {
      detail = "no server is leader";
      return false;
    }
    const auto voters = nodes_[l]->latest_configuration().voter_ids();
    size_t know = 0, live = 0;
    std::string missing;
    for (core::NodeId id : c.servers) {
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
    for (core::NodeId id : c.servers) {
      if (!nodes_[id] || sim_->is_paused(id)) continue;
      const core::NodeId l = running_leader(c);
      if (l != core::kNoNode && nodes_[l]->latest_configuration().find(id) == nullptr) continue;
      if (nodes_[id]->last_applied() < c.max_acked_index) {
        detail = sim_->node_name(id) + " applied up to " + std::to_string(nodes_[id]->last_applied()) +
                 " but commands up to index " + std::to_string(c.max_acked_index) + " were acknowledged";
        return false;
      }
    }
    detail = external_ ? "every acknowledged write up to index " + std::to_string(c.max_acked_index) +
                             " applied on every running member"
                       : std::to_string(kv_ ? kv_->acknowledged() : 0) +
                             " acknowledged commands applied on every running member";
    return true;
  }
  detail = "unknown property";
  return false;
}

std::optional<Violation> RaftLayer::violation(const std::string& property) const {
  if (property != "raft_safety") return std::nullopt;
  for (const Cluster& c : clusters_) {
    if (!c.checker.violation()) continue;
    const RaftViolation& rv = *c.checker.violation();
    Violation v;
    v.time = rv.time_ns;
    v.trace_position = rv.event_seq;
    v.property = rv.property;
    std::string nodes;
    for (core::NodeId n : rv.nodes) nodes += (nodes.empty() ? "" : ", ") + sim_->node_name(n);
    v.description = (c.name.empty() ? "" : c.name + ": ") + rv.property + ": " + rv.description + " (nodes " + nodes +
                    ", term " + std::to_string(rv.term) + ", index " + std::to_string(rv.index) + ")";
    return v;
  }
  return std::nullopt;
}

json RaftLayer::cluster_metrics(const Cluster& c) const {
  json ivs = json::array();
  std::vector<int64_t> downtimes;
  for (const LeaderlessInterval& iv : c.intervals) {
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
  for (core::NodeId id : c.servers) {
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
  return {{"leaderless_intervals", ivs},
          {"downtime", quantiles_ns(downtimes)},
          {"checker", c.checker.summary()},
          {"servers", servers}};
}

void RaftLayer::describe_node(core::NodeId id, json& out) const {
  const core::raft::Node* n = id < nodes_.size() ? nodes_[id] : nullptr;
  if (!n) return;
  const core::raft::Configuration& conf = n->latest_configuration();
  const core::raft::Server* me = conf.find(id);
  out["raft"] = {{"role", core::raft::role_name(n->role())},
                 {"term", n->term()},
                 {"leader", n->leader() == core::kNoNode ? json(nullptr) : json(sim_->node_name(n->leader()))},
                 {"commit_index", n->commit_index()},
                 {"last_applied", n->last_applied()},
                 {"last_log_index", n->last_log_index()},
                 {"snapshot_index", n->snapshot_index()},
                 {"suffrage", !me ? "none" : me->suffrage == core::raft::Suffrage::kVoter ? "voter" : "nonvoter"}};
}

std::vector<Layer::QueryDef> RaftLayer::queries() const {
  return {{"raft_configuration", "a server's latest Raft configuration: {name: \"voter\" | \"nonvoter\"}", {"node"}},
          {"raft_log", "a server's log entries in [first, last]: index, term, type", {"node", "first", "last"}}};
}

json RaftLayer::query(const std::string& name, const json& args) const {
  const auto node = [&]() -> const core::raft::Node& {
    const core::NodeId id = query_node(*sim_, name, args);
    if (id >= nodes_.size() || !nodes_[id])
      throw std::invalid_argument("node '" + sim_->node_name(id) + "' runs no Raft now (down, or not a server)");
    return *nodes_[id];
  };
  const core::raft::Node& n = node();
  if (name == "raft_configuration") {
    json out = json::object();
    for (const core::raft::Server& s : n.latest_configuration().servers)
      out[sim_->node_name(s.id)] = s.suffrage == core::raft::Suffrage::kVoter ? "voter" : "nonvoter";
    return out;
  }
  const auto bound = [&](const char* key, uint64_t dflt) -> uint64_t {
    if (!args.contains(key)) return dflt;
    const json& v = args[key];
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
      throw std::invalid_argument(name + "(): " + key + " must be a non-negative integer");
    return v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  };
  const uint64_t first = std::max(bound("first", n.first_log_index()), n.first_log_index());
  const uint64_t last = std::min(bound("last", n.last_log_index()), n.last_log_index());
  json out = json::array();
  static const char* const kTypes[] = {"command", "noop", "configuration", "barrier"};
  for (uint64_t i = first; i <= last && i != 0; ++i) {
    const auto e = n.entry_info(i);
    if (!e) continue;
    const auto t = static_cast<size_t>(e->type);
    out.push_back({{"index", e->index}, {"term", e->term}, {"type", t < 4 ? kTypes[t] : "unknown"}});
  }
  return out;
}

json RaftLayer::metrics() const {
  // The first cluster at the top; with several datacenters, each by name too.
  json m = cluster_metrics(clusters_.front());
  if (clusters_.size() > 1) {
    json dcs = json::object();
    for (const Cluster& c : clusters_) dcs[c.name] = cluster_metrics(c);
    m["datacenters"] = dcs;
  }
  return m;
}

void RaftLayer::print_metrics(const json& m, std::ostream& out) const {
  out << "raft       checker " << m["checker"].get<std::string>() << "\n";
  const json& ivs = m["leaderless_intervals"];
  out << "           " << ivs.size() << " leaderless interval" << (ivs.size() == 1 ? "" : "s")
      << "; downtime (after the first leader) " << describe_quantiles(m["downtime"]) << "\n";
  if (!ivs.empty()) {
    out << "           start        end          downtime     cause      terms  elections  split\n";
    size_t shown = 0;
    for (const json& iv : ivs) {
      if (++shown > 12) {
        out << "           ... " << ivs.size() - 12 << " more in --json\n";
        break;
      }
      char line[160];
      const std::string end = iv["end_ns"].is_null() ? "open" : format_duration(iv["end_ns"].get<int64_t>());
      const std::string down = iv["downtime_ns"].is_null() ? "-" : format_duration(iv["downtime_ns"].get<int64_t>());
      const std::string terms = iv.contains("terms_used") ? std::to_string(iv["terms_used"].get<uint64_t>()) : "-";
      std::snprintf(line, sizeof line, "           %-12s %-12s %-12s %-10s %-6s %-10llu %llu\n",
                    format_duration(iv["start_ns"].get<int64_t>()).c_str(), end.c_str(), down.c_str(),
                    iv["cause"].get<std::string>().c_str(), terms.c_str(),
                    static_cast<unsigned long long>(iv["elections"].get<uint64_t>()),
                    static_cast<unsigned long long>(iv["split_votes"].get<uint64_t>()));
      out << line;
    }
  }
  out << "           servers:";
  for (const json& s : m["servers"]) {
    out << " " << s["name"].get<std::string>() << "=";
    if (!s["up"].get<bool>()) out << "down";
    else out << s["role"].get<std::string>() << "/t" << s["term"] << "/c" << s["commit_index"];
  }
  out << "\n";
}


}  // namespace sim

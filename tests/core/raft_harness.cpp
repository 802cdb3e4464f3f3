#include "tests/core/raft_harness.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <stdexcept>
#include <tuple>

namespace raft_test {

using core::raft::Role;

core::raft::Config test_config() {
  core::raft::Config c;
  c.heartbeat_timeout = 100 * core::kMillisecond;
  c.election_timeout = 100 * core::kMillisecond;
  c.leader_lease_timeout = 50 * core::kMillisecond;
  c.commit_timeout = 10 * core::kMillisecond;
  c.rpc_timeout = 100 * core::kMillisecond;
  return c;
}

std::string fmt_time(Time t) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lldms", static_cast<long long>(t / core::kMillisecond),
                static_cast<long long>((t % core::kMillisecond) / core::kMicrosecond));
  return buf;
}

namespace {

std::string id_str(uint64_t id) { return id == core::kNoNode ? "none" : std::to_string(id); }

std::string record_str(NodeId node, const core::Record& r) {
  const core::RecordInfo info = core::record_info(r.kind);
  std::string out = "n" + std::to_string(node) + " " + info.name;
  const uint64_t vals[3] = {r.a, r.b, r.c};
  for (int i = 0; i < 3; ++i) {
    if (info.fields[i] == nullptr) continue;
    const std::string field = info.fields[i];
    std::string v = std::to_string(vals[i]);
    if (r.kind == core::raft::kRecordRole && i == 1) v = core::raft::role_name(static_cast<Role>(vals[i]));
    if (field == "leader" || field == "candidate" || field == "target") v = id_str(vals[i]);
    if ((field == "data_hash") || (r.kind == core::raft::kRecordConfig && i > 0)) {
      char buf[24];
      std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(vals[i]));
      v = buf;
      if (field == "data_hash") v = v.substr(0, 6);  // enough to tell entries apart
    }
    out += " " + field + "=" + v;
  }
  return out;
}

}  // namespace

struct Cluster::Slot {
  std::unique_ptr<core::raft::Node> node;
  std::unique_ptr<Cluster::Env> env;
  core::Storage storage;
  core::Rng rng;
  bool up = false;
  std::map<core::TimerId, std::pair<Time, uint64_t>> timers;
  uint64_t sync_target = 0;
};

class Cluster::Env : public core::Env {
 public:
  Env(Cluster& c, NodeId id) : c_(c), id_(id) {}
  NodeId self() const override { return id_; }
  Time now() const override { return c_.now_; }
  void send(core::Message&& msg) override {
    msg.from = id_;
    Slot& s = slot();
    uint64_t barrier = s.sync_target > s.storage.durable_seq() ? s.sync_target : 0;
    c_.queue_.push_back(Queued{std::move(msg), barrier, c_.now_});
  }
  core::TimerId set_timer(core::Duration delay, uint64_t what) override {
    const core::TimerId id = ++next_timer_;
    slot().timers[id] = {c_.now_ + delay, what};
    return id;
  }
  void cancel_timer(core::TimerId id) override { slot().timers.erase(id); }
  core::Rng& rng() override { return slot().rng; }
  core::Storage& storage() override { return slot().storage; }
  void sync() override {
    Slot& s = slot();
    s.sync_target = s.storage.last_write_seq();
    if (!c_.opts_.manual_sync) s.storage.mark_durable(s.sync_target);
  }
  void record(const core::Record& r) override {
    c_.print("  " + record_str(id_, r));
    c_.checker_.on_record(c_.now_, id_, r, c_.event_seq_);
  }
  // One component per node here: Raft on the host port.
  core::Port port() const override { return core::Port::kHost; }
  core::Env& on_port(core::Port p) override {
    if (p != core::Port::kHost) throw std::logic_error("the Raft test cluster has no other ports");
    return *this;
  }

 private:
  Slot& slot() { return *c_.slots_[id_]; }
  Cluster& c_;
  NodeId id_;
  core::TimerId next_timer_ = 0;
};

Cluster::Cluster(ClusterOptions opts) : opts_(std::move(opts)) {
  if (opts_.voters.empty()) {
    for (NodeId i = 0; i < opts_.nodes; ++i) opts_.voters.push_back(i);
  }
  isolated_.assign(opts_.nodes, false);
  for (NodeId i = 0; i < opts_.nodes; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->rng = core::Rng(core::derive_seed(opts_.seed, core::kStreamNode, i));
    slots_.back()->env = std::make_unique<Env>(*this, i);
  }
  for (NodeId i = 0; i < opts_.nodes; ++i) {
    make_node(i);
    if (opts_.bootstrap && std::find(opts_.voters.begin(), opts_.voters.end(), i) != opts_.voters.end()) {
      slots_[i]->node->set_bootstrap(core::raft::Configuration::voters(opts_.voters));
    }
    ++event_seq_;
    slots_[i]->node->start(*slots_[i]->env);
    after_event();
  }
}

Cluster::~Cluster() = default;

core::raft::Node& Cluster::node(NodeId id) { return *slots_.at(id)->node; }
bool Cluster::up(NodeId id) const { return slots_.at(id)->up; }

void Cluster::make_node(NodeId id) {
  Slot& s = *slots_[id];
  s.node = std::make_unique<core::raft::Node>(
      opts_.config, opts_.state_machine ? opts_.state_machine() : std::make_unique<core::raft::KvStateMachine>());
  s.node->set_collect_completions(true);
  s.up = true;
}

std::string Cluster::take_output() {
  std::string out = std::move(out_);
  out_.clear();
  return out;
}

void Cluster::after_event() {
  std::vector<const core::raft::Node*> nodes;
  std::vector<NodeId> all;
  for (auto& s : slots_) {
    all.push_back(static_cast<NodeId>(nodes.size()));
    nodes.push_back(s->up ? s->node.get() : nullptr);
  }
  checker_.after_records(now_, event_seq_, nodes, all);  // simple over fast: every node, every event
  for (NodeId i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->up) continue;
    for (const auto& c : slots_[i]->node->take_completions()) {
      print("  n" + std::to_string(i) + " completion request=" + std::to_string(c.request_id) +
            (c.error == core::raft::kOk ? " index=" + std::to_string(c.index) + " result=\"" + c.result + "\""
                                        : " error=" + std::to_string(c.error)));
      completions_.emplace_back(i, c);
    }
  }
}

bool Cluster::deliverable(const Queued& q) const {
  return slots_[q.msg.from]->storage.durable_seq() >= q.barrier;
}

size_t Cluster::deliver(NodeId from, NodeId to, uint16_t type, bool drop, size_t limit) {
  // Take a snapshot of what is deliverable now; replies queue behind.
  std::vector<Queued> batch;
  std::vector<Queued> keep;
  for (auto& q : queue_) {
    const bool match = (from == core::kNoNode || q.msg.from == from) && (to == core::kNoNode || q.msg.to == to) &&
                       (type == 0 || q.msg.type == type);
    if (match && deliverable(q) && batch.size() < limit) {
      batch.push_back(std::move(q));
    } else {
      keep.push_back(std::move(q));
    }
  }
  queue_ = std::move(keep);
  for (auto& q : batch) deliver_one(std::move(q), drop);
  return batch.size();
}

void Cluster::deliver_one(Queued q, bool drop) {
  const auto& m = *std::get<std::shared_ptr<const core::raft::Msg>>(q.msg.body);
  const std::string desc = "n" + std::to_string(q.msg.from) + "->n" + std::to_string(q.msg.to) + " " +
                           core::raft::type_name(q.msg.type) + " " + core::raft::describe(m);
  Slot& dst = *slots_[q.msg.to];
  if (drop || !dst.up || isolated_[q.msg.from] || isolated_[q.msg.to]) {
    print("dropped " + desc);
    return;
  }
  print(desc);
  ++event_seq_;
  dst.node->on_message(*dst.env, q.msg);
  after_event();
}

void Cluster::run(core::Duration d) {
  const Time end = now_ + d;
  while (true) {
    Time next_timer = end + 1;
    for (const auto& s : slots_) {
      if (!s->up) continue;
      for (const auto& [id, t] : s->timers) next_timer = std::min(next_timer, t.first);
    }
    auto msg = std::find_if(queue_.begin(), queue_.end(), [this](const Queued& q) { return deliverable(q); });
    const Time msg_at = msg == queue_.end() ? end + 1 : std::max(now_, msg->sent_at + opts_.latency);
    if (msg_at <= next_timer && msg_at <= end) {
      now_ = msg_at;
      Queued q = std::move(*msg);
      queue_.erase(msg);
      out_ += fmt_time(now_) + " ";  // the delivery line follows
      deliver_one(std::move(q), false);
    } else if (!fire_next_timer(end)) {
      break;
    }
  }
  now_ = end;
}

bool Cluster::fire_next_timer(Time until) {
  std::tuple<Time, NodeId, core::TimerId> best{until + 1, 0, 0};
  for (NodeId i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->up) continue;
    for (const auto& [id, t] : slots_[i]->timers) {
      best = std::min(best, std::tuple<Time, NodeId, core::TimerId>{t.first, i, id});
    }
  }
  if (std::get<0>(best) > until) return false;
  auto [when, node, id] = best;
  now_ = std::max(now_, when);
  Slot& s = *slots_[node];
  const uint64_t what = s.timers[id].second;
  s.timers.erase(id);
  print(fmt_time(now_) + " n" + std::to_string(node) + " timer " + core::raft::timer_name(what));
  ++event_seq_;
  s.node->on_timer(*s.env, what);
  after_event();
  return true;
}

size_t Cluster::stabilize(size_t max_rounds) {
  size_t total = 0;
  for (size_t r = 0; r < max_rounds; ++r) {
    const size_t n = deliver();
    total += n;
    if (n == 0) break;
  }
  return total;
}

void Cluster::inject(core::Message msg) { queue_.push_back(Queued{std::move(msg), 0, now_}); }

void Cluster::print_queue() {
  if (queue_.empty()) print("(empty)");
  for (const auto& q : queue_) {
    print("n" + std::to_string(q.msg.from) + "->n" + std::to_string(q.msg.to) + " " +
          core::raft::type_name(q.msg.type) + " " + core::raft::describe(*std::get<std::shared_ptr<const core::raft::Msg>>(q.msg.body)) +
          (deliverable(q) ? "" : " (waiting for sync)"));
  }
}

void Cluster::advance(core::Duration d) { now_ += d; }

void Cluster::tick(core::Duration d) {
  const Time end = now_ + d;
  while (fire_next_timer(end)) {
  }
  now_ = end;
}

bool Cluster::fire(NodeId id, const std::string& name) {
  Slot& s = *slots_[id];
  for (const auto& [tid, t] : s.timers) {
    if (core::raft::timer_name(t.second) != name) continue;
    const uint64_t what = t.second;
    s.timers.erase(tid);
    print(fmt_time(now_) + " n" + std::to_string(id) + " timer " + name);
    ++event_seq_;
    s.node->on_timer(*s.env, what);
    after_event();
    return true;
  }
  print("no timer " + name + " armed on n" + std::to_string(id));
  return false;
}

void Cluster::print_timers(NodeId id) {
  std::vector<std::pair<Time, std::string>> list;
  for (const auto& [tid, t] : slots_[id]->timers) list.emplace_back(t.first, core::raft::timer_name(t.second));
  std::sort(list.begin(), list.end());
  for (const auto& [t, name] : list) print(name + " at " + fmt_time(t));
}

void Cluster::crash(NodeId id, bool lose_unsynced) {
  Slot& s = *slots_[id];
  s.up = false;
  s.timers.clear();
  // Messages still held behind a sync never left the machine.
  std::erase_if(queue_, [&](const Queued& q) { return q.msg.from == id && !deliverable(q); });
  s.storage.crash(lose_unsynced);
  s.sync_target = 0;
  // The Node object is kept: restart() calls start() on it again, as a host
  // may, so start() must rebuild all state from storage.
  print("n" + std::to_string(id) + " crashed" + (lose_unsynced ? " (unsynced writes lost)" : ""));
  ++event_seq_;
  after_event();
}

void Cluster::restart(NodeId id) {
  Slot& s = *slots_[id];
  s.up = true;
  ++event_seq_;
  s.node->start(*s.env);
  after_event();
}

void Cluster::isolate(NodeId id) { isolated_[id] = true; }
void Cluster::heal() { std::fill(isolated_.begin(), isolated_.end(), false); }

void Cluster::complete_sync(NodeId id) {
  Slot& s = *slots_[id];
  s.storage.mark_durable(s.sync_target);
}

core::raft::Proposal Cluster::propose(NodeId id, const std::string& data) {
  Slot& s = *slots_[id];
  ++event_seq_;
  const uint64_t req = ++request_seq_;
  auto p = s.node->propose(*s.env, req, data);
  print(p.ok() ? "request " + std::to_string(req) + " accepted at index " + std::to_string(p.index) + " term " +
                     std::to_string(p.term)
               : "request " + std::to_string(req) + " rejected: " + p.error);
  after_event();
  return p;
}

core::raft::Proposal Cluster::change(NodeId leader, const std::string& op, NodeId target, uint64_t prev) {
  Slot& s = *slots_[leader];
  ++event_seq_;
  const uint64_t req = ++request_seq_;
  core::raft::Proposal p;
  if (op == "add-voter") p = s.node->add_voter(*s.env, req, target, prev);
  else if (op == "add-nonvoter") p = s.node->add_nonvoter(*s.env, req, target, prev);
  else if (op == "demote") p = s.node->demote_voter(*s.env, req, target, prev);
  else p = s.node->remove_server(*s.env, req, target, prev);
  print(p.ok() ? "request " + std::to_string(req) + " accepted at index " + std::to_string(p.index)
               : "request " + std::to_string(req) + " rejected: " + p.error);
  after_event();
  return p;
}

core::raft::Proposal Cluster::barrier(NodeId id) {
  Slot& s = *slots_[id];
  ++event_seq_;
  const uint64_t req = ++request_seq_;
  auto p = s.node->barrier(*s.env, req);
  print(p.ok() ? "barrier " + std::to_string(req) + " accepted at index " + std::to_string(p.index) + " term " +
                     std::to_string(p.term)
               : "barrier " + std::to_string(req) + " rejected: " + p.error);
  after_event();
  return p;
}

core::raft::Proposal Cluster::verify(NodeId id) {
  Slot& s = *slots_[id];
  ++event_seq_;
  const uint64_t req = ++request_seq_;
  auto p = s.node->verify_leader(*s.env, req);
  print(p.ok() ? "verify " + std::to_string(req) + " started in term " + std::to_string(p.term)
               : "verify " + std::to_string(req) + " rejected: " + p.error);
  after_event();
  return p;
}

std::string Cluster::bootstrap(NodeId id, const std::vector<NodeId>& voters) {
  Slot& s = *slots_[id];
  ++event_seq_;
  const std::string err = s.node->bootstrap(*s.env, core::raft::Configuration::voters(voters));
  print(err.empty() ? "bootstrapped" : "bootstrap rejected: " + err);
  after_event();
  return err;
}

std::string Cluster::transfer(NodeId leader, NodeId target) {
  Slot& s = *slots_[leader];
  ++event_seq_;
  std::string err = s.node->transfer_leadership(*s.env, target);
  print(err.empty() ? "transfer started" : "transfer rejected: " + err);
  after_event();
  return err;
}

void Cluster::snapshot(NodeId id) {
  Slot& s = *slots_[id];
  ++event_seq_;
  s.node->take_snapshot(*s.env);
  after_event();
}

void Cluster::print_status() {
  for (NodeId i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->up) {
      print("n" + std::to_string(i) + " down");
      continue;
    }
    const auto& n = *slots_[i]->node;
    std::string line = "n" + std::to_string(i) + " " + core::raft::role_name(n.role()) +
                       " term=" + std::to_string(n.term()) + " leader=" + id_str(n.leader()) +
                       " vote=" + id_str(n.voted_for()) + " log=" + std::to_string(n.first_log_index()) + ".." +
                       std::to_string(n.last_log_index()) + " commit=" + std::to_string(n.commit_index()) +
                       " applied=" + std::to_string(n.last_applied());
    if (n.snapshot_index() != 0) line += " snapshot=" + std::to_string(n.snapshot_index());
    line += " conf=" + n.latest_configuration().to_string() + "@" + std::to_string(n.latest_configuration_index());
    if (n.committed_configuration_index() != n.latest_configuration_index()) {
      line += " committed_conf=" + n.committed_configuration().to_string() + "@" +
              std::to_string(n.committed_configuration_index());
    }
    print(line);
  }
}

void Cluster::print_log(NodeId id) {
  const auto& n = *slots_[id]->node;
  if (n.snapshot_index() != 0) {
    print("snapshot " + std::to_string(n.snapshot_index()) + "/" + std::to_string(n.snapshot_term()));
  }
  for (uint64_t i = n.first_log_index(); i <= n.last_log_index(); ++i) {
    const core::raft::Entry* e = n.entry(i);
    std::string line = std::to_string(e->index) + "/" + std::to_string(e->term) + " ";
    if (e->type == core::raft::EntryType::kNoop) line += "noop";
    else if (e->type == core::raft::EntryType::kBarrier) line += "barrier";
    else if (e->type == core::raft::EntryType::kConfiguration)
      line += "conf " + core::raft::Configuration::decode(e->data).value_or(core::raft::Configuration{}).to_string();
    else line += "\"" + e->data + "\"";
    print(line);
  }
  if (n.first_log_index() > n.last_log_index()) print("(empty log)");
}

void Cluster::print_kv(NodeId id) {
  const auto& kv = dynamic_cast<const core::raft::KvStateMachine&>(slots_[id]->node->state_machine());
  if (kv.data().empty()) print("(empty)");
  for (const auto& [k, v] : kv.data()) print(k + "=" + v);
}

void Cluster::print_check() { print(checker_.summary()); }

}  // namespace raft_test

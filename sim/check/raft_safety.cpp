#include "sim/check/raft_safety.hpp"

#include <algorithm>

namespace sim {

namespace {

constexpr uint64_t kUnknown = UINT64_MAX;

std::string n(uint64_t v) { return std::to_string(v); }

template <typename T>
T& at_grow(std::vector<T>& v, uint64_t index) {
  if (index >= v.size()) v.resize(index + 1);
  return v[index];
}

}  // namespace

void RaftChecker::fail(core::Time t, uint64_t seq, std::vector<core::NodeId> nodes, uint64_t term, uint64_t index,
                       const char* property, std::string description) {
  if (violation_) return;
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  violation_ = RaftViolation{t, std::move(nodes), term, index, property, std::move(description), seq};
}

std::string RaftChecker::summary() const {
  if (!violation_) return "ok";
  const RaftViolation& v = *violation_;
  std::string nodes;
  for (core::NodeId id : v.nodes) {
    if (!nodes.empty()) nodes += ',';
    nodes += n(id);
  }
  return v.property + " violated at t=" + n(static_cast<uint64_t>(v.time_ns)) + "ns event=" + n(v.event_seq) +
         " nodes=[" + nodes + "] term=" + n(v.term) + " index=" + n(v.index) + ": " + v.description;
}

RaftChecker::PerNode& RaftChecker::per_node(core::NodeId id) { return at_grow(nodes_, id); }

void RaftChecker::on_record(core::Time t, core::NodeId node, const core::Record& r, uint64_t seq) {
  if (violation_) return;
  switch (r.kind) {
    case core::raft::kRecordRole:
      if (r.b == static_cast<uint64_t>(core::raft::Role::kLeader)) {
        auto [it, inserted] = leaders_.emplace(r.a, node);
        if (!inserted && it->second != node) {
          fail(t, seq, {it->second, node}, r.a, 0, "election_safety",
               "nodes " + n(it->second) + " and " + n(node) + " both leader in term " + n(r.a));
        }
        per_node(node).became_leader = true;
      }
      break;
    case core::raft::kRecordAppend: {
      PerNode& p = per_node(node);
      p.dirty_from = std::min(p.dirty_from, r.a);
      break;
    }
    case core::raft::kRecordApply: {
      Seen& s = at_grow(applied_, r.a);
      if (s.term == 0) {
        s = Seen{r.b, r.c, kUnknown, node};
      } else if (s.term != r.b || s.hash != r.c) {
        fail(t, seq, {s.node, node}, r.b, r.a, "state_machine_safety",
             "node " + n(node) + " applied " + n(r.a) + "/" + n(r.b) + " but node " + n(s.node) + " applied " +
                 n(r.a) + "/" + n(s.term) + (s.term == r.b ? " with other data" : ""));
      }
      break;
    }
    default:
      break;
  }
}

void RaftChecker::node_down(core::NodeId id) { per_node(id) = PerNode{}; }

void RaftChecker::after_records(core::Time t, uint64_t seq, const std::vector<const core::raft::Node*>& nodes,
                                const std::vector<core::NodeId>& touched) {
  for (const core::NodeId id : touched) {
    if (violation_) return;
    const core::raft::Node* node = id < nodes.size() ? nodes[id] : nullptr;
    PerNode& p = per_node(id);
    if (node == nullptr) {
      p = PerNode{};  // a crashed node restarts from its storage
      continue;
    }
    if (p.dirty_from != UINT64_MAX) {
      const uint64_t from = p.dirty_from;
      p.dirty_from = UINT64_MAX;
      check_log(t, seq, id, *node, from);
    }
    if (p.became_leader) {
      per_node(id).became_leader = false;
      if (node->role() == core::raft::Role::kLeader) check_leader(t, seq, id, *node);
    }
    check_commits(t, seq, id, *node, nodes);
  }
}

void RaftChecker::check_log(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& node, uint64_t from) {
  const uint64_t last = node.last_log_index();
  for (uint64_t i = std::max(from, node.first_log_index()); i <= last && !violation_; ++i) {
    const auto info = node.entry_info(i);
    if (!info) continue;
    const uint64_t prev_term = i == 1 ? 0 : node.term_at(i - 1);
    const uint64_t prev = (i > 1 && prev_term == 0) ? kUnknown : prev_term;
    Seen* s = nullptr;
    Seen& first = at_grow(logged_, i);
    if (first.term == 0) {
      first = Seen{info->term, info->hash, prev, id};
      continue;
    }
    if (first.term == info->term) {
      s = &first;
    } else {
      auto [it, inserted] = logged_extra_.try_emplace({i, info->term}, Seen{info->term, info->hash, prev, id});
      if (inserted) continue;
      s = &it->second;
    }
    if (s->hash != info->hash) {
      fail(t, seq, {s->node, id}, info->term, i, "log_matching",
           "entry " + n(i) + "/" + n(info->term) + " differs between nodes " + n(s->node) + " and " + n(id));
    } else if (s->prev_term != kUnknown && prev != kUnknown && s->prev_term != prev) {
      fail(t, seq, {s->node, id}, info->term, i, "log_matching",
           "entry " + n(i) + "/" + n(info->term) + " follows term " + n(s->prev_term) + " on node " + n(s->node) +
               " but term " + n(prev) + " on node " + n(id));
    } else if (s->prev_term == kUnknown) {
      s->prev_term = prev;
    }
  }
}

void RaftChecker::check_leader(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& leader) {
  // Every entry committed so far (necessarily in an earlier term) must be in
  // the new leader's log.
  const uint64_t from = leader.snapshot_index() + 1;
  for (uint64_t i = from; i < committed_.size() && !violation_; ++i) {
    const Seen& c = committed_[i];
    if (c.term == 0 || c.commit_term >= leader.term()) continue;
    const auto info = leader.entry_info(i);
    if (!info || info->term != c.term || info->hash != c.hash) {
      fail(t, seq, {id, c.node}, leader.term(), i, "leader_completeness",
           "leader " + n(id) + " of term " + n(leader.term()) + " lacks entry " + n(i) + "/" + n(c.term) +
               " committed in term " + n(c.commit_term) + " on node " + n(c.node));
    }
  }
}

void RaftChecker::check_commits(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& node,
                                const std::vector<const core::raft::Node*>& nodes) {
  PerNode& p = per_node(id);
  const uint64_t commit = node.commit_index();
  if (commit < p.commit_seen) p.commit_seen = 0;  // restarted: commit index relearned
  for (uint64_t i = std::max(p.commit_seen + 1, node.first_log_index()); i <= commit && !violation_; ++i) {
    const auto info = node.entry_info(i);
    if (!info) continue;
    Seen& c = at_grow(committed_, i);
    if (c.term == 0) {
      c = Seen{info->term, info->hash, kUnknown, id, node.term()};
      // Leaders of terms after the one it was committed in must already hold it.
      for (core::NodeId other = 0; other < nodes.size() && !violation_; ++other) {
        const core::raft::Node* l = nodes[other];
        if (l == nullptr || l->role() != core::raft::Role::kLeader || l->term() <= c.commit_term) continue;
        if (i <= l->snapshot_index()) continue;
        const auto li = l->entry_info(i);
        if (!li || li->term != info->term || li->hash != info->hash) {
          fail(t, seq, {other, id}, l->term(), i, "leader_completeness",
               "leader " + n(other) + " of term " + n(l->term()) + " lacks entry " + n(i) + "/" + n(info->term) +
                   " committed in term " + n(c.commit_term) + " on node " + n(id));
        }
      }
    } else if (c.term != info->term || c.hash != info->hash) {
      fail(t, seq, {c.node, id}, info->term, i, "state_machine_safety",
           "index " + n(i) + " committed as " + n(i) + "/" + n(c.term) + " on node " + n(c.node) + " but as " + n(i) +
               "/" + n(info->term) + " on node " + n(id));
    }
  }
  p.commit_seen = std::max(p.commit_seen, commit);
}

}  // namespace sim

// RaftChecker: the Raft safety properties of the paper's Figure 3, checked
// while a simulation runs. It depends only on core/ and the standard library.
//
//   election safety       at most one leader per term (a node re-elected in
//                         the same term after a restart is the same leader)
//   log matching          two logs with an entry of the same index and term
//                         agree on its content and on the term before it; by
//                         induction they agree on the whole prefix. Checked
//                         incrementally: each newly appended entry is compared
//                         with a global (index, term) -> (hash, prev term) map.
//   leader completeness   a leader's log holds every entry committed in an
//                         earlier term: checked when a node becomes leader,
//                         and for every current leader when an entry is newly
//                         seen committed. "Committed in term T" is the term
//                         of the node that is first seen committing the
//                         entry (the leader that counted it, whose commit
//                         precedes any follower's), not the entry's own term:
//                         an entry of term 2 committed by the leader of term
//                         4 need not be in the log of a stale leader of term
//                         3. Entries inside a snapshot count as held (they
//                         cannot be inspected).
//   state machine safety  no two nodes apply different entries at one index,
//                         and no index is seen committed with two contents.
//
// Use: the host calls on_record() for every record a Raft node emits, in
// trace order, then after_records() once the event is processed, with the
// nodes indexed by id (nullptr for a crashed node or a non-Raft node) and the
// ids of the nodes that emitted records since the last call: only those are
// checked (a node's log, commit index and role change only with a record).
// node_down() when a node crashes (it restarts from its storage). Only the
// first violation is kept; after it the checker does nothing more.
//
// Cost: memory grows with the highest index seen (about 50 bytes per index);
// a leader election costs one pass over that leader's in-memory log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/raft/node.hpp"
#include "core/record.hpp"
#include "core/types.hpp"

namespace sim {

struct RaftViolation {
  core::Time time_ns = 0;
  std::vector<core::NodeId> nodes;  // the nodes involved
  uint64_t term = 0;
  uint64_t index = 0;               // 0 when the property is about a term only
  std::string property;             // "election_safety", "log_matching", ...
  std::string description;
  uint64_t event_seq = 0;           // the host's event sequence number
};

class RaftChecker {
 public:
  void on_record(core::Time time_ns, core::NodeId node, const core::Record& r, uint64_t event_seq);
  void after_records(core::Time time_ns, uint64_t event_seq, const std::vector<const core::raft::Node*>& nodes,
                     const std::vector<core::NodeId>& touched);
  void node_down(core::NodeId id);

  bool ok() const { return !violation_.has_value(); }
  const std::optional<RaftViolation>& violation() const { return violation_; }
  // "ok" or a one-line description of the violation.
  std::string summary() const;

 private:
  struct Seen {
    uint64_t term = 0;  // 0: nothing seen
    uint64_t hash = 0;
    uint64_t prev_term = 0;  // UINT64_MAX when unknown
    core::NodeId node = core::kNoNode;
    uint64_t commit_term = 0;  // committed_ only: the term in which it was committed
  };
  struct PerNode {
    uint64_t dirty_from = UINT64_MAX;  // lowest index appended since the last after_records
    uint64_t commit_seen = 0;
    bool became_leader = false;
  };

  void fail(core::Time t, uint64_t seq, std::vector<core::NodeId> nodes, uint64_t term, uint64_t index,
            const char* property, std::string description);
  PerNode& per_node(core::NodeId id);
  void check_log(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& n, uint64_t from);
  void check_commits(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& n,
                     const std::vector<const core::raft::Node*>& nodes);
  void check_leader(core::Time t, uint64_t seq, core::NodeId id, const core::raft::Node& n);

  std::optional<RaftViolation> violation_;
  std::map<uint64_t, core::NodeId> leaders_;          // term -> leader
  std::vector<Seen> applied_;                         // index -> first apply seen
  std::vector<Seen> committed_;                       // index -> entry seen committed
  std::vector<Seen> logged_;                          // index -> first (term, ...) seen in a log
  std::map<std::pair<uint64_t, uint64_t>, Seen> logged_extra_;  // other terms at an index
  std::vector<PerNode> nodes_;
};

}  // namespace sim

// The client history of the KV workload: one entry per operation with its
// invocation and completion, as a linearizability checker needs them, and
// its two file forms (docs/history-format.md): JSON Lines, one object per
// operation in invocation order, and Jepsen's history text (EDN), one event
// per line in the order the events happened.
//
// Entries are numbered in invocation order. Several events can share a
// virtual instant, so the history also keeps the order in which invocations
// and completions were recorded. An entry holds fixed-size fields and
// offsets into one string buffer (a put's value, a get's result, an error
// only when there is one): about 120 bytes per operation.
//
// Recording never touches the simulation: the trace hash does not see it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "sim/workload/kv_op.hpp"

namespace sim {

class KvHistory {
 public:
  static constexpr core::Time kNotCompleted = -1;

  // A string in the history's buffer.
  struct Text {
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  struct Entry {
    uint64_t process = 0;                   // the client: its request id (open loop, one operation per client)
    core::Time invoke_ns = 0;               // virtual time of the invocation
    core::Time complete_ns = kNotCompleted;  // of the completion; kNotCompleted when it never completed
    uint64_t invoke_position = 0;           // Simulation::trace_events() at the invocation
    uint64_t complete_position = 0;         // ... at the completion (0 when it never completed)
    uint64_t index = 0;                     // the Raft index it was applied at; 0 when unknown
    core::NodeId node = core::kNoNode;      // the server it was sent to; kNoNode when none was running
    KvOp::Kind kind = KvOp::Kind::kGet;
    KvResult::Outcome outcome = KvResult::Outcome::kUnknown;  // kUnknown until it completes
    bool found = false;                     // a completed get: the key existed (result is what was read)
    Text key, value, expected, result, error;

    bool completed() const { return complete_ns != kNotCompleted; }
  };

  // One invocation or completion, in the order they happened.
  struct Event {
    size_t entry = 0;
    bool completion = false;
  };

  // Records an invocation; returns its entry number.
  size_t invoke(uint64_t process, const KvOp& op, core::NodeId node, core::Time now, uint64_t position);
  // Records the completion of entry `i` (at most once).
  void complete(size_t i, const KvResult& r, core::Time now, uint64_t position);

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  std::string_view text(Text t) const { return std::string_view(text_).substr(t.offset, t.size); }
  size_t event_count() const { return events_.size(); }
  Event event(size_t k) const { return {static_cast<size_t>(events_[k] >> 1), (events_[k] & 1) != 0}; }

 private:
  Text store(std::string_view s);

  std::vector<Entry> entries_;
  std::vector<uint64_t> events_;  // entry << 1 | completion
  std::string text_;
};

// Receives one line of a history file (without its newline).
using LineSink = std::function<void(const std::string&)>;

// JSON Lines: one object per entry, in invocation order. node_names[id]
// names node id.
void write_history_jsonl(const KvHistory& h, const std::vector<std::string>& node_names, const LineSink& line);
// Jepsen's history text: an :invoke line per invocation and an :ok, :fail or
// :info line per completion, in the order they happened; then an :info line
// (without :time) for each operation that never completed.
void write_history_edn(const KvHistory& h, const LineSink& line);

enum class HistoryFormat : uint8_t { kJsonLines, kEdn };
// By the file's extension: ".edn" is EDN, anything else JSON Lines.
HistoryFormat history_format_of(const std::string& path);

}  // namespace sim

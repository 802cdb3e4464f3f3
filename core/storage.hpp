// Durable storage of one node: an ordered key/value store with explicit sync,
// in the manner of LevelDB's Env + fault-injection test (STYLE.md, example 5).
//
// Ownership: the host (simulator or a real process) owns one Storage per node;
// it outlives crashes of the node that uses it. The node reads and writes it
// through core::Env::storage(); writes are visible to the node at once.
//
// Durability: every write gets a sequence number. A write is durable once the
// host has called mark_durable(seq) with seq >= its number, which a host does
// when a sync requested after the write completes. crash(true) throws away
// every write that is not durable yet (an OS crash losing its page cache);
// crash(false) keeps them all (a process crash: the kernel still writes them).
//
// Not thread-safe; one simulation is single-threaded.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

namespace core {

class Storage {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  void put(std::string_view key, std::string_view value);
  void erase(std::string_view key);
  // Erases every key k with from <= k < to.
  void erase_range(std::string_view from, std::string_view to);

  // nullptr when absent.
  const std::string* get(std::string_view key) const;
  // The live view, for ordered scans (lower_bound etc.).
  const Map& view() const { return view_; }

  // Sequence number of the newest write (0 before any write).
  uint64_t last_write_seq() const { return seq_; }
  // Sequence number up to which writes are durable.
  uint64_t durable_seq() const { return durable_seq_; }
  // Number of writes that a crash(true) would lose now.
  size_t unsynced_writes() const { return pending_.size(); }

  // Host side.
  void mark_durable(uint64_t seq);
  void crash(bool lose_unsynced);

 private:
  enum class OpKind : uint8_t { kPut, kErase, kEraseRange };
  struct Op {
    uint64_t seq;
    OpKind kind;
    std::string key;
    std::string arg;  // value for kPut, end key for kEraseRange
  };
  static void apply(Map& m, const Op& op);
  void log(OpKind kind, std::string_view key, std::string_view arg);

  Map view_;     // what the node sees
  Map durable_;  // what survives crash(true)
  std::deque<Op> pending_;
  uint64_t seq_ = 0;
  uint64_t durable_seq_ = 0;
};

}  // namespace core

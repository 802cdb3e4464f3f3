// serf's snapshot (v0.9.5 snapshot.go): what a node remembers across a
// restart — the members it last saw alive and its three Lamport clocks — so
// that it can rejoin them (serf handleRejoin) and not replay old events.
//
// serf appends text lines to a file ("alive: name addr", "not-alive: name",
// "clock: N", "event-clock: N", "query-clock: N", "leave"), flushes its
// buffered writer at most every 500 ms (or when 4 KB are buffered),
// compacts the file into the live state when it outgrows max(128 KB, 2 x
// 128 B x alive members) and fsyncs only on compaction, leave and shutdown.
// Replay applies the lines in order; "leave" forgets everything (alive
// members and clocks) unless RejoinAfterLeave.
//
// Format here (simplified, same content and durability points): keys under
// the owner's prefix (e.g. "serf-lan/"):
//   <prefix>snapshot/base            the compacted state: varint member,
//                                    event and query clocks, count, then
//                                    the alive ids as ascending deltas
//   <prefix>snapshot/log/<16 hex>    one flushed batch of lines, in order:
//                                    an op byte and a varint each
// Sizes for the compaction rule are those serf's text lines would have
// (node names of memberlist::kNameBytes, addresses "a.b.c.d:port" of 15
// bytes). Deviation: a line waits for the next 500 ms snapshot tick (or a
// 4 KB buffer) rather than for the next line appended after 500 ms; and
// env.sync() holds back this port's later sends until the disk completes
// it, where serf's fsync runs in its snapshotter goroutine beside the
// network (only at compaction and leave).
//
// Memory: one bit per possible member, plus the batch being buffered and
// the storage writes not yet synced (bounded by the compaction size).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/serf/lamport.hpp"
#include "core/types.hpp"

namespace core::serf {

class Snapshotter {
 public:
  static constexpr Duration kFlushInterval = 500 * kMillisecond;  // snapshot.go flushInterval / clockUpdateInterval
  static constexpr uint64_t kMinCompactSize = 128 * 1024;          // serf.go snapshotSizeLimit
  static constexpr uint64_t kBytesPerNode = 128;                   // snapshotBytesPerNode
  static constexpr uint64_t kCompactionThreshold = 2;              // snapshotCompactionThreshold
  static constexpr uint64_t kBufferBytes = 4096;                   // bufio.Writer's default size

  Snapshotter(std::string prefix, uint32_t capacity, bool rejoin_after_leave);

  // Forgets the volatile state and replays what storage holds (serf
  // NewSnapshotter + replay).
  void open(Storage& storage);

  // What the replay found.
  LamportTime last_clock() const { return last_clock_; }
  LamportTime last_event_clock() const { return last_event_clock_; }
  LamportTime last_query_clock() const { return last_query_clock_; }
  // The members last known alive, ascending (serf AliveNodes shuffles them;
  // the caller does, with its random stream).
  std::vector<NodeId> alive_nodes() const;
  bool leaving() const { return leaving_; }

  // The event stream (serf processMemberEvent / processUserEvent). Ignored
  // once leaving. `member_clock` is the member clock now (updateClock runs
  // after every member event).
  void member_alive(Env& env, NodeId node, LamportTime member_clock);
  void member_gone(Env& env, NodeId node, LamportTime member_clock);
  void user_event(Env& env, LamportTime ltime);
  // serf updateClock: records member_clock - 1 if it is newer.
  void update_clock(Env& env, LamportTime member_clock);
  // Members of a pool that starts already formed (Serf::start's `known`):
  // noted alive at once as a compacted snapshot would hold them (one base
  // write, not synced), rather than one line each.
  void seed_alive(Env& env, const std::vector<NodeId>& nodes);
  // serf Snapshotter.Leave: forget the alive members (unless
  // rejoin_after_leave), append "leave", flush and sync.
  void leave(Env& env);
  // The 500 ms tick: updateClock, then write out the buffered lines
  // (compacting when the file has grown past the limit).
  void tick(Env& env, LamportTime member_clock);
  // Whether a tick now would write anything.
  bool has_work(LamportTime member_clock) const {
    return buffered_ops_ > 0 || (member_clock > 0 && member_clock - 1 > last_clock_);
  }
  // serf's shutdown path: updateClock, flush, sync.
  void close(Env& env, LamportTime member_clock);

  // For tests and metrics.
  uint64_t offset_bytes() const { return offset_; }
  uint64_t compactions() const { return compactions_; }
  uint64_t max_size_bytes() const;
  size_t buffered_ops() const { return buffered_ops_; }

 private:
  enum Op : uint8_t { kAlive = 1, kNotAlive = 2, kClock = 3, kEventClock = 4, kQueryClock = 5, kLeave = 6 };

  void append(Env& env, Op op, uint64_t value);
  void flush(Env& env);
  void compact(Env& env, bool sync);
  void apply(Op op, uint64_t value);  // replay
  static uint64_t line_bytes(Op op, uint64_t value);
  std::string base_key() const { return prefix_ + "snapshot/base"; }
  std::string log_key(uint64_t seq) const;

  std::string prefix_;
  uint32_t capacity_;
  bool rejoin_after_leave_;

  std::vector<bool> alive_;
  uint32_t alive_count_ = 0;
  LamportTime last_clock_ = 0;
  LamportTime last_event_clock_ = 0;
  LamportTime last_query_clock_ = 0;
  bool leaving_ = false;

  std::string buffer_;       // encoded ops not written yet
  size_t buffered_ops_ = 0;
  uint64_t buffered_bytes_ = 0;  // their size as serf's text lines
  uint64_t offset_ = 0;          // the file's size as serf's text lines
  uint64_t next_log_ = 0;
  uint64_t compactions_ = 0;
};

}  // namespace core::serf

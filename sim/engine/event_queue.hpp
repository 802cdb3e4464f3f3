// The event kernel's priority queue (STYLE.md, example 13).
//
// Events are ordered by (time, seq): seq is assigned at scheduling and is
// unique, so ties in time break by scheduling order and never by address or
// container order (DESIGN.md, determinism rule 3). Records are 24-byte plain
// values in a 4-ary implicit heap: no allocation per event once the vector has
// grown, and fewer cache misses than a binary heap on pops.
//
// Cancellation is lazy: an event names a slot and a generation (see
// Simulation), and a stale generation makes the popped event a no-op.
#pragma once

#include <cstdint>
#include <vector>

#include "core/int128.hpp"
#include "core/types.hpp"

namespace sim {

enum class EventKind : uint8_t {
  kDeliver = 1,  // a = message slot
  kTimer = 2,    // a = timer slot, b = the slot's event epoch
  kDepart = 3,   // a = message slot, held until a sync completed
  kSyncDone = 4, // a = node, b = incarnation
  kControl = 5,  // a = control action index
  kHop = 6,      // a = message slot reaching a bandwidth-limited link, b = hop << 2 | no-dup << 1 | copy
};

struct Event {
  core::Time time;
  uint64_t seq_kind;  // (seq << 8) | kind; seq is unique, so this orders ties
  uint32_t a;
  uint32_t b;

  EventKind kind() const { return static_cast<EventKind>(seq_kind & 0xff); }
  uint64_t seq() const { return seq_kind >> 8; }
};
static_assert(sizeof(Event) == 24, "event records stay small");

class EventQueue {
 public:
  void push(core::Time time, EventKind kind, uint32_t a, uint32_t b) {
    const Event e{time, (next_seq_++ << 8) | static_cast<uint64_t>(kind), a, b};
    heap_.push_back(e);
    sift_up(heap_.size() - 1);
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  size_t capacity() const { return heap_.capacity(); }
  const Event& top() const { return heap_.front(); }
  Event pop() {
    const Event top = heap_.front();
    const Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(last);
    return top;
  }
  uint64_t scheduled() const { return next_seq_; }

 private:
  // One 128-bit comparison of (time, seq_kind): compiles to cmp/sbb without a
  // branch, which matters because heap comparisons are unpredictable.
  static core::uint128 key(const Event& x) {
    return (static_cast<core::uint128>(static_cast<uint64_t>(x.time)) << 64) | x.seq_kind;
  }
  static bool before(const Event& x, const Event& y) { return key(x) < key(y); }
  void sift_up(size_t i) {
    const Event e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!before(e, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  // Places `e` (the former last element) starting from the root.
  void sift_down(const Event& e) {
    const size_t n = heap_.size();
    size_t i = 0;
    for (;;) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best;
      if (first + 4 <= n) {
        // All four children: a branch-free tournament of three comparisons.
        const Event* c = &heap_[first];
        const size_t left = before(c[1], c[0]) ? 1 : 0;
        const size_t right = before(c[3], c[2]) ? 3 : 2;
        best = first + (before(c[right], c[left]) ? right : left);
      } else {
        best = first;
        for (size_t c = first + 1; c < n; ++c)
          if (before(heap_[c], heap_[best])) best = c;
      }
      if (!before(heap_[best], e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace sim

// Messages in flight, referenced by 32-bit index from event records.
//
// Slots live in fixed-size chunks, so a slot's address never changes while it
// is allocated: a receiving node's handler reads its message in place while
// sending new ones. Freed slots are reused LIFO (warm in cache). No
// allocation per message once the pool has grown to the run's peak.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/message.hpp"

namespace sim {

class MessagePool {
 public:
  struct Slot {
    core::Message msg;
    uint32_t next_free = UINT32_MAX;
    uint32_t incarnation = 0;  // of the sender, for messages held until a sync
  };

  uint32_t alloc(core::Message&& m) {
    if (free_ == UINT32_MAX) grow();
    const uint32_t idx = free_;
    Slot& s = (*this)[idx];
    free_ = s.next_free;
    s.msg = std::move(m);
    if (++live_ > peak_) peak_ = live_;
    return idx;
  }
  void free(uint32_t idx) {
    Slot& s = (*this)[idx];
    s.msg.body = std::monostate{};  // releases a shared payload now
    s.next_free = free_;
    free_ = idx;
    --live_;
  }
  Slot& operator[](uint32_t idx) { return chunks_[idx >> kShift][idx & kMask]; }
  const Slot& operator[](uint32_t idx) const { return chunks_[idx >> kShift][idx & kMask]; }

  size_t live() const { return live_; }
  size_t peak() const { return peak_; }
  size_t bytes() const { return chunks_.size() * kChunk * sizeof(Slot); }

 private:
  static constexpr uint32_t kShift = 10;
  static constexpr uint32_t kChunk = 1u << kShift;
  static constexpr uint32_t kMask = kChunk - 1;

  void grow() {
    const uint32_t base = static_cast<uint32_t>(chunks_.size()) * kChunk;
    chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    // Thread the new slots onto the free list in index order.
    for (uint32_t i = kChunk; i-- > 0;) {
      chunks_.back()[i].next_free = free_;
      free_ = base + i;
    }
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  uint32_t free_ = UINT32_MAX;
  size_t live_ = 0, peak_ = 0;
};

}  // namespace sim

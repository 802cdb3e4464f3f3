// serf's user-event buffer (v0.9.5 serf.go eventBuffer / handleUserEvent;
// reference B.4): the events of the last EventBuffer (512) Lamport times,
// one slot per time (slot = ltime mod size), used to drop duplicates and
// events too old to tell apart from ones already seen.
//
// offer() takes the event clock *after* the receiver has witnessed the
// event's time (serf witnesses first) and serf's eventMinTime, and decides
// in serf's order:
//   1. ltime < min_time                                  -> kBeforeMinTime
//   2. clock > size and ltime < clock - size             -> kTooOld
//   3. the slot holds this ltime and an equal event       -> kDuplicate
//   4. otherwise the event is recorded (a slot holding another time is
//      replaced first)                                   -> kNew
//
// Memory: the slots are allocated on the first event (a node that never
// sees one pays nothing), 40 bytes each plus their events.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/serf/lamport.hpp"
#include "core/serf/messages.hpp"

namespace core::serf {

enum class EventOutcome : uint8_t { kNew = 0, kBeforeMinTime = 1, kTooOld = 2, kDuplicate = 3 };

class EventBuffer {
 public:
  explicit EventBuffer(uint32_t size) : size_(size) {}

  EventOutcome offer(LamportTime ltime, const UserEvent& e, LamportTime clock, LamportTime min_time) {
    if (ltime < min_time) return EventOutcome::kBeforeMinTime;
    if (clock > size_ && ltime < clock - size_) return EventOutcome::kTooOld;
    if (slots_.empty()) slots_.resize(size_);
    std::optional<EventSlot>& slot = slots_[ltime % size_];
    if (slot && slot->ltime == ltime) {
      for (const UserEvent& seen : slot->events)
        if (seen.same(e)) return EventOutcome::kDuplicate;
    } else {
      slot = EventSlot{ltime, {}};
    }
    slot->events.push_back(e);
    return EventOutcome::kNew;
  }

  uint32_t size() const { return size_; }
  // Slot i (i < size()), or nullptr if it never held an event.
  const EventSlot* slot(uint32_t i) const {
    if (slots_.empty() || !slots_[i]) return nullptr;
    return &*slots_[i];
  }
  // The used slots in slot order (what a push/pull carries).
  std::vector<EventSlot> used_slots() const {
    std::vector<EventSlot> out;
    for (const auto& s : slots_)
      if (s) out.push_back(*s);
    return out;
  }
  void clear() { slots_.clear(); }
  // Heap bytes held (capacities).
  size_t memory_bytes() const {
    size_t b = slots_.capacity() * sizeof(std::optional<EventSlot>);
    for (const auto& s : slots_)
      if (s) b += s->events.capacity() * sizeof(UserEvent);
    return b;
  }

 private:
  uint32_t size_;
  std::vector<std::optional<EventSlot>> slots_;
};

}  // namespace core::serf

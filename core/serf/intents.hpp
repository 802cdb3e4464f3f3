// serf's recent-intent buffer (v0.9.5 serf.go recentIntents, upsertIntent,
// recentIntent, reapIntents; reference B.2): a join or leave intent about a
// node serf does not know yet is kept, so that memberlist's join event,
// arriving later, starts the member at the intent's Lamport time (and as
// leaving, for a leave intent). One entry per node, replaced only by a
// newer Lamport time; the reaper expires entries RecentIntentTimeout after
// they were stored.
//
// Ordered map, looked up by node and walked only to expire entries (the
// order of erasure does not matter), so nothing depends on hash order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "core/serf/lamport.hpp"
#include "core/types.hpp"

namespace core::serf {

enum class IntentType : uint8_t { kJoin = 0, kLeave = 1 };

struct Intent {
  IntentType type = IntentType::kJoin;
  LamportTime ltime = 0;
  Time stored = 0;  // local time it was stored, for expiry
};

class IntentBuffer {
 public:
  // Stores the intent unless one at least as new is there. True when stored
  // (serf rebroadcasts exactly those).
  bool upsert(NodeId node, IntentType type, LamportTime ltime, Time now) {
    auto it = intents_.find(node);
    if (it != intents_.end() && ltime <= it->second.ltime) return false;
    intents_[node] = Intent{type, ltime, now};
    return true;
  }
  // The buffered intent's Lamport time if the node has one of `type`.
  std::optional<LamportTime> recent(NodeId node, IntentType type) const {
    auto it = intents_.find(node);
    if (it == intents_.end() || it->second.type != type) return std::nullopt;
    return it->second.ltime;
  }
  // Erases intents stored more than `timeout` before `now`; returns how many.
  size_t reap(Time now, Duration timeout) {
    size_t n = 0;
    for (auto it = intents_.begin(); it != intents_.end();) {
      if (now - it->second.stored > timeout) {
        it = intents_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  size_t size() const { return intents_.size(); }
  void clear() { intents_.clear(); }
  const std::map<NodeId, Intent>& all() const { return intents_; }

 private:
  std::map<NodeId, Intent> intents_;
};

}  // namespace core::serf

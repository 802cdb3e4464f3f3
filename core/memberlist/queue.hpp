// memberlist's TransmitLimitedQueue (v0.2.2 queue.go, reference A.9): the
// broadcasts a node still has to retransmit, each sent at most
// retransmit_limit(n) times, fewest transmits first.
//
// Order: fewest transmits first; within one transmit count larger items
// first; then newest (highest insertion id) first. get_broadcasts walks the
// tiers from the fewest transmits, taking in each the first items (in that
// order) that fit the remaining budget, counting `overhead` + item bytes per
// item; each taken item's transmit count is bumped, and an item that reaches
// the limit is retired.
//
// Invalidation: an item queued with a name (memberlist: the node it is
// about) replaces every queued item of the same name; kUnique items (serf's)
// are never replaced. A replaced or retired item with a notify token != 0
// reports the token (memberlist's leave waiter, serf's leave and events).
//
// Not thread-safe. Deterministic: no randomness, no iteration over
// unordered containers.
//
// Ids, as in memberlist: each queue() stamps the next id, and the counter
// restarts whenever the queue becomes empty (also in the middle of
// get_broadcasts, before taken items are put back), so "newest" means
// highest stamped id, and a later item can carry a lower id than an older
// one. Where memberlist's btree would then hold two items with equal
// (transmits, bytes, id) and silently keep only one, we keep both, the later
// queued first.
//
// Structure: an ordered set in queue order plus a name -> key index (looked
// up, never iterated). get_broadcasts does one lower_bound per tier visited
// and O(log n) per item taken, as memberlist's btree walk does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/memberlist/wire.hpp"

namespace core::memberlist {

class TransmitLimitedQueue {
 public:
  static constexpr uint64_t kUnique = UINT64_MAX;

  explicit TransmitLimitedQueue(uint32_t retransmit_mult) : retransmit_mult_(retransmit_mult) {}

  // Queues `item` with zero transmits. `name` != kUnique replaces queued items
  // of that name (their tokens are appended to `finished`).
  void queue(ItemPtr item, uint64_t name, uint64_t notify, std::vector<uint64_t>* finished);

  // Up to `limit` bytes of broadcasts, `overhead` extra bytes per item, for a
  // cluster of `num_nodes` (the retransmit limit is
  // retransmit_limit(retransmit_mult, num_nodes)). Tokens of items retired by
  // this call are appended to `finished`.
  std::vector<ItemPtr> get_broadcasts(uint32_t overhead, uint32_t limit, uint32_t num_nodes,
                                      std::vector<uint64_t>* finished);

  size_t size() const;
  bool empty() const { return size() == 0; }
  // Drops every item; tokens to `finished`.
  void reset(std::vector<uint64_t>* finished);
  // serf's queue-depth check: keeps the `max` least-transmitted items (drops
  // the most transmitted first); tokens of dropped items to `finished`.
  void prune(size_t max, std::vector<uint64_t>* finished);
  // The number of transmits of each queued item, in queue order (for tests).
  std::vector<uint32_t> transmits() const;

 private:
  // An entry's place in queue order; unique within the queue.
  struct Key {
    uint32_t transmits;
    uint32_t bytes;
    int64_t id;    // memberlist's id (restarts when the queue empties)
    uint64_t seq;  // never restarts: keeps keys unique when ids repeat
  };
  struct Entry {
    Key key;
    ItemPtr item;
    uint64_t name;
    uint64_t notify;
  };
  // Fewest transmits, then larger, then higher id, then later seq first.
  struct Order {
    using is_transparent = void;
    static bool less(const Key& a, const Key& b);
    bool operator()(const Entry& a, const Entry& b) const { return less(a.key, b.key); }
    bool operator()(const Entry& a, const Key& b) const { return less(a.key, b); }
    bool operator()(const Key& a, const Entry& b) const { return less(a, b.key); }
  };
  using Set = std::set<Entry, Order>;

  // Takes `it` out of the set (not the name index), restarting ids if the
  // queue is now empty.
  Set::node_type extract(Set::const_iterator it);
  // Drops `it` for good: its name and, if any, its token to `finished`.
  void remove(Set::const_iterator it, std::vector<uint64_t>* finished);

  uint32_t retransmit_mult_;
  Set entries_;
  // Keys rather than iterators, so that a copied queue is sound.
  std::unordered_map<uint64_t, Key> by_name_;
  int64_t id_gen_ = 0;
  uint64_t seq_gen_ = 0;
};

}  // namespace core::memberlist

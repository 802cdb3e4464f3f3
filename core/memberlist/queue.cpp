#include "core/memberlist/queue.hpp"

#include <iterator>
#include <limits>
#include <utility>

#include "core/check.hpp"
#include "core/memberlist/util.hpp"

namespace core::memberlist {

bool TransmitLimitedQueue::Order::less(const Key& a, const Key& b) {
  if (a.transmits != b.transmits) return a.transmits < b.transmits;
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  if (a.id != b.id) return a.id > b.id;
  return a.seq > b.seq;
}

TransmitLimitedQueue::Set::node_type TransmitLimitedQueue::extract(Set::const_iterator it) {
  Set::node_type node = entries_.extract(it);
  // memberlist: "at idle there's no reason to let the id generator keep going".
  if (entries_.empty()) id_gen_ = 0;
  return node;
}

void TransmitLimitedQueue::remove(Set::const_iterator it, std::vector<uint64_t>* finished) {
  if (it->notify != 0) finished->push_back(it->notify);
  if (it->name != kUnique) by_name_.erase(it->name);
  extract(it);
}

void TransmitLimitedQueue::queue(ItemPtr item, uint64_t name, uint64_t notify,
                                 std::vector<uint64_t>* finished) {
  CORE_CHECK(finished != nullptr, "queue: finished must be non-null");
  CORE_CHECK(item != nullptr, "queued broadcasts are non-null");
  // The id is stamped before the invalidated item goes: if that empties the
  // queue, the next item restarts at 1 while this one keeps its id.
  id_gen_ = id_gen_ == std::numeric_limits<int64_t>::max() ? 1 : id_gen_ + 1;
  const Key key{0, item->bytes, id_gen_, ++seq_gen_};

  if (name != kUnique) {
    const auto old = by_name_.find(name);
    if (old != by_name_.end()) {
      const auto it = entries_.find(old->second);
      CORE_CHECK(it != entries_.end(), "the name index matches the queue");
      remove(it, finished);
    }
  }

  const bool inserted = entries_.insert(Entry{key, std::move(item), name, notify}).second;
  CORE_CHECK(inserted, "queue keys are unique");
  if (name != kUnique) by_name_.emplace(name, key);
}

std::vector<ItemPtr> TransmitLimitedQueue::get_broadcasts(uint32_t overhead, uint32_t limit,
                                                          uint32_t num_nodes,
                                                          std::vector<uint64_t>* finished) {
  CORE_CHECK(finished != nullptr, "get_broadcasts: finished must be non-null");
  std::vector<ItemPtr> out;
  if (entries_.empty()) return out;

  const uint32_t transmit_limit = retransmit_limit(retransmit_mult_, num_nodes);
  // Taken items move to a higher tier only after the walk, or the walk would
  // meet them again there.
  std::vector<Set::node_type> reinsert;
  int64_t used = 0;
  uint32_t tier = entries_.begin()->key.transmits;
  const uint32_t top_tier = entries_.rbegin()->key.transmits;
  while (tier <= top_tier) {
    // As memberlist: stop once one more overhead would leave <= 0 bytes.
    const int64_t free = static_cast<int64_t>(limit) - used - overhead;
    if (free <= 0) break;

    // The first item of this tier no larger than `free`: the probe sorts
    // after every larger item of the tier and before every fitting one.
    const Key probe{tier, static_cast<uint32_t>(free), std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<uint64_t>::max()};
    const auto it = entries_.lower_bound(probe);
    if (it == entries_.end()) break;
    if (it->key.transmits != tier) {
      // Nothing fits in this tier. The tiers up to the found item's are empty:
      // jump there (memberlist steps through them one by one, finding nothing).
      tier = it->key.transmits;
      continue;
    }

    used += static_cast<int64_t>(overhead) + it->key.bytes;
    out.push_back(it->item);
    if (it->key.transmits + 1 >= transmit_limit) {
      remove(it, finished);
    } else {
      // The name stays indexed; its key is updated on reinsertion.
      Set::node_type node = extract(it);
      ++node.value().key.transmits;
      reinsert.push_back(std::move(node));
    }
  }
  for (Set::node_type& node : reinsert) {
    const uint64_t name = node.value().name;
    const Key key = node.value().key;
    const bool inserted = entries_.insert(std::move(node)).inserted;
    CORE_CHECK(inserted, "queue keys are unique");
    if (name != kUnique) by_name_.at(name) = key;
  }
  return out;
}

size_t TransmitLimitedQueue::size() const { return entries_.size(); }

void TransmitLimitedQueue::reset(std::vector<uint64_t>* finished) {
  CORE_CHECK(finished != nullptr, "reset: finished must be non-null");
  for (const Entry& e : entries_) {
    if (e.notify != 0) finished->push_back(e.notify);
  }
  entries_.clear();
  by_name_.clear();
  id_gen_ = 0;
}

void TransmitLimitedQueue::prune(size_t max, std::vector<uint64_t>* finished) {
  CORE_CHECK(finished != nullptr, "prune: finished must be non-null");
  while (entries_.size() > max) remove(std::prev(entries_.end()), finished);
}

std::vector<uint32_t> TransmitLimitedQueue::transmits() const {
  std::vector<uint32_t> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.key.transmits);
  return out;
}

}  // namespace core::memberlist

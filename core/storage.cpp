#include "core/storage.hpp"

namespace core {

void Storage::apply(Map& m, const Op& op) {
  switch (op.kind) {
    case OpKind::kPut:
      m.insert_or_assign(op.key, op.arg);
      break;
    case OpKind::kErase: {
      auto it = m.find(op.key);
      if (it != m.end()) m.erase(it);
      break;
    }
    case OpKind::kEraseRange:
      m.erase(m.lower_bound(op.key), m.lower_bound(op.arg));
      break;
  }
}

void Storage::log(OpKind kind, std::string_view key, std::string_view arg) {
  Op op{++seq_, kind, std::string(key), std::string(arg)};
  apply(view_, op);
  pending_.push_back(std::move(op));
}

void Storage::put(std::string_view key, std::string_view value) { log(OpKind::kPut, key, value); }
void Storage::erase(std::string_view key) { log(OpKind::kErase, key, {}); }
void Storage::erase_range(std::string_view from, std::string_view to) {
  if (from < to) log(OpKind::kEraseRange, from, to);
}

const std::string* Storage::get(std::string_view key) const {
  auto it = view_.find(key);
  return it == view_.end() ? nullptr : &it->second;
}

void Storage::mark_durable(uint64_t seq) {
  while (!pending_.empty() && pending_.front().seq <= seq) {
    apply(durable_, pending_.front());
    pending_.pop_front();
  }
  if (seq > durable_seq_) durable_seq_ = seq < seq_ ? seq : seq_;
}

void Storage::crash(bool lose_unsynced) {
  if (lose_unsynced) {
    pending_.clear();
    view_ = durable_;
    seq_ = durable_seq_;
  } else {
    mark_durable(seq_);
  }
}

}  // namespace core

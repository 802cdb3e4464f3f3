// raft::Node: durable state in core::Storage (layout in storage_layout.hpp).
#include "core/raft/node.hpp"

#include <algorithm>
#include <cassert>

#include "core/raft/storage_layout.hpp"

namespace core::raft {

using namespace layout;  // storage keys and encodings, internal to core/raft

// ---------------------------------------------------------------- persistence

void Node::persist_term_vote() {
  Storage& st = env().storage();
  st.put(kTermKey, std::to_string(term_));
  st.put(kVoteKey, std::to_string(vote_term_) + " " + std::to_string(voted_for_));
  env().sync();
}

void Node::persist_entries(size_t from_pos) {
  Storage& st = env().storage();
  for (size_t i = from_pos; i < log_.size(); ++i) st.put(log_key(log_[i].index), encode_entry(log_[i]));
}

void Node::truncate_from(uint64_t index) {
  assert(index >= first_index_);
  if (index <= commit_) {
    // Overwriting a committed entry: only the deliberately broken build
    // (unsafe_skip_vote_log_check) gets here. Keep running so the checkers can
    // report it; the replacement entries will be applied again, and the state
    // machine diverges as it would in such a build.
    assert(cfg_.unsafe_skip_vote_log_check && "never truncate committed entries");
    commit_ = index - 1;
    applied_ = std::min(applied_, commit_);
  }
  env().storage().erase_range(log_key(index), kLogEnd);
  while (!log_.empty() && log_.back().index >= index) log_.pop_back();
  log_confs_.erase(log_confs_.lower_bound(index), log_confs_.end());
  record(kRecordTruncate, index);
  note_config_change();
}

void Node::compact_through(uint64_t index) {
  if (index < first_index_) return;
  env().storage().erase_range(log_key(first_index_), log_key(index + 1));
  while (!log_.empty() && log_.front().index <= index) log_.pop_front();
  first_index_ = index + 1;
}

void Node::persist_snapshot() {
  Storage& st = env().storage();
  std::string value = std::to_string(snapshot_index_) + " " + std::to_string(snapshot_term_) + " " +
                      std::to_string(snapshot_conf_index_) + " " + snapshot_conf_.encode() + "\n";
  if (snapshot_data_) value += *snapshot_data_;
  st.put(kSnapKey, value);
}

void Node::load() {
  const Storage& st = env().storage();
  term_ = 0;
  vote_term_ = 0;
  voted_for_ = kNoNode;
  log_.clear();
  log_confs_.clear();
  snapshot_index_ = snapshot_term_ = snapshot_conf_index_ = 0;
  snapshot_conf_ = Configuration{};
  snapshot_data_.reset();
  if (const std::string* t = st.get(kTermKey)) {
    size_t pos = 0;
    term_ = parse_u64(*t, pos);
  }
  if (const std::string* v = st.get(kVoteKey)) {
    size_t pos = 0;
    vote_term_ = parse_u64(*v, pos);
    voted_for_ = static_cast<NodeId>(parse_u64(*v, pos));
  }
  if (const std::string* snap = st.get(kSnapKey)) {
    const std::string_view v = *snap;
    const size_t nl = v.find('\n');
    assert(nl != std::string_view::npos);
    const std::string_view meta = v.substr(0, nl);
    size_t pos = 0;
    snapshot_index_ = parse_u64(meta, pos);
    snapshot_term_ = parse_u64(meta, pos);
    snapshot_conf_index_ = parse_u64(meta, pos);
    auto conf = Configuration::decode(meta.substr(pos));
    assert(conf.has_value());
    snapshot_conf_ = conf.value_or(Configuration{});
    snapshot_data_ = std::make_shared<const std::string>(v.substr(nl + 1));
  }
  const auto& view = st.view();
  for (auto it = view.lower_bound(kLogPrefix); it != view.end() && it->first < kLogEnd; ++it) {
    Entry e;
    e.index = parse_hex(std::string_view(it->first).substr(std::string_view(kLogPrefix).size()));
    size_t pos = 0;
    e.term = parse_u64(it->second, pos);
    const uint64_t type = parse_u64(it->second, pos);
    assert(type <= static_cast<uint64_t>(EntryType::kBarrier) && "unknown entry type in storage");
    e.type = static_cast<EntryType>(type);
    e.data = it->second.substr(pos);
    assert(log_.empty() || log_.back().index + 1 == e.index);
    if (e.type == EntryType::kConfiguration && e.index > snapshot_conf_index_) {
      log_confs_[e.index] = Configuration::decode(e.data).value_or(Configuration{});
    }
    log_.push_back(std::move(e));
  }
  // A crash in the middle of installing a snapshot (snapshot written, old log
  // not yet removed) leaves a log that does not continue the snapshot: finish
  // the job by dropping it, as the install would have.
  if (snapshot_index_ > 0 && !log_.empty()) {
    const bool gap = log_.front().index > snapshot_index_ + 1 || log_.back().index < snapshot_index_;
    const bool mismatch = !gap && log_.front().index <= snapshot_index_ &&
                          log_[snapshot_index_ - log_.front().index].term != snapshot_term_;
    if (gap || mismatch) {
      env().storage().erase_range(kLogPrefix, kLogEnd);
      log_.clear();
      log_confs_.clear();
    }
  }
  first_index_ = log_.empty() ? snapshot_index_ + 1 : log_.front().index;
}

}  // namespace core::raft

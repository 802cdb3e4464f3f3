#include "core/raft/messages.hpp"

namespace core::raft {

uint64_t entry_hash(EntryType type, const std::string& data) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint8_t byte) {
    h ^= byte;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(type));
  for (char ch : data) mix(static_cast<uint8_t>(ch));
  return h;
}

const char* type_name(uint16_t type) {
  switch (type) {
    case kRequestVote: return "raft.request_vote";
    case kRequestVoteResp: return "raft.request_vote_resp";
    case kRequestPreVote: return "raft.request_prevote";
    case kRequestPreVoteResp: return "raft.request_prevote_resp";
    case kAppendEntries: return "raft.append_entries";
    case kAppendEntriesResp: return "raft.append_entries_resp";
    case kInstallSnapshot: return "raft.install_snapshot";
    case kInstallSnapshotResp: return "raft.install_snapshot_resp";
    case kTimeoutNow: return "raft.timeout_now";
    case kTimeoutNowResp: return "raft.timeout_now_resp";
    default: return "unknown";
  }
}

uint32_t estimate_size(uint16_t /*type*/, const Msg& m) {
  // RPC header (type byte, msgpack map keys for ID/Addr, term, ...).
  constexpr uint64_t kHeader = 48;
  constexpr uint64_t kPerEntry = 32;
  uint64_t size = kHeader;
  if (const auto* ae = std::get_if<AppendEntries>(&m.body)) {
    size += 24;
    for (const Entry& e : ae->entries) size += kPerEntry + e.data.size();
  } else if (const auto* is = std::get_if<InstallSnapshot>(&m.body)) {
    size += 32 + 8 * is->configuration.servers.size() + (is->data ? is->data->size() : 0);
  }
  return size > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(size);
}

namespace {

std::string entry_list(const std::vector<Entry>& entries) {
  std::string out = "[";
  for (const Entry& e : entries) {
    if (out.size() > 1) out += ' ';
    out += std::to_string(e.index) + "/" + std::to_string(e.term);
    if (e.type == EntryType::kNoop) out += ":noop";
    if (e.type == EntryType::kConfiguration) out += ":conf";
    if (e.type == EntryType::kBarrier) out += ":barrier";
  }
  return out + "]";
}

}  // namespace

std::string describe(const Msg& m) {
  struct Visitor {
    std::string operator()(const RequestVote& r) const {
      return "term=" + std::to_string(r.term) + " last=" + std::to_string(r.last_log_index) + "/" +
             std::to_string(r.last_log_term) + (r.leadership_transfer ? " transfer" : "");
    }
    std::string operator()(const RequestPreVote& r) const {
      return "term=" + std::to_string(r.term) + " last=" + std::to_string(r.last_log_index) + "/" +
             std::to_string(r.last_log_term);
    }
    std::string operator()(const VoteResp& r) const {
      return "term=" + std::to_string(r.term) + (r.granted ? " granted" : " rejected");
    }
    std::string operator()(const AppendEntries& r) const {
      if (r.heartbeat) return "term=" + std::to_string(r.term) + " heartbeat";
      std::string out = "term=" + std::to_string(r.term) + " prev=" + std::to_string(r.prev_log_index) +
                        "/" + std::to_string(r.prev_log_term) + " commit=" + std::to_string(r.leader_commit);
      if (!r.entries.empty()) out += " entries=" + entry_list(r.entries);
      return out;
    }
    std::string operator()(const AppendEntriesResp& r) const {
      if (r.heartbeat) return "term=" + std::to_string(r.term) + " heartbeat" + (r.success ? " ok" : " rejected");
      if (r.success) return "term=" + std::to_string(r.term) + " ok match=" + std::to_string(r.match_index);
      return "term=" + std::to_string(r.term) + " rejected prev=" + std::to_string(r.prev_log_index) +
             " last_log=" + std::to_string(r.last_log) + (r.no_retry_backoff ? " no_backoff" : "");
    }
    std::string operator()(const InstallSnapshot& r) const {
      return "term=" + std::to_string(r.term) + " last=" + std::to_string(r.last_index) + "/" +
             std::to_string(r.last_term) + " conf=" + r.configuration.to_string() +
             " bytes=" + std::to_string(r.data ? r.data->size() : 0);
    }
    std::string operator()(const InstallSnapshotResp& r) const {
      return "term=" + std::to_string(r.term) + " last=" + std::to_string(r.last_index) +
             (r.success ? " ok" : " rejected");
    }
    std::string operator()(const TimeoutNow& r) const { return "term=" + std::to_string(r.term); }
    std::string operator()(const TimeoutNowResp& r) const { return "term=" + std::to_string(r.term); }
  };
  return std::visit(Visitor{}, m.body);
}

}  // namespace core::raft

// Internal to core/raft: how a raft::Node lays its durable state out in
// core::Storage. Not part of the public API.
//
// "raft/term"       current term (decimal)
// "raft/vote"       "<term> <candidate>" of the last vote cast
// "raft/log/<16 hex digits of index>"  entry: "<term> <type> " + data, type
//                   the EntryType's number (0 command, 1 no-op,
//                   2 configuration, 3 barrier)
//                   (fixed-width hex keeps index order = key order, so a
//                   suffix truncation or a prefix compaction is one erase_range)
// "raft/snap"       "<index> <term> <conf index> <conf>\n" + state machine
//                   snapshot (one key, so a crash never splits meta from data)
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/raft/messages.hpp"

namespace core::raft::layout {

inline constexpr const char* kTermKey = "raft/term";
inline constexpr const char* kVoteKey = "raft/vote";
inline constexpr const char* kLogPrefix = "raft/log/";
inline constexpr const char* kLogEnd = "raft/log/g";  // > every hex key
inline constexpr const char* kSnapKey = "raft/snap";

inline std::string log_key(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "raft/log/%016llx", static_cast<unsigned long long>(index));
  return buf;
}

inline std::string encode_entry(const Entry& e) {
  return std::to_string(e.term) + " " + std::to_string(static_cast<int>(e.type)) + " " + e.data;
}

// Reads a decimal number at pos and skips one following space.
inline uint64_t parse_u64(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
  if (pos < s.size() && s[pos] == ' ') ++pos;
  return v;
}

inline uint64_t parse_hex(std::string_view s) {
  uint64_t v = 0;
  for (char ch : s) v = v * 16 + static_cast<uint64_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
  return v;
}

}  // namespace core::raft::layout

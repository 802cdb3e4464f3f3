// Cluster membership as hashicorp/raft models it (configuration.go): a list
// of servers, each a voter or a nonvoter. Changes are single-server steps
// (no joint consensus), written to the log as configuration entries that take
// effect when appended.
//
// Invariants: `servers` is sorted by id and holds each id at most once (the
// constructors here and decode() keep it so). Value type, no ownership.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace core::raft {

enum class Suffrage : uint8_t { kVoter = 0, kNonvoter = 1 };

struct Server {
  NodeId id = kNoNode;
  Suffrage suffrage = Suffrage::kVoter;
  bool operator==(const Server&) const = default;
};

struct Configuration {
  std::vector<Server> servers;  // sorted by id, unique

  bool operator==(const Configuration&) const = default;

  // A configuration where every listed id is a voter.
  static Configuration voters(const std::vector<NodeId>& ids);

  const Server* find(NodeId id) const;
  bool has_vote(NodeId id) const;
  size_t voter_count() const;
  // Votes needed to win / acknowledgements needed to commit: voters/2 + 1.
  size_t quorum() const { return voter_count() / 2 + 1; }
  std::vector<NodeId> voter_ids() const;
  // Inserts or replaces `s`, keeping the order.
  void upsert(Server s);
  void remove(NodeId id);

  // Bitmask of the ids < 64 with the given suffrage (for trace records).
  uint64_t mask(Suffrage s) const;

  // Wire/storage text: "v1,v2,n3" (v = voter, n = nonvoter). Empty string
  // for an empty configuration. decode() returns nullopt on malformed text.
  std::string encode() const;
  static std::optional<Configuration> decode(std::string_view text);
  // Human form for transcripts: "{0 1 2 n3}".
  std::string to_string() const;
};

}  // namespace core::raft

// The catalog's Raft commands, as Consul v1.9's FSM applies them
// (agent/consul/fsm/commands_oss.go), their log encoding, and the result of
// applying one.
//
//   RegisterRequest   structs.RegisterRequest: a node, an optional service
//                     and checks, one atomic write (EnsureRegistration).
//   DeregisterRequest structs.DeregisterRequest: one service if service_id is
//                     set, else one check if check_id is set, else the node.
//   KvsRequest        structs.KVSRequest: set, cas, delete, delete-cas,
//                     delete-tree (lock/unlock need sessions: left out).
//   TombstoneRequest  structs.TombstoneRequest (reap): drops KV tombstones up
//                     to an index, as the leader's tombstone GC asks.
//   RestoreRequest    a snapshot restore (Consul's /v1/snapshot PUT): the whole
//                     state replaced by a saved one. Deviation: Consul restores
//                     through raft.Restore (a snapshot installed at the
//                     leader and sent to followers); here the saved state
//                     travels as a log entry, which every replica applies.
//
// Encoding (version 1): a version byte, a type byte, the fields (codec.hpp),
// nothing after. decode() never throws and rejects every malformed input with
// a reason; Consul panics on a command it cannot decode, we apply it as an
// error with no effect, so a corrupt entry cannot stop a replica.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/catalog/types.hpp"

namespace core::catalog {

inline constexpr uint8_t kEncodingVersion = 1;

struct RegisterRequest {
  std::string node;
  std::string node_id;
  uint32_t address = 0;
  std::optional<Service> service;
  // Consul's Check then Checks, in that order: one list here.
  std::vector<Check> checks;
  // Update service/checks without overwriting an existing node's record
  // (the node is still created if missing).
  bool skip_node_update = false;
  bool operator==(const RegisterRequest&) const = default;
};

struct DeregisterRequest {
  std::string node;
  std::string service_id;
  std::string check_id;
  bool operator==(const DeregisterRequest&) const = default;
};

// api.KVOp values that need no session.
enum class KvOp : uint8_t { kSet = 1, kCas = 2, kDelete = 3, kDeleteCas = 4, kDeleteTree = 5 };

struct KvsRequest {
  KvOp op = KvOp::kSet;
  // key (the prefix for delete-tree), value and flags for set/cas, and
  // modify_index: the CAS index (0 = create only if absent) for cas and
  // delete-cas. create_index is ignored.
  KvEntry entry;
  bool operator==(const KvsRequest&) const = default;
};

struct TombstoneRequest {
  uint64_t reap_index = 0;
  bool operator==(const TombstoneRequest&) const = default;
};

struct RestoreRequest {
  std::string snapshot;  // Store::encode_snapshot()
  bool operator==(const RestoreRequest&) const = default;
};

using Command = std::variant<RegisterRequest, DeregisterRequest, KvsRequest, TombstoneRequest, RestoreRequest>;

std::string encode(const Command& c);

struct Decoded {
  std::optional<Command> command;
  std::string error;  // set iff !command
};
Decoded decode(std::string_view bytes);

// What applying a command returned (the FSM's interface{}: nil, an error, or
// a bool for CAS). kFalse: a CAS whose comparison failed (nothing written).
struct ApplyResult {
  enum Code : uint8_t { kOk = 0, kFalse = 1, kError = 2 };
  Code code = kOk;
  std::string error;  // only for kError

  static ApplyResult ok() { return {}; }
  static ApplyResult cas_failed() { return {kFalse, {}}; }
  static ApplyResult failure(std::string why) { return {kError, std::move(why)}; }

  // Text for the Raft client: "ok", "false" or "error <message>".
  std::string encode() const;
  static ApplyResult decode(std::string_view text);
  bool operator==(const ApplyResult&) const = default;
};

}  // namespace core::catalog

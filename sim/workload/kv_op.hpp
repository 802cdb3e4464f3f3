// One operation of the KV client workload and the outcome its target reports.
// Plain values: the workload makes KvOps, a KvTarget (sim/workload/kv.hpp)
// carries them out and answers with a KvResult.
#pragma once

#include <cstdint>
#include <string>

#include "core/agent/read_mode.hpp"

namespace sim {

// Consul's read modes (?consistent, ?stale, or neither). A target that has no
// such notion ignores the mode.
using ReadMode = core::agent::ReadMode;
using core::agent::read_mode_name;

struct KvOp {
  enum class Kind : uint8_t { kPut, kCas, kGet, kDelete };
  Kind kind = Kind::kGet;
  std::string key;
  std::string value;     // put, cas: the new value
  std::string expected;  // cas
  ReadMode mode = ReadMode::kDefault;  // get
};
// The history's name of a kind, as Jepsen names register operations:
// "write" (put), "cas", "read" (get), "delete".
const char* kv_op_name(KvOp::Kind k);

// What a target reports when an operation ends.
struct KvResult {
  enum class Outcome : uint8_t {
    kOk,       // it happened (a cas: its comparison held and it wrote)
    kFail,     // it definitely did not happen: a cas whose comparison failed, or an error before any effect
    kUnknown,  // it may or may not have happened: a timeout, leadership lost after the write was accepted
  };
  Outcome outcome = Outcome::kOk;
  // get: the key existed, and value is what was read; delete, cas: the key
  // existed (a delete of an absent key is kOk with found false).
  bool found = false;
  std::string value;   // get: the value read; a failed cas: the current value, when the target knows it
  uint64_t index = 0;  // the Raft index at which the operation was applied; 0 when unknown
  std::string error;   // kFail, kUnknown: why; empty for a cas whose comparison failed
};

}  // namespace sim

// One operation of the KV client workload. A plain value: the workload makes
// KvOps, a KvTarget (sim/workload/kv.hpp) carries them out.
#pragma once

#include <cstdint>
#include <string>

namespace sim {

// Consul's read modes (?consistent, ?stale, or neither). A target that has no
// such notion ignores the mode.
enum class ReadMode : uint8_t { kDefault, kConsistent, kStale };
// "default", "consistent", "stale".
const char* read_mode_name(ReadMode m);

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

}  // namespace sim

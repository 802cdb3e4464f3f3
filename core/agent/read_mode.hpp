// Consul's read consistency modes (QueryOptions.AllowStale /
// RequireConsistent; default is neither). Shared by the agent's RPC and the
// simulator's KV workload, which asks for a mode per read.
#pragma once

#include <cstdint>

namespace core::agent {

enum class ReadMode : uint8_t { kDefault = 0, kConsistent = 1, kStale = 2 };
// "default", "consistent", "stale".
const char* read_mode_name(ReadMode m);

}  // namespace core::agent

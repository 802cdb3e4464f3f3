// Basic vocabulary shared by every protocol and by the simulator.
//
// Time is integer nanoseconds everywhere (DESIGN.md, determinism rule 1). A
// `Time` is a point on some clock; a `Duration` is a difference. Both are
// int64_t so arithmetic stays exact and identical on every compiler.
#pragma once

#include <cstdint>
#include <limits>

namespace core {

using Time = int64_t;      // nanoseconds on a clock
using Duration = int64_t;  // nanoseconds
using NodeId = uint32_t;   // index of a node in its cluster, dense from 0

inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();
inline constexpr Time kNever = std::numeric_limits<Time>::max();

inline constexpr Duration kNanosecond = 1;
inline constexpr Duration kMicrosecond = 1000;
inline constexpr Duration kMillisecond = 1000 * kMicrosecond;
inline constexpr Duration kSecond = 1000 * kMillisecond;

}  // namespace core

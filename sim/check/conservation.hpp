// Message conservation, the engine's own invariant, available in every stack:
// every message sent, and every copy the network made, is delivered, dropped
// or still in flight. Counts in, verdict out; no simulator inside.
#pragma once

#include <cstdint>
#include <optional>

#include "sim/check/violation.hpp"

namespace sim {

struct MessageCounts {
  uint64_t sent = 0;
  uint64_t duplicated = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t in_flight = 0;
};

// nullopt when the counts balance; else a violation dated `now` at `trace_position`.
std::optional<Violation> check_conservation(const MessageCounts& c, core::Time now, uint64_t trace_position);

}  // namespace sim

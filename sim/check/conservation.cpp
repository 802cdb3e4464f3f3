#include "sim/check/conservation.hpp"

#include <string>

namespace sim {

std::optional<Violation> check_conservation(const MessageCounts& c, core::Time now, uint64_t trace_position) {
  const uint64_t in = c.sent + c.duplicated;
  const uint64_t out = c.delivered + c.dropped + c.in_flight;
  if (in == out) return std::nullopt;
  Violation v;
  v.time = now;
  v.trace_position = trace_position;
  v.property = "message_conservation";
  v.description = "sent + duplicated = " + std::to_string(in) + " but delivered + dropped + in flight = " + std::to_string(out);
  return v;
}

}  // namespace sim

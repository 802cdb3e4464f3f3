// A safety violation found by a checker: when, where in the trace, which
// property, and what went wrong. Plain value; no simulator inside.
#pragma once

#include <cstdint>
#include <string>

#include "core/types.hpp"

namespace sim {

struct Violation {
  core::Time time = 0;
  uint64_t trace_position = 0;  // trace events folded so far
  std::string property;
  std::string description;  // nodes, term/index, what went wrong
};

}  // namespace sim

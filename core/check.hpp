// Always-on checks of protocol invariants (STYLE.md, example 9: assert
// densely; an always-on check that stops the run turns a silent state
// corruption into a reproducer).
//
// CORE_CHECK(cond, what) throws core::InvariantViolation when `cond` is false,
// in every build type. Use it for cheap checks of a node's own state after an
// input; costly ones stay in assert() (debug builds). The host decides what a
// violation means: the simulator stops the run and reports it with the time,
// the node and the event (a bug, never a property of the scenario).
#pragma once

#include <stdexcept>
#include <string>

namespace core {

class InvariantViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace core

#define CORE_CHECK(cond, what)                                                                   \
  do {                                                                                           \
    if (!(cond)) throw ::core::InvariantViolation(std::string(what) + " (" #cond ")");         \
  } while (false)

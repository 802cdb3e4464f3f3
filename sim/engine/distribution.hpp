// Latency distributions of links and storage, sampled with hand-written
// formulas from core::Rng (DESIGN.md, determinism rule 2). Parameters carry
// their unit in the name. Every sample is clamped to [0, cap_ns]; a
// distribution that is constant draws nothing from the stream.
#pragma once

#include <cstdint>
#include <string>

#include "core/random.hpp"
#include "core/types.hpp"

namespace sim {

struct Distribution {
  enum class Kind : uint8_t { kConstant, kUniform, kNormal, kLognormal, kPareto };
  Kind kind = Kind::kConstant;
  core::Duration a_ns = 0;  // constant value | uniform low | normal mean | lognormal median | pareto minimum
  core::Duration b_ns = 0;  // uniform high | normal stddev
  double shape = 0.0;       // lognormal sigma | pareto alpha
  core::Duration cap_ns = 3600 * core::kSecond;  // upper clamp for unbounded tails

  static Distribution constant(core::Duration v) { return {Kind::kConstant, v, 0, 0.0, 3600 * core::kSecond}; }
  static Distribution uniform(core::Duration lo, core::Duration hi) { return {Kind::kUniform, lo, hi, 0.0, 3600 * core::kSecond}; }

  bool operator==(const Distribution&) const = default;
  bool is_constant() const { return kind == Kind::kConstant; }
  bool is_zero() const { return kind == Kind::kConstant && a_ns == 0; }
  core::Duration sample(core::Rng& rng) const;
  // The distribution's mean (for routing weights and reports).
  double mean_ns() const;
  // Human-readable, e.g. "uniform(1ms, 5ms)".
  std::string describe() const;
};

// "150ms", "2s", "1.5us", "10ns", "1m", "1h" -> nanoseconds. Returns false on a
// malformed string or a value that does not fit in int64 nanoseconds.
bool parse_duration(const std::string& text, core::Duration& out);
std::string format_duration(core::Duration d);

}  // namespace sim

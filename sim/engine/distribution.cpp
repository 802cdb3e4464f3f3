#include "sim/engine/distribution.hpp"

#include <cmath>
#include <cstdio>

#include "core/int128.hpp"

namespace sim {

namespace {
core::Duration clamp(double v, core::Duration cap) {
  if (!(v > 0.0)) return 0;  // also catches NaN
  if (v >= static_cast<double>(cap)) return cap;
  return static_cast<core::Duration>(v);
}
}  // namespace

core::Duration Distribution::sample(core::Rng& rng) const {
  switch (kind) {
    case Kind::kConstant:
      return a_ns;
    case Kind::kUniform:
      return rng.range(a_ns, b_ns);
    case Kind::kNormal:
      return clamp(rng.normal(static_cast<double>(a_ns), static_cast<double>(b_ns)), cap_ns);
    case Kind::kLognormal:
      return clamp(static_cast<double>(a_ns) * rng.lognormal(0.0, shape), cap_ns);
    case Kind::kPareto:
      return clamp(rng.pareto(static_cast<double>(a_ns), shape), cap_ns);
  }
  return a_ns;
}

double Distribution::mean_ns() const {
  switch (kind) {
    case Kind::kConstant: return static_cast<double>(a_ns);
    case Kind::kUniform: return (static_cast<double>(a_ns) + static_cast<double>(b_ns)) / 2.0;
    case Kind::kNormal: return static_cast<double>(a_ns);
    case Kind::kLognormal: return static_cast<double>(a_ns) * std::exp(shape * shape / 2.0);
    case Kind::kPareto:
      return shape > 1.0 ? static_cast<double>(a_ns) * shape / (shape - 1.0) : static_cast<double>(cap_ns);
  }
  return 0.0;
}

std::string Distribution::describe() const {
  switch (kind) {
    case Kind::kConstant: return "constant(" + format_duration(a_ns) + ")";
    case Kind::kUniform: return "uniform(" + format_duration(a_ns) + ", " + format_duration(b_ns) + ")";
    case Kind::kNormal: return "normal(mean " + format_duration(a_ns) + ", stddev " + format_duration(b_ns) + ")";
    case Kind::kLognormal: return "lognormal(median " + format_duration(a_ns) + ", sigma " + std::to_string(shape) + ")";
    case Kind::kPareto: return "pareto(min " + format_duration(a_ns) + ", alpha " + std::to_string(shape) + ")";
  }
  return "?";
}

bool parse_duration(const std::string& text, core::Duration& out) {
  // number (digits with an optional fraction) followed by a unit, no spaces.
  size_t i = 0;
  const size_t n = text.size();
  if (n == 0) return false;
  int64_t whole = 0;
  size_t digits = 0;
  while (i < n && text[i] >= '0' && text[i] <= '9') {
    const int digit = text[i] - '0';
    if (whole > (INT64_MAX - digit) / 10) return false;
    whole = whole * 10 + digit;
    ++i;
    ++digits;
  }
  int64_t frac = 0, frac_scale = 1;
  if (i < n && text[i] == '.') {
    ++i;
    size_t fd = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (fd < 9) {
        frac = frac * 10 + (text[i] - '0');
        frac_scale *= 10;
      }
      ++i;
      ++fd;
    }
    if (fd == 0) return false;
  }
  if (digits == 0) return false;
  const std::string unit = text.substr(i);
  int64_t mult = 0;
  if (unit == "ns") mult = 1;
  else if (unit == "us" || unit == "µs") mult = core::kMicrosecond;
  else if (unit == "ms") mult = core::kMillisecond;
  else if (unit == "s") mult = core::kSecond;
  else if (unit == "m") mult = 60 * core::kSecond;
  else if (unit == "h") mult = 3600 * core::kSecond;
  else return false;
  if (whole > INT64_MAX / mult) return false;
  const core::int128 total = static_cast<core::int128>(whole) * mult + static_cast<core::int128>(frac) * mult / frac_scale;
  if (total > INT64_MAX) return false;
  out = static_cast<core::Duration>(total);
  return true;
}

std::string format_duration(core::Duration d) {
  char buf[64];
  const char* sign = d < 0 ? "-" : "";
  const uint64_t v = d < 0 ? static_cast<uint64_t>(-(d + 1)) + 1 : static_cast<uint64_t>(d);
  struct Unit { uint64_t ns; const char* name; };
  static constexpr Unit units[] = {{3600000000000ull, "h"}, {60000000000ull, "m"}, {1000000000ull, "s"},
                                   {1000000ull, "ms"},      {1000ull, "us"}};
  for (const auto& u : units) {
    if (v >= u.ns && v % u.ns == 0) {
      std::snprintf(buf, sizeof buf, "%s%llu%s", sign, static_cast<unsigned long long>(v / u.ns), u.name);
      return buf;
    }
  }
  for (const auto& u : units) {
    if (v >= u.ns) {
      std::snprintf(buf, sizeof buf, "%s%.3f%s", sign, static_cast<double>(v) / static_cast<double>(u.ns), u.name);
      return buf;
    }
  }
  std::snprintf(buf, sizeof buf, "%s%lluns", sign, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace sim

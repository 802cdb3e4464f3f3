// Summaries of samples for run metrics: count, min, p50, p90, p99, max.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include <nlohmann/json.hpp>

namespace sim {

// {"count": n, "min_ns", "p50_ns", "p90_ns", "p99_ns", "max_ns"} (only count
// when empty). Quantile q is the sample at floor(q * n) of the sorted samples.
nlohmann::json quantiles_ns(std::vector<int64_t> samples);
// "n=12 min 1.1s p50 1.9s p90 2.5s p99 2.7s max 2.7s" from quantiles_ns().
std::string describe_quantiles(const nlohmann::json& q);

}  // namespace sim

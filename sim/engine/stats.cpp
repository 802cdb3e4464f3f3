#include "sim/engine/stats.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sim/engine/distribution.hpp"

namespace sim {

nlohmann::json quantiles_ns(std::vector<int64_t> v) {
  nlohmann::json j = {{"count", v.size()}};
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(std::floor(p * static_cast<double>(v.size()))))];
  };
  j["min_ns"] = v.front();
  j["p50_ns"] = q(0.50);
  j["p90_ns"] = q(0.90);
  j["p99_ns"] = q(0.99);
  j["max_ns"] = v.back();
  return j;
}

namespace {
// A readable duration with three significant digits: "1.93s", "812ms", "4.2us".
std::string short_duration(int64_t ns) {
  const double v = static_cast<double>(ns);
  char buf[32];
  // The unit is chosen after rounding to three digits: 999.9996 ms is "1s",
  // not "1e+03ms".
  if (ns >= 999500000) std::snprintf(buf, sizeof buf, "%.3gs", v / 1e9);
  else if (ns >= 999500) std::snprintf(buf, sizeof buf, "%.3gms", v / 1e6);
  else if (ns >= 1000) std::snprintf(buf, sizeof buf, "%.3gus", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  return buf;
}
}  // namespace

std::string describe_quantiles(const nlohmann::json& q) {
  std::string out = "n=" + std::to_string(q.value("count", 0));
  for (const char* k : {"min", "p50", "p90", "p99", "max"}) {
    const std::string key = std::string(k) + "_ns";
    if (q.contains(key)) out += std::string(" ") + k + " " + short_duration(q[key].get<int64_t>());
  }
  return out;
}

}  // namespace sim

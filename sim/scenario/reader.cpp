#include "sim/scenario/reader.hpp"

#include <cmath>
#include <cstdlib>
#include <set>

namespace sim {

using nlohmann::json;

const char* json_type_word(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

namespace {
const json& null_json() {
  static const json n;
  return n;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace

void Reader::error(const std::string& message) const { errors_->push_back({path_, message}); }

bool Reader::has(std::string_view key) const { return v_->is_object() && v_->contains(key); }

Reader Reader::operator[](std::string_view key) const {
  const nlohmann::json* child = &null_json();
  if (v_->is_object()) {
    auto it = v_->find(key);
    if (it != v_->end()) child = &*it;
  }
  return Reader(*child, path_ + "." + std::string(key), *errors_);
}

Reader Reader::operator[](size_t i) const {
  const nlohmann::json* child = v_->is_array() && i < v_->size() ? &(*v_)[i] : &null_json();
  return Reader(*child, path_ + "[" + std::to_string(i) + "]", *errors_);
}

bool Reader::any_object() const {
  if (v_->is_object()) return true;
  error(std::string("expected an object, got ") + json_type_word(*v_));
  return false;
}

bool Reader::object(const std::vector<std::string>& allowed) const {
  if (!any_object()) return false;
  for (auto it = v_->begin(); it != v_->end(); ++it) {
    bool ok = false;
    for (const std::string& a : allowed) ok |= it.key() == a;
    if (!ok) (*this)[it.key()].error("unknown key (expected one of: " + join(allowed) + ")");
  }
  return true;
}

bool Reader::object(std::initializer_list<std::string_view> allowed) const {
  return object(std::vector<std::string>(allowed.begin(), allowed.end()));
}

bool Reader::array(size_t min_size) const {
  if (!v_->is_array()) {
    error(std::string("expected an array, got ") + json_type_word(*v_));
    return false;
  }
  if (v_->size() < min_size) {
    error("expected at least " + std::to_string(min_size) + " element" + (min_size == 1 ? "" : "s"));
    return false;
  }
  return true;
}

bool Reader::require(std::string_view key, std::string_view example) const {
  if (has(key)) return true;
  error("missing key \"" + std::string(key) + "\"" + (example.empty() ? "" : " (" + std::string(example) + ")"));
  return false;
}

bool Reader::string(std::string& out) const {
  if (!v_->is_string()) {
    error(std::string("expected a string, got ") + json_type_word(*v_));
    return false;
  }
  out = v_->get<std::string>();
  return true;
}

bool Reader::boolean(bool& out) const {
  if (!v_->is_boolean()) {
    error(std::string("expected true or false, got ") + json_type_word(*v_));
    return false;
  }
  out = v_->get<bool>();
  return true;
}

bool Reader::integer(int64_t& out, int64_t lo, int64_t hi) const {
  const std::string range = "expected " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v_->is_number_integer() && !v_->is_number_unsigned()) {
    error(std::string("expected an integer, got ") + json_type_word(*v_));
    return false;
  }
  if (v_->is_number_unsigned() && v_->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    error("value " + v_->dump() + " is out of range (" + range + ")");
    return false;
  }
  const int64_t v = v_->get<int64_t>();
  if (v < lo || v > hi) {
    error("value " + v_->dump() + " is out of range (" + range + ")");
    return false;
  }
  out = v;
  return true;
}

bool Reader::count(uint64_t& out, uint64_t lo, uint64_t hi) const {
  // Without an upper bound, "0 to 18446744073709551615" would be noise.
  const bool unbounded = lo == 0 && hi == UINT64_MAX;
  const std::string range = "expected " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v_->is_number_unsigned() && !(v_->is_number_integer() && v_->get<int64_t>() >= 0)) {
    if (unbounded)
      error("expected a non-negative integer, got " + (v_->is_number() ? v_->dump() : std::string(json_type_word(*v_))));
    else if (v_->is_number_integer()) error("value " + v_->dump() + " is out of range (" + range + ")");
    else error(std::string("expected an integer, got ") + json_type_word(*v_));
    return false;
  }
  const uint64_t v = v_->get<uint64_t>();
  if (v < lo || v > hi) {
    error("value " + v_->dump() + " is out of range (" + range + ")");
    return false;
  }
  out = v;
  return true;
}

bool Reader::number(double& out, double lo, double hi) const {
  if (!v_->is_number()) {
    error(std::string("expected a number, got ") + json_type_word(*v_));
    return false;
  }
  const double v = v_->get<double>();
  if (!(v >= lo && v <= hi)) {
    const nlohmann::json a = lo, b = hi;
    error("value " + v_->dump() + " is out of range (expected " + a.dump() + " to " + b.dump() + ")");
    return false;
  }
  out = v;
  return true;
}

bool Reader::probability(double& out) const {
  if (!v_->is_number()) {
    error(std::string("expected a probability between 0 and 1, got ") + json_type_word(*v_));
    return false;
  }
  const double v = v_->get<double>();
  if (!(v >= 0.0 && v <= 1.0)) {
    error("probability " + v_->dump() + " is out of range (expected 0 <= p <= 1)");
    return false;
  }
  out = v;
  return true;
}

bool Reader::duration(core::Duration& out, Sign sign) const {
  if (!v_->is_string()) {
    error(std::string("expected a duration string such as \"150ms\" or \"2s\", got ") + json_type_word(*v_));
    return false;
  }
  std::string s = v_->get<std::string>();
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s = s.substr(1);
  core::Duration d = 0;
  if (!parse_duration(s, d)) {
    error("malformed duration \"" + v_->get<std::string>() + "\" (expected a number and a unit: ns, us, ms, s, m or h, e.g. " +
          (sign == Sign::kSigned ? "\"150ms\" or \"-300ms\")" : "\"150ms\")"));
    return false;
  }
  if (negative && sign != Sign::kSigned) {
    error("negative duration \"" + v_->get<std::string>() + "\" is not allowed here (expected " +
          (sign == Sign::kPositive ? "more than 0" : "0 or more") + ", e.g. \"150ms\")");
    return false;
  }
  if (d == 0 && sign == Sign::kPositive) {
    error("duration \"" + v_->get<std::string>() + "\" must be more than 0 (e.g. \"150ms\")");
    return false;
  }
  out = negative ? -d : d;
  return true;
}

bool Reader::distribution(Distribution& out) const {
  std::string err;
  if (parse_distribution(*v_, out, err)) return true;
  error(err);
  return false;
}

bool Reader::bandwidth(uint64_t& out) const {
  static const std::pair<const char*, uint64_t> units[] = {
      {"Gbps", 1000000000ull}, {"Mbps", 1000000ull}, {"Kbps", 1000ull}, {"bps", 1ull}};
  if (v_->is_string()) {
    const std::string s = v_->get<std::string>();
    for (const auto& [u, mult] : units) {
      const std::string unit(u);
      if (s.size() > unit.size() && s.compare(s.size() - unit.size(), unit.size(), unit) == 0) {
        const std::string num = s.substr(0, s.size() - unit.size());
        char* end = nullptr;
        const double v = std::strtod(num.c_str(), &end);
        if (end && *end == '\0' && v > 0 && v * static_cast<double>(mult) < 1e15) {
          const auto bps = static_cast<uint64_t>(v * static_cast<double>(mult));
          if (bps > 0) {
            out = bps;
            return true;
          }
        }
        break;
      }
    }
  }
  error("expected a bandwidth such as \"100Mbps\" or \"1Gbps\" (units bps, Kbps, Mbps, Gbps; positive)");
  return false;
}

bool Reader::choice(std::string& out, std::initializer_list<std::string_view> choices) const {
  std::vector<std::string> list(choices.begin(), choices.end());
  std::string s;
  if (v_->is_string()) {
    s = v_->get<std::string>();
    for (const std::string& c : list)
      if (s == c) {
        out = s;
        return true;
      }
  }
  std::string quoted;
  for (const std::string& c : list) quoted += (quoted.empty() ? "\"" : ", \"") + c + "\"";
  error("expected one of " + quoted + ", got " + (v_->is_string() ? "\"" + s + "\"" : json_type_word(*v_)));
  return false;
}

bool Reader::name_list(std::vector<uint32_t>& out, const std::vector<std::string>& names, std::string_view what) const {
  if (!v_->is_array() || v_->empty()) {
    error("expected a non-empty list of " + std::string(what) + " names");
    return false;
  }
  std::vector<uint32_t> got;
  std::set<uint32_t> seen;
  bool ok = true;
  for (size_t i = 0; i < v_->size(); ++i) {
    const Reader r = (*this)[i];
    uint32_t index = UINT32_MAX;
    if (r.json().is_string())
      for (uint32_t n = 0; n < names.size(); ++n)
        if (names[n] == r.json().get<std::string>()) index = n;
    if (index == UINT32_MAX) {
      r.error("expected the name of a " + std::string(what) + ", got " + r.json().dump());
      ok = false;
    } else if (!seen.insert(index).second) {
      r.error(std::string(what) + " listed twice");
      ok = false;
    } else {
      got.push_back(index);
    }
  }
  if (ok) out = std::move(got);
  return ok;
}

std::string format_bandwidth(uint64_t bps) {
  if (bps % 1000000000ull == 0) return std::to_string(bps / 1000000000ull) + "Gbps";
  if (bps % 1000000ull == 0) return std::to_string(bps / 1000000ull) + "Mbps";
  if (bps % 1000ull == 0) return std::to_string(bps / 1000ull) + "Kbps";
  return std::to_string(bps) + "bps";
}

std::string write_duration(core::Duration d) {
  const std::string text = format_duration(d);
  const bool negative = d < 0;
  core::Duration back = 0;
  if (parse_duration(negative ? text.substr(1) : text, back) && (negative ? -back : back) == d) return text;
  // Whole nanoseconds are always exact (INT64_MIN has no positive twin; it
  // is not a duration the reader produces).
  return std::to_string(d) + "ns";
}

json write_distribution(const Distribution& d) {
  const auto dur = [](core::Duration v) { return write_duration(v); };
  switch (d.kind) {
    case Distribution::Kind::kConstant: return dur(d.a_ns);
    case Distribution::Kind::kUniform: return {{"uniform", {dur(d.a_ns), dur(d.b_ns)}}};
    case Distribution::Kind::kNormal: return {{"normal", {{"mean", dur(d.a_ns)}, {"stddev", dur(d.b_ns)}}}};
    case Distribution::Kind::kLognormal: return {{"lognormal", {{"median", dur(d.a_ns)}, {"sigma", d.shape}}}};
    case Distribution::Kind::kPareto:
      return {{"pareto", {{"min", dur(d.a_ns)}, {"alpha", d.shape}, {"cap", dur(d.cap_ns)}}}};
  }
  return nullptr;
}

// ---------------------------------------------------------------- distributions

bool parse_distribution(const json& j, Distribution& out, std::string& error) {
  auto dur = [&](const json& v, const char* what, core::Duration& d) {
    if (!v.is_string() || !parse_duration(v.get<std::string>(), d)) {
      error = std::string("expected a duration string for ") + what + " (e.g. \"5ms\"), got " + v.dump();
      return false;
    }
    return true;
  };
  auto positive = [&](const json& v, const char* what, double& x) {
    if (!v.is_number() || !(v.get<double>() > 0.0) || !std::isfinite(v.get<double>())) {
      error = std::string("expected a positive number for ") + what + ", got " + v.dump();
      return false;
    }
    x = v.get<double>();
    return true;
  };
  const char* forms =
      "expected a duration (\"5ms\") or one of {\"constant\": D}, {\"uniform\": [LO, HI]}, "
      "{\"normal\": {\"mean\": D, \"stddev\": D}}, {\"lognormal\": {\"median\": D, \"sigma\": X}}, "
      "{\"pareto\": {\"min\": D, \"alpha\": X, \"cap\": D}}";
  if (j.is_string()) {
    core::Duration d;
    if (!dur(j, "the latency", d)) return false;
    out = Distribution::constant(d);
    return true;
  }
  if (!j.is_object() || j.size() != 1) {
    error = forms;
    return false;
  }
  const std::string kind = j.begin().key();
  const json& v = j.begin().value();
  if (kind == "constant") {
    core::Duration d;
    if (!dur(v, "constant", d)) return false;
    out = Distribution::constant(d);
    return true;
  }
  if (kind == "uniform") {
    core::Duration lo, hi;
    if (!v.is_array() || v.size() != 2) {
      error = "uniform expects [LOW, HIGH], e.g. [\"1ms\", \"5ms\"]";
      return false;
    }
    if (!dur(v[0], "uniform low", lo) || !dur(v[1], "uniform high", hi)) return false;
    if (lo > hi) {
      error = "uniform low " + v[0].dump() + " is above high " + v[1].dump();
      return false;
    }
    out = Distribution::uniform(lo, hi);
    return true;
  }
  auto keys = [&](std::initializer_list<const char*> allowed, std::initializer_list<const char*> required) {
    if (!v.is_object()) {
      error = kind + " expects an object";
      return false;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      bool ok = false;
      for (const char* a : allowed) ok |= it.key() == a;
      if (!ok) {
        error = "unknown key \"" + it.key() + "\" in " + kind;
        return false;
      }
    }
    for (const char* r : required)
      if (!v.contains(r)) {
        error = kind + " needs \"" + r + "\"";
        return false;
      }
    return true;
  };
  Distribution d;
  if (kind == "normal") {
    if (!keys({"mean", "stddev"}, {"mean", "stddev"})) return false;
    d.kind = Distribution::Kind::kNormal;
    if (!dur(v["mean"], "normal mean", d.a_ns) || !dur(v["stddev"], "normal stddev", d.b_ns)) return false;
  } else if (kind == "lognormal") {
    if (!keys({"median", "sigma"}, {"median", "sigma"})) return false;
    d.kind = Distribution::Kind::kLognormal;
    if (!dur(v["median"], "lognormal median", d.a_ns) || !positive(v["sigma"], "lognormal sigma", d.shape)) return false;
  } else if (kind == "pareto") {
    if (!keys({"min", "alpha", "cap"}, {"min", "alpha"})) return false;
    d.kind = Distribution::Kind::kPareto;
    if (!dur(v["min"], "pareto min", d.a_ns) || !positive(v["alpha"], "pareto alpha", d.shape)) return false;
    if (v.contains("cap") && !dur(v["cap"], "pareto cap", d.cap_ns)) return false;
    if (d.cap_ns < d.a_ns) {
      error = "pareto cap is below its minimum";
      return false;
    }
  } else {
    error = "unknown distribution \"" + kind + "\"; " + forms;
    return false;
  }
  out = d;
  return true;
}

}  // namespace sim

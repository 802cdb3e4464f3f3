// The one path-aware JSON reader of scenario files (STYLE.md, example 8:
// validate at the boundary). Every section of a scenario — the document, the
// network, each protocol layer's settings, each workload — is read through
// it, so every error has the same wording and names its JSON path:
//
//   $.raft.heartbeat_timeout: expected a duration such as "150ms" or "2s", got 5
//
// A Reader is a (value, path) pair plus the list errors go to; it never
// throws. Each typed read checks the value, reports what is wrong at the
// reader's path and returns false, leaving `out` unchanged; the caller keeps
// going, so that one pass reports every error of a document.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "sim/engine/distribution.hpp"

namespace sim {

struct ScenarioError {
  std::string path;     // JSON path, "$" for the whole document
  std::string message;  // what was wrong and what was expected
  std::string str() const { return path + ": " + message; }
};
using Errors = std::vector<ScenarioError>;

// "an integer", "a string", ... for messages.
const char* json_type_word(const nlohmann::json& j);

class Reader {
 public:
  Reader(const nlohmann::json& value, std::string path, Errors& errors)
      : v_(&value), path_(std::move(path)), errors_(&errors) {}

  const nlohmann::json& json() const { return *v_; }
  const std::string& path() const { return path_; }
  Errors& errors() const { return *errors_; }
  bool is_null() const { return v_->is_null(); }
  // Reports `message` at this reader's path.
  void error(const std::string& message) const;

  // ---- children ----
  // True when this is an object holding `key`.
  bool has(std::string_view key) const;
  // The child at `key` ("$.a" -> "$.a.key"); a null value when absent.
  Reader operator[](std::string_view key) const;
  // The element at `i` ("$.a" -> "$.a[i]").
  Reader operator[](size_t i) const;
  size_t size() const { return v_->size(); }

  // ---- shapes ----
  // An object whose keys are all in `allowed`; an unknown key is reported at
  // its own path with the list of allowed keys.
  bool object(std::initializer_list<std::string_view> allowed) const;
  bool object(const std::vector<std::string>& allowed) const;
  // An object (any keys).
  bool any_object() const;
  // An array of at least `min_size` elements.
  bool array(size_t min_size = 0) const;
  // Reports `key` missing (with an example of what goes there) unless present.
  bool require(std::string_view key, std::string_view example = {}) const;

  // ---- values ----
  bool string(std::string& out) const;
  bool boolean(bool& out) const;
  // An integer in [lo, hi].
  bool integer(int64_t& out, int64_t lo, int64_t hi) const;
  // A non-negative integer in [lo, hi]; with hi = UINT64_MAX and lo = 0 the
  // errors say "expected a non-negative integer, got -1".
  bool count(uint64_t& out, uint64_t lo, uint64_t hi) const;
  // Any JSON number in [lo, hi].
  bool number(double& out, double lo, double hi) const;
  bool probability(double& out) const;
  enum class Sign : uint8_t { kNonNegative, kPositive, kSigned };
  // A duration string: a number and a unit, "150ms", "2s"; with kSigned also
  // a leading "-" ("-300ms"), which elsewhere is reported as negative.
  bool duration(core::Duration& out, Sign sign = Sign::kNonNegative) const;
  // A latency distribution: a duration or {"uniform": [...]}, ...
  bool distribution(Distribution& out) const;
  // "100Mbps", "1Gbps" (bps, Kbps, Mbps, Gbps).
  bool bandwidth(uint64_t& out) const;
  // One of the given strings.
  bool choice(std::string& out, std::initializer_list<std::string_view> choices) const;
  // A non-empty list of distinct names, each one of `names` (reported as
  // "a <what>"); out gets their indexes into `names`, in the given order.
  bool name_list(std::vector<uint32_t>& out, const std::vector<std::string>& names, std::string_view what) const;

 private:
  const nlohmann::json* v_;
  std::string path_;
  Errors* errors_;
};

// The shared value form of distributions (also used by the Python layer and
// tests); false with `error` set (without a path) when malformed.
bool parse_distribution(const nlohmann::json& j, Distribution& out, std::string& error);

// Bandwidth text as the reader accepts it back: "1Gbps", "2500Kbps", "7bps".
std::string format_bandwidth(uint64_t bps);
// A duration as text the reader accepts back exactly: format_duration's form
// ("150ms", "1500us", "-300ms") when that is exact, else whole nanoseconds
// ("1000001ns"), since format_duration rounds to three decimals.
std::string write_duration(core::Duration d);
// A distribution as JSON the reader accepts back (parse(write(d)) == d).
nlohmann::json write_distribution(const Distribution& d);

}  // namespace sim

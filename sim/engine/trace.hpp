// The run's fingerprint and its optional event log.
//
// TraceHash folds fixed-size binary records of everything the protocols and the
// world did (deliveries, drops, duplicates, fired timers, protocol records,
// faults) into a rolling 64-bit hash. It is always on and costs a few
// multiplies per event; it never formats text.
//
// TraceWriter writes the same events as JSON Lines when a trace file is asked
// for. It writes to "<path>.partial" and renames to <path> only when the run
// finishes (commit()), so an interrupted run never leaves a file that looks
// complete. Whether a writer is attached never changes the hash (rule 6).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace sim {

// Trace event codes folded into the hash. Stable: changing them changes every
// golden hash.
enum class TraceCode : uint64_t {
  kDeliver = 1,
  kDrop = 2,
  kDuplicate = 3,
  kTimer = 4,
  kRecord = 5,
  kFault = 6,
};

class TraceHash {
 public:
  void fold(uint64_t w) {
    h_ ^= w * 0x9E3779B97F4A7C15ull;
    h_ = ((h_ << 29) | (h_ >> 35)) * 0xBF58476D1CE4E5B9ull;
  }
  void fold(TraceCode c, int64_t time, uint64_t x, uint64_t y, uint64_t z) {
    fold(static_cast<uint64_t>(c));
    fold(static_cast<uint64_t>(time));
    fold(x);
    fold(y);
    fold(z);
    ++events_;
  }
  // Final value: one more avalanche so that short traces differ in every bit.
  uint64_t value() const {
    uint64_t z = h_ ^ (events_ * 0x94D049BB133111EBull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t events() const { return events_; }

 private:
  uint64_t h_ = 0x243F6A8885A308D3ull;
  uint64_t events_ = 0;
};

std::string hex16(uint64_t v);

// One event of the JSON Lines trace: {"t":T,"ev":"NAME",...}, fields in the
// order they are added. Built only when a trace writer is attached.
class TraceLine {
 public:
  TraceLine(int64_t t, std::string_view ev);
  // A string field, escaped for JSON.
  TraceLine& str(std::string_view key, std::string_view value);
  template <typename T>
  TraceLine& num(std::string_view key, T value) {
    key_(key);
    s_ += std::to_string(value);
    return *this;
  }
  // "port":"raft", only for ports other than kHost (a host without ports
  // writes exactly what it did before ports existed).
  TraceLine& port(core::Port p);
  // The finished line (no newline).
  const std::string& done();

 private:
  void key_(std::string_view key);
  std::string s_;
};

// Where the trace's lines go: a file (TraceWriter) or memory (MemoryTrace,
// for the Python module).
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // One complete JSON object, no newline.
  virtual void line(const std::string& json_object) = 0;
};

// Keeps the lines in memory, in order: every line, or only the events of
// the types given to keep_only ("ev" values such as "raft.role").
class MemoryTrace final : public TraceSink {
 public:
  void keep_only(std::vector<std::string> event_types) {
    keep_ = std::move(event_types);
    std::sort(keep_.begin(), keep_.end());
  }
  void line(const std::string& json_object) override {
    if (keep_.empty() || kept(json_object)) lines_.push_back(json_object);
  }
  const std::vector<std::string>& lines() const { return lines_; }
  // Hands the lines over and starts empty.
  std::vector<std::string> take() { return std::exchange(lines_, {}); }

 private:
  // Every line starts {"t":N,"ev":"TYPE",...
  bool kept(const std::string& line) const {
    static constexpr std::string_view kEv = "\"ev\":\"";
    const size_t at = line.find(kEv);
    if (at == std::string::npos) return false;
    const size_t from = at + kEv.size();
    const size_t to = line.find('"', from);
    if (to == std::string::npos) return false;
    const std::string_view ev(line.data() + from, to - from);
    return std::binary_search(keep_.begin(), keep_.end(), ev, std::less<>());
  }

  std::vector<std::string> keep_;
  std::vector<std::string> lines_;
};

// The same discipline serves every file a run writes as it goes or at its
// end (the KV history too): `what` names the file in error messages.
class TraceWriter final : public TraceSink {
 public:
  // Opens "<path>.partial"; throws std::runtime_error if it cannot.
  explicit TraceWriter(std::string path, std::string what = "trace");
  ~TraceWriter();  // removes the partial file unless commit() was called
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Writes one line (the caller passes a complete JSON object, no newline).
  void line(const std::string& json_object) override;
  // Flushes, closes and renames to the final path; throws on I/O failure.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string partial_;
  std::string what_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Compares two JSON Lines traces; returns the 1-based number of the first line
// that differs (0 when identical) and fills the two differing lines.
struct TraceDiff {
  uint64_t line = 0;
  std::string left, right;
};
TraceDiff diff_traces(const std::string& path_a, const std::string& path_b);

}  // namespace sim

// Unit tests of the trace: the rolling hash, the JSON Lines writer (atomic
// commit through a .partial file), rule 6 (a writer never changes the hash),
// and the diff of two traces to their first divergence.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/hb/heartbeat.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/engine/trace.hpp"

using core::kMillisecond;
using core::kSecond;
namespace fs = std::filesystem;

namespace {

// prefix + decimal number. (Not `"lit" + std::to_string(n)`: GCC 12 at -O3
// warns about it with a false -Wrestrict positive, PR 105329.)
std::string numbered(const char* prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// A fresh path in the temp directory, removed (with its .partial) on scope exit.
class TempPath {
 public:
  explicit TempPath(const std::string& stem) {
    std::string name = "clustersim-";
    name += stem;
    name += numbered("-", static_cast<uint64_t>(::getpid()));
    name += ".jsonl";
    path_ = (fs::temp_directory_path() / name).string();
    clean();
  }
  ~TempPath() { clean(); }
  const std::string& str() const { return path_; }
  std::string partial() const { return path_ + ".partial"; }

 private:
  void clean() {
    std::error_code ec;
    fs::remove(path_, ec);
    fs::remove(path_ + ".partial", ec);
  }
  std::string path_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

uint64_t count_lines(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(f, line)) {
    ++n;
    REQUIRE(line.size() >= 2);
    REQUIRE(line.front() == '{');
    REQUIRE(line.back() == '}');
  }
  return n;
}

// Heartbeat detectors with loss, a crash and a restart (so that drops,
// node_down, suspect/alive records and faults all appear).
uint64_t run_detectors(uint64_t seed, sim::TraceWriter* writer, uint64_t* events = nullptr) {
  sim::Simulation s(seed);
  sim::LinkParams lan;
  lan.latency = sim::Distribution::uniform(kMillisecond, 5 * kMillisecond);
  lan.loss = 0.05;
  s.network().add_lan("lan", lan);
  core::hb::DetectorConfig cfg;
  cfg.interval_ns = 50 * kMillisecond;
  cfg.timeout_ns = 200 * kMillisecond;
  for (uint32_t i = 0; i < 4; ++i)
    s.add_node(numbered("node-", i), 0, [cfg](core::NodeId id) { return std::make_unique<core::hb::Detector>(id, 4, cfg); });
  if (writer) s.set_trace_writer(writer);
  s.start_all();
  s.schedule(500 * kMillisecond, [&s] {
    s.trace_fault("crash \"node-1\"", 1, 1, 0);
    s.crash(1);
  });
  s.schedule(1500 * kMillisecond, [&s] {
    s.trace_fault("restart node-1", 2, 1, 0);
    s.restart(1);
  });
  s.run_until(2 * kSecond);
  if (events) *events = s.trace_events();
  return s.trace_hash();
}

}  // namespace

TEST_CASE("trace: the hash depends on every field and on the order of events", "[trace]") {
  sim::TraceHash empty, a, b, c;
  a.fold(sim::TraceCode::kDeliver, 10, 1, 2, 3);
  a.fold(sim::TraceCode::kTimer, 20, 0, 7, 0);
  b.fold(sim::TraceCode::kTimer, 20, 0, 7, 0);
  b.fold(sim::TraceCode::kDeliver, 10, 1, 2, 3);
  c.fold(sim::TraceCode::kDeliver, 10, 1, 2, 4);
  c.fold(sim::TraceCode::kTimer, 20, 0, 7, 0);
  CHECK(a.events() == 2);
  CHECK(empty.events() == 0);
  CHECK(a.value() != b.value());
  CHECK(a.value() != c.value());
  CHECK(a.value() != empty.value());
  sim::TraceHash a2;
  a2.fold(sim::TraceCode::kDeliver, 10, 1, 2, 3);
  a2.fold(sim::TraceCode::kTimer, 20, 0, 7, 0);
  CHECK(a2.value() == a.value());
}

TEST_CASE("trace: hex16 prints 16 lowercase hex digits", "[trace]") {
  CHECK(sim::hex16(0) == "0000000000000000");
  CHECK(sim::hex16(0x3f25d2e635c1f4abull) == "3f25d2e635c1f4ab");
}

TEST_CASE("trace: attaching a TraceWriter does not change the trace hash", "[trace]") {
  TempPath out("hash");
  uint64_t events_plain = 0, events_traced = 0;
  const uint64_t plain = run_detectors(3, nullptr, &events_plain);
  uint64_t traced = 0;
  {
    sim::TraceWriter w(out.str());
    traced = run_detectors(3, &w, &events_traced);
    w.commit();
  }
  CHECK(traced == plain);
  CHECK(events_traced == events_plain);
  REQUIRE(fs::exists(out.str()));
  CHECK_FALSE(fs::exists(out.partial()));
  // Without duplication, every hashed event is one line.
  CHECK(count_lines(out.str()) == events_plain);
}

TEST_CASE("trace: a writer that is not committed leaves no file, and its .partial is removed", "[trace]") {
  TempPath out("uncommitted");
  {
    sim::TraceWriter w(out.str());
    CHECK(w.path() == out.str());
    CHECK(fs::exists(out.partial()));  // written under the temporary name meanwhile
    run_detectors(4, &w);
  }
  CHECK_FALSE(fs::exists(out.str()));
  CHECK_FALSE(fs::exists(out.partial()));
}

TEST_CASE("trace: a writer for an unwritable path throws", "[trace]") {
  CHECK_THROWS_AS(sim::TraceWriter("/nonexistent-dir-for-clustersim/x.jsonl"), std::runtime_error);
}

TEST_CASE("trace: diff finds the first differing line", "[trace][diff]") {
  TempPath a("diff-a"), b("diff-b");
  SECTION("identical traces") {
    write_file(a.str(), "{\"x\":1}\n{\"x\":2}\n");
    write_file(b.str(), "{\"x\":1}\n{\"x\":2}\n");
    const sim::TraceDiff d = sim::diff_traces(a.str(), b.str());
    CHECK(d.line == 0);
  }
  SECTION("a line differs") {
    write_file(a.str(), "{\"x\":1}\n{\"x\":2}\n{\"x\":3}\n{\"x\":4}\n");
    write_file(b.str(), "{\"x\":1}\n{\"x\":2}\n{\"x\":9}\n{\"x\":8}\n");
    const sim::TraceDiff d = sim::diff_traces(a.str(), b.str());
    CHECK(d.line == 3);
    CHECK(d.left == "{\"x\":3}");
    CHECK(d.right == "{\"x\":9}");
  }
  SECTION("one trace is a prefix of the other") {
    write_file(a.str(), "{\"x\":1}\n");
    write_file(b.str(), "{\"x\":1}\n{\"x\":2}\n");
    const sim::TraceDiff d = sim::diff_traces(a.str(), b.str());
    CHECK(d.line == 2);
    CHECK(d.left == "<end of trace>");
    CHECK(d.right == "{\"x\":2}");
  }
  SECTION("a missing trace is an error") {
    write_file(a.str(), "{}\n");
    CHECK_THROWS_AS(sim::diff_traces(a.str(), b.str() + ".missing"), std::runtime_error);
  }
}

TEST_CASE("trace: runs with different seeds diverge at a line both traces have", "[trace][diff]") {
  TempPath a("seed-a"), b("seed-b"), c("seed-c");
  auto write = [](const TempPath& p, uint64_t seed) {
    sim::TraceWriter w(p.str());
    run_detectors(seed, &w);
    w.commit();
  };
  write(a, 1);
  write(b, 2);
  write(c, 1);
  const sim::TraceDiff d = sim::diff_traces(a.str(), b.str());
  CHECK(d.line >= 1);
  CHECK(d.left != d.right);
  CHECK(d.left != "<end of trace>");
  CHECK(sim::diff_traces(a.str(), c.str()).line == 0);
}

// Runs a validated scenario: builds the cluster, schedules its faults and
// expectation checks, runs to `until` and reports a summary.
//
// Phases: the run applies the scenario's faults in order; "by T" expectations
// are evaluated at T; "always" expectations are watched by checkers for the
// whole run and report the first violation with its time and trace position.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/engine/simulation.hpp"
#include "sim/run/stack.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

struct ExpectationResult {
  std::string name;
  bool pass = false;
  bool evaluated = false;
  std::string detail;
  core::Time at = 0;
  uint64_t trace_position = 0;
};

struct RunOptions {
  std::optional<uint64_t> seed;        // default: the scenario's seed
  std::optional<core::Time> until;     // default: the scenario's until
  std::string trace_path;              // JSON Lines trace; empty = none
  // The KV client history (docs/history-format.md): EDN when it ends in
  // ".edn", else JSON Lines; empty = none. Needs a kv workload.
  std::string history_path;
  // Trace lines to memory too (not owned; must outlive the run). Ignored
  // when trace_path is set.
  TraceSink* trace_sink = nullptr;
};

class Runner {
 public:
  Runner(const Scenario& scenario, const RunOptions& options);
  ~Runner();

  Simulation& sim() { return *sim_; }
  Stack& stack() { return *stack_; }
  const Scenario& scenario() const { return scenario_; }
  core::Time until() const { return until_; }

  // Runs to `t` (at most until()).
  void run_until(core::Time t);
  // Runs to until(), evaluates the expectations, commits the trace and
  // history files (each written as FILE.partial, renamed only now).
  void finish();
  bool finished() const { return finished_; }

  const std::vector<ExpectationResult>& results() const { return results_; }
  bool passed() const;
  nlohmann::json summary() const;
  // The human-readable form of summary(), for `clustersim run`.
  void print_summary(const nlohmann::json& summary, std::ostream& out) const;

  // Applies a fault now (also used by the Python layer).
  void apply_fault(const Fault& f);
  // Every fault applied so far, as summary()["faults"] lists them.
  const nlohmann::json& applied_faults() const { return applied_faults_; }

 private:
  std::vector<core::NodeId> resolve(const Target& t, Fault::Kind action);

  Scenario scenario_;
  uint64_t seed_;
  core::Time until_;
  std::unique_ptr<Simulation> sim_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<TraceWriter> writer_;
  std::unique_ptr<TraceWriter> history_;
  core::Rng fault_rng_;
  std::vector<ExpectationResult> results_;
  nlohmann::json applied_faults_ = nlohmann::json::array();
  bool finished_ = false;
};

}  // namespace sim

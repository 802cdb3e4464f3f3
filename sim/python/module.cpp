// The `_clustersim` extension module: the simulator for Python (pybind11).
// The `clustersim` package (python/clustersim) wraps it in a Pythonic API;
// this file exposes one class, Session, the run of one scenario, and the
// exceptions. Everything crosses as plain values: JSON objects become Python
// dicts and lists (pybind11_json), times are integer nanoseconds.
//
// Errors never crash the interpreter: a bad scenario raises ScenarioError
// (with .errors, a list of (path, message)), an internal invariant failure
// InvariantError (the session is unusable afterwards), misuse ValueError or
// RuntimeError. Long runs release the interpreter lock and check for Ctrl-C
// between slices of virtual time. A Session is used by one thread at a time;
// different Sessions run in parallel threads.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11_json/pybind11_json.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "sim/engine/trace.hpp"
#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"

namespace py = pybind11;
using nlohmann::json;

namespace {

// Thrown for an internal invariant failure, translated to InvariantError.
struct SessionBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A scenario or a fault that did not parse: every error, and a message that
// starts as the command line's report does. Translated to ScenarioError.
struct Rejected : std::runtime_error {
  Rejected(const std::string& what, const sim::ScenarioInvalid& e)
      : std::runtime_error(message(what, e.errors())), errors(e.errors()) {}
  std::vector<sim::ScenarioError> errors;

 private:
  static std::string message(const std::string& what, const std::vector<sim::ScenarioError>& errors) {
    std::string m = what + " (" + std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors") + "):";
    for (const sim::ScenarioError& x : errors) m += "\n  " + x.str();
    return m;
  }
};

sim::Scenario parse_or_reject(const std::string& json_text, const std::string& origin) {
  try {
    return sim::parse_scenario(json_text, origin);
  } catch (const sim::ScenarioInvalid& e) {
    throw Rejected(origin + " is not a valid scenario", e);
  }
}

// The longest stretch of virtual time run without checking for Ctrl-C.
constexpr core::Duration kSlice = core::kSecond;

// A scenario parsed once, for many runs (a sweep's seeds).
struct Parsed {
  Parsed(const std::string& json_text, const std::string& origin) : scenario(parse_or_reject(json_text, origin)) {}
  sim::Scenario scenario;
};

// Nested objects become dotted keys ("metrics.raft.downtime.p50_ns");
// arrays and scalars stay whole.
void flatten(const std::string& prefix, const json& v, json& out) {
  if (v.is_object() && !v.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(prefix.empty() ? it.key() : prefix + "." + it.key(), it.value(), out);
  } else {
    out[prefix] = v;
  }
}

class Session {
 public:
  // trace: keep the trace's lines (all of them, or only the event types in
  // trace_only when it is not empty).
  Session(const Parsed& parsed, std::optional<uint64_t> seed, bool trace, std::vector<std::string> trace_only) {
    sim::RunOptions o;
    o.seed = seed;
    trace_.keep_only(std::move(trace_only));
    if (trace) o.trace_sink = &trace_;
    py::gil_scoped_release release;  // setting up a large cluster takes a while
    guard([&] { runner_ = std::make_unique<sim::Runner>(parsed.scenario, o); });
  }
  Session(const std::string& json_text, const std::string& origin, std::optional<uint64_t> seed, bool trace,
          std::vector<std::string> trace_only)
      : Session(Parsed(json_text, origin), seed, trace, std::move(trace_only)) {}

  // A sweep's row of a finished run: passed, trace_hash, virtual_time_ns,
  // events, failed (the expectations that did not hold) and, with
  // `metrics`, every metric flattened under "metrics.".
  json row(bool metrics) const {
    if (!runner_->finished()) throw std::runtime_error("the run has not finished");
    const json s = runner_->summary();
    json out = json::object();
    out["passed"] = s["passed"];
    out["trace_hash"] = s["trace_hash"];
    out["error"] = nullptr;
    out["virtual_time_ns"] = s["virtual_time_ns"];
    out["events"] = s["events"];
    json failed = json::array();
    for (const json& e : s["expectations"])
      if (!e["pass"].get<bool>()) failed.push_back(e["name"]);
    out["failed"] = std::move(failed);
    if (metrics) flatten("metrics", s["metrics"], out);
    return out;
  }

  // Runs to virtual time `t` (at most the scenario's end); at the end the
  // expectations are evaluated and the session is finished.
  void run_until(core::Time t) {
    usable();
    if (t < now()) throw std::invalid_argument("cannot run back in time: " + sim::format_duration(t) + " is before now (" + sim::format_duration(now()) + ")");
    const core::Time target = std::min(t, runner_->until());
    while (now() < target) {
      const core::Time next = std::min(target, now() + kSlice);
      {
        py::gil_scoped_release release;
        guard([&] { runner_->run_until(next); });
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    if (target >= runner_->until()) finish();
  }

  // One event; false (and the run finished) when the next one is past the end.
  bool step() {
    usable();
    sim::Simulation& s = runner_->sim();
    if (s.next_event_time() > runner_->until()) {
      finish();
      return false;
    }
    {
      py::gil_scoped_release release;
      guard([&] { s.step(); });
    }
    return true;
  }

  void finish() {
    if (runner_->finished()) return;
    if (broken_) throw SessionBroken("the run stopped on an internal invariant failure: " + broken_reason_);
    {
      py::gil_scoped_release release;
      guard([&] {
        // In slices, like run_until, so the trace hash is the same however it is run.
        while (runner_->sim().now() < runner_->until())
          runner_->run_until(std::min(runner_->until(), runner_->sim().now() + kSlice));
        runner_->finish();
      });
    }
  }

  // A fault of the scenario format, applied now. `fault` is its object
  // without "at" ({"crash": "s1"}).
  json fault(json fault) {
    usable();
    if (!fault.is_object()) throw std::invalid_argument("a fault is an object such as {\"crash\": \"s1\"}");
    fault["at"] = "0s";
    sim::Fault f;
    try {
      f = sim::parse_fault(runner_->scenario(), fault, "$");
    } catch (const sim::ScenarioInvalid& e) {
      throw Rejected("the fault " + fault.dump() + " is not valid", e);
    }
    check_lifecycle(f);
    const size_t before = runner_->applied_faults().size();
    guard([&] { runner_->apply_fault(f); });
    return runner_->applied_faults().size() > before ? runner_->applied_faults().back() : json(nullptr);
  }

  json node(const std::string& name) const { return runner_->stack().node(id_of(name)); }
  json nodes() const {
    json out = json::array();
    for (core::NodeId i = 0; i < runner_->scenario().nodes.size(); ++i) out.push_back(runner_->stack().node(i));
    return out;
  }
  std::optional<std::string> leader() const {
    const auto l = runner_->stack().leader();
    if (!l) return std::nullopt;
    return runner_->sim().node_name(*l);
  }
  json queries() const {
    json out = json::array();
    for (const sim::Layer::QueryDef& q : runner_->stack().queries())
      out.push_back({{"name", q.name}, {"help", q.help}, {"args", q.args}});
    return out;
  }
  json query(const std::string& name, const json& args) const {
    json out;
    guard([&] { out = runner_->stack().query(name, args); });
    return out;
  }
  json summary() const { return runner_->summary(); }
  json scenario() const { return sim::write_scenario(runner_->scenario()); }
  std::vector<std::string> take_trace() { return trace_.take(); }

  core::Time now() const { return runner_->sim().now(); }
  core::Time until() const { return runner_->until(); }
  bool finished() const { return runner_->finished(); }
  std::string trace_hash() const { return sim::hex16(runner_->sim().trace_hash()); }
  uint64_t events() const { return runner_->sim().events_processed(); }
  uint64_t seed() const { return runner_->sim().seed(); }

 private:
  // Runs `f`; an invariant failure breaks the session for good.
  template <class F>
  void guard(F&& f) const {
    try {
      f();
    } catch (const sim::InvariantFailure& e) {
      broken_ = true;
      broken_reason_ = e.what();
      throw SessionBroken(e.what());
    } catch (const core::InvariantViolation& e) {
      broken_ = true;
      broken_reason_ = e.what();
      throw SessionBroken(e.what());
    }
  }
  void usable() const {
    if (broken_) throw SessionBroken("the run stopped on an internal invariant failure: " + broken_reason_);
    if (runner_->finished())
      throw std::runtime_error("the run has ended at " + sim::format_duration(runner_->until()) +
                               " (the scenario's end); make a new Simulation to run again");
  }
  core::NodeId id_of(const std::string& name) const {
    const core::NodeId id = runner_->sim().find_node(name);
    if (id == core::kNoNode) throw std::invalid_argument("unknown node '" + name + "'");
    return id;
  }
  // A lifecycle fault on a named node must find it in the state it changes.
  void check_lifecycle(const sim::Fault& f) const {
    if (f.target.kind != sim::Target::Kind::kNames) return;
    const sim::Simulation& s = runner_->sim();
    for (core::NodeId n : f.target.nodes) {
      const std::string& name = s.node_name(n);
      switch (f.kind) {
        case sim::Fault::Kind::kCrash:
          if (!s.is_up(n)) throw std::invalid_argument(name + " is already crashed");
          break;
        case sim::Fault::Kind::kRestart:
          if (s.is_up(n)) throw std::invalid_argument(name + " is running: only a crashed node restarts");
          break;
        case sim::Fault::Kind::kPause:
          if (!s.is_up(n) || s.is_paused(n)) throw std::invalid_argument(name + " is not running: nothing to pause");
          break;
        case sim::Fault::Kind::kResume:
          if (!s.is_up(n) || !s.is_paused(n)) throw std::invalid_argument(name + " is not paused: nothing to resume");
          break;
        case sim::Fault::Kind::kUnslow:
          if (!s.is_slow(n)) throw std::invalid_argument(name + " is not slow: nothing to unslow");
          break;
        default: break;
      }
    }
  }

  sim::MemoryTrace trace_;
  std::unique_ptr<sim::Runner> runner_;
  mutable bool broken_ = false;
  mutable std::string broken_reason_;
};

// The same runs in a C++ loop, for the sweep benchmark: each seed's trace
// hash and, with `summaries`, whether it passed, read from the run's summary
// (as `clustersim run --json` builds it: verdicts and metrics).
std::vector<std::pair<std::string, bool>> run_many(const std::string& json_text, const std::vector<uint64_t>& seeds,
                                                   bool summaries) {
  const Parsed p(json_text, "scenario");
  std::vector<std::pair<std::string, bool>> out;
  py::gil_scoped_release release;
  for (uint64_t seed : seeds) {
    sim::RunOptions o;
    o.seed = seed;
    sim::Runner r(p.scenario, o);
    r.finish();
    out.emplace_back(sim::hex16(r.sim().trace_hash()), summaries ? r.summary()["passed"].get<bool>() : r.passed());
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_clustersim, m) {
  m.doc() = "The clustersim simulator's native core; use the clustersim package.";

  static py::exception<Rejected> scenario_error(m, "ScenarioError", PyExc_ValueError);
  static py::exception<SessionBroken> invariant_error(m, "InvariantError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Rejected& e) {
      py::list errors;
      for (const sim::ScenarioError& x : e.errors) errors.append(py::make_tuple(x.path, x.message));
      py::object exc = py::handle(scenario_error.ptr())(e.what());
      exc.attr("errors") = errors;
      PyErr_SetObject(scenario_error.ptr(), exc.ptr());
    } catch (const SessionBroken& e) {
      invariant_error(e.what());
    } catch (const sim::SimulationError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<Parsed>(m, "Parsed", "A scenario parsed once, for many runs.")
      .def(py::init<const std::string&, const std::string&>(), py::arg("json_text"), py::arg("origin"));

  py::class_<Session>(m, "Session", "One run of a scenario (use clustersim.Simulation).")
      .def(py::init<const Parsed&, std::optional<uint64_t>, bool, std::vector<std::string>>(), py::arg("parsed"),
           py::arg("seed") = py::none(), py::arg("trace") = false, py::arg("trace_only") = std::vector<std::string>{})
      .def(py::init<const std::string&, const std::string&, std::optional<uint64_t>, bool, std::vector<std::string>>(),
           py::arg("json_text"), py::arg("origin"), py::arg("seed") = py::none(), py::arg("trace") = false,
           py::arg("trace_only") = std::vector<std::string>{})
      .def("run_until", &Session::run_until, py::arg("t_ns"))
      .def("step", &Session::step)
      .def("finish", &Session::finish)
      .def("fault", &Session::fault, py::arg("fault"))
      .def("node", &Session::node, py::arg("name"))
      .def("nodes", &Session::nodes)
      .def("leader", &Session::leader)
      .def("queries", &Session::queries)
      .def("query", &Session::query, py::arg("name"), py::arg("args"))
      .def("summary", &Session::summary)
      .def("row", &Session::row, py::arg("metrics"))
      .def("scenario", &Session::scenario)
      .def("take_trace", &Session::take_trace)
      .def_property_readonly("now", &Session::now)
      .def_property_readonly("until", &Session::until)
      .def_property_readonly("finished", &Session::finished)
      .def_property_readonly("trace_hash", &Session::trace_hash)
      .def_property_readonly("events", &Session::events)
      .def_property_readonly("seed", &Session::seed);

  m.def("run_many", &run_many, py::arg("json_text"), py::arg("seeds"), py::arg("summaries") = true,
        "Runs a scenario once per seed in a C++ loop; (trace hash, passed) per seed (a benchmark baseline).");
  m.def(
      "parse_duration",
      [](const std::string& text) {
        core::Duration d = 0;
        if (!sim::parse_duration(text, d)) throw std::invalid_argument("malformed duration \"" + text + "\" (e.g. \"150ms\", \"2s\")");
        return d;
      },
      py::arg("text"));
  m.def(
      "format_duration", [](core::Duration d) { return sim::write_duration(d); }, py::arg("ns"));
  m.def("protocols", [] { return sim::stacks().names(); });
  m.def(
      "stack_actions",
      [](const std::string& name) {
        const sim::StackDef* def = sim::stacks().find(name);
        if (def == nullptr) throw std::invalid_argument("unknown protocol '" + name + "'");
        return def->actions();
      },
      py::arg("protocol"));
}

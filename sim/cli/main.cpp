// The `clustersim` command: run, validate, bench, diff.
//
// Exit codes: 0 success (all expectations hold); 1 an expectation failed (or
// traces differ, a benchmark missed its expected delivery count, or the run
// stopped on a livelock); 2 bad input (usage, malformed scenario, unreadable
// file); 3 an internal invariant failed (a protocol's or the simulator's: a
// bug; stderr says where and when, and stdout has no JSON). Errors go to
// stderr; with --json, stdout carries exactly one JSON object.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/check.hpp"
#include "sim/run/bench.hpp"
#include "sim/run/bench_consul.hpp"
#include "sim/run/bench_gossip.hpp"
#include "sim/engine/distribution.hpp"
#include "sim/run/runner.hpp"
#include "sim/run/stacks.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/engine/trace.hpp"

namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInternal = 3;  // an internal invariant failed: a bug in clustersim or a protocol

void print_errors(const std::string& file, const sim::ScenarioInvalid& e) {
  std::cerr << "clustersim: " << file << " is not a valid scenario (" << e.errors().size() << " error"
            << (e.errors().size() == 1 ? "" : "s") << "):\n";
  for (const auto& err : e.errors()) std::cerr << "  " << err.str() << "\n";
}

// ---------------------------------------------------------------- subcommands

struct RunArgs {
  std::string scenario, trace, history, until;
  uint64_t seed = 0;
  bool seed_given = false;
  bool json = false;
};

int cmd_run(const RunArgs& a) {
  const sim::Scenario s = sim::load_scenario_file(a.scenario);
  sim::RunOptions opt;
  if (a.seed_given) opt.seed = a.seed;
  if (!a.until.empty()) {
    core::Duration u = 0;
    if (!sim::parse_duration(a.until, u) || u <= 0) {
      std::cerr << "clustersim: --until: malformed duration \"" << a.until << "\" (e.g. \"30s\")\n";
      return kExitBadInput;
    }
    opt.until = u;
  }
  opt.trace_path = a.trace;
  opt.history_path = a.history;
  try {
    sim::Runner runner(s, opt);
    runner.finish();
    const json summary = runner.summary();
    if (a.json) std::cout << summary.dump() << "\n";
    else runner.print_summary(summary, std::cout);
    return runner.passed() ? kExitOk : kExitFailed;
  } catch (const sim::InvariantFailure& e) {
    std::cerr << "clustersim: internal invariant failed in " << a.scenario << " (\"" << s.name << "\", seed "
              << opt.seed.value_or(s.seed) << "): " << e.what() << "\n";
    return kExitInternal;
  }
}

int cmd_validate(const std::string& path) {
  const sim::Scenario s = sim::load_scenario_file(path);
  std::cout << path << ": valid (" << s.name << ", " << s.nodes.size() << " nodes, " << s.faults.size() << " faults, "
            << s.expect.size() << " expectations)\n";
  return kExitOk;
}

int cmd_bench(const std::string& workload, uint32_t nodes, uint64_t messages, bool as_json) {
  const sim::BenchResult r = sim::run_bench(workload, nodes, messages);
  if (as_json) {
    json j = {{"workload", r.workload},
              {"nodes", r.nodes},
              {"messages_expected", r.expected_messages},
              {"messages_delivered", r.delivered},
              {"virtual_time_ns", r.virtual_time_ns},
              {"wall_seconds", r.wall_seconds},
              {"messages_per_second", r.messages_per_second},
              {"peak_rss_bytes", r.peak_rss_bytes},
              {"peak_inflight_messages", r.peak_inflight},
              {"bytes_per_inflight_message", r.bytes_per_inflight},
              {"trace_hash", sim::hex16(r.trace_hash)},
              {"ok", r.ok}};
    if (r.workload == "hb") j["plan_checksum"] = sim::hex16(r.plan_checksum);
    if (!r.ok) j["error"] = r.error;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("workload %s  N=%u\n", r.workload.c_str(), r.nodes);
    if (r.workload == "hb") std::printf("plan checksum         %s\n", sim::hex16(r.plan_checksum).c_str());
    std::printf("messages delivered    %llu of %llu\n", static_cast<unsigned long long>(r.delivered),
                static_cast<unsigned long long>(r.expected_messages));
    std::printf("virtual time          %s\n", sim::format_duration(r.virtual_time_ns).c_str());
    std::printf("wall seconds          %.3f\n", r.wall_seconds);
    std::printf("messages per second   %.0f\n", r.messages_per_second);
    std::printf("peak RSS              %.1f MiB\n", static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0));
    std::printf("in-flight peak        %llu messages, %llu bytes each\n", static_cast<unsigned long long>(r.peak_inflight),
                static_cast<unsigned long long>(r.bytes_per_inflight));
    std::printf("trace hash            %s\n", sim::hex16(r.trace_hash).c_str());
    if (!r.ok) std::fprintf(stderr, "clustersim: bench failed: %s\n", r.error.c_str());
  }
  return r.ok ? kExitOk : kExitFailed;
}

int cmd_bench_gossip(uint32_t nodes, const std::string& virtual_text, bool cold, bool coordinates, bool as_json) {
  core::Duration virtual_ns = 0;
  if (!sim::parse_duration(virtual_text, virtual_ns) || virtual_ns <= 0)
    throw std::invalid_argument("--virtual: expected a positive duration such as \"2m\" or \"600s\", got \"" + virtual_text + "\"");
  const sim::GossipBenchResult r = sim::run_gossip_bench(nodes, virtual_ns, cold, coordinates);
  if (as_json) {
    json j = {{"workload", "gossip"},
              {"nodes", r.nodes},
              {"cold", r.cold},
              {"coordinates", r.coordinates},
              {"virtual_time_ns", r.virtual_ns},
              {"wall_seconds", r.wall_seconds},
              {"setup_seconds", r.setup_seconds},
              {"wall_per_virtual_second", r.wall_per_virtual_second},
              {"events", r.events},
              {"events_per_second", r.events_per_second},
              {"messages_delivered", r.messages},
              {"messages_per_second", r.messages_per_second},
              {"peak_rss_bytes", r.peak_rss_bytes},
              {"bytes_per_member", r.bytes_per_member},
              {"trace_hash", sim::hex16(r.trace_hash)},
              {"ok", r.ok}};
    if (r.cold) j["join_storm_ns"] = r.join_storm_ns;
    if (!r.ok) j["error"] = r.error;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("workload gossip  N=%u  %s%s\n", r.nodes, r.cold ? "cold start through m0" : "formed pool",
                r.coordinates ? "" : ", coordinates off");
    std::printf("virtual time          %s\n", sim::format_duration(r.virtual_ns).c_str());
    std::printf("wall seconds          %.3f (setup %.3f, then %.5f per virtual second)\n", r.wall_seconds, r.setup_seconds,
                r.wall_per_virtual_second);
    std::printf("events                %llu (%.0f per second)\n", static_cast<unsigned long long>(r.events), r.events_per_second);
    std::printf("messages delivered    %llu (%.0f per second)\n", static_cast<unsigned long long>(r.messages), r.messages_per_second);
    std::printf("peak RSS              %.1f MiB (%.0f bytes per member)\n", static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0),
                r.bytes_per_member);
    if (r.cold) {
      if (r.join_storm_ns >= 0) std::printf("join storm            %s until every member knew all %u\n", sim::format_duration(r.join_storm_ns).c_str(), r.nodes);
      else std::printf("join storm            not over within the run\n");
    }
    std::printf("trace hash            %s\n", sim::hex16(r.trace_hash).c_str());
    if (!r.ok) std::fprintf(stderr, "clustersim: bench failed: %s\n", r.error.c_str());
  }
  return r.ok ? kExitOk : kExitFailed;
}

int cmd_bench_consul(sim::ConsulBenchParams p, const std::string& virtual_text, bool as_json) {
  if (!sim::parse_duration(virtual_text, p.virtual_ns) || p.virtual_ns <= 0)
    throw std::invalid_argument("--virtual: expected a positive duration such as \"2m\" or \"600s\", got \"" + virtual_text + "\"");
  const sim::ConsulBenchResult r = sim::run_consul_bench(p);
  if (as_json) {
    json j = {{"workload", "consul"},
              {"agents", p.agents},
              {"servers", p.servers},
              {"kv_rate", p.kv_rate},
              {"virtual_time_ns", p.virtual_ns},
              {"wall_seconds", r.wall_seconds},
              {"setup_seconds", r.setup_seconds},
              {"wall_per_virtual_second", r.wall_per_virtual_second},
              {"events", r.events},
              {"events_per_virtual_second", r.events_per_virtual_second},
              {"events_per_second", r.events_per_second},
              {"messages_delivered", r.messages},
              {"messages_per_virtual_second", r.messages_per_virtual_second},
              {"peak_rss_bytes", r.peak_rss_bytes},
              {"bytes_per_agent", r.bytes_per_agent},
              {"trace_hash", sim::hex16(r.trace_hash)},
              {"health",
               {{"leader", r.leader},
                {"registered", r.registered},
                {"serf_health_passing", r.passing},
                {"kv_submitted", r.kv_submitted},
                {"kv_acknowledged", r.kv_acknowledged}}},
              {"anti_entropy", {{"full_syncs", r.full_syncs}, {"partial_syncs", r.partial_syncs}}},
              {"ok", r.ok}};
    if (!r.ok) j["error"] = r.error;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("workload consul  N=%u agents (%u servers, %u clients), KV load %g/s through the clients from 10s\n", p.agents,
                p.servers, p.agents - p.servers, p.kv_rate);
    std::printf("virtual time          %s\n", sim::format_duration(p.virtual_ns).c_str());
    std::printf("wall seconds          %.3f (setup %.3f, then %.5f per virtual second)\n", r.wall_seconds, r.setup_seconds,
                r.wall_per_virtual_second);
    std::printf("events                %llu (%.0f per virtual second, %.0f per wall second)\n",
                static_cast<unsigned long long>(r.events), r.events_per_virtual_second, r.events_per_second);
    std::printf("messages delivered    %llu (%.0f per virtual second)\n", static_cast<unsigned long long>(r.messages),
                r.messages_per_virtual_second);
    std::printf("peak RSS              %.1f MiB (%.0f bytes per agent)\n", static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0),
                r.bytes_per_agent);
    std::printf("leader                %s\n", r.leader.empty() ? "none" : r.leader.c_str());
    std::printf("catalog               %u of %u agents registered, %u with serfHealth passing\n", r.registered, p.agents, r.passing);
    if (p.kv_rate > 0)
      std::printf("KV load               %llu of %llu operations acknowledged\n", static_cast<unsigned long long>(r.kv_acknowledged),
                  static_cast<unsigned long long>(r.kv_submitted));
    std::printf("anti-entropy          %llu full syncs, %llu partial\n", static_cast<unsigned long long>(r.full_syncs),
                static_cast<unsigned long long>(r.partial_syncs));
    std::printf("trace hash            %s\n", sim::hex16(r.trace_hash).c_str());
    if (!r.ok) std::fprintf(stderr, "clustersim: bench failed: %s\n", r.error.c_str());
  }
  return r.ok ? kExitOk : kExitFailed;
}

int cmd_diff(const std::string& a, const std::string& b) {
  const sim::TraceDiff d = sim::diff_traces(a, b);
  if (d.line == 0) {
    std::cout << "traces are identical\n";
    return kExitOk;
  }
  std::cout << "first divergence at line " << d.line << ":\n  " << a << ": " << d.left << "\n  " << b << ": " << d.right
            << "\n";
  return kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"clustersim: a deterministic discrete-event simulator of a Consul-style cluster.\n"
               "A scenario file plus a seed replays a run bit for bit.\n"
               "Exit codes: 0 pass, 1 an expectation failed, 2 bad input, 3 an internal invariant failed."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a scenario and report its expectations.\n"
                                        "Exit 0 when every expectation holds, 1 when one fails, 2 on bad input,\n"
                                        "3 when an internal invariant fails (a bug: stderr says where and when).");
  run->add_option("scenario", run_args.scenario, "Scenario file (JSON)")->required();
  auto* seed_opt = run->add_option("--seed", run_args.seed, "Seed, a non-negative integer (default: the scenario's \"seed\", or 1)")
                       ->check(CLI::NonNegativeNumber);
  run->add_option("--until", run_args.until, "Stop at this virtual time instead of the scenario's \"until\" (e.g. 30s)");
  run->add_option("--trace", run_args.trace, "Write every event as JSON Lines to this file");
  run->add_option("--history", run_args.history,
                  "Write the KV client history to this file: Jepsen's EDN form if it ends in .edn, else JSON Lines\n"
                  "(docs/history-format.md; the scenario needs a kv workload)");
  run->add_flag("--json", run_args.json, "Print exactly one JSON object (the run summary) on stdout");

  std::string validate_path;
  auto* validate = app.add_subcommand("validate", "Check a scenario file. Exit 0 when valid, 2 with the errors.");
  validate->add_option("scenario", validate_path, "Scenario file (JSON)")->required();

  std::string workload;
  uint32_t nodes = 0;
  uint64_t messages = 1'000'000;
  bool bench_json = false;
  std::string bench_virtual = "60s";
  bool bench_cold = false, bench_no_coordinates = false;
  sim::ConsulBenchParams consul_params;
  auto* bench = app.add_subcommand("bench", "Run a benchmark through the full engine (protocol nodes, network model, trace hash)\n"
                                            "and print its figures: shared/bench/WORKLOAD.md's hb and ring, a gossip pool,\n"
                                            "or a datacenter of Consul agents. Exit 1 when the run is not healthy: hb and ring\n"
                                            "missed a message, a gossip member does not see every other alive, or (consul) there\n"
                                            "is no leader at the end, an agent is missing from the catalog or not passing serfHealth,\n"
                                            "or under 99 % of the KV operations were acknowledged.");
  bench->add_option("workload", workload,
                    "hb (heartbeat rounds) or ring (token ring), gossip (serf over memberlist, Consul's LAN settings),\n"
                    "or consul (Consul agents: servers with Raft and the catalog, clients, anti-entropy, a KV load)")
      ->required()
      ->check(CLI::IsMember({"hb", "ring", "gossip", "consul"}));
  auto* nodes_opt = bench->add_option("--nodes", nodes, "hb, ring, gossip: number of nodes N (required)");
  bench->add_option("--messages", messages, "hb, ring: messages to deliver (default 1000000)");
  bench->add_flag("--json", bench_json, "Print one JSON object");
  bench->add_option("--virtual", bench_virtual, "gossip, consul: virtual time to run (default 60s)");
  bench->add_flag("--cold", bench_cold, "gossip: every member joins m0 at boot instead of starting in a formed pool");
  bench->add_flag("--no-coordinates", bench_no_coordinates, "gossip: serf's DisableCoordinates");
  auto* agents_opt = bench->add_option("--agents", consul_params.agents,
                                       "consul: number of agents N (required): --servers servers, the rest clients");
  bench->add_option("--servers", consul_params.servers, "consul: number of servers (default 3)");
  bench->add_option("--kv-rate", consul_params.kv_rate,
                    "consul: KV operations per virtual second through the clients from 10s, half puts (default 100; 0 none)");

  std::string diff_a, diff_b;
  auto* diff = app.add_subcommand("diff", "Compare two JSON Lines traces; print the first divergence.\n"
                                          "Exit 0 when identical, 1 when they differ.");
  diff->add_option("a", diff_a, "First trace")->required();
  diff->add_option("b", diff_b, "Second trace")->required();

  if (argc > 1 && argv[1][0] != '-') {
    const std::string cmd = argv[1];
    if (cmd != "run" && cmd != "validate" && cmd != "bench" && cmd != "diff") {
      std::cerr << "clustersim: unknown command '" << cmd << "' (expected run, validate, bench or diff; see --help)\n";
      return kExitBadInput;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  run_args.seed_given = seed_opt->count() > 0;

  try {
    if (*validate) return cmd_validate(validate_path);
    if (*run) return cmd_run(run_args);
    if (*bench && workload == "consul") {
      if (agents_opt->count() == 0) throw std::invalid_argument("bench consul: --agents is required");
      if (nodes_opt->count() > 0) throw std::invalid_argument("bench consul: --nodes does not apply (use --agents)");
      return cmd_bench_consul(consul_params, bench_virtual, bench_json);
    }
    if (*bench && nodes_opt->count() == 0) throw std::invalid_argument("bench " + workload + ": --nodes is required");
    if (*bench && agents_opt->count() > 0) throw std::invalid_argument("bench " + workload + ": --agents applies to consul only (use --nodes)");
    if (*bench && workload == "gossip") return cmd_bench_gossip(nodes, bench_virtual, bench_cold, !bench_no_coordinates, bench_json);
    if (*bench) return cmd_bench(workload, nodes, messages, bench_json);
    if (*diff) return cmd_diff(diff_a, diff_b);
  } catch (const sim::ScenarioInvalid& e) {
    print_errors(*validate ? validate_path : run_args.scenario, e);
    return kExitBadInput;
  } catch (const std::invalid_argument& e) {
    std::cerr << "clustersim: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const sim::InvariantFailure& e) {
    std::cerr << "clustersim: internal invariant failed: " << e.what() << "\n";
    return kExitInternal;
  } catch (const core::InvariantViolation& e) {
    std::cerr << "clustersim: internal invariant failed: " << e.what() << "\n";
    return kExitInternal;
  } catch (const sim::SimulationError& e) {
    std::cerr << "clustersim: simulation error: " << e.what() << "\n";
    return kExitFailed;
  } catch (const std::exception& e) {
    std::cerr << "clustersim: " << e.what() << "\n";
    return kExitBadInput;
  }
  return kExitBadInput;
}

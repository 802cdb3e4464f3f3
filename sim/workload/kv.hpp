// The KV client workload: Poisson arrivals of puts, compare-and-sets, deletes
// and gets over a small key space, each sent to a random running server and
// redirected once to the leader it names (as Consul's RPC layer forwards to
// the leader). Client outcomes: acknowledged (the target answered with the
// operation's result; with the commit latency), failed (the target answered
// with an error: under raft, leadership lost, whose effect is unknown),
// rejected at once, or unknown (the server crashed, or the run ended first).
// Every operation is also an entry of the client history (KvHistory), which
// `clustersim run --history FILE` writes.
//
// "$.workload.kv": {"rate_per_s": R, "keys": K, "start": D, "stop": D,
//                   "put": P, "cas": C, "delete": X, "read_mode": M}
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "sim/scenario/stack_def.hpp"
#include "sim/workload/kv_history.hpp"
#include "sim/workload/kv_op.hpp"
#include "sim/workload/workload.hpp"

namespace sim {

struct KvSettings final : Settings {
  double rate_per_s = 0;
  uint32_t keys = 16;
  core::Time start = 0;
  core::Time stop = core::kNever;
  double put = 0.5;  // share of puts; cas of compare-and-sets; del of deletes; the rest are gets
  double cas = 0.0;
  double del = 0.0;
  ReadMode read_mode = ReadMode::kDefault;  // of the gets

  nlohmann::json to_json() const override;
  bool equals(const Settings& other) const override;
};

const WorkloadDef& kv_workload_def();

// What serves the workload: a layer whose servers take KV operations (the
// raft layer; a Consul agent's KVS endpoint). The contract:
// - Every request kv_submit() accepted ends at most once, by
//   KvWorkload::done() (possibly from inside kv_submit) or by
//   KvWorkload::server_lost() for the server it was sent to; one that never
//   ends is unknown when the run ends.
// - done() carries what the target knows (KvResult): kOk when it happened,
//   kFail when it definitely did not, kUnknown when it may have (a timeout,
//   leadership lost after the write was accepted). A target that cannot tell
//   must say kUnknown, never kFail.
// - op.mode is Consul's read mode of a get; a target without read modes
//   ignores it (the scenario reader rejects a mode it cannot serve).
class KvTarget {
 public:
  virtual ~KvTarget() = default;
  // The servers a client may ask, in id order.
  virtual const std::vector<core::NodeId>& kv_servers() const = 0;
  // True when `server` can take a request now (up and not paused).
  virtual bool kv_running(core::NodeId server) const = 0;
  // The leader `server` knows (kNoNode when none).
  virtual core::NodeId kv_leader_hint(core::NodeId server) const = 0;
  // A fresh request id (the target numbers its own requests too).
  virtual uint64_t kv_new_request() = 0;
  // Submits; false when `server` rejects it at once (it then had no effect
  // and is never reported).
  virtual bool kv_submit(core::NodeId server, uint64_t request, const KvOp& op) = 0;
  // The workload to report outcomes to (KvWorkload::done, server_lost).
  virtual void kv_attach(class KvWorkload* workload) = 0;
};

class KvWorkload final : public Workload {
 public:
  explicit KvWorkload(const KvSettings& settings) : cfg_(settings) {}
  std::string name() const override { return "kv"; }
  bool connect(Layer& layer) override;
  void start(Simulation& sim) override;
  nlohmann::json metrics() const override;
  void print_metrics(const nlohmann::json& metrics, std::ostream& out) const override;

  // Called by the target: request `request` ended with `r`. Returns whether
  // it was one of this workload's pending requests.
  bool done(uint64_t request, const KvResult& r);
  // Called by the target: `server` crashed; what was pending there is unknown.
  void server_lost(core::NodeId server);
  // Requests the target answered with the operation's result: kOk, or a cas
  // whose comparison failed (kFail without error). Under raft: every
  // command applied and acknowledged.
  uint64_t acknowledged() const { return acknowledged_; }
  // One entry per submitted operation: those rejected at once as failed
  // (completed when invoked), those pending at a crash as unknown (completed
  // then), those still pending now as unknown and not completed.
  const KvHistory& history() const { return history_; }

 private:
  struct Pending {
    core::Time submitted = 0;
    core::NodeId server = 0;
    size_t entry = 0;  // in history_
  };
  void schedule_next();
  void submit_one();
  // The key and kind of the next operation, drawn from `rng`.
  KvOp draw_op(core::Rng& rng, uint64_t request) const;

  KvSettings cfg_;
  KvTarget* target_ = nullptr;
  Simulation* sim_ = nullptr;
  core::Rng rng_;
  core::Rng unsent_rng_;  // the content of operations that found no server running (rng_ does not draw for them)
  std::map<uint64_t, Pending> pending_;
  KvHistory history_;
  uint64_t submitted_ = 0, rejected_ = 0, acknowledged_ = 0, failed_ = 0;
  std::vector<core::Duration> latency_ns_;
};

}  // namespace sim

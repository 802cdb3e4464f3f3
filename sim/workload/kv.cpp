#include "sim/workload/kv.hpp"

#include <cstdio>
#include <ostream>

#include "sim/engine/stats.hpp"
#include "sim/layers/layer.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

// ---------------------------------------------------------------- settings

json KvSettings::to_json() const {
  json j = {{"rate_per_s", rate_per_s}, {"keys", keys}, {"put", put}, {"cas", cas}, {"delete", del},
            {"read_mode", read_mode_name(read_mode)}, {"start", write_duration(start)}};
  if (stop != core::kNever) j["stop"] = write_duration(stop);
  return j;
}

bool KvSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const KvSettings*>(&other);
  return o && o->rate_per_s == rate_per_s && o->keys == keys && o->start == start && o->stop == stop && o->put == put &&
         o->cas == cas && o->del == del && o->read_mode == read_mode;
}

namespace {

class KvDef final : public WorkloadDef {
 public:
  std::string name() const override { return "kv"; }

  std::shared_ptr<const Settings> read(const Reader& r, const Scenario& s) const override {
    auto out = std::make_shared<KvSettings>();
    if (!r.object({"rate_per_s", "keys", "start", "stop", "put", "cas", "delete", "read_mode"})) return out;
    if (r.require("rate_per_s", "operations per second, e.g. 100")) {
      const Reader rate = r["rate_per_s"];
      if (!rate.json().is_number() || !(rate.json().get<double>() > 0) || rate.json().get<double>() > 100000)
        rate.error("expected a rate above 0 and at most 100000 operations per second");
      else out->rate_per_s = rate.json().get<double>();
    }
    uint64_t keys = out->keys;
    if (r.has("keys") && r["keys"].count(keys, 1, 1000000)) out->keys = static_cast<uint32_t>(keys);
    if (r.has("start")) r["start"].duration(out->start);
    if (r.has("stop")) r["stop"].duration(out->stop);
    if (r.has("put")) r["put"].probability(out->put);
    if (r.has("cas")) r["cas"].probability(out->cas);
    if (r.has("delete")) r["delete"].probability(out->del);
    if (out->put + out->cas + out->del > 1.0 + 1e-9) r.error("put + cas + delete shares exceed 1 (the rest are gets)");
    std::string mode;
    if (r.has("read_mode") && r["read_mode"].choice(mode, {"default", "consistent", "stale"})) {
      out->read_mode = mode == "consistent" ? ReadMode::kConsistent
                       : mode == "stale"    ? ReadMode::kStale
                                            : ReadMode::kDefault;
      if (out->read_mode != ReadMode::kDefault && s.stack == "raft")
        r["read_mode"].error("read modes are Consul's; protocol raft reads through the log (expected \"default\")");
    }
    return out;
  }

  std::unique_ptr<Workload> make(const Scenario& s) const override {
    return std::make_unique<KvWorkload>(static_cast<const KvSettings&>(*s.workloads.at("kv")));
  }
};

}  // namespace

const WorkloadDef& kv_workload_def() {
  static const KvDef def;
  return def;
}

// ---------------------------------------------------------------- run

bool KvWorkload::connect(Layer& layer) {
  auto* t = dynamic_cast<KvTarget*>(&layer);
  if (t == nullptr) return false;
  target_ = t;
  target_->kv_attach(this);
  return true;
}

void KvWorkload::start(Simulation& sim) {
  sim_ = &sim;
  rng_ = core::Rng(core::derive_seed(sim.seed(), core::kStreamWorkload, 0));
  unsent_rng_ = core::Rng(core::derive_seed(sim.seed(), core::kStreamWorkload, 1));
  sim.schedule(cfg_.start, [this] { schedule_next(); });
}

// Poisson arrivals: exponential gaps with mean 1/rate.
void KvWorkload::schedule_next() {
  const double gap_ns = rng_.exponential(1e9 / cfg_.rate_per_s);
  const core::Time at = sim_->now() + 1 + static_cast<core::Time>(gap_ns);
  if (at >= cfg_.stop) return;
  sim_->schedule(at, [this] {
    submit_one();
    schedule_next();
  });
}

void KvWorkload::submit_one() {
  // The client asks a random running server and follows its leader hint once.
  std::vector<core::NodeId> up;
  for (core::NodeId id : target_->kv_servers())
    if (target_->kv_running(id)) up.push_back(id);
  const uint64_t request = target_->kv_new_request();
  ++submitted_;
  const core::Time now = sim_->now();
  KvResult rejected;
  rejected.outcome = KvResult::Outcome::kFail;
  if (up.empty()) {
    ++rejected_;
    // Still an operation of the history, with its own content; rng_ has
    // never drawn for these, and must not start to.
    rejected.error = "no server running";
    const size_t e = history_.invoke(request, draw_op(unsent_rng_, request), core::kNoNode, now, sim_->trace_events());
    history_.complete(e, rejected, now, sim_->trace_events());
    return;
  }
  core::NodeId server = up[rng_.below(up.size())];
  const core::NodeId hint = target_->kv_leader_hint(server);
  if (hint != core::kNoNode && target_->kv_running(hint)) server = hint;
  const KvOp op = draw_op(rng_, request);
  // Pending before the submit: a target may complete at once.
  const size_t e = history_.invoke(request, op, server, now, sim_->trace_events());
  pending_[request] = {now, server, e};
  if (!target_->kv_submit(server, request, op)) {
    pending_.erase(request);
    ++rejected_;
    rejected.error = "rejected by the server";
    history_.complete(e, rejected, now, sim_->trace_events());
  }
}

// Two draws, key then kind; with no deletes exactly the draws made before
// deletes existed, so older scenarios replay bit for bit.
KvOp KvWorkload::draw_op(core::Rng& rng, uint64_t request) const {
  KvOp op;
  op.key = "k" + std::to_string(rng.below(cfg_.keys));
  const double u = rng.unit();
  if (u < cfg_.put) {
    op.kind = KvOp::Kind::kPut;
    op.value = "v" + std::to_string(request);
  } else if (u < cfg_.put + cfg_.cas) {
    op.kind = KvOp::Kind::kCas;
    op.expected = "v" + std::to_string(request - 1);
    op.value = "v" + std::to_string(request);
  } else if (u < cfg_.put + cfg_.cas + cfg_.del) {
    op.kind = KvOp::Kind::kDelete;
  } else {
    op.kind = KvOp::Kind::kGet;
    op.mode = cfg_.read_mode;
  }
  return op;
}

bool KvWorkload::done(uint64_t request, const KvResult& r) {
  auto it = pending_.find(request);
  if (it == pending_.end()) return false;
  const bool answered =
      r.outcome == KvResult::Outcome::kOk || (r.outcome == KvResult::Outcome::kFail && r.error.empty());
  if (answered) {
    ++acknowledged_;
    latency_ns_.push_back(sim_->now() - it->second.submitted);
  } else {
    ++failed_;
  }
  history_.complete(it->second.entry, r, sim_->now(), sim_->trace_events());
  pending_.erase(it);
  return true;
}

void KvWorkload::server_lost(core::NodeId server) {
  KvResult lost;
  lost.outcome = KvResult::Outcome::kUnknown;  // the server is gone, and what it did with the request with it
  lost.error = "server crashed";
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.server != server) {
      ++it;
      continue;
    }
    history_.complete(it->second.entry, lost, sim_->now(), sim_->trace_events());
    it = pending_.erase(it);
  }
}

json KvWorkload::metrics() const {
  // Per kind and outcome, from the history: rejected operations are failed,
  // those pending at a crash or at the end unknown.
  constexpr KvOp::Kind kinds[] = {KvOp::Kind::kPut, KvOp::Kind::kCas, KvOp::Kind::kDelete, KvOp::Kind::kGet};
  uint64_t n[4][3] = {};
  for (const KvHistory::Entry& e : history_.entries()) ++n[static_cast<int>(e.kind)][static_cast<int>(e.outcome)];
  json ops = json::object();
  for (const KvOp::Kind k : kinds) {
    const uint64_t* c = n[static_cast<int>(k)];
    ops[kv_op_name(k)] = {{"ok", c[static_cast<int>(KvResult::Outcome::kOk)]},
                          {"fail", c[static_cast<int>(KvResult::Outcome::kFail)]},
                          {"unknown", c[static_cast<int>(KvResult::Outcome::kUnknown)]}};
  }
  return {{"commit_latency", quantiles_ns(latency_ns_)},
          {"client",
           {{"submitted", submitted_},
            {"acknowledged", acknowledged_},
            {"rejected", rejected_},
            {"failed", failed_},
            {"unknown", submitted_ - acknowledged_ - rejected_ - failed_}}},
          {"ops", ops}};
}

void KvWorkload::print_metrics(const json& m, std::ostream& out) const {
  const json& c = m["client"];
  out << "kv         " << c["submitted"] << " submitted: " << c["acknowledged"] << " acknowledged, " << c["rejected"]
      << " rejected, " << c["failed"] << " failed, " << c["unknown"] << " unknown\n";
  for (const char* f : {"write", "cas", "delete", "read"}) {  // the kinds the workload sent
    const json& o = m["ops"][f];
    if (o["ok"].get<uint64_t>() + o["fail"].get<uint64_t>() + o["unknown"].get<uint64_t>() == 0) continue;
    char kind[8];
    std::snprintf(kind, sizeof kind, "%-6s", f);
    out << "           " << kind << " " << o["ok"] << " ok, " << o["fail"] << " fail, " << o["unknown"] << " unknown\n";
  }
  out << "           commit latency " << describe_quantiles(m["commit_latency"]) << "\n";
}

}  // namespace sim

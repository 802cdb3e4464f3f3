// The heartbeat layer: all nodes run core::hb::Detector.
#include "sim/layers/heartbeat.hpp"

#include <algorithm>
#include <ostream>

#include "sim/engine/stats.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

// ---------------------------------------------------------------- settings

json HeartbeatSettings::to_json() const {
  return {{"interval", write_duration(config.interval_ns)},
          {"timeout", write_duration(config.timeout_ns)},
          {"message_bytes", config.message_bytes}};
}

bool HeartbeatSettings::equals(const Settings& other) const {
  const auto* o = dynamic_cast<const HeartbeatSettings*>(&other);
  return o && o->config.interval_ns == config.interval_ns && o->config.timeout_ns == config.timeout_ns &&
         o->config.message_bytes == config.message_bytes;
}

namespace {

class HeartbeatDef final : public LayerDef {
 public:
  std::string name() const override { return "heartbeat"; }
  std::vector<PropertyDef> properties() const override {
    return {{"hb_converged", false,
             "every running node suspects exactly the peers it cannot hear from", &read_true_argument}};
  }
  std::shared_ptr<const Settings> read(const Reader& r, const Reader& /*cluster*/, const Scenario& /*s*/) const override {
    auto out = std::make_shared<HeartbeatSettings>();
    core::hb::DetectorConfig& c = out->config;
    if (r.is_null() || !r.object({"interval", "timeout", "message_bytes"})) return out;
    for (const char* key : {"interval", "timeout"}) {
      if (!r.has(key)) continue;
      core::Duration d = 0;
      if (!r[key].duration(d)) continue;
      if (d < core::kMillisecond || d > 3600 * core::kSecond) r[key].error("expected a duration between 1ms and 1h, e.g. \"100ms\"");
      else (std::string(key) == "interval" ? c.interval_ns : c.timeout_ns) = d;
    }
    uint64_t bytes = 0;
    if (r.has("message_bytes") && r["message_bytes"].count(bytes, 1, 65536)) c.message_bytes = static_cast<uint32_t>(bytes);
    if (c.timeout_ns <= c.interval_ns) r["timeout"].error("must be longer than the interval");
    return out;
  }
  std::unique_ptr<Layer> make(const Scenario& s) const override {
    return std::make_unique<HeartbeatLayer>(s.layer_settings<HeartbeatSettings>("heartbeat"));
  }
};

}  // namespace

const LayerDef& heartbeat_layer_def() {
  static const HeartbeatDef def;
  return def;
}

// ---------------------------------------------------------------- run

void HeartbeatLayer::attach(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  const size_t n = s.nodes.size();
  nodes_.assign(n, nullptr);
  suspects_.assign(n, std::vector<uint8_t>(n, 0));
}

std::unique_ptr<core::Node> HeartbeatLayer::make_node(core::NodeId id) {
  auto node = std::make_unique<core::hb::Detector>(id, static_cast<uint32_t>(nodes_.size()), config_);
  nodes_[id] = node.get();
  std::fill(suspects_[id].begin(), suspects_[id].end(), 0);
  return node;
}

void HeartbeatLayer::on_record(core::Time now, core::NodeId node, const core::Record& r) {
  if (r.kind == core::hb::kRecordSuspect) {
    ++suspicions_;
    const core::NodeId peer = static_cast<core::NodeId>(r.a);
    suspects_[node][peer] = 1;
    // A suspicion of a peer that is up, running and reachable both ways is a false positive.
    if (sim_->is_up(peer) && !sim_->is_paused(peer) && sim_->network().reachable(peer, node) &&
        sim_->network().reachable(node, peer))
      ++false_suspicions_;
    // Detection latency: when the last live observer suspects a crashed peer.
    auto it = crashed_at_.find(peer);
    if (it != crashed_at_.end()) {
      bool all = true;
      for (core::NodeId o = 0; o < nodes_.size(); ++o)
        if (o != peer && sim_->is_up(o) && !suspects_[o][peer]) all = false;
      if (all) {
        detection_ns_.push_back(now - it->second);
        crashed_at_.erase(it);
      }
    }
  } else if (r.kind == core::hb::kRecordAlive) {
    ++recoveries_;
    suspects_[node][static_cast<core::NodeId>(r.a)] = 0;
  }
}

void HeartbeatLayer::on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) {
  if (what == Lifecycle::kCrash) {
    crashed_at_[node] = now;
    std::fill(suspects_[node].begin(), suspects_[node].end(), 0);
    nodes_[node] = nullptr;
  } else if (what == Lifecycle::kRestart) {
    crashed_at_.erase(node);
  }
}

bool HeartbeatLayer::holds(const Expectation& e, std::string& detail) {
  if (e.property != "hb_converged") return false;
  // Every running node suspects exactly the peers it cannot hear from.
  Network& net = sim_->network();
  for (core::NodeId i = 0; i < nodes_.size(); ++i) {
    if (!sim_->is_up(i) || sim_->is_paused(i)) continue;
    for (core::NodeId j = 0; j < nodes_.size(); ++j) {
      if (j == i) continue;
      const bool silent = !sim_->is_up(j) || sim_->is_paused(j) || !net.reachable(j, i);
      if (nodes_[i]->suspects(j) != silent) {
        detail = sim_->node_name(i) + (silent ? " does not suspect " : " suspects ") + sim_->node_name(j) + " (" +
                 (silent ? "it cannot hear from it" : "it hears from it") + ")";
        return false;
      }
    }
  }
  return true;
}

std::optional<Violation> HeartbeatLayer::violation(const std::string& /*property*/) const { return std::nullopt; }

json HeartbeatLayer::metrics() const {
  json lat = json::array();
  for (core::Duration d : detection_ns_) lat.push_back(d);
  return {{"suspicions", suspicions_},
          {"false_suspicions", false_suspicions_},
          {"recoveries", recoveries_},
          {"detection_latency_ns", lat}};
}

void HeartbeatLayer::print_metrics(const json& m, std::ostream& out) const {
  std::vector<int64_t> lat = m["detection_latency_ns"].get<std::vector<int64_t>>();
  out << "heartbeat  " << m["suspicions"] << " suspicions (" << m["false_suspicions"] << " false), "
      << m["recoveries"] << " recoveries; detection latency " << describe_quantiles(quantiles_ns(std::move(lat)))
      << "\n";
}

}  // namespace sim

// The heartbeat protocol's driver: all nodes run core::hb::Detector.
#include <map>

#include "core/hb/heartbeat.hpp"
#include "sim/layers/heartbeat.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

namespace {

core::hb::DetectorConfig parse_config(const json& j, std::vector<ScenarioError>* errors) {
  core::hb::DetectorConfig c;
  if (j.is_null()) return c;
  auto err = [&](const std::string& path, const std::string& msg) {
    if (errors) errors->push_back({path, msg});
  };
  if (!j.is_object()) {
    err("$.heartbeat", "expected an object with \"interval\", \"timeout\" and/or \"message_bytes\"");
    return c;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string p = "$.heartbeat." + it.key();
    if (it.key() == "interval" || it.key() == "timeout") {
      core::Duration d = 0;
      if (!it->is_string() || !parse_duration(it->get<std::string>(), d) || d < core::kMillisecond || d > 3600 * core::kSecond) {
        err(p, "expected a duration between 1ms and 1h, e.g. \"100ms\"");
        continue;
      }
      (it.key() == "interval" ? c.interval_ns : c.timeout_ns) = d;
    } else if (it.key() == "message_bytes") {
      if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > 65536) {
        err(p, "expected an integer from 1 to 65536");
        continue;
      }
      c.message_bytes = static_cast<uint32_t>(it->get<uint64_t>());
    } else {
      err(p, "unknown key (expected interval, timeout, message_bytes)");
    }
  }
  if (c.timeout_ns <= c.interval_ns) err("$.heartbeat.timeout", "must be longer than the interval");
  return c;
}

}  // namespace

void validate_heartbeat_config(const json& j, std::vector<ScenarioError>& errors) { parse_config(j, &errors); }

void HeartbeatDriver::build(Simulation& sim, const Scenario& s) {
  sim_ = &sim;
  const core::hb::DetectorConfig config = parse_config(s.protocol_config, nullptr);
  const uint32_t n = static_cast<uint32_t>(s.nodes.size());
  nodes_.assign(n, nullptr);
  suspects_.assign(n, std::vector<uint8_t>(n, 0));
  for (core::NodeId i = 0; i < n; ++i) {
    sim.add_node(s.nodes[i].name, s.nodes[i].dc, [this, n, config](core::NodeId id) {
      auto node = std::make_unique<core::hb::Detector>(id, n, config);
      nodes_[id] = node.get();
      std::fill(suspects_[id].begin(), suspects_[id].end(), 0);
      return node;
    });
  }
  sim.add_observer(this);
}

void HeartbeatDriver::on_record(core::Time now, core::NodeId node, const core::Record& r) {
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

void HeartbeatDriver::on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) {
  if (what == Lifecycle::kCrash) {
    crashed_at_[node] = now;
    std::fill(suspects_[node].begin(), suspects_[node].end(), 0);
    nodes_[node] = nullptr;
  } else if (what == Lifecycle::kRestart) {
    crashed_at_.erase(node);
  }
}

bool HeartbeatDriver::holds(const Expectation& e, std::string& detail) {
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

std::optional<Violation> HeartbeatDriver::violation(const std::string& property) const {
  if (property == "message_conservation") return conservation_violation(*sim_);
  return std::nullopt;
}

json HeartbeatDriver::metrics() const {
  json lat = json::array();
  for (core::Duration d : detection_ns_) lat.push_back(d);
  return {{"hb",
           {{"suspicions", suspicions_},
            {"false_suspicions", false_suspicions_},
            {"recoveries", recoveries_},
            {"detection_latency_ns", lat}}}};
}

std::optional<Violation> conservation_violation(const Simulation& sim) {
  const MessageStats& m = sim.messages();
  const uint64_t in = m.sent + m.duplicated;
  const uint64_t out = m.delivered + m.dropped + sim.inflight_messages();
  if (in == out) return std::nullopt;
  Violation v;
  v.time = sim.now();
  v.trace_position = sim.trace_events();
  v.property = "message_conservation";
  v.description = "sent + duplicated = " + std::to_string(in) + " but delivered + dropped + in flight = " + std::to_string(out);
  return v;
}

}  // namespace sim

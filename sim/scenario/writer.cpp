// The writer (scenario.hpp): a Scenario back into the document the parser
// reads, so that tools which make scenarios (explore, shrink) can save them.
// The contract is parse_scenario(write_scenario(s).dump()) == s, including
// every fault's description (it is shown in traces and summaries), so values
// are written exactly: durations by write_duration, doubles by nlohmann's
// shortest round-trip form, and the few descriptions that quote the input
// ("clock s1 drift 200ppm") get that input back.
//
// The document is not byte-identical to the one parsed: defaults may be
// written out (every layer's settings are), keys come in nlohmann's order, and
// link settings equal to their starting point are left out.
#include <cmath>

#include "sim/scenario/scenario.hpp"

namespace sim {

using nlohmann::json;

bool Fault::operator==(const Fault& o) const {
  // Action arguments by value, not by pointer.
  const bool same_args = !args == !o.args && (!args || args->equals(*o.args));
  return same_args && kind == o.kind && at == o.at && path == o.path && description == o.description &&
         target == o.target && target2 == o.target2 && groups == o.groups && shape == o.shape && link == o.link &&
         wan_a == o.wan_a && wan_b == o.wan_b && drift_ppb == o.drift_ppb && jump == o.jump && delay == o.delay &&
         lose_unsynced == o.lose_unsynced && action == o.action && note == o.note;
}

bool Scenario::operator==(const Scenario& o) const {
  // Settings are compared by value, not by pointer.
  const auto same = [](const std::map<std::string, std::shared_ptr<const Settings>>& a,
                       const std::map<std::string, std::shared_ptr<const Settings>>& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia->first != ib->first || !ia->second != !ib->second) return false;
      if (ia->second && !ia->second->equals(*ib->second)) return false;
    }
    return true;
  };
  return name == o.name && description == o.description && stack == o.stack && seed == o.seed &&
         datacenters == o.datacenters && nodes == o.nodes && per_datacenter == o.per_datacenter &&
         dc_counts == o.dc_counts && lan == o.lan && wan == o.wan && storage == o.storage &&
         same(settings, o.settings) && same(workloads, o.workloads) && faults == o.faults && expect == o.expect &&
         until == o.until;
}

namespace {

json names_of(const Scenario& s, const std::vector<core::NodeId>& ids) {
  json out = json::array();
  for (core::NodeId id : ids) out.push_back(s.nodes[id].name);
  return out;
}

// A name as it was written ("s1"), a list (["s1"] stays a list: the
// description quotes the text), or a selector.
json target_json(const Scenario& s, const Target& t) {
  if (t.kind != Target::Kind::kNames) return selector_name(t.kind);
  if (t.nodes.size() == 1 && t.text == s.nodes[t.nodes[0]].name) return t.text;
  return names_of(s, t.nodes);
}

// The settings of `l` that differ from `base`, the value the parser starts
// from (an ideal link, or "network.wan" for a degraded WAN link).
json link_json(const LinkParams& l, const LinkParams& base) {
  json j = json::object();
  if (l.latency != base.latency) j["latency"] = write_distribution(l.latency);
  if (l.loss != base.loss) j["loss"] = l.loss;
  if (l.duplicate != base.duplicate) j["duplicate"] = l.duplicate;
  if (l.reorder != base.reorder || l.reorder_delay != base.reorder_delay)
    j["reorder"] = {{"probability", l.reorder}, {"delay", write_distribution(l.reorder_delay)}};
  // 0 (unlimited) has no written form; the parser never degrades to it.
  if (l.bandwidth_bps != base.bandwidth_bps && l.bandwidth_bps != 0) j["bandwidth"] = format_bandwidth(l.bandwidth_bps);
  return j;
}

// A degrade: at least one link setting, even when it equals its base.
json degrade_json(json head, const LinkParams& l, const LinkParams& base) {
  json j = link_json(l, base);
  if (j.empty()) j["latency"] = write_distribution(l.latency);
  j.update(head);
  return j;
}

// What the description says after `prefix`, without `suffix`; "" when it
// does not have that form.
std::string quoted(const std::string& description, const std::string& prefix, const std::string& suffix) {
  if (description.size() < prefix.size() + suffix.size() || description.compare(0, prefix.size(), prefix) != 0 ||
      description.compare(description.size() - suffix.size(), suffix.size(), suffix) != 0)
    return "";
  return description.substr(prefix.size(), description.size() - prefix.size() - suffix.size());
}

// The drift as written when the description holds it (200 stays 200, not
// 200.0), else from the parts per billion.
json drift_json(const Fault& f) {
  const json written = json::parse(quoted(f.description, "clock " + f.target.text + " drift ", "ppm"), nullptr, false);
  if (written.is_number() && std::llround(written.get<double>() * 1000.0) == f.drift_ppb) return written;
  if (f.drift_ppb % 1000 == 0) return f.drift_ppb / 1000;
  return static_cast<double>(f.drift_ppb) / 1000.0;
}

// The jump as written when the description holds it ("-0.5s" stays
// "-0.5s"), else exactly.
std::string jump_text(const Fault& f) {
  const std::string written = quoted(f.description, "clock " + f.target.text + " jump ", "");
  const bool negative = !written.empty() && written[0] == '-';
  core::Duration d = 0;
  if (parse_duration(negative ? written.substr(1) : written, d) && (negative ? -d : d) == f.jump) return written;
  return write_duration(f.jump);
}

json fault_json(const Scenario& s, const Fault& f) {
  json j = {{"at", write_duration(f.at)}};
  const auto wan = [&] { return json::array({s.datacenters[f.wan_a], s.datacenters[f.wan_b]}); };
  using K = Fault::Kind;
  switch (f.kind) {
    case K::kCrash: j["crash"] = target_json(s, f.target); break;
    case K::kRestart: j["restart"] = target_json(s, f.target); break;
    case K::kPause: j["pause"] = target_json(s, f.target); break;
    case K::kResume: j["resume"] = target_json(s, f.target); break;
    case K::kIsolate: j["isolate"] = target_json(s, f.target); break;
    case K::kAction:
      j[f.action] = target_json(s, f.target);
      // The arguments' keys sit beside the action's ({"service": {...}}).
      if (f.args) j.update(f.args->to_json());
      break;
    case K::kPartitionGroups: {
      json groups = json::array();
      for (const auto& g : f.groups) groups.push_back(names_of(s, g));
      j["partition"] = {{"groups", groups}};
      break;
    }
    case K::kPartitionShape: j["partition"] = {{"shape", f.shape}}; break;
    case K::kBlock: j["block"] = {{"from", target_json(s, f.target)}, {"to", target_json(s, f.target2)}}; break;
    case K::kHeal: j["heal"] = "all"; break;
    case K::kDegradeNodes: j["degrade"] = degrade_json({{"nodes", target_json(s, f.target)}}, f.link, LinkParams{}); break;
    case K::kDegradeWan: j["degrade"] = degrade_json({{"wan", wan()}}, f.link, s.wan); break;
    case K::kRestoreNodes: j["restore"] = target_json(s, f.target); break;
    case K::kRestoreWan: j["restore"] = {{"wan", wan()}}; break;
    case K::kClockDrift: j["clock"] = {{"nodes", target_json(s, f.target)}, {"drift_ppm", drift_json(f)}}; break;
    case K::kClockJump: j["clock"] = {{"nodes", target_json(s, f.target)}, {"jump", jump_text(f)}}; break;
    case K::kSlow:
      j["slow"] = target_json(s, f.target);
      j["delay"] = write_distribution(f.delay);
      break;
    case K::kUnslow: j["unslow"] = target_json(s, f.target); break;
  }
  if (!f.note.empty()) j["note"] = f.note;
  if (f.lose_unsynced) j["lose_unsynced"] = *f.lose_unsynced;
  return j;
}

// A by-property's argument is its canonical text (PropertyDef), or true for
// a property that takes only true.
json expectation_json(const Expectation& e) {
  if (e.kind == Expectation::Kind::kAlways) return {{"always", e.property}};
  return {{"by", write_duration(e.by)}, {e.property, e.argument.empty() ? json(true) : json(e.argument)}};
}

json cluster_json(const Scenario& s) {
  // The counts as written; a Scenario built in code may leave them out.
  std::vector<std::pair<uint64_t, uint64_t>> counts = s.dc_counts;
  if (counts.size() != s.datacenters.size()) {
    counts.assign(s.datacenters.size(), {0, 0});
    for (const NodeSpec& n : s.nodes) ++(n.server ? counts[n.dc].first : counts[n.dc].second);
  }
  const auto one = [](json j, uint64_t servers, uint64_t clients) {
    j["servers"] = servers;
    if (clients > 0) j["clients"] = clients;
    return j;
  };
  if (!s.per_datacenter && counts.size() == 1) return one(json::object(), counts[0].first, counts[0].second);
  json dcs = json::array();
  for (size_t i = 0; i < counts.size(); ++i) dcs.push_back(one({{"name", s.datacenters[i]}}, counts[i].first, counts[i].second));
  return {{"datacenters", dcs}};
}

}  // namespace

json write_scenario(const Scenario& s) {
  json doc = {{"name", s.name}, {"seed", s.seed}, {"protocol", s.stack}, {"cluster", cluster_json(s)},
              {"until", write_duration(s.until)}};
  if (!s.description.empty()) doc["description"] = s.description;
  json network = link_json(s.lan, LinkParams{});
  if (s.datacenters.size() >= 2 && !(s.wan == LinkParams{})) network["wan"] = link_json(s.wan, LinkParams{});
  if (!network.empty()) doc["network"] = network;
  json storage = json::object();
  if (!(s.storage.sync_latency == StorageParams{}.sync_latency))
    storage["sync_latency"] = write_distribution(s.storage.sync_latency);
  if (s.storage.lose_unsynced_on_crash) storage["lose_unsynced_on_crash"] = true;
  if (!storage.empty()) doc["storage"] = storage;
  for (const auto& [layer, settings] : s.settings) doc[layer] = settings->to_json();
  if (!s.workloads.empty()) {
    json w = json::object();
    for (const auto& [workload, settings] : s.workloads) w[workload] = settings->to_json();
    doc["workload"] = w;
  }
  if (!s.faults.empty()) {
    json faults = json::array();
    for (const Fault& f : s.faults) faults.push_back(fault_json(s, f));
    doc["faults"] = faults;
  }
  if (!s.expect.empty()) {
    json expect = json::array();
    for (const Expectation& e : s.expect) expect.push_back(expectation_json(e));
    doc["expect"] = expect;
  }
  return doc;
}

}  // namespace sim

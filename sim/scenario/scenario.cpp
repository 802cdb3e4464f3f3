#include "sim/scenario/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>


namespace sim {

using nlohmann::json;

ScenarioInvalid::ScenarioInvalid(std::vector<ScenarioError> errors)
    : std::runtime_error([&] {
        std::string s;
        for (const auto& e : errors) s += e.str() + "\n";
        return s;
      }()),
      errors_(std::move(errors)) {}

std::vector<core::NodeId> Scenario::servers() const {
  std::vector<core::NodeId> out;
  for (core::NodeId i = 0; i < nodes.size(); ++i)
    if (nodes[i].server) out.push_back(i);
  return out;
}
std::vector<core::NodeId> Scenario::clients() const {
  std::vector<core::NodeId> out;
  for (core::NodeId i = 0; i < nodes.size(); ++i)
    if (!nodes[i].server) out.push_back(i);
  return out;
}

namespace {

// Collects errors while walking the document.
class Checker {
 public:
  std::vector<ScenarioError> errors;

  void error(const std::string& path, const std::string& msg) { errors.push_back({path, msg}); }

  bool any_object(const json& j, const std::string& path) {
    if (j.is_object()) return true;
    error(path, std::string("expected an object, got ") + json_type_word(j));
    return false;
  }

  // Reports keys of object `j` that are not in `allowed`.
  bool object(const json& j, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!j.is_object()) {
      error(path, std::string("expected an object, got ") + json_type_word(j));
      return false;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool ok = false;
      for (const char* a : allowed) ok |= it.key() == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        error(path + "." + it.key(), "unknown key (expected one of: " + list + ")");
      }
    }
    return true;
  }

  bool duration(const json& j, const std::string& path, core::Duration& out, bool allow_negative = false) {
    if (!j.is_string()) {
      error(path, std::string("expected a duration string such as \"150ms\" or \"2s\", got ") + json_type_word(j));
      return false;
    }
    std::string s = j.get<std::string>();
    bool neg = false;
    if (allow_negative && !s.empty() && s[0] == '-') {
      neg = true;
      s = s.substr(1);
    }
    if (!neg && !s.empty() && s[0] == '-' && parse_duration(s.substr(1), out)) {
      error(path, "negative duration \"" + s + "\" is not allowed here (expected 0 or more, e.g. \"150ms\")");
      return false;
    }
    if (!parse_duration(s, out)) {
      error(path, "malformed duration \"" + j.get<std::string>() +
                      "\" (expected a number and a unit: ns, us, ms, s, m or h, e.g. \"150ms\")");
      return false;
    }
    if (neg) out = -out;
    return true;
  }

  bool probability(const json& j, const std::string& path, double& out) {
    if (!j.is_number()) {
      error(path, std::string("expected a probability between 0 and 1, got ") + json_type_word(j));
      return false;
    }
    out = j.get<double>();
    if (!(out >= 0.0 && out <= 1.0)) {
      error(path, "probability " + j.dump() + " is out of range (expected 0 <= p <= 1)");
      return false;
    }
    return true;
  }

  bool integer(const json& j, const std::string& path, int64_t lo, int64_t hi, int64_t& out) {
    if (!j.is_number_integer() && !j.is_number_unsigned()) {
      error(path, std::string("expected an integer, got ") + json_type_word(j));
      return false;
    }
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      error(path, "integer " + j.dump() + " is out of range (expected " + std::to_string(lo) + " to " + std::to_string(hi) + ")");
      return false;
    }
    out = j.get<int64_t>();
    if (out < lo || out > hi) {
      error(path, "value " + j.dump() + " is out of range (expected " + std::to_string(lo) + " to " + std::to_string(hi) + ")");
      return false;
    }
    return true;
  }

  bool boolean(const json& j, const std::string& path, bool& out) {
    if (!j.is_boolean()) {
      error(path, std::string("expected true or false, got ") + json_type_word(j));
      return false;
    }
    out = j.get<bool>();
    return true;
  }

  bool string(const json& j, const std::string& path, std::string& out) {
    if (!j.is_string()) {
      error(path, std::string("expected a string, got ") + json_type_word(j));
      return false;
    }
    out = j.get<std::string>();
    return true;
  }

  void distribution(const json& j, const std::string& path, Distribution& out) {
    std::string err;
    if (!parse_distribution(j, out, err)) error(path, err);
  }

  void link(const json& j, const std::string& path, LinkParams& out, bool allow_wan) {
    std::initializer_list<const char*> keys_lan = {"latency", "loss", "duplicate", "reorder", "bandwidth", "wan"};
    std::initializer_list<const char*> keys = {"latency", "loss", "duplicate", "reorder", "bandwidth"};
    if (!object(j, path, allow_wan ? keys_lan : keys)) return;
    if (j.contains("latency")) distribution(j["latency"], path + ".latency", out.latency);
    if (j.contains("loss")) probability(j["loss"], path + ".loss", out.loss);
    if (j.contains("duplicate")) probability(j["duplicate"], path + ".duplicate", out.duplicate);
    if (j.contains("reorder")) {
      const json& r = j["reorder"];
      const std::string rp = path + ".reorder";
      if (object(r, rp, {"probability", "delay"})) {
        if (!r.contains("probability")) error(rp, "missing key \"probability\"");
        else probability(r["probability"], rp + ".probability", out.reorder);
        if (!r.contains("delay")) error(rp, "missing key \"delay\" (the extra delay of a reordered message)");
        else distribution(r["delay"], rp + ".delay", out.reorder_delay);
      }
    }
    if (j.contains("bandwidth")) bandwidth(j["bandwidth"], path + ".bandwidth", out.bandwidth_bps);
  }

  void bandwidth(const json& j, const std::string& path, uint64_t& out) {
    static const std::pair<const char*, uint64_t> units[] = {
        {"Gbps", 1000000000ull}, {"Mbps", 1000000ull}, {"Kbps", 1000ull}, {"bps", 1ull}};
    if (j.is_string()) {
      const std::string s = j.get<std::string>();
      for (const auto& [u, mult] : units) {
        const std::string unit(u);
        if (s.size() > unit.size() && s.compare(s.size() - unit.size(), unit.size(), unit) == 0) {
          const std::string num = s.substr(0, s.size() - unit.size());
          char* end = nullptr;
          const double v = std::strtod(num.c_str(), &end);
          if (end && *end == '\0' && v > 0 && v * static_cast<double>(mult) < 1e15) {
            out = static_cast<uint64_t>(v * static_cast<double>(mult));
            if (out > 0) return;
          }
          break;
        }
      }
    }
    error(path, "expected a bandwidth such as \"100Mbps\" or \"1Gbps\" (units bps, Kbps, Mbps, Gbps; positive)");
  }
};

}  // namespace

namespace {

struct Parser {
  explicit Parser(const StackRegistry& r) : registry(r) {}
  const StackRegistry& registry;
  const StackDef* stack = nullptr;
  Checker c;
  Scenario s;
  std::map<std::string, core::NodeId> by_name;

  Reader reader(const json& j, const std::string& path) { return Reader(j, path, c.errors); }

  std::string node_list() const {
    std::string out;
    const size_t n = s.nodes.size();
    for (size_t i = 0; i < n && i < 8; ++i) out += (i ? ", " : "") + s.nodes[i].name;
    if (n > 8) out += ", ... (" + std::to_string(n) + " nodes)";
    return out;
  }

  bool target(const json& j, const std::string& path, Target& t) {
    static const std::map<std::string, Target::Kind> selectors = {
        {"leader", Target::Kind::kLeader},
        {"followers", Target::Kind::kFollowers},
        {"random_follower", Target::Kind::kRandomFollower},
        {"random_server", Target::Kind::kRandomServer},
        {"random_client", Target::Kind::kRandomClient},
        {"random_node", Target::Kind::kRandomNode},
        {"minority", Target::Kind::kMinority},
        {"majority", Target::Kind::kMajority},
        {"all_servers", Target::Kind::kAllServers},
        {"all_clients", Target::Kind::kAllClients},
        {"all", Target::Kind::kAll},
        {"all_crashed", Target::Kind::kAllCrashed},
        {"all_paused", Target::Kind::kAllPaused},
    };
    auto name = [&](const json& v, const std::string& p, bool in_list) -> bool {
      if (!v.is_string()) {
        c.error(p, std::string("expected a node name or selector, got ") + json_type_word(v));
        return false;
      }
      auto it = by_name.find(v.get<std::string>());
      if (it == by_name.end()) {
        c.error(p, "unknown node \"" + v.get<std::string>() + "\" (nodes are " + node_list() +
                       (in_list ? "; a list holds node names only, no selectors)"
                                : "; selectors: leader, followers, random_follower, random_server, random_client, random_node, "
                                  "minority, majority, all_servers, all_clients, all, all_crashed, all_paused)"));
        return false;
      }
      t.nodes.push_back(it->second);
      return true;
    };
    t = Target{};
    if (j.is_string()) {
      t.text = j.get<std::string>();
      auto sel = selectors.find(t.text);
      if (sel != selectors.end()) {
        t.kind = sel->second;
        const bool needs_leader = t.kind == Target::Kind::kLeader || t.kind == Target::Kind::kFollowers ||
                                  t.kind == Target::Kind::kRandomFollower;
        if (needs_leader && !stack->has_leader()) {
          std::string with;
          for (const std::string& n : registry.names())
            if (registry.find(n)->has_leader()) with += (with.empty() ? "" : ", ") + n;
          c.error(path, "selector \"" + t.text + "\" needs a stack with a leader (this scenario runs " + s.stack +
                            "; stacks with one: " + with + ")");
          return false;
        }
        return true;
      }
      return name(j, path, false);
    }
    if (j.is_array() && !j.empty()) {
      t.text = j.dump();
      bool ok = true;
      std::set<core::NodeId> seen;
      for (size_t i = 0; i < j.size(); ++i) {
        ok &= name(j[i], path + "[" + std::to_string(i) + "]", true);
        if (ok && !seen.insert(t.nodes.back()).second) {
          c.error(path + "[" + std::to_string(i) + "]", "node \"" + j[i].get<std::string>() + "\" is listed twice");
          ok = false;
        }
      }
      return ok;
    }
    c.error(path, j.is_array() ? std::string("an empty list names no node (expected at least one node name)")
                               : std::string("expected a node name, a list of node names or a selector, got ") + json_type_word(j));
    return false;
  }

  void cluster(const json& j) {
    const std::string p = "$.cluster";
    if (!c.object(j, p, {"servers", "clients", "datacenters"})) return;
    auto add_dc = [&](const std::string& dc_name, int64_t servers, int64_t clients, bool prefix) {
      const uint32_t dc = static_cast<uint32_t>(s.datacenters.size());
      s.datacenters.push_back(dc_name);
      const std::string pre = prefix ? dc_name + "-" : "";
      for (int64_t i = 1; i <= servers; ++i) s.nodes.push_back({pre + "s" + std::to_string(i), true, dc});
      for (int64_t i = 1; i <= clients; ++i) s.nodes.push_back({pre + "c" + std::to_string(i), false, dc});
    };
    if (j.contains("datacenters")) {
      if (j.contains("servers") || j.contains("clients")) {
        c.error(p, "give either \"servers\"/\"clients\" (one datacenter) or \"datacenters\", not both");
        return;
      }
      const json& dcs = j["datacenters"];
      if (!dcs.is_array() || dcs.empty() || dcs.size() > 16) {
        c.error(p + ".datacenters", "expected an array of 1 to 16 datacenters");
        return;
      }
      std::set<std::string> names;
      for (size_t i = 0; i < dcs.size(); ++i) {
        const std::string dp = p + ".datacenters[" + std::to_string(i) + "]";
        if (!c.object(dcs[i], dp, {"name", "servers", "clients"})) continue;
        std::string name;
        int64_t servers = 0, clients = 0;
        if (!dcs[i].contains("name")) c.error(dp, "missing key \"name\"");
        else if (c.string(dcs[i]["name"], dp + ".name", name)) {
          bool valid = !name.empty() && name.size() <= 32;
          for (char ch : name) valid &= (std::isalnum(static_cast<unsigned char>(ch)) != 0) || ch == '_';
          if (!valid) c.error(dp + ".name", "datacenter names are 1-32 letters, digits or '_'");
          else if (!names.insert(name).second) c.error(dp + ".name", "duplicate datacenter \"" + name + "\"");
        }
        if (dcs[i].contains("servers")) c.integer(dcs[i]["servers"], dp + ".servers", 0, 1000, servers);
        if (dcs[i].contains("clients")) c.integer(dcs[i]["clients"], dp + ".clients", 0, 10000, clients);
        if (servers + clients == 0) c.error(dp, "a datacenter needs at least one server or client");
        add_dc(name, servers, clients, true);
      }
    } else {
      int64_t servers = 0, clients = 0;
      if (!j.contains("servers")) c.error(p, "missing key \"servers\"");
      else c.integer(j["servers"], p + ".servers", 1, 1000, servers);
      if (j.contains("clients")) c.integer(j["clients"], p + ".clients", 0, 10000, clients);
      add_dc("dc1", servers, clients, false);
    }
    for (core::NodeId i = 0; i < s.nodes.size(); ++i) by_name[s.nodes[i].name] = i;
  }

  void network(const json& j) {
    const std::string p = "$.network";
    c.link(j, p, s.lan, true);
    if (j.is_object() && j.contains("wan")) {
      if (s.datacenters.size() < 2) c.error(p + ".wan", "WAN links need at least two datacenters in \"cluster\"");
      c.link(j["wan"], p + ".wan", s.wan, false);
    }
  }

  void storage(const json& j) {
    const std::string p = "$.storage";
    if (!c.object(j, p, {"sync_latency", "lose_unsynced_on_crash"})) return;
    if (j.contains("sync_latency")) c.distribution(j["sync_latency"], p + ".sync_latency", s.storage.sync_latency);
    if (j.contains("lose_unsynced_on_crash"))
      c.boolean(j["lose_unsynced_on_crash"], p + ".lose_unsynced_on_crash", s.storage.lose_unsynced_on_crash);
  }

  uint32_t dc_index(const json& j, const std::string& path) {
    std::string name;
    if (!c.string(j, path, name)) return UINT32_MAX;
    for (uint32_t i = 0; i < s.datacenters.size(); ++i)
      if (s.datacenters[i] == name) return i;
    c.error(path, "unknown datacenter \"" + name + "\"");
    return UINT32_MAX;
  }

  bool wan_pair(const json& j, const std::string& path, Fault& f) {
    if (!j.is_array() || j.size() != 2) {
      c.error(path, "expected [DC_A, DC_B], two datacenter names");
      return false;
    }
    f.wan_a = dc_index(j[0], path + "[0]");
    f.wan_b = dc_index(j[1], path + "[1]");
    if (f.wan_a == UINT32_MAX || f.wan_b == UINT32_MAX) return false;
    if (f.wan_a == f.wan_b) {
      c.error(path, "a WAN link joins two different datacenters");
      return false;
    }
    return true;
  }

  void fault(const json& j, const std::string& p) {
    static const char* actions[] = {"crash", "restart", "pause", "resume", "partition", "isolate",
                                    "block", "heal",    "degrade", "restore", "clock"};
    if (!j.is_object()) {
      c.error(p, std::string("expected a fault object such as {\"at\": \"10s\", \"crash\": \"leader\"}, got ") + json_type_word(j));
      return;
    }
    Fault f;
    f.path = p;
    std::vector<std::string> found;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "at" || k == "note" || k == "lose_unsynced") continue;
      bool known = false;
      for (const char* a : actions) known |= k == a;
      for (const std::string& a : stack->actions()) known |= k == a;
      if (known) found.push_back(k);
      else
        c.error(p + "." + k, "unknown key (a fault has \"at\", an optional \"note\", and one action: crash, restart, pause, "
                             "resume, partition, isolate, block, heal, degrade, restore, clock)");
    }
    if (!j.contains("at")) c.error(p, "missing key \"at\" (when the fault fires, e.g. \"10s\")");
    else if (c.duration(j["at"], p + ".at", f.at) && f.at < 0) c.error(p + ".at", "must not be negative");
    if (j.contains("note")) {
      std::string note;
      c.string(j["note"], p + ".note", note);
    }
    if (found.size() != 1) {
      if (found.empty()) c.error(p, "a fault needs exactly one action (crash, restart, pause, resume, partition, isolate, block, heal, degrade, restore, clock)");
      else c.error(p, "a fault has exactly one action; found " + std::to_string(found.size()) + " (" + found[0] + ", " + found[1] + ")");
      return;
    }
    const std::string action = found[0];
    const std::vector<std::string> proto_actions = stack->actions();
    const json& v = j[action];
    const std::string ap = p + "." + action;
    if (j.contains("lose_unsynced")) {
      if (action != "crash") c.error(p + ".lose_unsynced", "only a crash can lose unsynced writes");
      else {
        bool b = false;
        if (c.boolean(j["lose_unsynced"], p + ".lose_unsynced", b)) f.lose_unsynced = b;
      }
    }
    bool ok = true;
    if (action == "crash" || action == "restart" || action == "pause" || action == "resume" || action == "isolate") {
      f.kind = action == "crash"     ? Fault::Kind::kCrash
               : action == "restart" ? Fault::Kind::kRestart
               : action == "pause"   ? Fault::Kind::kPause
               : action == "resume"  ? Fault::Kind::kResume
                                     : Fault::Kind::kIsolate;
      ok = target(v, ap, f.target);
      f.description = action + " " + f.target.text;
    } else if (action == "heal") {
      f.kind = Fault::Kind::kHeal;
      if (!(v.is_string() && v.get<std::string>() == "all")) c.error(ap, "expected \"all\" (heal clears every partition and block)");
      f.description = "heal all";
    } else if (action == "partition") {
      if (!c.object(v, ap, {"groups", "shape", "node"})) return;
      if (v.contains("groups") == v.contains("shape")) {
        c.error(ap, "give exactly one of \"groups\" (lists of nodes) or \"shape\" (random_halves, majorities_ring, bridge)");
        return;
      }
      if (v.contains("node")) c.error(ap + ".node", "\"node\" is for \"isolate\"; a partition takes \"groups\" or a \"shape\"");
      if (v.contains("groups")) {
        f.kind = Fault::Kind::kPartitionGroups;
        const json& g = v["groups"];
        if (!g.is_array() || g.size() < 2) {
          c.error(ap + ".groups", "expected an array of at least two groups, each a list of node names");
          return;
        }
        std::set<core::NodeId> seen;
        for (size_t i = 0; i < g.size(); ++i) {
          const std::string gp = ap + ".groups[" + std::to_string(i) + "]";
          Target t;
          if (!g[i].is_array()) {
            c.error(gp, "expected a list of node names");
            ok = false;
            continue;
          }
          if (!target(g[i], gp, t)) {
            ok = false;
            continue;
          }
          for (core::NodeId n : t.nodes)
            if (!seen.insert(n).second) {
              c.error(gp, "node \"" + s.nodes[n].name + "\" is in two groups");
              ok = false;
            }
          f.groups.push_back(t.nodes);
        }
        f.description = "partition " + g.dump();
      } else {
        f.kind = Fault::Kind::kPartitionShape;
        if (!c.string(v["shape"], ap + ".shape", f.shape)) return;
        if (f.shape != "random_halves" && f.shape != "majorities_ring" && f.shape != "bridge") {
          c.error(ap + ".shape", "unknown shape \"" + f.shape + "\" (expected random_halves, majorities_ring or bridge)");
          return;
        }
        const size_t n = s.nodes.size();
        if (n < 3) c.error(ap + ".shape", "shape \"" + f.shape + "\" needs at least 3 nodes (cluster has " + std::to_string(n) + ")");
        f.description = "partition " + f.shape;
      }
    } else if (action == "block") {
      f.kind = Fault::Kind::kBlock;
      if (!c.object(v, ap, {"from", "to"})) return;
      if (!v.contains("from") || !v.contains("to")) {
        c.error(ap, "needs \"from\" and \"to\" (packets from -> to are dropped; to -> from still flow)");
        return;
      }
      const bool from_ok = target(v["from"], ap + ".from", f.target);
      const bool to_ok = target(v["to"], ap + ".to", f.target2);  // report errors in both
      ok = from_ok && to_ok;
      f.description = "block " + f.target.text + " -> " + f.target2.text;
    } else if (action == "degrade") {
      if (!v.is_object()) {
        c.error(ap, "expected an object with \"nodes\" or \"wan\" and link settings (latency, loss, duplicate, reorder, bandwidth)");
        return;
      }
      json rest = v;
      if (v.contains("nodes") == v.contains("wan")) {
        c.error(ap, "give exactly one of \"nodes\" (their access links) or \"wan\" ([DC_A, DC_B])");
        return;
      }
      if (v.contains("nodes")) {
        f.kind = Fault::Kind::kDegradeNodes;
        ok = target(v["nodes"], ap + ".nodes", f.target);
        rest.erase("nodes");
        f.description = "degrade " + f.target.text;
      } else {
        f.kind = Fault::Kind::kDegradeWan;
        ok = wan_pair(v["wan"], ap + ".wan", f);
        f.link = s.wan;
        rest.erase("wan");
        f.description = "degrade wan " + v["wan"].dump();
      }
      if (rest.empty()) c.error(ap, "nothing to degrade: give latency, loss, duplicate, reorder or bandwidth");
      c.link(rest, ap, f.link, false);
    } else if (action == "restore") {
      if (v.is_object()) {
        f.kind = Fault::Kind::kRestoreWan;
        if (!c.object(v, ap, {"wan"}) || !v.contains("wan")) {
          if (!v.contains("wan")) c.error(ap, "expected {\"wan\": [DC_A, DC_B]} or nodes");
          return;
        }
        ok = wan_pair(v["wan"], ap + ".wan", f);
        f.description = "restore wan " + v["wan"].dump();
      } else {
        f.kind = Fault::Kind::kRestoreNodes;
        ok = target(v, ap, f.target);
        f.description = "restore " + f.target.text;
      }
    } else if (std::find(proto_actions.begin(), proto_actions.end(), action) != proto_actions.end()) {
      f.kind = Fault::Kind::kAction;
      f.action = action;
      ok = target(v, ap, f.target);
      f.description = action + " " + f.target.text;
    } else if (action == "clock") {
      if (!c.object(v, ap, {"nodes", "drift_ppm", "jump"})) return;
      if (!v.contains("nodes")) {
        c.error(ap, "missing key \"nodes\"");
        return;
      }
      ok = target(v["nodes"], ap + ".nodes", f.target);
      if (v.contains("drift_ppm") == v.contains("jump")) {
        c.error(ap, "give exactly one of \"drift_ppm\" (rate error, e.g. 200 or -50) or \"jump\" (e.g. \"-300ms\")");
        return;
      }
      if (v.contains("drift_ppm")) {
        f.kind = Fault::Kind::kClockDrift;
        if (!v["drift_ppm"].is_number() || std::abs(v["drift_ppm"].get<double>()) > 100000.0) {
          c.error(ap + ".drift_ppm", "expected a number of parts per million between -100000 and 100000");
          return;
        }
        f.drift_ppb = static_cast<int64_t>(std::llround(v["drift_ppm"].get<double>() * 1000.0));
        f.description = "clock " + f.target.text + " drift " + v["drift_ppm"].dump() + "ppm";
      } else {
        f.kind = Fault::Kind::kClockJump;
        ok &= c.duration(v["jump"], ap + ".jump", f.jump, true);
        f.description = "clock " + f.target.text + " jump " + (v["jump"].is_string() ? v["jump"].get<std::string>() : v["jump"].dump());
      }
    }
    if (ok) s.faults.push_back(std::move(f));
  }

  // Static consistency of faults on named nodes: a crash of a node that is
  // already down, a restart of one that is up, a resume without a pause, two
  // faults on one node at the same instant. Selectors are resolved at run
  // time and are not checked here (a selector that matches nothing is a no-op
  // recorded in the trace); after a lifecycle fault with a selector, the
  // state of every node it could have touched is unknown until a named crash
  // or restart sets it again, so "crash all" then "restart s1" is accepted.
  void fault_consistency() {
    enum State { kUp, kDown, kPaused, kUnknown };
    std::map<core::NodeId, State> state;
    std::map<std::pair<core::Time, core::NodeId>, std::string> at_instant;
    bool partitioned = false;
    for (const Fault& f : s.faults) {
      if (f.at > s.until && s.until > 0)
        c.error(f.path + ".at", "fault at " + format_duration(f.at) + " is after \"until\" (" + format_duration(s.until) + ")");
      if (f.kind == Fault::Kind::kPartitionGroups || f.kind == Fault::Kind::kPartitionShape ||
          f.kind == Fault::Kind::kIsolate || f.kind == Fault::Kind::kBlock)
        partitioned = true;
      if (f.kind == Fault::Kind::kHeal) {
        if (!partitioned) c.error(f.path, "heal without an earlier partition, isolate or block: nothing to heal");
        partitioned = false;
      }
      const bool lifecycle = f.kind == Fault::Kind::kCrash || f.kind == Fault::Kind::kRestart ||
                             f.kind == Fault::Kind::kPause || f.kind == Fault::Kind::kResume;
      if (!lifecycle) continue;
      if (f.target.kind != Target::Kind::kNames) {
        using K = Target::Kind;
        const K k = f.target.kind;
        const bool servers = k != K::kRandomClient && k != K::kAllClients;
        const bool clients = k == K::kRandomClient || k == K::kAllClients || k == K::kRandomNode || k == K::kAll ||
                             k == K::kAllCrashed || k == K::kAllPaused;
        for (core::NodeId n = 0; n < s.nodes.size(); ++n)
          if (s.nodes[n].server ? servers : clients) state[n] = kUnknown;
        continue;
      }
      for (core::NodeId n : f.target.nodes) {
        const std::string& name = s.nodes[n].name;
        auto [it, fresh] = at_instant.emplace(std::make_pair(f.at, n), f.path);
        if (!fresh)
          c.error(f.path, "contradicts " + it->second + ": both act on \"" + name + "\" at " + format_duration(f.at) +
                              " (give them different times)");
        State& st = state.emplace(n, kUp).first->second;
        if (st == kUnknown) {
          if (f.kind == Fault::Kind::kCrash) st = kDown;
          if (f.kind == Fault::Kind::kRestart) st = kUp;
          continue;
        }
        switch (f.kind) {
          case Fault::Kind::kCrash:
            if (st == kDown) c.error(f.path, "\"" + name + "\" is already crashed at " + format_duration(f.at));
            st = kDown;
            break;
          case Fault::Kind::kRestart:
            if (st != kDown) c.error(f.path, "\"" + name + "\" is not crashed at " + format_duration(f.at) + ", so it cannot restart");
            st = kUp;
            break;
          case Fault::Kind::kPause:
            if (st == kDown) c.error(f.path, "\"" + name + "\" is crashed at " + format_duration(f.at) + " and cannot be paused");
            else if (st == kPaused) c.error(f.path, "\"" + name + "\" is already paused at " + format_duration(f.at));
            st = kPaused;
            break;
          case Fault::Kind::kResume:
            if (st != kPaused) c.error(f.path, "\"" + name + "\" is not paused at " + format_duration(f.at) + ", so it cannot resume");
            st = kUp;
            break;
          default:
            break;
        }
      }
    }
  }

  void expectation(const json& j, const std::string& p) {
    if (!j.is_object()) {
      c.error(p, std::string("expected an expectation object such as {\"always\": \"raft_safety\"} or "
                             "{\"by\": \"40s\", \"leader_known_to\": \"all\"}, got ") + json_type_word(j));
      return;
    }
    Expectation e;
    e.path = p;
    const std::vector<PropertyDef> props = stack->properties();
    auto list_of = [&](bool always) {
      std::string list;
      for (const PropertyDef& d : props)
        if (d.always == always) list += (list.empty() ? "" : ", ") + d.name;
      return list;
    };
    auto find = [&](const std::string& name, bool always) -> const PropertyDef* {
      for (const PropertyDef& d : props)
        if (d.name == name && d.always == always) return &d;
      return nullptr;
    };
    if (j.contains("always")) {
      e.kind = Expectation::Kind::kAlways;
      if (!c.object(j, p, {"always"})) return;
      if (!c.string(j["always"], p + ".always", e.property)) return;
      if (find(e.property, true) == nullptr) {
        c.error(p + ".always", "unknown property \"" + e.property + "\" for protocol " + s.stack + " (expected one of: " +
                                   list_of(true) + ")");
        return;
      }
      e.name = "always " + e.property;
    } else if (j.contains("by")) {
      e.kind = Expectation::Kind::kBy;
      if (!c.duration(j["by"], p + ".by", e.by)) return;
      if (s.until > 0 && e.by > s.until)
        c.error(p + ".by", "deadline " + format_duration(e.by) + " is after \"until\" (" + format_duration(s.until) + ")");
      std::vector<std::string> keys;
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "by") keys.push_back(it.key());
      if (keys.size() != 1) {
        c.error(p, "a \"by\" expectation names exactly one property (one of: " + list_of(false) + ")");
        return;
      }
      e.property = keys[0];
      const PropertyDef* d = find(e.property, false);
      if (d == nullptr) {
        c.error(p + "." + e.property, "unknown property for protocol " + s.stack + " (expected one of: " + list_of(false) + ")");
        return;
      }
      if (!d->read_argument(reader(j[e.property], p + "." + e.property), e.argument)) return;
      e.name = "by " + format_duration(e.by) + ": " + e.property + (e.argument.empty() ? "" : " " + e.argument);
    } else {
      c.error(p, "an expectation has \"always\" (a safety property) or \"by\" (a deadline for a liveness property)");
      return;
    }
    s.expect.push_back(std::move(e));
  }

  void document(const json& doc) {
    if (!c.any_object(doc, "$")) return;
    // Settings sections are named after the layers of the stacks.
    std::vector<std::string> sections;
    for (const std::string& n : registry.names())
      for (const LayerDef* l : registry.find(n)->layers)
        if (std::find(sections.begin(), sections.end(), l->name()) == sections.end()) sections.push_back(l->name());
    std::vector<std::string> keys = {"name", "description", "seed", "protocol", "cluster", "network", "storage",
                                     "workload", "faults", "expect", "until"};
    keys.insert(keys.end(), sections.begin(), sections.end());
    if (!reader(doc, "$").object(keys)) return;
    if (!doc.contains("name")) c.error("$", "missing key \"name\"");
    else c.string(doc["name"], "$.name", s.name);
    if (doc.contains("description")) c.string(doc["description"], "$.description", s.description);
    if (doc.contains("seed")) {
      if (!doc["seed"].is_number_unsigned() && !(doc["seed"].is_number_integer() && doc["seed"].get<int64_t>() >= 0))
        c.error("$.seed", "expected a non-negative integer, got " +
                             (doc["seed"].is_number() ? doc["seed"].dump() : std::string(json_type_word(doc["seed"]))));
      else s.seed = doc["seed"].get<uint64_t>();
    }
    s.stack = registry.default_name();
    if (doc.contains("protocol") && c.string(doc["protocol"], "$.protocol", s.stack) && !registry.find(s.stack)) {
      std::string list;
      for (const std::string& n : registry.names()) list += (list.empty() ? "\"" : "\", \"") + n;
      c.error("$.protocol", "unknown protocol \"" + s.stack + "\" (expected one of " + list + "\")");
      return;
    }
    stack = registry.find(s.stack);
    if (!doc.contains("until")) c.error("$", "missing key \"until\" (how long to run, e.g. \"30s\")");
    else if (c.duration(doc["until"], "$.until", s.until) && (s.until <= 0 || s.until > 24 * 3600 * core::kSecond))
      c.error("$.until", "expected a duration between 1ns and 24h");
    if (!doc.contains("cluster")) {
      c.error("$", "missing key \"cluster\" (e.g. {\"servers\": 5})");
      return;
    }
    cluster(doc["cluster"]);
    if (s.nodes.empty()) return;
    if (doc.contains("network")) network(doc["network"]);
    if (doc.contains("storage")) storage(doc["storage"]);
    for (const std::string& sec : sections)
      if (doc.contains(sec) && !stack->layer(sec))
        c.error("$." + sec, "settings for protocol " + sec + ", but this scenario runs " + s.stack);
    for (const LayerDef* l : stack->layers) {
      static const json null;
      const json& section = doc.contains(l->name()) ? doc[l->name()] : null;
      s.settings[l->name()] = l->read(reader(section, "$." + l->name()), reader(doc["cluster"], "$.cluster"), s);
    }
    if (doc.contains("workload")) {
      const Reader w = reader(doc["workload"], "$.workload");
      std::vector<std::string> names;
      for (const WorkloadDef* d : stack->workloads) names.push_back(d->name());
      if (names.empty()) {
        w.error("the " + s.stack + " protocol has no client workload");
      } else if (w.object(names)) {
        for (const WorkloadDef* d : stack->workloads)
          if (w.has(d->name())) s.workloads[d->name()] = d->read(w[d->name()], s);
      }
    }
    if (doc.contains("faults")) {
      const json& fs = doc["faults"];
      if (!fs.is_array()) c.error("$.faults", std::string("expected an array of faults, got ") + json_type_word(fs));
      else {
        for (size_t i = 0; i < fs.size(); ++i) fault(fs[i], "$.faults[" + std::to_string(i) + "]");
        for (size_t i = 1; i < s.faults.size(); ++i)
          if (s.faults[i].at < s.faults[i - 1].at)
            c.error(s.faults[i].path + ".at", "faults must be listed in time order (" + format_duration(s.faults[i].at) +
                                                  " comes after " + format_duration(s.faults[i - 1].at) + ")");
        fault_consistency();
      }
    }
    if (doc.contains("expect")) {
      const json& es = doc["expect"];
      if (!es.is_array()) c.error("$.expect", std::string("expected an array of expectations, got ") + json_type_word(es));
      else
        for (size_t i = 0; i < es.size(); ++i) expectation(es[i], "$.expect[" + std::to_string(i) + "]");
    }
  }
};

}  // namespace

Scenario parse_scenario(const std::string& json_text, const StackRegistry& stacks, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    // Turn the byte offset into a line and column.
    size_t line = 1, col = 1;
    const size_t upto = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, json_text.size());
    for (size_t i = 0; i < upto; ++i) {
      if (json_text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    const auto pos = what.find("parse error");
    if (pos != std::string::npos) what = what.substr(pos);
    throw ScenarioInvalid({{"$", origin + " is not valid JSON (line " + std::to_string(line) + ", column " +
                                     std::to_string(col) + "): " + what}});
  }
  Parser p(stacks);
  p.document(doc);
  if (!p.c.errors.empty()) throw ScenarioInvalid(std::move(p.c.errors));
  return std::move(p.s);
}

Scenario load_scenario_file(const std::string& path, const StackRegistry& stacks) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioInvalid({{"$", "cannot read scenario file '" + path + "'"}});
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), stacks, path);
}

}  // namespace sim

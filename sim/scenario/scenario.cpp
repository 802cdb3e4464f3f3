// The parser (scenario.hpp): the document is read once, through sim::Reader,
// section by section; faults through a table of small per-action parsers.
#include "sim/scenario/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/check.hpp"

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

// The selectors of a TARGET, in the order error messages list them.
struct Selector {
  const char* name;
  Target::Kind kind;
};
constexpr Selector kSelectors[] = {
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

bool needs_leader(Target::Kind k) {
  return k == Target::Kind::kLeader || k == Target::Kind::kFollowers || k == Target::Kind::kRandomFollower;
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The keys of a fault object the parser reads itself, whatever its action.
bool common_fault_key(const std::string& k) { return k == "at" || k == "note" || k == "lose_unsynced" || k == "delay"; }

// The actions of `stack` that take `key` as a param, in declaration order.
std::vector<std::string> actions_taking(const StackDef& stack, const std::string& key) {
  std::vector<std::string> out;
  for (const std::string& a : stack.actions())
    if (!contains(out, a) && contains(stack.action_params(a), key)) out.push_back(a);
  return out;
}

}  // namespace

const char* selector_name(Target::Kind kind) {
  for (const Selector& sel : kSelectors)
    if (sel.kind == kind) return sel.name;
  return "";
}

namespace {

struct Parser;

// One fault action. `v` is the action's value ("$.faults[2].crash"); `f`
// arrives with its kind set from the table (parsers that choose between two
// kinds set it themselves). A parser fills the fault's targets, values and
// description; false when the fault is invalid, with the errors reported
// through the reader.
using FaultParse = bool (Parser::*)(const Reader& v, const std::string& action, Fault& f);
struct FaultAction {
  std::string name;
  Fault::Kind kind;
  FaultParse parse;
};

struct Parser {
  explicit Parser(const StackRegistry& r) : registry(r) {}
  const StackRegistry& registry;
  const StackDef* stack = nullptr;
  Errors errors;
  Scenario s;
  std::map<std::string, core::NodeId> by_name;

  // A reader for messages about a place the document has already been read
  // at (a fault's path, for the consistency checks).
  Reader at(const std::string& path) {
    static const json null;
    return Reader(null, path, errors);
  }

  std::string node_list() const {
    std::string out;
    const size_t n = s.nodes.size();
    for (size_t i = 0; i < n && i < 8; ++i) out += (i ? ", " : "") + s.nodes[i].name;
    if (n > 8) out += ", ... (" + std::to_string(n) + " nodes)";
    return out;
  }

  // ---------------------------------------------------------------- targets

  bool target(const Reader& r, Target& t) {
    auto name = [&](const Reader& v, bool in_list) -> bool {
      if (!v.json().is_string()) {
        v.error(std::string("expected a node name or selector, got ") + json_type_word(v.json()));
        return false;
      }
      auto it = by_name.find(v.json().get<std::string>());
      if (it == by_name.end()) {
        // The selectors this stack offers (leader selectors only with a leader).
        std::vector<std::string> selectors;
        for (const Selector& sel : kSelectors)
          if (stack->has_leader() || !needs_leader(sel.kind)) selectors.push_back(sel.name);
        v.error("unknown node \"" + v.json().get<std::string>() + "\" (nodes are " + node_list() +
                (in_list ? "; a list holds node names only, no selectors)" : "; selectors: " + join(selectors) + ")"));
        return false;
      }
      t.nodes.push_back(it->second);
      return true;
    };
    const json& j = r.json();
    t = Target{};
    if (j.is_string()) {
      t.text = j.get<std::string>();
      for (const Selector& sel : kSelectors) {
        if (t.text != sel.name) continue;
        t.kind = sel.kind;
        if (needs_leader(t.kind) && !stack->has_leader()) {
          std::vector<std::string> with;
          for (const std::string& n : registry.names())
            if (registry.find(n)->has_leader()) with.push_back(n);
          r.error("selector \"" + t.text + "\" needs a stack with a leader (this scenario runs " + s.stack +
                  "; stacks with one: " + join(with) + ")");
          return false;
        }
        return true;
      }
      return name(r, false);
    }
    if (j.is_array() && !j.empty()) {
      t.text = j.dump();
      bool ok = true;
      std::set<core::NodeId> seen;
      for (size_t i = 0; i < j.size(); ++i) {
        ok &= name(r[i], true);
        if (ok && !seen.insert(t.nodes.back()).second) {
          r[i].error("node \"" + j[i].get<std::string>() + "\" is listed twice");
          ok = false;
        }
      }
      return ok;
    }
    r.error(j.is_array() ? std::string("an empty list names no node (expected at least one node name)")
                         : std::string("expected a node name, a list of node names or a selector, got ") + json_type_word(j));
    return false;
  }

  // ---------------------------------------------------------------- cluster, network, storage

  void cluster(const Reader& r) {
    if (!r.object({"servers", "clients", "datacenters"})) return;
    auto add_dc = [&](const std::string& dc_name, int64_t servers, int64_t clients, bool prefix) {
      const uint32_t dc = static_cast<uint32_t>(s.datacenters.size());
      s.datacenters.push_back(dc_name);
      s.dc_counts.emplace_back(static_cast<uint64_t>(servers), static_cast<uint64_t>(clients));
      const std::string pre = prefix ? dc_name + "-" : "";
      for (int64_t i = 1; i <= servers; ++i) s.nodes.push_back({pre + "s" + std::to_string(i), true, dc});
      for (int64_t i = 1; i <= clients; ++i) s.nodes.push_back({pre + "c" + std::to_string(i), false, dc});
    };
    if (r.has("datacenters")) {
      if (r.has("servers") || r.has("clients")) {
        r.error("give either \"servers\"/\"clients\" (one datacenter) or \"datacenters\", not both");
        return;
      }
      const Reader dcs = r["datacenters"];
      if (!dcs.json().is_array() || dcs.size() == 0 || dcs.size() > 16) {
        dcs.error("expected an array of 1 to 16 datacenters");
        return;
      }
      s.per_datacenter = true;
      std::set<std::string> names;
      for (size_t i = 0; i < dcs.size(); ++i) {
        const Reader d = dcs[i];
        if (!d.object({"name", "servers", "clients"})) continue;
        std::string name;
        int64_t servers = 0, clients = 0;
        if (d.require("name") && d["name"].string(name)) {
          bool valid = !name.empty() && name.size() <= 32;
          for (char ch : name) valid &= (std::isalnum(static_cast<unsigned char>(ch)) != 0) || ch == '_';
          if (!valid) d["name"].error("datacenter names are 1-32 letters, digits or '_'");
          else if (!names.insert(name).second) d["name"].error("duplicate datacenter \"" + name + "\"");
        }
        if (d.has("servers")) d["servers"].integer(servers, 0, 1000);
        if (d.has("clients")) d["clients"].integer(clients, 0, 10000);
        if (servers + clients == 0) d.error("a datacenter needs at least one server or client");
        add_dc(name, servers, clients, true);
      }
    } else {
      int64_t servers = 0, clients = 0;
      if (r.require("servers")) r["servers"].integer(servers, 1, 1000);
      if (r.has("clients")) r["clients"].integer(clients, 0, 10000);
      add_dc("dc1", servers, clients, false);
    }
    for (core::NodeId i = 0; i < s.nodes.size(); ++i) by_name[s.nodes[i].name] = i;
  }

  // Link settings (the LAN, "wan", a degrade). `extra` are the other keys
  // the object may hold, read by the caller.
  void link(const Reader& r, LinkParams& out, std::initializer_list<const char*> extra) {
    std::vector<std::string> keys = {"latency", "loss", "duplicate", "reorder", "bandwidth"};
    keys.insert(keys.end(), extra.begin(), extra.end());
    if (!r.object(keys)) return;
    if (r.has("latency")) r["latency"].distribution(out.latency);
    if (r.has("loss")) r["loss"].probability(out.loss);
    if (r.has("duplicate")) r["duplicate"].probability(out.duplicate);
    if (r.has("reorder")) {
      const Reader ro = r["reorder"];
      if (ro.object({"probability", "delay"})) {
        if (ro.require("probability")) ro["probability"].probability(out.reorder);
        if (ro.require("delay", "the extra delay of a reordered message")) ro["delay"].distribution(out.reorder_delay);
      }
    }
    if (r.has("bandwidth")) r["bandwidth"].bandwidth(out.bandwidth_bps);
  }

  void network(const Reader& r) {
    link(r, s.lan, {"wan"});
    if (r.has("wan")) {
      if (s.datacenters.size() < 2) r["wan"].error("WAN links need at least two datacenters in \"cluster\"");
      link(r["wan"], s.wan, {});
    }
  }

  void storage(const Reader& r) {
    if (!r.object({"sync_latency", "lose_unsynced_on_crash"})) return;
    if (r.has("sync_latency")) r["sync_latency"].distribution(s.storage.sync_latency);
    if (r.has("lose_unsynced_on_crash")) r["lose_unsynced_on_crash"].boolean(s.storage.lose_unsynced_on_crash);
  }

  // ---------------------------------------------------------------- faults

  uint32_t dc_index(const Reader& r) {
    std::string name;
    if (!r.string(name)) return UINT32_MAX;
    for (uint32_t i = 0; i < s.datacenters.size(); ++i)
      if (s.datacenters[i] == name) return i;
    r.error("unknown datacenter \"" + name + "\"");
    return UINT32_MAX;
  }

  bool wan_pair(const Reader& r, Fault& f) {
    if (!r.json().is_array() || r.size() != 2) {
      r.error("expected [DC_A, DC_B], two datacenter names");
      return false;
    }
    f.wan_a = dc_index(r[0]);
    f.wan_b = dc_index(r[1]);
    if (f.wan_a == UINT32_MAX || f.wan_b == UINT32_MAX) return false;
    if (f.wan_a == f.wan_b) {
      r.error("a WAN link joins two different datacenters");
      return false;
    }
    return true;
  }

  // crash, restart, pause, resume, isolate: ACTION: TARGET.
  bool on_target(const Reader& v, const std::string& action, Fault& f) {
    const bool ok = target(v, f.target);
    f.description = action + " " + f.target.text;
    return ok;
  }

  // slow: TARGET, with the fault's "delay" (read by fault() into f.delay).
  bool slow(const Reader& v, const std::string& action, Fault& f) {
    const bool ok = target(v, f.target);
    f.description = action + " " + f.target.text + " delay " +
                    (f.delay.is_constant() ? format_duration(f.delay.a_ns) : f.delay.describe());
    return ok;
  }

  // A protocol action of the stack (raft's add_voter, ...): ACTION: TARGET.
  bool protocol_action(const Reader& v, const std::string& action, Fault& f) {
    f.action = action;
    return on_target(v, action, f);
  }

  bool heal(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!(v.json().is_string() && v.json().get<std::string>() == "all"))
      v.error("expected \"all\" (heal clears every partition and block)");
    f.description = "heal all";
    return true;
  }

  bool partition(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!v.object({"groups", "shape", "node"})) return false;
    if (v.has("groups") == v.has("shape")) {
      v.error("give exactly one of \"groups\" (lists of nodes) or \"shape\" (random_halves, majorities_ring, bridge)");
      return false;
    }
    if (v.has("node")) v["node"].error("\"node\" is for \"isolate\"; a partition takes \"groups\" or a \"shape\"");
    return v.has("groups") ? partition_groups(v["groups"], f) : partition_shape(v["shape"], f);
  }

  bool partition_groups(const Reader& g, Fault& f) {
    f.kind = Fault::Kind::kPartitionGroups;
    if (!g.json().is_array() || g.size() < 2) {
      g.error("expected an array of at least two groups, each a list of node names");
      return false;
    }
    bool ok = true;
    std::set<core::NodeId> seen;
    for (size_t i = 0; i < g.size(); ++i) {
      const Reader group = g[i];
      Target t;
      if (!group.json().is_array()) {
        group.error("expected a list of node names");
        ok = false;
        continue;
      }
      if (!target(group, t)) {
        ok = false;
        continue;
      }
      for (core::NodeId n : t.nodes)
        if (!seen.insert(n).second) {
          group.error("node \"" + s.nodes[n].name + "\" is in two groups");
          ok = false;
        }
      f.groups.push_back(t.nodes);
    }
    f.description = "partition " + g.json().dump();
    return ok;
  }

  bool partition_shape(const Reader& r, Fault& f) {
    f.kind = Fault::Kind::kPartitionShape;
    if (!r.choice(f.shape, {"random_halves", "majorities_ring", "bridge"})) return false;
    const size_t n = s.nodes.size();
    if (n < 3) r.error("shape \"" + f.shape + "\" needs at least 3 nodes (cluster has " + std::to_string(n) + ")");
    f.description = "partition " + f.shape;
    return true;
  }

  bool block(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!v.object({"from", "to"})) return false;
    if (!v.has("from") || !v.has("to")) {
      v.error("needs \"from\" and \"to\" (packets from -> to are dropped; to -> from still flow)");
      return false;
    }
    const bool from_ok = target(v["from"], f.target);
    const bool to_ok = target(v["to"], f.target2);  // report errors in both
    f.description = "block " + f.target.text + " -> " + f.target2.text;
    return from_ok && to_ok;
  }

  bool degrade(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!v.json().is_object()) {
      v.error("expected an object with \"nodes\" or \"wan\" and link settings (latency, loss, duplicate, reorder, bandwidth)");
      return false;
    }
    if (v.has("nodes") == v.has("wan")) {
      v.error("give exactly one of \"nodes\" (their access links) or \"wan\" ([DC_A, DC_B])");
      return false;
    }
    return v.has("nodes") ? degrade_nodes(v, f) : degrade_wan(v, f);
  }

  // A node's access link starts ideal: what is not given is ideal.
  bool degrade_nodes(const Reader& v, Fault& f) {
    f.kind = Fault::Kind::kDegradeNodes;
    const bool ok = target(v["nodes"], f.target);
    f.description = "degrade " + f.target.text;
    degrade_link(v, f, "nodes");
    return ok;
  }

  // A WAN link starts from "network.wan": what is not given keeps its value.
  bool degrade_wan(const Reader& v, Fault& f) {
    f.kind = Fault::Kind::kDegradeWan;
    const bool ok = wan_pair(v["wan"], f);
    f.link = s.wan;
    f.description = "degrade wan " + v["wan"].json().dump();
    degrade_link(v, f, "wan");
    return ok;
  }

  void degrade_link(const Reader& v, Fault& f, const char* which) {
    if (v.size() == 1) v.error("nothing to degrade: give latency, loss, duplicate, reorder or bandwidth");
    link(v, f.link, {which});
  }

  bool restore(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!v.json().is_object()) {
      f.kind = Fault::Kind::kRestoreNodes;
      const bool ok = target(v, f.target);
      f.description = "restore " + f.target.text;
      return ok;
    }
    f.kind = Fault::Kind::kRestoreWan;
    if (!v.object({"wan"}) || !v.has("wan")) {
      if (!v.has("wan")) v.error("expected {\"wan\": [DC_A, DC_B]} or nodes");
      return false;
    }
    const bool ok = wan_pair(v["wan"], f);
    f.description = "restore wan " + v["wan"].json().dump();
    return ok;
  }

  bool clock(const Reader& v, const std::string& /*action*/, Fault& f) {
    if (!v.object({"nodes", "drift_ppm", "jump"})) return false;
    if (!v.require("nodes")) return false;
    const bool ok = target(v["nodes"], f.target);
    if (v.has("drift_ppm") == v.has("jump")) {
      v.error("give exactly one of \"drift_ppm\" (rate error, e.g. 200 or -50) or \"jump\" (e.g. \"-300ms\")");
      return false;
    }
    return (v.has("drift_ppm") ? clock_drift(v["drift_ppm"], f) : clock_jump(v["jump"], f)) && ok;
  }

  // The description keeps the number as written ("200ppm", "-50.5ppm").
  bool clock_drift(const Reader& r, Fault& f) {
    f.kind = Fault::Kind::kClockDrift;
    if (!r.json().is_number() || std::abs(r.json().get<double>()) > 100000.0) {
      r.error("expected a number of parts per million between -100000 and 100000");
      return false;
    }
    f.drift_ppb = static_cast<int64_t>(std::llround(r.json().get<double>() * 1000.0));
    f.description = "clock " + f.target.text + " drift " + r.json().dump() + "ppm";
    return true;
  }

  // The description keeps the duration as written ("-1s").
  bool clock_jump(const Reader& r, Fault& f) {
    f.kind = Fault::Kind::kClockJump;
    if (!r.duration(f.jump, Reader::Sign::kSigned)) return false;
    f.description = "clock " + f.target.text + " jump " + r.json().get<std::string>();
    return true;
  }

  // The actions every stack has, then the stack's own (its layers' actions).
  std::vector<FaultAction> fault_actions() const {
    std::vector<FaultAction> out = {
        {"crash", Fault::Kind::kCrash, &Parser::on_target},
        {"restart", Fault::Kind::kRestart, &Parser::on_target},
        {"pause", Fault::Kind::kPause, &Parser::on_target},
        {"resume", Fault::Kind::kResume, &Parser::on_target},
        {"partition", Fault::Kind::kPartitionGroups, &Parser::partition},
        {"isolate", Fault::Kind::kIsolate, &Parser::on_target},
        {"block", Fault::Kind::kBlock, &Parser::block},
        {"heal", Fault::Kind::kHeal, &Parser::heal},
        {"degrade", Fault::Kind::kDegradeNodes, &Parser::degrade},
        {"restore", Fault::Kind::kRestoreNodes, &Parser::restore},
        {"clock", Fault::Kind::kClockDrift, &Parser::clock},
        {"slow", Fault::Kind::kSlow, &Parser::slow},
        {"unslow", Fault::Kind::kUnslow, &Parser::on_target},
    };
    for (const std::string& a : stack->actions()) out.push_back({a, Fault::Kind::kAction, &Parser::protocol_action});
    // A param is a key of the fault object beside the action's: it cannot be
    // one the parser reads itself, nor the name of an action.
    for (const std::string& a : stack->actions())
      for (const std::string& p : stack->action_params(a)) {
        bool action_name = false;
        for (const FaultAction& other : out) action_name = action_name || other.name == p;
        CORE_CHECK(!common_fault_key(p) && !action_name,
                   "action " + a + " of stack " + stack->name + " declares param \"" + p + "\", a key the fault parser keeps");
      }
    return out;
  }

  // The error for `key` of a fault object that is neither a common key, nor
  // an action of this stack, nor a param of the fault's `action` (nullptr
  // when the fault has none or several); `params` are that action's, and
  // `foreign_actions` the actions of other stacks among the fault's keys.
  // True when the key is in error (reported here, or by the foreign action
  // it belongs to); false when it is a param of another action of this stack
  // and the fault has no single action: the missing or extra action is then
  // the one error to report.
  bool fault_key_error(const Reader& r, const std::string& key, const FaultAction* action,
                       const std::vector<std::string>& params, const std::vector<std::string>& names,
                       const std::vector<std::string>& foreign_actions) {
    // A param of another action of this stack says whose it is.
    const std::vector<std::string> takers = actions_taking(*stack, key);
    if (!takers.empty()) {
      if (action == nullptr) return false;
      r[key].error("\"" + key + "\" belongs to " + join(takers, "/") + ", not to " + action->name);
      return true;
    }
    // An action of another stack says so.
    std::vector<std::string> owners;
    for (const std::string& n : registry.names())
      if (contains(registry.find(n)->actions(), key)) owners.push_back(n);
    if (!owners.empty()) {
      r[key].error("\"" + key + "\" is an action of protocol " + join(owners) + "; this scenario runs " + s.stack +
                   " (its actions: " + join(names) + ")");
      return true;
    }
    // So does a param of another stack's action, unless that action is in
    // this fault too (its error is the one to report).
    std::vector<std::string> elsewhere;
    for (const std::string& n : registry.names()) {
      if (n == s.stack) continue;
      const std::vector<std::string> foreign = actions_taking(*registry.find(n), key);
      for (const std::string& a : foreign)
        if (contains(foreign_actions, a)) return true;
      if (!foreign.empty()) elsewhere.push_back("protocol " + n + "'s " + join(foreign, "/"));
    }
    if (!elsewhere.empty()) {
      r[key].error("\"" + key + "\" belongs to " + join(elsewhere) + "; this scenario runs " + s.stack);
      return true;
    }
    std::string also;
    if (!params.empty()) {
      std::vector<std::string> quoted;
      for (const std::string& p : params) quoted.push_back("\"" + p + "\"");
      also = "; " + action->name + " also takes " + join(quoted);
    }
    r[key].error("unknown key (a fault has \"at\", an optional \"note\", \"lose_unsynced\" for a crash, \"delay\" for a "
                 "slow, and one action: " +
                 join(names) + also + ")");
    return true;
  }

  // Finds the fault's one action key and hands its value to that action's parser.
  void fault(const Reader& r, const std::vector<FaultAction>& actions) {
    if (!r.json().is_object()) {
      r.error(std::string("expected a fault object such as {\"at\": \"10s\", \"crash\": \"leader\"}, got ") +
              json_type_word(r.json()));
      return;
    }
    std::vector<std::string> names;
    for (const FaultAction& a : actions) names.push_back(a.name);
    Fault f;
    f.path = r.path();
    std::vector<const FaultAction*> found;
    std::vector<std::string> others;  // keys that are neither common keys nor actions of this stack
    for (auto it = r.json().begin(); it != r.json().end(); ++it) {
      const std::string& k = it.key();
      if (common_fault_key(k)) continue;
      const FaultAction* a = nullptr;
      for (const FaultAction& candidate : actions)
        if (candidate.name == k) a = &candidate;
      if (a) found.push_back(a);
      else others.push_back(k);
    }
    // The one action's params are its own keys; any other key is an error.
    const FaultAction* single = found.size() == 1 ? found[0] : nullptr;
    const std::vector<std::string> params = single ? stack->action_params(single->name) : std::vector<std::string>{};
    std::vector<std::string> foreign_actions;  // actions of other stacks named in this fault
    for (const std::string& k : others)
      for (const std::string& n : registry.names())
        if (contains(registry.find(n)->actions(), k)) foreign_actions.push_back(k);
    bool unknown = false;
    for (const std::string& k : others)
      if (!contains(params, k)) unknown = fault_key_error(r, k, single, params, names, foreign_actions) || unknown;
    if (r.require("at", "when the fault fires, e.g. \"10s\"")) r["at"].duration(f.at);
    if (r.has("note")) r["note"].string(f.note);
    if (found.size() != 1) {
      if (found.empty()) {
        // (An unknown key has had its error already.)
        if (!unknown) r.error("a fault needs exactly one action (" + join(names) + ")");
      } else {
        r.error("a fault has exactly one action; found " + std::to_string(found.size()) + " (" + found[0]->name + ", " +
                found[1]->name + ")");
      }
      return;
    }
    const FaultAction& action = *found[0];
    if (r.has("lose_unsynced")) {
      const Reader lose = r["lose_unsynced"];
      bool b = false;
      if (action.name != "crash") lose.error("only a crash can lose unsynced writes");
      else if (lose.boolean(b)) f.lose_unsynced = b;
    }
    bool delay_ok = true;
    if (r.has("delay")) {
      const Reader delay = r["delay"];
      if (action.name != "slow") {
        delay.error("only a slow fault takes a delay (the processing delay of each message it receives)");
        delay_ok = false;
      } else {
        delay_ok = delay.distribution(f.delay);
      }
    } else if (action.name == "slow") {
      delay_ok = r.require("delay", "the processing delay of each message, e.g. \"20ms\" or {\"uniform\": [\"10ms\", \"50ms\"]}");
    }
    f.kind = action.kind;
    // The action is parsed even when the delay is wrong, so that both are reported.
    bool ok = (this->*action.parse)(r[action.name], action.name, f) && delay_ok;
    if (!params.empty()) {
      // Its layer reads the action's params (also when the target is wrong).
      const size_t before = errors.size();
      f.args = stack->action_layer(action.name)->read_action(action.name, r, s);
      ok = ok && errors.size() == before;
      if (f.args) f.description += " " + f.args->to_json().dump();
    }
    if (ok) s.faults.push_back(std::move(f));
  }

  // Static consistency of faults on named nodes: a crash of a node that is
  // already down, a restart of one that is up, a resume without a pause, two
  // lifecycle faults on one node at the same instant, an unslow of a node
  // that is not slow. Selectors are resolved at run
  // time and are not checked here (a selector that matches nothing is a no-op
  // recorded in the trace); after a lifecycle fault with a selector, the
  // state of every node it could have touched is unknown until a named crash
  // or restart sets it again, so "crash all" then "restart s1" is accepted.
  void fault_consistency() {
    enum State { kUp, kDown, kPaused, kUnknown };
    std::map<core::NodeId, State> state;
    std::map<std::pair<core::Time, core::NodeId>, std::string> at_instant;
    // Slowness: named nodes are known to be slow or not; after a selector,
    // every node it could touch may be either.
    enum Slowness { kFast, kSlowed, kMaybe };
    std::map<core::NodeId, Slowness> slowness;
    // Whether a selector of this kind can pick node n.
    const auto touchable = [&](Target::Kind k, core::NodeId n) {
      using K = Target::Kind;
      const bool servers = k != K::kRandomClient && k != K::kAllClients;
      const bool clients = k == K::kRandomClient || k == K::kAllClients || k == K::kRandomNode || k == K::kAll ||
                           k == K::kAllCrashed || k == K::kAllPaused;
      return s.nodes[n].server ? servers : clients;
    };
    bool partitioned = false;
    for (const Fault& f : s.faults) {
      if (f.at > s.until && s.until > 0)
        at(f.path + ".at").error("fault at " + format_duration(f.at) + " is after \"until\" (" + format_duration(s.until) + ")");
      if (f.kind == Fault::Kind::kPartitionGroups || f.kind == Fault::Kind::kPartitionShape ||
          f.kind == Fault::Kind::kIsolate || f.kind == Fault::Kind::kBlock)
        partitioned = true;
      if (f.kind == Fault::Kind::kHeal) {
        if (!partitioned) at(f.path).error("heal without an earlier partition, isolate or block: nothing to heal");
        partitioned = false;
      }
      if (f.kind == Fault::Kind::kSlow || f.kind == Fault::Kind::kUnslow) {
        const bool slow = f.kind == Fault::Kind::kSlow;
        if (f.target.kind != Target::Kind::kNames) {
          for (core::NodeId n = 0; n < s.nodes.size(); ++n)
            if (touchable(f.target.kind, n)) slowness[n] = kMaybe;
          continue;
        }
        for (core::NodeId n : f.target.nodes) {
          Slowness& st = slowness.emplace(n, kFast).first->second;
          if (!slow && st == kFast)
            at(f.path).error("\"" + s.nodes[n].name + "\" is not slow at " + format_duration(f.at) + ": nothing to unslow");
          st = slow ? kSlowed : kFast;
        }
        continue;
      }
      const bool lifecycle = f.kind == Fault::Kind::kCrash || f.kind == Fault::Kind::kRestart ||
                             f.kind == Fault::Kind::kPause || f.kind == Fault::Kind::kResume;
      if (!lifecycle) continue;
      if (f.target.kind != Target::Kind::kNames) {
        for (core::NodeId n = 0; n < s.nodes.size(); ++n)
          if (touchable(f.target.kind, n)) state[n] = kUnknown;
        continue;
      }
      for (core::NodeId n : f.target.nodes) {
        const std::string& name = s.nodes[n].name;
        auto [it, fresh] = at_instant.emplace(std::make_pair(f.at, n), f.path);
        if (!fresh)
          at(f.path).error("contradicts " + it->second + ": both act on \"" + name + "\" at " + format_duration(f.at) +
                              " (give them different times)");
        State& st = state.emplace(n, kUp).first->second;
        if (st == kUnknown) {
          if (f.kind == Fault::Kind::kCrash) st = kDown;
          if (f.kind == Fault::Kind::kRestart) st = kUp;
          continue;
        }
        switch (f.kind) {
          case Fault::Kind::kCrash:
            if (st == kDown) at(f.path).error("\"" + name + "\" is already crashed at " + format_duration(f.at));
            st = kDown;
            break;
          case Fault::Kind::kRestart:
            if (st != kDown) at(f.path).error("\"" + name + "\" is not crashed at " + format_duration(f.at) + ", so it cannot restart");
            st = kUp;
            break;
          case Fault::Kind::kPause:
            if (st == kDown) at(f.path).error("\"" + name + "\" is crashed at " + format_duration(f.at) + " and cannot be paused");
            else if (st == kPaused) at(f.path).error("\"" + name + "\" is already paused at " + format_duration(f.at));
            st = kPaused;
            break;
          case Fault::Kind::kResume:
            if (st != kPaused) at(f.path).error("\"" + name + "\" is not paused at " + format_duration(f.at) + ", so it cannot resume");
            st = kUp;
            break;
          default:
            break;
        }
      }
    }
  }

  // ---------------------------------------------------------------- expectations

  void expectation(const Reader& r) {
    if (!r.json().is_object()) {
      r.error(std::string("expected an expectation object such as {\"always\": \"raft_safety\"} or "
                          "{\"by\": \"40s\", \"leader_known_to\": \"all\"}, got ") +
              json_type_word(r.json()));
      return;
    }
    Expectation e;
    e.path = r.path();
    const std::vector<PropertyDef> props = stack->properties();
    auto list_of = [&](bool always) {
      std::vector<std::string> list;
      for (const PropertyDef& d : props)
        if (d.always == always) list.push_back(d.name);
      return join(list);
    };
    auto find = [&](const std::string& name, bool always) -> const PropertyDef* {
      for (const PropertyDef& d : props)
        if (d.name == name && d.always == always) return &d;
      return nullptr;
    };
    if (r.has("always")) {
      e.kind = Expectation::Kind::kAlways;
      if (!r.object({"always"})) return;
      if (!r["always"].string(e.property)) return;
      if (find(e.property, true) == nullptr) {
        r["always"].error("unknown property \"" + e.property + "\" for protocol " + s.stack + " (expected one of: " +
                          list_of(true) + ")");
        return;
      }
      e.name = "always " + e.property;
    } else if (r.has("by")) {
      e.kind = Expectation::Kind::kBy;
      if (!r["by"].duration(e.by)) return;
      if (s.until > 0 && e.by > s.until)
        r["by"].error("deadline " + format_duration(e.by) + " is after \"until\" (" + format_duration(s.until) + ")");
      std::vector<std::string> keys;
      for (auto it = r.json().begin(); it != r.json().end(); ++it)
        if (it.key() != "by") keys.push_back(it.key());
      if (keys.size() != 1) {
        r.error("a \"by\" expectation names exactly one property (one of: " + list_of(false) + ")");
        return;
      }
      e.property = keys[0];
      const PropertyDef* d = find(e.property, false);
      if (d == nullptr) {
        r[e.property].error("unknown property for protocol " + s.stack + " (expected one of: " + list_of(false) + ")");
        return;
      }
      if (!d->read_argument(r[e.property], e.argument)) return;
      e.name = "by " + format_duration(e.by) + ": " + e.property + (e.argument.empty() ? "" : " " + e.argument);
    } else {
      r.error("an expectation has \"always\" (a safety property) or \"by\" (a deadline for a liveness property)");
      return;
    }
    s.expect.push_back(std::move(e));
  }

  // ---------------------------------------------------------------- the document

  void document(const json& doc) {
    const Reader root(doc, "$", errors);
    // Settings sections are named after the layers of the stacks.
    std::vector<std::string> sections;
    for (const std::string& n : registry.names())
      for (const LayerDef* l : registry.find(n)->layers)
        if (std::find(sections.begin(), sections.end(), l->name()) == sections.end()) sections.push_back(l->name());
    std::vector<std::string> keys = {"name", "description", "seed", "protocol", "cluster", "network", "storage",
                                     "workload", "faults", "expect", "until"};
    keys.insert(keys.end(), sections.begin(), sections.end());
    if (!root.object(keys)) return;
    if (root.require("name")) root["name"].string(s.name);
    if (root.has("description")) root["description"].string(s.description);
    if (root.has("seed")) root["seed"].count(s.seed, 0, UINT64_MAX);
    s.stack = registry.default_name();
    if (root.has("protocol") && root["protocol"].string(s.stack) && !registry.find(s.stack)) {
      std::string list;
      for (const std::string& n : registry.names()) list += (list.empty() ? "\"" : "\", \"") + n;
      root["protocol"].error("unknown protocol \"" + s.stack + "\" (expected one of " + list + "\")");
      return;
    }
    stack = registry.find(s.stack);
    if (root.require("until", "how long to run, e.g. \"30s\"")) {
      const Reader until = root["until"];
      if (until.duration(s.until, Reader::Sign::kPositive) && s.until > 24 * 3600 * core::kSecond) {
        until.error("expected a duration between 1ns and 24h, got \"" + until.json().get<std::string>() + "\"");
        s.until = 0;
      }
    }
    if (!root.require("cluster", "e.g. {\"servers\": 5}")) return;
    cluster(root["cluster"]);
    if (s.nodes.empty()) return;
    if (root.has("network")) network(root["network"]);
    if (root.has("storage")) storage(root["storage"]);
    for (const std::string& sec : sections)
      if (root.has(sec) && !stack->layer(sec))
        root[sec].error("settings for protocol " + sec + ", but this scenario runs " + s.stack);
    for (const LayerDef* l : stack->layers) s.settings[l->name()] = l->read(root[l->name()], root["cluster"], s);
    if (root.has("workload")) {
      const Reader w = root["workload"];
      std::vector<std::string> names;
      for (const WorkloadDef* d : stack->workloads) names.push_back(d->name());
      if (names.empty()) {
        w.error("the " + s.stack + " protocol has no client workload");
      } else if (w.object(names)) {
        for (const WorkloadDef* d : stack->workloads)
          if (w.has(d->name())) s.workloads[d->name()] = d->read(w[d->name()], s);
      }
    }
    if (root.has("faults")) {
      const Reader fs = root["faults"];
      if (!fs.json().is_array()) {
        fs.error(std::string("expected an array of faults, got ") + json_type_word(fs.json()));
      } else {
        const std::vector<FaultAction> actions = fault_actions();
        for (size_t i = 0; i < fs.size(); ++i) fault(fs[i], actions);
        for (size_t i = 1; i < s.faults.size(); ++i)
          if (s.faults[i].at < s.faults[i - 1].at)
            at(s.faults[i].path + ".at").error("faults must be listed in time order (" + format_duration(s.faults[i].at) +
                                               " comes after " + format_duration(s.faults[i - 1].at) + ")");
        fault_consistency();
      }
    }
    if (root.has("expect")) {
      const Reader es = root["expect"];
      if (!es.json().is_array())
        es.error(std::string("expected an array of expectations, got ") + json_type_word(es.json()));
      else
        for (size_t i = 0; i < es.size(); ++i) expectation(es[i]);
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
  if (!p.errors.empty()) throw ScenarioInvalid(std::move(p.errors));
  return std::move(p.s);
}

Fault parse_fault(const Scenario& base, const json& fault, const StackRegistry& stacks, const std::string& path) {
  Parser p(stacks);
  p.stack = stacks.find(base.stack);
  if (p.stack == nullptr) throw ScenarioInvalid({{"$.protocol", "unknown protocol \"" + base.stack + "\""}});
  p.s = base;
  p.s.faults.clear();
  for (core::NodeId i = 0; i < p.s.nodes.size(); ++i) p.by_name[p.s.nodes[i].name] = i;
  p.fault(Reader(fault, path, p.errors), p.fault_actions());
  if (!p.errors.empty()) throw ScenarioInvalid(std::move(p.errors));
  if (p.s.faults.size() != 1) throw ScenarioInvalid({{path, "not a fault"}});
  return std::move(p.s.faults.front());
}

Scenario load_scenario_file(const std::string& path, const StackRegistry& stacks) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioInvalid({{"$", "cannot read scenario file '" + path + "'"}});
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), stacks, path);
}

}  // namespace sim

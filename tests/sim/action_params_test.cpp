// Action parameters (LayerDef::action_params / read_action): keys of a fault
// object beside the action's own, read by the action's layer into typed
// arguments that the parser keeps in Fault::args, the writer writes back and
// Stack::action hands to the layer. Tested against a registry of two small
// stacks defined here, so that no protocol's actions are needed:
//
//   probe: actions register and deregister (a required "service"), signal
//          (optional "label" and "bytes"), ping (no params)
//   other: action annotate (an optional "text")
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "sim/layers/layer.hpp"
#include "sim/run/stack.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/stack_def.hpp"

using nlohmann::json;
using sim::Fault;
using sim::Reader;
using sim::Scenario;
using sim::ScenarioError;
using sim::ScenarioInvalid;
using sim::Settings;

namespace {

// register's and deregister's "service".
struct ServiceArgs final : Settings {
  std::string name;
  int64_t count = 1;
  std::vector<std::string> tags;
  json to_json() const override {
    json service = {{"name", name}, {"count", count}};
    if (!tags.empty()) service["tags"] = tags;
    return {{"service", service}};
  }
  bool equals(const Settings& other) const override {
    const auto* o = dynamic_cast<const ServiceArgs*>(&other);
    return o && o->name == name && o->count == count && o->tags == tags;
  }
};

// signal's optional "label" and "bytes".
struct SignalArgs final : Settings {
  std::optional<std::string> label;
  std::optional<int64_t> bytes;
  json to_json() const override {
    json j = json::object();
    if (label) j["label"] = *label;
    if (bytes) j["bytes"] = *bytes;
    return j;
  }
  bool equals(const Settings& other) const override {
    const auto* o = dynamic_cast<const SignalArgs*>(&other);
    return o && o->label == label && o->bytes == bytes;
  }
};

// annotate's optional "text".
struct TextArgs final : Settings {
  std::string text;
  json to_json() const override { return {{"text", text}}; }
  bool equals(const Settings& other) const override {
    const auto* o = dynamic_cast<const TextArgs*>(&other);
    return o && o->text == text;
  }
};

// A layer without settings of its own.
struct NoSettings final : Settings {
  json to_json() const override { return json::object(); }
  bool equals(const Settings& other) const override { return dynamic_cast<const NoSettings*>(&other) != nullptr; }
};

// The run-time side: remembers each action it was asked to run.
class ProbeLayer final : public sim::Layer {
 public:
  struct Call {
    std::string name;
    std::vector<core::NodeId> nodes;
    const Settings* args;
  };
  std::vector<Call> calls;

  std::string name() const override { return "probe"; }
  core::Family family() const override { return static_cast<core::Family>(0x7f); }
  void attach(sim::Simulation& /*sim*/, const Scenario& /*s*/) override {}
  void on_record(core::Time /*now*/, core::NodeId /*node*/, const core::Record& /*r*/) override {}
  std::string action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) override {
    calls.push_back({name, nodes, args});
    return args ? args->to_json().dump() : "no args";
  }
  bool holds(const sim::Expectation& /*e*/, std::string& /*detail*/) override { return true; }
  std::optional<sim::Violation> violation(const std::string& /*property*/) const override { return std::nullopt; }
  json metrics() const override { return json::object(); }
  void print_metrics(const json& /*metrics*/, std::ostream& /*out*/) const override {}
};

class ProbeDef final : public sim::LayerDef {
 public:
  std::string name() const override { return "probe"; }
  std::vector<std::string> actions() const override { return {"register", "deregister", "signal", "ping"}; }
  std::vector<std::string> action_params(const std::string& name) const override {
    if (name == "register" || name == "deregister") return {"service"};
    if (name == "signal") return {"label", "bytes"};
    return {};
  }
  std::shared_ptr<const Settings> read_action(const std::string& name, const Reader& fault,
                                              const Scenario& /*s*/) const override {
    if (name == "signal") {
      if (!fault.has("label") && !fault.has("bytes")) return nullptr;
      auto out = std::make_shared<SignalArgs>();
      std::string label;
      int64_t bytes = 0;
      if (fault.has("label") && fault["label"].string(label)) out->label = label;
      if (fault.has("bytes") && fault["bytes"].integer(bytes, 0, 1024)) out->bytes = bytes;
      return out;
    }
    if (!fault.require("service", "e.g. {\"name\": \"web\"}")) return nullptr;
    const Reader service = fault["service"];
    if (!service.object({"name", "count", "tags"})) return nullptr;
    auto out = std::make_shared<ServiceArgs>();
    if (service.require("name")) service["name"].string(out->name);
    if (service.has("count")) service["count"].integer(out->count, 1, 1000);
    if (service.has("tags") && service["tags"].array())
      for (size_t i = 0; i < service["tags"].size(); ++i) {
        std::string tag;
        if (service["tags"][i].string(tag)) out->tags.push_back(tag);
      }
    return out;
  }
  std::shared_ptr<const Settings> read(const Reader& /*r*/, const Reader& /*cluster*/, const Scenario& /*s*/) const override {
    return std::make_shared<NoSettings>();
  }
  std::unique_ptr<sim::Layer> make(const Scenario& /*s*/) const override { return std::make_unique<ProbeLayer>(); }
};

class OtherDef final : public sim::LayerDef {
 public:
  std::string name() const override { return "other"; }
  std::vector<std::string> actions() const override { return {"annotate"}; }
  std::vector<std::string> action_params(const std::string& /*name*/) const override { return {"text"}; }
  std::shared_ptr<const Settings> read_action(const std::string& /*name*/, const Reader& fault,
                                              const Scenario& /*s*/) const override {
    if (!fault.has("text")) return nullptr;
    auto out = std::make_shared<TextArgs>();
    fault["text"].string(out->text);
    return out;
  }
  std::shared_ptr<const Settings> read(const Reader& /*r*/, const Reader& /*cluster*/, const Scenario& /*s*/) const override {
    return std::make_shared<NoSettings>();
  }
  std::unique_ptr<sim::Layer> make(const Scenario& /*s*/) const override { return nullptr; }
};

// A layer whose action declares a key the parser reads itself.
class ClashDef final : public sim::LayerDef {
 public:
  std::string name() const override { return "clash"; }
  std::vector<std::string> actions() const override { return {"shout"}; }
  std::vector<std::string> action_params(const std::string& /*name*/) const override { return {"delay"}; }
  std::shared_ptr<const Settings> read(const Reader& /*r*/, const Reader& /*cluster*/, const Scenario& /*s*/) const override {
    return std::make_shared<NoSettings>();
  }
  std::unique_ptr<sim::Layer> make(const Scenario& /*s*/) const override { return nullptr; }
};

const ProbeDef probe_def;
const OtherDef other_def;
const ClashDef clash_def;

class TestRegistry final : public sim::StackRegistry {
 public:
  TestRegistry() {
    stacks_ = {{"probe", "actions with params", {&probe_def}, {}},
               {"other", "another stack's action with a param", {&other_def}, {}},
               {"clash", "a param that is a common fault key", {&clash_def}, {}}};
  }
  const sim::StackDef* find(const std::string& name) const override {
    for (const sim::StackDef& s : stacks_)
      if (s.name == name) return &s;
    return nullptr;
  }
  std::vector<std::string> names() const override { return {"probe", "other", "clash"}; }
  std::string default_name() const override { return "probe"; }

 private:
  std::vector<sim::StackDef> stacks_;
};

const TestRegistry registry;

json with_faults(const json& faults) {
  return {{"name", "t"}, {"protocol", "probe"}, {"cluster", {{"servers", 3}}}, {"until", "10s"}, {"faults", faults}};
}

Scenario parse(const json& doc) { return sim::parse_scenario(doc.dump(), registry, "test.json"); }

std::vector<ScenarioError> errors_of(const json& doc) {
  try {
    parse(doc);
  } catch (const ScenarioInvalid& e) {
    return e.errors();
  }
  return {};
}

// The one error of a document of these faults.
ScenarioError only_error(const json& faults) {
  const auto errs = errors_of(with_faults(faults));
  std::string all;
  for (const auto& e : errs) all += e.str() + "\n";
  INFO(faults.dump() << "\n" << all);
  REQUIRE(errs.size() == 1);
  return errs[0];
}

const json web = {{"name", "web"}, {"count", 50}, {"tags", {"v1"}}};

// The actions of the probe stack, as the unknown-key error lists them.
const std::string probe_actions =
    "crash, restart, pause, resume, partition, isolate, block, heal, degrade, restore, clock, slow, unslow, register, "
    "deregister, signal, ping";

}  // namespace

TEST_CASE("action params are read into typed arguments", "[scenario][actions]") {
  const Scenario s = parse(with_faults(json::array({
      {{"at", "1s"}, {"register", "s1"}, {"service", web}, {"note", "first"}},
      {{"at", "2s"}, {"deregister", json::array({"s1", "s2"})}, {"service", {{"name", "db"}}}},
      {{"at", "3s"}, {"signal", "all"}},
      {{"at", "4s"}, {"signal", "s3"}, {"label", "deploy"}},
      {{"at", "5s"}, {"ping", "s2"}},
  })));
  REQUIRE(s.faults.size() == 5);
  const Fault& reg = s.faults[0];
  CHECK(reg.kind == Fault::Kind::kAction);
  CHECK(reg.action == "register");
  CHECK(reg.target.nodes == std::vector<core::NodeId>{0});
  CHECK(reg.note == "first");
  const auto* service = dynamic_cast<const ServiceArgs*>(reg.args.get());
  REQUIRE(service != nullptr);
  CHECK(service->name == "web");
  CHECK(service->count == 50);
  CHECK(service->tags == std::vector<std::string>{"v1"});
  const auto* db = dynamic_cast<const ServiceArgs*>(s.faults[1].args.get());
  REQUIRE(db != nullptr);
  CHECK(db->name == "db");
  CHECK(db->count == 1);
  // Optional params: no arguments when none is given.
  CHECK(s.faults[2].args == nullptr);
  const auto* signal = dynamic_cast<const SignalArgs*>(s.faults[3].args.get());
  REQUIRE(signal != nullptr);
  CHECK(signal->label == std::optional<std::string>("deploy"));
  CHECK_FALSE(signal->bytes.has_value());
  CHECK(s.faults[4].args == nullptr);
  // The description shows the arguments compactly; without them it is as before.
  CHECK(reg.description == "register s1 {\"service\":{\"count\":50,\"name\":\"web\",\"tags\":[\"v1\"]}}");
  CHECK(s.faults[1].description == "deregister [\"s1\",\"s2\"] {\"service\":{\"count\":1,\"name\":\"db\"}}");
  CHECK(s.faults[2].description == "signal all");
  CHECK(s.faults[3].description == "signal s3 {\"label\":\"deploy\"}");
  CHECK(s.faults[4].description == "ping s2");
}

TEST_CASE("a missing required param is an error at the fault", "[scenario][actions][errors]") {
  const ScenarioError e = only_error(json::array({{{"at", "1s"}, {"register", "s1"}}}));
  CHECK(e.str() == "$.faults[0]: missing key \"service\" (e.g. {\"name\": \"web\"})");
  // Errors inside a param name their path below the fault.
  CHECK(only_error(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", {{"name", "web"}, {"count", 0}}}}})).path ==
        "$.faults[0].service.count");
  CHECK(only_error(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", {{"name", "web"}, {"port", 80}}}}})).str() ==
        "$.faults[0].service.port: unknown key (expected one of: name, count, tags)");
  CHECK(only_error(json::array({{{"at", "1s"}, {"signal", "s1"}, {"bytes", "64"}}})).str() ==
        "$.faults[0].bytes: expected an integer, got a string");
  // A wrong target and a wrong param are both reported.
  const auto errs = errors_of(with_faults(json::array({{{"at", "1s"}, {"register", "s9"}, {"service", {{"count", 2}}}}})));
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].path == "$.faults[0].register");
  CHECK(errs[1].str() == "$.faults[0].service: missing key \"name\"");
}

TEST_CASE("a param of another action says whose it is", "[scenario][actions][errors]") {
  // On a protocol action that takes none, on one that takes others, on a common action.
  CHECK(only_error(json::array({{{"at", "1s"}, {"ping", "s1"}, {"service", web}}})).str() ==
        "$.faults[0].service: \"service\" belongs to register/deregister, not to ping");
  CHECK(only_error(json::array({{{"at", "1s"}, {"signal", "s1"}, {"service", web}}})).str() ==
        "$.faults[0].service: \"service\" belongs to register/deregister, not to signal");
  CHECK(only_error(json::array({{{"at", "1s"}, {"crash", "s1"}, {"label", "x"}}})).str() ==
        "$.faults[0].label: \"label\" belongs to signal, not to crash");
  CHECK(only_error(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", web}, {"bytes", 1}}})).str() ==
        "$.faults[0].bytes: \"bytes\" belongs to signal, not to register");
  // Without an action the missing action is the error.
  CHECK(only_error(json::array({{{"at", "1s"}, {"service", web}}})).str() ==
        "$.faults[0]: a fault needs exactly one action (" + probe_actions + ")");
  // A param of another stack's action names that stack; with that action in
  // the fault, the action's error is the only one.
  CHECK(only_error(json::array({{{"at", "1s"}, {"ping", "s1"}, {"text", "hello"}}})).str() ==
        "$.faults[0].text: \"text\" belongs to protocol other's annotate; this scenario runs probe");
  CHECK(only_error(json::array({{{"at", "1s"}, {"annotate", "s1"}, {"text", "hello"}}})).str() ==
        "$.faults[0].annotate: \"annotate\" is an action of protocol other; this scenario runs probe (its actions: " +
            probe_actions + ")");
}

TEST_CASE("an unknown key lists the params of the fault's action", "[scenario][actions][errors]") {
  const std::string common =
      "unknown key (a fault has \"at\", an optional \"note\", \"lose_unsynced\" for a crash, \"delay\" for a slow, and "
      "one action: " +
      probe_actions;
  CHECK(only_error(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", web}, {"servce", 1}}})).str() ==
        "$.faults[0].servce: " + common + "; register also takes \"service\")");
  CHECK(only_error(json::array({{{"at", "1s"}, {"signal", "s1"}, {"lable", "x"}}})).str() ==
        "$.faults[0].lable: " + common + "; signal also takes \"label\", \"bytes\")");
  // An action without params: today's text.
  CHECK(only_error(json::array({{{"at", "1s"}, {"ping", "s1"}, {"servce", 1}}})).str() == "$.faults[0].servce: " + common + ")");
  // The common keys keep their own errors.
  CHECK(only_error(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", web}, {"delay", "1ms"}}})).str() ==
        "$.faults[0].delay: only a slow fault takes a delay (the processing delay of each message it receives)");
}

TEST_CASE("a param that is a common fault key is a bug of its layer", "[scenario][actions]") {
  json doc = with_faults(json::array({{{"at", "1s"}, {"crash", "s1"}}}));
  doc["protocol"] = "clash";
  CHECK_THROWS_AS(parse(doc), core::InvariantViolation);
}

TEST_CASE("action arguments round-trip through the writer", "[writer][actions]") {
  const Scenario s = parse(with_faults(json::array({
      {{"at", "1s"}, {"register", "s1"}, {"service", web}, {"note", "first"}},
      {{"at", "2s"}, {"signal", "all"}},
      {{"at", "3s"}, {"signal", json::array({"s2"})}, {"bytes", 64}, {"label", "deploy"}},
      {{"at", "4s"}, {"ping", "s2"}},
  })));
  const json written = sim::write_scenario(s);
  INFO(written.dump(2));
  // The arguments' keys sit beside the action's.
  CHECK(written["faults"][0] == json{{"at", "1s"}, {"register", "s1"}, {"service", web}, {"note", "first"}});
  CHECK(written["faults"][1] == json{{"at", "2s"}, {"signal", "all"}});
  CHECK(written["faults"][2] == json{{"at", "3s"}, {"signal", {"s2"}}, {"bytes", 64}, {"label", "deploy"}});
  const Scenario back = parse(written);
  CHECK(back == s);
  REQUIRE(back.faults.size() == 4);
  CHECK(back.faults[0].description == s.faults[0].description);
  CHECK(back.faults[2].description == "signal [\"s2\"] {\"bytes\":64,\"label\":\"deploy\"}");
  CHECK(sim::write_scenario(back) == written);
}

TEST_CASE("faults compare their arguments by value", "[writer][actions]") {
  const Scenario s = parse(with_faults(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", web}}})));
  const Fault& a = s.faults[0];
  Fault b = a;
  CHECK(a == b);
  // Another object with the same values is equal.
  b.args = std::make_shared<ServiceArgs>(dynamic_cast<const ServiceArgs&>(*a.args));
  CHECK(b.args != a.args);
  CHECK(a == b);
  // Other values are not.
  auto other = std::make_shared<ServiceArgs>(dynamic_cast<const ServiceArgs&>(*a.args));
  other->count = 51;
  b.args = other;
  CHECK_FALSE(a == b);
  // Nor are no arguments; two without any are.
  b.args = nullptr;
  CHECK_FALSE(a == b);
  CHECK_FALSE(b == a);
  Fault c = b;
  CHECK(b == c);
  // And so scenarios.
  Scenario t = s;
  t.faults[0].args = other;
  CHECK_FALSE(t == s);
  t.faults[0].args = std::make_shared<ServiceArgs>(dynamic_cast<const ServiceArgs&>(*a.args));
  CHECK(t == s);
}

TEST_CASE("the stack hands a fault's arguments to the layer of its action", "[stack][actions]") {
  const Scenario s = parse(with_faults(json::array({{{"at", "1s"}, {"register", "s1"}, {"service", web}},
                                                    {{"at", "2s"}, {"ping", json::array({"s2", "s3"})}}})));
  sim::Stack stack(*registry.find("probe"), s);
  CHECK(stack.action("register", {0}, s.faults[0].args.get()) ==
        "{\"service\":{\"count\":50,\"name\":\"web\",\"tags\":[\"v1\"]}}");
  CHECK(stack.action("ping", {1, 2}, s.faults[1].args.get()) == "no args");
  const auto* probe = dynamic_cast<const ProbeLayer*>(stack.layer("probe"));
  REQUIRE(probe != nullptr);
  REQUIRE(probe->calls.size() == 2);
  CHECK(probe->calls[0].name == "register");
  CHECK(probe->calls[0].args == s.faults[0].args.get());
  CHECK(probe->calls[1].nodes == std::vector<core::NodeId>{1, 2});
  CHECK(probe->calls[1].args == nullptr);
}

#include "sim/run/stack.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include "core/check.hpp"
#include "sim/check/conservation.hpp"

namespace sim {

using nlohmann::json;

Stack::Stack(const StackDef& def, const Scenario& s) : def_(def), scenario_(s) {
  by_family_.fill(-1);
  for (const LayerDef* d : def.layers) {
    Slot slot;
    slot.layer = d->make(s);
    by_family_[slot.layer->family()] = static_cast<int16_t>(layers_.size());
    layers_.push_back(std::move(slot));
  }
  for (const WorkloadDef* w : def.workloads)
    if (s.workload(w->name())) workloads_.push_back(w->make(s));
}

Stack::~Stack() = default;

void Stack::build(Simulation& sim) {
  sim_ = &sim;
  for (Slot& l : layers_) l.layer->attach(sim, scenario_);
  for (Slot& l : layers_)
    for (Slot& o : layers_)
      if (&l != &o) l.layer->connect(*o.layer);
  Layer* maker = layers_.front().layer.get();
  for (core::NodeId i = 0; i < scenario_.nodes.size(); ++i)
    sim.add_node(scenario_.nodes[i].name, scenario_.nodes[i].dc, [maker](core::NodeId id) { return maker->make_node(id); });
  sim.add_observer(this);
}

void Stack::start(Simulation& sim) {
  for (Slot& l : layers_) l.layer->started();
  for (auto& w : workloads_) {
    bool connected = false;
    for (Slot& l : layers_) connected = connected || w->connect(*l.layer);
    CORE_CHECK(connected, "workload \"" + w->name() + "\" has no layer to serve it in stack " + def_.name);
    w->start(sim);
  }
}

std::optional<core::NodeId> Stack::leader() const {
  for (const Slot& l : layers_)
    if (auto id = l.layer->leader()) return id;
  return std::nullopt;
}

std::string Stack::action(const std::string& name, const std::vector<core::NodeId>& nodes, const Settings* args) {
  // The layer that declares it (StackDef::action_layer) runs it.
  const LayerDef* owner = def_.action_layer(name);
  for (size_t i = 0; i < layers_.size(); ++i)
    if (def_.layers[i] == owner) return layers_[i].layer->action(name, nodes, args);
  CORE_CHECK(false, "no layer of stack " + def_.name + " has action " + name);  // validation prevents it
  return {};
}

void Stack::after_fault(const char* cause) {
  for (Slot& l : layers_) l.layer->after_fault(cause);
}

Layer* Stack::owner_of_property(const std::string& property) const {
  for (size_t i = 0; i < layers_.size(); ++i)
    for (const PropertyDef& p : def_.layers[i]->properties())
      if (p.name == property) return layers_[i].layer.get();
  return nullptr;
}

bool Stack::holds(const Expectation& e, std::string& detail) {
  if (Layer* l = owner_of_property(e.property)) return l->holds(e, detail);
  detail = "unknown property";
  return false;
}

std::optional<Violation> Stack::violation(const std::string& property) const {
  if (property == "message_conservation") {
    const MessageStats& m = sim_->messages();
    return check_conservation({m.sent, m.duplicated, m.delivered, m.dropped, sim_->inflight_messages()}, sim_->now(),
                              sim_->trace_events());
  }
  if (const Layer* l = owner_of_property(property)) return l->violation(property);
  return std::nullopt;
}

void Stack::finish() {
  for (Slot& l : layers_) l.layer->finish();
}

json Stack::metrics() const {
  json j = json::object();
  for (const Slot& l : layers_) j[l.layer->name()] = l.layer->metrics();
  for (const auto& w : workloads_) j[w->name()] = w->metrics();
  return j;
}

void Stack::print_metrics(const json& m, std::ostream& out) const {
  for (const Slot& l : layers_)
    if (m.contains(l.layer->name())) l.layer->print_metrics(m[l.layer->name()], out);
  for (const auto& w : workloads_)
    if (m.contains(w->name())) w->print_metrics(m[w->name()], out);
}

json Stack::node(core::NodeId id) const {
  const NodeSpec& spec = scenario_.nodes.at(id);
  json out = {{"name", spec.name},
              {"id", id},
              {"server", spec.server},
              {"datacenter", scenario_.datacenters.at(spec.dc)},
              {"up", sim_->is_up(id)},
              {"paused", sim_->is_paused(id)}};
  if (sim_->is_up(id))
    for (const Slot& l : layers_) l.layer->describe_node(id, out);
  return out;
}

std::vector<Layer::QueryDef> Stack::queries() const {
  std::vector<Layer::QueryDef> out;
  for (const Slot& l : layers_)
    for (Layer::QueryDef& q : l.layer->queries()) out.push_back(std::move(q));
  return out;
}

json Stack::query(const std::string& name, const json& args) const {
  for (const Slot& l : layers_) {
    for (const Layer::QueryDef& q : l.layer->queries()) {
      if (q.name != name) continue;
      if (!args.is_object()) throw std::invalid_argument("the arguments of " + name + " are keywords");
      for (auto it = args.begin(); it != args.end(); ++it)
        if (std::find(q.args.begin(), q.args.end(), it.key()) == q.args.end())
          throw std::invalid_argument(name + "() got an unexpected argument '" + it.key() + "'");
      return l.layer->query(name, args);
    }
  }
  std::string names;
  for (const Layer::QueryDef& q : queries()) names += (names.empty() ? "" : ", ") + q.name;
  throw std::invalid_argument("no query '" + name + "' in protocol " + def_.name + " (queries: " + names + ")");
}

Layer* Stack::layer(const std::string& name) const {
  for (const Slot& l : layers_)
    if (l.layer->name() == name) return l.layer.get();
  return nullptr;
}

Workload* Stack::workload(const std::string& name) const {
  for (const auto& w : workloads_)
    if (w->name() == name) return w.get();
  return nullptr;
}

// ---------------------------------------------------------------- observation

void Stack::on_record(core::Time now, core::NodeId node, const core::Record& r) {
  const int16_t i = by_family_[core::family_of(r.kind)];
  if (i < 0) return;
  Slot& slot = layers_[static_cast<size_t>(i)];
  slot.layer->on_record(now, node, r);
  if (slot.touched.empty()) dirty_.push_back(static_cast<size_t>(i));
  if (slot.touched.empty() || slot.touched.back() != node) slot.touched.push_back(node);
}

void Stack::after_event(core::Time now, core::NodeId /*node*/) {
  if (dirty_.empty()) return;
  std::sort(dirty_.begin(), dirty_.end());
  for (const size_t i : dirty_) {
    Slot& slot = layers_[i];
    std::vector<core::NodeId> touched = std::move(slot.touched);
    slot.touched.clear();
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    slot.layer->after_records(now, touched);
  }
  dirty_.clear();
}

void Stack::on_lifecycle(core::Time now, core::NodeId node, Lifecycle what) {
  for (Slot& l : layers_) l.layer->on_lifecycle(now, node, what);
}

}  // namespace sim

#include "sim/scenario/stack_def.hpp"

#include <algorithm>

namespace sim {

bool read_true_argument(const Reader& r, std::string& argument) {
  if (!(r.json().is_boolean() && r.json().get<bool>())) {
    r.error("expected true");
    return false;
  }
  argument.clear();
  return true;
}

std::vector<PropertyDef> common_properties() {
  return {{"message_conservation", true,
           "every message sent or duplicated is delivered, dropped or still in flight", nullptr}};
}

bool StackDef::has_leader() const {
  for (const LayerDef* l : layers)
    if (l->has_leader()) return true;
  return false;
}

const LayerDef* StackDef::layer(const std::string& n) const {
  for (const LayerDef* l : layers)
    if (l->name() == n) return l;
  return nullptr;
}

const WorkloadDef* StackDef::workload(const std::string& n) const {
  for (const WorkloadDef* w : workloads)
    if (w->name() == n) return w;
  return nullptr;
}

std::vector<std::string> StackDef::actions() const {
  // A layer may run an action of a layer below it its own way (a Consul
  // agent's leave is serf's leave and more): the first layer that declares
  // it owns it, and it is listed once.
  std::vector<std::string> out;
  for (const LayerDef* l : layers)
    for (const std::string& a : l->actions())
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  return out;
}

const LayerDef* StackDef::action_layer(const std::string& action) const {
  for (const LayerDef* l : layers)
    for (const std::string& a : l->actions())
      if (a == action) return l;
  return nullptr;
}

std::vector<std::string> StackDef::action_params(const std::string& action) const {
  const LayerDef* l = action_layer(action);
  return l ? l->action_params(action) : std::vector<std::string>{};
}

std::vector<PropertyDef> StackDef::properties() const {
  std::vector<PropertyDef> out;
  for (const LayerDef* l : layers)
    for (const PropertyDef& p : l->properties()) out.push_back(p);
  for (const PropertyDef& p : common_properties()) out.push_back(p);
  return out;
}

}  // namespace sim

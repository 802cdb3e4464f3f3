// The simulator side of a client workload: it generates requests against a
// target that a layer of the stack provides (the KV workload against Raft
// today, against an agent's KV endpoint later), records their outcomes and
// reports metrics. Its settings are read by its WorkloadDef
// (sim/scenario/stack_def.hpp).
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/engine/simulation.hpp"

namespace sim {

class Layer;

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  // Connects the workload to the layer that serves it; false when the layer
  // does not serve this kind of workload.
  virtual bool connect(Layer& layer) = 0;
  // Schedules its first request; called once, after every node booted.
  virtual void start(Simulation& sim) = 0;
  virtual nlohmann::json metrics() const = 0;
  virtual void print_metrics(const nlohmann::json& metrics, std::ostream& out) const = 0;
};

}  // namespace sim

// The registry of stacks: one line per stack in stacks.cpp. A new protocol
// adds its layer (sim/layers/) and, if its stack is new, one line there.
#pragma once

#include <string>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/stack_def.hpp"

namespace sim {

const StackRegistry& stacks();

// parse_scenario / load_scenario_file against stacks().
Scenario parse_scenario(const std::string& json_text, const std::string& origin = "scenario");
Scenario load_scenario_file(const std::string& path);
Fault parse_fault(const Scenario& base, const nlohmann::json& fault, const std::string& path = "$");

}  // namespace sim

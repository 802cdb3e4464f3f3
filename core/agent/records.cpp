#include "core/agent/records.hpp"

namespace core::agent {

uint64_t id_hash(std::string_view id) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

RecordInfo record_info(RecordKind kind) {
  switch (static_cast<uint16_t>(kind)) {
    case static_cast<uint16_t>(kRecordRpc): return {"agent.rpc", {"method_outcome", "attempts", "latency_ns"}};
    case static_cast<uint16_t>(kRecordSync): return {"agent.sync", {"kind", "ok", "ops"}};
    case static_cast<uint16_t>(kRecordLocal): return {"agent.local", {"change", "id", "status"}};
    case static_cast<uint16_t>(kRecordUserEvent): return {"agent.user_event", {"id", "ltime", nullptr}};
    case static_cast<uint16_t>(kRecordLeader): return {"agent.leader", {"step", "term", "detail"}};
    case static_cast<uint16_t>(kRecordReconcile): return {"agent.reconcile", {"member", "status", "action"}};
    case static_cast<uint16_t>(kRecordAutopilot): return {"agent.autopilot", {"server", "action", "accepted"}};
    case static_cast<uint16_t>(kRecordLeave): return {"agent.leave", {"step", nullptr, nullptr}};
    case static_cast<uint16_t>(kRecordJoin): return {"agent.join", {"contacted", "attempt", nullptr}};
    case static_cast<uint16_t>(kRecordProbe): return {"agent.probe", {"check", "healthy", nullptr}};
    default: return {"unknown", {"a", "b", "c"}};
  }
}

}  // namespace core::agent

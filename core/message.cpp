#include "core/message.hpp"

#include "core/agent/rpc.hpp"
#include "core/memberlist/messages.hpp"

namespace core {

bool resets_connections(uint8_t family) { return family == kFamilyRpc || family == kFamilyAgent; }

const char* message_type_name(uint16_t type) {
  if (type == kStreamRefused) return "net.refused";
  if (type == kStreamReset) return "net.reset";
  switch (type >> 8) {
    case 0x01: return hb::type_name(type);
    case 0x02: return raft::type_name(type);
    case 0x03: return memberlist::type_name(type);
    case 0x05:
    case 0x06: {
      const char* n = agent::type_name(type);
      return n ? n : "unknown";
    }
    default: return "unknown";
  }
}

}  // namespace core

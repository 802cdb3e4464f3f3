// Messages of the heartbeat protocol (core/hb).
#pragma once

#include <cstdint>

namespace core::hb {

enum MsgType : uint16_t {
  kBeat = 0x0101,   // "I am alive", round number in `seq`
  kToken = 0x0102,  // token-ring hop, hop number in `seq`
};

struct Msg {
  uint64_t seq = 0;
};

const char* type_name(uint16_t type);

}  // namespace core::hb

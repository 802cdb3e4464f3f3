// Trace records of the heartbeat protocol (core/hb), family kFamilyHeartbeat.
#pragma once

#include "core/record.hpp"

namespace core::hb {

inline constexpr RecordKind kRecordSuspect{0x0101};  // a = peer now suspected
inline constexpr RecordKind kRecordAlive{0x0102};    // a = peer alive again

RecordInfo record_info(RecordKind kind);

}  // namespace core::hb

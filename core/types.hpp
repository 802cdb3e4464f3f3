// Basic vocabulary shared by every protocol and by the simulator.
//
// Time is integer nanoseconds everywhere (DESIGN.md, determinism rule 1). A
// `Time` is a point on some clock; a `Duration` is a difference. Both are
// int64_t so arithmetic stays exact and identical on every compiler.
#pragma once

#include <cstdint>
#include <limits>

namespace core {

using Time = int64_t;      // nanoseconds on a clock
using Duration = int64_t;  // nanoseconds
using NodeId = uint32_t;   // index of a node in its cluster, dense from 0

inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();
inline constexpr Time kNever = std::numeric_limits<Time>::max();

inline constexpr Duration kNanosecond = 1;
inline constexpr Duration kMicrosecond = 1000;
inline constexpr Duration kMillisecond = 1000 * kMicrosecond;
inline constexpr Duration kSecond = 1000 * kMillisecond;

// A component instance on a host, named after a Consul agent's listeners
// (DESIGN.md, "Composition"): Raft and RPC share 8300 in Consul but are
// separate components here; serf LAN is 8301, serf WAN 8302. What a component
// sends arrives at the same port of the receiver; its timers, records and
// syncs carry its port. A host that runs one protocol uses kHost only.
enum class Port : uint8_t {
  kHost = 0,
  kRaft = 1,
  kRpc = 2,
  kSerfLan = 3,
  kSerfWan = 4,
};
inline constexpr uint32_t kPortCount = 5;
// "host", "raft", "rpc", "serf-lan", "serf-wan".
const char* port_name(Port p);

// Protocol families: the high byte of every message type code and record
// kind (core/message.hpp is the one registry of wire types; each protocol
// declares its record kinds in its own records.hpp).
enum Family : uint8_t {
  kFamilyHeartbeat = 0x01,
  kFamilyRaft = 0x02,
  kFamilyMemberlist = 0x03,
  kFamilySerf = 0x04,
  kFamilyRpc = 0x05,    // Consul's RPC between agents and servers (core/agent/rpc.hpp)
  kFamilyAgent = 0x06,  // the Consul agent: its records and health-check probes (core/agent)
};
inline constexpr uint8_t family_of(uint16_t code) { return static_cast<uint8_t>(code >> 8); }

}  // namespace core

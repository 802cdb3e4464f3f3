// Message type codes of memberlist (family kFamilyMemberlist) and of serf
// (kFamilySerf), and memberlist's framing sizes. Serf's messages travel
// inside memberlist packets (memberlist::Item of type kUser); they have no
// type code of their own on the wire, only a kind inside UserMsg.
#pragma once

#include <cstdint>

namespace core::memberlist {

enum MsgType : uint16_t {
  kPing = 0x0301,
  kIndirectPing = 0x0302,
  kAck = 0x0303,
  kNack = 0x0304,
  // A packet of broadcasts only (alive / suspect / dead / user), sent by the
  // gossip ticker: one item as is, several as a compound packet.
  kGossip = 0x0305,
  // Stream messages: reliable (not lost to link loss or duplicated), still
  // cut by partitions and crashes.
  kPushPull = 0x0306,
  kStreamPing = 0x0307,  // the TCP fallback ping
  kStreamAck = 0x0308,
};

const char* type_name(uint16_t type);

// Encoded sizes (msgpack, as memberlist's encode() would produce with node
// names of kNameBytes; meta adds its own bytes to alive messages).
inline constexpr uint32_t kNameBytes = 12;
inline constexpr uint32_t kCompoundHeaderOverhead = 2;  // compound type byte + count
inline constexpr uint32_t kCompoundOverhead = 2;        // per item: its length
inline constexpr uint32_t kUserMsgOverhead = 1;         // per user item: the type byte
inline constexpr uint32_t kPingBytes = 1 + 18 + kNameBytes + 8;    // seq, node, source addr/port/name
inline constexpr uint32_t kIndirectPingBytes = 1 + 28 + 2 * kNameBytes;
inline constexpr uint32_t kAckBytes = 1 + 8;                       // + payload
inline constexpr uint32_t kNackBytes = 1 + 8;
inline constexpr uint32_t kAliveBytes = 1 + 34 + kNameBytes;       // + meta
inline constexpr uint32_t kSuspectBytes = 1 + 20 + 2 * kNameBytes;
inline constexpr uint32_t kDeadBytes = 1 + 20 + 2 * kNameBytes;
inline constexpr uint32_t kPushPullHeaderBytes = 1 + 16;
inline constexpr uint32_t kPushNodeBytes = 40 + kNameBytes;        // + meta, per node

}  // namespace core::memberlist

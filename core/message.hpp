// A message between two components: addressing (host and port), a type
// code, a wire size for the bandwidth model, and a body that is one
// protocol's message. This file is the one wire registry: every protocol's
// bodies are alternatives of `body`.
//
// Type codes are unique across protocols: the high byte names the protocol
// family (core::Family: 0x01 heartbeat, 0x02 raft, 0x03 memberlist;
// serf travels inside memberlist packets; 0x05 Consul's RPC, 0x06 the
// agent's health-check probes), the low byte the message.
// The simulator uses the code for trace records and per-type metrics and
// never looks inside the body.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>

#include "core/hb/messages.hpp"
#include "core/memberlist/wire.hpp"
#include "core/raft/messages.hpp"
#include "core/types.hpp"

namespace core {

namespace agent {
struct AgentMsg;  // core/agent/rpc.hpp
}  // namespace agent

// Small bodies (heartbeats) are held inline; Raft bodies, which carry log
// entries, are shared and immutable once sent, so that a message in flight
// costs a few dozen bytes and a duplicate costs a reference count.
struct Message {
  NodeId from = kNoNode;  // filled in by the host on send
  NodeId to = kNoNode;
  uint16_t type = 0;
  Port port = Port::kHost;  // filled in by the host on send: the sender's port, also the receiver's
  // A stream message (memberlist's TCP: push/pull, the fallback ping): never
  // lost to link loss nor duplicated, still delayed, and still cut by
  // partitions and crashes.
  bool stream = false;
  uint32_t size_bytes = 0;
  std::variant<std::monostate, hb::Msg, std::shared_ptr<const raft::Msg>, std::shared_ptr<const memberlist::Packet>,
               std::shared_ptr<const agent::AgentMsg>>
      body;
};

// "hb.beat", "raft.append_entries", ...; "unknown" for an unknown code.
const char* message_type_name(uint16_t type);

// The transport's own messages (family 0). Some families' stream messages
// model TCP connections whose far end is a process (resets_connections()):
// when one reaches a host whose process is down, the host's kernel answers
// with a reset that travels back to the sender, carrying the lost message's
// body so that the sender can tell which request failed:
//   kStreamRefused  the message arrived while the process was down
//                   (connect: connection refused; it was never handled)
//   kStreamReset    the message had arrived and was waiting (the process was
//                   paused or behind) when the process crashed (connection
//                   reset by peer; it was never handled either, but the
//                   sender cannot know)
// A message already handled when its receiver crashed gets no answer: its
// sender waits for its own deadline, as it would for a machine that vanished.
inline constexpr uint16_t kStreamRefused = 0x0001;
inline constexpr uint16_t kStreamReset = 0x0002;
// True for the families whose streams are connections: Consul's RPC and the
// agent's probes. memberlist's streams are not (its TCP dials to a dead
// member time out in the model, as they always did).
bool resets_connections(uint8_t family);

}  // namespace core

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

}  // namespace core

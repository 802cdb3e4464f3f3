// What memberlist puts on the wire (memberlist v0.2.2 net.go): packets with a
// primary message (ping, indirect ping request, ack, nack, push/pull) and the
// broadcasts piggybacked on them, or a gossip packet of broadcasts alone.
//
// A broadcast is an Item: memberlist's own alive / suspect / dead messages
// about one node, or a user message of the delegate (serf), which memberlist
// carries without looking inside (UserMsg: the one type-erased spot, because
// memberlist must not know serf). Every item and packet has the byte size its
// msgpack encoding would have, for the 1,400-byte packet budget and for the
// bandwidth model.
//
// Ownership: Items, UserMsgs and Packets are immutable once made and shared
// (shared_ptr<const ...>) between the queue that retransmits them, every
// packet that carries them and every copy of a packet in flight.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/types.hpp"

namespace core::memberlist {

using Incarnation = uint32_t;

// memberlist's nodeStateType, in its order.
enum class State : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
const char* state_name(State s);

// A message of the delegate (serf) inside memberlist packets. `kind` is the
// delegate's own message type; memberlist only reads `bytes`.
struct UserMsg {
  virtual ~UserMsg() = default;
  uint8_t kind = 0;
  uint32_t bytes = 0;  // encoded size, without memberlist's framing
};

enum class ItemType : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kUser = 3 };

// One broadcast. For kAlive / kSuspect / kDead: `node` is the node the
// message is about, `from` its sender (suspect: the accuser; dead: the node
// that declared it, == node for a voluntary leave). For kUser: `user`.
struct Item {
  ItemType type = ItemType::kAlive;
  NodeId node = kNoNode;
  NodeId from = kNoNode;
  Incarnation incarnation = 0;
  uint32_t bytes = 0;  // encoded size including the message-type byte
  std::shared_ptr<const UserMsg> user;
};
using ItemPtr = std::shared_ptr<const Item>;

// One node's entry in a push/pull exchange (memberlist pushNodeState).
struct PushNode {
  NodeId node = kNoNode;
  Incarnation incarnation = 0;
  State state = State::kAlive;
};

// The body of every memberlist message (core::Message::body). Which fields
// mean something depends on core::Message::type (memberlist::MsgType).
struct Packet {
  uint32_t seq_no = 0;      // ping, indirect ping, ack, nack
  NodeId target = kNoNode;  // ping: the node meant (memberlist checks it); indirect ping: whom to probe
  NodeId source = kNoNode;  // indirect ping: the originator (acks are relayed to it)
  bool want_nack = false;   // indirect ping
  bool join = false;        // push/pull
  bool reply = false;       // push/pull: the passive side's answer
  // ack: the ping delegate's payload (serf: the sender's coordinate).
  std::shared_ptr<const UserMsg> ack_payload;
  // push/pull: the sender's whole node list and the delegate's local state.
  std::shared_ptr<const std::vector<PushNode>> nodes;
  std::shared_ptr<const UserMsg> user_state;
  // Broadcasts piggybacked on the primary message, or a gossip packet's content.
  std::vector<ItemPtr> items;
};

}  // namespace core::memberlist

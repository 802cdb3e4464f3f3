// serf's messages (v0.9.5 messages.go): what serf gossips inside memberlist
// packets (memberlist::UserMsg, the one type-erased spot), its push/pull
// state, and its ping delegate's ack payload.
//
// Every message has `kind` = serf's messageType and `bytes` = the size of
// serf's encoding: the type byte plus go-msgpack's encoding of the struct
// (a map keyed by field names; strings and []byte as old-spec raw strings;
// integers in their shortest form; node names of memberlist::kNameBytes).
//
// Names of nodes are NodeIds. A user event's name is a small integer id
// with a byte length; its payload is a byte count and a 64-bit hash: two
// events are the same event when (ltime, name id, payload size, payload
// hash) agree, as serf compares name and payload bytes.
//
// Immutable once made; shared (shared_ptr<const ...>) by the queue that
// retransmits a message and every packet that carries it. A node that
// rebroadcasts a gossiped message queues the same object
// (enable_shared_from_this), so one event costs one allocation pool-wide.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/coordinate/coordinate.hpp"
#include "core/memberlist/wire.hpp"
#include "core/serf/lamport.hpp"
#include "core/types.hpp"

namespace core::serf {

// serf messageType, in its order; kCoordinate is not one (serf's ping
// payload is a version byte and a coordinate, outside messageType).
enum MessageKind : uint8_t {
  kMsgLeave = 0,
  kMsgJoin = 1,
  kMsgPushPull = 2,
  kMsgUserEvent = 3,
  kMsgQuery = 4,          // not modelled (no queries)
  kMsgQueryResponse = 5,  // not modelled
  kMsgCoordinate = 0x80,
};

// serf ping_delegate.go PingVersion.
inline constexpr uint8_t kPingVersion = 1;

// go-msgpack encoded sizes.
uint32_t msgpack_uint_bytes(uint64_t v);
uint32_t msgpack_str_bytes(uint32_t len);  // also []byte (old spec raw)
uint32_t msgpack_container_header_bytes(uint32_t entries);  // map or array

// What an application puts in a user event's payload (Consul: its encoded
// agent UserEvent), for the application at the receiving end; serf never
// looks inside. Immutable and shared by every copy of the event.
struct EventPayload {
  virtual ~EventPayload() = default;
};

// One user event as serf's event buffer keeps it (serf userEvent).
struct UserEvent {
  uint32_t name_id = 0;
  uint32_t name_bytes = 0;
  uint32_t payload_bytes = 0;
  uint64_t payload_hash = 0;
  // The payload's content when an application gave one (null in a bare
  // gossip pool); its size is payload_bytes and it is the same event as
  // another when the hash agrees, as for any payload.
  std::shared_ptr<const EventPayload> payload;

  // serf userEvent.Equals: same name, same payload.
  bool same(const UserEvent& o) const {
    return name_id == o.name_id && payload_bytes == o.payload_bytes && payload_hash == o.payload_hash;
  }
  bool operator==(const UserEvent&) const = default;
};

// The events of one Lamport time (serf userEvents): one slot of the buffer.
struct EventSlot {
  LamportTime ltime = 0;
  std::vector<UserEvent> events;
  bool operator==(const EventSlot&) const = default;
};

// messageJoin: a node's join intent at its member-clock time.
struct JoinMsg final : memberlist::UserMsg, std::enable_shared_from_this<JoinMsg> {
  LamportTime ltime = 0;
  NodeId node = kNoNode;
};

// messageLeave: a leave intent (a graceful leave, or a force-leave of
// another node; `prune` also erases it at once).
struct LeaveMsg final : memberlist::UserMsg, std::enable_shared_from_this<LeaveMsg> {
  LamportTime ltime = 0;
  NodeId node = kNoNode;
  bool prune = false;
};

// messageUserEvent.
struct UserEventMsg final : memberlist::UserMsg, std::enable_shared_from_this<UserEventMsg> {
  LamportTime ltime = 0;
  UserEvent event;
  bool coalesce = false;  // serf CC
};

// A member's status Lamport time in a push/pull.
struct MemberLTime {
  NodeId node = kNoNode;
  uint32_t ltime = 0;
  bool operator==(const MemberLTime&) const = default;
};

// messagePushPull: serf's LocalState for memberlist's push/pull.
struct PushPullMsg final : memberlist::UserMsg {
  LamportTime ltime = 0;               // member clock
  std::vector<MemberLTime> status_ltimes;  // every member, ascending id
  std::vector<NodeId> left_members;    // serf's leftMembers, in its order
  LamportTime event_ltime = 0;
  // The event buffer's used slots in slot order; the buffer has
  // `event_buffer_len` slots, the others are encoded as nil.
  std::vector<EventSlot> events;
  uint32_t event_buffer_len = 0;
  LamportTime query_ltime = 0;
};

// serf's ping delegate payload (AckPayload): the version byte and this
// node's coordinate.
struct CoordinatePayload final : memberlist::UserMsg {
  explicit CoordinatePayload(const coordinate::Coordinate& c) : coord(c) {}
  uint8_t version = kPingVersion;
  coordinate::Coordinate coord;
};

// Constructors that fill in kind and bytes.
std::shared_ptr<const JoinMsg> make_join(LamportTime ltime, NodeId node);
std::shared_ptr<const LeaveMsg> make_leave(LamportTime ltime, NodeId node, bool prune);
std::shared_ptr<const UserEventMsg> make_user_event(LamportTime ltime, const UserEvent& e, bool coalesce);
// Takes the parts; computes the size.
std::shared_ptr<const PushPullMsg> make_push_pull(PushPullMsg&& parts);
std::shared_ptr<const CoordinatePayload> make_coordinate_payload(const coordinate::Coordinate& c);

// Sizes, for the constructors and for serf's size checks.
uint32_t user_event_bytes(LamportTime ltime, const UserEvent& e);
uint32_t push_pull_bytes(const PushPullMsg& m);
uint32_t coordinate_payload_bytes(uint32_t dimensionality);

}  // namespace core::serf

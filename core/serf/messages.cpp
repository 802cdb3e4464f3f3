#include "core/serf/messages.hpp"

#include <utility>

#include "core/memberlist/messages.hpp"

namespace core::serf {

namespace {
// A map key: the field name as a string.
constexpr uint32_t key(uint32_t name_len) { return name_len <= 31 ? 1 + name_len : 3 + name_len; }
constexpr uint32_t kTypeByte = 1;
constexpr uint32_t kFloat64 = 9;
uint32_t name_bytes() { return msgpack_str_bytes(memberlist::kNameBytes); }
}  // namespace

uint32_t msgpack_uint_bytes(uint64_t v) {
  if (v < 128) return 1;
  if (v <= 0xFF) return 2;
  if (v <= 0xFFFF) return 3;
  if (v <= 0xFFFFFFFFull) return 5;
  return 9;
}

uint32_t msgpack_str_bytes(uint32_t len) {
  if (len <= 31) return 1 + len;
  if (len <= 0xFFFF) return 3 + len;
  return 5 + len;
}

uint32_t msgpack_container_header_bytes(uint32_t entries) {
  if (entries <= 15) return 1;
  if (entries <= 0xFFFF) return 3;
  return 5;
}

std::shared_ptr<const JoinMsg> make_join(LamportTime ltime, NodeId node) {
  auto m = std::make_shared<JoinMsg>();
  m->kind = kMsgJoin;
  m->ltime = ltime;
  m->node = node;
  // {LTime, Node}
  m->bytes = kTypeByte + msgpack_container_header_bytes(2) + key(5) + msgpack_uint_bytes(ltime) + key(4) + name_bytes();
  return m;
}

std::shared_ptr<const LeaveMsg> make_leave(LamportTime ltime, NodeId node, bool prune) {
  auto m = std::make_shared<LeaveMsg>();
  m->kind = kMsgLeave;
  m->ltime = ltime;
  m->node = node;
  m->prune = prune;
  // {LTime, Node, Prune}
  m->bytes = kTypeByte + msgpack_container_header_bytes(3) + key(5) + msgpack_uint_bytes(ltime) + key(4) + name_bytes() +
             key(5) + 1;
  return m;
}

uint32_t user_event_bytes(LamportTime ltime, const UserEvent& e) {
  // {LTime, Name, Payload, CC}
  return kTypeByte + msgpack_container_header_bytes(4) + key(5) + msgpack_uint_bytes(ltime) + key(4) +
         msgpack_str_bytes(e.name_bytes) + key(7) + msgpack_str_bytes(e.payload_bytes) + key(2) + 1;
}

std::shared_ptr<const UserEventMsg> make_user_event(LamportTime ltime, const UserEvent& e, bool coalesce) {
  auto m = std::make_shared<UserEventMsg>();
  m->kind = kMsgUserEvent;
  m->ltime = ltime;
  m->event = e;
  m->coalesce = coalesce;
  m->bytes = user_event_bytes(ltime, e);
  return m;
}

uint32_t push_pull_bytes(const PushPullMsg& m) {
  // {LTime, StatusLTimes, LeftMembers, EventLTime, Events, QueryLTime}
  uint32_t b = kTypeByte + msgpack_container_header_bytes(6);
  b += key(5) + msgpack_uint_bytes(m.ltime);
  b += key(12) + msgpack_container_header_bytes(static_cast<uint32_t>(m.status_ltimes.size()));
  for (const MemberLTime& s : m.status_ltimes) b += name_bytes() + msgpack_uint_bytes(s.ltime);
  b += key(11) + msgpack_container_header_bytes(static_cast<uint32_t>(m.left_members.size()));
  b += static_cast<uint32_t>(m.left_members.size()) * name_bytes();
  b += key(10) + msgpack_uint_bytes(m.event_ltime);
  // Events: serf sends its whole buffer, unused slots as nil (1 byte).
  b += key(6) + msgpack_container_header_bytes(m.event_buffer_len);
  b += m.event_buffer_len - static_cast<uint32_t>(m.events.size());
  for (const EventSlot& s : m.events) {
    // {LTime, Events: [{Name, Payload}...]}
    b += msgpack_container_header_bytes(2) + key(5) + msgpack_uint_bytes(s.ltime) + key(6) +
         msgpack_container_header_bytes(static_cast<uint32_t>(s.events.size()));
    for (const UserEvent& e : s.events)
      b += msgpack_container_header_bytes(2) + key(4) + msgpack_str_bytes(e.name_bytes) + key(7) +
           msgpack_str_bytes(e.payload_bytes);
  }
  b += key(10) + msgpack_uint_bytes(m.query_ltime);
  return b;
}

std::shared_ptr<const PushPullMsg> make_push_pull(PushPullMsg&& parts) {
  auto m = std::make_shared<PushPullMsg>(std::move(parts));
  m->kind = kMsgPushPull;
  m->bytes = push_pull_bytes(*m);
  return m;
}

uint32_t coordinate_payload_bytes(uint32_t dimensionality) {
  // version byte + {Vec: [float64...], Error, Adjustment, Height}
  return 1 + msgpack_container_header_bytes(4) + key(3) + msgpack_container_header_bytes(dimensionality) +
         dimensionality * kFloat64 + key(5) + kFloat64 + key(10) + kFloat64 + key(6) + kFloat64;
}

std::shared_ptr<const CoordinatePayload> make_coordinate_payload(const coordinate::Coordinate& c) {
  auto m = std::make_shared<CoordinatePayload>(c);
  m->kind = kMsgCoordinate;
  m->bytes = coordinate_payload_bytes(c.dimensionality());
  return m;
}

}  // namespace core::serf

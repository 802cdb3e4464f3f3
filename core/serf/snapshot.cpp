#include "core/serf/snapshot.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/check.hpp"
#include "core/memberlist/messages.hpp"

namespace core::serf {

namespace {

constexpr uint64_t kAddrBytes = 15;  // "a.b.c.d:port" as serf writes it

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads a varint at `pos`; false at the end of the input or on a truncated value.
bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint64_t decimal_digits(uint64_t v) {
  uint64_t d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

}  // namespace

Snapshotter::Snapshotter(std::string prefix, uint32_t capacity, bool rejoin_after_leave)
    : prefix_(std::move(prefix)), capacity_(capacity), rejoin_after_leave_(rejoin_after_leave), alive_(capacity) {}

std::string Snapshotter::log_key(uint64_t seq) const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string k = prefix_;
  k += "snapshot/log/";
  for (int shift = 60; shift >= 0; shift -= 4) k.push_back(kHex[(seq >> shift) & 0xF]);
  return k;
}

uint64_t Snapshotter::line_bytes(Op op, uint64_t value) {
  switch (op) {
    case kAlive: return 7 + memberlist::kNameBytes + 1 + kAddrBytes + 1;  // "alive: name addr\n"
    case kNotAlive: return 11 + memberlist::kNameBytes + 1;               // "not-alive: name\n"
    case kClock: return 7 + decimal_digits(value) + 1;                     // "clock: N\n"
    case kEventClock: return 13 + decimal_digits(value) + 1;               // "event-clock: N\n"
    case kQueryClock: return 13 + decimal_digits(value) + 1;               // "query-clock: N\n"
    case kLeave: return 6;                                                 // "leave\n"
  }
  return 0;
}

uint64_t Snapshotter::max_size_bytes() const {
  return std::max(kMinCompactSize, uint64_t{alive_count_} * kBytesPerNode * kCompactionThreshold);
}

void Snapshotter::apply(Op op, uint64_t value) {
  switch (op) {
    case kAlive:
      if (value < capacity_ && !alive_[value]) {
        alive_[value] = true;
        ++alive_count_;
      }
      break;
    case kNotAlive:
      if (value < capacity_ && alive_[value]) {
        alive_[value] = false;
        --alive_count_;
      }
      break;
    case kClock: last_clock_ = value; break;
    case kEventClock: last_event_clock_ = value; break;
    case kQueryClock: last_query_clock_ = value; break;
    case kLeave:
      if (rejoin_after_leave_) break;  // "Ignoring previous leave in snapshot"
      std::fill(alive_.begin(), alive_.end(), false);
      alive_count_ = 0;
      last_clock_ = last_event_clock_ = last_query_clock_ = 0;
      break;
  }
}

void Snapshotter::open(Storage& storage) {
  std::fill(alive_.begin(), alive_.end(), false);
  alive_count_ = 0;
  last_clock_ = last_event_clock_ = last_query_clock_ = 0;
  leaving_ = false;
  buffer_.clear();
  buffered_ops_ = 0;
  buffered_bytes_ = 0;
  offset_ = 0;
  next_log_ = 0;

  if (const std::string* base = storage.get(base_key())) {
    std::string_view in(*base);
    size_t pos = 0;
    uint64_t count = 0;
    const bool ok = get_varint(in, pos, last_clock_) && get_varint(in, pos, last_event_clock_) &&
                    get_varint(in, pos, last_query_clock_) && get_varint(in, pos, count);
    CORE_CHECK(ok, "serf snapshot: a readable base");
    uint64_t id = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t delta = 0;
      CORE_CHECK(get_varint(in, pos, delta), "serf snapshot: a readable alive list");
      id += delta;
      apply(kAlive, id);
      offset_ += line_bytes(kAlive, id);
    }
    offset_ += line_bytes(kClock, last_clock_) + line_bytes(kEventClock, last_event_clock_) +
               line_bytes(kQueryClock, last_query_clock_);
  }
  const std::string from = prefix_ + "snapshot/log/";
  const std::string to = prefix_ + "snapshot/log0";  // '0' follows '/'
  const Storage::Map& view = storage.view();
  for (auto it = view.lower_bound(from); it != view.end() && it->first < to; ++it) {
    std::string_view in(it->second);
    size_t pos = 0;
    while (pos < in.size()) {
      const auto op = static_cast<Op>(static_cast<uint8_t>(in[pos++]));
      uint64_t value = 0;
      CORE_CHECK(op >= kAlive && op <= kLeave && get_varint(in, pos, value), "serf snapshot: a readable log");
      apply(op, value);
      offset_ += line_bytes(op, value);
    }
    ++next_log_;
  }
}

std::vector<NodeId> Snapshotter::alive_nodes() const {
  std::vector<NodeId> out;
  out.reserve(alive_count_);
  for (NodeId n = 0; n < capacity_; ++n)
    if (alive_[n]) out.push_back(n);
  return out;
}

void Snapshotter::append(Env& env, Op op, uint64_t value) {
  buffer_.push_back(static_cast<char>(op));
  put_varint(buffer_, value);
  ++buffered_ops_;
  const uint64_t bytes = line_bytes(op, value);
  buffered_bytes_ += bytes;
  offset_ += bytes;
  if (buffered_bytes_ >= kBufferBytes) flush(env);
}

void Snapshotter::flush(Env& env) {
  if (!buffer_.empty()) {
    env.storage().put(log_key(next_log_++), buffer_);
    buffer_.clear();
    buffered_ops_ = 0;
    buffered_bytes_ = 0;
  }
  if (offset_ > max_size_bytes()) compact(env, /*sync=*/true);
}

void Snapshotter::compact(Env& env, bool sync) {
  std::string base;
  put_varint(base, last_clock_);
  put_varint(base, last_event_clock_);
  put_varint(base, last_query_clock_);
  put_varint(base, alive_count_);
  uint64_t offset = 0;
  NodeId prev = 0;
  for (NodeId n = 0; n < capacity_; ++n) {
    if (!alive_[n]) continue;
    put_varint(base, n - prev);
    prev = n;
    offset += line_bytes(kAlive, n);
  }
  offset += line_bytes(kClock, last_clock_) + line_bytes(kEventClock, last_event_clock_) +
            line_bytes(kQueryClock, last_query_clock_);
  Storage& s = env.storage();
  s.put(base_key(), base);
  s.erase_range(prefix_ + "snapshot/log/", prefix_ + "snapshot/log0");
  next_log_ = 0;
  offset_ = offset;
  ++compactions_;
  if (sync) env.sync();
}

void Snapshotter::seed_alive(Env& env, const std::vector<NodeId>& nodes) {
  if (leaving_) return;
  for (NodeId n : nodes) apply(kAlive, n);
  // What is buffered goes into the base too.
  buffer_.clear();
  buffered_ops_ = 0;
  buffered_bytes_ = 0;
  compact(env, /*sync=*/false);
}

void Snapshotter::member_alive(Env& env, NodeId node, LamportTime member_clock) {
  if (leaving_) return;
  if (node < capacity_ && !alive_[node]) {
    alive_[node] = true;
    ++alive_count_;
  }
  // serf writes the line on every join event, new or not.
  append(env, kAlive, node);
  update_clock(env, member_clock);
}

void Snapshotter::member_gone(Env& env, NodeId node, LamportTime member_clock) {
  if (leaving_) return;
  if (node < capacity_ && alive_[node]) {
    alive_[node] = false;
    --alive_count_;
  }
  append(env, kNotAlive, node);
  update_clock(env, member_clock);
}

void Snapshotter::user_event(Env& env, LamportTime ltime) {
  if (leaving_ || ltime <= last_event_clock_) return;
  last_event_clock_ = ltime;
  append(env, kEventClock, ltime);
}

void Snapshotter::update_clock(Env& env, LamportTime member_clock) {
  if (member_clock == 0) return;
  const LamportTime last_seen = member_clock - 1;
  if (last_seen <= last_clock_) return;
  last_clock_ = last_seen;
  append(env, kClock, last_seen);
}

void Snapshotter::leave(Env& env) {
  if (leaving_) return;
  leaving_ = true;
  if (!rejoin_after_leave_) {
    std::fill(alive_.begin(), alive_.end(), false);
    alive_count_ = 0;
  }
  append(env, kLeave, 0);
  flush(env);
  env.sync();
}

void Snapshotter::tick(Env& env, LamportTime member_clock) {
  update_clock(env, member_clock);
  flush(env);
}

void Snapshotter::close(Env& env, LamportTime member_clock) {
  update_clock(env, member_clock);
  flush(env);
  env.sync();
}

}  // namespace core::serf

#include "core/catalog/codec.hpp"

namespace core::catalog {

const char* health_name(Health h) {
  switch (h) {
    case Health::kPassing: return "passing";
    case Health::kWarning: return "warning";
    case Health::kCritical: return "critical";
  }
  return "?";
}

void Writer::u64(uint64_t v) {
  while (v >= 0x80) {
    u8(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  u8(static_cast<uint8_t>(v));
}

void Writer::str(std::string_view s) {
  u64(s.size());
  out_.append(s);
}

void Writer::node(const Node& n, bool with_indexes) {
  str(n.name);
  str(n.id);
  u64(n.address);
  if (with_indexes) {
    u64(n.create_index);
    u64(n.modify_index);
  }
}

void Writer::service(const Service& s, bool with_indexes) {
  str(s.id);
  str(s.name);
  u64(s.tags.size());
  for (const std::string& t : s.tags) str(t);
  u64(s.port);
  if (with_indexes) {
    u64(s.create_index);
    u64(s.modify_index);
  }
}

void Writer::check(const Check& c, bool with_indexes) {
  str(c.node);
  str(c.id);
  str(c.name);
  u8(static_cast<uint8_t>(c.status));
  str(c.output);
  str(c.service_id);
  if (with_indexes) {
    str(c.service_name);
    u64(c.create_index);
    u64(c.modify_index);
  }
}

void Writer::kv(const KvEntry& e, bool with_indexes) {
  str(e.key);
  str(e.value);
  u64(e.flags);
  // A request's modify_index is the CAS index, so it is always written.
  if (with_indexes) u64(e.create_index);
  u64(e.modify_index);
}

void Reader::fail(const char* what) {
  if (error_ == nullptr) error_ = what;
  pos_ = in_.size();
}

uint8_t Reader::u8() {
  if (!ok()) return 0;
  if (pos_ >= in_.size()) {
    fail("truncated");
    return 0;
  }
  return static_cast<uint8_t>(in_[pos_++]);
}

uint64_t Reader::u64() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = u8();
    if (!ok()) return 0;
    if (shift == 63 && b > 1) {
      fail("varint overflows 64 bits");
      return 0;
    }
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (b == 0 && shift > 0) {
        fail("non-minimal varint");
        return 0;
      }
      return v;
    }
  }
  fail("varint too long");
  return 0;
}

uint32_t Reader::u32() {
  const uint64_t v = u64();
  if (v > UINT32_MAX) {
    fail("value exceeds 32 bits");
    return 0;
  }
  return static_cast<uint32_t>(v);
}

bool Reader::boolean() {
  const uint8_t b = u8();
  if (b > 1) fail("bool is not 0 or 1");
  return b == 1;
}

std::string Reader::str() {
  const uint64_t n = u64();
  if (!ok()) return {};
  if (n > remaining()) {
    fail("string longer than the input");
    return {};
  }
  std::string s(in_.substr(pos_, n));
  pos_ += n;
  return s;
}

uint64_t Reader::count() {
  const uint64_t n = u64();
  if (n > remaining()) {
    fail("count larger than the input");
    return 0;
  }
  return n;
}

Health Reader::health() {
  const uint8_t b = u8();
  if (b > static_cast<uint8_t>(Health::kCritical)) {
    fail("unknown health status");
    return Health::kCritical;
  }
  return static_cast<Health>(b);
}

Node Reader::node(bool with_indexes) {
  Node n;
  n.name = str();
  n.id = str();
  n.address = u32();
  if (with_indexes) {
    n.create_index = u64();
    n.modify_index = u64();
  }
  return n;
}

Service Reader::service(bool with_indexes) {
  Service s;
  s.id = str();
  s.name = str();
  const uint64_t tags = count();
  s.tags.reserve(tags);
  for (uint64_t i = 0; i < tags && ok(); ++i) s.tags.push_back(str());
  s.port = u32();
  if (with_indexes) {
    s.create_index = u64();
    s.modify_index = u64();
  }
  return s;
}

Check Reader::check(bool with_indexes) {
  Check c;
  c.node = str();
  c.id = str();
  c.name = str();
  c.status = health();
  c.output = str();
  c.service_id = str();
  if (with_indexes) {
    c.service_name = str();
    c.create_index = u64();
    c.modify_index = u64();
  }
  return c;
}

KvEntry Reader::kv(bool with_indexes) {
  KvEntry e;
  e.key = str();
  e.value = str();
  e.flags = u64();
  if (with_indexes) e.create_index = u64();
  e.modify_index = u64();
  return e;
}

void Reader::finish() {
  if (ok() && pos_ != in_.size()) fail("trailing bytes");
}

}  // namespace core::catalog

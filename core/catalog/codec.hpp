// The catalog's binary encoding: unsigned LEB128 varints, strings as a varint
// length and the bytes, bools as one byte 0/1. Used for Raft log commands and
// for snapshots. Deterministic: one value has one encoding (the reader rejects
// non-minimal varints), so decode-then-encode gives the same bytes.
//
// Reader never throws and never reads out of bounds: the first malformed field
// makes it fail (sticky), every later read returns a zero value, and error()
// names the first problem. Counts and lengths are bounded by the bytes left,
// so garbage cannot make it allocate more than the input's size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/catalog/types.hpp"

namespace core::catalog {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v);
  void boolean(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s);

  void node(const Node& n, bool with_indexes);
  void service(const Service& s, bool with_indexes);
  void check(const Check& c, bool with_indexes);
  void kv(const KvEntry& e, bool with_indexes);

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  uint8_t u8();
  uint64_t u64();
  uint32_t u32();  // a varint that must fit 32 bits
  bool boolean();
  std::string str();
  // A count of items that take at least one byte each (so it is bounded by
  // the bytes left).
  uint64_t count();
  Health health();

  Node node(bool with_indexes);
  Service service(bool with_indexes);
  Check check(bool with_indexes);
  KvEntry kv(bool with_indexes);

  // Fails unless every byte was read.
  void finish();
  void fail(const char* what);

  bool ok() const { return error_ == nullptr; }
  const char* error() const { return error_ == nullptr ? "" : error_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  const char* error_ = nullptr;
};

}  // namespace core::catalog

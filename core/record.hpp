// Trace records that protocol code emits through core::Env::record().
//
// A record is a fixed-size value: a kind, the port of the component that
// emitted it, and three integer fields whose meaning the kind defines. The
// simulator folds records into the run's trace hash and may write them as
// JSON Lines; checkers and layers watch them. Records describe what a
// protocol did (role changes, commits, applies, membership views), never how
// much was logged.
//
// Kinds are declared by each protocol in its own header (core/hb/records.hpp,
// core/raft/records.hpp): the high byte is the protocol family (core::Family),
// the low byte the kind within it. record_info() knows every family.
#pragma once

#include <cstdint>

#include "core/types.hpp"

namespace core {

enum class RecordKind : uint16_t {};

inline constexpr uint8_t family_of(RecordKind k) { return family_of(static_cast<uint16_t>(k)); }

struct Record {
  Record() = default;
  Record(RecordKind k, uint64_t a_ = 0, uint64_t b_ = 0, uint64_t c_ = 0) : kind(k), a(a_), b(b_), c(c_) {}

  RecordKind kind{};
  Port port = Port::kHost;  // set by the host from the Env it was recorded through
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
};
static_assert(sizeof(Record) == 32, "records stay small");

struct RecordInfo {
  const char* name;       // e.g. "raft.role"
  const char* fields[3];  // names of a, b, c; nullptr when unused
};

// Describes a kind for JSON output; unknown kinds get name "unknown".
RecordInfo record_info(RecordKind kind);

}  // namespace core

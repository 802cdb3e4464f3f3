#include "core/hb/records.hpp"

namespace core::hb {

RecordInfo record_info(RecordKind kind) {
  if (kind == kRecordSuspect) return {"hb.suspect", {"peer", nullptr, nullptr}};
  if (kind == kRecordAlive) return {"hb.alive", {"peer", nullptr, nullptr}};
  return {"unknown", {"a", "b", "c"}};
}

}  // namespace core::hb

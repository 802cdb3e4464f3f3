#include "core/catalog/state_machine.hpp"

#include "core/check.hpp"

namespace core::catalog {

ApplyResult CatalogStateMachine::apply_command(uint64_t index, const Command& command) {
  CORE_CHECK(index > store_.last_index(), "catalog: apply index not increasing");
  ApplyResult r = store_.apply(index, command);
#ifndef NDEBUG
  store_.check_invariants();
#endif
  return r;
}

std::string CatalogStateMachine::apply(uint64_t index, uint64_t /*term*/, const std::string& data) {
  Decoded d = decode(data);
  if (!d.command) {
    CORE_CHECK(index > store_.last_index(), "catalog: apply index not increasing");
    store_.set_last_index(index);
    return ApplyResult::failure("failed to decode request: " + d.error).encode();
  }
  return apply_command(index, *d.command).encode();
}

std::string CatalogStateMachine::snapshot() const { return store_.encode_snapshot(); }

void CatalogStateMachine::restore(const std::string& snapshot) {
  if (snapshot.empty()) {
    store_ = Store{};
    return;
  }
  std::string error;
  std::optional<Store> s = Store::decode_snapshot(snapshot, &error);
  CORE_CHECK(s.has_value(), "catalog: corrupt snapshot: " + error);
  s->check_invariants();
  store_ = std::move(*s);
}

uint64_t CatalogStateMachine::digest() const {
  uint64_t h = 14695981039346656037ull;
  for (char c : store_.encode_snapshot()) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace core::catalog

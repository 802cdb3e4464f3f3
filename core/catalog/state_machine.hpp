// Consul's FSM (agent/consul/fsm/fsm.go, commands_oss.go, snapshot_oss.go,
// v1.9.0) over the catalog Store, as a core::raft::StateMachine.
//
// apply(index, term, data): decodes one command (commands.hpp), applies it at
// `index`, and returns ApplyResult::encode() ("ok", "false" for a failed CAS,
// "error <why>"). A command that does not decode is applied as an error with
// no effect. Indexes must increase strictly between applies (CORE_CHECK).
//
// snapshot()/restore(): the whole Store, table indexes included, so a
// restored replica answers every query with the same index as the original.
// (Consul's restore re-inserts the records, which sets the table indexes to
// the snapshot's index; keeping them exact costs a few bytes.) restore("")
// is the empty state; a malformed snapshot is a bug (InvariantViolation).
//
// Determinism: the Store's containers are ordered; digest() is FNV-1a 64 over
// the snapshot bytes, so two replicas that applied the same commands have the
// same digest.
#pragma once

#include <cstdint>
#include <string>

#include "core/catalog/commands.hpp"
#include "core/catalog/store.hpp"
#include "core/raft/state_machine.hpp"

namespace core::catalog {

class CatalogStateMachine : public raft::StateMachine {
 public:
  std::string apply(uint64_t index, uint64_t term, const std::string& data) override;
  std::string snapshot() const override;
  void restore(const std::string& snapshot) override;

  // The typed path (what apply does after decoding).
  ApplyResult apply_command(uint64_t index, const Command& command);

  const Store& store() const { return store_; }
  uint64_t digest() const;

 private:
  Store store_;
};

}  // namespace core::catalog

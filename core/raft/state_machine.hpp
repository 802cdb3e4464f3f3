// The replicated state machine interface (hashicorp/raft's FSM) and a small
// key/value implementation used by the simulator's workload.
//
// Ownership: a raft::Node owns its StateMachine. apply() is called exactly
// once per committed command entry, in index order, since the last restore();
// after a crash the node calls restore() from its latest snapshot (or with an
// empty string when it has none) and re-applies the log from there.
// A StateMachine must be deterministic: same inputs, same results.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace core::raft {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies one committed command; the result goes back to the client.
  virtual std::string apply(uint64_t index, uint64_t term, const std::string& data) = 0;
  // The whole state, as of the last applied entry.
  virtual std::string snapshot() const = 0;
  // Replaces the whole state; "" means the empty initial state.
  virtual void restore(const std::string& snapshot) = 0;
};

// Key/value store. Commands are text, fields separated by single spaces; keys
// and values must not contain spaces or newlines (values may be empty only in
// put, as a trailing empty field):
//
//   "put <key> <value>"            -> "ok"
//   "get <key>"                    -> "ok <value>" | "notfound"
//   "cas <key> <expected> <new>"   -> "ok" | "fail <current>" | "notfound"
//   "del <key>"                    -> "ok" | "notfound"
//   anything else                  -> "error <reason>" (applied, no effect)
//
// A get goes through the log like every command, so reads are linearizable
// (hashicorp/raft has no lease reads either; Consul's default "consistent"
// mode reads locally after Node::verify_leader() instead, which this
// workload does not need).
//
// Snapshot encoding: for each key in order, "<klen>:<key><vlen>:<value>".
class KvStateMachine : public StateMachine {
 public:
  static std::string put(std::string_view key, std::string_view value);
  static std::string get(std::string_view key);
  static std::string cas(std::string_view key, std::string_view expected, std::string_view value);
  static std::string del(std::string_view key);

  std::string apply(uint64_t index, uint64_t term, const std::string& data) override;
  std::string snapshot() const override;
  void restore(const std::string& snapshot) override;

  const std::map<std::string, std::string, std::less<>>& data() const { return data_; }

 private:
  std::map<std::string, std::string, std::less<>> data_;
};

}  // namespace core::raft

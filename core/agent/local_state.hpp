// An agent's local services and checks and their sync status against the
// catalog: Consul v1.9.0 agent/local/state.go (reference gossip_ae.md D.2).
//
// What it holds: per service and per check the local record, an ACL token
// string (only compared, for check piggy-backing), InSync and Deleted; per
// check also the time it went critical and its pending output-defer timer;
// node-level nodeInfoInSync. A removed entry stays as a tombstone (Deleted)
// until the catalog has deregistered it.
//
// How it syncs (no RPC inside): update_sync_state() takes the catalog's view
// of this node (Catalog.NodeServiceList + Health.NodeChecks) and marks entries;
// sync_changes() plans one SyncChanges pass as an ordered list of catalog
// operations; the host performs them in order and reports each outcome with
// report(), which applies it. The first failure ends the pass (Consul returns
// the first error of SyncChanges, skipping the rest). SyncFull is
// update_sync_state() followed by sync_changes().
//
// Timers: an output-only check update arms a defer timer through the Env
// (top byte of `what` = kTimerTag); the host routes fired timers with that
// tag to on_timer(). Randomness only from env.rng().
//
// Every mutation that leaves something out of sync calls the trigger
// (state.go TriggerSyncChanges; the agent wires it to the StateSyncer's
// partial-sync trigger) and counts it in triggers().
//
// Deviation: Consul iterates Go maps (random order) when it syncs services,
// checks and piggy-backed checks; here every iteration is in sorted id order.
// Deviation: Consul holds the state lock through a whole SyncChanges pass, so
// nothing changes between its RPCs. Here ops are messages, so the host may
// mutate between sync_changes() and report(): an outcome is applied only to an
// entry unchanged since the op was planned (a per-entry version); a changed
// entry stays out of sync for the next pass.
// Not modelled: ACL outcomes (permission denied / token not found mark the
// entry in sync until the next full sync), enterprise meta, alias checks,
// watch channels, EnableTagOverride beyond tags, service fields other than
// name/tags/port, the Catalog.NodeServices fallback. A host maps Consul's
// "Unknown service" / "Unknown check" deregistration errors to success.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/env.hpp"
#include "core/types.hpp"

namespace core::agent {

// agent/config/default.go: check_update_interval = "5m".
inline constexpr Duration kCheckUpdateInterval = 5 * 60 * kSecond;
// structs.ConsulServiceID: a server's own service is never deregistered by
// anti-entropy.
inline constexpr const char* kConsulServiceId = "consul";
// structs.SerfCheckID: the leader manages serfHealth; never deregistered.
inline constexpr const char* kSerfCheckId = "serfHealth";

struct Service {
  std::string name;
  std::vector<std::string> tags;
  uint16_t port = 0;
  // NodeService.EnableTagOverride: the catalog's tags win on a full sync.
  bool enable_tag_override = false;
  bool operator==(const Service&) const = default;  // NodeService.IsSame
};

// api.HealthPassing / HealthWarning / HealthCritical.
enum class CheckStatus : uint8_t { kPassing = 0, kWarning = 1, kCritical = 2 };

struct Check {
  std::string name;
  CheckStatus status = CheckStatus::kCritical;
  std::string output;
  std::string service_id;  // empty: a node-level check
  bool operator==(const Check&) const = default;  // HealthCheck.IsSame
};

// The node-level fields of a registration. updateSyncState compares id,
// tagged addresses and meta (not the address), as state.go does.
struct NodeInfo {
  std::string id;
  std::string address;
  std::map<std::string, std::string> tagged_addresses;
  std::map<std::string, std::string> meta;
  bool operator==(const NodeInfo&) const = default;
};

// What the catalog holds for this node; node absent = not registered.
struct CatalogView {
  std::optional<NodeInfo> node;
  std::map<std::string, Service> services;
  std::map<std::string, Check> checks;
};

struct ServiceState {
  Service service;          // meaningless when !has_record
  std::string token;
  bool in_sync = false;
  bool deleted = false;
  bool has_record = true;   // false: a tombstone for a catalog-only entry
  uint64_t version = 0;     // bumped on every local change (see Deviation)
};

struct CheckState {
  Check check;              // meaningless when !has_record
  std::string token;
  Time critical_since = kNever;  // CriticalTime; kNever: not critical
  uint64_t defer_serial = 0;     // DeferCheck: the pending defer timer, 0 = none
  bool in_sync = false;
  bool deleted = false;
  bool has_record = true;
  uint64_t version = 0;
};

enum class OpKind : uint8_t {
  kRegisterNode = 1,       // syncNodeInfo: Catalog.Register without service/check
  kDeregisterService = 2,  // deleteService: Catalog.Deregister{ServiceID}
  kDeregisterCheck = 3,    // deleteCheck: Catalog.Deregister{CheckID}
  kRegisterService = 4,    // syncService: Catalog.Register with the service (+ checks)
  kRegisterCheck = 5,      // syncCheck: Catalog.Register with the check (+ its service)
};

// One catalog operation of a pass, with everything its request carries.
struct CatalogOp {
  OpKind kind = OpKind::kRegisterNode;
  uint64_t pass = 0;    // which sync_changes() planned it
  uint32_t index = 0;   // its position in that pass
  std::string id;       // the service id or check id (empty for kRegisterNode)
  std::string token;
  NodeInfo node;        // every register carries the node's fields
  bool skip_node_update = false;  // RegisterRequest.SkipNodeUpdate
  // kRegisterService: the service; kRegisterCheck: the check's service when
  // it has a live local one (syncCheck pulls it in).
  std::optional<std::pair<std::string, Service>> service;
  // kRegisterService: out-of-sync checks of this service with the same token,
  // registered in the same transaction; kRegisterCheck: the check.
  std::vector<std::pair<std::string, Check>> checks;
  // Versions of the entries the op would mark in sync or remove (see Deviation).
  uint64_t service_version = 0;
  std::vector<uint64_t> check_versions;  // parallel to `checks` (kDeregisterCheck: one)
};

struct LocalConfig {
  NodeInfo node;
  Duration check_update_interval = kCheckUpdateInterval;  // 0: never defer
  bool discard_check_output = false;
};

class LocalState {
 public:
  static constexpr uint64_t kTimerTag = 0x4C;  // 'L': check output defer timers

  explicit LocalState(LocalConfig config);

  // state.go TriggerSyncChanges.
  void set_trigger(std::function<void()> trigger) { trigger_ = std::move(trigger); }
  uint64_t triggers() const { return triggers_; }

  // AddService: stores the service (an empty id takes the name) out of sync,
  // replacing any entry or tombstone with that id.
  void add_service(std::string id, Service service, std::string token = {});
  // RemoveService: false if there is no live service `id`. Its checks stay.
  bool remove_service(const std::string& id);
  // AddCheck: false if the check names a service id with no entry (a
  // tombstone counts, as in state.go). Replaces any check `id`; a pending
  // defer timer of the old entry is not stopped (state.go neither).
  bool add_check(std::string id, Check check, std::string token = {});
  // RemoveCheck: false if there is no live check `id`.
  bool remove_check(const std::string& id);
  // UpdateCheck: no-op for an unknown or deleted check or an unchanged
  // status and output. A status change marks the check out of sync at once;
  // an output-only change (check_update_interval > 0) stores the output and,
  // unless a defer timer is pending, arms one of d/2 + RandomStagger(d) that
  // marks the check out of sync when it fires.
  void update_check(Env& env, const std::string& id, CheckStatus status, std::string output);
  static bool owns_timer(uint64_t what) { return (what >> 56) == kTimerTag; }
  void on_timer(Env& env, uint64_t what);

  // updateSyncState, after the catalog reads succeeded.
  void update_sync_state(const CatalogView& catalog);
  // SyncChanges: plans one pass, in this order (state.go): register the node
  // if its info is out of sync; then each service by sorted id: deregister a
  // tombstone, register an out-of-sync one (with its out-of-sync same-token
  // checks); then each check by sorted id: deregister a tombstone, register an
  // out-of-sync one. Checks that ride on a service registration, and check
  // tombstones removed along with their service's deregistration, get no op
  // of their own. Planning changes nothing; an empty plan is a finished pass.
  std::vector<CatalogOp> sync_changes();
  // Applies the outcome of the next op of the current pass (ops in order).
  // Returns true while the pass goes on; false after its last op or its first
  // failure (the rest of the pass is skipped). A report from an abandoned
  // pass (an older sync_changes()) changes nothing and returns false.
  bool report(Env& env, const CatalogOp& op, bool ok);
  bool pass_open() const { return pass_open_; }
  // True when the last pass ended at a failed op (SyncChanges returned an error).
  bool pass_failed() const { return pass_failed_; }

  const ServiceState* service(const std::string& id) const;
  const CheckState* check(const std::string& id) const;
  const std::map<std::string, ServiceState>& services() const { return services_; }
  const std::map<std::string, CheckState>& checks() const { return checks_; }
  bool node_info_in_sync() const { return node_info_in_sync_; }
  const LocalConfig& config() const { return config_; }

 private:
  void trigger();
  void stop_defer(Env& env, CheckState& c);
  void prune_check(Env& env, std::map<std::string, CheckState>::iterator it);
  uint64_t timer_what(uint64_t serial) const { return (kTimerTag << 56) | serial; }

  LocalConfig config_;
  std::function<void()> trigger_;
  uint64_t triggers_ = 0;
  bool node_info_in_sync_ = false;
  std::map<std::string, ServiceState> services_;
  std::map<std::string, CheckState> checks_;
  uint64_t next_version_ = 0;
  // Armed defer timers: serial -> (timer, check id). A timer acts on whatever
  // check has that id when it fires, as state.go's closure does.
  std::map<uint64_t, std::pair<TimerId, std::string>> defers_;
  uint64_t next_defer_serial_ = 0;
  uint64_t pass_ = 0;
  uint32_t next_index_ = 0;
  uint32_t pass_size_ = 0;
  bool pass_open_ = false;
  bool pass_failed_ = false;
};

}  // namespace core::agent

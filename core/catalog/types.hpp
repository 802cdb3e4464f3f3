// The records of Consul's catalog and KV store (Consul v1.9 agent/structs/
// structs.go: Node, NodeService, HealthCheck, DirEntry), cut down to what the
// simulated agent needs. Value types, no ownership.
//
// Every record carries the Raft indexes Consul keeps (structs.RaftIndex):
// CreateIndex is the index of the write that created it, ModifyIndex that of
// the last write that changed it; modify_index >= create_index always.
// In a request, the indexes of a Service or Check are ignored (Consul's
// ensureRegistration overwrites them); only KV CAS reads the request's
// modify_index, as the index to compare against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace core::catalog {

// api.HealthPassing / HealthWarning / HealthCritical. Consul's FSM turns an
// empty status into critical; here the default value is critical.
enum class Health : uint8_t { kPassing = 0, kWarning = 1, kCritical = 2 };
const char* health_name(Health h);

// structs.SerfCheckID and friends: the check the leader keeps for every
// serf member (leader.go handleAliveMember / handleFailedMember).
inline constexpr const char* kSerfCheckId = "serfHealth";
inline constexpr const char* kSerfCheckName = "Serf Health Status";
inline constexpr const char* kSerfCheckAliveOutput = "Agent alive and reachable";
inline constexpr const char* kSerfCheckFailedOutput = "Agent not live or unreachable";

struct Node {
  std::string name;     // Node (the primary key)
  std::string id;       // ID (Consul: a UUID; "" for nodes registered without one)
  uint32_t address = 0; // Address, as the host's small id
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // Node.IsSame: equal apart from the Raft indexes.
  bool same_as(const Node& o) const { return name == o.name && id == o.id && address == o.address; }
  bool operator==(const Node&) const = default;
};

struct Service {
  std::string id;                 // ID, unique per node
  std::string name;               // Service
  std::vector<std::string> tags;  // Tags, kept sorted (see Store)
  uint32_t port = 0;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // NodeService.IsSame / ServiceNode.IsSameService.
  bool same_as(const Service& o) const { return id == o.id && name == o.name && tags == o.tags && port == o.port; }
  bool operator==(const Service&) const = default;
};

struct Check {
  std::string node;        // Node; in a RegisterRequest it must equal the request's node
  std::string id;          // CheckID, unique per node
  std::string name;
  Health status = Health::kCritical;
  std::string output;
  std::string service_id;  // "" for a node-level check (serfHealth)
  std::string service_name;  // copied from the service by the store; ignored in requests
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // HealthCheck.IsSame.
  bool same_as(const Check& o) const {
    return node == o.node && id == o.id && name == o.name && status == o.status && output == o.output &&
           service_id == o.service_id && service_name == o.service_name;
  }
  bool operator==(const Check&) const = default;
};

struct KvEntry {
  std::string key;
  std::string value;
  uint64_t flags = 0;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // DirEntry.Equal without LockIndex and Session (not modelled).
  bool same_as(const KvEntry& o) const { return key == o.key && value == o.value && flags == o.flags; }
  bool operator==(const KvEntry&) const = default;
};

// A service instance with its node, as Catalog.ServiceNodes returns it.
struct ServiceNode {
  std::string node;
  uint32_t address = 0;
  Service service;
  bool operator==(const ServiceNode&) const = default;
};

// A query's answer with the index a blocking query would wait on.
template <class T>
struct Indexed {
  uint64_t index = 0;
  T value{};
};

}  // namespace core::catalog

// A client agent's list of LAN servers and its RPC retry rule: Consul v1.9.0
// agent/router/manager.go (Manager, serverList, rebalanceDelayer),
// agent/consul/client_serf.go (nodeJoin / nodeUpdate / nodeFail),
// agent/consul/client.go RPC and agent/consul/rpc.go canRetry (reference
// gossip_ae.md E.2).
//
// No timer and no network inside. The host arms the rebalance timer: first
// kRebalanceMinDelay (New, ResetRebalanceTimer), then after every rebalance
// rebalance_delay(rng, num_servers(), lan_members) (Manager.Run computes it
// after RebalanceServers, from the new list). A rebalance pings servers; a
// host that models pings asynchronously uses rebalance_candidates() and
// finish_rebalance(), a host that answers at once uses rebalance().
//
// Note on the brief: v1.9.0's manager.go has no computeRebalanceTimer nor the
// clientRPCJitterFraction / clientRPCMinReuseDuration /
// newRebalanceConnsPerSecPerServer constants (commit 0003720f, "refactor
// calculation of delay between rebalances", replaced them before v1.9.0 with
// rebalanceDelayer; clientRPCConnMaxIdle was never in manager.go). The
// delayer's values are the same numbers: MinDelay 2 min =
// clientRPCMinReuseDuration 120 s, MaxJitter 1 min = 120 s / jitter fraction
// 2, DelayPerNode 15.625 ms = 1 s / 64 conns per second per server.
//
// Invariants: server names are unique in the list; offline() is true from
// construction until the first add_server or a rebalance that finds a
// healthy server, and again after a rebalance that finds none.
// Deviation: a server's key (metadata.Key: name, datacenter, area) is its
// name here; a LAN manager holds one datacenter and one area.
// Deviation: reconcileServerList appends servers added during a rebalance in
// Go map order (random); here in the order of the current list.
// Deviation: jitter and shuffle draw from the caller's Rng (rng.below,
// unbiased) instead of Go's global source (rand.Int63n / rand.Int31n /
// rand.Int63() % d); the distributions are the same but for RandomStagger's
// slight modulo bias.
// Not modelled: the notifyFailedBarrier (no concurrency here), TLS, the RPC
// rate limiter (a host returns kRateLimited before any attempt), the gRPC
// rebalancer hook. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/types.hpp"

namespace core::agent {

// manager.go delayer (rebalanceDelayer).
inline constexpr Duration kRebalanceMinDelay = 2 * 60 * kSecond;                 // MinDelay
inline constexpr Duration kRebalanceMaxJitter = 60 * kSecond;                    // MaxJitter
inline constexpr Duration kRebalanceDelayPerNode = 15 * kMillisecond + 625 * kMicrosecond;  // DelayPerNode
// agent/config/default.go rpc_hold_timeout = "7s"; agent/consul/rpc.go
// jitterFraction = 16 (the wait between tries is RandomStagger(7 s / 16)).
inline constexpr Duration kRpcHoldTimeout = 7 * kSecond;
inline constexpr int64_t kRpcJitterFraction = 16;

struct ServerMeta {
  std::string name;        // metadata.Server.Name: the key (see Deviation)
  NodeId node = kNoNode;   // where to send its RPCs
  std::string datacenter;
  bool operator==(const ServerMeta&) const = default;
};

// Serf member events the client's lanEventHandler routes to the manager.
enum class MemberEvent : uint8_t { kJoin = 1, kUpdate = 2, kLeave = 3, kFailed = 4, kReap = 5 };

struct MemberEffect {
  bool added = false;      // AddServer was called (new or replaced in place)
  bool removed = false;    // RemoveServer removed it
  bool server_up = false;  // nodeJoin: call the ServerUp callback (the agent's sync trigger)
};

// rebalanceDelayer.Delay: min = 2 min + U[0, 1 min) (always drawn); with no
// servers, min; else max(min, nodes * 15.625 ms / servers). The node term is
// computed in integers (truncated, as Go's float-to-Duration conversion;
// equal to Go's float64 formula for every realistic input).
Duration rebalance_delay(Rng& rng, uint64_t servers, uint64_t nodes);
// The node term alone: nodes * 15.625 ms / servers (0 when servers == 0).
Duration rebalance_node_delay(uint64_t servers, uint64_t nodes);

// Errors of one RPC attempt, as canRetry and client.go RPC tell them apart.
enum class RpcError : uint8_t {
  kNoLeader = 1,           // structs.IsErrNoLeader: text contains "No cluster leader"
  kEof = 2,                // lib.IsErrEOF: io.EOF, yamux stream closed / session shutdown
  kChunkingResubmit = 3,   // ErrChunkingResubmit (see can_retry)
  kNoServers = 4,          // FindServer found none: returned before any attempt
  kRateLimited = 5,        // ErrRPCRateExceeded: returned before any attempt
  kOther = 6,              // any other error (e.g. the handler's own error)
};

// rpc.go canRetry: a no-leader error always; an EOF-like error only for a
// read (RPCInfo.IsRead). ErrChunkingResubmit is not retryable: v1.9.0 tests
// the *args* (`args.(error)`), not the error, so that clause never fires.
// kNoServers and kRateLimited never reach canRetry (false).
bool can_retry(RpcError err, bool is_read);

struct RetryDecision {
  bool retry = false;
  Duration wait = 0;  // sleep before the next try (meaningful when retry)
};

// client.go RPC after a failed attempt (the caller has already called
// notify_failed_server): retry when can_retry and now - first_try < hold
// (strictly), after RandomStagger(hold / 16), in [0, 437.5 ms) for 7 s. No
// backoff: every wait has the same bound. Draws from rng only when retrying.
// `first_try` is the time of the first attempt (client.go firstCheck).
RetryDecision rpc_retry(Rng& rng, RpcError err, bool is_read, Time first_try, Time now,
                        Duration hold = kRpcHoldTimeout);

class ServerManager {
 public:
  // `datacenter`: this agent's; `self_server` (servers only): a name that a
  // rebalance treats as healthy without a ping (Manager.serverName).
  explicit ServerManager(std::string datacenter, std::string self_server = {});

  // client_serf.go: join -> AddServer + ServerUp, update -> AddServer, both
  // only for a Consul server of this datacenter; leave/failed/reap ->
  // RemoveServer for any Consul server (no datacenter check, as in Consul).
  MemberEffect on_member_event(MemberEvent kind, bool is_consul_server, const ServerMeta& server);

  // AddServer: replace in place if the name is known, else append; clears
  // offline.
  void add_server(const ServerMeta& s);
  // RemoveServer by name; false if unknown.
  bool remove_server(const std::string& name);
  // NotifyFailedServer: when the list has more than one server and `name`
  // is the first, the first moves to the end. True if it cycled.
  bool notify_failed_server(const std::string& name);
  // FindServer: the first server, nullptr when the list is empty.
  const ServerMeta* find_server() const;

  const std::vector<ServerMeta>& servers() const { return servers_; }
  size_t num_servers() const { return servers_.size(); }
  bool offline() const { return offline_; }

  // RebalanceServers, step 1: a shuffled copy of the list (shuffleServers,
  // Fisher-Yates from the back). The list itself is unchanged.
  std::vector<ServerMeta> rebalance_candidates(Rng& rng) const;
  // Step 2 (the pings): `order` is the candidates after cycling each failed
  // first one to the back; `found_healthy` whether a ping answered. Step 3,
  // reconcileServerList: with none healthy, sets offline and changes
  // nothing. Else clears offline; if the list or `order` is empty, or the
  // chosen first server has been removed meanwhile, changes nothing; else
  // the list becomes `order` minus servers removed meanwhile, plus servers
  // added meanwhile at the end. True if the list was replaced.
  bool finish_rebalance(std::vector<ServerMeta> order, bool found_healthy);
  // The three steps at once, `healthy` answering each ping (self_server is
  // healthy without one). At most num_servers() pings, front first.
  bool rebalance(Rng& rng, const std::function<bool(const ServerMeta&)>& healthy);

  // Manager.Run: the delay to arm after a rebalance.
  Duration next_rebalance_delay(Rng& rng, uint64_t lan_members) const {
    return rebalance_delay(rng, servers_.size(), lan_members);
  }

  // shuffleServers on any list: for i = n-1 .. 1, swap(i, below(i + 1)).
  static void shuffle_servers(std::vector<ServerMeta>& list, Rng& rng);
  // serverList.cycleServer: the first to the end (no-op below two).
  static void cycle_server(std::vector<ServerMeta>& list);

 private:
  std::string datacenter_;
  std::string self_server_;
  std::vector<ServerMeta> servers_;
  bool offline_ = true;  // New: offline until a server is added
};

}  // namespace core::agent

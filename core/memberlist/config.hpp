// memberlist's configuration (v0.2.2 config.go, reference A.1): the LAN, WAN
// and local profiles with memberlist's defaults, and Consul 1.9's overrides.
//
// Validate once at the boundary (validate()); Memberlist assumes a valid
// Config.
#pragma once

#include <cstdint>
#include <string>

#include "core/types.hpp"

namespace core::memberlist {

struct Config {
  Duration tcp_timeout = 10 * kSecond;  // stream (push/pull, TCP ping) deadline
  uint32_t indirect_checks = 3;         // k of SWIM's ping-req
  uint32_t retransmit_mult = 4;
  uint32_t suspicion_mult = 4;
  uint32_t suspicion_max_timeout_mult = 6;
  Duration push_pull_interval = 30 * kSecond;
  Duration probe_interval = 1 * kSecond;
  Duration probe_timeout = 500 * kMillisecond;
  bool disable_tcp_pings = false;
  uint32_t awareness_max_multiplier = 8;
  uint32_t gossip_nodes = 3;
  Duration gossip_interval = 200 * kMillisecond;
  Duration gossip_to_the_dead_time = 30 * kSecond;
  uint32_t handoff_queue_depth = 1024;
  uint32_t udp_buffer_size = 1400;  // the packet budget for piggybacking
  Duration dead_node_reclaim_time = 0;  // 0: never
  // Gossip encryption (keyring): every packet carries AES-GCM's framing
  // (version byte, 12-byte nonce, 16-byte tag), which shrinks the
  // piggyback budget. No cryptography is done.
  bool encryption = false;
  // memberlist v0.3.1 purges Left nodes with Dead ones after
  // GossipToTheDeadTime; v0.2.2 (Consul 1.9.0) keeps them forever.
  bool purge_left_nodes = false;
  // Lifeguard (reference C.2): the local health multiplier, suspicion
  // confirmations with a decaying timeout, and the buddy system. Off gives
  // SWIM with suspicion (fixed timeout Min, no awareness, no buddy
  // suspicion on probes, no nacks): the comparison the Lifeguard paper makes.
  bool lifeguard = true;

  bool operator==(const Config&) const = default;

  static Config lan() { return Config{}; }
  static Config wan();
  static Config local();
  // Consul 1.9's LAN pool: memberlist LAN defaults, DeadNodeReclaimTime 30 s
  // and the agent's gossip_lan settings (the same values as LAN).
  static Config consul_lan();
  // Consul 1.9's WAN pool: WAN defaults with GossipNodes 3 and
  // RetransmitMult 4 taken from the LAN block (agent/config/default.go),
  // DeadNodeReclaimTime 30 s.
  static Config consul_wan();

  // Empty when valid, else what is wrong (names the field).
  std::string validate() const;
};

// Bytes of gossip encryption per packet (memberlist security.go: version
// byte + 12-byte nonce + 16-byte GCM tag).
inline constexpr uint32_t kEncryptionOverhead = 1 + 12 + 16;

}  // namespace core::memberlist

// serf's configuration (hashicorp/serf v0.9.5 serf/config.go DefaultConfig,
// reference gossip_ae.md B.1) with Consul 1.9's overrides (consul
// lib/serf/serf.go DefaultConfig, agent/consul/config.go DefaultConfig,
// agent/consul/server_serf.go setupSerf), and the memberlist::Config of the
// pool underneath.
//
// Validate once at the boundary (validate()); Serf assumes a valid Config.
// A plain value: copy it freely.
#pragma once

#include <cstdint>
#include <string>

#include "core/coordinate/config.hpp"
#include "core/memberlist/config.hpp"
#include "core/types.hpp"

namespace core::serf {

// serf.go UserEventSizeLimit: the hard cap on name + payload, and on the
// encoded message, whatever the configured limit.
inline constexpr uint32_t kUserEventSizeHardLimit = 9 * 1024;
// memberlist MetaMaxSize: the encoded tags must fit.
inline constexpr uint32_t kMetaMaxSize = 512;
// serf.go ProtocolVersionMin / ProtocolVersionMax.
inline constexpr uint32_t kProtocolVersionMin = 2;
inline constexpr uint32_t kProtocolVersionMax = 5;

// A node's tags as memberlist meta: the magic byte 255 plus the msgpack map,
// as serf's encodeTags makes it. Estimate for Consul 1.9's LAN tags: a
// client (role=node, dc, segment, id = a 36-char UUID, vsn, vsn_min,
// vsn_max, build, acls) encodes to about 120 bytes; a server adds
// role=consul, raft_vsn, port, expect, wan_join_port, ft_fs, ft_si (about
// 185 bytes). 150 sits between; set tags_bytes per node for precision.
inline constexpr uint32_t kConsulTagsBytes = 150;
// Consul's user-event names are "consul:event:" + the user's name
// (agent/consul/server_serf.go userEventPrefix); "consul:event:deploy".
inline constexpr uint32_t kConsulEventNameBytes = 19;

struct Config {
  memberlist::Config memberlist = memberlist::Config::lan();  // serf: DefaultLANConfig
  coordinate::Config coordinate;                              // serf: coordinate.DefaultConfig

  uint32_t protocol_version = 4;
  Duration broadcast_timeout = 5 * kSecond;
  Duration leave_propagate_delay = 1 * kSecond;
  // Event coalescing (serf's coalescer loops). Not modelled: Consul leaves
  // them 0 (disabled) and fires its events with coalesce=false, so they
  // must stay 0 here (validate() says so).
  Duration coalesce_period = 0;
  Duration quiescent_period = 0;
  Duration user_coalesce_period = 0;
  Duration user_quiescent_period = 0;
  Duration reap_interval = 15 * kSecond;
  Duration reconnect_interval = 30 * kSecond;
  Duration reconnect_timeout = 24 * 3600 * kSecond;  // failed members are reaped after this
  Duration tombstone_timeout = 24 * 3600 * kSecond;  // left members are reaped after this
  Duration flap_timeout = 60 * kSecond;              // a failed member back within this is a flap
  Duration queue_check_interval = 30 * kSecond;
  uint32_t queue_depth_warning = 128;  // counted in Stats::queue_depth_warnings
  uint32_t max_queue_depth = 4096;
  // When > 0 the depth limit is max(min_queue_depth, 2 x members) and
  // max_queue_depth is ignored (serf getQueueMax).
  uint32_t min_queue_depth = 0;
  Duration recent_intent_timeout = 5 * 60 * kSecond;
  uint32_t event_buffer = 512;
  uint32_t query_buffer = 512;
  uint32_t query_timeout_mult = 16;
  uint32_t query_response_size_limit = 1024;
  uint32_t query_size_limit = 1024;
  uint32_t user_event_size_limit = 512;
  // serf's EnableNameConflictResolution. Names are NodeIds here and never
  // conflict, so it has no effect; kept for the record of Consul's setting.
  bool enable_name_conflict_resolution = true;
  // serf DisableCoordinates: no coordinate client, no ping delegate (acks
  // carry no payload), no coordinate cache. Measured: a Client is 448
  // bytes plus ~30 bytes per peer it has measured (latency filter), the
  // cache 104 bytes per peer; every member probes every other in turn, so
  // at 10,000 members that is ~1.3 MB per node, ~13 GB for the pool.
  bool disable_coordinates = false;
  // serf SnapshotPath != "": keep the snapshot (snapshot.hpp) in
  // env.storage() under the Serf's storage prefix, and rejoin previously
  // alive members on a restart. serf's default has none.
  bool snapshot = false;
  bool rejoin_after_leave = false;
  // Encoded size of this node's tags (memberlist meta); see kConsulTagsBytes.
  uint32_t tags_bytes = kConsulTagsBytes;

  bool operator==(const Config&) const = default;

  // serf DefaultConfig() (memberlist DefaultLANConfig underneath).
  static Config serf_default() { return Config{}; }
  // Consul 1.9's LAN pool: lib/serf DefaultConfig (QueueDepthWarning
  // 1,000,000, MinQueueDepth 4096, LeavePropagateDelay 3 s),
  // ReconnectTimeout 72 h, EnableNameConflictResolution false, a snapshot
  // (serf/local.snapshot; RejoinAfterLeave false by default), memberlist's
  // Consul LAN config.
  static Config consul_lan();
  // Consul 1.9's WAN pool: the same serf overrides over memberlist's Consul
  // WAN config (serf/remote.snapshot).
  static Config consul_wan();

  // Empty when valid, else what is wrong (names the field).
  std::string validate() const;

  // serf getQueueMax for a pool of `members`.
  uint32_t queue_max(uint32_t members) const;
};

}  // namespace core::serf

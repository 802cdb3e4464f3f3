#include "core/serf/config.hpp"

#include <algorithm>

namespace core::serf {

namespace {
Config consul_common(const memberlist::Config& ml) {
  Config c;
  c.memberlist = ml;
  c.queue_depth_warning = 1000000;
  c.min_queue_depth = 4096;
  c.leave_propagate_delay = 3 * kSecond;
  c.reconnect_timeout = 3 * 24 * 3600 * kSecond;
  c.enable_name_conflict_resolution = false;
  c.snapshot = true;
  c.rejoin_after_leave = false;
  return c;
}
}  // namespace

Config Config::consul_lan() { return consul_common(memberlist::Config::consul_lan()); }
Config Config::consul_wan() { return consul_common(memberlist::Config::consul_wan()); }

uint32_t Config::queue_max(uint32_t members) const {
  if (min_queue_depth == 0) return max_queue_depth;
  return std::max(min_queue_depth, 2 * members);
}

std::string Config::validate() const {
  if (std::string m = memberlist.validate(); !m.empty()) return "memberlist." + m;
  if (!disable_coordinates) {
    if (std::string m = coordinate.validate(); !m.empty()) return "coordinate." + m;
  }
  if (protocol_version < kProtocolVersionMin || protocol_version > kProtocolVersionMax)
    return "protocol_version must be in [2, 5]";
  if (broadcast_timeout <= 0) return "broadcast_timeout must be positive";
  if (leave_propagate_delay < 0) return "leave_propagate_delay must not be negative";
  if (coalesce_period != 0 || quiescent_period != 0)
    return "coalesce_period / quiescent_period: member-event coalescing is not modelled (must be 0)";
  if (user_coalesce_period != 0 || user_quiescent_period != 0)
    return "user_coalesce_period / user_quiescent_period: user-event coalescing is not modelled (must be 0)";
  if (reap_interval <= 0) return "reap_interval must be positive";
  if (reconnect_interval <= 0) return "reconnect_interval must be positive";
  if (reconnect_timeout < 0) return "reconnect_timeout must not be negative";
  if (tombstone_timeout < 0) return "tombstone_timeout must not be negative";
  if (flap_timeout < 0) return "flap_timeout must not be negative";
  if (queue_check_interval <= 0) return "queue_check_interval must be positive";
  if (min_queue_depth == 0 && max_queue_depth == 0) return "max_queue_depth must be positive";
  if (recent_intent_timeout < 0) return "recent_intent_timeout must not be negative";
  if (event_buffer == 0) return "event_buffer must be positive";
  if (query_buffer == 0) return "query_buffer must be positive";
  if (query_timeout_mult == 0) return "query_timeout_mult must be positive";
  if (user_event_size_limit > kUserEventSizeHardLimit) return "user_event_size_limit exceeds the limit of 9216 bytes";
  if (tags_bytes > kMetaMaxSize) return "tags_bytes exceeds memberlist's meta limit of 512 bytes";
  return "";
}

}  // namespace core::serf

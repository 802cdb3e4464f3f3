#include "core/memberlist/config.hpp"

namespace core::memberlist {

Config Config::wan() {
  Config c;
  c.tcp_timeout = 30 * kSecond;
  c.suspicion_mult = 6;
  c.push_pull_interval = 60 * kSecond;
  c.probe_interval = 5 * kSecond;
  c.probe_timeout = 3 * kSecond;
  c.gossip_nodes = 4;
  c.gossip_interval = 500 * kMillisecond;
  c.gossip_to_the_dead_time = 60 * kSecond;
  return c;
}

Config Config::local() {
  Config c;
  c.tcp_timeout = 1 * kSecond;
  c.indirect_checks = 1;
  c.retransmit_mult = 2;
  c.suspicion_mult = 3;
  c.push_pull_interval = 15 * kSecond;
  c.probe_timeout = 200 * kMillisecond;
  c.gossip_interval = 100 * kMillisecond;
  c.gossip_to_the_dead_time = 15 * kSecond;
  return c;
}

Config Config::consul_lan() {
  Config c = lan();
  c.dead_node_reclaim_time = 30 * kSecond;
  return c;
}

Config Config::consul_wan() {
  Config c = wan();
  c.gossip_nodes = 3;     // agent/config/default.go builds gossip_wan from the LAN values
  c.retransmit_mult = 4;
  c.dead_node_reclaim_time = 30 * kSecond;
  return c;
}

std::string Config::validate() const {
  if (probe_interval <= 0) return "probe_interval must be positive";
  if (probe_timeout <= 0) return "probe_timeout must be positive";
  if (probe_timeout >= probe_interval) return "probe_timeout must be shorter than probe_interval";
  if (gossip_interval <= 0) return "gossip_interval must be positive";
  if (push_pull_interval < 0) return "push_pull_interval must not be negative";
  if (tcp_timeout <= 0) return "tcp_timeout must be positive";
  if (suspicion_mult < 1) return "suspicion_mult must be at least 1";
  if (suspicion_max_timeout_mult < 1) return "suspicion_max_timeout_mult must be at least 1";
  if (retransmit_mult < 1) return "retransmit_mult must be at least 1";
  if (awareness_max_multiplier < 1) return "awareness_max_multiplier must be at least 1";
  if (udp_buffer_size < 200 || udp_buffer_size > 65507) return "udp_buffer_size must be between 200 and 65507 bytes";
  if (handoff_queue_depth < 1) return "handoff_queue_depth must be at least 1";
  return "";
}

}  // namespace core::memberlist

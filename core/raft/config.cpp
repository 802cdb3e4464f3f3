#include "core/raft/config.hpp"

namespace core::raft {

Config Config::consul(int raft_multiplier) {
  Config c;
  c.scale(raft_multiplier);
  c.snapshot_interval = 30 * kSecond;
  c.snapshot_threshold = 16384;
  return c;
}

void Config::scale(int raft_multiplier) {
  heartbeat_timeout *= raft_multiplier;
  election_timeout *= raft_multiplier;
  leader_lease_timeout *= raft_multiplier;
}

std::string Config::validate() const {
  constexpr Duration kMin = 5 * kMillisecond;
  if (heartbeat_timeout < kMin) return "heartbeat_timeout is too low (minimum 5ms)";
  if (election_timeout < kMin) return "election_timeout is too low (minimum 5ms)";
  if (commit_timeout < kMillisecond) return "commit_timeout is too low (minimum 1ms)";
  if (max_append_entries < 1) return "max_append_entries must be at least 1";
  if (max_append_entries > 1024) return "max_append_entries is too large (maximum 1024)";
  if (snapshot_interval < kMin) return "snapshot_interval is too low (minimum 5ms)";
  if (leader_lease_timeout < kMin) return "leader_lease_timeout is too low (minimum 5ms)";
  if (leader_lease_timeout > heartbeat_timeout)
    return "leader_lease_timeout cannot be larger than heartbeat_timeout";
  if (election_timeout < heartbeat_timeout)
    return "election_timeout must be equal or greater than heartbeat_timeout";
  if (timer_mode == TimerMode::kPaper && paper_election_max() < election_timeout)
    return "election_timeout_max must be at least election_timeout";
  if (rpc_timeout < kMillisecond) return "rpc_timeout is too low (minimum 1ms)";
  if (max_inflight < 1) return "max_inflight must be at least 1";
  return {};
}

}  // namespace core::raft

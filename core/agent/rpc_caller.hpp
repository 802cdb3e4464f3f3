// One RPC attempt to one server, as Consul's connection pool makes it
// (agent/pool/pool.go ConnPool.RPC): the request goes out on the rpc port,
// the answer comes back on it. What retries, rotates servers or forwards is
// the caller's (client.go RPC, rpc.go ForwardRPC).
//
// Failures: a request that reaches a host whose process is down comes back
// refused (the engine's kStreamRefused), and one waiting there when the
// process crashed comes back reset; both fail the call at once, as a dead
// process's kernel answers.
// Deviation: Consul's RPC has no deadline of its own; a server that vanished
// or a partition is found by yamux's keepalive (every 30 s, a ping answered
// within ConnectionWriteTimeout 10 s) and by the dial timeout (10 s). Here a
// call that got no answer within `timeout` (default 10 s) fails with yamux's
// "session shutdown", an EOF-class error, as if the keepalive had found the
// connection dead. This is also what a call already handled by a server
// whose process then crashed gets (Consul's would see the reset at once).
//
// Timers carry kTimerTag; the owner routes them to on_timer(). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "core/agent/rpc.hpp"
#include "core/env.hpp"

namespace core::agent {

class RpcCaller {
 public:
  static constexpr uint64_t kTimerTag = 0x52;  // 'R'
  using Done = std::function<void(Env&, const RpcResponse&)>;

  explicit RpcCaller(Duration timeout) : timeout_(timeout) {}

  // Sends `req` (its id is replaced by a fresh one) to `server` through
  // `env` (the rpc port's); `done` gets the answer or the timeout's error.
  void call(Env& env, NodeId server, RpcRequest req, Done done);
  // True if `resp` answered one of our calls (whose `done` then ran).
  bool on_response(Env& env, const RpcResponse& resp);
  // A message of ours came back refused or reset (core::kStreamRefused /
  // kStreamReset): the call fails at once, "connection refused" (never
  // handled; not retryable) or "connection reset by peer" (EOF class).
  // True if it was one of our pending calls.
  bool on_bounce(Env& env, const Message& msg);
  static bool owns_timer(uint64_t what) { return (what >> 56) == kTimerTag; }
  void on_timer(Env& env, uint64_t what);
  // Fails every pending call with "session shutdown" (the agent shuts down).
  void fail_all(Env& env);
  size_t pending() const { return pending_.size(); }
  Duration timeout() const { return timeout_; }

 private:
  struct Pending {
    TimerId timer = 0;
    Done done;
  };
  Duration timeout_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
};

}  // namespace core::agent

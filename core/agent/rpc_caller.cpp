#include "core/agent/rpc_caller.hpp"

#include <utility>

#include "core/check.hpp"

namespace core::agent {

namespace {
constexpr uint64_t kIdMask = (uint64_t{1} << 56) - 1;
}  // namespace

void RpcCaller::call(Env& env, NodeId server, RpcRequest req, Done done) {
  const uint64_t id = next_id_++ & kIdMask;
  req.id = id;
  Pending p;
  p.timer = env.set_timer(timeout_, (kTimerTag << 56) | id);
  p.done = std::move(done);
  pending_.emplace(id, std::move(p));
  env.send(make_message(server, std::move(req)));
}

bool RpcCaller::on_response(Env& env, const RpcResponse& resp) {
  auto it = pending_.find(resp.id);
  if (it == pending_.end()) return false;  // answered after its deadline: dropped, as a closed stream's
  env.cancel_timer(it->second.timer);
  Done done = std::move(it->second.done);
  pending_.erase(it);
  done(env, resp);
  return true;
}

bool RpcCaller::on_bounce(Env& env, const Message& msg) {
  const AgentMsg* m = agent_body(msg);
  const auto* req = m ? std::get_if<RpcRequest>(&m->body) : nullptr;
  if (req == nullptr) return false;  // an answer of ours that found its caller gone
  auto it = pending_.find(req->id);
  if (it == pending_.end()) return false;
  env.cancel_timer(it->second.timer);
  Done done = std::move(it->second.done);
  const uint64_t id = it->first;
  pending_.erase(it);
  if (msg.type == kStreamRefused) done(env, rpc_error(id, RpcError::kOther, kErrConnectionRefused));
  else done(env, rpc_error(id, RpcError::kEof, kErrConnectionReset));
  return true;
}

void RpcCaller::on_timer(Env& env, uint64_t what) {
  CORE_CHECK(owns_timer(what), "rpc: a timer of ours");
  auto it = pending_.find(what & kIdMask);
  if (it == pending_.end()) return;
  Done done = std::move(it->second.done);
  const uint64_t id = it->first;
  pending_.erase(it);
  done(env, rpc_error(id, RpcError::kEof, kErrSessionShutdown));
}

void RpcCaller::fail_all(Env& env) {
  std::map<uint64_t, Pending> pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) {
    env.cancel_timer(p.timer);
    p.done(env, rpc_error(id, RpcError::kEof, kErrSessionShutdown));
  }
}

}  // namespace core::agent

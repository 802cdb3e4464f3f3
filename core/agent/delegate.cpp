#include "core/agent/delegate.hpp"

#include <cstdio>
#include <utility>

namespace core::agent {

NodeId Directory::find(std::string_view name) const {
  for (NodeId i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return i;
  return kNoNode;
}

std::string Directory::node_id(NodeId n) const {
  // A UUID-shaped id (36 characters, as Consul's), fixed per node.
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(n) * 2654435761u,
                static_cast<unsigned>(n));
  return buf;
}

serf::UserEvent make_serf_event(std::string name, std::shared_ptr<const UserEvent> event, const std::string& payload,
                                uint32_t payload_bytes) {
  auto content = std::make_shared<ConsulEventPayload>();
  serf::UserEvent e;
  e.name_id = event ? kUserEventId : kNewLeaderEventId;
  e.name_bytes = static_cast<uint32_t>(name.size());
  e.payload_bytes = payload_bytes;
  // serf tells events apart by name and payload; Consul's payloads differ by
  // the event's UUID (or, for consul:new-leader, the leader's name).
  e.payload_hash = id_hash(event ? event->id : name + "/" + payload);
  content->name = std::move(name);
  content->event = std::move(event);
  e.payload = std::move(content);
  return e;
}

MemberEvent member_event_of(serf::MemberEventType type) {
  switch (type) {
    case serf::MemberEventType::kJoin: return MemberEvent::kJoin;
    case serf::MemberEventType::kUpdate: return MemberEvent::kUpdate;
    case serf::MemberEventType::kLeave: return MemberEvent::kLeave;
    case serf::MemberEventType::kFailed: return MemberEvent::kFailed;
    case serf::MemberEventType::kReap: return MemberEvent::kReap;
  }
  return MemberEvent::kJoin;
}

Delegate::Delegate(NodeId self, std::shared_ptr<const Directory> directory, AgentHooks& hooks,
                   const serf::Config& lan_config, Duration rpc_timeout)
    : self_(self),
      directory_(std::move(directory)),
      hooks_(hooks),
      lan_(self, static_cast<uint32_t>(directory_->nodes.size()), lan_config, "serf-lan/"),
      caller_(rpc_timeout),
      deferred_(kTimerTag) {
  lan_.set_listener(this);
}

bool Delegate::handle_rpc_answer(Env& env, const Message& msg) {
  if (msg.type == kStreamRefused || msg.type == kStreamReset) {
    caller_.on_bounce(env, msg);
    return true;
  }
  const AgentMsg* m = agent_body(msg);
  const auto* resp = m ? std::get_if<RpcResponse>(&m->body) : nullptr;
  if (resp == nullptr) return false;
  caller_.on_response(env, *resp);
  return true;
}

void Delegate::handle_rpc_timer(Env& env, uint64_t what) {
  if (RpcCaller::owns_timer(what)) caller_.on_timer(env, what);
  else if (deferred_.owns(what)) deferred_.fire(env, what);
}

bool Delegate::encrypted() const { return lan_.config().memberlist.encryption; }

std::optional<coordinate::Coordinate> Delegate::lan_coordinate() const {
  const coordinate::Client* c = lan_.coordinate_client();
  if (!c) return std::nullopt;
  return c->coordinate();
}

Member Delegate::member(NodeId n, serf::MemberStatus status) const {
  const Directory::Entry& e = directory_->at(n);
  return Member{n, e.name, status, e.server, e.dc};
}

std::vector<Member> Delegate::lan_members() const {
  std::vector<Member> out;
  const std::vector<uint8_t>& st = lan_.statuses();
  for (NodeId n = 0; n < st.size(); ++n)
    if (st[n] != static_cast<uint8_t>(serf::MemberStatus::kNone)) out.push_back(member(n, lan_.status(n)));
  return out;
}

std::optional<std::vector<Member>> Delegate::lan_segment_members(std::string_view segment, std::string* error) const {
  if (segment.empty()) return lan_members();
  if (error) *error = "Network segments are not supported in this version of Consul";  // ErrSegmentsNotSupported
  return std::nullopt;
}

Member Delegate::local_member() const { return member(self_, lan_.status(self_)); }

std::string Delegate::join_lan(Env& env, const std::vector<NodeId>& addrs) {
  std::string err = lan_.join(env.on_port(Port::kSerfLan), addrs, /*ignore_old=*/true);
  drain_events(env);
  return err;
}

std::string Delegate::remove_failed_node(Env& env, NodeId node, bool prune) {
  std::string err = lan_.force_leave(env.on_port(Port::kSerfLan), node, prune);
  drain_events(env);
  return err;
}

void Delegate::snapshot_rpc(Env& env, std::shared_ptr<const std::string> restore, RpcDone done) {
  RpcRequest req;
  req.method = restore ? Method::kSnapshotRestore : Method::kSnapshotSave;
  if (restore) req.args = RestoreArgs{std::move(restore)};
  rpc(env, std::move(req), std::move(done));
}

void Delegate::on_member_event(Env& /*env*/, serf::MemberEventType type, NodeId member) {
  QueuedEvent q;
  q.type = type;
  q.member = member;
  queued_.push_back(std::move(q));
}

void Delegate::on_user_event(Env& /*env*/, serf::LamportTime ltime, const serf::UserEvent& event, bool /*coalesce*/) {
  QueuedEvent q;
  q.kind = QueuedEvent::Kind::kUser;
  q.ltime = ltime;
  q.event = event;
  queued_.push_back(std::move(q));
}

void Delegate::on_join_done(Env& /*env*/, uint32_t contacted, uint32_t asked) {
  QueuedEvent q;
  q.kind = QueuedEvent::Kind::kJoinDone;
  q.member = contacted;
  q.ltime = asked;
  queued_.push_back(std::move(q));
}

void Delegate::drain_events(Env& env) {
  if (draining_) return;  // an event handler's own calls into serf: the loop below picks up what they queue
  draining_ = true;
  for (size_t i = 0; i < queued_.size(); ++i) {
    if (shut_down_) break;
    QueuedEvent q = std::move(queued_[i]);
    switch (q.kind) {
      case QueuedEvent::Kind::kMember: handle_member_event(env, q.type, q.member); break;
      case QueuedEvent::Kind::kUser: handle_user_event(env, q.ltime, q.event); break;
      case QueuedEvent::Kind::kJoinDone:
        hooks_.join_done(env, q.member, static_cast<uint32_t>(q.ltime));
        break;
    }
  }
  queued_.clear();
  draining_ = false;
}

void Delegate::handle_user_event(Env& env, serf::LamportTime ltime, const serf::UserEvent& event) {
  const auto* p = dynamic_cast<const ConsulEventPayload*>(event.payload.get());
  if (!p || !p->name.starts_with(kConsulEventPrefix)) return;  // only consul: events
  if (p->name == kNewLeaderEvent) {
    hooks_.server_up(env);
  } else if (is_user_event(p->name) && p->event) {
    UserEvent ev = *p->event;
    ev.name = std::string(raw_user_event_name(p->name));
    ev.ltime = ltime;
    hooks_.user_event(env, ev);
  }
}

}  // namespace core::agent

#include "core/agent/rpc.hpp"

#include <type_traits>

namespace core::agent {

const char* type_name(uint16_t type) {
  switch (type) {
    case kRpcRequest: return "rpc.request";
    case kRpcResponse: return "rpc.response";
    case kProbe: return "agent.probe";
    case kProbeReply: return "agent.probe_reply";
    default: return nullptr;
  }
}

const char* method_name(Method m) {
  switch (m) {
    case Method::kCatalogRegister: return "Catalog.Register";
    case Method::kCatalogDeregister: return "Catalog.Deregister";
    case Method::kCatalogNodeServices: return "Catalog.NodeServices";
    case Method::kHealthNodeChecks: return "Health.NodeChecks";
    case Method::kKvsApply: return "KVS.Apply";
    case Method::kKvsGet: return "KVS.Get";
    case Method::kInternalEventFire: return "Internal.EventFire";
    case Method::kStatusLeader: return "Status.Leader";
    case Method::kStatusPeers: return "Status.Peers";
    case Method::kStatusPing: return "Status.Ping";
    case Method::kSnapshotSave: return "Snapshot.Save";
    case Method::kSnapshotRestore: return "Snapshot.Restore";
  }
  return "unknown";
}

bool is_read(Method m) {
  switch (m) {
    case Method::kCatalogRegister:
    case Method::kCatalogDeregister:
    case Method::kKvsApply:
    case Method::kSnapshotRestore: return false;
    default: return true;  // Internal.EventFire too: EventFireRequest embeds QueryOptions
  }
}

bool forwards(Method m) {
  return m != Method::kStatusLeader && m != Method::kStatusPeers && m != Method::kStatusPing;
}

const char* read_mode_name(ReadMode m) {
  switch (m) {
    case ReadMode::kDefault: return "default";
    case ReadMode::kConsistent: return "consistent";
    case ReadMode::kStale: return "stale";
  }
  return "unknown";
}

namespace {

// Rough msgpack sizes: a map header, a short key and a value per field.
constexpr uint32_t kHeader = 24;  // RPC header {ServiceMethod, Seq, Error} and framing
uint32_t str(const std::string& s) { return 2 + static_cast<uint32_t>(s.size()); }
uint32_t field(uint32_t value_bytes) { return 8 + value_bytes; }

uint32_t node_bytes(const std::string& node, const std::string& id) { return field(str(node)) + field(str(id)) + field(5); }

uint32_t service_bytes(const catalog::Service& s) {
  uint32_t b = field(str(s.id)) + field(str(s.name)) + field(3) + field(16);
  for (const std::string& t : s.tags) b += str(t);
  return b;
}

uint32_t check_bytes(const catalog::Check& c) {
  return field(str(c.node)) + field(str(c.id)) + field(str(c.name)) + field(9) + field(str(c.output)) +
         field(str(c.service_id)) + field(str(c.service_name)) + field(16);
}

uint32_t args_bytes(const Args& a) {
  return std::visit(
      [](const auto& v) -> uint32_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, catalog::RegisterRequest>) {
          uint32_t b = node_bytes(v.node, v.node_id) + field(1);
          if (v.service) b += field(service_bytes(*v.service));
          for (const catalog::Check& c : v.checks) b += check_bytes(c);
          return b;
        } else if constexpr (std::is_same_v<T, catalog::DeregisterRequest>) {
          return field(str(v.node)) + field(str(v.service_id)) + field(str(v.check_id));
        } else if constexpr (std::is_same_v<T, catalog::KvsRequest>) {
          return field(4) + field(str(v.entry.key)) + field(str(v.entry.value)) + field(9) + field(9);
        } else if constexpr (std::is_same_v<T, NodeQuery>) {
          return field(str(v.node));
        } else if constexpr (std::is_same_v<T, KeyQuery>) {
          return field(str(v.key));
        } else if constexpr (std::is_same_v<T, EventFireArgs>) {
          return v.event ? field(str(v.event->name)) + field(static_cast<uint32_t>(v.event->payload_size) + 80) : 0;
        } else if constexpr (std::is_same_v<T, RestoreArgs>) {
          return v.snapshot ? field(static_cast<uint32_t>(v.snapshot->size())) : 0;
        } else {
          return 0;
        }
      },
      a);
}

uint32_t reply_bytes(const Reply& r) {
  return std::visit(
      [](const auto& v) -> uint32_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::optional<catalog::NodeServices>>) {
          if (!v) return 1;
          uint32_t b = node_bytes(v->node.name, v->node.id);
          for (const catalog::Service& s : v->services) b += service_bytes(s);
          return b;
        } else if constexpr (std::is_same_v<T, std::vector<catalog::Check>>) {
          uint32_t b = 2;
          for (const catalog::Check& c : v) b += check_bytes(c);
          return b;
        } else if constexpr (std::is_same_v<T, std::optional<catalog::KvEntry>>) {
          return v ? field(str(v->key)) + field(str(v->value)) + 4 * field(9) : 1;
        } else if constexpr (std::is_same_v<T, Peers>) {
          return 2 + 16 * static_cast<uint32_t>(v.servers.size());
        } else if constexpr (std::is_same_v<T, SnapshotReply>) {
          return v.snapshot ? field(static_cast<uint32_t>(v.snapshot->size())) : 0;
        } else {
          return 4;
        }
      },
      r);
}

template <class Body>
Message wrap(NodeId to, uint16_t type, uint32_t bytes, Body&& body) {
  Message m;
  m.to = to;
  m.type = type;
  m.stream = true;
  m.size_bytes = bytes;
  auto msg = std::make_shared<AgentMsg>();
  msg->body = std::forward<Body>(body);
  m.body = std::shared_ptr<const AgentMsg>(std::move(msg));
  return m;
}

}  // namespace

uint32_t request_bytes(const RpcRequest& req) {
  return kHeader + static_cast<uint32_t>(std::char_traits<char>::length(method_name(req.method))) + field(str(req.datacenter)) +
         field(2) + args_bytes(req.args);
}

uint32_t response_bytes(const RpcResponse& resp) {
  return kHeader + (resp.ok ? 0 : str(resp.error_text)) + 3 * field(9) + reply_bytes(resp.reply);
}

Message make_message(NodeId to, RpcRequest req) {
  const uint32_t bytes = request_bytes(req);
  return wrap(to, kRpcRequest, bytes, std::move(req));
}

Message make_message(NodeId to, RpcResponse resp) {
  const uint32_t bytes = response_bytes(resp);
  return wrap(to, kRpcResponse, bytes, std::move(resp));
}

Message make_message(NodeId to, Probe p) {
  // A TCP handshake or an HTTP GET with its headers.
  const uint32_t bytes = p.http ? 120 + static_cast<uint32_t>(p.service.size()) : 60;
  return wrap(to, kProbe, bytes, std::move(p));
}

Message make_message(NodeId to, ProbeReply p) { return wrap(to, kProbeReply, 60, std::move(p)); }

const AgentMsg* agent_body(const Message& msg) {
  const auto* boxed = std::get_if<std::shared_ptr<const AgentMsg>>(&msg.body);
  return boxed ? boxed->get() : nullptr;
}

RpcResponse rpc_error(uint64_t id, RpcError code, std::string text) {
  RpcResponse r;
  r.id = id;
  r.ok = false;
  r.error = code;
  r.error_text = std::move(text);
  return r;
}

}  // namespace core::agent

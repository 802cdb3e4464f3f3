#include "core/catalog/commands.hpp"

#include "core/catalog/codec.hpp"

namespace core::catalog {

namespace {

// Type bytes: structs.RegisterRequestType = 0, DeregisterRequestType = 1,
// KVSRequestType = 2, TombstoneRequestType = 4.
// RestoreRequest has no Consul type (restores go through raft.Restore).
enum : uint8_t { kTypeRegister = 0, kTypeDeregister = 1, kTypeKvs = 2, kTypeTombstone = 4, kTypeRestore = 0x7F };

struct EncodeVisitor {
  Writer& w;
  void operator()(const RegisterRequest& r) const {
    w.u8(kTypeRegister);
    w.str(r.node);
    w.str(r.node_id);
    w.u64(r.address);
    w.boolean(r.skip_node_update);
    w.boolean(r.service.has_value());
    if (r.service) w.service(*r.service, false);
    w.u64(r.checks.size());
    for (const Check& c : r.checks) w.check(c, false);
  }
  void operator()(const DeregisterRequest& r) const {
    w.u8(kTypeDeregister);
    w.str(r.node);
    w.str(r.service_id);
    w.str(r.check_id);
  }
  void operator()(const KvsRequest& r) const {
    w.u8(kTypeKvs);
    w.u8(static_cast<uint8_t>(r.op));
    w.kv(r.entry, false);
  }
  void operator()(const TombstoneRequest& r) const {
    w.u8(kTypeTombstone);
    w.u64(r.reap_index);
  }
  void operator()(const RestoreRequest& r) const {
    w.u8(kTypeRestore);
    w.str(r.snapshot);
  }
};

}  // namespace

std::string encode(const Command& c) {
  Writer w;
  w.u8(kEncodingVersion);
  std::visit(EncodeVisitor{w}, c);
  return w.take();
}

Decoded decode(std::string_view bytes) {
  Reader r(bytes);
  const uint8_t version = r.u8();
  if (r.ok() && version != kEncodingVersion) r.fail("unknown encoding version");
  const uint8_t type = r.u8();
  std::optional<Command> out;
  if (r.ok()) {
    switch (type) {
      case kTypeRegister: {
        RegisterRequest q;
        q.node = r.str();
        q.node_id = r.str();
        q.address = r.u32();
        q.skip_node_update = r.boolean();
        if (r.boolean()) q.service = r.service(false);
        const uint64_t n = r.count();
        q.checks.reserve(n);
        for (uint64_t i = 0; i < n && r.ok(); ++i) q.checks.push_back(r.check(false));
        out = std::move(q);
        break;
      }
      case kTypeDeregister: {
        DeregisterRequest q;
        q.node = r.str();
        q.service_id = r.str();
        q.check_id = r.str();
        out = std::move(q);
        break;
      }
      case kTypeKvs: {
        KvsRequest q;
        const uint8_t op = r.u8();
        if (op < static_cast<uint8_t>(KvOp::kSet) || op > static_cast<uint8_t>(KvOp::kDeleteTree)) {
          r.fail("unknown KVS operation");
        }
        q.op = static_cast<KvOp>(op);
        q.entry = r.kv(false);
        out = std::move(q);
        break;
      }
      case kTypeTombstone: {
        TombstoneRequest q;
        q.reap_index = r.u64();
        out = q;
        break;
      }
      case kTypeRestore: {
        RestoreRequest q;
        q.snapshot = r.str();
        out = std::move(q);
        break;
      }
      default:
        r.fail("unknown command type");
    }
  }
  r.finish();
  if (!r.ok()) return Decoded{std::nullopt, r.error()};
  return Decoded{std::move(out), {}};
}

std::string ApplyResult::encode() const {
  switch (code) {
    case kOk: return "ok";
    case kFalse: return "false";
    case kError: return "error " + error;
  }
  return "error ?";
}

ApplyResult ApplyResult::decode(std::string_view text) {
  if (text == "ok") return ok();
  if (text == "false") return cas_failed();
  if (text.starts_with("error ")) return failure(std::string(text.substr(6)));
  return failure("unparseable result: " + std::string(text));
}

}  // namespace core::catalog

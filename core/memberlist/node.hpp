// A host that runs memberlist alone on the serf-lan port, without serf: for
// tests and for SWIM/Lifeguard experiments without the layer above.
//
// Ownership: the host owns the node; the node owns its Memberlist.
#pragma once

#include <memory>
#include <vector>

#include "core/env.hpp"
#include "core/memberlist/memberlist.hpp"

namespace core::memberlist {

class MemberlistNode final : public Node, private Owner {
 public:
  // `known`: members known at boot (nullptr or empty: only itself);
  // `join`: members to join at boot (a cold start).
  MemberlistNode(NodeId self, uint32_t capacity, const Config& config,
                 std::shared_ptr<const std::vector<NodeId>> known, std::vector<NodeId> join = {})
      : ml_(self, capacity, config, Delegates{nullptr, nullptr, nullptr, this}),
        known_(std::move(known)),
        join_(std::move(join)) {}

  void start(Env& env) override {
    Env& e = env.on_port(Port::kSerfLan);
    static const std::vector<NodeId> none;
    ml_.start(e, known_ ? *known_ : none);
    if (!join_.empty()) ml_.join(e, join_, ++joins_started_);
  }
  void on_message(Env& env, const Message& msg) override { ml_.on_message(env, msg); }
  void on_timer(Env& env, uint64_t what) override { ml_.on_timer(env, what); }

  Memberlist& memberlist() { return ml_; }
  const Memberlist& memberlist() const { return ml_; }
  uint32_t joins_done() const { return joins_done_; }
  uint32_t last_join_contacted() const { return last_join_contacted_; }
  bool left() const { return left_; }

 private:
  void join_done(Env&, uint32_t /*join_id*/, uint32_t contacted) override {
    ++joins_done_;
    last_join_contacted_ = contacted;
  }
  void leave_done(Env&, bool) override { left_ = true; }

  Memberlist ml_;
  std::shared_ptr<const std::vector<NodeId>> known_;
  std::vector<NodeId> join_;
  uint32_t joins_done_ = 0;
  uint32_t joins_started_ = 0;
  uint32_t last_join_contacted_ = 0;
  bool left_ = false;
};

}  // namespace core::memberlist

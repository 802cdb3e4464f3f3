// The interfaces through which memberlist talks to the layer above it (serf),
// as memberlist v0.2.2's delegate.go, event_delegate.go and ping_delegate.go
// define them: in-process calls, never simulated messages. Every call gets
// the Env of memberlist's port (the caller's component shares it), valid for
// the call only.
//
// Deviation: memberlist's Join and Leave block their caller; here they are
// asynchronous (a simulated node never blocks), and Owner::join_done /
// Owner::leave_done report their outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/env.hpp"
#include "core/memberlist/wire.hpp"

namespace core::memberlist {

// memberlist.Delegate.
class Delegate {
 public:
  virtual ~Delegate() = default;
  // NodeMeta: the size of the local node's meta (serf: its encoded tags),
  // carried in every alive message about it.
  virtual uint32_t node_meta_bytes() = 0;
  // NotifyMsg: a user message piggybacked on or gossiped in a packet.
  virtual void notify_msg(Env& env, const UserMsg& msg) = 0;
  // GetBroadcasts: user messages to piggyback, each costing `overhead` +
  // its Item's bytes, within `limit` bytes. Items are of type kUser.
  virtual std::vector<ItemPtr> get_broadcasts(Env& env, uint32_t overhead, uint32_t limit) = 0;
  // Whether get_broadcasts could return anything (its queues are not all
  // empty). Not memberlist's: it lets the gossip ticker skip a round with
  // nothing to send without drawing targets.
  virtual bool has_broadcasts() const { return true; }
  // LocalState: the delegate's state for a push/pull (nullptr: none).
  virtual std::shared_ptr<const UserMsg> local_state(Env& env, bool join) = 0;
  // MergeRemoteState: the remote side's LocalState from a push/pull.
  virtual void merge_remote_state(Env& env, const UserMsg& state, bool join) = 0;
};

// memberlist.EventDelegate.
class EventDelegate {
 public:
  virtual ~EventDelegate() = default;
  virtual void notify_join(Env& env, NodeId node) = 0;
  // A node left (voluntarily: `left` true) or was declared dead.
  virtual void notify_leave(Env& env, NodeId node, bool left) = 0;
  virtual void notify_update(Env& env, NodeId node) = 0;
};

// memberlist.PingDelegate (serf feeds its coordinate client from it).
class PingDelegate {
 public:
  virtual ~PingDelegate() = default;
  // AckPayload: what this node attaches to every ack it sends.
  virtual std::shared_ptr<const UserMsg> ack_payload(Env& env) = 0;
  // NotifyPingComplete: a direct probe of `node` was acked after `rtt`;
  // `payload` is the ack's payload (nullptr if none).
  virtual void notify_ping_complete(Env& env, NodeId node, Duration rtt, const UserMsg* payload) = 0;
};

// Completion of the asynchronous calls (see Deviation above).
class Owner {
 public:
  virtual ~Owner() = default;
  // Join `join_id` (the caller's) finished: `contacted` of the requested
  // nodes answered the push/pull within TCPTimeout (memberlist Join's
  // return value). Joins may overlap, as concurrent Join calls do.
  virtual void join_done(Env& env, uint32_t join_id, uint32_t contacted) = 0;
  // Leave finished: the leave broadcast retired, or the timeout passed
  // (`timed_out`).
  virtual void leave_done(Env& env, bool timed_out) = 0;
};

struct Delegates {
  Delegate* delegate = nullptr;
  EventDelegate* events = nullptr;
  PingDelegate* ping = nullptr;
  Owner* owner = nullptr;
};

}  // namespace core::memberlist

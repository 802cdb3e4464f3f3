// The narrow seam between protocol code and the world (DESIGN.md, layers).
//
// A protocol node is a state machine: the host calls Node::start once per
// boot (including every restart after a crash, with durable storage kept),
// then Node::on_message / Node::on_timer for each input, one at a time. The
// node acts on the world only through the Env it is handed. A host runs one
// Node; a node that composes several components (an agent: serf, Raft, RPC)
// gives each its own port's Env (on_port), and is handed a message or a
// timer through the Env of the port it belongs to:
//
//   now()        the node's local clock (it may drift or jump; never global time)
//   send()       hands a message to the network; it may be lost, delayed,
//                duplicated or reordered
//   set_timer()  fires on_timer(what) after `delay` of local time, unless
//                cancelled; timers do not survive a crash
//   rng()        the node's own deterministic random stream
//   storage()    durable state that survives a crash
//   sync()       requests that all writes so far become durable. Ordering
//                rule: every message sent after sync() leaves the node only
//                once that sync has completed, so a reply that depends on a
//                persisted term or vote can never overtake the write.
//   record()     a trace record of what the protocol did
//   port()       the component this Env belongs to; what it sends arrives at
//                the same port of the receiver, its timers fire through it
//   on_port(p)   the Env of another component of the same host. Each port
//                has its own random stream and its own sync ordering: a
//                sync() holds back only that port's later sends, while the
//                disk (one Storage per host) completes syncs in order
//
// Nothing here assumes a simulator: a host over real sockets and files could
// implement the same interface.
#pragma once

#include <cstdint>

#include "core/random.hpp"
#include "core/record.hpp"
#include "core/storage.hpp"
#include "core/types.hpp"

namespace core {

struct Message;  // core/message.hpp, the wire registry

// Identifies one armed timer. 0 is never a valid id.
using TimerId = uint64_t;

class Env {
 public:
  virtual ~Env() = default;
  virtual NodeId self() const = 0;
  virtual Time now() const = 0;
  virtual void send(Message&& msg) = 0;
  virtual TimerId set_timer(Duration delay, uint64_t what) = 0;
  // Cancelling a timer that fired or was cancelled already is a no-op.
  virtual void cancel_timer(TimerId id) = 0;
  virtual Rng& rng() = 0;
  virtual Storage& storage() = 0;
  virtual void sync() = 0;
  virtual void record(const Record& r) = 0;
  virtual Port port() const = 0;
  virtual Env& on_port(Port p) = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  virtual void start(Env& env) = 0;
  virtual void on_message(Env& env, const Message& msg) = 0;
  virtual void on_timer(Env& env, uint64_t what) = 0;
};

}  // namespace core

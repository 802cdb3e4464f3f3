// Consul v1.9.0's anti-entropy driver, agent/ae/ae.go StateSyncer (reference
// gossip_ae.md D.1), as an explicit state machine over an Env: Consul's
// goroutine blocked in `select` becomes a wait state, each channel a pending
// flag or an armed timer.
//
//   run()  -> arm the next-full-sync timer, then FULL SYNC
//   FULL SYNC:    paused -> RETRY. Else target.sync_full(): ok -> PARTIAL,
//                 failed -> RETRY, pending -> wait for sync_done().
//   RETRY:        arms 15 s + stagger(15 s). A full-sync trigger -> cancel it,
//                 wait stagger(3 s), -> FULL SYNC. The timer -> reset the
//                 next-full-sync timer, -> FULL SYNC. Partial-sync triggers
//                 stay pending.
//   PARTIAL:      a full-sync trigger -> wait stagger(3 s), reset the
//                 next-full-sync timer, -> FULL SYNC. The next-full-sync timer
//                 -> reset it, -> FULL SYNC. A partial-sync trigger -> if
//                 paused it is dropped, else target.sync_changes() (a failure
//                 is only counted; Consul logs it), -> PARTIAL.
//   stagger(d) = RandomStagger(scale_factor(cluster_size()) * d); the next
//   full sync is due interval + stagger(interval) after each reset.
//
// Triggers are one-slot (ae/trigger.go): repeated triggers before one is
// consumed coalesce. pause()/resume() nest; the resume that ends the last
// pause fires a partial-sync trigger. trigger_sync_full() is what Consul's
// ServerUp does (a client seeing a server of its DC join; every agent on the
// `consul:new-leader` user event).
//
// Timers: `what` carries kTimerTag in its top byte; the host routes fired
// timers with that tag to on_timer(). Randomness only from env.rng(); the
// cluster size (len(LANMembers()) in Consul) is asked of a callback at each
// stagger, as staggerFn does. No clock read.
//
// The work is a SyncTarget's: it may finish at once (kOk / kFailed) or later
// (kPending, then the host calls sync_done()); while it is pending, triggers
// and the next-full-sync timer are held, as Go's channels hold them while the
// goroutine is inside SyncFull/SyncChanges. The target may call back into the
// syncer (a trigger) from inside sync_full()/sync_changes().
//
// Deviation: when several events are ready at once, Go's select picks one at
// random; here the order is fixed: full-sync trigger, next-full-sync timer,
// partial-sync trigger. Deviation: no shutdown channel racing a running sync;
// shutdown() stops the machine at once and a later sync_done() is ignored.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "core/agent/ae_scale.hpp"
#include "core/env.hpp"

namespace core::agent {

class SyncTarget {
 public:
  enum class Result : uint8_t { kOk, kFailed, kPending };
  virtual ~SyncTarget() = default;
  // State.SyncFull: updateSyncState then SyncChanges.
  virtual Result sync_full(Env& env) = 0;
  // State.SyncChanges.
  virtual Result sync_changes(Env& env) = 0;
};

struct SyncerConfig {
  Duration interval = kAeInterval;                  // StateSyncer.Interval (ae_interval)
  Duration server_up_interval = kServerUpInterval;  // serverUpIntv
  Duration retry_fail_interval = kRetryFailInterval;  // retryFailIntv
};

class StateSyncer {
 public:
  static constexpr uint64_t kTimerTag = 0x41;  // 'A'
  enum class TimerKind : uint8_t {
    kNextFull = 1,  // nextFullSyncCh: interval + stagger(interval)
    kRetry = 2,     // retryFailInterval + stagger(retryFailInterval)
    kServerUp = 3,  // stagger(serverUpInterval) after a full-sync trigger
  };
  // Why the last full sync started: the first one at run(), the
  // next-full-sync timer, the retry timer after a failure, or a full-sync
  // trigger (ServerUp) after its stagger.
  enum class FullSyncCause : uint8_t { kStart = 0, kInterval = 1, kRetry = 2, kTriggered = 3 };
  enum class State : uint8_t {
    kIdle = 0,             // before run()
    kFullSyncing,          // inside SyncFull (pending)
    kRetryWait,            // retryFullSync select
    kRetryServerUpWait,    // retryFullSync: the stagger after a full-sync trigger
    kPartialWait,          // partialSync select
    kPartialServerUpWait,  // partialSync: the stagger after a full-sync trigger
    kPartialSyncing,       // inside SyncChanges (pending)
    kDone,                 // after shutdown()
  };

  // `cluster_size` must be set (ae.go panics at Run without it).
  StateSyncer(SyncTarget& target, std::function<uint64_t()> cluster_size, SyncerConfig config = {});

  void run(Env& env);
  void shutdown(Env& env);
  // SyncFull.Trigger (ServerUp).
  void trigger_sync_full(Env& env);
  // SyncChanges.Trigger (State.TriggerSyncChanges).
  void trigger_sync_changes(Env& env);
  void pause() { ++paused_; }
  // True if this ended the last pause (and so fired a partial-sync trigger).
  bool resume(Env& env);
  bool paused() const { return paused_ != 0; }
  // Completes a sync the target answered kPending.
  void sync_done(Env& env, bool ok);

  static bool owns_timer(uint64_t what) { return (what >> 56) == kTimerTag; }
  static TimerKind timer_kind(uint64_t what) { return static_cast<TimerKind>((what >> 48) & 0xFF); }
  void on_timer(Env& env, uint64_t what);

  State state() const { return state_; }
  FullSyncCause last_full_sync_cause() const { return last_cause_; }
  // Counters: syncs started, and how they ended.
  uint64_t full_syncs() const { return full_syncs_; }
  uint64_t full_sync_failures() const { return full_sync_failures_; }
  uint64_t partial_syncs() const { return partial_syncs_; }
  uint64_t partial_sync_failures() const { return partial_sync_failures_; }
  bool sync_full_pending() const { return full_trigger_; }
  bool sync_changes_pending() const { return changes_trigger_; }

 private:
  struct Armed {
    TimerId id = 0;
    uint64_t generation = 0;
    bool armed = false;
  };
  Duration stagger(Env& env, Duration d);
  void arm(Env& env, TimerKind kind, Duration delay);
  void disarm(Env& env, TimerKind kind);
  Armed& slot(TimerKind kind);
  void reset_next_full(Env& env);
  void enter_full_sync(Env& env, FullSyncCause cause);
  void enter_retry(Env& env);
  void full_sync_ended(Env& env, bool ok);
  void advance(Env& env);

  SyncTarget& target_;
  std::function<uint64_t()> cluster_size_;
  SyncerConfig config_;
  State state_ = State::kIdle;
  FullSyncCause last_cause_ = FullSyncCause::kStart;
  uint32_t paused_ = 0;
  bool full_trigger_ = false;     // SyncFull trigger channel
  bool changes_trigger_ = false;  // SyncChanges trigger channel
  bool next_full_due_ = false;    // nextFullSyncCh holds a tick
  bool advancing_ = false;
  Armed next_full_;
  Armed retry_;
  Armed server_up_;
  uint64_t full_syncs_ = 0;
  uint64_t full_sync_failures_ = 0;
  uint64_t partial_syncs_ = 0;
  uint64_t partial_sync_failures_ = 0;
};

}  // namespace core::agent

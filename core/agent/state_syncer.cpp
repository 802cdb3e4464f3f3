#include "core/agent/state_syncer.hpp"

#include "core/check.hpp"

namespace core::agent {

namespace {
constexpr uint64_t kGenerationMask = (uint64_t{1} << 48) - 1;
}  // namespace

StateSyncer::StateSyncer(SyncTarget& target, std::function<uint64_t()> cluster_size, SyncerConfig config)
    : target_(target), cluster_size_(std::move(cluster_size)), config_(config) {
  CORE_CHECK(cluster_size_ != nullptr, "ae: ClusterSize set");
  CORE_CHECK(config_.interval > 0, "ae: ae_interval > 0");
  CORE_CHECK(config_.server_up_interval >= 0 && config_.retry_fail_interval >= 0, "ae: intervals not negative");
}

Duration StateSyncer::stagger(Env& env, Duration d) { return ae_stagger(env.rng(), cluster_size_(), d); }

StateSyncer::Armed& StateSyncer::slot(TimerKind kind) {
  switch (kind) {
    case TimerKind::kNextFull: return next_full_;
    case TimerKind::kRetry: return retry_;
    case TimerKind::kServerUp: return server_up_;
  }
  CORE_CHECK(false, "ae: a known timer kind");
  return next_full_;
}

void StateSyncer::arm(Env& env, TimerKind kind, Duration delay) {
  Armed& a = slot(kind);
  CORE_CHECK(!a.armed, "ae: a timer kind is armed once at a time");
  a.generation = (a.generation + 1) & kGenerationMask;
  const uint64_t what = (kTimerTag << 56) | (static_cast<uint64_t>(kind) << 48) | a.generation;
  a.id = env.set_timer(delay, what);
  a.armed = true;
}

void StateSyncer::disarm(Env& env, TimerKind kind) {
  Armed& a = slot(kind);
  if (!a.armed) return;
  env.cancel_timer(a.id);
  a.armed = false;
}

// resetNextFullSyncCh: a fresh time.After; a tick still in the old channel is lost.
void StateSyncer::reset_next_full(Env& env) {
  disarm(env, TimerKind::kNextFull);
  next_full_due_ = false;
  arm(env, TimerKind::kNextFull, config_.interval + stagger(env, config_.interval));
}

void StateSyncer::run(Env& env) {
  CORE_CHECK(state_ == State::kIdle, "ae: run once");
  reset_next_full(env);
  advancing_ = true;
  enter_full_sync(env, FullSyncCause::kStart);
  advancing_ = false;
  advance(env);
}

void StateSyncer::shutdown(Env& env) {
  disarm(env, TimerKind::kNextFull);
  disarm(env, TimerKind::kRetry);
  disarm(env, TimerKind::kServerUp);
  state_ = State::kDone;
}

void StateSyncer::enter_full_sync(Env& env, FullSyncCause cause) {
  last_cause_ = cause;
  if (paused()) {
    enter_retry(env);
    return;
  }
  ++full_syncs_;
  const SyncTarget::Result r = target_.sync_full(env);
  if (r == SyncTarget::Result::kPending) {
    state_ = State::kFullSyncing;
    return;
  }
  full_sync_ended(env, r == SyncTarget::Result::kOk);
}

void StateSyncer::full_sync_ended(Env& env, bool ok) {
  if (ok) {
    state_ = State::kPartialWait;
  } else {
    ++full_sync_failures_;
    enter_retry(env);
  }
}

// Entering retryFullSync's select evaluates its time.After (and draws its
// stagger) before any ready trigger is taken.
void StateSyncer::enter_retry(Env& env) {
  state_ = State::kRetryWait;
  arm(env, TimerKind::kRetry, config_.retry_fail_interval + stagger(env, config_.retry_fail_interval));
}

void StateSyncer::trigger_sync_full(Env& env) {
  full_trigger_ = true;
  advance(env);
}

void StateSyncer::trigger_sync_changes(Env& env) {
  changes_trigger_ = true;
  advance(env);
}

bool StateSyncer::resume(Env& env) {
  CORE_CHECK(paused_ > 0, "ae: unbalanced pause/resume");
  --paused_;
  if (paused_ != 0) return false;
  trigger_sync_changes(env);
  return true;
}

void StateSyncer::sync_done(Env& env, bool ok) {
  if (state_ == State::kDone) return;
  CORE_CHECK(state_ == State::kFullSyncing || state_ == State::kPartialSyncing, "ae: sync_done with a sync pending");
  advancing_ = true;
  if (state_ == State::kFullSyncing) {
    full_sync_ended(env, ok);
  } else {
    if (!ok) ++partial_sync_failures_;
    state_ = State::kPartialWait;
  }
  advancing_ = false;
  advance(env);
}

void StateSyncer::on_timer(Env& env, uint64_t what) {
  CORE_CHECK(owns_timer(what), "ae: a timer of ours");
  const TimerKind kind = timer_kind(what);
  Armed& a = slot(kind);
  CORE_CHECK(a.armed && a.generation == (what & kGenerationMask), "ae: only an armed timer fires");
  a.armed = false;
  if (state_ == State::kDone) return;
  advancing_ = true;
  switch (kind) {
    case TimerKind::kNextFull:
      next_full_due_ = true;  // consumed by the partialSync select
      break;
    case TimerKind::kRetry:
      CORE_CHECK(state_ == State::kRetryWait, "ae: the retry timer fires while retrying");
      reset_next_full(env);
      enter_full_sync(env, FullSyncCause::kRetry);
      break;
    case TimerKind::kServerUp:
      if (state_ == State::kPartialServerUpWait) {
        reset_next_full(env);
      } else {
        CORE_CHECK(state_ == State::kRetryServerUpWait, "ae: the server-up stagger fires while waiting for it");
      }
      enter_full_sync(env, FullSyncCause::kTriggered);
      break;
  }
  advancing_ = false;
  advance(env);
}

// Takes whatever the current wait state's select would take, until nothing is ready.
void StateSyncer::advance(Env& env) {
  if (advancing_) return;  // re-entered from a target callback: the loop below picks it up
  advancing_ = true;
  for (bool moved = true; moved;) {
    moved = false;
    if (state_ == State::kRetryWait) {
      if (full_trigger_) {
        full_trigger_ = false;
        disarm(env, TimerKind::kRetry);
        state_ = State::kRetryServerUpWait;
        arm(env, TimerKind::kServerUp, stagger(env, config_.server_up_interval));
        moved = true;
      }
    } else if (state_ == State::kPartialWait) {
      moved = true;
      if (full_trigger_) {
        full_trigger_ = false;
        state_ = State::kPartialServerUpWait;
        arm(env, TimerKind::kServerUp, stagger(env, config_.server_up_interval));
      } else if (next_full_due_) {
        reset_next_full(env);
        enter_full_sync(env, FullSyncCause::kInterval);
      } else if (changes_trigger_) {
        changes_trigger_ = false;
        if (!paused()) {
          ++partial_syncs_;
          const SyncTarget::Result r = target_.sync_changes(env);
          if (r == SyncTarget::Result::kPending) {
            state_ = State::kPartialSyncing;
          } else if (r == SyncTarget::Result::kFailed) {
            ++partial_sync_failures_;
          }
        }
      } else {
        moved = false;
      }
    }
  }
  advancing_ = false;
}

}  // namespace core::agent

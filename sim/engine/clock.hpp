// A node's local clock: global virtual time seen through a rate error (drift,
// in parts per billion) and an offset (jumps). Timers of a node are set in
// local time; the simulator maps the local deadline back to the first global
// nanosecond at which the local clock reaches it.
//
// Model: local(g) = base_local + (g - base_global) * (1e9 + drift_ppb) / 1e9,
// rounded toward negative infinity, computed in 128-bit integers so that it is
// exact and identical on every compiler. A drift or jump re-bases the clock at
// the current global time, so the local clock stays continuous under drift
// changes and moves by exactly the jump under a jump. A jump backwards makes
// local time go backwards: this is the clock of a VM migrated or paused by its
// hypervisor, and it is what lease bugs are found with.
#pragma once

#include <cstdint>

#include "core/int128.hpp"
#include "core/types.hpp"

namespace sim {

class LocalClock {
 public:
  bool ideal() const { return drift_ppb_ == 0 && base_local_ == base_global_; }
  int64_t drift_ppb() const { return drift_ppb_; }

  core::Time local(core::Time global) const {
    if (ideal()) return global;
    const core::int128 dg = static_cast<core::int128>(global) - base_global_;
    const core::int128 scaled = dg * (kBillion + drift_ppb_);
    return base_local_ + static_cast<core::Time>(floor_div(scaled, kBillion));
  }

  // The first global time g >= now_global with local(g) >= deadline_local.
  core::Time global_for(core::Time deadline_local, core::Time now_global) const {
    if (ideal()) return deadline_local > now_global ? deadline_local : now_global;
    if (local(now_global) >= deadline_local) return now_global;
    const core::int128 dl = static_cast<core::int128>(deadline_local) - base_local_;
    // Smallest dg with dg * rate >= dl * 1e9, i.e. ceil(dl * 1e9 / rate).
    const core::int128 rate = kBillion + drift_ppb_;
    core::int128 dg = -floor_div(-dl * kBillion, rate);
    core::Time g = base_global_ + static_cast<core::Time>(dg);
    if (g < now_global) g = now_global;
    return g;
  }

  void set_drift(int64_t drift_ppb, core::Time now_global) {
    rebase(now_global);
    drift_ppb_ = drift_ppb;
  }
  void jump(core::Duration by, core::Time now_global) {
    rebase(now_global);
    base_local_ += by;
  }

 private:
  static constexpr int64_t kBillion = 1000000000;
  static core::int128 floor_div(core::int128 a, core::int128 b) {
    core::int128 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  }
  void rebase(core::Time now_global) {
    base_local_ = local(now_global);
    base_global_ = now_global;
  }

  core::Time base_global_ = 0;
  core::Time base_local_ = 0;
  int64_t drift_ppb_ = 0;
};

}  // namespace sim

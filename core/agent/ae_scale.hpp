// The anti-entropy timing formulas of Consul v1.9.0 as pure functions
// (reference gossip_ae.md D.1 and F): the cluster-size scale factor and the
// staggered intervals the StateSyncer arms. No clock, no timer: the caller
// passes its random stream (Env::rng()) and arms its own timers.
//
// Sources: agent/ae/ae.go (scaleThreshold, scaleFactor, serverUpIntv,
// retryFailIntv, staggerFn, resetNextFullSyncCh, retrySyncFullEventFn),
// lib/cluster.go (RandomStagger), agent/config/default.go (ae_interval "1m").
#pragma once

#include <cstdint>

#include "core/random.hpp"
#include "core/types.hpp"

namespace core::agent {

// ae.go scaleThreshold: above this many LAN members the full-sync period
// doubles with every doubling of the cluster.
inline constexpr uint64_t kScaleThreshold = 128;
// agent/config/default.go: ae_interval = "1m" (not user-configurable).
inline constexpr Duration kAeInterval = 60 * kSecond;
// ae.go serverUpIntv: the stagger base before a triggered full sync.
inline constexpr Duration kServerUpInterval = 3 * kSecond;
// ae.go retryFailIntv: the base delay before retrying a failed full sync.
inline constexpr Duration kRetryFailInterval = 15 * kSecond;

// ae.go scaleFactor: 1 for nodes <= 128, else ceil(log2(nodes) - log2(128)) + 1
// (129..256 -> 2, 257..512 -> 3, ..., 10,000 -> 8). Computed in integers
// (ceil(log2 n) = bit_width(n - 1)), which equals Go's float formula for every
// n (log2 of a non-power of two is never within rounding of an integer here).
uint64_t scale_factor(uint64_t nodes);

// lib.RandomStagger: uniform in [0, d); 0 (and no draw) when d == 0.
// Deviation: Consul draws rand.Int63() % d from Go's global source (a slight
// modulo bias); this draws rng.below(d), unbiased, from the caller's stream.
Duration random_stagger(Rng& rng, Duration d);

// ae.go staggerFn: RandomStagger(scaleFactor(nodes) * d), in [0, f*d).
Duration ae_stagger(Rng& rng, uint64_t nodes, Duration d);

// ae.go resetNextFullSyncCh: interval + staggerFn(interval), in
// [interval, interval + f*interval): [60 s, 120 s) for <= 128 nodes,
// [60 s, 540 s) for 10,000 (reference F, "AE full-sync period").
Duration next_full_sync_delay(Rng& rng, uint64_t nodes, Duration interval = kAeInterval);

// ae.go retrySyncFullEventFn: retryFailInterval + staggerFn(retryFailInterval),
// in [15 s, 15 s + f*15 s).
Duration retry_full_sync_delay(Rng& rng, uint64_t nodes, Duration retry = kRetryFailInterval);

}  // namespace core::agent

// The scaling formulas of memberlist v0.2.2 (util.go, suspicion.go; reference
// gossip_ae.md A.5, A.9, A.10): how suspicion timeouts, retransmit limits and
// the push/pull period grow with the cluster. Pure functions of their
// arguments, tested alone (tests/core/memberlist_leaves_test.cpp).
//
// Determinism: the only floating-point operations are IEEE +, -, *, / and
// glibc's log, log10, log2, ceil and floor; the build disables contraction,
// so g++ and clang++ builds give the same integers. Exact powers matter here
// (log10(100) must be 2, log2(64) must be 6): glibc returns exact results
// there, and the tests pin every n up to 100,000.
//
// Go's math.Log is not glibc's (it differs in the last bit for some
// arguments, e.g. ln 3). For the configurations we model (LAN, WAN, local,
// dev; n <= 100,000) every result below is the same integer either way;
// for unusual multipliers remaining_suspicion_time may differ from Go's by
// 1 ms.
//
// `n` is always memberlist's node estimate (numNodes: every node in its list,
// including suspect, not yet reaped dead, and left ones).
#pragma once

#include <cstdint>

#include "core/types.hpp"

namespace core::memberlist {

// Lifeguard's minimum suspicion timeout: suspicion_mult * scale *
// probe_interval with scale = max(1, log10(max(1, n))), the scale truncated
// to thousandths first (memberlist keeps "some precision" that way, and the
// truncation shows: 6.02 s, not 6.0206 s, at n = 32).
Duration suspicion_timeout(uint32_t suspicion_mult, uint32_t n, Duration probe_interval);

// How many times a broadcast is sent: retransmit_mult * ceil(log10(n + 1)),
// i.e. retransmit_mult times the number of decimal digits of n (0 for n = 0).
uint32_t retransmit_limit(uint32_t retransmit_mult, uint32_t n);

// The push/pull period: `interval` up to 32 nodes, then one more interval
// each time n passes a power of two (33..64: x2, 65..128: x3, ...).
Duration push_pull_scale(Duration interval, uint32_t n);

// Lifeguard's decayed suspicion timeout after `confirmations` independent
// confirmations out of `k` wanted, minus the `elapsed` time since the timer
// started: max - (max - min) * ln(c + 1) / ln(k + 1), floored to whole
// milliseconds, never below `min`. The result may be <= 0: the timer is
// overdue and fires at once. Requires k >= 1 (with k = 0 nobody calls it:
// the timer starts at min and takes no confirmations).
Duration remaining_suspicion_time(uint32_t confirmations, uint32_t k, Duration elapsed,
                                  Duration min, Duration max);

}  // namespace core::memberlist

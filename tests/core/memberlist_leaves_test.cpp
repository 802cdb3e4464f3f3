// Unit tests of memberlist's leaf modules, each alone: the scaling formulas
// (util), the Lifeguard suspicion timer, the awareness score and the
// transmit-limited broadcast queue. Expected values come from the reference
// digest's table F (gossip_ae.md) and from closed forms that avoid the
// floating-point path under test: decimal digit counts, bit lengths, and
// exact logarithms computed offline with 50-digit decimal arithmetic.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "core/memberlist/awareness.hpp"
#include "core/memberlist/queue.hpp"
#include "core/memberlist/suspicion.hpp"
#include "core/memberlist/util.hpp"
#include "core/memberlist/wire.hpp"
#include "core/random.hpp"

using core::Duration;
using core::kMillisecond;
using core::kSecond;
using core::NodeId;
using core::Time;
using core::memberlist::Awareness;
using core::memberlist::Item;
using core::memberlist::ItemPtr;
using core::memberlist::push_pull_scale;
using core::memberlist::remaining_suspicion_time;
using core::memberlist::retransmit_limit;
using core::memberlist::Suspicion;
using core::memberlist::suspicion_timeout;
using core::memberlist::TransmitLimitedQueue;

namespace {

constexpr uint32_t kLanSuspicionMult = 4;
constexpr uint32_t kLanRetransmitMult = 4;
constexpr Duration kLanProbe = 1 * kSecond;
constexpr Duration kLanPushPull = 30 * kSecond;
constexpr Duration kMaxMult = 6;  // SuspicionMaxTimeoutMult, LAN and WAN

uint32_t decimal_digits(uint32_t n) {
  uint32_t d = 0;
  for (; n != 0; n /= 10) ++d;
  return d;
}

// One row of table F (LAN defaults), in milliseconds and plain counts.
struct FRow {
  uint32_t n;
  int64_t min_ms;
  int64_t max_ms;
  int64_t one_confirm_ms;  // the digest's rounded figure, to 10 ms
  uint32_t retransmit;
  int64_t push_pull_s;
};
// n = 3 has k = 0 in memberlist (n - 2 < 2); its "after 1 confirm" is Min.
constexpr FRow kTableF[] = {
    {3, 4000, 24000, 4000, 4, 30},          {10, 4000, 24000, 11380, 8, 30},
    {32, 6020, 36120, 17130, 8, 30},        {50, 6790, 40750, 19330, 8, 60},
    {100, 8000, 48000, 22760, 12, 90},      {129, 8440, 50640, 24010, 12, 120},
    {500, 10790, 64750, 30710, 12, 150},    {1000, 12000, 72000, 34140, 16, 180},
    {10000, 16000, 96000, 45530, 20, 300},
};

// Within the digest's two-decimal rounding of seconds.
bool near_ms(Duration d, int64_t rounded_ms) {
  const int64_t ms = d / kMillisecond;
  return ms >= rounded_ms - 5 && ms <= rounded_ms + 5;
}

}  // namespace

// ---------------------------------------------------------------- util: table F

TEST_CASE("memberlist util: table F figures (LAN defaults)", "[memberlist]") {
  for (const FRow& row : kTableF) {
    INFO("n = " << row.n);
    const Duration min = suspicion_timeout(kLanSuspicionMult, row.n, kLanProbe);
    CHECK(near_ms(min, row.min_ms));
    CHECK(near_ms(kMaxMult * min, row.max_ms));
    CHECK(retransmit_limit(kLanRetransmitMult, row.n) == row.retransmit);
    CHECK(push_pull_scale(kLanPushPull, row.n) == row.push_pull_s * kSecond);
    if (row.n - 2 >= 2) {
      CHECK(near_ms(remaining_suspicion_time(1, 2, 0, min, kMaxMult * min), row.one_confirm_ms));
    }
  }
  // The exact values behind the rounded ones (the scale truncated to 1/1000).
  CHECK(suspicion_timeout(4, 32, kLanProbe) == 6020 * kMillisecond);
  CHECK(suspicion_timeout(4, 50, kLanProbe) == 6792 * kMillisecond);
  CHECK(suspicion_timeout(4, 129, kLanProbe) == 8440 * kMillisecond);
  CHECK(suspicion_timeout(4, 500, kLanProbe) == 10792 * kMillisecond);
  CHECK(suspicion_timeout(4, 10000, kLanProbe) == 16 * kSecond);
}

TEST_CASE("memberlist util: WAN suspicion figures (probe 5 s, mult 6)", "[memberlist]") {
  constexpr Duration kWanProbe = 5 * kSecond;
  for (uint32_t n = 0; n <= 10; ++n) CHECK(suspicion_timeout(6, n, kWanProbe) == 30 * kSecond);
  CHECK(suspicion_timeout(6, 11, kWanProbe) == 31230 * kMillisecond);
  CHECK(suspicion_timeout(6, 100, kWanProbe) == 60 * kSecond);
  CHECK(kMaxMult * suspicion_timeout(6, 100, kWanProbe) == 360 * kSecond);
}

// ---------------------------------------------------------------- util: every n

TEST_CASE("memberlist util: retransmit_limit is mult x decimal digits, n = 0..100000", "[memberlist]") {
  for (uint32_t n = 0; n <= 100000; ++n) {
    if (retransmit_limit(4, n) != 4 * decimal_digits(n)) FAIL("n = " << n);
  }
  // The steps: n + 1 an exact power of ten must not round up.
  CHECK(retransmit_limit(4, 9) == 4);
  CHECK(retransmit_limit(4, 10) == 8);
  CHECK(retransmit_limit(4, 99) == 8);
  CHECK(retransmit_limit(4, 100) == 12);
  CHECK(retransmit_limit(4, 999) == 12);
  CHECK(retransmit_limit(4, 1000) == 16);
  CHECK(retransmit_limit(4, 9999) == 16);
  CHECK(retransmit_limit(4, 10000) == 20);
  CHECK(retransmit_limit(3, 100000) == 18);
  CHECK(retransmit_limit(4, 0) == 0);  // an empty cluster: every broadcast goes once
}

TEST_CASE("memberlist util: push_pull_scale follows the bit length of n - 1, n = 0..100000", "[memberlist]") {
  // For n > 32: ceil(log2 n) = bit_width(n - 1), so the multiplier is
  // bit_width(n - 1) - 5 + 1.
  for (uint32_t n = 0; n <= 100000; ++n) {
    const Duration want =
        n <= 32 ? kLanPushPull : (static_cast<Duration>(std::bit_width(n - 1)) - 4) * kLanPushPull;
    if (push_pull_scale(kLanPushPull, n) != want) FAIL("n = " << n);
  }
  // Exact powers of two end their tier (log2 must be exact there).
  CHECK(push_pull_scale(kSecond, 32) == 1 * kSecond);
  CHECK(push_pull_scale(kSecond, 33) == 2 * kSecond);
  CHECK(push_pull_scale(kSecond, 64) == 2 * kSecond);
  CHECK(push_pull_scale(kSecond, 65) == 3 * kSecond);
  CHECK(push_pull_scale(kSecond, 128) == 3 * kSecond);
  CHECK(push_pull_scale(kSecond, 129) == 4 * kSecond);
  CHECK(push_pull_scale(kSecond, 65536) == 12 * kSecond);
  CHECK(push_pull_scale(kSecond, 65537) == 13 * kSecond);
}

TEST_CASE("memberlist util: suspicion_timeout scale against exact logarithms, n = 0..100000", "[memberlist]") {
  // floor(1000 * log10 n), computed offline to 50 digits. It includes the n
  // whose 1000 * log10 n lies closest to an integer below 100,000 (97949,
  // 83946, 97051: just above; 26485, 9977: just below) and exact powers.
  const std::pair<uint32_t, int64_t> exact[] = {
      {0, 1000},      {1, 1000},      {2, 1000},      {9, 1000},      {10, 1000},
      {11, 1041},     {31, 1491},     {32, 1505},     {33, 1518},     {50, 1698},
      {99, 1995},     {100, 2000},    {101, 2004},    {129, 2110},    {500, 2698},
      {999, 2999},    {1000, 3000},   {1001, 3000},   {9977, 3998},   {9999, 3999},
      {10000, 4000},  {10001, 4000},  {26485, 4422},  {83946, 4924},  {97051, 4987},
      {97949, 4991},  {99999, 4999},  {100000, 5000},
  };
  for (const auto& [n, thousandths] : exact) {
    INFO("n = " << n);
    CHECK(suspicion_timeout(1, n, 1000) == thousandths);  // 1 us interval: the scale itself
    CHECK(suspicion_timeout(4, n, kLanProbe) == 4 * thousandths * kMillisecond);
  }
  // Every n against long-double log10: a different function at a different
  // precision. The closest n above is 6.5e-6 from an integer, far beyond
  // either's error, so the two must agree exactly.
  for (uint32_t n = 1; n <= 100000; ++n) {
    const long double scale = std::max(1.0L, std::log10(static_cast<long double>(n)));
    const auto thousandths = static_cast<int64_t>(std::floor(scale * 1000.0L));
    if (suspicion_timeout(4, n, kLanProbe) != 4 * thousandths * kMillisecond) FAIL("n = " << n);
  }
}

TEST_CASE("memberlist util: remaining_suspicion_time decays, floors to ms, clamps at min", "[memberlist]") {
  const Duration min = 4 * kSecond;
  const Duration max = 24 * kSecond;
  // 24 - 20 * ln 2 / ln 3 = 11.3814... s
  CHECK(remaining_suspicion_time(1, 2, 0, min, max) == 11381 * kMillisecond);
  CHECK(remaining_suspicion_time(2, 2, 0, min, max) == min);
  CHECK(remaining_suspicion_time(0, 2, 0, min, max) == max);
  CHECK(remaining_suspicion_time(5, 2, 0, min, max) == min);  // past k: never below min
  // The elapsed time is subtracted, and the result may go negative.
  CHECK(remaining_suspicion_time(1, 2, 1 * kSecond, min, max) == 10381 * kMillisecond);
  CHECK(remaining_suspicion_time(1, 2, 11381 * kMillisecond, min, max) == 0);
  CHECK(remaining_suspicion_time(2, 2, 5 * kSecond, min, max) == -1 * kSecond);
  // WAN at n = 100 (min 60 s, max 360 s, k = 4), against 50-digit arithmetic.
  const Duration wmin = 60 * kSecond;
  const Duration wmax = 360 * kSecond;
  CHECK(remaining_suspicion_time(1, 4, 0, wmin, wmax) == 230797 * kMillisecond);
  CHECK(remaining_suspicion_time(2, 4, 0, wmin, wmax) == 155218 * kMillisecond);
  CHECK(remaining_suspicion_time(3, 4, 0, wmin, wmax) == 101594 * kMillisecond);
  CHECK(remaining_suspicion_time(4, 4, 0, wmin, wmax) == wmin);
  // LAN, the exact values behind table F's "after 1 confirm".
  const std::pair<uint32_t, int64_t> one_confirm[] = {
      {10, 11381}, {32, 17129}, {50, 19325}, {100, 22762},
      {129, 24014}, {500, 30707}, {1000, 34144}, {10000, 45525},
  };
  for (const auto& [n, ms] : one_confirm) {
    INFO("n = " << n);
    const Duration lmin = suspicion_timeout(4, n, kLanProbe);
    CHECK(remaining_suspicion_time(1, 2, 0, lmin, kMaxMult * lmin) == ms * kMillisecond);
  }
}

// ---------------------------------------------------------------- suspicion

TEST_CASE("memberlist suspicion: starts at max, table F's one-confirmation column, min at k", "[memberlist]") {
  for (const FRow& row : kTableF) {
    INFO("n = " << row.n);
    const Duration min = suspicion_timeout(4, row.n, kLanProbe);
    const Duration max = kMaxMult * min;
    const Time start = 1000 * kSecond;
    if (row.n - 2 < 2) {  // memberlist's k = 0: Min from the start
      Suspicion s(/*accuser=*/7, /*k=*/0, min, max, start);
      CHECK(near_ms(s.deadline() - start, row.one_confirm_ms));
      continue;
    }
    Suspicion s(/*accuser=*/7, /*k=*/2, min, max, start);
    CHECK(s.deadline() == start + max);
    CHECK(s.confirmations() == 0);
    REQUIRE(s.confirm(3, start));
    CHECK(s.deadline() == start + remaining_suspicion_time(1, 2, 0, min, max));
    CHECK(near_ms(s.deadline() - start, row.one_confirm_ms));
    REQUIRE(s.confirm(9, start + kSecond));
    CHECK(s.deadline() == start + min);
    CHECK(s.confirmations() == 2);
  }
}

TEST_CASE("memberlist suspicion: the accuser and repeated confirmers are not counted", "[memberlist]") {
  const Time start = 50 * kSecond;
  Suspicion s(/*accuser=*/5, /*k=*/4, 4 * kSecond, 24 * kSecond, start);
  CHECK(s.k() == 4);
  CHECK(s.start() == start);
  CHECK(s.min() == 4 * kSecond);
  CHECK(s.max() == 24 * kSecond);
  CHECK_FALSE(s.confirm(5, start + 1));  // our own suspicion, gossiped back
  CHECK(s.confirmations() == 0);
  CHECK(s.deadline() == start + 24 * kSecond);
  // Out of order, so the sorted seen-set's insertion is exercised.
  CHECK(s.confirm(9, start + 1));
  CHECK(s.confirm(2, start + 2));
  const Time after_two = s.deadline();
  CHECK_FALSE(s.confirm(9, start + 3));
  CHECK_FALSE(s.confirm(2, start + 3));
  CHECK_FALSE(s.confirm(5, start + 3));
  CHECK(s.confirmations() == 2);
  CHECK(s.deadline() == after_two);
  CHECK(s.confirm(4, start + 4));
  CHECK(s.confirm(100, start + 5));
  CHECK(s.deadline() == start + 4 * kSecond);
  // k reached: even a new node changes nothing.
  CHECK_FALSE(s.confirm(1, start + 6));
  CHECK(s.confirmations() == 4);
  CHECK(s.deadline() == start + 4 * kSecond);
}

TEST_CASE("memberlist suspicion: k = 0 starts at min and takes no confirmations", "[memberlist]") {
  Suspicion s(/*accuser=*/1, /*k=*/0, 4 * kSecond, 24 * kSecond, /*start=*/10 * kSecond);
  CHECK(s.deadline() == 14 * kSecond);
  CHECK_FALSE(s.confirm(2, 11 * kSecond));
  CHECK(s.confirmations() == 0);
  CHECK(s.deadline() == 14 * kSecond);
}

TEST_CASE("memberlist suspicion: a confirmation after the decayed deadline fires at once", "[memberlist]") {
  const Duration min = 4 * kSecond;
  const Duration max = 24 * kSecond;
  {
    Suspicion s(1, 2, min, max, /*start=*/0);
    const Time now = 12 * kSecond;  // past the one-confirmation timeout (11.381 s)
    CHECK(s.confirm(2, now));
    CHECK(s.deadline() == now);
  }
  {
    Suspicion s(1, 2, min, max, /*start=*/0);
    CHECK(s.confirm(2, 1 * kSecond));
    CHECK(s.deadline() == 11381 * kMillisecond);
    CHECK(s.confirm(3, 5 * kSecond));  // min (4 s) has passed
    CHECK(s.deadline() == 5 * kSecond);
  }
  {
    Suspicion s(1, 2, min, max, /*start=*/0);
    CHECK(s.confirm(2, 11381 * kMillisecond));  // exactly due: remaining 0
    CHECK(s.deadline() == 11381 * kMillisecond);
  }
}

// ---------------------------------------------------------------- awareness

TEST_CASE("memberlist awareness: score clamps to [0, max - 1] and scales by score + 1", "[memberlist]") {
  Awareness a(8);
  CHECK(a.score() == 0);
  CHECK(a.scale(kSecond) == kSecond);
  a.apply_delta(-1);  // a healthy node cannot bank credit
  CHECK(a.score() == 0);
  a.apply_delta(3);
  CHECK(a.score() == 3);
  CHECK(a.scale(500 * kMillisecond) == 2 * kSecond);
  a.apply_delta(100);
  CHECK(a.score() == 7);
  CHECK(a.scale(kSecond) == 8 * kSecond);
  a.apply_delta(-2);
  CHECK(a.score() == 5);
  a.apply_delta(-100);
  CHECK(a.score() == 0);

  Awareness one(1);  // max 1: never scales
  one.apply_delta(5);
  CHECK(one.score() == 0);
  CHECK(one.scale(kSecond) == kSecond);
}

// ---------------------------------------------------------------- queue

namespace {

using Queue = TransmitLimitedQueue;
using Tokens = std::vector<uint64_t>;

// An item tagged by `tag` (stored as its node) so that tests can name it.
ItemPtr item(uint32_t bytes, NodeId tag) {
  auto it = std::make_shared<Item>();
  it->bytes = bytes;
  it->node = tag;
  return it;
}
std::vector<NodeId> tags(const std::vector<ItemPtr>& items) {
  std::vector<NodeId> out;
  for (const ItemPtr& i : items) out.push_back(i->node);
  return out;
}
using Tags = std::vector<NodeId>;
using Counts = std::vector<uint32_t>;

// A cluster size whose retransmit limit with mult 1 is `limit` (1..5).
uint32_t nodes_for_limit(uint32_t limit) {
  uint32_t n = 1;
  for (uint32_t i = 1; i < limit; ++i) n *= 10;
  return n;
}

}  // namespace

TEST_CASE("memberlist queue: order is fewest transmits, then larger, then newest", "[memberlist]") {
  Queue q(/*retransmit_mult=*/4);
  Tokens fin;
  CHECK(q.empty());
  CHECK(q.get_broadcasts(2, 1400, 10, &fin).empty());
  q.queue(item(10, 1), Queue::kUnique, 0, &fin);
  q.queue(item(30, 2), Queue::kUnique, 0, &fin);
  q.queue(item(10, 3), Queue::kUnique, 0, &fin);
  q.queue(item(20, 4), Queue::kUnique, 0, &fin);
  CHECK(q.size() == 4);
  CHECK(tags(q.get_broadcasts(2, 1400, 10, &fin)) == Tags{2, 4, 3, 1});
  CHECK(q.transmits() == Counts{1, 1, 1, 1});
  // A new item goes before everything sent once, however small.
  q.queue(item(1, 5), Queue::kUnique, 0, &fin);
  CHECK(q.transmits() == Counts{0, 1, 1, 1, 1});
  // Budget for two items: the fresh one, then the largest of tier 1.
  CHECK(tags(q.get_broadcasts(0, 31, 10, &fin)) == Tags{5, 2});
  CHECK(q.transmits() == Counts{1, 1, 1, 1, 2});
  CHECK(tags(q.get_broadcasts(0, 1400, 10, &fin)) == Tags{4, 3, 1, 5, 2});
  CHECK(fin.empty());
}

TEST_CASE("memberlist queue: budget fitting counts overhead per item, skips what does not fit", "[memberlist]") {
  Queue q(4);
  Tokens fin;
  q.queue(item(5, 1), Queue::kUnique, 0, &fin);
  q.queue(item(10, 2), Queue::kUnique, 0, &fin);
  q.queue(item(20, 3), Queue::kUnique, 0, &fin);
  // 30 bytes, 2 per item: 20 (22 used), 10 needs 12 > 8 left, 5 needs 7: fits.
  CHECK(tags(q.get_broadcasts(2, 30, 10, &fin)) == Tags{3, 1});
  CHECK(q.transmits() == Counts{0, 1, 1});
  // An exact fit is taken: 10 + 2 == 12.
  CHECK(tags(q.get_broadcasts(2, 12, 10, &fin)) == Tags{2});
  // A budget that leaves nothing after one overhead takes nothing, even with
  // items of every tier waiting.
  CHECK(q.get_broadcasts(2, 2, 10, &fin).empty());
  CHECK(q.get_broadcasts(5, 3, 10, &fin).empty());
  // Nothing fits at all: nothing taken, nothing changed.
  CHECK(q.get_broadcasts(0, 4, 10, &fin).empty());
  CHECK(q.transmits() == Counts{1, 1, 1});
  CHECK(fin.empty());
  // memberlist stops when the bytes left after one more overhead are <= 0,
  // so even an empty item stays out of an exactly full packet.
  Queue z(4);
  z.queue(item(10, 1), Queue::kUnique, 0, &fin);
  z.queue(item(0, 2), Queue::kUnique, 0, &fin);
  CHECK(tags(z.get_broadcasts(1, 12, 10, &fin)) == Tags{1});  // 12 - 11 - 1 = 0 left
  CHECK(tags(z.get_broadcasts(1, 12, 10, &fin)) == Tags{2, 1});
}

TEST_CASE("memberlist queue: items retire at the retransmit limit and report their tokens", "[memberlist]") {
  Queue q(/*retransmit_mult=*/2);  // n = 5: limit 2 * 1 = 2
  Tokens fin;
  q.queue(item(10, 1), Queue::kUnique, 101, &fin);
  q.queue(item(10, 2), Queue::kUnique, 0, &fin);  // no token: retires silently
  CHECK(tags(q.get_broadcasts(0, 1400, 5, &fin)) == Tags{2, 1});
  CHECK(q.size() == 2);
  CHECK(fin.empty());
  CHECK(tags(q.get_broadcasts(0, 1400, 5, &fin)) == Tags{2, 1});
  CHECK(q.empty());
  CHECK(fin == Tokens{101});
}

TEST_CASE("memberlist queue: the limit follows num_nodes at each call", "[memberlist]") {
  Queue q(1);
  Tokens fin;
  q.queue(item(10, 1), Queue::kUnique, 7, &fin);
  CHECK(tags(q.get_broadcasts(0, 1400, 100, &fin)) == Tags{1});  // limit 3
  CHECK(tags(q.get_broadcasts(0, 1400, 100, &fin)) == Tags{1});
  CHECK(q.transmits() == Counts{2});
  // The cluster shrinks: limit 1, already passed -- the next send retires it.
  CHECK(tags(q.get_broadcasts(0, 1400, 9, &fin)) == Tags{1});
  CHECK(q.empty());
  CHECK(fin == Tokens{7});
  // An empty cluster (n = 0, limit 0): every item goes once.
  q.queue(item(10, 2), Queue::kUnique, 8, &fin);
  CHECK(tags(q.get_broadcasts(0, 1400, 0, &fin)) == Tags{2});
  CHECK(fin == Tokens{7, 8});
  // A growing cluster: each item goes retransmit_limit(1, n) times.
  for (uint32_t limit = 1; limit <= 5; ++limit) {
    q.queue(item(10, 3), Queue::kUnique, 0, &fin);
    uint32_t sent = 0;
    while (!q.empty()) {
      sent += static_cast<uint32_t>(q.get_broadcasts(0, 1400, nodes_for_limit(limit), &fin).size());
    }
    CHECK(sent == limit);
  }
}

TEST_CASE("memberlist queue: a named item replaces the queued item of that name", "[memberlist]") {
  Queue q(4);
  Tokens fin;
  q.queue(item(10, 1), /*name=*/42, /*notify=*/11, &fin);
  q.queue(item(10, 2), 43, 12, &fin);
  q.queue(item(10, 3), Queue::kUnique, 13, &fin);
  CHECK(q.size() == 3);
  CHECK(fin.empty());
  q.queue(item(50, 4), 42, 14, &fin);
  CHECK(fin == Tokens{11});
  CHECK(q.size() == 3);
  CHECK(tags(q.get_broadcasts(0, 1400, 10, &fin)) == Tags{4, 3, 2});
  // Replacement works whatever the old item's tier, and without a token.
  q.queue(item(10, 5), 43, 0, &fin);
  CHECK(fin == Tokens{11, 12});
  CHECK(q.transmits() == Counts{0, 1, 1});
  q.queue(item(10, 6), 43, 0, &fin);
  CHECK(fin == Tokens{11, 12});
  CHECK(tags(q.get_broadcasts(0, 1400, 10, &fin)) == Tags{6, 4, 3});
  // Retirement frees the name: nothing is replaced afterwards.
  Queue r(1);
  Tokens rfin;
  r.queue(item(10, 1), 42, 21, &rfin);
  CHECK(tags(r.get_broadcasts(0, 1400, 5, &rfin)) == Tags{1});
  CHECK(rfin == Tokens{21});
  r.queue(item(10, 2), 42, 22, &rfin);
  CHECK(rfin == Tokens{21});
  CHECK(r.size() == 1);
}

TEST_CASE("memberlist queue: unique items are never replaced", "[memberlist]") {
  Queue q(4);
  Tokens fin;
  for (NodeId t = 1; t <= 5; ++t) q.queue(item(10, t), Queue::kUnique, t, &fin);
  q.queue(item(10, 6), /*name=*/1, 6, &fin);  // names and unique items never meet
  CHECK(q.size() == 6);
  CHECK(fin.empty());
  CHECK(tags(q.get_broadcasts(0, 1400, 10, &fin)) == Tags{6, 5, 4, 3, 2, 1});
}

TEST_CASE("memberlist queue: prune keeps the least transmitted; reset drops all", "[memberlist]") {
  Queue q(4);
  Tokens fin;
  q.queue(item(10, 1), Queue::kUnique, 1, &fin);
  q.queue(item(10, 2), 7, 2, &fin);
  CHECK(tags(q.get_broadcasts(0, 1400, 100, &fin)) == Tags{2, 1});
  q.queue(item(10, 3), Queue::kUnique, 3, &fin);
  q.queue(item(20, 4), Queue::kUnique, 0, &fin);
  CHECK(q.transmits() == Counts{0, 0, 1, 1});
  q.prune(5, &fin);  // under the bound: nothing happens
  CHECK(q.size() == 4);
  CHECK(fin.empty());
  // The most transmitted go first; within the tier the smallest, then oldest.
  q.prune(3, &fin);
  CHECK(fin == Tokens{1});
  q.prune(2, &fin);
  CHECK(fin == Tokens{1, 2});
  CHECK(q.transmits() == Counts{0, 0});
  // The pruned named item's name is free again.
  q.queue(item(10, 5), 7, 5, &fin);
  CHECK(fin == Tokens{1, 2});
  CHECK(q.size() == 3);
  q.reset(&fin);  // in queue order: 4 (20 bytes), 5, 3 -- 4 has no token
  CHECK(fin == Tokens{1, 2, 5, 3});
  CHECK(q.empty());
  q.prune(0, &fin);
  CHECK(q.empty());
}

TEST_CASE("memberlist queue: ids restart when the queue empties, as in memberlist", "[memberlist]") {
  Queue q(4);
  Tokens fin;
  q.queue(item(10, 1), Queue::kUnique, 0, &fin);  // id 1
  q.queue(item(10, 2), Queue::kUnique, 0, &fin);  // id 2
  q.queue(item(10, 3), Queue::kUnique, 0, &fin);  // id 3
  // Takes all three: the queue is empty for a moment, so ids restart.
  CHECK(tags(q.get_broadcasts(0, 1400, 100, &fin)) == Tags{3, 2, 1});
  q.queue(item(10, 4), Queue::kUnique, 0, &fin);  // id 1 again
  CHECK(tags(q.get_broadcasts(0, 10, 100, &fin)) == Tags{4});
  // In tier 1 item 4 now ranks by its id 1, after items 3 and 2. (It ties
  // with item 1; memberlist's btree would keep only one of them, we keep
  // both, the later queued first.)
  CHECK(tags(q.get_broadcasts(0, 1400, 100, &fin)) == Tags{3, 2, 4, 1});
  // A replacement that empties the queue restarts ids too, but the
  // replacing item keeps the id stamped before.
  Queue r(4);
  r.queue(item(10, 1), 9, 0, &fin);  // id 1
  r.queue(item(10, 2), 9, 0, &fin);  // id 2, replaces 1: empty, restart
  r.queue(item(10, 3), 8, 0, &fin);  // id 1
  CHECK(tags(r.get_broadcasts(0, 1400, 100, &fin)) == Tags{2, 3});
}

// ---------------------------------------------------------------- queue vs model

namespace {

// The same rules written the slow, obvious way: a vector, sorted on demand,
// walked once in order taking whatever still fits.
class ModelQueue {
 public:
  explicit ModelQueue(uint32_t mult) : mult_(mult) {}

  void queue(ItemPtr it, uint64_t name, uint64_t notify, Tokens* fin) {
    id_gen_ = id_gen_ + 1;
    const int64_t id = id_gen_;
    if (name != Queue::kUnique) {
      for (size_t i = 0; i < v_.size(); ++i) {
        if (v_[i].name != name) continue;
        if (v_[i].notify != 0) fin->push_back(v_[i].notify);
        v_.erase(v_.begin() + static_cast<std::ptrdiff_t>(i));
        if (v_.empty()) id_gen_ = 0;
        break;
      }
    }
    v_.push_back({0, it->bytes, id, ++seq_, std::move(it), name, notify});
  }

  std::vector<ItemPtr> get(uint32_t overhead, uint32_t limit, uint32_t num_nodes, Tokens* fin) {
    sort();
    const uint32_t transmit_limit = mult_ * decimal_digits(num_nodes);
    std::vector<ItemPtr> out;
    std::vector<E> kept;
    std::vector<E> taken;
    int64_t used = 0;
    bool stopped = false;
    for (E& e : v_) {
      const int64_t free = static_cast<int64_t>(limit) - used - overhead;
      if (free <= 0) stopped = true;
      if (!stopped && e.bytes <= free) {
        used += overhead + e.bytes;
        out.push_back(e.item);
        taken.push_back(std::move(e));
      } else {
        kept.push_back(std::move(e));
      }
    }
    if (kept.empty()) id_gen_ = 0;
    for (E& e : taken) {
      if (e.transmits + 1 >= transmit_limit) {
        if (e.notify != 0) fin->push_back(e.notify);
      } else {
        ++e.transmits;
        kept.push_back(std::move(e));
      }
    }
    v_ = std::move(kept);
    return out;
  }

  void prune(size_t max, Tokens* fin) {
    sort();
    while (v_.size() > max) {
      if (v_.back().notify != 0) fin->push_back(v_.back().notify);
      v_.pop_back();
      if (v_.empty()) id_gen_ = 0;
    }
  }

  void reset(Tokens* fin) {
    sort();
    for (const E& e : v_) {
      if (e.notify != 0) fin->push_back(e.notify);
    }
    v_.clear();
    id_gen_ = 0;
  }

  std::vector<uint32_t> transmits() {
    sort();
    std::vector<uint32_t> out;
    for (const E& e : v_) out.push_back(e.transmits);
    return out;
  }
  size_t size() const { return v_.size(); }

 private:
  struct E {
    uint32_t transmits;
    uint32_t bytes;
    int64_t id;
    uint64_t seq;
    ItemPtr item;
    uint64_t name;
    uint64_t notify;
  };
  void sort() {
    std::sort(v_.begin(), v_.end(), [](const E& a, const E& b) {
      // Ascending transmits; descending bytes, id and seq.
      return std::tie(a.transmits, b.bytes, b.id, b.seq) <
             std::tie(b.transmits, a.bytes, a.id, a.seq);
    });
  }

  uint32_t mult_;
  std::vector<E> v_;
  int64_t id_gen_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace

TEST_CASE("memberlist queue: randomized operations agree with a slow reference model", "[memberlist]") {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    INFO("seed " << seed);
    core::Rng rng(0x6d656d6265726c69ull + seed);
    const auto mult = static_cast<uint32_t>(rng.range(1, 4));
    Queue q(mult);
    ModelQueue m(mult);
    Tokens qfin;
    Tokens mfin;
    uint64_t next_token = 1;
    NodeId next_tag = 0;
    for (int op = 0; op < 20000; ++op) {
      INFO("op " << op);
      const uint64_t kind = rng.below(100);
      if (kind < 55) {
        // Few sizes and names, so that ties and replacements are common.
        const auto bytes =
            static_cast<uint32_t>(rng.chance(0.5) ? 10 * rng.range(0, 6) : rng.range(0, 300));
        const uint64_t name = rng.chance(0.5) ? Queue::kUnique : rng.below(24);
        const uint64_t notify = rng.chance(0.3) ? 0 : next_token++;
        ItemPtr it = item(bytes, next_tag++);
        q.queue(it, name, notify, &qfin);
        m.queue(it, name, notify, &mfin);
      } else if (kind < 95) {
        const auto overhead = static_cast<uint32_t>(rng.range(0, 4));
        const uint32_t limits[] = {0, 1, 3, 40, 200, 1400};
        const uint32_t limit =
            rng.chance(0.5) ? limits[rng.below(6)] : static_cast<uint32_t>(rng.range(0, 2000));
        const auto num_nodes = static_cast<uint32_t>(rng.range(0, 20000));
        const std::vector<ItemPtr> got = q.get_broadcasts(overhead, limit, num_nodes, &qfin);
        const std::vector<ItemPtr> want = m.get(overhead, limit, num_nodes, &mfin);
        REQUIRE(got == want);
      } else if (kind < 99) {
        const size_t max = rng.below(q.size() + 2);
        q.prune(max, &qfin);
        m.prune(max, &mfin);
      } else {
        q.reset(&qfin);
        m.reset(&mfin);
      }
      REQUIRE(q.size() == m.size());
      REQUIRE(qfin == mfin);
      if (op % 16 == 0) REQUIRE(q.transmits() == m.transmits());
    }
    CHECK(next_token > 1000);
  }
}

TEST_CASE("memberlist queue: a long queue drains by tiers within budget", "[memberlist]") {
  // 10,000 members' worth of alive messages, gossiped in 1,400-byte packets.
  Queue q(4);
  Tokens fin;
  for (NodeId t = 0; t < 10000; ++t) q.queue(item(60 + t % 40, t), t, t + 1, &fin);
  size_t calls = 0;
  size_t sent = 0;
  while (!q.empty()) {
    const std::vector<ItemPtr> got = q.get_broadcasts(2, 1400, 10000, &fin);
    REQUIRE(!got.empty());
    uint32_t bytes = 0;
    for (const ItemPtr& i : got) bytes += 2 + i->bytes;
    REQUIRE(bytes <= 1400);
    sent += got.size();
    ++calls;
  }
  CHECK(sent == 10000u * 20u);  // each sent retransmit_limit(4, 10000) = 4 x 5 digits times
  CHECK(fin.size() == 10000u);
  CHECK(calls < sent / 10);
}

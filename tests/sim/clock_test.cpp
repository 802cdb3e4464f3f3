// Unit tests of sim::LocalClock: drift in ppb, jumps, and the mapping of a
// local deadline back to the first global nanosecond that reaches it.
#include <catch2/catch.hpp>

#include <initializer_list>

#include "core/random.hpp"
#include "sim/engine/clock.hpp"

using core::kMicrosecond;
using core::kMillisecond;
using core::kSecond;
using sim::LocalClock;

TEST_CASE("clock: an ideal clock is the identity and global_for is max(deadline, now)", "[clock]") {
  LocalClock c;
  CHECK(c.ideal());
  for (core::Time g : {core::Time{0}, core::Time{1}, 123456789 * core::Time{1}, 5 * kSecond, -7 * kMillisecond}) CHECK(c.local(g) == g);
  CHECK(c.global_for(10 * kMillisecond, 0) == 10 * kMillisecond);
  CHECK(c.global_for(10 * kMillisecond, 20 * kMillisecond) == 20 * kMillisecond);
}

TEST_CASE("clock: drift of +100ppm makes local(1s) = 1s + 100us exactly", "[clock]") {
  LocalClock c;
  c.set_drift(100'000, 0);
  CHECK_FALSE(c.ideal());
  CHECK(c.local(kSecond) == kSecond + 100 * kMicrosecond);
  CHECK(c.local(10 * kSecond) == 10 * kSecond + kMillisecond);
  CHECK(c.local(0) == 0);
  c = LocalClock();
  c.set_drift(-100'000, 0);
  CHECK(c.local(kSecond) == kSecond - 100 * kMicrosecond);
}

TEST_CASE("clock: local time rounds toward negative infinity", "[clock]") {
  LocalClock c;
  c.set_drift(500'000'000, 0);  // runs at 1.5x
  CHECK(c.local(1) == 1);       // 1.5 -> 1
  CHECK(c.local(3) == 4);       // 4.5 -> 4
  CHECK(c.local(-1) == -2);     // -1.5 -> -2 (before the base)
}

TEST_CASE("clock: global_for is the first global ns whose local time reaches the deadline", "[clock]") {
  core::Rng rng(2024);
  for (int i = 0; i < 20000; ++i) {
    LocalClock c;
    core::Time now = 0;
    // A few random re-basings: drift changes (both signs) and jumps (both ways).
    const int changes = static_cast<int>(rng.below(4));
    for (int k = 0; k < changes; ++k) {
      now += rng.range(0, 3 * kSecond);
      if (rng.chance(0.5))
        c.set_drift(rng.range(-900'000, 900'000), now);  // up to +-900ppm
      else
        c.jump(rng.range(-2 * kSecond, 2 * kSecond), now);
    }
    if (rng.chance(0.3)) c.set_drift(rng.range(-300'000'000, 300'000'000), now);  // extreme rates too
    now += rng.range(0, kSecond);
    const core::Time deadline = c.local(now) + rng.range(-kMillisecond, 5 * kSecond);
    const core::Time g = c.global_for(deadline, now);
    INFO("case " << i << " drift " << c.drift_ppb() << " now " << now << " deadline " << deadline << " g " << g);
    REQUIRE(g >= now);
    REQUIRE(c.local(g) >= deadline);
    if (g > now) REQUIRE(c.local(g - 1) < deadline);
  }
}

TEST_CASE("clock: a +100ppm clock reaches local 1s at global ceil(1e18 / (1e9 + 1e5))", "[clock]") {
  LocalClock fast, slow;
  fast.set_drift(100'000, 0);
  slow.set_drift(-100'000, 0);
  CHECK(fast.global_for(kSecond, 0) == 999'900'010);    // 999900009.999... rounded up
  CHECK(slow.global_for(kSecond, 0) == 1'000'100'011);  // 1000100010.001... rounded up
}

TEST_CASE("clock: a jump moves local time by exactly the jump, forward or backward", "[clock]") {
  LocalClock c;
  c.set_drift(100'000, 0);
  const core::Time before = c.local(kSecond);
  c.jump(300 * kMillisecond, kSecond);
  CHECK(c.local(kSecond) == before + 300 * kMillisecond);
  // It keeps the rate after the jump.
  CHECK(c.local(2 * kSecond) == before + 300 * kMillisecond + kSecond + 100 * kMicrosecond);
  c.jump(-500 * kMillisecond, 2 * kSecond);
  CHECK(c.local(2 * kSecond) == before + 300 * kMillisecond + kSecond + 100 * kMicrosecond - 500 * kMillisecond);

  // On an ideal clock a jump and its inverse restore the identity.
  LocalClock d;
  d.jump(-kSecond, 5 * kSecond);
  CHECK_FALSE(d.ideal());
  CHECK(d.local(5 * kSecond) == 4 * kSecond);
  CHECK(d.global_for(4 * kSecond + 1, 5 * kSecond) == 5 * kSecond + 1);
  d.jump(kSecond, 6 * kSecond);
  CHECK(d.ideal());
  CHECK(d.local(7 * kSecond) == 7 * kSecond);
}

TEST_CASE("clock: set_drift keeps local time continuous at the change", "[clock]") {
  core::Rng rng(7);
  LocalClock c;
  core::Time now = 0;
  for (int i = 0; i < 1000; ++i) {
    now += rng.range(1, kSecond);
    const core::Time before = c.local(now);
    c.set_drift(rng.range(-1'000'000, 1'000'000), now);
    REQUIRE(c.local(now) == before);
    // ... and monotonic right after it.
    REQUIRE(c.local(now + 1000) >= before);
  }
}

TEST_CASE("clock: global_for never returns a time before now, even for past deadlines", "[clock]") {
  LocalClock c;
  c.set_drift(-200'000, 0);
  CHECK(c.global_for(0, 5 * kSecond) == 5 * kSecond);
  c.jump(10 * kSecond, 5 * kSecond);  // local is far ahead: everything up to it is due now
  CHECK(c.global_for(12 * kSecond, 5 * kSecond) == 5 * kSecond);
}

// Unit tests of core::Storage: visibility, durability bookkeeping, and what
// survives crash(true) (OS crash: unsynced writes lost) and crash(false)
// (process crash: the kernel still writes them).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/storage.hpp"

using core::Storage;

namespace {

// prefix + decimal number. (Not `"lit" + std::to_string(n)`: GCC 12 at -O3
// warns about it with a false -Wrestrict positive, PR 105329.)
std::string numbered(const char* prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}
std::vector<std::string> keys_of(const Storage& s) {
  std::vector<std::string> out;
  for (const auto& [k, v] : s.view()) out.push_back(k);
  return out;
}
std::string value_of(const Storage& s, const std::string& key) {
  const std::string* v = s.get(key);
  return v ? *v : "<absent>";
}
}  // namespace

TEST_CASE("storage: writes are visible at once, before any sync", "[storage]") {
  Storage s;
  CHECK(s.get("a") == nullptr);
  s.put("a", "1");
  CHECK(value_of(s, "a") == "1");
  s.put("a", "2");
  CHECK(value_of(s, "a") == "2");
  s.erase("a");
  CHECK(s.get("a") == nullptr);
  s.erase("never-written");  // erasing an absent key is fine and still a write
  CHECK(s.last_write_seq() == 4);
  CHECK(s.durable_seq() == 0);
  CHECK(s.unsynced_writes() == 4);
}

TEST_CASE("storage: view() is ordered by key", "[storage]") {
  Storage s;
  for (const char* k : {"m", "b", "z", "a", "q"}) s.put(k, "v");
  CHECK(keys_of(s) == std::vector<std::string>{"a", "b", "m", "q", "z"});
}

TEST_CASE("storage: erase_range removes [from, to) only; an empty range is not a write", "[storage]") {
  Storage s;
  for (const char* k : {"a", "b", "c", "d", "e"}) s.put(k, "v");
  s.erase_range("b", "d");
  CHECK(keys_of(s) == std::vector<std::string>{"a", "d", "e"});
  const uint64_t seq = s.last_write_seq();
  CHECK(seq == 6);
  s.erase_range("d", "d");
  s.erase_range("e", "a");
  CHECK(s.last_write_seq() == seq);
  CHECK(keys_of(s) == std::vector<std::string>{"a", "d", "e"});
  s.erase_range("", "zzz");
  CHECK(s.view().empty());
}

TEST_CASE("storage: durable_seq bookkeeping follows mark_durable, clamped and monotonic", "[storage]") {
  Storage s;
  for (int i = 0; i < 5; ++i) s.put(numbered("k", i), "v");
  s.mark_durable(3);
  CHECK(s.durable_seq() == 3);
  CHECK(s.unsynced_writes() == 2);
  s.mark_durable(2);  // never goes back
  CHECK(s.durable_seq() == 3);
  CHECK(s.unsynced_writes() == 2);
  s.mark_durable(100);  // clamped to the newest write
  CHECK(s.durable_seq() == 5);
  CHECK(s.unsynced_writes() == 0);
  s.put("k5", "v");
  CHECK(s.last_write_seq() == 6);
  CHECK(s.durable_seq() == 5);
  CHECK(s.unsynced_writes() == 1);
}

TEST_CASE("storage: crash(true) loses every write after the last mark_durable", "[storage]") {
  Storage s;
  s.put("a", "1");
  s.put("b", "1");
  s.put("c", "1");
  s.mark_durable(s.last_write_seq());
  s.put("a", "2");       // overwrite lost
  s.erase("b");          // erase lost: b comes back
  s.erase_range("c", "d");  // range erase lost: c comes back
  s.put("d", "1");       // new key lost
  REQUIRE(keys_of(s) == std::vector<std::string>{"a", "d"});
  s.crash(true);
  CHECK(keys_of(s) == std::vector<std::string>{"a", "b", "c"});
  CHECK(value_of(s, "a") == "1");
  CHECK(s.last_write_seq() == 3);
  CHECK(s.durable_seq() == 3);
  CHECK(s.unsynced_writes() == 0);
  // Writing goes on from the durable sequence number.
  s.put("e", "1");
  CHECK(s.last_write_seq() == 4);
  s.crash(true);
  CHECK(s.get("e") == nullptr);
}

TEST_CASE("storage: crash(true) with a partial mark_durable keeps exactly the durable prefix", "[storage]") {
  Storage s;
  for (int i = 1; i <= 5; ++i) s.put(numbered("k", i), "v");
  s.mark_durable(3);
  s.crash(true);
  CHECK(keys_of(s) == std::vector<std::string>{"k1", "k2", "k3"});
  CHECK(s.last_write_seq() == 3);
}

TEST_CASE("storage: crash(true) before any sync loses everything", "[storage]") {
  Storage s;
  s.put("a", "1");
  s.crash(true);
  CHECK(s.view().empty());
  CHECK(s.last_write_seq() == 0);
}

TEST_CASE("storage: crash(false) keeps every write and makes it durable", "[storage]") {
  Storage s;
  s.put("a", "1");
  s.mark_durable(1);
  s.put("b", "2");
  s.erase("a");
  s.crash(false);
  CHECK(keys_of(s) == std::vector<std::string>{"b"});
  CHECK(s.durable_seq() == s.last_write_seq());
  CHECK(s.unsynced_writes() == 0);
  // A later OS crash cannot take them away any more.
  s.crash(true);
  CHECK(keys_of(s) == std::vector<std::string>{"b"});
}

// A 128-bit integer for exact intermediate arithmetic on nanoseconds (clock
// scaling, bandwidth delays). g++ and clang++ both provide __int128 on 64-bit
// targets; __extension__ keeps -Wpedantic quiet about it.
#pragma once

namespace core {
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;
}  // namespace core

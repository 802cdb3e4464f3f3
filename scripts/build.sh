#!/usr/bin/env bash
# Configures and builds one flavour of clustersim (idempotent, incremental).
#   scripts/build.sh release-gcc|release-clang|debug-gcc|asan [targets...]
# Build trees live in build/<flavour>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:?usage: build.sh release-gcc|release-clang|debug-gcc|asan [targets...]}
shift
case "$flavour" in
  release-gcc)   cc=gcc;   cxx=g++;     type=Release; extra=() ;;
  release-clang) cc=clang; cxx=clang++; type=Release; extra=() ;;
  debug-gcc)     cc=gcc;   cxx=g++;     type=Debug;   extra=() ;;
  asan)          cc=clang; cxx=clang++; type=Debug;   extra=(-DCLUSTERSIM_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour '$flavour'" >&2; exit 2 ;;
esac
dir="$root/build/$flavour"
mkdir -p "$root/build"
if [ ! -f "$dir/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCLUSTERSIM_WERROR=ON "${extra[@]}" >"$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log" >&2; exit 1; }
fi
# Two jobs: the machines this runs on have two cores.
ninja -C "$dir" -j2 "$@" >&2

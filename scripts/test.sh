#!/usr/bin/env bash
# The whole test suite, from nothing: installs what is missing, builds four
# flavours (g++ Release with -Werror, clang++ Release, g++ Debug, clang++
# Debug with AddressSanitizer + UndefinedBehaviorSanitizer), runs the unit
# tests in Release and under the sanitizers, then the Python suite: malformed
# scenarios, CLI behaviour, the scenario library's expectations, golden trace
# hashes, and the same trace hash across runs, build types and compilers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=/usr/bin/python3   # Debian's interpreter: it has numpy, pytest, matplotlib

bash scripts/setup.sh

echo "== build: release-gcc (warnings are errors)"
bash scripts/build.sh release-gcc
echo "== build: release-clang"
bash scripts/build.sh release-clang clustersim
echo "== build: debug-gcc"
bash scripts/build.sh debug-gcc clustersim
echo "== build: asan (clang, ASan + UBSan)"
bash scripts/build.sh asan core_tests sim_tests

echo "== unit tests (release-gcc)"
(cd build/release-gcc && ctest --output-on-failure)
echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build/asan/core_tests
build/asan/sim_tests

echo "== python suite"
export CLUSTERSIM_BIN="$root/build/release-gcc/clustersim"
export CLUSTERSIM_BIN_CLANG="$root/build/release-clang/clustersim"
export CLUSTERSIM_BIN_DEBUG="$root/build/debug-gcc/clustersim"
export PYTHONPATH="$root/build/release-gcc/python${PYTHONPATH:+:$PYTHONPATH}"   # import clustersim
"$PY" -m pytest -q -p no:cacheprovider tests

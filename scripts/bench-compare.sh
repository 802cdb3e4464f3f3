#!/usr/bin/env bash
# Engine benchmark of the working tree side by side with an earlier commit:
#   scripts/bench-compare.sh REV [N ...]        (default N: 50 2000)
# Builds REV (g++ Release) from `git archive` into build/rev-<sha>, then for
# both workloads and every N runs the two binaries alternately, five times
# each, and prints the best messages per second of each and their ratio
# (after / before). Wall-clock figures move with the machine's load; with
# valgrind installed it also prints the instructions each binary executes
# for 300,000 messages (cachegrind), which do not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:?usage: bench-compare.sh REV [N ...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 2000)
sha=$(git -C "$root" rev-parse --verify --short "$rev^{commit}") || { echo "bench-compare.sh: '$rev' is not a commit" >&2; exit 2; }
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release-gcc clustersim
old_src="$root/build/rev-$sha"
if [ ! -x "$old_src/build/release-gcc/clustersim" ]; then
  rm -rf "$old_src"
  mkdir -p "$old_src"
  git -C "$root" archive "$sha" | tar -x -C "$old_src"
  bash "$old_src/scripts/build.sh" release-gcc clustersim
fi
old="$old_src/build/release-gcc/clustersim"
new="$root/build/release-gcc/clustersim"
rate() {
  "$@" --json | /usr/bin/python3 -c 'import sys,json; print(int(json.load(sys.stdin)["messages_per_second"]))'
}
instr() {  # instructions executed for 300,000 messages, or "-"
  if command -v valgrind >/dev/null; then
    valgrind --tool=cachegrind --cachegrind-out-file=/dev/null "$@" --messages 300000 2>&1 >/dev/null |
      sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' | tr -d ,
  else
    echo "-"
  fi
}
ratio() { /usr/bin/python3 -c "import sys; a,b=sys.argv[1:]; print('-' if '-' in (a,b) else f'{int(b)/int(a):.3f}')" "$1" "$2"; }
echo "before: $sha   after: working tree"
printf "%-5s %6s %12s %12s %7s %14s %14s %7s\n" workload N before/s after/s ratio instr_before instr_after ratio
for w in hb ring; do
  for n in "${sizes[@]}"; do
    bo=0; bn=0
    for _ in 1 2 3 4 5; do
      v=$(rate "$old" bench "$w" --nodes "$n"); [ "$v" -gt "$bo" ] && bo=$v
      v=$(rate "$new" bench "$w" --nodes "$n"); [ "$v" -gt "$bn" ] && bn=$v
    done
    io=$(instr "$old" bench "$w" --nodes "$n")
    in=$(instr "$new" bench "$w" --nodes "$n")
    printf "%-5s %6s %12s %12s %7s %14s %14s %7s\n" "$w" "$n" "$bo" "$bn" "$(ratio "$bo" "$bn")" "$io" "$in" "$(ratio "$io" "$in")"
  done
done

#!/usr/bin/env bash
# Engine benchmark: both WORKLOAD.md workloads at N = 5, 50, 500, 2000 through
# clustersim (best of 3 runs each), side by side with the bare binary-heap
# loop of shared/bench/bare_heap.cpp when it is present, and with WORKLOAD.md's
# SimGrid 3.32 peer when WITH_SIMGRID=1 (installs libsimgrid-dev).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release-gcc clustersim
bin="$root/build/release-gcc/clustersim"
bare_src="$root/../shared/bench/bare_heap.cpp"
bare=""
if [ -f "$bare_src" ]; then
  bare="$root/build/bare_heap"
  g++ -O2 -o "$bare" "$bare_src"
fi
best() {  # best messages/s of 3 runs of a command printing JSON or bare_heap's line
  local m=0 v
  for _ in 1 2 3; do
    v=$("$@" | /usr/bin/python3 -c 'import sys,json,re
t=sys.stdin.read()
m=re.search(r"msgs_per_s=(\d+)", t)
print(int(m.group(1)) if m else int(json.loads(t)["messages_per_second"]))')
    [ "$v" -gt "$m" ] && m=$v
  done
  echo "$m"
}
sg_peer="$root/../shared/bench/simgrid/run-peer.sh"
simgrid() {  # messages/s of the SimGrid peer, or "-"
  if [ "${WITH_SIMGRID:-0}" = 1 ] && [ -f "$sg_peer" ]; then
    bash "$sg_peer" "$1" "$2" 2>/dev/null | sed -n 's/.*msgs_per_run_s=\([0-9]*\).*/\1/p'
  else
    echo "-"
  fi
}
printf "%-5s %6s %14s %14s %9s %14s %9s %10s\n" workload N clustersim/s bare_heap/s vs_bare simgrid/s vs_simgrid bytes/msg
for w in hb ring; do
  for n in 5 50 500 2000; do
    c=$(best "$bin" bench "$w" --nodes "$n" --json)
    bpm=$("$bin" bench "$w" --nodes "$n" --json | /usr/bin/python3 -c 'import sys,json; print(json.load(sys.stdin)["bytes_per_inflight_message"])')
    if [ -n "$bare" ] && [ "$w" = hb ]; then
      b=$(best "$bare" "$n")
      ratio=$(/usr/bin/python3 -c "print(f'{$c/$b:.2f}')")
    else
      b="-"; ratio="-"
    fi
    sg=$(simgrid "$w" "$n")
    if [ "$sg" != "-" ] && [ -n "$sg" ]; then sgr=$(/usr/bin/python3 -c "print(f'{$c/$sg:.1f}x')"); else sg="-"; sgr="-"; fi
    printf "%-5s %6s %14s %14s %9s %14s %9s %10s\n" "$w" "$n" "$c" "$b" "$ratio" "$sg" "$sgr" "$bpm"
  done
done

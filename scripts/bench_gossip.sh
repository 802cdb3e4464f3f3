#!/usr/bin/env bash
# Gossip benchmark: serf over memberlist with Consul 1.9's LAN settings
# (clustersim bench gossip), one process per run so that each peak RSS is
# its own. Prints
#   1. the issue's targets: 1,000 members for 10 virtual minutes; 10,000
#      members for 2 virtual minutes (wall seconds, peak memory);
#   2. cost per virtual second at N = 100, 1,000, 3,000, 10,000 (60 virtual
#      seconds each), with the ratio to N log N normalised at N = 100: a
#      ratio that stays near or below 1 means cost grows no faster than
#      N log N;
#   3. a cold start of 1,000 members through one seed, and how long its
#      join storm takes.
# Takes about two minutes on one core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release-gcc clustersim
bin="$root/build/release-gcc/clustersim"
field() { /usr/bin/python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }
run() { "$bin" bench gossip --json "$@"; }

echo "== targets"
printf "%-8s %10s %12s %14s %16s\n" N virtual wall_s peak_MiB bytes/member
for spec in "1000 600s" "10000 120s"; do
  set -- $spec
  j=$(run --nodes "$1" --virtual "$2")
  printf "%-8s %10s %12.2f %14.0f %16.0f\n" "$1" "$2" "$(echo "$j" | field wall_seconds)" \
    "$(echo "$j" | /usr/bin/python3 -c 'import sys,json; print(json.load(sys.stdin)["peak_rss_bytes"]/2**20)')" \
    "$(echo "$j" | field bytes_per_member)"
done

echo "== cost per virtual second after setup (60 virtual seconds each; setup = building a formed pool, N^2 views)"
printf "%-8s %10s %14s %14s %16s %18s\n" N setup_s wall_per_vs events_per_vs bytes/member ratio_to_NlogN
base=""
for n in 100 1000 3000 10000; do
  j=$(run --nodes "$n" --virtual 60s)
  c=$(echo "$j" | field wall_per_virtual_second)
  e=$(echo "$j" | /usr/bin/python3 -c 'import sys,json; d=json.load(sys.stdin); print(d["events"]/60)')
  b=$(echo "$j" | field bytes_per_member)
  su=$(echo "$j" | field setup_seconds)
  if [ -z "$base" ]; then base=$c; fi
  r=$(/usr/bin/python3 -c "import math; print(f'{($c/$base)/(($n*math.log($n))/(100*math.log(100))):.2f}')")
  printf "%-8s %10.2f %14.5f %14.0f %16.0f %18s\n" "$n" "$su" "$c" "$e" "$b" "$r"
done

echo "== cold start: 1000 members join m0 at boot"
j=$(run --nodes 1000 --virtual 60s --cold)
echo "$j" | /usr/bin/python3 -c 'import sys,json; d=json.load(sys.stdin); print("join storm %.1f s virtual; wall %.1f s; peak %.0f MiB" % (d["join_storm_ns"]/1e9, d["wall_seconds"], d["peak_rss_bytes"]/2**20))'

#!/usr/bin/env python3
"""The overhead of clustersim.sweep per run, against the same runs in a C++ loop.

Runs one short Raft scenario (three servers, a KV load, the leader crashes;
RUNS seeds) four ways, side by side in one process:

  C++ loop            clustersim's native run_many: parse once, then per
                      seed a Runner to the end, its trace hash and its
                      summary (verdicts and metrics, as `run --json` builds
                      it); no Python per run. The baseline.
  C++ loop, no summary  the same without building the summary.
  sweep, 1 job        clustersim.sweep(jobs=1): per run a session, run to
                      the end in slices that check for Ctrl-C, the row with
                      the flattened metrics to Python; the DataFrame at the
                      end.
  sweep, N jobs       the same on every core (local worker processes).

and prints the wall time of each and the ratios to the baseline (the aim:
sweep with one job within 1.2x; with N jobs, below 1 on N > 1 cores). The
trace hashes of all four must agree.

Usage: PYTHONPATH=build/release-gcc/python /usr/bin/python3 scripts/bench_sweep.py [--runs 1000] [--repeat 3]
"""
import argparse
import json
import os
import sys
import time

import clustersim
from clustersim import _native

SCENARIO = {
    "name": "bench: short raft",
    "protocol": "raft",
    "cluster": {"servers": 3},
    "network": {"latency": {"uniform": ["1ms", "3ms"]}},
    "storage": {"sync_latency": {"uniform": ["1ms", "2ms"]}},
    "raft": {"raft_multiplier": 1},
    "workload": {"kv": {"rate_per_s": 50, "keys": 8, "start": "2s", "stop": "5s"}},
    "faults": [{"at": "3s", "crash": "leader"}],
    "expect": [{"always": "raft_safety"}, {"by": "8s", "leader_known_to": "majority"}],
    "until": "8s",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="seeds per way (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings (default 3)")
    args = ap.parse_args()
    if args.runs < 1 or args.repeat < 1:
        ap.error("--runs and --repeat must be positive")
    seeds = list(range(1, args.runs + 1))
    text = json.dumps(SCENARIO)
    cores = os.cpu_count() or 1

    def timed(f):
        best, out = None, None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = f()
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        return best, out

    t_cpp, base = timed(lambda: _native.run_many(text, seeds, True))
    t_bare, bare = timed(lambda: _native.run_many(text, seeds, False))
    hashes = [h for h, _ in base]
    if [h for h, _ in bare] != hashes:
        print("bench_sweep: the C++ loops disagree", file=sys.stderr)
        return 1
    t_one, df_one = timed(lambda: clustersim.sweep(SCENARIO, seeds=seeds, jobs=1, progress=False))
    t_all, df_all = timed(lambda: clustersim.sweep(SCENARIO, seeds=seeds, jobs=cores, progress=False))
    if list(df_one["trace_hash"]) != hashes or list(df_all["trace_hash"]) != hashes:
        print("bench_sweep: the sweeps' trace hashes differ from the C++ loop's", file=sys.stderr)
        return 1
    if not df_one["passed"].all() or not all(p for _, p in base):
        print("bench_sweep: some runs failed their expectations", file=sys.stderr)
        return 1
    print(f"== sweep overhead: {args.runs} runs of a short Raft scenario (3 servers, 8 virtual s), best of {args.repeat}")
    print(f"{'way':<24}{'wall_s':>10}{'per_run_ms':>12}{'ratio_to_cpp':>14}")
    for label, t in [("C++ loop", t_cpp), ("C++ loop, no summary", t_bare), ("sweep, 1 job", t_one),
                     (f"sweep, {cores} jobs", t_all)]:
        print(f"{label:<24}{t:>10.3f}{1000 * t / args.runs:>12.3f}{t / t_cpp:>14.2f}")
    print(f"overhead of sweep per run (1 job): {1000 * (t_one - t_cpp) / args.runs:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

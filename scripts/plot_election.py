#!/usr/bin/env python3
"""Leader-election downtime after a leader crash, as a CDF over many seeds.

Sweeps seeds (clustersim.sweep, on every core) over a 5-server cluster
whose leader crashes at t = 10 s, for three Raft timer settings, and plots the distribution of the crash
interval's downtime_ns (from the crash until a new leader is known to a
majority):

  hashicorp      Consul's raft_multiplier 1 (HT = ET = 1 s), pre-vote and
                 leader stickiness on: the defaults.
  no pre-vote    the same without pre-vote.
  paper          the Raft paper's timer mode (LogCabin, section 9.3):
                 election timeout uniform in [150, 300] ms, heartbeats every
                 75 ms, timer reset on every heartbeat, no pre-vote, no
                 stickiness.

Usage:
  PYTHONPATH=build/release-gcc/python /usr/bin/python3 scripts/plot_election.py
      [--seeds 200] [--out docs/figures/election-downtime.png] [--json OUT.json]
"""
import argparse
import json
import os
import pathlib

import clustersim

ROOT = pathlib.Path(__file__).resolve().parent.parent

COMMON = {
    "protocol": "raft",
    "cluster": {"servers": 5},
    "network": {"latency": {"uniform": ["1ms", "3ms"]}},
    "storage": {"sync_latency": {"uniform": ["1ms", "2ms"]}},
    "faults": [{"at": "10s", "crash": "leader"}],
    "expect": [{"always": "raft_safety"}],
    "until": "20s",
}

SETTINGS = {
    "hashicorp (HT=ET=1s, pre-vote)": {"raft_multiplier": 1},
    "hashicorp without pre-vote": {"raft_multiplier": 1, "pre_vote": False},
    "paper mode, 150-300 ms": {
        "timer_mode": "paper", "heartbeat_timeout": "150ms", "election_timeout": "150ms",
        "election_timeout_max": "300ms", "leader_lease_timeout": "150ms",
        "pre_vote": False, "leader_stickiness": False,
    },
}


def crash_downtime(intervals):
    """The downtime of the leaderless interval the crash caused, in seconds."""
    crash = [i for i in intervals if i["cause"] == "crash"]
    return crash[0]["downtime_ns"] / 1e9


def downtimes(raft, seeds, jobs=None):
    """Crash-to-leader downtime in seconds for seeds 1..seeds, sorted."""
    df = clustersim.sweep(dict(COMMON, name="leader crash", raft=raft), seeds=range(1, seeds + 1), jobs=jobs)
    failed = df[df["error"].notna() | ~df["passed"]]
    if len(failed):
        row = failed.iloc[0]
        raise RuntimeError(f"seed {row['seed']}: {row['error'] or 'expectations failed: ' + str(row['failed'])}")
    return sorted(df["metrics.raft.leaderless_intervals"].map(crash_downtime))


def collect(seeds, jobs=None):
    return {label: downtimes(raft, seeds, jobs) for label, raft in SETTINGS.items()}


def plot(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, values in results.items():
        v = np.asarray(values)
        ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post",
                label=f"{label} (median {np.median(v) * 1000:.0f} ms)")
    ax.axvspan(0.9, 3.0, color="grey", alpha=0.12, label="hashicorp reference: [0.9, 3] x HT")
    ax.set_xscale("log")
    ax.set_xlabel("time without a leader after the leader crashes (s)")
    ax.set_ylabel("fraction of runs")
    ax.set_title(f"Leader election after a crash, 5 servers, {len(next(iter(results.values())))} seeds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)  # never leave a half-written figure behind
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=200, help="runs per setting (default 200)")
    ap.add_argument("--out", default=str(ROOT / "docs/figures/election-downtime.png"), help="PNG to write")
    ap.add_argument("--jobs", type=int, help="worker processes (default: every core)")
    ap.add_argument("--json", help="also write the downtimes as JSON here")
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error("--seeds must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        ap.error("--jobs must be at least 1")
    results = collect(args.seeds, args.jobs)
    plot(results, args.out)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results))
    for label, v in results.items():
        print(f"{label:35s} min {v[0]*1000:7.1f} ms  median {v[len(v)//2]*1000:7.1f} ms  max {v[-1]*1000:7.1f} ms")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

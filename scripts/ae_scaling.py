#!/usr/bin/python3
"""Anti-entropy's full-sync periods against ae.go's scale factor.

    PYTHONPATH=build/release-gcc/python /usr/bin/python3 scripts/ae_scaling.py
        [--sizes 100,200,...] [--minutes M] [--seed S] [--quick]

Consul v1.9.0's StateSyncer (agent/ae/ae.go; reference gossip_ae.md D.1 and
F) arms its next full sync ae_interval + RandomStagger(f x ae_interval) after
the last one, where f is the scale factor of the LAN size n:

    f = 1 for n <= 128, else ceil(log2(n) - log2(128)) + 1

so the periods lie in [60 s, 60 s x (1 + f)) with mean 60 s x (1 + f / 2).

For each size n this generates a quiet consul scenario (one datacenter: 3
servers and n - 3 clients in a formed LAN pool, 1-3 ms LAN, nothing but
the agents' own work) running for --minutes virtual minutes, runs it with
the clustersim module, and reads metrics.consul.anti_entropy
.full_sync_periods: the period between two full syncs whose second one the
next-full-sync timer started, by the scale factor at the time. It prints one
row per size:

    n, f, the expected range and mean, the measured mean, min and max, the
    number of periods, the ratio measured / expected mean

The measured mean is the layer's unbiased mean: only the periods that began
early enough that any length in the range would have ended within the run
(a plain mean over every measured period favours short periods, since a
long one that began late is cut off by the end of the run; it is printed
too, with its count). Min and max are over every measured period.

Exit 1 if any measured mean is more than 5 % away from the expected mean,
any period lies outside the expected range by more than --slack (the time a
sync itself takes: a period runs from one full sync's end to the next's),
a size reports another scale factor than ae.go's, or too few periods were
measured; 2 on bad usage. docs/consul-fidelity.md has the setup and the
figures; tests/test_consul_scaling.py runs --quick.
"""
import argparse
import json
import math
import sys
import time

import clustersim

AE_INTERVAL = 60.0  # seconds: ae_interval, agent/config/default.go
SCALE_THRESHOLD = 128  # ae.go scaleThreshold
SEC = 1e9

DEFAULT_SIZES = [100, 200, 400, 800, 1600]
DEFAULT_MINUTES = 30
QUICK_SIZES = [100, 200, 400, 800]
QUICK_MINUTES = 10
TOLERANCE = 0.05  # of the expected mean
MIN_PERIODS = 100


def scale_factor(n):
    """ae.go scaleFactor, in floating point as Go computes it."""
    if n <= SCALE_THRESHOLD:
        return 1
    return int(math.ceil(math.log2(n) - math.log2(SCALE_THRESHOLD))) + 1


def expected(n):
    f = scale_factor(n)
    return f, AE_INTERVAL, AE_INTERVAL * (1 + f), AE_INTERVAL * (1 + f / 2)


def scenario(n, minutes, seed):
    return {
        "name": f"consul: anti-entropy full-sync periods with {n} agents",
        "description": (f"A quiet datacenter of 3 servers and {n - 3} clients for {minutes} minutes "
                        "(scripts/ae_scaling.py): each agent's full syncs come from its next-full-sync timer, "
                        f"due ae_interval + RandomStagger(f x ae_interval) after the last, f = {scale_factor(n)}."),
        "protocol": "consul",
        "seed": seed,
        "cluster": {"servers": 3, "clients": n - 3},
        "network": {"latency": {"uniform": ["1ms", "3ms"]}},
        "storage": {"sync_latency": {"uniform": ["1ms", "3ms"]}},
        "raft": {"raft_multiplier": 1},
        "expect": [
            {"always": "raft_safety"},
            {"by": f"{minutes}m", "members_reconciled": True},
        ],
        "until": f"{minutes}m",
    }


def run_size(n, minutes, seed):
    t0 = time.monotonic()
    sim = clustersim.Simulation.from_dict(scenario(n, minutes, seed))
    sim.run()
    wall = time.monotonic() - t0
    summary = sim.summary()
    failed = [e for e in summary["expectations"] if not e["pass"]]
    return summary, failed, wall


def measure(sizes, minutes, seed, slack, out=sys.stdout):
    """Runs every size; prints the table; returns (rows, problems)."""
    rows, problems = [], []
    for n in sizes:
        f, lo, hi, mean = expected(n)
        summary, failed, wall = run_size(n, minutes, seed)
        for e in failed:
            problems.append(f"n={n}: expectation {e['name']} failed: {e.get('detail', '')}")
        periods = summary["metrics"]["consul"]["anti_entropy"]["full_sync_periods"]
        others = [p["scale_factor"] for p in periods if p["scale_factor"] != f]
        if others:
            problems.append(f"n={n}: periods measured at scale factors {others}, ae.go's is {f}")
        mine = [p for p in periods if p["scale_factor"] == f]
        if not mine:
            problems.append(f"n={n}: no full-sync period measured at scale factor {f}")
            continue
        p = mine[0]
        measured = p["unbiased_mean_ns"] / SEC
        row = {
            "n": n, "f": f, "expected_min_s": lo, "expected_max_s": hi, "expected_mean_s": mean,
            "measured_mean_s": measured, "min_s": p["period"]["min_ns"] / SEC, "max_s": p["period"]["max_ns"] / SEC,
            "periods": p["unbiased_count"], "ratio": measured / mean if p["unbiased_count"] else float("nan"),
            "all_periods": p["count"], "all_mean_s": p["mean_ns"] / SEC, "wall_s": wall,
            "events": summary["events"],
        }
        rows.append(row)
        if row["periods"] < MIN_PERIODS:
            problems.append(f"n={n}: only {row['periods']} periods for the mean (at least {MIN_PERIODS}): run longer")
        elif abs(row["ratio"] - 1) > TOLERANCE:
            problems.append(f"n={n}: measured mean {measured:.2f} s is {100 * (row['ratio'] - 1):+.1f} % from the "
                            f"expected {mean:.1f} s (tolerance {100 * TOLERANCE:.0f} %)")
        if row["min_s"] < lo - slack or row["max_s"] >= hi + slack:
            problems.append(f"n={n}: periods span [{row['min_s']:.3f} s, {row['max_s']:.3f} s], outside the expected "
                            f"[{lo:.0f} s, {hi:.0f} s) by more than {slack} s")
        print_row(row, out)
    return rows, problems


HEADER = ("| n | f | expected range | expected mean | measured mean | min | max | periods | ratio "
          "| all periods: count, mean | wall |")


def print_header(out):
    print(HEADER, file=out)
    print("|" + "---|" * HEADER.count(" | ") + "---|", file=out)
    out.flush()


def ms(seconds):
    """Seconds with three decimals, truncated (239.9999 s shows as 239.999 s, not 240.000 s)."""
    return f"{math.floor(seconds * 1000) / 1000:.3f} s"


def print_row(r, out):
    print(f"| {r['n']:,} | {r['f']} | [{r['expected_min_s']:.0f} s, {r['expected_max_s']:.0f} s) "
          f"| {r['expected_mean_s']:.1f} s | {r['measured_mean_s']:.2f} s | {ms(r['min_s'])} | {ms(r['max_s'])} "
          f"| {r['periods']:,} | {r['ratio']:.3f} | {r['all_periods']:,}, {r['all_mean_s']:.2f} s | {r['wall_s']:.1f} s |",
          file=out)
    out.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help=f"comma-separated LAN sizes n (default {','.join(map(str, DEFAULT_SIZES))}; "
                                    f"--quick: {','.join(map(str, QUICK_SIZES))})")
    ap.add_argument("--minutes", type=float, help=f"virtual minutes per run (default {DEFAULT_MINUTES}; --quick: {QUICK_MINUTES})")
    ap.add_argument("--seed", type=int, default=1, help="the scenarios' seed (default 1)")
    ap.add_argument("--slack", type=float, default=0.5,
                    help="seconds a period may lie outside the expected range: the syncs' own time (default 0.5)")
    ap.add_argument("--quick", action="store_true", help="small sizes and short runs (for the test suite)")
    args = ap.parse_args(argv)
    try:
        sizes = ([int(s) for s in args.sizes.split(",") if s.strip()] if args.sizes
                 else (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    except ValueError:
        ap.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if not sizes or any(n < 4 or n > 100_000 for n in sizes):
        ap.error("--sizes: every size must be in [4, 100000] (3 servers and at least one client)")
    minutes = args.minutes if args.minutes is not None else (QUICK_MINUTES if args.quick else DEFAULT_MINUTES)
    if minutes <= 0 or minutes > 24 * 60:
        ap.error("--minutes must be in (0, 1440]")
    minutes_text = f"{minutes:g}"

    print(f"anti-entropy full-sync periods: 3 servers + (n - 3) clients, quiet, {minutes_text} virtual minutes, "
          f"seed {args.seed}; ae_interval {AE_INTERVAL:.0f} s")
    print_header(sys.stdout)
    t0 = time.monotonic()
    rows, problems = measure(sizes, minutes_text, args.seed, args.slack)
    print(f"{len(rows)} sizes in {time.monotonic() - t0:.1f} s wall")
    if problems:
        for p in problems:
            print(f"FAIL {p}")
        return 1
    print(f"PASS every measured mean within {100 * TOLERANCE:.0f} % of 60 s x (1 + f/2), every period within "
          f"[60 s, 60 s x (1 + f)) +- {args.slack} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

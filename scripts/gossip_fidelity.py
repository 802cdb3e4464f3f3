#!/usr/bin/python3
"""Fidelity checks of the gossip stack (serf v0.9.5 over memberlist v0.2.2)
against the reference figures of ../shared/reference/gossip_ae.md (C.1 SWIM,
C.2 Lifeguard, B.7 serf's convergence simulator).

    scripts/gossip_fidelity.py [--quick] [--jobs N]

Builds scenarios as dicts, runs them with the clustersim module (PYTHONPATH=
build/release-gcc/python; runs in parallel threads) and prints three
tables, all in virtual time (machine independent), then the wall time:

  a. time to first detection of a crashed member vs SWIM's e/(e-1) periods,
     and SWIM's round-robin worst case (2n-1 periods);
  b. Lifeguard off vs on with slow members: false positives and the
     detection latency of a real crash;
  c. dissemination of a serf user event vs serf's convergence simulator.

docs/gossip-fidelity.md explains the setup and the figures. The functions
here are also used by tests/test_gossip_fidelity.py.
"""
import argparse
import concurrent.futures
import json
import math
import os
import pathlib
import statistics
import sys
import time

import clustersim

ROOT = pathlib.Path(__file__).resolve().parent.parent
T_PROBE = 1.0  # memberlist LAN ProbeInterval, seconds
SEC = 1e9

# ---------------------------------------------------------------- running


class Runner:
    """Runs scenarios (dicts) with the clustersim module, in parallel threads
    (a run releases the interpreter lock)."""

    def __init__(self, jobs=None):
        self.jobs = jobs or os.cpu_count() or 1

    def close(self):
        pass

    @staticmethod
    def _one(scenario, seed, trace):
        # A trace reader names the event types it reads (reader.events): the
        # run keeps only those.
        sim = clustersim.Simulation.from_dict(scenario, seed=seed, trace=list(trace.events) if trace else False)
        sim.run()
        return sim.summary(), (trace(sim.trace_lines()) if trace else None)

    def run_many(self, items):
        """items: list of (scenario, seed, trace reader or None) -> list of (summary, the reader's result)."""
        with concurrent.futures.ThreadPoolExecutor(self.jobs) as ex:
            futs = [ex.submit(self._one, s, seed, tr) for s, seed, tr in items]
            return [f.result() for f in futs]


def pool(n, name="gossip fidelity", **extra):
    """A formed LAN pool of n members (s1-s3, c1..c(n-3)), 1-3 ms LAN."""
    sc = {"name": name, "protocol": "gossip", "cluster": {"servers": 3, "clients": n - 3},
          "network": {"latency": {"uniform": ["1ms", "3ms"]}}}
    sc.update(extra)
    return sc


def node_id(name):
    """Node ids are dense: s1..s3 = 0..2, then c1.. = 3.."""
    return int(name[1:]) - 1 + (3 if name[0] == "c" else 0)


def fmt_s(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


# ---------------------------------------------------------------- a. detection time

CRASH_AT = 10  # seconds; the crashed member is c5 (node id 7)
CRASHED = "c5"


def swim_expected_periods(n):
    """SWIM (C.1): each of the n-1 other members picks a uniformly random target
    each period; P(the crashed member is picked in a period) = 1-(1-1/(n-1))^(n-1);
    the period of the first probe is geometric: mean 1/p -> e/(e-1)."""
    m = n - 1
    return 1.0 / (1.0 - (1.0 - 1.0 / m) ** m)


def rr_expected_periods(n, ticks_done):
    """memberlist (A.3, A.4): round-robin over a shuffled list, probe tickers with
    random phases. Each member's list holds the crashed member at a uniform rank
    r among its m = n-1 others; after `ticks_done` ticks of the first cycle, the
    member probes it in post-crash period r - ticks_done (if r > ticks_done), so
    P(nobody probed it in periods 1..j) = (1 - j/m)^m and E[J] = sum_j of that."""
    m = n - 1
    return sum((1.0 - j / m) ** m for j in range(0, m - ticks_done + 1))


def detection_scenario(n, until=None):
    return pool(n, "fidelity: first detection of a crash",
                faults=[{"at": f"{CRASH_AT}s", "crash": CRASHED}],
                until=until or f"{CRASH_AT + 20}s")


def detection_runs(runner, n, seeds):
    """Per seed: first_suspicion (s) of the one crash. The prober marks the member
    suspect at its probe's deadline, which is the probe's start + ProbeInterval
    (its awareness is 0 in a healthy pool), so W = first_suspicion - T is the time
    from the crash to the start of the first probe of the crashed member, and
    J = ceil(W / T) the post-crash protocol period in which it starts."""
    out = runner.run_many([(detection_scenario(n), s, None) for s in seeds])
    fs = []
    for d, _ in out:
        q = d["metrics"]["memberlist"]["failure_detection"]["first_suspicion"]
        if q["count"] != 1:
            raise RuntimeError(f"n={n}: the crash was not detected and converged (first_suspicion {q})")
        fs.append(q["min_ns"] / SEC)
    return fs


def detection_stats(n, fs):
    w = [x - T_PROBE for x in fs]
    j = [max(1, math.ceil(x / T_PROBE - 1e-12)) for x in w]
    mean_j = statistics.fmean(j)
    se_j = statistics.stdev(j) / math.sqrt(len(j)) if len(j) > 1 else float("nan")
    m = n - 1
    return {
        "n": n, "runs": len(fs),
        "mean_J": mean_j, "se_J": se_j,
        "swim_J": swim_expected_periods(n), "rr_J": rr_expected_periods(n, CRASH_AT),
        "mean_W": statistics.fmean(w), "exp_W": T_PROBE * m / (m + 1),
        "mean_fs": statistics.fmean(fs), "exp_fs": T_PROBE + T_PROBE * m / (m + 1),
        "max_W": max(w), "bound": (2 * n - 1) * T_PROBE,
    }


WORST_N = 50


def worst_case_scenario(n=WORST_N):
    # Without Lifeguard the suspicion timeout is Min = 64 * log10(50) s = 108.7 s:
    # every member keeps probing the (suspect) crashed member for longer than
    # the 2n-1 = 99 periods of the bound, so each member's first probe is seen.
    return pool(n, "fidelity: every member's first probe of a crashed member",
                memberlist={"lifeguard": False, "suspicion_mult": 64},
                faults=[{"at": f"{CRASH_AT}s", "crash": CRASHED}],
                until=f"{CRASH_AT + 2 * n + 2}s")


def first_probes(lines, target=node_id(CRASHED), after=CRASH_AT * SEC):
    """From a trace's lines: per prober, the start of its first probe of
    `target` after `after` (its first failed probe's time - ProbeInterval; no
    Lifeguard, so the probe deadline is unscaled)."""
    first = {}
    for line in lines:
        if '"memberlist.probe_failed"' not in line:
            continue
        e = json.loads(line)
        if e["member"] != target or e["t"] < after:
            continue
        first.setdefault(e["node"], (e["t"] - after) / SEC - T_PROBE)
    return first


first_probes.events = ["memberlist.probe_failed"]


def worst_case_runs(runner, seeds, n=WORST_N):
    out = runner.run_many([(worst_case_scenario(n), s, first_probes) for s in seeds])
    per_member = []
    for _, fp in out:
        if len(fp) != n - 1:
            raise RuntimeError(f"worst case: {len(fp)} of {n - 1} members probed the crashed member")
        per_member.append(fp)
    return per_member


def uniform_worst_prob(n, seeds):
    """If targets were uniformly random (SWIM §3), the chance that in `seeds` runs
    some member waits more than 2n-1 periods to probe the crashed member."""
    m = n - 1
    p_member = (1 - 1 / m) ** (2 * n - 1)
    p_run = 1 - (1 - p_member) ** m
    return 1 - (1 - p_run) ** seeds


def section_a(runner, quick):
    print("a. Time to first detection of a crashed member (SWIM C.1)")
    print("   Formed LAN pool (Consul 1.9 memberlist defaults: ProbeInterval T = 1 s, ProbeTimeout 500 ms),")
    print(f"   1-3 ms LAN, no loss; {CRASHED} crashes at {CRASH_AT} s, one crash per run, one seed per run.")
    print("   Measured: W = first_suspicion - T = crash -> start of the first probe of the crashed member")
    print("   by anyone (the prober marks it suspect at that probe's deadline, start + T), and")
    print("   J = ceil(W/T) = the post-crash protocol period in which that probe starts (SWIM's count).")
    print("   SWIM: J geometric with p = 1-(1-1/(n-1))^(n-1) -> E[J] = e/(e-1) = 1.582 periods.")
    print("   memberlist: round-robin over shuffled lists, random ticker phases ->")
    print("   P(J > j) = (1-j/(n-1))^(n-1), E[J] a little below SWIM's; E[W] = T (n-1)/n (continuous).")
    sizes = [(50, 200), (200, 200)] if quick else [(50, 400), (200, 400), (1000, 200)]
    rows = []
    for n, runs in sizes:
        fs = detection_runs(runner, n, range(1, runs + 1))
        rows.append(detection_stats(n, fs))
    print()
    print("   n     runs  mean J (+-se)   SWIM E[J]  ratio  RR E[J]  ratio | mean W  E[W]   | first_susp E    | max W   (2n-1)T")
    for r in rows:
        print(f"   {r['n']:<5} {r['runs']:<5} {r['mean_J']:.3f} (+-{r['se_J']:.3f})  {r['swim_J']:.3f}      "
              f"{r['mean_J'] / r['swim_J']:.3f}  {r['rr_J']:.3f}    {r['mean_J'] / r['rr_J']:.3f}"
              f" | {r['mean_W']:.3f}  {r['exp_W']:.3f}  | {r['mean_fs']:.3f}  {r['exp_fs']:.3f}"
              f"    | {r['max_W']:.2f} s  {r['bound']:.0f} s")
    print(f"   SWIM's asymptote e/(e-1) = {math.e / (math.e - 1):.4f}")
    seeds = range(1, (5 if quick else 20) + 1)
    per = worst_case_runs(runner, seeds)
    n = WORST_N
    all_first = [v for fp in per for v in fp.values()]
    worst = max(max(fp.values()) for fp in per)
    print()
    print(f"   Worst case (SWIM §4.3 round-robin): n = {n}, no Lifeguard, suspicion_mult 64 (the crashed member")
    print(f"   stays suspect, and probed, for > 2n-1 periods); per member, crash -> start of its own first probe")
    print(f"   of the crashed member (from the trace), {len(per)} runs x {n - 1} members:")
    print(f"   mean {statistics.fmean(all_first):.1f} s, max {worst:.1f} s <= (2n-1)T = {(2 * n - 1) * T_PROBE:.0f} s: "
          f"{'holds' if worst <= (2 * n - 1) * T_PROBE else 'VIOLATED'}")
    print(f"   (with uniformly random targets instead, some member would wait longer than that with "
          f"probability {uniform_worst_prob(n, len(per)):.4f})")
    print()
    return rows, worst


# ---------------------------------------------------------------- b. Lifeguard

SLOW_DELAY = {"pareto": {"min": "10ms", "alpha": 1.2, "cap": "5s"}}
SLOW_COUNT = 5
LG_UNTIL = 300
LG_CRASH_AT = 150


def lifeguard_scenario(n, lifeguard, slow=True, until=LG_UNTIL, crash_at=LG_CRASH_AT):
    faults = []
    if slow:
        faults.append({"at": "5s", "slow": [f"c{i}" for i in range(1, SLOW_COUNT + 1)], "delay": SLOW_DELAY})
    faults.append({"at": f"{crash_at}s", "crash": f"c{n - 3}"})
    return pool(n, "fidelity: Lifeguard and slow members", memberlist={"lifeguard": lifeguard},
                faults=faults, until=f"{until}s")


def fp_split(n):
    """A trace reader: false positives about healthy members (neither slow nor
    the crashed one) and dead declarations of slow members."""
    slow_names = {f"c{i}" for i in range(1, SLOW_COUNT + 1)}
    slow_ids = {node_id(x) for x in slow_names}
    crashed = node_id(f"c{n - 3}")

    def read(lines):
        c = dict(pf_healthy=0, dead_healthy_at_healthy=0, dead_healthy_at_slow=0, dead_slow_at_healthy=0)
        for line in lines:
            if '"memberlist.probe_failed"' in line:
                e = json.loads(line)
                if e["member"] not in slow_ids and e["member"] != crashed:
                    c["pf_healthy"] += 1
            elif '"memberlist.state"' in line and '"state":2' in line:
                e = json.loads(line)
                if e["member"] == crashed:
                    continue
                viewer_slow = e["node"] in slow_names
                if e["member"] in slow_ids:
                    if not viewer_slow:
                        c["dead_slow_at_healthy"] += 1
                elif viewer_slow:
                    c["dead_healthy_at_slow"] += 1
                else:
                    c["dead_healthy_at_healthy"] += 1
        return c
    read.events = ["memberlist.probe_failed", "memberlist.state"]
    return read


def lifeguard_runs(runner, n, seeds, trace=True):
    items = [(lifeguard_scenario(n, lg), s, fp_split(n) if trace else None) for lg in (False, True) for s in seeds]
    out = runner.run_many(items)
    res = {}
    k = 0
    for lg in (False, True):
        acc = dict(member_hours=0.0, suspicions=0, dead_views=0, first_suspicion=[], first_dead=[], all_know=[])
        for _ in seeds:
            d, split = out[k]
            k += 1
            m = d["metrics"]["memberlist"]
            fp = m["false_positives"]
            acc["member_hours"] += fp["member_hours"]
            acc["suspicions"] += fp["suspicions"]
            acc["dead_views"] += fp["dead_views"]
            for key in ("first_suspicion", "first_dead", "all_know"):
                q = m["failure_detection"][key]
                acc[key].append(q["min_ns"] / SEC if q["count"] else None)
            for key, v in (split or {}).items():
                acc[key] = acc.get(key, 0) + v
        res[lg] = acc
    return res


def clean_crash_runs(runner, n, seeds):
    items = [(lifeguard_scenario(n, lg, slow=False, until=40, crash_at=10), s, None) for lg in (False, True) for s in seeds]
    out = runner.run_many(items)
    res = {}
    k = 0
    for lg in (False, True):
        acc = {"first_suspicion": [], "first_dead": [], "all_know": []}
        for _ in seeds:
            m = out[k][0]["metrics"]["memberlist"]
            k += 1
            for key in acc:
                q = m["failure_detection"][key]
                acc[key].append(q["min_ns"] / SEC if q["count"] else None)
        res[lg] = acc
    return res


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return f"{a / b:.1f}x" if b else (f">= {a:.0f}x (0 with Lifeguard)" if a else "-")


def section_b(runner, quick):
    n = 50 if quick else 100
    seeds = list(range(1, (1 if quick else 3) + 1))
    print("b. Lifeguard off vs on with slow members (C.2)")
    print(f"   Formed LAN pool of {n} (Consul 1.9 defaults), 1-3 ms LAN, no loss. From 5 s to the end ({LG_UNTIL} s),")
    print(f"   {SLOW_COUNT} members (c1-c{SLOW_COUNT}) are slow: each message they receive is handled FIFO after the ones")
    print("   before it plus a processing delay ~ Pareto(min 10 ms, alpha 1.2, cap 5 s): mean ~60 ms,")
    print("   P(> 500 ms = ProbeTimeout) ~ 0.9 %, P(> 1 s) ~ 0.4 %: rare stalls that hold up everything")
    print(f"   behind them (timers are not delayed). A healthy member c{n - 3} crashes at {LG_CRASH_AT} s.")
    print(f"   Seeds {seeds[0]}..{seeds[-1]}, counts summed over them; 'healthy' = up, running, reachable.")
    print("   The layer's counts (metrics.memberlist.false_positives) treat slow members as healthy;")
    print("   the split (from the trace) separates the healthy members from the slow ones.")
    res = lifeguard_runs(runner, n, seeds)
    off, on = res[False], res[True]
    mh = off["member_hours"]
    print()
    print("   false positives                                     no Lifeguard      Lifeguard         ratio")

    def row(label, key):
        a, b = off[key], on[key]
        print(f"   {label:<50}  {a:>6} ({a / mh:7.1f}/mh)  {b:>6} ({b / on['member_hours']:6.1f}/mh)  {ratio(a, b)}")
    row("suspicions (failed probes of a healthy member)", "suspicions")
    row("dead views (a healthy member declared dead)", "dead_views")
    print("   split, from the trace:")
    row("  failed probes of non-slow members", "pf_healthy")
    row("  non-slow members dead in a non-slow member's view", "dead_healthy_at_healthy")
    row("  non-slow members dead in a slow member's view", "dead_healthy_at_slow")
    row("  slow members dead in a non-slow member's view", "dead_slow_at_healthy")
    print(f"   ({mh:.2f} member-hours per mode; /mh = per member-hour)")
    clean = clean_crash_runs(runner, n, list(range(1, (3 if quick else 10) + 1)))
    print()
    print(f"   detection of the real crash (medians over seeds, s)   first_suspicion  first_dead  all_know")
    for label, r in (("with slow members, no Lifeguard", off), ("with slow members, Lifeguard", on),
                     ("clean pool, no Lifeguard", clean[False]), ("clean pool, Lifeguard", clean[True])):
        print(f"   {label:<50}  {fmt_s(median_or_none(r['first_suspicion'])):>15}  "
              f"{fmt_s(median_or_none(r['first_dead'])):>10}  {fmt_s(median_or_none(r['all_know'])):>8}")
    print()
    return res, clean


# ---------------------------------------------------------------- c. dissemination

GOSSIP_INTERVAL = 0.2
FANOUT = 3


def model_times(n, loss, thresholds=(50, 90, 99, 99.99)):
    """Serf's convergence simulator (B.7): beta = fanout/N (1-loss) 0.5;
    I(r) = N / (1 + (N+1) e^(-beta N r)); time = first round r (0..100) with
    100 I/N >= threshold, times the gossip interval."""
    beta = FANOUT / n * (1 - loss) * 0.5
    out = {}
    for q in thresholds:
        t = None
        for r in range(0, 101):
            if 100.0 / (1.0 + (n + 1) * math.exp(-beta * n * r)) >= q:
                t = r * GOSSIP_INTERVAL
                break
        out[q] = t
    return out


def dissemination_scenario(n, loss, events, gap):
    faults = [{"at": f"{5 + gap * i}s", "user_event": "s1"} for i in range(events)]
    sc = pool(n, "fidelity: user event dissemination", faults=faults, until=f"{5 + gap * events + 5}s")
    sc["network"]["loss"] = loss
    return sc


def dissemination_run(runner, n, loss, events, gap=5, seed=1):
    d, _ = runner.run_many([(dissemination_scenario(n, loss, events, gap), seed, None)])[0]
    return d["metrics"]["serf"]["user_events"]


def section_c(runner, quick):
    print("c. Dissemination of a serf user event vs serf's convergence simulator (B.7)")
    print("   Formed LAN pool, 1-3 ms LAN, loss on every LAN crossing; s1 sends a user event (64-byte")
    print("   payload) every 5 s from 5 s; times from the send to delivery at 50/90/99/100 % of the members")
    print("   (median over the events; 100 %: max in brackets). Model: 99.99 % stands for 100 %.")
    plan = [(30, 0, 20), (30, 0.1, 20), (30, 0.5, 20), (100, 0, 20), (100, 0.1, 20), (100, 0.5, 20)]
    if quick:
        plan += [(1000, 0, 3)]
    else:
        plan += [(1000, 0, 10), (1000, 0.1, 10), (1000, 0.5, 10), (10000, 0, 1)]
    print()
    print("   N      loss  events(all)  sim 50%  90%    99%    100% [max]       model 50%  90%   99%   99.99%")
    rows = []
    for n, loss, events in plan:
        u = dissemination_run(runner, n, loss, events)
        sim = {}
        for key in ("delivered_to_50pct", "delivered_to_90pct", "delivered_to_99pct", "delivered_to_all"):
            q = u[key]
            sim[key] = (q["p50_ns"] / SEC, q["max_ns"] / SEC) if q["count"] else (None, None)
        model = model_times(n, loss)
        reached = u["delivered_to_all"]["count"]
        rows.append({"n": n, "loss": loss, "events": u["sent"], "all": reached, "sim": sim, "model": model})
        s = sim
        print(f"   {n:<6} {loss:<5} {u['sent']:>3} ({reached:>3})    {fmt_s(s['delivered_to_50pct'][0], 3)}  "
              f"{fmt_s(s['delivered_to_90pct'][0], 3)}  {fmt_s(s['delivered_to_99pct'][0], 3)}  "
              f"{fmt_s(s['delivered_to_all'][0], 3)} [{fmt_s(s['delivered_to_all'][1], 3)}]    "
              f"{fmt_s(model[50], 1):>5}  {fmt_s(model[90], 1):>4}  {fmt_s(model[99], 1):>4}  {fmt_s(model[99.99], 1):>4}")
    print()
    print("   The model is a mean-field logistic epidemic that halves the contact rate (beta N = 1.5 (1-loss)")
    print("   new members per member per 200 ms round) and has no retransmit limit. In serf a member that")
    print("   delivers an event re-queues it at once and its gossip ticker (random phase) sends it to 3 random")
    print("   members within 0-200 ms, one fresh batch per target, and every ping/ack in between carries it")
    print("   too: close to 3 new members per member per round, hence faster than the model at every N.")
    print("   Against that, each member transmits an event at most RetransmitMult*ceil(log10(N+1)) times")
    print("   (N=100: 12), so under heavy loss a few members can miss it on the gossip path; they get it from")
    print("   a later push/pull (serf's state carries the event buffer), tens of seconds later or after the")
    print("   run: those events are the ones missing from 'all' and from the 100 % column.")
    print()
    return rows


# ---------------------------------------------------------------- d. encryption


def encryption_scenario(n, encryption):
    """n members, half of them in a formed pool; the other half join at 5 s at once, so that every
    member's queue holds about n/2 alive messages: dissemination is limited by the packet budget."""
    half = n // 2
    names = [f"s{i}" for i in range(1, 4)] + [f"c{i}" for i in range(1, n - 2)]
    sc = pool(n, "fidelity: mass join with and without gossip encryption",
              memberlist={"encryption": encryption},
              serf={"initial_members": names[:half]},
              faults=[{"at": "5s", "join": names[half:]}], until="65s")
    return sc


def section_d(runner, quick):
    n, seeds = (100, [1, 2]) if quick else (400, [1, 2, 3])
    print("d. Gossip encryption's cost on dissemination")
    print(f"   {n} members, {n // 2} in a formed pool; the other {n // 2} join at 5 s at once. Encryption adds")
    print("   the keyring's framing (29 bytes: version, nonce, GCM tag) to every packet, which comes off the")
    print("   1,400-byte piggyback budget. Join convergence: from the joins until every member sees each joiner")
    print(f"   alive (each run's quantiles over its joiners; the median of them over seeds {seeds}, the max of all).")
    print()
    print("   encryption  join p50   p90     max      mean packet  piggyback fill")
    out = {}
    for enc in (False, True):
        runs = runner.run_many([(encryption_scenario(n, enc), s, None) for s in seeds])
        joins, bytes_, fill = [], [], []
        for d, _ in runs:
            m = d["metrics"]["memberlist"]
            q = m["convergence"]["join"]
            if q["count"]:
                joins.append(q)
            bytes_.append(m["packets"]["mean_bytes"])
            fill.append(m["packets"]["piggyback_fill"])
        p50 = statistics.median(q["p50_ns"] / SEC for q in joins) if joins else None
        p90 = statistics.median(q["p90_ns"] / SEC for q in joins) if joins else None
        mx = max(q["max_ns"] / SEC for q in joins) if joins else None
        out[enc] = (p50, p90, mx)
        print(f"   {'on ' if enc else 'off'}         {fmt_s(p50, 2):>6}  {fmt_s(p90, 2):>6}  {fmt_s(mx, 2):>7}"
              f"      {statistics.mean(bytes_):7.0f} B     {100 * statistics.mean(fill):5.1f} %")
    if out[False][1] and out[True][1]:
        print()
        print(f"   p90 ratio on/off: {out[True][1] / out[False][1]:.3f}")
    print()
    return out


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and seeds (under a minute)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs (default: CPUs)")
    ap.add_argument("--only", choices=["a", "b", "c", "d"], help="one section only")
    args = ap.parse_args(argv)
    t0 = time.time()
    runner = Runner(args.jobs)
    try:
        print(f"gossip fidelity ({'quick' if args.quick else 'full'} mode); all times are virtual unless said otherwise")
        print()
        if args.only in (None, "a"):
            section_a(runner, args.quick)
        if args.only in (None, "b"):
            section_b(runner, args.quick)
        if args.only in (None, "c"):
            section_c(runner, args.quick)
        if args.only in (None, "d"):
            section_d(runner, args.quick)
    finally:
        runner.close()
    print(f"wall time of the script: {time.time() - t0:.1f} s (machine dependent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

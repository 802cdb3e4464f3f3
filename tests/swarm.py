"""Swarm-style randomized Raft runs (Groce et al., "Swarm Testing", ISSTA
2012): each seed switches whole fault families on or off and draws their
rates, so that every seed stresses a different mix instead of all seeds
sharing one. Shared by the test suite (tests/test_swarm.py) and by hand:

    /usr/bin/python3 tests/swarm.py BINARY SEED [SEED...]     # one line per seed
    /usr/bin/python3 tests/swarm.py BINARY --seeds 1..5000     # a summary
    /usr/bin/python3 tests/swarm.py --print SEED               # the scenario JSON

A seed gives a cluster of 1-7 servers (some seeds start with only part of
them as voters), a KV load, network and storage settings, Raft's snapshot
settings (sometimes aggressive: a snapshot every few entries with
trailing_logs 0), sometimes pre-vote off, and a safety phase of random faults
from the families the seed switched on:

    crash            crash leader / random server / random follower
    crash_lose       the same, losing unsynced writes
    pause            pause and resume (GC pauses, stopped VMs)
    partition        random_halves, majorities_ring, bridge, explicit groups
    isolate          isolate the leader or a random server
    block            one-way blocks
    loss, duplicate, reorder, bandwidth
                     mild network settings for the whole run, and heavy
                     ones on every node's link during the safety phase
    degrade          one node's link: latency, loss, bandwidth, reordering
    clock            clock drift and jumps
    membership       add_voter / add_nonvoter / demote_voter / remove_server
    minority_change  a membership change aimed at an isolated or minority
                     leader: isolate it (or split the cluster), then change
                     the configuration before its lease runs out
    change_then_crash  a membership change, and the leader crashes right
                     after appending it
    transfer         leadership transfer
    intermittent_heal  heals between cuts during the safety phase
    quiet            the client load stops early

Then a liveness phase on a healed core: heal, restore links, restart every
crashed server, resume every paused one. By a deadline derived from the
settings (see liveness_deadline_s) a leader must be known to every member of
its configuration and every acknowledged command applied by every member; the
Raft safety checker and message conservation must hold for the whole run."""
import concurrent.futures
import json
import random
import subprocess
import sys
import tempfile

FAMILIES = ("crash", "crash_lose", "pause", "partition", "isolate", "block", "loss", "duplicate", "reorder",
            "bandwidth", "degrade", "clock", "membership", "minority_change", "change_then_crash", "transfer",
            "intermittent_heal", "quiet")

# hashicorp/raft: failureWait 10 ms doubled per failure up to maxFailureScale
# 12, i.e. a follower that kept failing waits up to 10.24 s for its retry.
MAX_REPLICATION_BACKOFF_S = 10.24


def liveness_deadline_s(heal_s, heartbeat_s, election_s, rpc_timeout_s):
    """When a healed cluster must have a leader known to all and everything
    acknowledged applied: restarts and resumes 0.3 s after the heal; one
    replication back-off at its cap plus the RPC deadline of the request that
    failed before it (twice: a snapshot may follow an AppendEntries probe);
    a follower notices a silent leader within 3 x HT of its last contact;
    five election rounds of at most 2 x ET each; and 2 s for the commit push
    and applies to reach everyone."""
    return heal_s + 0.3 + MAX_REPLICATION_BACKOFF_S + 2 * rpc_timeout_s + 3 * heartbeat_s + 5 * 2 * election_s + 2.0


def _us(t):
    return f"{int(round(t * 1e6))}us"


def scenario(seed, unsafe=False):
    rnd = random.Random(seed)
    n = rnd.randint(1, 7)
    servers = [f"s{i}" for i in range(1, n + 1)]
    on = {f: rnd.random() < 0.5 for f in FAMILIES}
    if n < 3:
        on["partition"] = False  # the shapes need three nodes
    if n < 2:
        on["block"] = on["isolate"] = on["transfer"] = on["minority_change"] = on["change_then_crash"] = False

    raft = {"raft_multiplier": 1}
    if rnd.random() < 0.4:  # aggressive snapshots
        raft.update({"snapshot_threshold": rnd.randint(1, 40), "trailing_logs": rnd.choice([0, 0, 1, 5, 20]),
                     "snapshot_interval": _us(rnd.uniform(0.1, 1.0))})
    else:
        raft.update({"snapshot_threshold": rnd.randint(100, 400), "trailing_logs": rnd.randint(10, 200),
                     "snapshot_interval": _us(rnd.uniform(1.0, 5.0))})
    if rnd.random() < 0.15:
        raft["pre_vote"] = False
    if unsafe:
        raft["unsafe_skip_vote_log_check"] = True
    voters = servers
    if n > 1 and rnd.random() < 0.3:
        voters = servers[:rnd.randint(1, n - 1)]
        raft["initial_voters"] = voters
    joiners = [s for s in servers if s not in voters]

    # The network's own settings stay for the whole run, liveness phase
    # included, so they are mild; the heavy loss, duplication and reordering
    # of the safety phase degrade every node's link and are restored at the
    # heal (a lossy network may lose a leader at any moment, and a liveness
    # deadline is about the healed cluster).
    network = {"latency": {"uniform": ["1ms", f"{rnd.randint(2, 15)}ms"]}}
    heavy = {}
    if on["loss"]:
        network["loss"] = round(rnd.uniform(0.0, 0.01), 4)
        heavy["loss"] = round(rnd.uniform(0.01, 0.2), 4)
    if on["duplicate"]:
        network["duplicate"] = round(rnd.uniform(0.0, 0.02), 4)
        heavy["duplicate"] = round(rnd.uniform(0.01, 0.1), 4)
    if on["reorder"]:
        network["reorder"] = {"probability": round(rnd.uniform(0.001, 0.02), 4),
                              "delay": {"uniform": ["0ms", f"{rnd.randint(5, 50)}ms"]}}
        heavy["reorder"] = {"probability": round(rnd.uniform(0.01, 0.1), 4),
                            "delay": {"uniform": ["0ms", f"{rnd.randint(50, 1000)}ms"]}}
    if on["bandwidth"]:
        network["bandwidth"] = rnd.choice(["2Mbps", "10Mbps", "100Mbps", "1Gbps"])
        if heavy:
            heavy["bandwidth"] = network["bandwidth"]

    heal_s = rnd.uniform(15.0, 30.0)
    faults = []  # (time, fault)

    def add(t, f):
        faults.append((t, f))

    # Servers that do not start as voters join at a random time (as a new
    # Consul server does), unless the membership family keeps them waiting.
    for s in joiners:
        if not on["membership"] or rnd.random() < 0.5:
            add(rnd.uniform(2.0, heal_s - 1.0), {rnd.choice(["add_voter", "add_voter", "add_nonvoter"]): s})

    degraded = False
    if heavy:
        add(rnd.uniform(2.0, 6.0), {"degrade": {"nodes": "all", **heavy}})
        degraded = True

    enabled = [f for f in ("crash", "crash_lose", "pause", "partition", "isolate", "block", "degrade", "clock",
                           "membership", "minority_change", "change_then_crash", "transfer") if on[f]]
    t = 3.0
    mean_gap = rnd.uniform(0.3, 3.0)
    while enabled:
        t += rnd.expovariate(1.0 / mean_gap)
        if t >= heal_s - 0.5:
            break
        fam = rnd.choice(enabled)
        if fam in ("crash", "crash_lose"):
            f = {"crash": rnd.choice(["leader", "random_server", "random_follower"])}
            if fam == "crash_lose":
                f["lose_unsynced"] = True
            add(t, f)
            if rnd.random() < 0.7:
                add(t + rnd.uniform(0.1, 4.0), {"restart": rnd.choice(["all_crashed", "random_server"])})
        elif fam == "pause":
            add(t, {"pause": rnd.choice(["leader", "random_server", "random_follower"])})
            add(t + rnd.uniform(0.05, 3.0), {"resume": "all_paused"})
        elif fam == "partition":
            shape = rnd.choice(["random_halves", "majorities_ring", "bridge", "groups"])
            if shape == "groups":
                order = servers[:]
                rnd.shuffle(order)
                k = rnd.randint(1, n - 1)
                add(t, {"partition": {"groups": [sorted(order[:k]), sorted(order[k:])]}})
            else:
                add(t, {"partition": {"shape": shape}})
        elif fam == "isolate":
            add(t, {"isolate": rnd.choice(["leader", "random_server"])})
        elif fam == "block":
            a = rnd.choice(servers + ["leader"])
            b = rnd.choice([s for s in servers if s != a] + ["leader", "followers"])
            add(t, {"block": {"from": a, "to": b}})
        elif fam == "degrade":
            f = {"nodes": rnd.choice(["random_server", "leader", "random_follower"])}
            what = rnd.choice(["latency", "loss", "bandwidth", "reorder"])
            if what == "latency":
                f["latency"] = {"uniform": ["1ms", f"{rnd.randint(20, 800)}ms"]}
            elif what == "loss":
                f["loss"] = round(rnd.uniform(0.05, 0.5), 3)
            elif what == "bandwidth":
                f["bandwidth"] = rnd.choice(["256Kbps", "1Mbps", "10Mbps"])
            else:
                f["reorder"] = {"probability": 0.2, "delay": {"uniform": ["0ms", "300ms"]}}
            add(t, {"degrade": f})
            degraded = True
            if rnd.random() < 0.5:
                add(t + rnd.uniform(0.5, 5.0), {"restore": f["nodes"]})
        elif fam == "clock":
            target = rnd.choice(["random_server", "leader", "all_servers"])
            if rnd.random() < 0.5:
                add(t, {"clock": {"nodes": target, "drift_ppm": rnd.choice([-1, 1]) * rnd.randint(10, 5000)}})
            else:
                add(t, {"clock": {"nodes": target, "jump": f"{rnd.choice(['', '-'])}{rnd.randint(10, 3000)}ms"}})
        elif fam == "membership":
            op = rnd.choice(["add_voter", "add_nonvoter", "demote_voter", "remove_server"])
            add(t, {op: rnd.choice(servers + ["random_server", "random_follower", "leader"])})
        elif fam == "minority_change":
            if n >= 3 and rnd.random() < 0.5:
                add(t, {"partition": {"shape": "random_halves"}})
            else:
                add(t, {"isolate": "leader"})
            op = rnd.choice(["add_voter", "add_nonvoter", "demote_voter", "remove_server"])
            # Before the isolated leader's lease (500 ms at raft_multiplier 1) runs out.
            add(t + rnd.uniform(0.01, 0.45), {op: rnd.choice(servers + ["leader", "random_follower"])})
        elif fam == "change_then_crash":
            # The leader dies in the middle of a configuration change: right
            # after appending it, before or while it reaches the others.
            op = rnd.choice(["add_voter", "add_nonvoter", "demote_voter", "remove_server"])
            add(t, {op: rnd.choice(servers + ["random_follower"])})
            f = {"crash": "leader"}
            if rnd.random() < 0.3:
                f["lose_unsynced"] = True
            add(t + rnd.uniform(0.0, 0.02), f)
            add(t + rnd.uniform(0.3, 3.0), {"restart": "all_crashed"})
        elif fam == "transfer":
            add(t, {"transfer_leadership": rnd.choice(servers + ["random_follower", "followers"])})
        if on["intermittent_heal"] and fam in ("partition", "isolate", "block", "minority_change"):
            # Heal within the safety phase, so that state built up on both
            # sides of a cut meets while faults go on.
            add(t + rnd.uniform(0.2, 4.0), {"heal": "all"})
    faults.sort(key=lambda x: x[0])  # stable: pairs keep their order

    # A fault drawn past the heal moves to just before it.
    out = []
    last = 0.0
    partitioned = False  # heal needs a partition, isolate or block since the previous heal
    for ft, f in faults:
        ft = min(max(ft, last), heal_s - 0.01)
        last = ft
        if "heal" in f:
            if not partitioned:
                continue
            partitioned = False
        elif any(k in f for k in ("partition", "isolate", "block")):
            partitioned = True
        out.append({"at": _us(ft), **f})
    if partitioned:
        out.append({"at": _us(heal_s), "heal": "all"})
    if degraded:
        out.append({"at": _us(heal_s), "restore": "all"})
    out.append({"at": _us(heal_s + 0.1), "restart": "all_crashed"})
    out.append({"at": _us(heal_s + 0.2), "resume": "all_paused"})

    deadline = liveness_deadline_s(heal_s, 1.0, 1.0, 1.0)
    rate = rnd.choice([5, 20, 60, 150])
    # quiet: the load stops early, so that logs stop growing while faults go
    # on (a snapshot then stays behind what a cut-off leader appended).
    stop = rnd.uniform(4.0, heal_s) if on["quiet"] else heal_s + 3.0
    kv = {"rate_per_s": rate, "keys": rnd.randint(1, 16), "start": "2s", "stop": _us(stop),
          "cas": round(rnd.uniform(0, 0.3), 2)}
    return {
        "name": f"swarm {seed}",
        "description": "families: " + ",".join(f for f in FAMILIES if on[f]),
        "protocol": "raft",
        "seed": seed,
        "cluster": {"servers": n},
        "network": network,
        "storage": {"sync_latency": {"uniform": ["500us", f"{rnd.randint(1, 6)}ms"]}},
        "raft": raft,
        "workload": {"kv": kv},
        "faults": out,
        "expect": [
            {"always": "raft_safety"},
            {"always": "message_conservation"},
            {"by": _us(deadline), "leader_known_to": "all"},
            {"by": _us(deadline), "applied_everywhere": True},
        ],
        "until": _us(deadline + 0.5),
    }


def run(binary, seed, tmpdir, unsafe=False):
    """Returns (exit code, summary) of one swarm run."""
    path = f"{tmpdir}/swarm-{seed}{'-unsafe' if unsafe else ''}.json"
    with open(path, "w") as f:
        json.dump(scenario(seed, unsafe), f)
    proc = subprocess.run([binary, "run", path, "--json"], capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"seed {seed}: exit {proc.returncode}: {proc.stderr}")
    if not proc.stdout.strip():
        # The run stopped early: an internal invariant failed (exit 3, a bug)
        # or a livelock; stderr says where and when.
        return proc.returncode, {"expectations": [{"name": "run", "pass": False, "detail": proc.stderr.strip()}],
                                 "metrics": {"raft": {"leaderless_intervals": []}}}
    return proc.returncode, json.loads(proc.stdout)


def failures(summary):
    """Failed expectations, and metrics that contradict them: once a leader is
    known to everyone at the deadline, every leaderless interval that opened
    before it must have closed by then."""
    bad = [(e["name"], e.get("detail")) for e in summary["expectations"] if not e["pass"]]
    known = [e for e in summary["expectations"] if "leader_known_to" in e["name"] and e["pass"]]
    if known:
        deadline = known[0]["at_ns"]
        for iv in summary["metrics"]["raft"]["leaderless_intervals"]:
            if iv["start_ns"] < deadline and (iv["end_ns"] is None or iv["end_ns"] > deadline):
                bad.append(("metrics: leaderless interval", f"opened at {iv['start_ns']} ns ({iv['cause']}) "
                                                            f"still open at the deadline {deadline} ns"))
    return bad


def run_many(binary, seeds, unsafe=False, jobs=2):
    """(seed, [failed expectations]) for every seed that failed."""
    bad = []
    with tempfile.TemporaryDirectory() as d, concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for seed, (rc, summary) in zip(seeds, pool.map(lambda s: run(binary, s, d, unsafe), seeds)):
            f = failures(summary)
            if rc != 0 or f:
                bad.append((seed, f))
    return bad


def _seed_range(text):
    a, _, b = text.partition("..")
    return list(range(int(a), int(b or a) + 1))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--print":
        print(json.dumps(scenario(int(args[1])), indent=1))
    elif len(args) >= 3 and args[1] == "--seeds":
        seeds = _seed_range(args[2])
        bad = run_many(args[0], seeds, unsafe="--unsafe" in args)
        for seed, f in bad:
            print(seed, f)
        print(f"{len(bad)} of {len(seeds)} seeds failed")
    else:
        with tempfile.TemporaryDirectory() as d:
            for s in args[1:]:
                rc, summary = run(args[0], int(s), d)
                print(s, rc, failures(summary))

"""Randomized Raft runs: a scenario generator and a runner shared by the test
suite (tests/test_raft_random.py) and by hand (python3 tests/raft_random.py
SEED...).

Each seed gives a 5-server cluster under a KV load with random loss,
duplication and reordering, and a random schedule of crashes, restarts,
partitions (explicit, isolate, Jepsen shapes, one-way blocks), pauses and a
membership change (remove a voter, add it back). At 25 s everything heals;
the run goes on for 30 s more, because a follower that was down long enough
sits out hashicorp's replication back-off (capped at 10.24 s) and may need a
retried InstallSnapshot; then every acknowledged command must be applied by every running
member, a leader must be known to all, and the Raft safety checker must have
seen no violation during the whole run."""
import json
import random
import subprocess
import sys

UNTIL_S = 55
HEAL_AT_S = 25


def scenario(seed, unsafe=False):
    rnd = random.Random(seed)
    faults = []
    t = 4.0
    crashed, paused = set(), set()
    servers = [f"s{i}" for i in range(1, 6)]
    membership_done = False
    partitioned = False
    while True:
        t += rnd.uniform(0.5, 3.0)
        if t >= HEAL_AT_S - 1:
            break
        at = f"{t:.3f}s"
        kind = rnd.choice(["crash", "restart", "partition", "heal", "pause", "resume", "block", "member"])
        up = [s for s in servers if s not in crashed and s not in paused]
        if kind == "crash" and len(crashed) + len(paused) < 2 and up:
            s = rnd.choice(up)
            f = {"at": at, "crash": s}
            if rnd.random() < 0.3:
                f["lose_unsynced"] = True
            faults.append(f)
            crashed.add(s)
        elif kind == "restart" and crashed:
            s = rnd.choice(sorted(crashed))
            faults.append({"at": at, "restart": s})
            crashed.discard(s)
        elif kind == "pause" and len(crashed) + len(paused) < 2 and up:
            s = rnd.choice(up)
            faults.append({"at": at, "pause": s})
            paused.add(s)
        elif kind == "resume" and paused:
            s = rnd.choice(sorted(paused))
            faults.append({"at": at, "resume": s})
            paused.discard(s)
        elif kind == "partition":
            partitioned = True
            shape = rnd.choice(["random_halves", "majorities_ring", "bridge", "isolate", "groups"])
            if shape == "isolate":
                faults.append({"at": at, "isolate": rnd.choice(["leader", "random_server"])})
            elif shape == "groups":
                order = servers[:]
                rnd.shuffle(order)
                k = rnd.randint(1, 2)
                faults.append({"at": at, "partition": {"groups": [sorted(order[:k]), sorted(order[k:])]}})
            else:
                faults.append({"at": at, "partition": {"shape": shape}})
        elif kind == "block":
            partitioned = True
            a, b = rnd.sample(servers, 2)
            faults.append({"at": at, "block": {"from": a, "to": rnd.choice([b, "leader"])}})
        elif kind == "heal" and partitioned:
            faults.append({"at": at, "heal": "all"})
            partitioned = False
        elif kind == "member" and not membership_done:
            faults.append({"at": at, "remove_server": "s5"})
            faults.append({"at": f"{t + 0.25:.3f}s", "add_voter": "s5"})
            t += 0.25
            membership_done = True
    if partitioned:
        faults.append({"at": f"{HEAL_AT_S}s", "heal": "all"})
    if crashed:
        faults.append({"at": f"{HEAL_AT_S}.1s", "restart": "all_crashed"})
    if paused:
        faults.append({"at": f"{HEAL_AT_S}.2s", "resume": "all_paused"})
    if membership_done:
        faults.append({"at": f"{HEAL_AT_S + 2}s", "add_voter": "s5"})
    raft = {"raft_multiplier": 1, "snapshot_threshold": 300, "trailing_logs": 100, "snapshot_interval": "3s"}
    if unsafe:
        raft["unsafe_skip_vote_log_check"] = True
    return {
        "name": f"raft random {seed}",
        "protocol": "raft",
        "seed": seed,
        "cluster": {"servers": 5},
        "network": {
            "latency": {"uniform": ["1ms", "8ms"]},
            "loss": round(rnd.uniform(0, 0.05), 3),
            "duplicate": round(rnd.uniform(0, 0.02), 3),
            "reorder": {"probability": 0.02, "delay": {"uniform": ["0ms", "20ms"]}},
        },
        "storage": {"sync_latency": {"uniform": ["1ms", "4ms"]}},
        "raft": raft,
        "workload": {"kv": {"rate_per_s": 60, "keys": 8, "start": "2s", "stop": f"{HEAL_AT_S + 8}s", "cas": 0.2}},
        "faults": faults,
        "expect": [
            {"always": "raft_safety"},
            {"always": "message_conservation"},
            {"by": f"{UNTIL_S - 1}s", "leader_known_to": "all"},
            {"by": f"{UNTIL_S - 1}s", "applied_everywhere": True},
        ],
        "until": f"{UNTIL_S}s",
    }


def run(binary, seed, tmpdir, unsafe=False):
    """Returns (exit code, summary) of one randomized run."""
    path = f"{tmpdir}/random-{seed}{'-unsafe' if unsafe else ''}.json"
    with open(path, "w") as f:
        json.dump(scenario(seed, unsafe), f)
    proc = subprocess.run([binary, "run", path, "--json"], capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"seed {seed}: exit {proc.returncode}: {proc.stderr}")
    return proc.returncode, json.loads(proc.stdout)


if __name__ == "__main__":
    import tempfile
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        for s in sys.argv[2:]:
            rc, summary = run(binary, int(s), d)
            print(s, rc, [(e["name"], e.get("detail")) for e in summary["expectations"] if not e["pass"]])

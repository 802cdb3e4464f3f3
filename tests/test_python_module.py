"""The Python module: the same runs as the command line, a native feel, and
misuse that raises a Python exception instead of crashing the interpreter."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

import clustersim
from clustersim import InvariantError, ScenarioError, Simulation

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
MALFORMED = ROOT / "tests/scenarios/malformed"
GOLDEN = json.loads((ROOT / "tests/golden_hashes.json").read_text())
PY = "/usr/bin/python3"

SHORT_RAFT = {
    "name": "short raft",
    "protocol": "raft",
    "cluster": {"servers": 3},
    "network": {"latency": {"uniform": ["1ms", "3ms"]}},
    "raft": {"raft_multiplier": 1},
    "faults": [{"at": "3s", "crash": "leader"}],
    "expect": [{"always": "raft_safety"}, {"by": "6s", "leader_known_to": "majority"}],
    "until": "6s",
}


def leader_crash(seed=1, trace=False):
    return Simulation.from_file(SCENARIOS / "raft-leader-crash.json", seed=seed, trace=trace)


# ---------------------------------------------------------------- the same runs as the CLI


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_library_hashes_match_the_command_line(name):
    """Every library scenario, with every golden seed: the hash from Python is
    the golden one (which the CLI's own tests hold it to) and the verdict is
    a pass."""
    for seed, golden in GOLDEN[name].items():
        sim = Simulation.from_file(SCENARIOS / name, seed=int(seed))
        sim.run()
        assert sim.finished
        assert sim.trace_hash == golden, f"{name} seed {seed}"
        assert sim.passed, [e for e in sim.expectations if not e["pass"]]


def test_summary_equals_the_command_lines_json(clustersim):
    proc = subprocess.run([clustersim, "run", str(SCENARIOS / "raft-leader-crash.json"), "--seed", "3", "--json"],
                          capture_output=True, text=True, check=True)
    cli = json.loads(proc.stdout)
    sim = leader_crash(seed=3)
    sim.run()
    py = sim.summary()
    cli.pop("wall_time_s", None), py.pop("wall_time_s", None)
    assert py == cli


def test_hash_does_not_depend_on_how_the_run_is_cut():
    whole = leader_crash()
    whole.run()
    pieces = leader_crash()
    while not pieces.finished:
        pieces.run_for("137ms")
    stepped = leader_crash()
    stepped.run(until="9s")
    for _ in range(500):
        assert stepped.step()
    stepped.run()
    assert whole.trace_hash == pieces.trace_hash == stepped.trace_hash


def test_faults_from_python_match_the_same_faults_in_the_file():
    doc = dict(SHORT_RAFT, faults=[])
    by_file = Simulation.from_dict(dict(doc, faults=[{"at": "3s", "crash": "leader"},
                                                     {"at": "4s", "restart": "all_crashed"}]), seed=5)
    by_file.run()
    by_python = Simulation.from_dict(doc, seed=5)
    by_python.run(until="3s")
    crashed = by_python.crash("leader")
    by_python.run(until="4s")
    by_python.restart(crashed["nodes"])
    by_python.run()
    assert by_python.trace_hash == by_file.trace_hash
    assert [f["nodes"] for f in by_python.faults] == [f["nodes"] for f in by_file.faults]


def test_every_malformed_file_raises_the_command_lines_errors(clustersim):
    expected = json.loads((MALFORMED / "expected.json").read_text())
    for name in sorted(expected):
        proc = subprocess.run([clustersim, "run", str(MALFORMED / name)], capture_output=True, text=True)
        cli_errors = [line.strip() for line in proc.stderr.splitlines() if line.startswith("  $")]
        with pytest.raises(ScenarioError) as e:
            Simulation.from_file(MALFORMED / name)
        assert [f"{p}: {m}" for p, m in e.value.errors] == cli_errors, name
        assert e.value.errors[0][0] == expected[name]["path"], name
        assert f"{MALFORMED / name} is not a valid scenario (1 error)" in str(e.value)


def test_from_dict_lists_every_error_with_its_path():
    doc = dict(SHORT_RAFT, cluster={"servers": "three"}, until="soon")
    with pytest.raises(ScenarioError) as e:
        Simulation.from_dict(doc)
    assert sorted(p for p, _ in e.value.errors) == ["$.cluster.servers", "$.until"]
    assert "scenario is not a valid scenario (2 errors)" in str(e.value)
    assert isinstance(e.value, ValueError)


# ---------------------------------------------------------------- state


def test_state_as_python_data():
    sim = leader_crash()
    assert sim.now == 0 and not sim.finished and sim.seed == 1
    sim.run(until="9s")
    assert sim.now == 9_000_000_000
    leader = sim.leader
    assert leader in {n.name for n in sim.nodes}
    node = sim.node(leader)
    assert node.role == "leader" and node.term >= 1 and node.commit_index > 0 and node.up
    assert isinstance(node.raft, dict) and node.raft["leader"] == leader
    followers = [n for n in sim.nodes if n.role == "follower"]
    assert len(followers) == 4 and all(f.raft["leader"] == leader for f in followers)
    assert repr(node).startswith(f"<Node {leader} server up raft=leader/")
    assert sim.messages["sent"] > 0 and sim.messages["delivered"] > 0
    assert sim.events > 0 and len(sim.trace_hash) == 16
    assert sim.raft_configuration(node=leader) == {n: "voter" for n in ["s1", "s2", "s3", "s4", "s5"]}
    log = sim.raft_log(node=leader, first=1, last=3)
    assert [e["index"] for e in log] == [1, 2, 3] and log[0]["type"] in {"configuration", "noop"}
    sim.crash(leader)
    down = sim.node(leader)
    assert not down.up and down.role is None and down.raft is None
    sim.run()
    assert sim.passed and sim.finished
    verdicts = sim.expectations
    assert all(v["pass"] for v in verdicts) and len(verdicts) == 6
    m = sim.metrics
    assert m["raft"]["leaderless_intervals"] and m["kv"]["ops"]
    assert "finished" in repr(sim) and "raft: leader crash and restart" in repr(sim)


def test_gossip_members_views_and_suspicion():
    sim = Simulation.from_file(SCENARIOS / "gossip-node-crash.json", seed=1)
    target = sim.scenario["faults"][0]["crash"]
    sim.run(until=sim.scenario["faults"][0]["at"])
    observer = next(n.name for n in sim.nodes if n.name != target)
    assert sim.serf_members(node=observer)[target] == "alive"
    assert sim.memberlist_views(node=observer)[target]["state"] == "alive"
    # Somebody suspects the crashed member before anyone declares it dead.
    suspected_by = None
    while suspected_by is None and sim.run_for("50ms").now < sim.until:
        for n in sim.nodes:
            if n.up and n.name != target and target in sim.suspicions(node=n.name):
                suspected_by = n.name
                break
    assert suspected_by, "nobody suspected the crashed member"
    s = sim.suspicions(node=suspected_by)[target]
    assert s["deadline_ns"] > s["since_ns"] and s["min_ns"] <= s["max_ns"] and s["confirmations"] <= s["wanted"]
    assert sim.memberlist_views(node=suspected_by)[target]["state"] == "suspect"
    sim.run(until="45s")
    assert sim.serf_members(node=observer)[target] == "failed"
    assert sim.memberlist_views(node=observer)[target]["state"] == "dead"
    assert sim.node(observer).serf["failed"] == 1
    sim.run()  # it restarts at 50 s and rejoins
    assert sim.serf_members(node=observer)[target] == "alive" and sim.passed


def test_consul_catalog_local_state_and_event_ring():
    sim = Simulation.from_file(SCENARIOS / "consul-register-50-services.json", seed=1)
    sim.run(until="40s")
    catalog = sim.catalog()
    assert catalog["server"] == sim.leader and catalog["index"] > 0
    registered = [(n, sid) for n, e in catalog["nodes"].items() for sid in e["services"] if sid != "consul"]
    assert len(registered) >= 50
    node, sid = registered[0]
    local = sim.local_state(node=node)
    assert local["services"][sid]["in_sync"] is True
    assert sim.node(node).agent["services"] == len([s for s in local["services"].values() if not s["deleted"]])
    assert local["checks"]["api-1-ttl"]["status"] == "passing"
    assert catalog["nodes"][node]["checks"]["api-1-ttl"]["status"] == "passing"
    sim.run()
    assert sim.passed
    assert [sid for sid in sim.catalog()["nodes"][node]["services"]] == []
    events = Simulation.from_file(SCENARIOS / "consul-user-event-fanout.json", seed=1)
    events.run()
    some_client = next(n.name for n in events.nodes if not n.server and n.up)
    ring = events.user_events(node=some_client)
    assert ring and {"id", "name", "ltime", "payload_bytes"} <= set(ring[0])
    assert [e["ltime"] for e in ring] == sorted(e["ltime"] for e in ring)
    kv = Simulation.from_file(SCENARIOS / "consul-leader-crash-kv.json", seed=1)
    kv.run()
    entries = kv.kv(prefix="")
    assert entries and all(e["modify_index"] >= e["create_index"] > 0 for e in entries.values())


def test_trace_as_numpy_and_pandas():
    sim = Simulation.from_dict(SHORT_RAFT, seed=2, trace=True)
    sim.run(until="1s")
    first = sim.trace_frame()
    sim.run()
    df = sim.trace_frame()
    assert isinstance(df, pd.DataFrame) and len(df) > len(first) > 0
    assert {"t", "ev"} <= set(df.columns)
    assert df["t"].is_monotonic_increasing
    arr = sim.trace()
    assert isinstance(arr, np.ndarray) and arr.dtype.names and len(arr) == len(df)
    faults = df[df["ev"] == "fault"]
    assert len(faults) == 1 and faults["t"].iloc[0] == 3_000_000_000


def test_durations_as_strings_or_nanoseconds():
    a = Simulation.from_dict(SHORT_RAFT, seed=1)
    a.run(until="1500ms")
    b = Simulation.from_dict(SHORT_RAFT, seed=1)
    b.run(until=1_500_000_000)
    assert a.now == b.now == clustersim.duration_ns("1.5s")
    assert a.trace_hash == b.trace_hash


def test_help_and_docstrings():
    for obj in [clustersim, clustersim.Simulation, clustersim.Node, clustersim.sweep, clustersim.duration_ns]:
        assert obj.__doc__ and len(obj.__doc__) > 40, obj
    public = [n for n in dir(Simulation) if not n.startswith("_")]
    assert len(public) > 30
    for n in public:
        assert getattr(Simulation, n).__doc__, f"Simulation.{n} has no docstring"
    sim = Simulation.from_dict(SHORT_RAFT)
    assert "add_voter" in dir(sim) and sim.add_voter.__doc__
    assert "raft_log" in dir(sim) and "first" in sim.raft_log.__doc__


# ---------------------------------------------------------------- misuse


def misuse_cases():
    """(label, call, exception type, substring of its message): each on a fresh
    run at 2 s of the leader-crash scenario, or on its finished run."""
    ended = leader_crash()
    ended.run()
    return [
        ("file that does not exist", lambda s: Simulation.from_file("/nonexistent.json"), FileNotFoundError,
         "cannot read"),
        ("path of the wrong type", lambda s: Simulation.from_file(42), TypeError, "expected a path"),
        ("a path given to the constructor", lambda s: Simulation("scenarios/x.json"), TypeError, "from_file"),
        ("a scenario that is not a dict", lambda s: Simulation.from_dict([1, 2]), TypeError, "is a dict"),
        ("a scenario that is not JSON data", lambda s: Simulation.from_dict({"name": {1, 2}}), TypeError, "JSON"),
        ("a negative seed", lambda s: Simulation.from_dict(SHORT_RAFT, seed=-1), ValueError, "seed"),
        ("a seed that is a string", lambda s: Simulation.from_dict(SHORT_RAFT, seed="7"), ValueError, "seed"),
        ("a malformed duration", lambda s: s.run(until="soon"), ValueError, "malformed duration"),
        ("a negative duration", lambda s: s.run_for(-5), ValueError, "not negative"),
        ("a bool as a duration", lambda s: s.run(until=True), TypeError, "bool"),
        ("running back in time", lambda s: s.run(until="1s"), ValueError, "back in time"),
        ("an unknown node", lambda s: s.crash("s9"), ScenarioError, 'unknown node "s9"'),
        ("a node of the wrong type", lambda s: s.crash(3), TypeError, "node name"),
        ("crashing a crashed node", lambda s: (s.crash("s2"), s.crash("s2")), ValueError, "already crashed"),
        ("restarting a running node", lambda s: s.restart("s2"), ValueError, "only a crashed node restarts"),
        ("resuming a node not paused", lambda s: s.resume("s3"), ValueError, "not paused"),
        ("a crashed node's Raft state", lambda s: (s.crash("s4"), s.raft_log(node="s4")), ValueError,
         "runs no Raft now"),
        ("an unknown partition shape", lambda s: s.partition(shape="star"), ScenarioError, "expected one of"),
        ("groups and a shape together", lambda s: s.partition(groups=[["s1"]], shape="bridge"), TypeError,
         "exactly one"),
        ("a loss out of range", lambda s: s.degrade(nodes="s1", loss=1.5), ScenarioError, "out of range"),
        ("another protocol's action", lambda s: s.act("register_service", "s1"), ScenarioError,
         "action of protocol consul"),
        ("an unknown method", lambda s: s.register_service("s1"), AttributeError, "actions:"),
        ("an unexpected query argument", lambda s: s.raft_log(node="s1", limit=3), ValueError,
         "unexpected argument 'limit'"),
        ("an unknown query", lambda s: s.query("catalog"), ValueError, "no query 'catalog'"),
        ("an unknown node by name", lambda s: s.node("s42"), ValueError, "unknown node 's42'"),
        ("a node that is not a string", lambda s: s.node(1), TypeError, "node name"),
        ("a field a node does not have", lambda s: s.node("s1").agentx, AttributeError, "has no 'agentx'"),
        ("a trace not kept", lambda s: s.trace_frame(), RuntimeError, "trace=True"),
        ("running after the end", lambda s: ended.run_for("1s"), RuntimeError, "has ended"),
        ("a fault after the end", lambda s: ended.crash("s1"), RuntimeError, "has ended"),
        ("a step after the end", lambda s: ended.step(), RuntimeError, "has ended"),
        ("clock with both drift and jump", lambda s: s.clock("s1", drift_ppm=10, jump="1s"), TypeError,
         "exactly one"),
        ("a sweep with no seeds", lambda s: clustersim.sweep(SHORT_RAFT, seeds=[]), ValueError, "no seeds"),
        ("a sweep value that is not a list", lambda s: clustersim.sweep(SHORT_RAFT, params={"raft.pre_vote": True}),
         TypeError, "must be a list"),
        ("a sweep with zero jobs", lambda s: clustersim.sweep(SHORT_RAFT, jobs=0), ValueError, "jobs"),
        ("a sweep over a missing file", lambda s: clustersim.sweep("/nonexistent.json"), FileNotFoundError,
         "cannot read"),
    ]


def test_misuse_raises_python_exceptions():
    cases = misuse_cases()
    assert len(cases) >= 20
    for label, call, kind, text in cases:
        sim = leader_crash()
        sim.run(until="2s")
        with pytest.raises(kind) as e:
            call(sim)
        assert text in str(e.value), f"{label}: {e.value!r}"
        # The run is still usable after the error.
        sim.run_for("100ms")


def test_misuse_in_a_child_interpreter_never_kills_it():
    """The same calls in a fresh interpreter, which must survive them all and exit cleanly."""
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import test_python_module as t
        n = 0
        for label, call, kind, text in t.misuse_cases():
            sim = t.leader_crash()
            sim.run(until="2s")
            try:
                call(sim)
            except kind:
                n += 1
        print("survived", n)
    """ % str(ROOT / "tests"))
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["survived", str(len(misuse_cases()))]


def test_a_sweep_run_that_fails_is_a_row():
    bad = dict(SHORT_RAFT)
    df = clustersim.sweep(bad, seeds=[1, 2], params={"cluster.servers": [3, "many"]}, jobs=1, progress=False)
    assert len(df) == 4
    ok = df[df["cluster.servers"] == 3]
    assert ok["error"].isna().all() and ok["passed"].all()
    broken = df[df["cluster.servers"] == "many"]
    assert broken["error"].str.contains("ScenarioError").all() and not broken["passed"].any()


def test_invariant_error_is_an_exception_class():
    assert issubclass(InvariantError, RuntimeError) and issubclass(ScenarioError, ValueError)


# ---------------------------------------------------------------- threads, Ctrl-C


def test_two_simulations_in_two_threads_run_concurrently():
    """The interpreter lock is released while a simulation runs: two runs in
    two threads take less wall time than one after the other (on 2 cores)."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores")
    path = SCENARIOS / "consul-200-agents-ae-scaling.json"  # about half a second a run

    def one(seed):
        s = Simulation.from_file(path, seed=seed)
        s.run()
        return s.trace_hash

    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        serial = [one(1), one(2)]
        t_serial = time.perf_counter() - t0
        results = {}
        threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, one(k))) for k in (1, 2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_parallel = time.perf_counter() - t0
        assert [results[1], results[2]] == serial  # the same runs, whatever the threads
        best = max(best, t_serial / t_parallel)
        if best >= 1.4:
            break
    print(f"two threads: speed-up {best:.2f}x over one after the other")
    assert best >= 1.3, f"two threads ran only {best:.2f}x faster than one after the other"


def test_ctrl_c_interrupts_a_long_run():
    code = textwrap.dedent("""
        import clustersim, json, sys
        doc = json.load(open(%r))
        doc["until"] = "10h"  # far longer than the test waits
        sim = clustersim.Simulation.from_dict(doc, seed=1)
        print("running", flush=True)
        try:
            sim.run()
        except KeyboardInterrupt:
            print("interrupted at", sim.now, flush=True)
            sys.exit(3)
    """ % str(SCENARIOS / "gossip-1000-members.json"))
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "running"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert out.startswith("interrupted at")
    assert 0 < int(out.split()[2]) < 10 * 3600 * 10**9


def _children_with_marker(marker):
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if marker.encode() in (d / "environ").read_bytes():
                found.append(int(d.name))
        except OSError:
            pass
    return found


def test_ctrl_c_stops_a_sweep_and_leaves_nothing_running():
    marker = f"CLUSTERSIM_SWEEP_TEST={os.getpid()}-{time.time_ns()}"
    code = textwrap.dedent("""
        import clustersim, sys
        print("sweeping", flush=True)
        try:
            clustersim.sweep(%r, seeds=range(1, 200), jobs=2, progress=False)
        except KeyboardInterrupt:
            print("stopped", flush=True)
            sys.exit(3)
    """ % str(SCENARIOS / "gossip-1000-members.json"))
    env = dict(os.environ, **dict([marker.split("=", 1)]))
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "sweeping"
    deadline = time.time() + 20
    while len(_children_with_marker(marker)) < 3 and time.time() < deadline:  # the parent and two workers
        time.sleep(0.1)
    assert len(_children_with_marker(marker)) >= 3, "the workers did not start"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err[-2000:]
    assert "stopped" in out
    deadline = time.time() + 10
    while _children_with_marker(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert _children_with_marker(marker) == [], "workers were left running"


# ---------------------------------------------------------------- documentation


def test_the_api_reference_is_current():
    proc = subprocess.run([PY, str(ROOT / "scripts/python_api_doc.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_readmes_python_examples_run(tmp_path):
    """Each ```python block of the README runs as shown, from a directory
    that has the scenarios (what it writes stays in tmp_path)."""
    import re
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    (tmp_path / "scenarios").symlink_to(SCENARIOS)
    env = dict(os.environ, MPLBACKEND="Agg")
    for i, code in enumerate(blocks):
        proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
        assert proc.returncode == 0, f"README python block {i}:\n{code}\n{proc.stderr[-3000:]}"
    assert (tmp_path / "downtime-by-multiplier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

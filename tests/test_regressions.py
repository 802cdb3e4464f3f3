"""Reproducers of defects found by swarm testing and by review
(tests/regressions/*.json, kept as they were found; uncommitted-config-
refuses-winner.json was found by tests/swarm.py, the consul-* ones by reading
the agent next to Consul v1.9.0's source). Each one failed on the build it was found on and
must pass now; where the defect did not show as a failing expectation, the
test checks what went wrong directly (metrics, the trace)."""
import json
import pathlib
import subprocess

import pytest

DIR = pathlib.Path(__file__).resolve().parent / "regressions"

# file -> the defect, in one line.
DEFECTS = {
    "installsnapshot-stale-config-split-brain.json":
        "a follower that dropped its conflicting log on InstallSnapshot kept that log's configuration above "
        "the snapshot: two leaders in term 5",
    "installsnapshot-stale-config-no-leader.json":
        "the same stale configuration: a live majority of the real voters could not elect",
    "nonvoter-keeps-dead-leader.json":
        "a server without a vote never forgot a dead leader and refused that leader's own pre-votes",
    "demoted-isolated-leader-deadlock.json":
        "an isolated leader that demoted itself never campaigned again, and nobody else could win",
    "checker-leader-completeness-false-positive.json":
        "leader completeness judged by an entry's term instead of the term it was committed in",
    "paused-leader-executes-actions.json":
        "a paused leader was chosen for membership and transfer actions and sent while frozen",
    "bandwidth-head-of-line-1gbps.json":
        "bandwidth reserved in send order along the whole path: one delayed message blocked a link for "
        "everything sent after it",
    "bandwidth-head-of-line-none.json":
        "the same run without a bandwidth limit, for comparison",
    "uncommitted-config-refuses-winner.json":
        "hashicorp main's membership check on votes: an uncommitted configuration nobody else had refused, "
        "forever, the only candidate that could win",
    "leaderless-interval-never-closes.json":
        "a leaderless interval opened by a short isolation never closed when the same leader returned",
    "consul-deregister-in-two-writes.json":
        "a service and its checks were deregistered by two partial syncs: cut after the first, the catalog "
        "kept the service without its check",
    "consul-stale-checker-partitioned-server.json":
        "catalog_stale_bounded took every server agent to be in contact with the leader",
    "consul-autopilot-one-promotion-per-tick.json":
        "autopilot promoted one stable non-voter per tick instead of all of them",
    "consul-ttl-check-state-after-restart.json":
        "a TTL check updated to passing came back critical after a restart (its state was not persisted)",
    "consul-snapshot-restore-acked-writes.json":
        "kv_acknowledged_applied counted writes forgotten by a snapshot restore as lost",
}


def run(binary, name, tmp_path, trace=False):
    args = [binary, "run", str(DIR / name), "--json"]
    if trace:
        args += ["--trace", str(tmp_path / "trace.jsonl")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    summary = json.loads(proc.stdout)
    failed = [(e["name"], e.get("detail")) for e in summary["expectations"] if not e["pass"]]
    events = []
    if trace:
        events = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    return proc.returncode, failed, summary, events


def test_every_reproducer_is_listed():
    assert sorted(p.name for p in DIR.glob("*.json")) == sorted(DEFECTS)


@pytest.mark.parametrize("name", sorted(DEFECTS), ids=lambda n: n[:-5])
def test_reproducer_passes(clustersim, tmp_path, name):
    rc, failed, _, _ = run(clustersim, name, tmp_path)
    assert rc == 0 and not failed, f"{DEFECTS[name]}: {failed}"


def test_paused_leader_does_nothing_while_frozen(clustersim, tmp_path):
    # s1 is paused from 5 s to 20 s: nothing it sends may leave, and it may
    # append nothing, in between.
    _, _, _, events = run(clustersim, "paused-leader-executes-actions.json", tmp_path, trace=True)
    paused = [e for e in events if 5e9 < e["t"] < 20e9 and (e.get("from") == "s1" or e.get("node") == "s1")]
    assert paused == [], f"the paused s1 acted: {paused[:3]}"
    faults = [e["what"] for e in events if e["ev"] == "fault"]
    assert any(f.startswith("add_voter") for f in faults)


def test_leaderless_interval_closes_when_the_same_leader_returns(clustersim, tmp_path):
    _, _, summary, _ = run(clustersim, "leaderless-interval-never-closes.json", tmp_path)
    intervals = summary["metrics"]["raft"]["leaderless_intervals"]
    assert all(iv["end_ns"] is not None for iv in intervals), intervals
    isolated = [iv for iv in intervals if iv["start_ns"] == 10_000_000_000]
    assert len(isolated) == 1, intervals
    iv = isolated[0]
    # Closed at the heal (300 ms later), in the same term, without an election.
    assert iv["downtime_ns"] == 300_000_000 and iv["terms_used"] == 0 and iv["elections"] == 0, iv


def test_bandwidth_does_not_multiply_leader_losses(clustersim, tmp_path):
    counts = {}
    for name in ("bandwidth-head-of-line-1gbps.json", "bandwidth-head-of-line-none.json"):
        _, _, summary, _ = run(clustersim, name, tmp_path)
        counts[name] = len(summary["metrics"]["raft"]["leaderless_intervals"])
    # A 1 Gbps NIC is idle at 50 operations per second: it may not make the
    # cluster lose its leader more often than an unlimited one does.
    assert counts["bandwidth-head-of-line-1gbps.json"] <= counts["bandwidth-head-of-line-none.json"] + 1, counts


def rpc_records(events, node, method):
    # agent.rpc's method_outcome: the method in the low byte (core/agent/rpc.hpp Method).
    return [e for e in events if e["ev"] == "agent.rpc" and e["node"] == node and e["method_outcome"] & 0xFF == method]


def test_service_and_checks_deregister_in_one_write(clustersim, tmp_path):
    _, _, _, events = run(clustersim, "consul-deregister-in-two-writes.json", tmp_path, trace=True)
    deregisters = rpc_records(events, "c1", 2)  # Catalog.Deregister
    assert len(deregisters) == 1 and deregisters[0]["method_outcome"] >> 8 == 0, deregisters


def test_autopilot_promotes_every_stable_nonvoter_at_once(clustersim, tmp_path):
    _, _, _, events = run(clustersim, "consul-autopilot-one-promotion-per-tick.json", tmp_path, trace=True)
    promoted = {e["server"]: e["t"] for e in events if e["ev"] == "agent.autopilot" and e["action"] == 2 and e["accepted"]}
    assert sorted(promoted) == [3, 4], promoted  # s4 and s5
    assert abs(promoted[3] - promoted[4]) < 1_000_000_000, promoted


def test_ttl_check_state_survives_a_restart(clustersim, tmp_path):
    _, _, summary, _ = run(clustersim, "consul-ttl-check-state-after-restart.json", tmp_path)
    assert summary["metrics"]["consul"]["catalog"]["critical_checks"] == 0, summary["metrics"]["consul"]["catalog"]

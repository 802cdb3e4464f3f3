"""The scenario library: every scenario passes its expectations, and its trace
hash is a pure function of (scenario, seed): the same across runs, build types
(Release, Debug) and compilers (g++, clang++), different across seeds, and
equal to the golden hash recorded in tests/golden_hashes.json.

A protocol change that alters behaviour changes a golden hash on purpose:
acknowledge it by regenerating the file with UPDATE_GOLDEN=1 and say why in
the commit."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.json"))
GOLDEN = ROOT / "tests" / "golden_hashes.json"
SEEDS = (1, 2)


def run(binary, scenario, seed, *extra):
    proc = subprocess.run(
        [binary, "run", str(scenario), "--seed", str(seed), "--json", *extra],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), f"{scenario.name}: exit {proc.returncode}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got {len(lines)}"
    return proc.returncode, json.loads(lines[0])


def test_library_is_not_empty():
    assert len(SCENARIOS) >= 1


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_passes_and_replays(scenario, clustersim, clustersim_clang, clustersim_debug):
    hashes = {}
    for seed in SEEDS:
        rc, summary = run(clustersim, scenario, seed)
        failed = [e for e in summary["expectations"] if not e["pass"]]
        assert rc == 0 and not failed, f"seed {seed}: failed expectations {failed}"
        for key in ("scenario", "seed", "virtual_time_ns", "events", "messages", "trace_hash", "expectations", "metrics"):
            assert key in summary
        assert summary["seed"] == seed
        again = run(clustersim, scenario, seed)[1]["trace_hash"]
        clang = run(clustersim_clang, scenario, seed)[1]["trace_hash"]
        debug = run(clustersim_debug, scenario, seed)[1]["trace_hash"]
        assert summary["trace_hash"] == again == clang == debug, (
            f"seed {seed}: gcc {summary['trace_hash']}, again {again}, clang {clang}, debug {debug}")
        hashes[str(seed)] = summary["trace_hash"]
    assert len(set(hashes.values())) == len(SEEDS), "different seeds must give different hashes"

    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden[scenario.name] = hashes
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    assert scenario.name in golden, f"no golden hash for {scenario.name}: run with UPDATE_GOLDEN=1"
    assert golden[scenario.name] == hashes, (
        f"trace hashes changed: golden {golden[scenario.name]}, now {hashes}. If the behaviour change is intended, "
        "regenerate with UPDATE_GOLDEN=1 and explain it in the commit.")


def test_trace_file_does_not_change_hash(clustersim, tmp_path):
    scenario = SCENARIOS[0]
    trace = tmp_path / "t.jsonl"
    _, plain = run(clustersim, scenario, 3)
    _, traced = run(clustersim, scenario, 3, "--trace", str(trace))
    assert plain["trace_hash"] == traced["trace_hash"]
    lines = trace.read_text().splitlines()
    assert len(lines) > 100
    first = json.loads(lines[0])
    assert "t" in first and "ev" in first
    assert not (tmp_path / "t.jsonl.partial").exists()


def test_trace_diff_finds_first_divergence(clustersim, tmp_path):
    scenario = SCENARIOS[0]
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    run(clustersim, scenario, 4, "--trace", str(a))
    run(clustersim, scenario, 4, "--trace", str(b))
    run(clustersim, scenario, 5, "--trace", str(c))
    same = subprocess.run([clustersim, "diff", str(a), str(b)], capture_output=True, text=True)
    assert same.returncode == 0 and "identical" in same.stdout
    diff = subprocess.run([clustersim, "diff", str(a), str(c)], capture_output=True, text=True)
    assert diff.returncode == 1 and "first divergence at line" in diff.stdout
    line = int(diff.stdout.split("line ")[1].split(":")[0])
    la, lc = a.read_text().splitlines(), c.read_text().splitlines()
    assert la[:line - 1] == lc[:line - 1] and la[line - 1] != lc[line - 1]


def test_until_override_and_exit_code_on_failure(clustersim, tmp_path):
    # Stopping before a "by" deadline leaves it unevaluated, which fails the run (exit 1).
    scenario = SCENARIOS[0]
    proc = subprocess.run([clustersim, "run", str(scenario), "--until", "1ms", "--json"], capture_output=True, text=True)
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert summary["virtual_time_ns"] == 1_000_000
    assert any(not e["pass"] and "not evaluated" in e.get("detail", "") for e in summary["expectations"])


def test_network_bandwidth_limits_every_nic(clustersim, tmp_path):
    # 100 bytes at 8 kbps take 100 ms on the sender's NIC and again on the
    # receiver's; the heartbeat detector then suspects everybody.
    import copy
    base = json.loads((ROOT / "scenarios" / "hb-crash-partition.json").read_text())
    base.pop("faults")
    base["expect"] = [{"always": "message_conservation"}]
    fast = copy.deepcopy(base)
    slow = copy.deepcopy(base)
    slow["network"]["bandwidth"] = "8Kbps"
    results = []
    for name, doc in (("fast", fast), ("slow", slow)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        results.append(run(clustersim, path, 1)[1])
    assert results[0]["trace_hash"] != results[1]["trace_hash"]
    assert results[1]["metrics"]["heartbeat"]["suspicions"] > results[0]["metrics"]["heartbeat"]["suspicions"]

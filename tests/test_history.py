"""`clustersim run --history FILE`: the KV client history (docs/history-format.md),
as JSON Lines or as Jepsen's EDN text, written only when the run completes and
without changing the trace hash."""
import json
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
LEADER_CRASH = ROOT / "scenarios" / "raft-leader-crash.json"
NO_KV = ROOT / "scenarios" / "hb-crash-partition.json"

JSONL_KEYS = ["process", "f", "key", "value", "expected", "node", "invoke_ns", "invoke_position", "complete_ns",
              "complete_position", "outcome", "result", "index", "error"]
EDN_LINE = re.compile(r'^\{:type :(invoke|ok|fail|info), :f :(read|write|cas|delete), :key "[^"]*", '
                      r':value (nil|"[^"]*"|\["[^"]*" "[^"]*"\]), :process (\d+)(, :time (\d+))?(, :error "[^"]*")?\}$')


def run(binary, scenario, *extra, seed=1):
    return subprocess.run([binary, "run", str(scenario), "--seed", str(seed), "--json", *extra],
                          capture_output=True, text=True, timeout=600)


def summary(proc):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_jsonl_history_has_every_operation(clustersim, tmp_path):
    path = tmp_path / "h.jsonl"
    s = summary(run(clustersim, LEADER_CRASH, "--history", str(path)))
    kv = s["metrics"]["kv"]
    assert not (tmp_path / "h.jsonl.partial").exists()
    ops = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(ops) == kv["client"]["submitted"] > 0
    for op in ops:
        assert list(op) == JSONL_KEYS
    assert len({op["process"] for op in ops}) == len(ops)
    assert [op["invoke_ns"] for op in ops] == sorted(op["invoke_ns"] for op in ops)
    # The outcomes are metrics.kv.ops, kind by kind.
    for f in ("read", "write", "cas", "delete"):
        mine = [op for op in ops if op["f"] == f]
        for outcome, name in (("ok", "ok"), ("fail", "fail"), ("info", "unknown")):
            assert sum(op["outcome"] == outcome for op in mine) == kv["ops"][f][name], (f, outcome)
    # The leader crashes at 10s with a write in flight: its outcome is unknown, known at the crash.
    unknown = [op for op in ops if op["outcome"] == "info"]
    assert unknown and all(op["complete_ns"] == 10_000_000_000 and op["error"] == "server crashed" for op in unknown)
    # Reads say what they read; an acknowledged write has its Raft index.
    assert any(op["f"] == "read" and op["outcome"] == "ok" and op["result"] is not None for op in ops)
    assert all(op["index"] for op in ops if op["f"] == "write" and op["outcome"] == "ok")


def test_edn_history_interleaves_invocations_and_completions(clustersim, tmp_path):
    path = tmp_path / "h.edn"
    s = summary(run(clustersim, LEADER_CRASH, "--history", str(path)))
    submitted = s["metrics"]["kv"]["client"]["submitted"]
    assert not (tmp_path / "h.edn.partial").exists()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 * submitted
    open_ops, last_time = set(), 0
    for line in lines:
        m = EDN_LINE.match(line)
        assert m, line
        kind, process, time = m.group(1), int(m.group(4)), m.group(6)
        assert time is not None  # every operation completed within the run
        assert int(time) >= last_time
        last_time = int(time)
        if kind == "invoke":
            assert process not in open_ops
            open_ops.add(process)
        else:
            open_ops.remove(process)
    assert not open_ops
    assert sum(line.startswith("{:type :invoke,") for line in lines) == submitted


def test_history_does_not_change_the_trace_hash(clustersim, tmp_path):
    for seed in (1, 2):
        plain = summary(run(clustersim, LEADER_CRASH, seed=seed))
        jsonl = summary(run(clustersim, LEADER_CRASH, "--history", str(tmp_path / "h.jsonl"), seed=seed))
        edn = summary(run(clustersim, LEADER_CRASH, "--history", str(tmp_path / "h.edn"),
                          "--trace", str(tmp_path / "t.jsonl"), seed=seed))
        assert plain["trace_hash"] == jsonl["trace_hash"] == edn["trace_hash"]
        assert plain["metrics"] == jsonl["metrics"] == edn["metrics"]


def test_history_bad_usage_exits_2_and_writes_nothing(clustersim, tmp_path):
    path = tmp_path / "h.jsonl"
    no_kv = run(clustersim, NO_KV, "--history", str(path))
    assert no_kv.returncode == 2
    assert no_kv.stdout == ""
    assert "no kv workload" in no_kv.stderr
    missing_dir = run(clustersim, LEADER_CRASH, "--history", str(tmp_path / "no-such-dir" / "h.jsonl"))
    assert missing_dir.returncode == 2 and missing_dir.stdout == ""
    assert "cannot open history file" in missing_dir.stderr
    no_argument = subprocess.run([clustersim, "run", str(LEADER_CRASH), "--history"], capture_output=True, text=True)
    assert no_argument.returncode == 2
    bad_until = run(clustersim, LEADER_CRASH, "--history", str(path), "--until", "soon")
    assert bad_until.returncode == 2
    assert list(tmp_path.iterdir()) == []

"""Malformed scenarios and CLI misuse must be rejected cleanly.

Every file in malformed/ is wrong in exactly one way; malformed/expected.json
says which JSON path the error must name and a substring of its message.
For each file, both `clustersim validate` and `clustersim run` must exit 2
(not crash), print nothing on stdout for `run`, report exactly one error on
stderr naming that path, and finish within a few seconds.

Run:  /usr/bin/python3 -m pytest tests/scenarios
The binary is $CLUSTERSIM_BIN, default build/release-gcc/clustersim under the
repository root.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MALFORMED = HERE / "malformed"
EXPECTED = json.loads((MALFORMED / "expected.json").read_text())
BIN = Path(os.environ.get("CLUSTERSIM_BIN", REPO / "build" / "release-gcc" / "clustersim")).resolve()
TIMEOUT_S = 5
EXIT_BAD_INPUT = 2


def clustersim(*args, cwd=None):
    if not BIN.is_file():
        pytest.fail(f"clustersim binary not found at {BIN} (set CLUSTERSIM_BIN)")
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd)
    # A negative return code is a signal (abort, segfault): never acceptable.
    assert proc.returncode >= 0, f"clustersim {' '.join(map(str, args))} died by signal {-proc.returncode}\n{proc.stderr}"
    return proc


def scenario_files():
    return sorted(p.name for p in MALFORMED.glob("*.json") if p.name != "expected.json")


def error_lines(stderr):
    """The "  PATH: MESSAGE" lines of a scenario error report."""
    return [line.strip() for line in stderr.splitlines() if line.startswith("  $")]


def test_every_file_has_an_expectation_and_vice_versa():
    assert sorted(EXPECTED) == scenario_files()
    assert len(EXPECTED) >= 24
    for name, e in EXPECTED.items():
        assert set(e) == {"path", "contains"}, name
        assert e["path"].startswith("$"), name


def check_report(name, proc):
    e = EXPECTED[name]
    assert proc.returncode == EXIT_BAD_INPUT, f"{name}: exit {proc.returncode}\n{proc.stderr}"
    assert "is not a valid scenario (1 error)" in proc.stderr, f"{name}: expected exactly one error\n{proc.stderr}"
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, f"{name}: {lines}"
    path, _, message = lines[0].partition(": ")
    assert path == e["path"], f"{name}: error names {path!r}, expected {e['path']!r}\n{proc.stderr}"
    assert e["contains"] in message, f"{name}: {message!r} lacks {e['contains']!r}"


@pytest.mark.parametrize("name", scenario_files())
def test_validate_rejects(name):
    proc = clustersim("validate", MALFORMED / name)
    check_report(name, proc)
    assert proc.stdout == ""


@pytest.mark.parametrize("name", scenario_files())
def test_run_rejects(name):
    proc = clustersim("run", MALFORMED / name)
    check_report(name, proc)
    assert proc.stdout == "", f"{name}: run printed on stdout: {proc.stdout!r}"


@pytest.mark.parametrize("name", scenario_files())
def test_run_json_rejects_with_empty_stdout(name):
    proc = clustersim("run", "--json", MALFORMED / name)
    check_report(name, proc)
    assert proc.stdout == ""


@pytest.mark.parametrize("name", ["unknown-node.json", "invalid-json-syntax.json", "fault-after-until.json"])
def test_run_with_trace_leaves_no_file(name, tmp_path):
    out = tmp_path / "OUT.jsonl"
    proc = clustersim("run", "--trace", out, MALFORMED / name, cwd=tmp_path)
    check_report(name, proc)
    assert not out.exists()
    assert not (tmp_path / "OUT.jsonl.partial").exists()
    assert list(tmp_path.iterdir()) == []


def test_invalid_json_reports_line_and_column():
    proc = clustersim("validate", MALFORMED / "invalid-json-syntax.json")
    assert re.search(r"not valid JSON \(line \d+, column \d+\)", proc.stderr), proc.stderr


# ---------------------------------------------------------------- CLI misuse

VALID = REPO / "scenarios" / "hb-crash-partition.json"


@pytest.mark.parametrize(
    "args, says",
    [
        ([], "subcommand"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["run"], "scenario"),
        (["validate"], "scenario"),
        (["run", "/nonexistent/scenario.json"], "cannot read scenario file"),
        (["validate", "/nonexistent/scenario.json"], "cannot read scenario file"),
        (["run", VALID, "--until", "banana"], "--until"),
        (["run", VALID, "--until", "0s"], "--until"),
        (["run", VALID, "--seed", "abc"], "--seed"),
        (["run", VALID, "--seed", "-1"], "--seed"),
        (["run", VALID, "--frobnicate"], "frobnicate"),
        (["bench", "hb", "--nodes", "1"], "--nodes"),
        (["bench", "ring", "--nodes", "1"], "--nodes"),
        (["bench", "paxos", "--nodes", "3"], "workload"),
        (["bench", "hb"], "--nodes"),
        (["diff", "/nonexistent/a.jsonl", "/nonexistent/b.jsonl"], "cannot read trace"),
    ],
)
def test_cli_misuse_exits_2_with_a_message(args, says):
    proc = clustersim(*args)
    assert proc.returncode == EXIT_BAD_INPUT, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stderr.strip(), f"{args}: nothing on stderr"
    assert says in proc.stderr, f"{args}: stderr lacks {says!r}:\n{proc.stderr}"
    assert proc.stdout == "", f"{args}: stdout: {proc.stdout!r}"


@pytest.mark.parametrize(
    "subcommand, explains",
    [
        ([], ["run", "validate", "bench", "diff"]),
        (["run"], ["scenario", "--seed", "--until", "--trace", "--json", "Exit 0"]),
        (["validate"], ["scenario", "Exit 0", "2"]),
        (["bench"], ["workload", "--nodes", "--messages", "--json"]),
        (["diff"], ["trace", "Exit 0"]),
    ],
)
def test_help_on_every_subcommand(subcommand, explains):
    proc = clustersim(*subcommand, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    for word in explains:
        assert word in proc.stdout, f"{subcommand} --help lacks {word!r}:\n{proc.stdout}"


def test_valid_scenario_still_validates():
    # Guards the corpus: the base shape the malformed files derive from is valid.
    proc = clustersim("validate", VALID)
    assert proc.returncode == 0, proc.stderr

"""At least 500 randomized Raft runs: random crashes (some losing unsynced
writes), partitions, pauses, loss, duplication, reordering and a membership
change under client load. All four safety properties must hold throughout, and
after the final heal every acknowledged command is applied by every running
member. A build variant that skips the vote's log check must be caught."""
import concurrent.futures
import os

import pytest

import raft_random

SEEDS = int(os.environ.get("RAFT_RANDOM_SEEDS", "500"))


def test_randomized_raft_runs_are_safe_and_live(clustersim, tmp_path):
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda s: (s, raft_random.run(clustersim, s, tmp_path)), range(1, SEEDS + 1))
        for seed, (rc, summary) in results:
            bad = [(e["name"], e.get("detail")) for e in summary["expectations"] if not e["pass"]]
            if rc != 0 or bad:
                failures.append((seed, bad))
    assert not failures, f"{len(failures)} of {SEEDS} seeds failed, e.g. {failures[:5]}"


def test_broken_vote_check_is_caught(clustersim, tmp_path):
    caught = []
    for seed in range(1, 201):
        rc, summary = raft_random.run(clustersim, seed, tmp_path, unsafe=True)
        safety = next(e for e in summary["expectations"] if e["name"] == "always raft_safety")
        if not safety["pass"]:
            assert rc == 1
            assert "at_ns" in safety and "trace_position" in safety and safety["detail"]
            caught.append(seed)
            if len(caught) >= 3:
                break
    assert caught, "200 randomized runs without the vote's log check and no safety violation was reported"

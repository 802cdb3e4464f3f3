"""Swarm-style randomized Raft runs (tests/swarm.py): at least 5,000 seeds,
each with its own cluster size (1-7), fault families and rates, then a
liveness phase on the healed cluster. All four safety properties must hold
throughout, a leader must be known to every member and every acknowledged
command applied by the deadline. The build variant that skips the vote's log
check must be caught."""
import os

import swarm

SEEDS = int(os.environ.get("SWARM_SEEDS", "5000"))


def test_swarm_runs_are_safe_and_live(clustersim):
    bad = swarm.run_many(clustersim, list(range(1, SEEDS + 1)), jobs=os.cpu_count() or 2)
    assert not bad, (f"{len(bad)} of {SEEDS} seeds failed (reproduce: /usr/bin/python3 tests/swarm.py --print SEED), "
                     f"e.g. {bad[:5]}")


def test_broken_vote_check_is_caught(clustersim, tmp_path):
    caught = []
    for seed in range(1, 301):
        rc, summary = swarm.run(clustersim, seed, tmp_path, unsafe=True)
        safety = next(e for e in summary["expectations"] if e["name"] == "always raft_safety")
        if not safety["pass"]:
            assert rc == 1
            assert "at_ns" in safety and "trace_position" in safety and safety["detail"]
            caught.append(seed)
            if len(caught) >= 3:
                break
    assert caught, "300 swarm runs without the vote's log check and no safety violation was reported"

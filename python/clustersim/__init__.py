"""clustersim: a deterministic simulator of Consul-style clusters, from Python.

A scenario (a file or a dict, in the format of docs/scenario-format.md) and a
seed make a run; the same scenario and seed give the same trace hash here as
from the `clustersim` command.

    import clustersim
    sim = clustersim.Simulation.from_file("scenarios/raft-leader-crash.json", seed=7)
    sim.run(until="12s")
    print(sim.leader, sim.node("s1").role)
    sim.crash("leader")
    sim.run()                       # to the scenario's end; expectations evaluated
    print(sim.passed, sim.trace_hash)
    df = clustersim.sweep("scenarios/raft-leader-crash.json", seeds=range(1, 51),
                          params={"raft.raft_multiplier": [1, 5]})

Durations are strings ("150ms", "2s") or integer nanoseconds. Errors are
Python exceptions: ScenarioError (with .errors, a list of (path, message)),
InvariantError (a bug in the simulated protocol or the simulator; the run
cannot go on), ValueError and RuntimeError for misuse.
"""

from ._native import InvariantError, ScenarioError, protocols
from ._simulation import Node, Simulation
from ._sweep import sweep

__all__ = ["Simulation", "Node", "sweep", "ScenarioError", "InvariantError", "protocols", "duration_ns"]

from ._durations import duration_ns  # noqa: E402

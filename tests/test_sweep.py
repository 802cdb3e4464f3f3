"""clustersim.sweep: one row per (parameters, seed), the same rows wherever
the runs ran (this process, local worker processes, a Dask cluster)."""
import pandas as pd
import pytest

import clustersim

SCENARIO = {
    "name": "sweep: leader crash",
    "protocol": "raft",
    "cluster": {"servers": 3},
    "network": {"latency": {"uniform": ["1ms", "3ms"]}},
    "raft": {"raft_multiplier": 1},
    "workload": {"kv": {"rate_per_s": 20, "keys": 4, "start": "2s", "stop": "7s"}},
    "faults": [{"at": "4s", "crash": "leader"}],
    "expect": [{"always": "raft_safety"}, {"by": "8s", "leader_known_to": "majority"}],
    "until": "8s",
}
PARAMS = {"raft.pre_vote": [True, False], "network.loss": [0.0, 0.05]}
SEEDS = range(1, 6)


@pytest.fixture(scope="module")
def in_process():
    return clustersim.sweep(SCENARIO, seeds=SEEDS, params=PARAMS, jobs=1, progress=False)


def test_one_row_per_combination_and_seed(in_process):
    df = in_process
    assert len(df) == 2 * 2 * 5
    assert list(df.columns[:3]) == ["raft.pre_vote", "network.loss", "seed"]
    assert list(df["seed"]) == list(SEEDS) * 4
    assert df["error"].isna().all()
    assert df["passed"].dtype == bool and df["passed"].all()
    assert "metrics.raft.downtime.p50_ns" in df.columns or any(c.startswith("metrics.raft.") for c in df.columns)
    assert any(c.startswith("metrics.kv.") for c in df.columns)
    # A row is the run a Simulation makes with the same settings.
    row = df.iloc[7]
    doc = dict(SCENARIO, raft=dict(SCENARIO["raft"], pre_vote=bool(row["raft.pre_vote"])),
               network=dict(SCENARIO["network"], loss=row["network.loss"]))
    sim = clustersim.Simulation.from_dict(doc, seed=int(row["seed"]))
    sim.run()
    assert sim.trace_hash == row["trace_hash"]
    assert sim.events == row["events"]
    # Different settings make different runs.
    assert df["trace_hash"].nunique() == len(df)


def test_local_processes_give_the_same_rows(in_process):
    local = clustersim.sweep(SCENARIO, seeds=SEEDS, params=PARAMS, jobs=2, progress=False)
    pd.testing.assert_frame_equal(local, in_process)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Debian 12's tornado, inside distributed
def test_a_dask_cluster_gives_the_same_rows(in_process):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        by_address = clustersim.sweep(SCENARIO, seeds=SEEDS, params=PARAMS, scheduler=cluster.scheduler_address,
                                      progress=False)
        with distributed.Client(cluster) as client:
            by_client = clustersim.sweep(SCENARIO, seeds=SEEDS, params=PARAMS, scheduler=client, progress=False)
            assert client.status == "running"  # a client passed in is left open
    for df in (by_address, by_client):
        assert len(df) == len(in_process)
        for i in range(len(df)):  # row by row
            assert df.iloc[i].equals(in_process.iloc[i]), (i, df.iloc[i].compare(in_process.iloc[i]))
        pd.testing.assert_frame_equal(df, in_process)


def test_the_scenario_may_be_a_file(tmp_path):
    import json
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCENARIO))
    df = clustersim.sweep(str(path), seeds=[3], jobs=1, progress=False, metrics=False)
    assert list(df.columns) == ["seed", "passed", "trace_hash", "error", "virtual_time_ns", "events", "failed"]
    assert df["passed"].iloc[0]


def test_bad_parameters_are_rejected_before_anything_runs():
    with pytest.raises(ValueError, match="bad parameter name"):
        clustersim.sweep(SCENARIO, seeds=[1], params={"raft..pre_vote": [True]})
    with pytest.raises(ValueError, match="is not an object"):
        clustersim.sweep(SCENARIO, seeds=[1], params={"until.x": [1]})
    with pytest.raises(ValueError, match="has no values"):
        clustersim.sweep(SCENARIO, seeds=[1], params={"raft.pre_vote": []})
    with pytest.raises(ValueError, match="non-negative integers"):
        clustersim.sweep(SCENARIO, seeds=[1, -2])

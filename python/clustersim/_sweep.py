"""clustersim.sweep: every (parameters, seed) combination of a scenario, in parallel."""

import copy
import itertools
import json
import multiprocessing
import os
import pathlib
import signal
import sys

from . import _native


def _load(scenario):
    """(the document, what to call it in errors)."""
    if isinstance(scenario, dict):
        return copy.deepcopy(scenario), "scenario"
    if isinstance(scenario, (str, os.PathLike)):
        p = pathlib.Path(scenario)
        try:
            return json.loads(p.read_text()), str(scenario)
        except OSError as e:
            raise FileNotFoundError(f"cannot read scenario file '{scenario}': {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{scenario} is not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
    raise TypeError(f"sweep(): a scenario is a file path or a dict, got {type(scenario).__name__}")


def _set(doc, dotted, value):
    """Sets doc["a"]["b"] for "a.b", making the objects on the way."""
    keys = dotted.split(".")
    if any(not k for k in keys):
        raise ValueError(f"sweep(): bad parameter name {dotted!r} (expected dotted keys such as \"raft.election_timeout\")")
    node = doc
    for k in keys[:-1]:
        if k not in node or node[k] is None:
            node[k] = {}
        if not isinstance(node[k], dict):
            raise ValueError(f"sweep(): parameter {dotted!r}: {k!r} is not an object in the scenario")
        node = node[k]
    node[keys[-1]] = value


_FIXED = ("passed", "trace_hash", "error", "virtual_time_ns", "events", "failed")
_parsed_cache = {}


def _parsed(text, origin):
    """The scenario parsed once per process (a sweep runs it once per seed)."""
    key = (text, origin)
    p = _parsed_cache.get(key)
    if p is None:
        if len(_parsed_cache) >= 64:
            _parsed_cache.clear()
        p = _parsed_cache[key] = _native.Parsed(text, origin)
    return p


def _run_one(task):
    """One run in a worker: a row, or a row with the error (never an exception)."""
    text, origin, params, seed, with_metrics = task
    row = dict(params)
    row["seed"] = seed
    try:
        session = _native.Session(_parsed(text, origin), seed)
        session.run_until(session.until)  # to the end: the run finishes
        result = session.row(with_metrics)
        for key in _FIXED:  # these first, then the metrics in name order
            row[key] = result.pop(key)
        row.update(result)
    except Exception as e:  # a failing run is a row with its error, not a lost sweep
        row.update(passed=False, trace_hash=None, error=f"{type(e).__name__}: {e}", virtual_time_ns=None,
                   events=None, failed=None)
    return row


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _progress(total, enabled):
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="run")


def sweep(scenario, seeds=range(1, 11), params=None, jobs=None, scheduler=None, progress=None, metrics=True):
    """Runs every (parameters, seed) combination of a scenario and returns a pandas DataFrame.

    scenario   a scenario file path or dict.
    seeds      the seeds to run each combination with (an iterable of ints).
    params     {"dotted.key": [values, ...]}: each key names a setting of the scenario document
               ("raft.election_timeout", "network.loss", "workload.kv.rate_per_s", ...); every
               combination of the values is run with every seed.
    jobs       local worker processes (default: every core); 1 runs in this process.
    scheduler  a Dask scheduler address ("tcp://host:8786") or a distributed.Client: the runs go
               to that cluster instead of local processes.
    progress   a progress bar (tqdm): default on a terminal, never when $CI is set.
    metrics    add every metric as a flattened column ("metrics.raft.downtime.p50_ns", ...).

    One row per run, in (combination, seed) order: the parameters, seed, passed, trace_hash,
    error (None, or the exception of a run that failed: it is a row, not a lost sweep),
    virtual_time_ns, events, failed (the expectations that did not hold) and the metrics.
    Results do not depend on where a run ran. Ctrl-C stops every worker.
    """
    import pandas as pd

    base, origin = _load(scenario)
    if params and not isinstance(base, dict):
        raise ValueError(f"sweep(): {origin} is not a JSON object, so it has no settings to vary")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("sweep(): no seeds")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"sweep(): seeds are non-negative integers, got {s!r}")
    params = dict(params or {})
    for k, vs in params.items():
        if not isinstance(k, str):
            raise TypeError(f"sweep(): parameter names are strings, got {k!r}")
        if isinstance(vs, (str, bytes)) or not hasattr(vs, "__iter__"):
            raise TypeError(f"sweep(): the values of {k!r} must be a list, got {vs!r}")
        params[k] = list(vs)
        if not params[k]:
            raise ValueError(f"sweep(): parameter {k!r} has no values")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"sweep(): jobs must be a positive integer, got {jobs!r}")

    keys = list(params)
    tasks = []
    for combo in itertools.product(*(params[k] for k in keys)):
        doc = copy.deepcopy(base)
        assignment = dict(zip(keys, combo))
        for k, v in assignment.items():
            _set(doc, k, v)
        try:
            text = json.dumps(doc)
        except (TypeError, ValueError) as e:
            raise TypeError(f"sweep(): the scenario with {assignment} is not JSON data: {e}") from None
        for seed in seeds:
            tasks.append((text, origin, assignment, seed, metrics))

    bar = _progress(len(tasks), progress)
    rows = [None] * len(tasks)
    try:
        if scheduler is not None:
            _on_dask(scheduler, tasks, rows, bar)
        elif (jobs or os.cpu_count() or 1) == 1 or len(tasks) == 1:
            for i, t in enumerate(tasks):
                rows[i] = _run_one(t)
                if bar:
                    bar.update(1)
        else:
            _on_processes(jobs or os.cpu_count() or 1, tasks, rows, bar)
    finally:
        if bar:
            bar.close()
    return pd.DataFrame(rows)


def _start_pool(ctx, workers):
    """A pool of workers that ignore SIGINT. A Ctrl-C while the workers are being made is held back
    until the pool exists, so that the pool can stop them; then it is raised."""
    held = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: held.append(True))
    except ValueError:  # not the main thread: no Ctrl-C arrives here
        return ctx.Pool(workers, initializer=_ignore_sigint)
    try:
        pool = ctx.Pool(workers, initializer=_ignore_sigint)
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        pool.terminate()
        pool.join()
        raise KeyboardInterrupt
    return pool


def _on_processes(jobs, tasks, rows, bar):
    ctx = multiprocessing.get_context("fork")
    pool = _start_pool(ctx, min(jobs, len(tasks)))
    try:
        for i, row in enumerate(pool.imap(_run_one, tasks, chunksize=max(1, len(tasks) // (jobs * 8)))):
            rows[i] = row
            if bar:
                bar.update(1)
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C (or any failure here): no worker is left running
        raise
    finally:
        pool.join()


def _on_dask(scheduler, tasks, rows, bar):
    from distributed import Client, as_completed
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(_run_one, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                rows[index[f.key]] = f.result()
                if bar:
                    bar.update(1)
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if own:
            client.close()

#!/usr/bin/python3
"""Writes docs/python.md, the Python API reference, from the module's docstrings.

    PYTHONPATH=build/release-gcc/python /usr/bin/python3 scripts/python_api_doc.py [--check]

--check compares instead of writing: exit 1 when docs/python.md is out of
date (the test suite runs it).
"""
import argparse
import inspect
import pathlib
import sys

import clustersim
from clustersim import _native

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs/python.md"

# The smallest scenario of each protocol, to list its queries.
SMALLEST = {
    "heartbeat": {"name": "doc", "protocol": "heartbeat", "cluster": {"servers": 2}, "until": "1s"},
    "raft": {"name": "doc", "protocol": "raft", "cluster": {"servers": 3}, "until": "1s"},
    "gossip": {"name": "doc", "protocol": "gossip", "cluster": {"servers": 1, "clients": 2}, "until": "1s"},
    "consul": {"name": "doc", "protocol": "consul", "cluster": {"servers": 1, "clients": 1}, "until": "1s"},
}


def doc(obj):
    return inspect.cleandoc(obj.__doc__ or "")


def signature(name, f):
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return name
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    return f"{name}{sig.replace(parameters=params)}"


def cell(text):
    return text.replace("|", "\\|")


def members(cls):
    """(name, kind, signature, docstring) of the public members, in source order."""
    out = []
    for name, value in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out.append((name, "property", name, doc(value)))
        elif isinstance(value, (classmethod, staticmethod)):
            out.append((name, "classmethod", signature(name, value.__func__), doc(value.__func__)))
        elif callable(value):
            out.append((name, "method", signature(name, value), doc(value)))
    return out


def render():
    lines = ["# The Python API", "",
             "Generated from the docstrings by `scripts/python_api_doc.py` (the test suite checks that it is",
             "current). Set-up: `export PYTHONPATH=$PWD/build/release-gcc/python` after `bash scripts/run.sh ...`",
             "(which builds the module), then Debian's `/usr/bin/python3`; `help(clustersim.Simulation)` shows",
             "the same text.", "", "## The package", "", doc(clustersim), ""]
    for cls in (clustersim.Simulation, clustersim.Node):
        lines += [f"## class `{cls.__name__}`", "", doc(cls), ""]
        for name, kind, sig, text in members(cls):
            lines += [f"### `{cls.__name__}.{sig}`" + (" (property)" if kind == "property" else ""), "", text, ""]
    lines += ["## Functions", ""]
    for f in (clustersim.sweep, clustersim.duration_ns, clustersim.protocols):
        lines += [f"### `clustersim.{signature(f.__name__, f)}`", "", doc(f) or "The protocols a scenario may run.",
                  ""]
    lines += ["## Exceptions", ""]
    for e in (clustersim.ScenarioError, clustersim.InvariantError):
        lines += [f"### `clustersim.{e.__name__}` ({e.__mro__[1].__name__})", "",
                  {"ScenarioError": "A scenario, or a fault given to a Simulation, is invalid. `.errors` lists every "
                                    "error as (JSON path, message), as `clustersim validate` reports them.",
                   "InvariantError": "An internal invariant of a protocol or of the simulator failed (a bug); the "
                                     "run cannot go on."}[e.__name__], ""]
    lines += ["## Actions and queries by protocol", "",
              "Each action is a method taking a target and the action's arguments as keywords "
              "(`sim.register_service(\"c1\", service={\"name\": \"web\"})`); each query a method taking keywords "
              "(`sim.raft_log(node=\"s1\", first=1, last=10)`). docs/scenario-format.md describes the actions' "
              "arguments.", "",
              "Every protocol has the faults (`crash`, `restart`, `pause`, `resume`, `partition`, `isolate`, "
              "`block`, `heal`, `degrade`, `restore`, `clock`, `slow`, `unslow`); the protocol's own actions:", "",
              "| protocol | actions | queries |", "|---|---|---|"]
    for proto in _native.protocols():
        sim = clustersim.Simulation.from_dict(SMALLEST[proto])
        queries = "<br>".join(f"`{n}({', '.join(args)})`: {cell(h)}" for n, (h, args) in sim.queries.items()) or "-"
        lines.append(f"| {proto} | {', '.join(sim.actions) or '-'} | {queries} |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/python.md is out of date")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run scripts/python_api_doc.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

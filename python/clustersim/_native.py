"""The compiled core (sim/python/module.cpp), with a clear error when it is missing."""

try:
    from ._clustersim import (InvariantError, Parsed, ScenarioError, Session, format_duration, parse_duration,
                              protocols, run_many, stack_actions)
except ImportError as e:  # pragma: no cover - only without a build
    raise ImportError(
        "clustersim's native module is not built or was built for another Python: run "
        "`bash scripts/build.sh release-gcc` and use Debian's /usr/bin/python3 with "
        "PYTHONPATH=<repository>/build/release-gcc/python (" + str(e) + ")") from e

__all__ = ["InvariantError", "Parsed", "ScenarioError", "Session", "format_duration", "parse_duration", "protocols", "run_many",
           "stack_actions"]

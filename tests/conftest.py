"""Shared fixtures: where the built binaries are."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _binary(var, default):
    path = pathlib.Path(os.environ.get(var, ROOT / default))
    if not path.exists():
        pytest.skip(f"{path} is not built (set {var} or run scripts/test.sh)")
    return str(path)


@pytest.fixture(scope="session")
def clustersim():
    return _binary("CLUSTERSIM_BIN", "build/release-gcc/clustersim")


@pytest.fixture(scope="session")
def clustersim_clang():
    return _binary("CLUSTERSIM_BIN_CLANG", "build/release-clang/clustersim")


@pytest.fixture(scope="session")
def clustersim_debug():
    return _binary("CLUSTERSIM_BIN_DEBUG", "build/debug-gcc/clustersim")


# `import clustersim`: scripts/test.sh puts build/release-gcc/python on
# PYTHONPATH; a bare pytest run finds the same build here (and passes it on
# to the scripts and notebooks the tests start).
import importlib.util  # noqa: E402
import sys  # noqa: E402

if importlib.util.find_spec("clustersim") is None:
    _PY = str(ROOT / "build/release-gcc/python")
    sys.path.insert(0, _PY)
    os.environ["PYTHONPATH"] = _PY + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")

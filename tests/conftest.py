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

"""Shared test set-up: paths, nbgrader's environment, and a random generator per test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# nbgrader runs `alembic`: make this interpreter's bin/ visible to every subprocess.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
# Kernels started by the tests (nbval, nbclient) must use the notebook's inline backend: a
# non-interactive MPLBACKEND inherited from the environment would silently drop every figure.
os.environ.pop("MPLBACKEND", None)

# Fixture notebooks are inputs of tests, not notebooks to validate with nbval.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO

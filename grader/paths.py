"""Where the course lives, and the environment nbgrader needs to run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "sources"
README = REPO / "README.md"
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
COURSE_ID = "matrix-derivatives"


def assignments(root: Path = SOLUTIONS) -> list[str]:
    """Assignment names: the folders of solutions/ that hold a notebook, in course order."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def nbgrader_env() -> dict[str, str]:
    """os.environ with this interpreter's bin/ first on PATH (added once, not again).

    nbgrader runs the `alembic` executable to create its gradebook; in a virtual environment
    that is not activated it is not found unless its bin/ is on PATH.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if path.split(os.pathsep)[0] != bindir:
        env["PATH"] = bindir + os.pathsep + path
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def use_nbgrader_path() -> None:
    """Put this interpreter's bin/ first on this process's PATH (for in-process nbgrader and
    every process it starts)."""
    os.environ["PATH"] = nbgrader_env()["PATH"]

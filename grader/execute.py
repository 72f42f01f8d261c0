"""`python -m grader execute`: run the instructor notebooks in solutions/ in place, so their
stored outputs are current (nbval compares against them)."""

from __future__ import annotations

import os
from pathlib import Path

from .paths import SOLUTIONS, assignments

KERNEL = "python3"


def execute_notebook(path: Path, timeout: int = 600) -> None:
    """Execute one notebook in its own folder and write it back with fresh outputs."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.pop("MPLBACKEND", None)  # figures need the kernel's inline backend
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)


def main(names: list[str] | None = None, timeout: int = 600) -> int:
    names = names or assignments()
    for name in names:
        for path in sorted((SOLUTIONS / name).glob("*.ipynb")):
            print(f"executing {path.relative_to(SOLUTIONS.parent)} ...", flush=True)
            execute_notebook(path, timeout)
    return 0

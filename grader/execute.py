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
    normalize(nb)
    nbformat.write(nb, path)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def normalize(nb) -> None:
    """Make an executed notebook reproducible byte for byte, so that re-executing an unchanged
    notebook leaves git clean: widget views get stable model ids (their state is not stored:
    it is useless without a kernel), and printed text split into chunks at random points is
    joined."""
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        merged = []
        for k, out in enumerate(cell.outputs):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                view["model_id"] = f"cell{i:03d}-output{k}"
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def main(names: list[str] | None = None, timeout: int = 600) -> int:
    names = names or assignments()
    for name in names:
        for path in sorted((SOLUTIONS / name).glob("*.ipynb")):
            print(f"executing {path.relative_to(SOLUTIONS.parent)} ...", flush=True)
            execute_notebook(path, timeout)
    return 0

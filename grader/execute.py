"""`python -m grader execute [NAMES] [--changed]`: build solutions/ from the plain-text sources
in sources/ and run them, so their stored outputs are current (nbval compares against them)."""

from __future__ import annotations

import os
from pathlib import Path

from .paths import SOLUTIONS, SOURCES
from .sources import build, solution_path, source_names, stale


def execute(nb, cwd: Path, timeout: int = 600):
    """Run a notebook (in memory) in the folder cwd, then normalize its outputs."""
    from .notebook_client import notebook_client

    os.environ.pop("MPLBACKEND", None)  # figures need the kernel's inline backend
    notebook_client(nb, cwd, timeout).execute()
    normalize(nb)
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def normalize(nb) -> None:
    """Make an executed notebook reproducible byte for byte, so that re-executing an unchanged
    notebook leaves git clean: widget views get model ids named after their cell (their state
    is not stored: it is useless without a kernel), and printed text split into chunks at
    random points is joined."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for k, out in enumerate(cell.outputs):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                view["model_id"] = f"{cell.id}-output{k}"
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def main(names: list[str] | None = None, timeout: int = 600, changed: bool = False,
         sources: Path = SOURCES, solutions: Path = SOLUTIONS) -> int:
    import nbformat

    names = names or source_names(sources)
    if changed:
        names = stale(names, sources, solutions)
        if not names:
            print("solutions/ matches sources/: nothing to execute.")
    for name in names:
        path = solution_path(name, solutions)
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"executing sources/{name}.md -> {path.relative_to(solutions.parent)} ...", flush=True)
        nbformat.write(execute(build(sources / f"{name}.md"), path.parent, timeout), path)
    return 0

"""Helpers for the notebook tests: find course notebooks, fill answers, execute."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from grader.notebook_client import notebook_client

REPO = Path(__file__).resolve().parent.parent
SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?### END SOLUTION[^\n]*\n?", re.S | re.M)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?",
                          re.S | re.M)


def course_notebooks(root: Path = REPO) -> list[tuple[str, Path, Path]]:
    """(assignment, solution notebook, student notebook) for every notebook in solutions/."""
    out = []
    for sol in sorted((root / "solutions").glob("*/*.ipynb")):
        if ".ipynb_checkpoints" in sol.parts:
            continue
        out.append((sol.parent.name, sol, root / "notebooks" / sol.parent.name / sol.name))
    return out


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def by_grade_id(nb) -> dict[str, dict]:
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade_id")}


def solution_code(source: str) -> str:
    """An answer cell's source with the markers removed: what a perfect student writes."""
    return re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", "", source, flags=re.M)


def solution_lines(source: str) -> list[str]:
    """The significant lines inside the solution blocks of a cell."""
    lines = []
    for block in SOLUTION_BLOCK.findall(source):
        for line in block.splitlines()[1:-1]:
            s = line.strip()
            if len(s) > 12 and not s.startswith("#"):
                lines.append(s)
    return lines


def hidden_lines(source: str) -> list[str]:
    lines = []
    for block in HIDDEN_BLOCK.findall(source):
        lines += [ln.strip() for ln in block.splitlines()[1:-1] if len(ln.strip()) > 12]
    return lines


def execute(nb, cwd: Path, allow_errors: bool = False, timeout: int = 120):
    notebook_client(nb, cwd, timeout, allow_errors=allow_errors).execute()
    return nb


def errors(nb) -> list[tuple[int, dict, dict]]:
    """(cell index, cell, error output) for every cell that raised."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((i, cell, out))
    return found


def read(path: Path):
    return nbformat.read(path, as_version=4)

"""Build nbgrader source notebooks from Python, with the right cell metadata.

Course authors (and helper scripts) use this to write a notebook under solutions/ without
hand-editing JSON::

    from grader.authoring import Notebook

    nb = Notebook("02-gradient")
    nb.md("# The gradient", locked=True)
    nb.code("import numpy as np\\nimport matdiff as md", locked=True)      # setup, restored on grading
    nb.code("x = np.ones(3)")                                           # a free "try it" cell
    nb.answer('''def grad_quadratic(A, x):
        ### BEGIN SOLUTION
        return (A + A.T) @ x
        ### END SOLUTION''', grade_id="grad_quadratic")
    nb.tests('''md.assert_gradient(...)
    ### BEGIN HIDDEN TESTS
    ...
    ### END HIDDEN TESTS''', grade_id="test_grad_quadratic", points=2)
    nb.write("solutions/02-gradient/02-gradient.ipynb", execute=True)

Kinds of cells (nbgrader schema 3):
- ``md(..., locked=True)`` / ``code(..., locked=True)``: read-only; nbgrader restores them when
  grading, so a student cannot break the notebook by editing them.
- ``code(...)``: an ordinary cell the learner may change freely (playgrounds, widgets).
- ``answer(...)``: an autograded answer cell; the parts between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` are replaced by ``raise NotImplementedError()`` in the student version.
- ``tests(...)``: an autograded test cell worth ``points``; parts between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed from the student version.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


class Notebook:
    """An nbgrader source notebook under construction."""

    def __init__(self, slug: str):
        self.slug = slug
        self.cells: list = []
        self._ids: set[str] = set()
        self._counter = 0

    def _auto_id(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}-{self._counter:03d}"

    def _unique(self, grade_id: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", grade_id):
            raise ValueError(f"grade_id {grade_id!r}: use letters, digits, _ and - only")
        if grade_id in self._ids:
            raise ValueError(f"duplicate grade_id {grade_id!r}")
        self._ids.add(grade_id)
        return grade_id

    def md(self, text: str, locked: bool = True, grade_id: str | None = None) -> None:
        cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
        if locked:
            cell.metadata.update(_meta(self._unique(grade_id or self._auto_id("md")),
                                       grade=False, solution=False, locked=True))
        self.cells.append(cell)

    def code(self, source: str, locked: bool = False, grade_id: str | None = None,
             tags: list[str] | None = None) -> None:
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        if locked:
            cell.metadata.update(_meta(self._unique(grade_id or self._auto_id("code")),
                                       grade=False, solution=False, locked=True))
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def answer(self, source: str, grade_id: str) -> None:
        if "### BEGIN SOLUTION" not in source:
            raise ValueError(f"answer cell {grade_id!r} has no ### BEGIN SOLUTION block")
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.metadata.update(_meta(self._unique(grade_id), grade=False, solution=True,
                                   locked=False))
        self.cells.append(cell)

    def tests(self, source: str, grade_id: str, points: float) -> None:
        if not grade_id.startswith("test_"):
            raise ValueError(f"test cell ids start with 'test_': {grade_id!r}")
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.metadata.update(_meta(self._unique(grade_id), grade=True, solution=False,
                                   locked=True, points=points))
        self.cells.append(cell)

    def build(self):
        nb = nbformat.v4.new_notebook()
        nb.cells = self.cells
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):  # stable ids: diffs stay readable
            cell["id"] = f"{self.slug}-{i:03d}"[:64]
        return nb

    def write(self, path: str | Path, execute: bool = True, timeout: int = 600) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(self.build(), path)
        if execute:
            from .execute import execute_notebook

            execute_notebook(path, timeout=timeout)
        return path

"""The course's plain-text sources: `sources/<assignment>.md` -> `solutions/<assignment>/*.ipynb`.

Each notebook is written once, as MyST Markdown read by jupytext (see docs/authoring.md). A
cell states its own id and kind in the source; nothing is derived from its position::

    +++ {"id": "ideas-gradient-column"}              a markdown cell (always locked)

    ```{code-cell} ipython3
    :id: ex2-quadratic-form
    :kind: locked                                    locked | answer | tests | (none: free)
    ```

``build`` turns a source into the nbgrader source notebook (cell ids, grade ids and nbgrader
metadata filled in, no outputs); ``python -m grader execute`` builds and runs it into
solutions/, and ``python -m grader release --check`` fails when solutions/ no longer matches
the sources.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .paths import SOLUTIONS, SOURCES

KINDS = ("locked", "answer", "tests", "free")
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
OWN_KEYS = ("id", "kind", "points", "learn")
TABLE_START, TABLE_END = "<!-- course-table: start -->", "<!-- course-table: end -->"


class SourceError(ValueError):
    """A source that does not say what each cell is: the message names the file and cell."""


@dataclass(frozen=True)
class Cell:
    """What a source says about one cell."""

    id: str
    kind: str
    points: float | None = None


def source_names(root: Path = SOURCES) -> list[str]:
    """Assignment names, one per source file, in course order."""
    return sorted(p.stem for p in root.glob("*.md")) if root.is_dir() else []


def _describe(path: Path, index: int, cell) -> Cell:
    meta = cell.metadata
    where = f"{path.name}, cell {index + 1} ({cell.source.strip().splitlines()[0][:50]!r}...)" \
        if cell.source.strip() else f"{path.name}, cell {index + 1}"
    cid = meta.get("id")
    if not isinstance(cid, str) or not ID.fullmatch(cid):
        raise SourceError(f"{where}: every cell needs an id (letters, digits, - and _, at most 64), "
                          f"got {cid!r}")
    default = "locked" if cell.cell_type == "markdown" else "free"
    kind = meta.get("kind", default)
    if kind not in KINDS:
        raise SourceError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if cell.cell_type == "markdown" and kind != "locked":
        raise SourceError(f"{where}: a markdown cell is always locked")
    points = meta.get("points")
    if kind == "tests":
        if not cid.startswith("test_"):
            raise SourceError(f"{where}: a tests cell's id starts with 'test_' (got {cid!r})")
        if not isinstance(points, int | float) or points <= 0:
            raise SourceError(f"{where}: a tests cell needs `:points:` (a positive number)")
    elif points is not None:
        raise SourceError(f"{where}: only a tests cell has points")
    if kind == "answer" and "### BEGIN SOLUTION" not in cell.source:
        raise SourceError(f"{where}: an answer cell needs a ### BEGIN SOLUTION block")
    return Cell(cid, kind, points)


def _nbgrader(cell: Cell) -> dict:
    meta = {"grade": cell.kind == "tests", "grade_id": cell.id, "locked": cell.kind != "answer",
            "schema_version": 3, "solution": cell.kind == "answer", "task": False}
    if cell.points is not None:
        meta["points"] = cell.points
    return meta


def build(path: Path):
    """The nbgrader source notebook a source describes, without outputs.

    >>> nb = build(SOURCES / "02-gradient.md")
    >>> cell = next(c for c in nb.cells if c.id == "test_grad_quadratic")
    >>> cell.metadata["nbgrader"]["grade_id"], cell.metadata["nbgrader"]["points"]
    ('test_grad_quadratic', 2)
    """
    import jupytext

    path = Path(path)
    text = jupytext.read(path, fmt="md:myst")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    seen: set[str] = set()
    for index, cell in enumerate(text.cells):
        what = _describe(path, index, cell)
        if what.id in seen:
            raise SourceError(f"{path.name}: the id {what.id!r} is used twice")
        seen.add(what.id)
        new = (nbformat.v4.new_markdown_cell if cell.cell_type == "markdown"
               else nbformat.v4.new_code_cell)(cell.source)
        new.id = what.id
        extra = {k: v for k, v in cell.metadata.items() if k not in OWN_KEYS}
        new.metadata.update(extra)
        if what.kind != "free":
            new.metadata["nbgrader"] = _nbgrader(what)
        nb.cells.append(new)
    return nb


def solution_path(name: str, solutions: Path = SOLUTIONS) -> Path:
    return solutions / name / f"{name}.ipynb"


def without_outputs(nb):
    """A copy of nb as the sources describe it: no outputs, no execution counts."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec",)}
    return nb


def stale(names: list[str] | None = None, sources: Path = SOURCES,
          solutions: Path = SOLUTIONS) -> list[str]:
    """The assignments whose notebook in solutions/ no longer matches its source (or is missing)."""
    out = []
    for name in names or source_names(sources):
        target = solution_path(name, solutions)
        if not target.exists():
            out.append(name)
            continue
        built = without_outputs(build(sources / f"{name}.md"))
        stored = without_outputs(nbformat.read(target, as_version=4))
        if nbformat.writes(built) != nbformat.writes(stored):
            out.append(name)
    return out


def course_table(sources: Path = SOURCES) -> str:
    """The README's course table, from the sources: title, what you learn (the title cell's
    ``learn``), and the graded functions with their points."""
    import jupytext

    rows = ["| # | notebook | you learn | graded functions (points) |", "|---|---|---|---|"]
    for number, name in enumerate(source_names(sources), start=1):
        text = jupytext.read(sources / f"{name}.md", fmt="md:myst")
        title_cell = text.cells[0]
        title = re.sub(r"^#\s*(\d+\.\s*)?", "", title_cell.source.strip().splitlines()[0])
        points = {c.metadata["id"]: c.metadata.get("points") for c in text.cells
                  if c.metadata.get("kind") == "tests"}
        graded = [f"`{c.metadata['id']}` ({points.get('test_' + c.metadata['id'], 0):g})"
                  for c in text.cells if c.metadata.get("kind") == "answer"]
        link = f"notebooks/{name}/{name}.ipynb"
        rows.append(f"| {number} | [{title}]({link}) | {title_cell.metadata.get('learn', '')} | "
                    f"{', '.join(graded)} |")
    return "\n".join(rows)


def readme_with_table(readme: str, table: str) -> str:
    """readme with the text between the course-table markers replaced by table."""
    start, end = readme.index(TABLE_START) + len(TABLE_START), readme.index(TABLE_END)
    return readme[:start] + "\n" + table + "\n" + readme[end:]

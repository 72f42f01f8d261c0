"""Feedback for the learner: a summary on top of each graded notebook (nbgrader then renders
it to HTML) and a page for each notebook that could not be graded. Both come from the Jinja
templates in templates/ (HTML-escaped).

What a learner never sees: the hidden tests' source, anything printed while they ran, the
message of an error they raised unless it is matdiff's verdict (which by contract never shows
an expected value), the grader's own frames, internal problems.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from .course import NotebookInfo
from .records import Record

DIAGNOSIS = re.compile(r"\[diagnosis: ([a-z][a-z-]*)\]")
MISCONCEPTION = re.compile(r"\[misconception: ([^\]\n]+)\]")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)
TEMPLATES = Path(__file__).with_name("templates")


@cache
def _template(name: str):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template(name)


def diagnosis_of(evalue: str) -> str:
    """The diagnosis tag matdiff put at the end of a failed check's message, or ''."""
    tags = DIAGNOSIS.findall(evalue or "")
    return tags[-1] if tags else ""


def misconception_of(evalue: str) -> str:
    """The name of the exercise's known mistake that a failed check matched, or ''."""
    names = MISCONCEPTION.findall(evalue or "")
    return names[-1].strip() if names else ""


def _learner_problems(record: Record) -> list[str]:
    return [p.text for p in record.problems if not p.internal]


def annotate(folder: Path, record: Record, present: list[str]) -> None:
    """Read each executed notebook of ``folder``: fill in the diagnosis and message of each
    failed test, hide what the hidden tests must keep secret, put the summary on top."""
    import nbformat

    for name in present:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta.get("grade") or cell.cell_type != "code":
                continue
            result = record.cell(name, meta.get("grade_id"))
            hidden = bool(HIDDEN.search(cell.source))
            cell.source = HIDDEN.sub("# (hidden tests: their inputs stay secret)", cell.source)
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    if not hidden:
                        kept.append(out)
                    continue
                tag = diagnosis_of(str(out.get("evalue", "")))
                message = f"{out.get('ename')}: {out.get('evalue', '')}"
                if hidden and not tag:
                    message = (f"{out.get('ename')} (details not shown: they could reveal the "
                               "hidden tests' inputs)")
                elif hidden and tag == "error":     # the learner's own exception: it may quote them
                    message = (f"{out.get('ename')}: your function raised an error (details not "
                               "shown: they could reveal the hidden tests' inputs). [diagnosis: "
                               "error]")
                if result is not None:
                    result.message = message
                    if tag and not result.passed:
                        result.diagnosis = tag
                        result.misconception = misconception_of(str(out.get("evalue", "")))
                if hidden or (out.get("ename") == "AssertionError" and tag):
                    out["evalue"] = message.split(": ", 1)[-1] if tag else ""
                    out["traceback"] = [message]      # no hidden lines, no grader frames
                kept.append(out)
            if hidden and len(kept) < len(cell.get("outputs", [])):
                kept.insert(0, nbformat.v4.new_output(
                    "stream", name="stdout",
                    text="[output printed during the hidden tests is not shown]\n"))
            cell.outputs = kept
        cells = [c for c in record.cells if c.notebook == name]
        summary = _template("summary.html.j2").render(record=record, cells=cells,
                                                      problems=_learner_problems(record))
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(summary))
        nbformat.write(nb, path)


def placeholders(out: Path, record: Record, notebooks: dict[str, NotebookInfo],
                 present=()) -> None:
    """A page for every notebook that could not be graded, saying why."""
    dst = out / "feedback" / record.student / record.assignment
    for name in notebooks:
        if name in present and (dst / f"{name}.html").exists():
            continue
        dst.mkdir(parents=True, exist_ok=True)
        maximum = sum(c.points for c in record.cells if c.notebook == name)
        (dst / f"{name}.html").write_text(_template("not_graded.html.j2").render(
            record=record, notebook=name, maximum=maximum, problems=_learner_problems(record)))

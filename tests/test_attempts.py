"""The attempt suite (tests/attempts/): every catalogued answer, run in a real kernel through
the notebook's visible test cell and then its full (visible + hidden) test cell.

Checked for every attempt:
- a right answer passes both cells;
- a mistake fails the visible cell, and its message names the expected diagnosis or
  misconception (unless the attempt hard-codes the visible data: then the hidden cell fails);
- a visible pass is a hidden pass (the ✓ a learner sees means the points);
- no output shows a traceback through matdiff, or a line of the solution;
- a failed entry-by-entry check of an array's values shows a mistake map.
One kernel per notebook (module-scoped), so the suite costs one notebook run per notebook plus
the test cells.
"""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest
from notebook_tools import REPO, by_grade_id, nbgrader_meta, solution_code, solution_lines

from grader.notebook_client import notebook_client

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OUR_FRAMES = re.compile(r"matdiff[/\\][\w/\\]+\.py")
VALUE_TAGS = {"wrong-values", "sign", "scale", "upstream-ignored"}   # entry-wise verdicts: a map
CATALOGUES = sorted(p.stem for p in (REPO / "tests" / "attempts").glob("nb*.py"))


def _catalogue(module: str) -> tuple[str, dict]:
    mod = importlib.import_module(f"attempts.{module}")
    return mod.NOTEBOOK, mod.ATTEMPTS


CASES = [(module, fn, attempt) for module in CATALOGUES
         for fn, attempts in _catalogue(module)[1].items() for attempt in attempts]


class Session:
    """A kernel that has run a whole solutions notebook; test cells are run in it one by one."""

    def __init__(self, name: str):
        self.name = name
        self.solution = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
        self.student = nbformat.read(REPO / "notebooks" / name / f"{name}.ipynb", as_version=4)
        self.answers = by_grade_id(self.solution)
        self.visible = by_grade_id(self.student)
        nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in self.solution.cells])
        self.client = notebook_client(nb, REPO / "solutions" / name, 120, allow_errors=True)
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                self.client.execute_cell(cell, index)
        self.index = len(nb.cells)

    def run(self, source: str):
        """Run source in the kernel; its outputs."""
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        return cell.outputs

    def close(self) -> None:
        self.client._cleanup_kernel()


@pytest.fixture(scope="module")
def sessions():
    opened: dict[str, Session] = {}
    yield opened
    for session in opened.values():
        session.close()


def _error(outputs) -> dict | None:
    return next((o for o in outputs if o.output_type == "error"), None)


def _text(outputs) -> str:
    parts = []
    for o in outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts += [o.evalue] + [ANSI.sub("", line) for line in o.traceback]
        else:
            parts += [str(v) for v in o.get("data", {}).values()]
    return "\n".join(parts)


def _has_map(outputs) -> bool:
    return any(o.output_type in ("display_data", "execute_result") and "mistake map" in
               _text([o]).lower() for o in outputs)


@pytest.mark.parametrize("module, fn, attempt", CASES,
                         ids=[f"{m}-{fn}-{a.label}" for m, fn, a in CASES])
def test_attempt(sessions, module, fn, attempt):
    name = _catalogue(module)[0]
    session = sessions.get(name) or sessions.setdefault(name, Session(name))
    answer = session.answers[fn]
    try:
        setup = session.run(attempt.code)
        assert _error(setup) is None, f"the attempt itself does not run: {_text(setup)}"
        visible = session.run(session.visible[f"test_{fn}"].source)
        full = session.run(session.answers[f"test_{fn}"].source)
    finally:
        session.run(solution_code(answer.source))          # the next attempt starts from the right answer
    seen, shown = _error(visible), _text(visible) + _text(full)
    assert not OUR_FRAMES.search(shown), f"a traceback through matdiff:\n{shown}"
    for line in solution_lines(answer.source):
        assert line not in shown, f"the output gives the answer away: {line}"
    if attempt.expect == "pass":
        assert seen is None, f"a right answer fails the visible test:\n{_text(visible)}"
        assert _error(full) is None, f"a right answer fails the hidden tests:\n{_text(full)}"
        return
    assert _error(full) is not None, "a wrong answer gets the points"
    if attempt.hidden_only and seen is None:
        return
    assert seen is not None, "a mistake passes the visible test"
    message = seen.evalue
    wanted = f"[diagnosis: {attempt.expect}]" if re.fullmatch(r"[a-z-]+", attempt.expect) else attempt.expect
    assert wanted in message, f"expected {wanted!r} in the verdict:\n{message}"
    tag = re.findall(r"\[diagnosis: ([a-z-]+)\]", message)
    if tag and tag[-1] in VALUE_TAGS and "entr" in message:       # an array judged entry by entry
        assert _has_map(visible), f"a failed values check shows no mistake map:\n{_text(visible)}"


def test_every_catalogued_notebook_lists_six_attempts_per_exercise(repo):
    for module in CATALOGUES:
        name, attempts = _catalogue(module)
        sol = nbformat.read(repo / "solutions" / name / f"{name}.ipynb", as_version=4)
        graded = [nbgrader_meta(c)["grade_id"] for c in sol.cells if nbgrader_meta(c).get("solution")]
        assert sorted(attempts) == sorted(graded), name
        for fn, listed in attempts.items():
            assert len(listed) >= 6, f"{name}/{fn}: {len(listed)} attempts"
            assert any(a.expect == "pass" for a in listed) and any(a.expect != "pass" for a in listed)
    assert [_catalogue(m)[0] for m in CATALOGUES] == sorted(p.stem for p in (repo / "sources").glob("*.md"))

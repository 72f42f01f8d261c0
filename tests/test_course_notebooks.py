"""Every course notebook: an nbgrader source that releases cleanly, student versions with
no solutions or hidden tests, solutions that pass when pasted in, and blank answers that
fail their tests with a readable message (not a crash).

(nbval, configured in pyproject.toml, separately re-runs every solutions/ notebook and
compares its outputs with the stored ones.)
"""

from __future__ import annotations

import re

import pytest
from notebook_tools import (
    by_grade_id,
    course_notebooks,
    errors,
    execute,
    hidden_lines,
    nbgrader_meta,
    read,
    solution_code,
    solution_lines,
)

NOTEBOOKS = course_notebooks()
IDS = [f"{a}/{s.name}" for a, s, _ in NOTEBOOKS]
CONTRACT = {"grad_quadratic", "jacobian_linear", "d_Wx_dW", "vec_jacobian_Wx", "softmax_jacobian",
            "matmul_backward", "linear_backward", "tanh_backward"}
SKELETON = ["goals", "worked example", "try it", "exercise", "summary"]

pytestmark = pytest.mark.slow
if not NOTEBOOKS:
    pytest.skip("no course notebooks yet", allow_module_level=True)


@pytest.fixture(params=NOTEBOOKS, ids=IDS)
def pair(request):
    assignment, sol, student = request.param
    return assignment, read(sol), read(student), sol, student


def test_source_notebook_is_a_complete_nbgrader_assignment(pair):
    _, sol, _, path, _ = pair
    assert sol.metadata.get("kernelspec", {}).get("name") == "python3"
    ids = [nbgrader_meta(c)["grade_id"] for c in sol.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    answers = [c for c in sol.cells if nbgrader_meta(c).get("solution")]
    tests = [c for c in sol.cells if nbgrader_meta(c).get("grade")]
    assert len(answers) >= 3 and len(tests) >= 3, "at least three autograded exercises"
    for t in tests:
        assert nbgrader_meta(t)["grade_id"].startswith("test_")
        assert nbgrader_meta(t).get("points", 0) > 0
        assert "### BEGIN HIDDEN TESTS" in t.source, f"{nbgrader_meta(t)['grade_id']}: no hidden tests"
    for name in CONTRACT:
        for a in answers:
            if re.search(rf"^def {name}\(", a.source, re.M):
                assert f"test_{name}" in ids, f"{name} needs a test cell test_{name}"
    text = "\n".join(c.source.lower() for c in sol.cells if c.cell_type == "markdown")
    for part in SKELETON:
        assert part in text, f"skeleton section missing: {part!r}"
    assert all(c.get("outputs") is not None for c in sol.cells if c.cell_type == "code")
    assert any(c.get("outputs") for c in sol.cells if c.cell_type == "code"), "not executed"


def test_student_version_has_no_solutions_or_hidden_tests(pair):
    _, sol, student, _, _ = pair
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    sol_cells, stu_cells = by_grade_id(sol), by_grade_id(student)
    assert set(sol_cells) == set(stu_cells)
    for gid, cell in sol_cells.items():
        for line in solution_lines(cell.source):
            assert line not in stu_cells[gid].source, f"{gid}: solution line leaked: {line}"
        for line in hidden_lines(cell.source):
            assert line not in stu_cells[gid].source, f"{gid}: hidden test leaked: {line}"
    for cell in student.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError" in cell.source


def test_student_version_with_the_solutions_pasted_in_runs_clean(pair):
    _, sol, student, _, path = pair
    sol_cells = by_grade_id(sol)
    for cell in student.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = solution_code(sol_cells[meta["grade_id"]].source)
    execute(student, path.parent)
    assert not errors(student)


def test_unanswered_student_version_fails_its_tests_readably(pair):
    _, _, student, _, path = pair
    execute(student, path.parent, allow_errors=True)
    failed = {nbgrader_meta(c).get("grade_id"): out for _, c, out in errors(student)}
    for cell in student.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            gid = meta["grade_id"]
            assert gid in failed, f"{gid} passes without an answer"
            # matdiff.CheckFailed is the AssertionError subclass the checks raise
            assert failed[gid]["ename"] in {"AssertionError", "CheckFailed"}, (gid, failed[gid]["ename"])
            assert "not answered" in failed[gid]["evalue"], (gid, failed[gid]["evalue"])
    for _, cell, out in errors(student):
        if not nbgrader_meta(cell).get("grade"):
            assert out["ename"] == "NotImplementedError", (cell.source[:80], out["ename"])


def test_every_exercise_has_collapsed_progressive_hints_and_a_progress_view(pair):
    """Issue 8: two or three hints per graded exercise, collapsed until asked for, and
    md.progress() at the end of the notebook."""
    _, sol, _, _, _ = pair
    since_last_answer = []
    for cell in sol.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            hints = sum(c.source.count("<details>") for c in since_last_answer
                        if c.cell_type == "markdown")
            assert 2 <= hints <= 4, f"{meta['grade_id']}: {hints} collapsed hints before it"
            since_last_answer = []
        elif meta.get("grade"):
            since_last_answer = []
        else:
            since_last_answer.append(cell)
    code = [c for c in sol.cells if c.cell_type == "code"]
    assert any("md.progress()" in c.source for c in code[-3:]), "no md.progress() at the end"

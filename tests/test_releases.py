"""Grading across releases: a notebook downloaded before a course fix is matched to the current
release by grade id and is not blamed for it (grader/history.py, grader/preprocessors.py).

The earlier release is real: the student version of 03-jacobian from commit 11142ab, stored in
tests/fixtures/releases/, answered and graded against today's release with real nbgrader.
"""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from notebook_tools import by_grade_id, nbgrader_meta, solution_code

from grader import autograde, history

pytestmark = pytest.mark.slow

NAME = "03-jacobian"
RESHAPED = """def jacobian_linear(A, layout):
    if layout == "numerator":
        return A
    if layout == "denominator":
        return A.reshape(A.shape[1], A.shape[0])
    raise ValueError(layout)
"""
MISTAKE = "reshaped to (m, n) instead of transposed"


def _answered(nb, solutions):
    """nb with every answer cell filled from the instructor's solution (matched by grade id)."""
    nb = json.loads(json.dumps(nb))
    answers = by_grade_id(solutions)
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell["source"] = solution_code(answers[meta["grade_id"]].source)
    return nb


def _locked_code(nb, index=0):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and nbgrader_meta(c).get("locked")
            and not nbgrader_meta(c).get("grade")][index]


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def graded(repo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("releases")
    solutions = nbformat.read(repo / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    earlier = json.loads((repo / "tests" / "fixtures" / "releases" / f"{NAME}-11142ab.ipynb").read_text())
    current = json.loads((repo / "notebooks" / NAME / f"{NAME}.ipynb").read_text())
    subs = {"earlier": _answered(earlier, solutions), "current": _answered(current, solutions)}
    edited = _answered(current, solutions)
    _locked_code(edited, 1)["source"] += "\nprint('my change to a locked cell')"
    subs["current-edits-a-locked-cell"] = edited
    old_edited = _answered(earlier, solutions)
    _locked_code(old_edited, 1)["source"] += "\nprint('my change to a locked cell')"
    subs["earlier-edits-a-locked-cell"] = old_edited
    old_deleted = _answered(earlier, solutions)
    gone = _locked_code(old_deleted, 2)
    old_deleted["cells"].remove(gone)
    subs["earlier-deletes-a-locked-cell"] = old_deleted
    mistaken = _answered(current, solutions)
    for cell in mistaken["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "jacobian_linear":
            cell["source"] = RESHAPED
    subs["reshapes"] = mistaken
    for student, nb in subs.items():
        folder = tmp / "subs" / student / NAME
        folder.mkdir(parents=True)
        (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))
    out = tmp / "out"
    autograde.main(tmp / "subs", out, jobs=2, timeout=120)
    return {"out": out, "grades": {r["student"]: r for r in _csv(out / "grades.csv")},
            "problems": _csv(out / "problems.csv"), "edited": _locked_code(edited, 1),
            "old_edited": _locked_code(old_edited, 1), "gone": gone}


def _problems(graded, student):
    return [p["problem"] for p in graded["problems"] if p["student"] == student]


def _feedback(graded, student):
    return (graded["out"] / "feedback" / student / NAME / f"{NAME}.html").read_text()


def test_the_fixture_is_an_earlier_release_with_positional_ids(repo):
    earlier = nbformat.read(repo / "tests" / "fixtures" / "releases" / f"{NAME}-11142ab.ipynb", as_version=4)
    current = nbformat.read(repo / "notebooks" / NAME / f"{NAME}.ipynb", as_version=4)
    old, new = history.fixed_cells(earlier), history.fixed_cells(current)
    positional = [gid for gid in old if gid[:3] in ("md-", "cod")]
    assert len(positional) > 20 and not set(positional) & set(new)
    releases = history.load()[f"{NAME}/{NAME}"]
    assert history.match(releases, current, old).earlier
    assert not history.match(releases, current, new).earlier


def test_an_earlier_release_answered_gets_full_points_and_no_blame(graded):
    for student in ("earlier", "current"):
        row = graded["grades"][student]
        assert row["score"] == row["max_score"] != "0", (student, _problems(graded, student))
        assert not any("restored" in p for p in _problems(graded, student)), _problems(graded, student)
    assert "earlier release" in _feedback(graded, "earlier")
    assert "earlier release" not in _feedback(graded, "current")
    assert "restored" not in _feedback(graded, "earlier")


def test_an_edited_locked_cell_is_still_restored_and_reported(graded):
    for student, cell in (("current-edits-a-locked-cell", graded["edited"]),
                          ("earlier-edits-a-locked-cell", graded["old_edited"])):
        row = graded["grades"][student]
        assert row["score"] == row["max_score"], student
        problems = _problems(graded, student)
        assert any("restored 1 deleted or altered" in p and nbgrader_meta(cell)["grade_id"] in p
                   for p in problems), (student, problems)


def test_a_deleted_cell_of_the_learners_own_release_is_reported(graded):
    problems = _problems(graded, "earlier-deletes-a-locked-cell")
    assert any("restored 1 deleted" in p for p in problems), problems


def test_a_known_mistake_is_named_in_exercises_csv_and_counted_in_the_report(graded):
    from grader.report import main as report

    rows = [r for r in _csv(graded["out"] / "exercises.csv") if r["student"] == "reshapes"]
    row = next(r for r in rows if r["grade_id"] == "test_jacobian_linear")
    assert (row["score"], row["diagnosis"], row["misconception"]) == ("0", "misconception", MISTAKE)
    assert all(r["misconception"] == "" for r in rows if r["grade_id"] != "test_jacobian_linear")
    assert report(graded["out"]) == 0
    text = (graded["out"] / "report.md").read_text()
    assert f"{MISTAKE} (1)" in text
    assert MISTAKE in _feedback(graded, "reshapes")

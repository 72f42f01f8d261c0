"""`python -m grader autograde` and `report` end to end, with real nbgrader and real kernels.

One class of submissions (complete, blank, typical mistakes, hostile ones) is built from the
fixture assignment tests/fixtures/course/solutions/demo and graded once with --jobs 2 for the
whole module; a subset is graded again with --jobs 1 from a .zip to check that the grades do
not depend on parallelism, the input form or the run.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from grader import autograde
from grader.release import generate
from grader.report import main as report

pytestmark = pytest.mark.slow

TIMEOUT = 25
SQUARE = "def grad_square(x):\n    return 2 * x"
CUBE = "def grad_cube(x):\n    return 3 * x**2"
WRONG_SQUARE = "def grad_square(x):\n    return x"                 # scale
WRONG_CUBE = "def grad_cube(x):\n    return -3 * x**2"             # sign


def _set(nb, gid, source):
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == gid:
            cell["source"] = source
            return
    raise KeyError(gid)


def _free(nb, index, source):
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                               "execution_count": None, "id": f"free-{index}"})


def _class(student: dict) -> dict[str, object]:
    """student name -> notebook dict (or raw bytes for a broken file, or None for no notebook)."""
    def nb(square=None, cube=None):
        out = copy.deepcopy(student)
        if square:
            _set(out, "grad_square", square)
        if cube:
            _set(out, "grad_cube", cube)
        return out

    subs: dict[str, object] = {
        "complete": nb(SQUARE, CUBE),
        "blank": nb(),
        "typical": nb(WRONG_SQUARE, WRONG_CUBE),
        "transposed": nb("def grad_square(x):\n    return 2 * x.T", CUBE),
        # hostile or broken
        "endless": nb(SQUARE, "while True:\n    pass"),
        "exits": nb(SQUARE, "import os\nos._exit(3)"),
        "segfault": nb("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", CUBE),
        "flood": nb(SQUARE, CUBE + "\nfor i in range(400):\n    print('spam ' * 2000)"),
        "patches-matdiff": nb(WRONG_SQUARE + "\nimport matdiff\nmatdiff.assert_gradient = "
                              "lambda *a, **k: None\nmd = matdiff", WRONG_CUBE),
        "patches-numpy": nb(WRONG_SQUARE + "\nimport numpy\nnumpy.testing.assert_allclose = "
                            "lambda *a, **k: None\nnumpy.allclose = lambda *a, **k: True",
                            "def grad_cube(x):\n    import matdiff.checks, matdiff.diagnose as d\n"
                            "    matdiff.checks.compare = lambda *a, **k: None\n"
                            "    d.compare = lambda *a, **k: None\n    return -x"),
        "patches-while-checked": nb(SQUARE, CUBE.replace("return", "import numpy\n    numpy.linalg.norm "
                                                         "= lambda *a, **k: 0.0\n    return")),
        "swallows-errors": nb(WRONG_SQUARE + "\nget_ipython().set_custom_exc((BaseException,), "
                              "lambda *a, **k: None)", WRONG_CUBE),
        "swaps-code": nb(WRONG_SQUARE + "\nimport matdiff\ntry:\n    matdiff.assert_gradient.__code__"
                         " = (lambda *a, **k: None).__code__\nexcept Exception:\n    pass",
                         "def grad_cube(x):\n    import matdiff\n    try:\n        "
                         "matdiff.check_gradient.__code__ = (lambda *a, **k: None).__code__\n"
                         "    except Exception:\n        pass\n    return x"),
        "kills-grader": nb(SQUARE, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
        "prints-inputs": nb("def grad_square(x):\n    if x.shape == (4, 2):\n"
                            "        print('INPUT', x.tolist())\n"
                            "        raise ValueError(f'bad {x.tolist()}')\n    return 2 * x", CUBE),
        "malformed": b'{"cells": [ this is not json',
        "missing": None,
    }
    edited = nb(WRONG_SQUARE, WRONG_CUBE)     # wrong answers, tests "fixed" to pass, imports deleted
    edited["cells"] = [c for c in edited["cells"]
                       if c["metadata"].get("nbgrader", {}).get("grade_id") not in ("code-002",
                                                                                     "test_grad_square")]
    _set(edited, "test_grad_cube", "pass")
    subs["edits-tests"] = edited
    restored = nb(SQUARE, CUBE)               # right answers, test cells deleted: restored, full marks
    restored["cells"] = [c for c in restored["cells"]
                         if not c["metadata"].get("nbgrader", {}).get("grade", False)]
    _free(restored, 1, "print('my own scratch cell')")
    subs["deletes-tests"] = restored
    # right answers and an interact cell: its output widget once hung the next cell now and
    # then (the grader answered the widget on the socket it was reading the cell's reply from)
    widgets = nb(SQUARE, CUBE)
    _free(widgets, 1, "import ipywidgets\nshown = ipywidgets.interact(lambda k: print('value', 7 * k), k=3)")
    _free(widgets, 2, "print('outputs sent back to the kernel:', len(shown.widget.out.outputs))")
    subs["widgets"] = widgets
    return subs


def _write(root: Path, subs: dict) -> None:
    for name, nb in subs.items():
        folder = root / name / "demo"
        folder.mkdir(parents=True)
        if nb is None:
            (folder / "notes.txt").write_text("I forgot the notebook")
        elif isinstance(nb, bytes):
            (folder / "demo.ipynb").write_bytes(nb)
        else:
            (folder / "demo.ipynb").write_text(json.dumps(nb))


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def course(tmp_path_factory, repo):
    tmp = tmp_path_factory.mktemp("grading")
    solutions = repo / "tests" / "fixtures" / "course" / "solutions"
    generate(solutions, tmp / "release", ["demo"])
    student = json.loads((tmp / "release" / "demo" / "demo.ipynb").read_text())
    subs = _class(student)
    _write(tmp / "submissions", subs)
    return {"tmp": tmp, "solutions": solutions, "subs": subs}


@pytest.fixture(scope="module")
def graded(course):
    out = course["tmp"] / "out"
    code = autograde.main(course["tmp"] / "submissions", out, jobs=2, timeout=TIMEOUT,
                          solutions=course["solutions"])
    grades = {r["student"]: r for r in _csv(out / "grades.csv")}
    cells = {(r["student"], r["grade_id"]): r for r in _csv(out / "exercises.csv")}
    problems = _csv(out / "problems.csv")
    return {"code": code, "out": out, "grades": grades, "cells": cells, "problems": problems}


def _score(graded, student):
    return float(graded["grades"][student]["score"])


def test_every_student_has_a_row_and_the_run_succeeds(graded, course):
    assert graded["code"] == 0
    assert set(graded["grades"]) == set(course["subs"])
    assert all(r["max_score"] == "3" for r in graded["grades"].values())
    assert len(graded["cells"]) == 2 * len(course["subs"])


def test_complete_gets_full_marks_and_blank_gets_zero(graded):
    assert _score(graded, "complete") == 3
    assert _score(graded, "blank") == 0
    assert graded["cells"][("complete", "test_grad_square")]["diagnosis"] == ""
    assert graded["cells"][("blank", "test_grad_cube")]["diagnosis"] == "not-answered"


def test_typical_mistakes_get_their_diagnosis(graded):
    assert _score(graded, "typical") == 0
    assert graded["cells"][("typical", "test_grad_square")]["diagnosis"] == "scale"
    assert graded["cells"][("typical", "test_grad_cube")]["diagnosis"] == "sign"
    assert graded["cells"][("transposed", "test_grad_square")]["diagnosis"] == "transpose"
    assert _score(graded, "transposed") == 1


@pytest.mark.parametrize("student, expected", [
    ("endless", 2), ("exits", 2), ("segfault", 0), ("flood", 3),
    # right answers that patch numpy while checked: the checks run outside their kernel, so
    # the patch changes nothing and the answers keep their points
    ("patches-matdiff", 0), ("patches-numpy", 0), ("patches-while-checked", 3), ("swallows-errors", 0),
    ("swaps-code", 0),
    ("edits-tests", 0), ("deletes-tests", 3), ("kills-grader", 2), ("prints-inputs", 1),
    ("malformed", 0), ("missing", 0),
])
def test_hostile_and_broken_submissions_earn_only_what_they_deserve(graded, student, expected):
    assert _score(graded, student) == expected


def test_killing_the_kernels_parent_changes_nothing(graded):
    """The kernel's parent is the init of its own PID namespace: the kill is ignored, so the
    notebook goes on (and where it stops cannot depend on when a signal lands)."""
    assert not [p for p in graded["problems"] if p["student"] == "kills-grader"]


@pytest.mark.parametrize("student, words", [
    ("endless", "time limit"), ("exits", "kernel died"), ("segfault", "kernel died"),
    ("flood", "truncated"),
    ("malformed", "not a readable notebook"), ("missing", "missing"), ("deletes-tests", "restored"),
])
def test_each_problem_is_explained_in_the_log_and_the_feedback(graded, student, words):
    said = [p["problem"] for p in graded["problems"] if p["student"] == student]
    assert any(words in p for p in said), said
    pages = list((graded["out"] / "feedback" / student / "demo").glob("*.html"))
    assert pages
    assert words in pages[0].read_text()
    assert words in (graded["out"] / "autograde.log").read_text()


def test_an_interact_cell_runs_and_the_grader_sends_nothing_back_to_its_widget(graded):
    assert _score(graded, "widgets") == 3
    page = (graded["out"] / "feedback" / "widgets" / "demo" / "demo.html").read_text()
    assert "outputs sent back to the kernel: 0" in page


def test_feedback_shows_the_friendly_message(graded):
    page = (graded["out"] / "feedback" / "typical" / "demo" / "demo.html").read_text()
    assert "Score: 0 / 3" in page
    assert "[diagnosis: sign]" in page
    assert "matdiff.grader" not in page                # the grader's own lines stay hidden
    assert "arange(8.0)" not in page                   # and so do the hidden tests


def test_feedback_hides_what_the_hidden_tests_printed_or_raised(graded):
    page = (graded["out"] / "feedback" / "prints-inputs" / "demo" / "demo.html").read_text()
    assert "[6.0, 7.0]" not in page and "4.0, 5.0" not in page    # arange(8.0): hidden input
    assert "not shown" in page


def test_jobs_1_from_a_zip_gives_the_same_grades(course, graded):
    subset = ["complete", "blank", "typical", "patches-matdiff", "deletes-tests"]
    archive = course["tmp"] / "subset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in subset:
            for f in (course["tmp"] / "submissions" / name).rglob("*"):
                zf.write(f, Path("submissions") / f.relative_to(course["tmp"] / "submissions"))
    out = course["tmp"] / "out-seq"
    assert autograde.main(archive, out, jobs=1, timeout=TIMEOUT, solutions=course["solutions"]) == 0
    again = {(r["student"], r["grade_id"]): r for r in _csv(out / "exercises.csv")}
    assert set(again) == {k for k in graded["cells"] if k[0] in subset}
    for key, row in again.items():
        assert row == graded["cells"][key]


def test_report(graded):
    assert report(graded["out"]) == 0
    text = (graded["out"] / "report.md").read_text()
    assert "| demo | test_grad_square |" in text and "scale" in text
    assert (graded["out"] / "scores.png").stat().st_size > 1000
    assert report(graded["out"], fmt="html") == 0
    assert "<table>" in (graded["out"] / "report.html").read_text()


@pytest.mark.parametrize("name", ["02-gradient", "05-matmul-backward", "08-layout-conventions"])
def test_a_real_course_notebook(repo, tmp_path, name):
    """The instructor version of a course notebook gets full marks, the student version zero:
    its tests run in the trusted kernel and call the answers across the sandbox (issue 14)."""
    source = repo / "solutions" / name
    if not any(source.glob("*.ipynb")):
        pytest.skip(f"solutions/{name} not written yet")
    generate(repo / "solutions", tmp_path / "release", [name])
    for student, folder in (("teacher", source), ("nobody", tmp_path / "release" / name)):
        dest = tmp_path / "subs" / student / name
        dest.mkdir(parents=True)
        for nb in folder.glob("*.ipynb"):
            shutil.copy(nb, dest / nb.name)
    out = tmp_path / "out"
    assert autograde.main(tmp_path / "subs", out, jobs=2, timeout=300, solutions=repo / "solutions") == 0
    grades = {r["student"]: r for r in _csv(out / "grades.csv")}
    why = (out / "problems.csv").read_text() + (out / "exercises.csv").read_text()
    assert float(grades["teacher"]["score"]) == float(grades["teacher"]["max_score"]) > 0, why
    assert float(grades["nobody"]["score"]) == 0
    # the tests called the answers across the boundary (counted for benchmarks/course.py)
    assert json.loads((out / "run.json").read_text())["boundary_calls"] >= 2

"""nbgrader's own workflow: `nbgrader autograde` (what the Formgrader's Autograde button runs)
configured by the course's factory uses the same sandbox and verdicts as `python -m grader
autograde`, and `python -m grader autograde --gradebook` writes its grades into the gradebook
the Formgrader reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import hostile
import pytest

from grader import autograde
from grader.paths import COURSE_ID, nbgrader_env

pytestmark = pytest.mark.slow


def _scores(db) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions("demo")}


@pytest.fixture(scope="module")
def course(tmp_path_factory, repo):
    tmp = tmp_path_factory.mktemp("nbgrader-path")
    solutions, student = hostile.demo(tmp, repo)
    code = hostile.TECHNIQUES["read-solutions"][1].format(solutions=repr(str(solutions)))
    wrong = json.loads(json.dumps(student))
    hostile._set(wrong, "grad_square", hostile.WRONG + hostile.STEAL + code)
    subs = {"honest": hostile.honest(student), "thief": wrong}
    return {"tmp": tmp, "solutions": solutions, "subs": subs}


def test_nbgrader_autograde_uses_the_sandbox_and_the_verdicts(course, repo):
    root = course["tmp"] / "course"
    (root / "source").mkdir(parents=True)
    shutil.copytree(course["solutions"] / "demo", root / "source" / "demo")
    (root / "nbgrader_config.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from grader.autograde.course import nbgrader_config\n"
        "c = get_config()\n"
        f"c.merge(nbgrader_config({str(root)!r}, log_level=None, notebook_seconds=60, grading=True))\n")
    for name, nb in course["subs"].items():
        folder = root / "submitted" / name / "demo"
        folder.mkdir(parents=True)
        (folder / "demo.ipynb").write_text(json.dumps(nb))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    env = nbgrader_env()
    for cmd in (["generate_assignment", "demo", "--force"], ["autograde", "demo", "--force"]):
        r = subprocess.run(nbgrader + cmd, cwd=root, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # plain nbgrader would give the thief 3: the solutions are readable outside the sandbox
    assert _scores(root / "gradebook.db") == {"honest": 3.0, "thief": 0.0}


def test_python_m_grader_writes_the_course_gradebook(course, tmp_path):
    subs = tmp_path / "subs"
    for name, nb in course["subs"].items():
        (subs / name / "demo").mkdir(parents=True)
        (subs / name / "demo" / "demo.ipynb").write_text(json.dumps(nb))
    db = tmp_path / "course" / "gradebook.db"
    out = tmp_path / "out"
    assert autograde.main(subs, out, jobs=1, timeout=60, solutions=course["solutions"],
                          gradebook=str(db)) == 0
    assert _scores(db) == {"honest": 3.0, "thief": 0.0}
    assert (tmp_path / "course" / "autograded" / "honest" / "demo" / "demo.ipynb").exists()
    # grading again replaces the submission, it does not add one
    assert autograde.main(subs, out, jobs=1, timeout=60, solutions=course["solutions"],
                          gradebook=str(db)) == 0
    assert _scores(db) == {"honest": 3.0, "thief": 0.0}

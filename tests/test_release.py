"""`python -m grader release [--check]` on a small real assignment (tests/fixtures)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from grader.release import main as release

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path, repo):
    shutil.copytree(repo / "tests" / "fixtures" / "course" / "solutions", tmp_path / "solutions")
    return tmp_path


def _student(course):
    return json.loads((course / "notebooks" / "demo" / "demo.ipynb").read_text())


def test_release_writes_student_versions_and_check_accepts_them(course):
    sol, out = course / "solutions", course / "notebooks"
    assert release(check=True, solutions=sol, notebooks=out) == 1      # nothing released yet
    assert release(solutions=sol, notebooks=out) == 0
    nb = _student(course)
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text and "return 2 * x" not in text
    assert "BEGIN HIDDEN TESTS" not in text and "arange(8.0)" not in text
    assert "raise NotImplementedError()" in text
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert release(check=True, solutions=sol, notebooks=out) == 0


def test_release_is_deterministic(course):
    sol, out = course / "solutions", course / "notebooks"
    release(solutions=sol, notebooks=out)
    first = (out / "demo" / "demo.ipynb").read_bytes()
    release(solutions=sol, notebooks=out)
    assert (out / "demo" / "demo.ipynb").read_bytes() == first


def test_check_fails_on_a_hand_edited_student_notebook(course, capsys):
    sol, out = course / "solutions", course / "notebooks"
    release(solutions=sol, notebooks=out)
    path = out / "demo" / "demo.ipynb"
    path.write_text(path.read_text().replace("A tiny assignment", "A hand-edited assignment"))
    assert release(check=True, solutions=sol, notebooks=out) == 1
    assert "demo/demo.ipynb (differs)" in capsys.readouterr().out


def test_check_fails_when_solutions_change(course):
    sol, out = course / "solutions", course / "notebooks"
    release(solutions=sol, notebooks=out)
    (sol / "demo" / "data.txt").write_text("1 2 3\n")
    assert release(check=True, solutions=sol, notebooks=out) == 1


def test_command_line_on_the_repository(repo):
    """The real command, on the real course: notebooks/ must be current."""
    proc = subprocess.run([sys.executable, "-m", "grader", "release", "--check"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

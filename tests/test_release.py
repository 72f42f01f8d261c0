"""`python -m grader release [--check]` on a small real assignment (tests/fixtures)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path, repo):
    shutil.copytree(repo / "tests" / "fixtures" / "course" / "solutions", tmp_path / "solutions")
    return tmp_path


def release(course=None, **kwargs):
    """The release command on the fixture course: no text sources, its own release history."""
    from grader.release import main

    history = kwargs.pop("releases", kwargs["solutions"].parent / "releases.json")
    return main(sources=None, releases=history, **kwargs)


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


def test_release_records_each_new_release_once_and_check_wants_it(course):
    from grader import history

    sol, out, path = course / "solutions", course / "notebooks", course / "releases.json"
    release(solutions=sol, notebooks=out)
    first = history.load(path)["demo/demo"]
    assert len(first) == 1 and "test_grad_square" in first[0].cells
    release(solutions=sol, notebooks=out)
    assert history.load(path)["demo/demo"] == first                  # the same release: not again
    nb = json.loads((sol / "demo" / "demo.ipynb").read_text())
    nb["cells"][0]["source"] = "# A tiny assignment, with a fixed typo"
    (sol / "demo" / "demo.ipynb").write_text(json.dumps(nb))
    release(solutions=sol, notebooks=out)
    assert len(history.load(path)["demo/demo"]) == 2
    path.write_text(path.read_text().replace(history.load(path)["demo/demo"][1].id, "0" * 16))
    assert release(check=True, solutions=sol, notebooks=out) == 1   # today's release unrecorded

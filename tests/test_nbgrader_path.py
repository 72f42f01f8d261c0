"""nbgrader's own workflow: `nbgrader autograde` (what the Formgrader's Autograde button runs)
configured by the course's factory uses the same sandbox and verdicts as `python -m grader
autograde`, and `python -m grader autograde --gradebook` writes its grades into the gradebook
the Formgrader reads."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import hostile
import hostile_inprocess
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
    # wrong answers and a patch of matdiff that undoes itself: in-process, the kind of attack
    # only a verdict computed outside the learner's kernel stops (issue 14)
    patcher = json.loads(json.dumps(student))
    hostile._set(patcher, "grad_square",
                 hostile.WRONG + hostile_inprocess.TECHNIQUES["self-restoring-patch"][1])
    subs = {"honest": hostile.honest(student), "thief": wrong, "patcher": patcher}
    return {"tmp": tmp, "solutions": solutions, "subs": subs}


def instructor_course(course, repo, root):
    """A course root as an instructor has it for nbgrader: source/, nbgrader_config.py built
    by the course's factory (as grader/nbgrader_config.py is), two submissions in submitted/."""
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
    r = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "demo", "--force"],
                       cwd=root, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return root


def test_nbgrader_autograde_uses_the_sandbox_and_the_verdicts(course, repo):
    root = instructor_course(course, repo, course["tmp"] / "course")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    env = nbgrader_env()
    r = subprocess.run(nbgrader + ["autograde", "demo", "--force"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # plain nbgrader would give the thief 3: the solutions are readable outside the sandbox
    assert _scores(root / "gradebook.db") == {"honest": 3.0, "thief": 0.0, "patcher": 0.0}


def test_the_formgrader_autograde_button(course, repo, tmp_path):
    """In the browser: the Formgrader's Autograde button grades in the sandbox, with our
    verdicts, and shows the scores."""
    from browser_tools import CHROMIUM_ARGS, find_chromium, free_port, require_chromium

    chromium = require_chromium(find_chromium(), ci=os.environ.get("CI") == "true")
    playwright = pytest.importorskip("playwright.sync_api")
    root = instructor_course(course, repo, tmp_path / "course")
    port, token = free_port(), secrets.token_hex(16)
    env = nbgrader_env()
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.set_default_timeout(30_000)
            for _ in range(300):
                try:
                    # log in once (the cookie serves the page's API calls), then the page
                    page.goto(f"http://127.0.0.1:{port}/login?next=%2Fformgrader%2Fmanage_"
                              f"submissions%2Fdemo")
                    page.fill("input[name=password]", token)
                    page.keyboard.press("Enter")
                    page.wait_for_url("**/formgrader/manage_submissions/demo")
                    break
                except Exception:
                    assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                    time.sleep(0.2)
            for student, score in (("thief", "0 / 3"), ("honest", "3 / 3")):
                try:
                    page.locator("#main-table tr", has_text=student).wait_for()
                except Exception:
                    raise AssertionError(page.inner_text("body")[:2000] + "\n" + (
                        tmp_path / "server.log").read_text()[-3000:]) from None
                row = page.locator("#main-table tr", has_text=student)
                row.locator(".autograde a").click()
                page.locator("#main-table tr", has_text=student).locator(
                    ".score", has_text=score).wait_for(timeout=180_000)
                modal = page.locator("#success-modal")       # "Successfully autograded ..."
                modal.wait_for()
                assert f"Successfully autograded 'demo' for student '{student}'" in modal.inner_text()
                modal.locator(".modal-footer button", has_text="OK").click()
                modal.wait_for(state="hidden")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
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
    assert _scores(db) == {"honest": 3.0, "thief": 0.0, "patcher": 0.0}
    assert (tmp_path / "course" / "autograded" / "honest" / "demo" / "demo.ipynb").exists()
    # grading again replaces the submission, it does not add one
    assert autograde.main(subs, out, jobs=1, timeout=60, solutions=course["solutions"],
                          gradebook=str(db)) == 0
    assert _scores(db) == {"honest": 3.0, "thief": 0.0, "patcher": 0.0}

"""The course in a real browser: JupyterLab driven by Playwright in Debian's Chromium.

One JupyterLab server (loopback, random token, a temporary copy of the course) and one
browser serve the whole module. For every notebook in solutions/: open it, Run > Run All
Cells, wait for the kernel, then check that every cell ran in order, no traceback shows,
every widget rendered and every expected figure is on screen. Then a learner's session on a
released notebook: a right answer and its visible test, a transposed answer and the named
mistake, a wrong answer of the right shape and its mistake map; and a slider that changes
what a widget shows.

Without Chromium these tests skip with a message; with CI=true they fail instead.
Screenshots go to test-artifacts/browser/; MATDIFF_SCREENSHOTS=1 also refreshes the ones
the README shows (docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from browser_tools import (
    CHROMIUM_ARGS,
    JS_CLOSE_ALL,
    MISSING_CHROMIUM,
    REPO,
    LabServer,
    cell_locator,
    cells,
    find_chromium,
    open_notebook,
    output_text,
    replace_cell_source,
    require_chromium,
    run_all_from_menu,
    run_cell,
    screenshot,
    scroll_to_top,
    wait_idle,
)
from notebook_tools import solution_code

pytestmark = pytest.mark.browser

FIXTURE = REPO / "tests" / "fixtures" / "course" / "solutions"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _course_notebooks() -> list[Path]:
    return sorted(p for p in (REPO / "solutions").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


COURSE = _course_notebooks()
# The fixture assignment runs too: it checks the harness even before the course exists.
RUN_ALL = ["solutions/" + str(p.relative_to(REPO / "solutions")) for p in COURSE] + [
    "fixture/solutions/demo/demo.ipynb"]


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium(find_chromium(), ci=os.environ.get("CI") == "true")


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    """A copy of the course for JupyterLab to serve: running notebooks writes checkpoints
    and files, and the repository must not change."""
    root = tmp_path_factory.mktemp("course")
    for name in ("solutions", "notebooks"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(FIXTURE, root / "fixture" / "solutions")
    return root


@pytest.fixture(scope="module")
def lab(chromium, course_root):
    server = LabServer(course_root, REPO / "test-artifacts" / "browser" / "jupyterlab.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture(scope="module")
def _tab(browser, lab):
    """One browser tab for the module: JupyterLab loads once, notebooks open and close in it."""
    tab = {"page": None}
    yield tab
    if tab["page"] is not None and not tab["page"].is_closed():
        tab["page"].close()


@pytest.fixture
def page(_tab, browser, lab):
    if _tab["page"] is None or _tab["page"].is_closed():
        _tab["page"] = browser.new_page()
    page = _tab["page"]
    yield page
    try:  # one kernel at a time on a busy machine; a clean JupyterLab for the next test
        page.keyboard.press("Escape")
        page.evaluate(JS_CLOSE_ALL)
    except Exception:  # a broken page is replaced; the test already said why
        page.close()
        _tab["page"] = None


def _shot(page, name: str, readme: str | None = None, region: tuple | None = None) -> None:
    path = screenshot(page, name, region=region)
    if readme and os.environ.get("MATDIFF_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / readme)


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path)


# ------------------------------------------------------------------- what the page shows
JS_RENDERED = """(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index].node;
  const out = cell.querySelector('.jp-Cell-outputArea');
  if (!out) return {text: '', imgs: 0, loaded: 0, widgets: 0};
  const imgs = Array.from(out.querySelectorAll('img'));
  return {
    text: out.innerText,
    imgs: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    widgets: out.querySelectorAll('.jupyter-widgets').length,
    widgetOutputs: out.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]').length,
  };
}"""


def _stored_figures(nb) -> dict[int, int]:
    """Figures in the stored outputs of the solution notebook: cell index -> count."""
    found = {}
    for i, cell in enumerate(nb.cells):
        n = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
                or "image/svg+xml" in o.get("data", {}))
        if n:
            found[i] = n
    return found


def _wait_figures(page, index: int, want: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        seen = page.evaluate(JS_RENDERED, index)
        if seen["loaded"] >= want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index}: {want} figure(s) expected, {seen['loaded']} shown "
                                 f"({seen['imgs']} image element(s))")
        page.wait_for_timeout(200)


def _raises(cell: dict) -> bool:
    return "raises-exception" in cell["tags"]


# ----------------------------------------------------------------------- every notebook
@pytest.mark.parametrize("rel", RUN_ALL)
def test_notebook_runs_in_jupyterlab(page, lab, course_root, rel):
    # the copy JupyterLab serves (the course may be edited while the tests run)
    stored = nbformat.read(course_root / rel, as_version=4)
    open_notebook(page, lab, rel)
    try:
        run_all_from_menu(page)
        wait_idle(page, timeout=150_000)
        live = cells(page)
        assert len(live) == len(stored.cells), "JupyterLab shows a different number of cells"

        # every cell ran, in order, in this kernel
        code = [c for c in live if c["type"] == "code" and c["source"].strip()]
        counts = [c["count"] for c in code]
        not_run = [c["index"] for c in code if c["count"] is None]
        assert not not_run, f"cells {not_run} did not run (an earlier cell stopped Run All?)"
        assert counts == list(range(1, len(code) + 1)), f"execution order {counts}"

        # no traceback, in the outputs or on screen
        for c in code:
            if _raises(c):
                continue
            errs = [f"{o['ename']}: {o['evalue']}" for o in c["outputs"] if o["type"] == "error"]
            assert not errs, f"cell {c['index']} raised {errs[0][:500]}\n--- source:\n{c['source']}"
            shown = page.evaluate(JS_RENDERED, c["index"])["text"]
            assert "Traceback" not in shown, f"cell {c['index']} shows a traceback:\n{shown[:1500]}"

        # every widget rendered (give the widget manager a moment to finish)
        widget_cells = [c["index"] for c in code if any(WIDGET_MIME in o["mimes"] for o in c["outputs"])]
        for i in widget_cells:
            out = cell_locator(page, i).locator(".jp-Cell-outputArea")
            out.locator(".jupyter-widgets").first.wait_for(timeout=20_000)
            page.wait_for_function(
                """(i) => {
                  const cell = window.jupyterapp.shell.currentWidget.content.widgets[i].node;
                  return !cell.innerText.includes('Loading widget');
                }""", arg=i, timeout=20_000)
            text = output_text(page, i)
            assert "Error displaying widget" not in text, f"cell {i}: {text[:500]}"
        body = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").inner_text()
        assert "Error displaying widget" not in body

        # the figures of the stored notebook are on screen, and every live figure loaded
        expected = _stored_figures(stored)
        for c in code:
            live_figs = sum(1 for o in c["outputs"] if {"image/png", "image/svg+xml"} & set(o["mimes"]))
            want = max(expected.get(c["index"], 0), live_figs)
            if want:
                _wait_figures(page, c["index"], want)
    finally:
        _shot(page, "run-all_" + _slug(rel))


# ----------------------------------------------------------------- a learner's session
STUDENT_02 = {
    "path": "notebooks/02-gradient/02-gradient.ipynb",
    "answer": "grad_quadratic",
    "right": 'def grad_quadratic(A, x):\n    """Gradient of x^T A x with respect to x."""\n'
             "    return (A + A.T) @ x\n",
    # a row instead of a column: the checker names it
    "transposed": "def grad_quadratic(A, x):\n    return x.T @ (A + A.T)\n",
    # the right shape, wrong values: only the symmetric case's formula
    "wrong": "def grad_quadratic(A, x):\n    return 2 * A @ x\n",
    "scratch": ("import numpy as np\nimport matdiff as md\n"
                "A_try = np.array([[2.0, -1.0, 0.5], [1.0, 3.0, -2.0], [0.0, 4.0, 1.0]])\n"
                "x_try = np.array([[1.0], [0.25], [1.0]])\n"
                "md.check_gradient(lambda x: (x.T @ A_try @ x).item(),\n"
                "                  lambda x: grad_quadratic(A_try, x), x_try, name=\"grad_quadratic\")\n"),
}
STUDENT_DEMO = {
    "path": "fixture/notebooks/demo/demo.ipynb",
    "answer": "grad_square",
    "right": "def grad_square(x):\n    return 2 * x\n",
    "transposed": "def grad_square(x):\n    return 2 * x.T\n",
    "wrong": "def grad_square(x):\n    return 2 * x + 1\n",
    "scratch": ("import numpy as np\nimport matdiff as md\n"
                "x_try = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])\n"
                "md.check_gradient(lambda x: np.sum(x**2), grad_square, x_try, name=\"grad_square\")\n"),
}


def _answer_the_other_exercises(released: Path, solution: Path, keep: str) -> None:
    """The learner has done the notebook's other exercises (so that running the cells above
    the one under test does not stop at an unanswered one): paste their solutions in."""
    answers = {c.metadata["nbgrader"]["grade_id"]: solution_code(c.source)
               for c in nbformat.read(solution, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and grade_id != keep:
            cell.source = answers[grade_id]
    nbformat.write(nb, released)


@pytest.fixture(scope="module")
def student(course_root) -> dict:
    """The released notebook a learner works in: 02-gradient, or the fixture assignment
    released with nbgrader when 02 does not exist yet."""
    from grader.release import generate

    released = course_root / STUDENT_02["path"]
    solution = course_root / "solutions" / released.parent.name / released.name
    if solution.is_file() and not released.is_file():  # written, not released yet
        generate(course_root / "solutions", course_root / "notebooks", [released.parent.name])
    if released.is_file():
        nb = nbformat.read(released, as_version=4)
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        if {"grad_quadratic", "test_grad_quadratic"} <= ids:
            _answer_the_other_exercises(released, solution, keep="grad_quadratic")
            return STUDENT_02
    generate(course_root / "fixture" / "solutions", course_root / "fixture" / "notebooks", ["demo"])
    _answer_the_other_exercises(course_root / STUDENT_DEMO["path"],
                                course_root / "fixture" / "solutions" / "demo" / "demo.ipynb",
                                keep="grad_square")
    return STUDENT_DEMO


def _check_cell(live: list[dict], answer: int, name: str) -> int | None:
    """A cell between the answer and the next exercise that displays a check of it
    (``md.check_...(..., name, ...)`` as the last expression), if the notebook has one."""
    for c in live[answer + 1:]:
        if c["solution"]:
            break
        if c["type"] != "code" or c["grade_id"]:
            continue
        lines = [ln for ln in c["source"].strip().splitlines() if ln.strip()]
        if name in c["source"] and re.search(r"md\.check_\w+\(", c["source"]) and lines \
                and not lines[-1].rstrip().endswith(";") and "assert" not in c["source"]:
            return c["index"]
    return None


def test_learner_answers_and_sees_feedback(page, lab, student):
    name = student["answer"]
    open_notebook(page, lab, student["path"])
    live = cells(page)
    answer = next(c["index"] for c in live if c["grade_id"] == name)
    test = next(c["index"] for c in live if c["grade_id"] == f"test_{name}")
    assert "NotImplementedError" in live[answer]["source"], "a released answer cell starts blank"
    # Binder's student set-up (binder/postBuild): nbgrader's Validate button, no instructor panel
    assert page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").count() == 1
    assert page.get_by_text("Create Assignment").count() == 0
    log = lab.log_text()
    assert "validate_assignment | extension was successfully loaded" in log
    assert "formgrader | extension was successfully loaded" not in log
    try:
        # 1. the learner writes the right answer, then runs everything up to the visible test
        # (Run > Run All Above Selected Cell) and the test itself
        replace_cell_source(page, answer, student["right"])
        cell_locator(page, test).locator(".jp-InputPrompt").click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Above Selected Cell").first.click()
        wait_idle(page)
        above = cells(page)[:test]
        errs = [c["index"] for c in above if any(o["type"] == "error" for o in c["outputs"])]
        assert not errs, f"cells above the visible test raised: {errs}"
        assert above[answer]["count"] is not None, "the answer cell did not run"
        shown = run_cell(page, test)
        assert "Traceback" not in shown and "CheckFailed" not in shown, shown[:1500]
        if shown.strip():
            assert "✓" in shown or "correct" in shown, f"no verdict shown: {shown[:500]}"

        # 2. a transposed answer: the visible test fails and names the mistake
        replace_cell_source(page, answer, student["transposed"])
        run_cell(page, answer)
        shown = run_cell(page, test)
        # matdiff.CheckFailed (an AssertionError) shows its message alone, with no traceback
        assert "CheckFailed" in shown and "Traceback" not in shown, shown[:1500]
        assert "transpose" in shown, f"the mistake is not named:\n{shown[:1500]}"
        assert "[diagnosis: transpose]" in shown
        _shot(page, "learner-transposed")

        # 3. a wrong answer of the right shape: the check's display draws the mistake map
        replace_cell_source(page, answer, student["wrong"])
        run_cell(page, answer)
        shown = run_cell(page, test)
        assert "CheckFailed" in shown and "✗" in shown, shown[:1500]
        check = _check_cell(cells(page), answer, name)
        if check is None:  # no check cell in the notebook: the learner writes one below the answer
            cell_locator(page, answer).locator(".jp-InputPrompt").click()
            page.keyboard.press("Escape")
            page.keyboard.press("b")
            check = answer + 1
            page.wait_for_function(f"() => ({len(live) + 1}) === window.jupyterapp.shell"
                                   ".currentWidget.content.widgets.length")
            replace_cell_source(page, check, student["scratch"])
        run_cell(page, check)
        result = cell_locator(page, check).locator(".jp-Cell-outputArea .matdiff-result").first
        result.wait_for()
        assert result.locator("table td").count() > 0, "no mistake map table"
        assert result.locator('table td[title="too high"], table td[title="too low"]').count() > 0
        text = result.inner_text()
        assert "✗" in text and "Mistake map" in text, text[:1000]
        assert "[diagnosis:" in text
        scroll_to_top(cell_locator(page, answer), above=20)
        _shot(page, "learner-mistake-map")
        _shot(page, "learner-mistake-map-close-up", readme="mistake-map.png",
              region=(cell_locator(page, answer), cell_locator(page, check)))
    except BaseException:
        _shot(page, "learner-FAILED")
        raise


# ---------------------------------------------------------------------- a widget reacts
SLIDER_FALLBACK = {
    "cells": [
        "import ipywidgets as widgets\n",
        "@widgets.interact(n=widgets.IntSlider(value=3, min=1, max=12))\n"
        "def powers(n):\n    print(f\"2 to the {n} is {2 ** n}\")\n",
    ]}

# The text and pictures a widget shows, without the slider's own readout.
JS_WIDGET_VIEW = """(el) => {
  const copy = el.cloneNode(true);
  copy.querySelectorAll('.widget-slider, .widget-readout').forEach(n => n.remove());
  const imgs = Array.from(el.querySelectorAll('img')).map(i => i.src.slice(-200));
  return copy.innerText + '|' + imgs.join('|');
}"""


def _slider_notebook(course_root: Path) -> str:
    """The first course notebook that shows a slider, or a tiny one written for the test."""
    for p in COURSE:
        text = p.read_text()
        if WIDGET_MIME in text and re.search(r"Slider|interact", text):
            return "solutions/" + str(p.relative_to(REPO / "solutions"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in SLIDER_FALLBACK["cells"]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = course_root / "fixture" / "slider.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return "fixture/slider.ipynb"


def test_a_slider_changes_what_the_widget_shows(page, lab, course_root):
    rel = _slider_notebook(course_root)
    open_notebook(page, lab, rel)
    try:
        run_all_from_menu(page)
        wait_idle(page)
        sliders = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea .widget-slider")
        sliders.first.wait_for(timeout=20_000)
        slider = sliders.first
        # everything the cell shows (interact: the slider and its output; or several displays)
        box = slider.locator("xpath=ancestor::div[contains(@class,'jp-Cell-outputArea')][1]")
        slider.scroll_into_view_if_needed()
        before = box.evaluate(JS_WIDGET_VIEW)
        readout = slider.locator(".widget-readout").inner_text()
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target, .slider").first.bounding_box()
        handle.hover()
        hb = handle.bounding_box()
        start_x, y = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
        # drag towards whichever end is further away
        target = track["x"] + (track["width"] * 0.85 if start_x < track["x"] + track["width"] / 2
                               else track["width"] * 0.15)
        page.mouse.move(start_x, y)
        page.mouse.down()
        page.mouse.move(target, y, steps=8)
        page.mouse.up()
        deadline = time.monotonic() + 30
        while box.evaluate(JS_WIDGET_VIEW) == before and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        wait_idle(page)
        after = box.evaluate(JS_WIDGET_VIEW)
        assert slider.locator(".widget-readout").inner_text() != readout, "the slider did not move"
        assert after != before, "the widget's output did not change"
        assert "Traceback" not in after and "Error displaying widget" not in after, after[:1000]
        scroll_to_top(box, above=90)
        _shot(page, "slider-moved", readme="widget.png" if rel.startswith("solutions/") else None)
    except BaseException:
        _shot(page, "slider-FAILED")
        raise


def test_without_chromium_skip_locally_and_fail_in_ci():
    assert require_chromium("/usr/bin/chromium", ci=True) == "/usr/bin/chromium"
    with pytest.raises(pytest.skip.Exception, match=re.escape(MISSING_CHROMIUM)):
        require_chromium(None, ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_chromium(None, ci=True)


def test_screenshots_for_the_readme_exist():
    """The README shows the course before anyone installs it; its pictures must exist."""
    readme = (REPO / "README.md").read_text()
    for ref in re.findall(r"(?:\]\(|src=\")(docs/screenshots/[^)\s\"]+)", readme):
        assert (REPO / ref).is_file(), f"README shows {ref}, which does not exist"
    for png in DOCS_SCREENSHOTS.glob("*.png") if DOCS_SCREENSHOTS.is_dir() else []:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert png.stat().st_size < 400_000, f"{png.name} is large for a README picture"


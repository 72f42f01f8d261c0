"""Helpers for the browser tests: a JupyterLab server on loopback, Debian's Chromium driven
by Playwright, and the few JupyterLab interactions the tests need (open a notebook, run it
from the menu, wait for the kernel, read what every cell shows).

The notebook is driven through the UI (menus, keyboard, mouse); the exposed JupyterLab
application (``--LabApp.expose_app_in_browser``) is used only to *observe* it: to wait until
the kernel is idle and to tell which cell has which nbgrader id.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
VENV_BIN = Path(sys.executable).parent

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
MISSING_CHROMIUM = ("Chromium not found: install it with `apt-get install chromium` to run the "
                    "browser tests")

# JupyterLab settings for a quiet, fully rendered notebook: no news or update toasts, and no
# windowing (every cell stays in the DOM, so the tests can look at all of them).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def binder_disabled() -> tuple[list[str], list[str]]:
    """(lab plugins, server extensions) that binder/postBuild disables for students."""
    post = (REPO / "binder" / "postBuild").read_text()
    lab = re.findall(r"^\s*jupyter labextension disable\b[^\n]*?\s(@?[\w@/.-]+:[\w-]+)", post, re.M)
    server = re.findall(r"^\s*jupyter server extension disable\b[^\n]*?\s([\w.]+)\s*(?:\|\||$)",
                        post, re.M)
    return lab, server


def student_config(config_dir: Path) -> None:
    """Give a JupyterLab the student set-up Binder has (binder/postBuild), in a private
    Jupyter config directory instead of the environment's."""
    lab, server = binder_disabled()
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(lab, True)}))
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(server, False)}}))


def require_chromium(path: str | None, ci: bool) -> str:
    """The browser's path; without one, skip (a contributor's machine) or fail (CI)."""
    import pytest

    if path is None:
        if ci:
            pytest.fail(MISSING_CHROMIUM + " (CI=true: the browser tests are required)")
        pytest.skip(MISSING_CHROMIUM)
    return path


def find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1 with a random token, serving a temporary copy of the course
    (running notebooks saves checkpoints and may write files: the repository stays clean)."""

    def __init__(self, root: Path, log: Path):
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._home = Path(tempfile.mkdtemp(prefix="matdiff-lab-home-"))
        self._log_path = log
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = str(VENV_BIN) + os.pathsep + env.get("PATH", "")
        # The kernel must draw inline figures: the test session's Agg backend would hide them.
        env.pop("MPLBACKEND", None)
        env["JUPYTER_CONFIG_DIR"] = str(self._home / "config")
        env["JUPYTER_RUNTIME_DIR"] = str(self._home / "runtime")
        env["IPYTHONDIR"] = str(self._home / "ipython")
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        # the private config directory (student_config) must win over the environment's
        env["JUPYTER_PREFER_ENV_PATH"] = "0"
        return env

    def start(self, timeout: float = 90) -> LabServer:
        settings = self._home / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        student_config(self._home / "config")
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_path.open("w")
        cmd = [
            str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self._home / 'workspaces'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self._env(), stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer /api/status in {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def log_text(self) -> str:
        self._log.flush()
        return self._log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_text().splitlines()
        return "\n".join(text[-lines:]) + f"\n(full log: {self._log_path})"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


# --------------------------------------------------------------------------- JupyterLab
# Small JavaScript functions run in the page. `window.jupyterapp` is the JupyterLab
# application, exposed by --LabApp.expose_app_in_browser.

JS_CURRENT = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext) return null;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return {path: w.context.path, ready: w.context.isReady, kernel: k ? k.status : null,
          cells: w.content.widgets.length};
}"""

# What each cell of the current notebook holds in its model: type, nbgrader id, tags,
# execution count, and its outputs' types and MIME types.
JS_CELLS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.map((cell, i) => {
    const m = cell.model;
    const meta = m.getMetadata ? (m.getMetadata('nbgrader') || {}) : {};
    const tags = m.getMetadata ? (m.getMetadata('tags') || []) : [];
    const outs = [];
    if (m.type === 'code') {
      for (let j = 0; j < m.outputs.length; j++) {
        const o = m.outputs.get(j).toJSON();
        outs.push({type: o.output_type, mimes: Object.keys(o.data || {}), ename: o.ename || null,
                   evalue: o.evalue || null});
      }
    }
    return {index: i, type: m.type, grade_id: meta.grade_id || null, solution: !!meta.solution,
            tags: tags,
            count: m.type === 'code' ? m.executionCount : null,
            source: m.sharedModel.getSource(), outputs: outs};
  });
}"""

# Idle means: the kernel reports idle and no cell is queued or running (no "[*]" prompt).
JS_IDLE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.sessionContext.session) return false;
  const k = w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  for (const cell of w.content.widgets) {
    if (cell.model.type === 'code' && cell.model.executionState === 'running') return false;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (prompt && prompt.textContent.includes('*')) return false;
  }
  return true;
}"""


def open_notebook(page, server: LabServer, path: str, timeout: float = 60_000) -> None:
    """Open a notebook and wait until its kernel is ready (idle). The first time, load
    JupyterLab at the notebook's URL; after that, open it in the running JupyterLab (what a
    double click in the file browser does), which spares reloading the application."""
    loaded = page.url.startswith(server.url) and page.evaluate("() => !!window.jupyterapp")
    if loaded:
        page.evaluate("""async (path) => {
          await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
        }""", path)
    else:
        page.goto(server.lab_url(path), wait_until="domcontentloaded")
    page.wait_for_function(
        """(path) => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          if (!w || !w.context || w.context.path !== path || !w.context.isReady) return false;
          const s = w.sessionContext && w.sessionContext.session;
          return !!(s && s.kernel && s.kernel.status === 'idle');
        }""", arg=path, timeout=timeout)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").first.wait_for(
        timeout=timeout)
    # close the launcher JupyterLab opens when the main area empties
    page.evaluate("""() => {
      const app = window.jupyterapp;
      for (const w of Array.from(app.shell.widgets('main'))) {
        if (w !== app.shell.currentWidget && !w.sessionContext) w.dispose();
      }
    }""")
    # fold the file browser away: more room for the notebook (and for the screenshots)
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if tab.count():
        tab.first.click()


# Shut every open notebook's kernel down and close it (unsaved: the copy is throw-away).
JS_CLOSE_ALL = """async () => {
  const app = window.jupyterapp;
  if (!app) return 0;
  let n = 0;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.sessionContext) { await w.sessionContext.shutdown(); }
    w.dispose();
    n++;
  }
  return n;
}"""


def run_all_from_menu(page) -> None:
    """Run > Run All Cells, clicked in JupyterLab's menu bar."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def wait_idle(page, timeout: float = 120_000, settle_ms: int = 400) -> None:
    """Wait until the kernel is idle with nothing queued, twice in a row (a queued cell can
    start just after the previous one finished)."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_function(JS_IDLE, timeout=timeout)
    page.wait_for_timeout(settle_ms)
    page.wait_for_function(JS_IDLE, timeout=timeout)


def cells(page) -> list[dict]:
    return page.evaluate(JS_CELLS)


def cell_locator(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def cell_index(page, grade_id: str) -> int:
    for c in cells(page):
        if c["grade_id"] == grade_id:
            return c["index"]
    raise LookupError(f"no cell with nbgrader grade_id {grade_id!r}")


def output_text(page, index: int) -> str:
    out = cell_locator(page, index).locator(".jp-Cell-outputArea")
    return out.inner_text() if out.count() else ""


def replace_cell_source(page, index: int, text: str) -> None:
    """Click into a cell's editor, select everything and type ``text`` instead, as a learner
    would (inserted verbatim: no auto-indent or bracket closing)."""
    editor = cell_locator(page, index).locator(".jp-InputArea-editor .cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def run_cell(page, index: int, timeout: float = 60_000) -> str:
    """Select a cell, run it with Ctrl+Enter, wait for the kernel, return its output text."""
    cell = cell_locator(page, index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    wait_idle(page, timeout=timeout, settle_ms=200)
    return output_text(page, index)


def scroll_to_top(locator, above: int = 0) -> None:
    """Scroll the notebook so that an element starts at the top of the view (minus ``above``
    pixels of what comes before it)."""
    locator.evaluate("""(el, above) => {
      el.scrollIntoView({block: 'start'});
      const scroller = el.closest('.jp-WindowedPanel-outer') || el.closest('.jp-Notebook');
      if (scroller && above) scroller.scrollTop -= above;
    }""", above)


def screenshot(page, name: str, region: tuple | None = None) -> Path:
    """Save a PNG of the window under test-artifacts/browser/, or only of the notebook from
    the top of one element to the bottom of another (``region=(first, last)`` locators)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    clip = None
    if region is not None:
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").bounding_box()
        top, bottom = (loc.bounding_box() for loc in region)
        y0 = max(top["y"] - 8, panel["y"])
        y1 = min(bottom["y"] + bottom["height"] + 8, panel["y"] + panel["height"])
        clip = {"x": panel["x"], "y": y0, "width": panel["width"], "height": y1 - y0}
    page.screenshot(path=str(path), clip=clip)
    return path

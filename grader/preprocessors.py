"""nbgrader preprocessors used by `python -m grader autograde` (run inside a grading worker).

* ``Normalize`` (before nbgrader's OverwriteCells): rebuilds the submission on the student
  version's skeleton, so deleted, moved, duplicated or re-labelled locked and test cells come
  back from the source; the student's answer cells (matched by grade id) and free cells are kept.
* ``GuardedExecute`` (nbgrader's Execute, hardened): a time budget per notebook, a kernel that
  dies costs the cells it did not run (nbgrader alone drops the whole submission), output
  floods are cut while they stream, and a test cell earns its points only when the kernel-side
  guard (grader/sentinel.py) confirms it ran unmodified.

The worker hands per-submission context through ``CONTEXT`` (one submission at a time).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

SENTINEL = Path(__file__).with_name("sentinel.py")
CONTEXT: dict = {}
TRUSTED = ["numpy", "matdiff", "builtins", "math", "cmath", "operator", "functools", "scipy"]
CELL_OUTPUT_LIMIT = 100_000      # characters of text output kept per cell
NOTEBOOK_OUTPUT_LIMIT = 1_000_000


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _problem(text: str) -> None:
    CONTEXT.setdefault("problems", []).append(text)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class Normalize(NbGraderPreprocessor):
    """Put the submission back on the student version's skeleton, matching cells by grade id.

    A locked or test cell is *as released* when its text is that of some release of the course
    (grader/releases.json): a notebook downloaded before a course fix is not blamed for holding
    the older text, for lacking a cell the course added since, or for holding one it removed
    (that one is dropped). A cell whose text matches no release, or a deletion of a cell the
    learner's own release had, is restored from the source and reported.
    """

    def preprocess(self, nb, resources):
        from . import history

        key = resources["unique_key"]
        template = CONTEXT["templates"][key]
        known = {_meta(c).get("grade_id"): c for c in template.cells if _meta(c).get("grade_id")}
        submitted = {}
        for cell in nb.cells:
            meta = _meta(cell)
            gid = meta.get("grade_id")
            if gid and gid not in submitted and not meta.get("solution") and \
                    (meta.get("locked") or meta.get("grade")):
                submitted[gid] = history.digest(cell.get("source", ""))
        match = history.match(CONTEXT.get("releases", {}).get(key, []), template, submitted)
        answers: dict = {}
        followers: dict = {None: []}
        altered = []
        anchor = None
        for cell in nb.cells:
            meta = _meta(cell)
            gid = meta.get("grade_id")
            fixed = not meta.get("solution") and (meta.get("locked") or meta.get("grade"))
            if gid in known and gid not in answers and gid not in followers:
                anchor = gid
                followers[gid] = []
                if _meta(known[gid]).get("solution"):
                    answers[gid] = cell
                elif (gid, history.digest(cell.get("source", ""))) not in match.known:
                    altered.append(gid)
                continue
            if fixed and gid not in known and match.release and gid in match.release.cells:
                # a cell of the learner's earlier release that the course has since removed:
                # dropped; blamed only when its text is not as released
                if (gid, history.digest(cell.get("source", ""))) not in match.known:
                    altered.append(gid)
                continue
            cell.get("metadata", {}).pop("nbgrader", None)      # a free cell: no claims
            followers[anchor].append(cell)
        cells = list(followers[None])
        deleted = [gid for gid in (match.release.cells if match.release else ()) if gid not in submitted]
        for tcell in template.cells:
            gid = _meta(tcell).get("grade_id")
            if gid is None:
                continue        # a template free cell: the student's copy follows its anchor
            if gid in answers:
                cell = answers[gid]
                new = copy.deepcopy(tcell)
                new["source"] = cell.get("source", "")
                cells.append(new)
            else:
                cells.append(copy.deepcopy(tcell))
            cells.extend(followers.get(gid, []))
        restored = deleted + altered
        if restored:
            _problem(f"{key}.ipynb: restored {len(restored)} deleted or altered "
                     f"locked/test cell(s) from the source ({', '.join(restored[:6])})")
        if match.earlier:
            CONTEXT.setdefault("notes", []).append(
                f"{key}.ipynb came from an earlier release of the course. Your answers were graded "
                "with the current release's text and tests.")
        seen = set()
        for i, cell in enumerate(cells):
            if cell.get("id") in seen or not cell.get("id"):
                cell["id"] = f"cell-{i:04d}-{secrets.token_hex(3)}"
            seen.add(cell["id"])
        nb.cells = cells
        return nb, resources


class KernelPool:
    """Keeps one kernel booting in the background, so the next notebook does not wait for it.

    A kernel serves one notebook only (then it is shut down): no state crosses submissions.
    The kernel's working directory is set by the sentinel's set-up cell.
    """

    def __init__(self, kernel_name: str = "python3"):
        self.kernel_name = kernel_name
        self.ready = None

    def _start(self):
        import subprocess

        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"],
                                  stderr=subprocess.DEVNULL)
        return km

    def take(self):
        km, self.ready = self.ready, None
        return km if km is not None else self._start()

    def prewarm(self) -> None:
        if self.ready is None:
            self.ready = self._start()

    def close(self) -> None:
        if self.ready is not None:
            from jupyter_core.utils import run_sync

            run_sync(self.ready.shutdown_kernel)(now=True)
            self.ready = None


class GuardedExecute(Execute):
    """nbgrader's Execute with a per-notebook budget, crash handling and the sentinel."""

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(json.dumps(content.get("data", content.get("text", "")), default=str))
        self._cell_chars = getattr(self, "_cell_chars", 0) + size
        self._nb_chars = getattr(self, "_nb_chars", 0) + size
        if msg["msg_type"] != "error" and (self._cell_chars > CELL_OUTPUT_LIMIT
                                           or self._nb_chars > NOTEBOOK_OUTPUT_LIMIT):
            if not getattr(self, "_truncated_note", False):
                self._truncated_note = True
                _problem(f"cell {cell_index + 1}: output flood truncated by the grader")
                note = NotebookNode(output_type="stream", name="stdout",
                                    text="\n[... output truncated by the grader: too much output ...]\n")
                outs.append(note)
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _hidden(self, source: str) -> NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        first = self.nb.cells[0]          # nbclient stores the executed cell at its index
        try:
            self.execute_cell(cell, 0, store_history=False)
        finally:
            self.nb.cells[0] = first
        return cell

    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        pool = CONTEXT.get("pool")
        if km is None and pool is not None:
            km = pool.take()
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        budget = float(CONTEXT.get("timeout", 60))
        deadline = time.monotonic() + budget
        result = Path(CONTEXT["workdir"]) / f"sentinel-{secrets.token_hex(6)}.out"
        result.write_text("")
        key = secrets.token_hex(32)
        cfg = Path(CONTEXT["workdir"]) / f"sentinel-{secrets.token_hex(6)}.json"
        cfg.write_text(json.dumps({"key": key, "result": str(result), "trusted": TRUSTED,
                                   "imports": CONTEXT.get("imports", []),
                                   "bindings": CONTEXT.get("bindings", [])}))
        tests = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade")
                 and not _meta(c).get("solution")]
        path = (resources or {}).get("metadata", {}).get("path") or CONTEXT["workdir"]
        try:
            self._run(nb, deadline, budget, cfg, path, tests)
        finally:
            if pool is not None:
                pool.prewarm()          # boots while nbgrader saves grades and writes feedback
        self.set_widgets_metadata()
        self._apply_sentinel(tests, result, key)
        return self.nb, self.resources

    def _run(self, nb, deadline, budget, cfg, path, tests):
        import subprocess

        dead = timed_out = False
        with self.setup_kernel(cleanup_kc=True, stderr=subprocess.DEVNULL):
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            setup = self._hidden(f"import os as __os\n__os.chdir({str(path)!r})\ndel __os\n"
                                 f"__g = {{'__name__': 'grader_sentinel'}}\n"
                                 f"exec(compile(open({str(SENTINEL)!r}).read(), {str(SENTINEL)!r}, "
                                 f"'exec'), __g)\n__g['install']({str(cfg)!r})\ndel __g")
            if any(o.output_type == "error" for o in setup.outputs):
                raise RuntimeError("the grader's kernel guard failed to start: "
                                   + "\n".join(o.get("evalue", "") for o in setup.outputs))
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if dead or timed_out:
                    why = "the kernel died" if dead else "the notebook ran out of time"
                    cell.outputs = [_error("NotRun", f"not run: {why} in an earlier cell")]
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    _problem(f"time limit ({budget:g} s per notebook) reached before cell {index + 1}; "
                             "the rest of the notebook was not run")
                    cell.outputs = [_error("NotRun", "not run: the notebook ran out of time")]
                    continue
                self.timeout = max(1, int(remaining + 0.999))
                self._cell_chars = 0
                gid = _meta(cell).get("grade_id")
                is_test = cell in tests
                original = cell.source
                try:
                    if is_test:
                        self._hidden(f"__import__('sys').audit('matdiff.grader.begin', {gid!r})")
                        cell.source = original + f"\n__import__('sys').audit('matdiff.grader.pass', {gid!r})"
                    self.execute_cell(cell, index, store_history=True)
                except CellTimeoutError:        # the kernel ignored the interrupt
                    cell.outputs.append(_error("CellTimeoutError", "no reply"))
                except DeadKernelError:
                    dead = True
                    _problem(f"the kernel died in cell {index + 1} (the code exited or crashed "
                             "Python); later cells were not run")
                    cell.outputs.append(_error("KernelDied", "the Python kernel stopped while running "
                                               "this cell (it exited or crashed)"))
                finally:
                    cell.source = original
                if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError"
                       for o in cell.outputs):
                    timed_out = True
                    _problem(f"cell {index + 1} ran past the time limit ({budget:g} s per notebook) "
                             "and was stopped; the rest of the notebook was not run")
                    cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
                    cell.outputs.append(_error("TimeoutError", f"stopped: the notebook used up its "
                                               f"time limit ({budget:g} s) in this cell"))

    def _apply_sentinel(self, tests, result: Path, key: str) -> None:
        import hashlib

        verdicts: dict = {}
        for line in result.read_text(errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) < 4:
                continue
            kind, gid, seq, mac = parts[:4]
            body = f"{kind} {gid} {seq}"
            if hashlib.sha256(bytes.fromhex(key) + body.encode()).hexdigest() != mac:
                continue
            detail = parts[4] if len(parts) > 4 else ""
            if kind == "RESTORED":
                _problem(f"{gid}: before this test the grader undid changes the notebook made to "
                         f"trusted code: {detail}")
            elif kind == "REJECT":
                _problem(f"{gid}: the grader's guard refused to start this test: {detail}")
            else:
                verdicts[gid] = (kind, detail)
        result.unlink(missing_ok=True)
        for cell in tests:
            if any(o.output_type == "error" for o in cell.outputs):
                continue
            gid = _meta(cell).get("grade_id")
            kind, detail = verdicts.get(gid, (None, ""))
            if kind == "PASS":
                continue
            reason = (f"the test ran in a modified environment ({detail})" if kind == "TAMPER"
                      else "the test did not report completion")
            _problem(f"{gid}: no credit, the grader could not confirm this test: {reason}")
            cell.outputs.append(_error("GraderCheckFailed",
                                       f"the grader could not confirm this test: {reason}"))

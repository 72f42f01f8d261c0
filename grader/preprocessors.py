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

import contextlib
import copy
import hashlib
import hmac
import json
import os
import secrets
import shutil
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


# The kernel's first (hidden) cell: copy the submission's files into the working folder, then
# start the guard. The guard's source travels as text: grader/ is not visible in the sandbox.
SETUP = """\
def __grader_setup():
    import os, shutil
    os.chdir({home!r})
    if os.path.isdir('/submission') and os.getcwd() != '/submission':
        for d, _, files in os.walk('/submission'):
            to = '.' + d[len('/submission'):]
            os.makedirs(to, exist_ok=True)
            for f in files:
                shutil.copyfile(os.path.join(d, f), os.path.join(to, f))
__grader_setup()
del __grader_setup
__g = {{'__name__': 'grader_sentinel'}}
exec(compile({sentinel!r}, 'grader_sentinel', 'exec'), __g)
__g['install']({cfg!r})
del __g
"""


def stage_submission(src: Path, stage: Path, limit: int) -> None:
    """Copy a submission's regular files (no links, at most ``limit`` bytes in all) into the
    folder the sandbox shows read-only at /submission."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel = Path(dirpath).relative_to(src)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            f = Path(dirpath) / name
            if f.is_symlink() or not f.is_file():
                continue
            total += f.stat().st_size
            if total > limit:
                return
            (stage / rel).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, stage / rel / name)


def _alive(km) -> bool:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _problem(text: str) -> None:
    CONTEXT.setdefault("problems", []).append(text)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class Normalize(NbGraderPreprocessor):
    """Put the submission back on the student version's skeleton."""

    def preprocess(self, nb, resources):
        template = CONTEXT["templates"][resources["unique_key"]]
        known = {_meta(c).get("grade_id"): c for c in template.cells if _meta(c).get("grade_id")}
        answers: dict = {}
        followers: dict = {None: []}
        anchor = None
        for cell in nb.cells:
            gid = _meta(cell).get("grade_id")
            if gid in known and gid not in answers and gid not in followers:
                anchor = gid
                followers[gid] = []
                if _meta(known[gid]).get("solution"):
                    answers[gid] = cell
                continue
            cell.get("metadata", {}).pop("nbgrader", None)      # a free cell: no claims
            followers[anchor].append(cell)
        cells = list(followers[None])
        restored = []
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
                if gid not in followers:
                    restored.append(gid)
                cells.append(copy.deepcopy(tcell))
            cells.extend(followers.get(gid, []))
        if restored:
            _problem(f"{resources['unique_key']}.ipynb: restored {len(restored)} deleted or altered "
                     f"locked/test cell(s) from the source ({', '.join(restored[:6])})")
        seen = set()
        for i, cell in enumerate(cells):
            if cell.get("id") in seen or not cell.get("id"):
                cell["id"] = f"cell-{i:04d}-{secrets.token_hex(3)}"
            seen.add(cell["id"])
        nb.cells = cells
        return nb, resources


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

        from .sandbox import KernelPool, Watchdog

        pool = CONTEXT.get("pool")
        if km is None and pool is not None:
            km = pool.take()
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        budget = float(CONTEXT.get("timeout", 60))
        deadline = time.monotonic() + budget
        path = Path((resources or {}).get("metadata", {}).get("path") or CONTEXT["workdir"])
        try:
            stage_submission(path, km.stage, CONTEXT.get("stage_limit", 64 << 20))
            result = km.ipc / f"sentinel-{secrets.token_hex(6)}.out"  # the kernel appends to it
            result.write_text("")
            if km.uid is not None:
                os.chown(result, km.uid, km.uid)
            key = secrets.token_hex(32)
            cfg = json.dumps({"key": key, "result": str(result), "trusted": TRUSTED,
                              "imports": CONTEXT.get("imports", []),
                              "bindings": CONTEXT.get("bindings", [])})
            tests = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade")
                     and not _meta(c).get("solution")]
            with Watchdog(km.provisioner.process.pid, km.sandbox.limits.memory_mb << 20) \
                    if km.sandbox is not None else contextlib.nullcontext() as dog:
                self._run(nb, deadline, budget, cfg, km.home, tests)
            if dog is not None and dog.exceeded:
                _problem(f"the notebook's processes used more than {km.sandbox.limits.memory_mb} MB "
                         "of memory together; the grader stopped them")
            self.set_widgets_metadata()
            self._apply_sentinel(tests, result, key)
        finally:
            KernelPool.destroy(km)           # the kernel and every process it started
            if pool is not None:
                pool.prewarm()          # boots while nbgrader saves grades and writes feedback
        return self.nb, self.resources

    def _run(self, nb, deadline, budget, cfg: str, path: str, tests):
        import subprocess

        dead = timed_out = flooded = False
        with self.setup_kernel(cleanup_kc=True, stderr=subprocess.DEVNULL):
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            if getattr(self.km, "uid", None) is not None:
                # its sockets are bound: from now on the kernel may write only the files that
                # exist (the guard's result file), not create any in this host folder
                os.chown(self.km.ipc, 0, 0)
                os.chmod(self.km.ipc, 0o755)
            dropped = self._watch_iopub()
            setup = self._hidden(SETUP.format(home=path, sentinel=SENTINEL.read_text(), cfg=cfg))
            if any(o.output_type == "error" for o in setup.outputs):
                raise RuntimeError("the grader's kernel guard failed to start: "
                                   + "\n".join(o.get("evalue", "") for o in setup.outputs))
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if dead or timed_out or flooded:
                    why = ("the kernel died" if dead else "the notebook ran out of time" if timed_out
                           else "its output was too large")
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
                if not dead and dropped() and _alive(self.km):
                    flooded = True
                    limit = getattr(getattr(self.km, "sandbox", None), "limits", None)
                    size = f"{limit.output_mb} MB" if limit else "the limit"
                    _problem(f"cell {index + 1} sent an output larger than {size}; the grader "
                             "dropped it and stopped the notebook there")
                    cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
                    cell.outputs.append(_error("OutputTooLarge", f"stopped: this cell's output was "
                                               f"larger than {size}"))
                elif any(o.output_type == "error" and o.get("ename") == "CellTimeoutError"
                         for o in cell.outputs):
                    timed_out = True
                    _problem(f"cell {index + 1} ran past the time limit ({budget:g} s per notebook) "
                             "and was stopped; the rest of the notebook was not run")
                    cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
                    cell.outputs.append(_error("TimeoutError", f"stopped: the notebook used up its "
                                               f"time limit ({budget:g} s) in this cell"))
            dropped.close()

    def _watch_iopub(self):
        """A function telling whether the output channel was cut since the last call: zmq
        drops the connection when a message is above MAXMSGSIZE (the sandbox's output cap)."""
        import zmq
        from zmq.utils.monitor import recv_monitor_message

        sock = self.kc.iopub_channel.socket
        address = f"inproc://iopub-monitor-{secrets.token_hex(6)}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        monitor = zmq.Context.shadow(sock.context.underlying).socket(zmq.PAIR)
        monitor.connect(address)

        def dropped() -> bool:
            cut = False
            while monitor.poll(0):
                cut |= recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED
            return cut

        def close() -> None:
            sock.disable_monitor()
            monitor.close(linger=0)

        dropped.close = close
        return dropped

    def _apply_sentinel(self, tests, result: Path, key: str) -> None:
        verdicts: dict = {}
        for line in result.read_text(errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) < 4:
                continue
            kind, gid, seq, mac = parts[:4]
            body = f"{kind} {gid} {seq}"
            expected = hmac.new(bytes.fromhex(key), body.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, mac):
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

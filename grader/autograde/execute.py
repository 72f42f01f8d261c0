"""Running a submission: nbgrader's Execute preprocessor, hardened and sandboxed.

``GuardedExecute`` takes a pre-started sandboxed kernel from the worker's ``KernelPool``, gives
the notebook a wall-clock budget (not per cell), turns a kernel that dies into the cells it did
not run (nbgrader alone drops the whole submission), cuts output floods as they stream (and
stops a notebook whose single output is above the sandbox's cap), watches the memory of all
the submission's processes together, and runs the locked and test cells in a trusted kernel
outside the sandbox (grader/autograde/trusted.py), where the learner's functions are proxies
that call across the boundary with plain data (grader/autograde/bridge.py): the verdicts are
computed where the learner's code cannot reach them. Both kernels and everything they started
are destroyed when the notebook ends.

Its per-submission context is ``resources["grading"]``, a ``GradingContext`` put there by the
worker (grader/autograde/worker.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

from ..notebook_client import WIDGETS
from . import trusted
from .records import Record
from .sandbox import KernelPool, Watchdog
from .settings import Settings


@dataclass
class GradingContext:
    """What the preprocessors need to know about the submission being graded."""

    record: Record                              # problems found are reported here
    templates: dict                             # notebook name -> student version (NotebookNode)
    settings: Settings
    pool: KernelPool
    imports: list[str] = field(default_factory=list)
    bindings: list[list] = field(default_factory=list)
    log: object = None                          # also report problems here (nbgrader's own runs)
    releases: dict = field(default_factory=dict)   # notebook name -> its releases (grader.history)

    def problem(self, text: str) -> None:
        self.record.problem(text)
        if self.log is not None:
            self.log.warning("%s/%s: %s", self.record.student, self.record.assignment, text)

    def note(self, text: str) -> None:
        """Something the learner should know that is nobody's fault (shown in the feedback)."""
        self.record.notes.append(text)

    def __deepcopy__(self, memo):
        return self             # nbconvert copies resources: this is a handle, not data


# The kernel's first (hidden) cell: copy the submission's files into the working folder, then
# start the learner's half of the bridge (grader/autograde/trusted.py).
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


_POOLS: dict = {}               # nbgrader's own runs: one kernel pool per release folder


def context_for(preprocessor, resources: dict) -> GradingContext:
    """The submission's context: ``resources["grading"]`` when the grader's worker runs
    nbgrader, else built from nbgrader's own application (the Formgrader's Autograde button,
    `nbgrader autograde`): the student versions from its release folder, default settings and
    limits, a sandboxed kernel pool of this process; problems go to nbgrader's log."""
    if "grading" in resources:
        return resources["grading"]
    from .course import scan_imports

    app = preprocessor.parent.parent            # preprocessor -> exporter -> nbgrader converter
    coursedir = app.coursedir
    info = resources["nbgrader"]
    release = Path(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]))
    templates = {p.stem: nbformat.read(p, as_version=4) for p in sorted(release.glob("*.ipynb"))}
    imports, bindings = [], []
    for nb in templates.values():
        found = scan_imports(nb)
        imports += found[0]
        bindings += found[1]
    settings = Settings(notebook_seconds=float(getattr(preprocessor, "timeout", None) or 120))
    pool = _POOLS.get(str(release))
    if pool is None and isinstance(preprocessor, Execute):
        from .sandbox import Sandbox

        sandbox = Sandbox(settings.limits, course=release.parent,
                          modules=("numpy", "matdiff", "ipykernel", *imports))
        sandbox.check()
        pool = _POOLS[str(release)] = KernelPool(
            sandbox, Path(tempfile.mkdtemp(prefix="matdiff-nbgrader-")),
            sorted({"numpy", "matdiff", *imports}), keep_ready=False)
    from .. import history

    record = Record(info["student"], info["assignment"])
    releases = history.load()
    resources["grading"] = context = GradingContext(
        record, templates, settings, pool, sorted(set(imports)), bindings, log=preprocessor.log,
        releases={n: releases.get(f"{info['assignment']}/{n}", []) for n in templates})
    return context


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader's Execute with a per-notebook budget, crash handling, and the test cells run
    in a trusted kernel outside the sandbox."""

    def output(self, outs, msg, display_id, cell_index):
        if getattr(self, "_quiet", False):
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        size = len(json.dumps(content.get("data", content.get("text", "")), default=str))
        self._cell_chars = getattr(self, "_cell_chars", 0) + size
        self._nb_chars = getattr(self, "_nb_chars", 0) + size
        settings = self.grading.settings
        if msg["msg_type"] != "error" and (self._cell_chars > settings.cell_output_chars
                                           or self._nb_chars > settings.notebook_output_chars):
            if not getattr(self, "_truncated_note", False):
                self._truncated_note = True
                self.grading.problem(f"cell {cell_index + 1}: output flood truncated by the grader")
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

        self.grading = grading = context_for(self, resources)
        pool = grading.pool
        if km is None:
            km = pool.take()
        # nbgrader's own runs (the Formgrader) keep no kernel waiting, as for the sandbox
        keep = grading.log is None
        tkm = trusted.take(pool.preload, keep)        # the same modules as the learner's
        NotebookClient.__init__(self, nb, km)
        self.widget_registry = WIDGETS        # grader/notebook_client.py: no stalls
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        budget = float(grading.settings.notebook_seconds)
        deadline = time.monotonic() + budget
        path = Path(resources["metadata"]["path"])
        self.boundary = {}
        try:
            stage_submission(path, km.stage, grading.settings.stage_mb << 20)
            tests = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade")
                     and not _meta(c).get("solution")]
            with Watchdog(km.provisioner.process.pid, km.sandbox.limits.memory_mb << 20) \
                    if km.sandbox is not None else contextlib.nullcontext() as dog:
                self._run(nb, deadline, budget, km.home, tests, tkm)
            if dog is not None and dog.exceeded:
                grading.problem(f"the notebook's processes used more than {km.sandbox.limits.memory_mb} MB "
                         "of memory together; the grader stopped them")
            self.set_widgets_metadata()
        finally:
            KernelPool.destroy(km)           # the kernel and every process it started
            pool.prewarm()          # the next kernel boots while nbgrader saves grades and feedback
            trusted.give_back(tkm, pool.preload, bool(self.boundary), keep)
        return self.nb, self.resources

    def _start_trusted(self, tkm, deadline: float) -> None:
        """A client of the trusted kernel, and its first cell sent: the bridge to the
        learner's. It needs only the learner's kernel's address, so it is sent at once (the
        kernel may still be booting: it runs when ready); :meth:`_trusted_ready` collects its
        reply before the first cell that runs on the trusted side."""
        import zmq.asyncio

        tkc = tkm.client(context=zmq.asyncio.Context())     # its own: closed with it
        self.trusted = (tkm, tkc)
        tkc.start_channels()
        self._trusted_setup = tkc.execute(trusted.trusted_setup(
            self.km, str(tkm.stage), deadline, self.grading.imports), store_history=False)

    def _trusted_reply(self, msg_id: str, timeout: float) -> dict | None:
        """The trusted kernel's reply to ``msg_id`` (None if it did not come in ``timeout``)."""
        tkc = self.trusted[1]
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = run_sync(tkc.get_shell_msg)(timeout=left)
            except Empty:
                break
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        return None

    def _trusted_ready(self) -> None:
        """Wait for the trusted kernel's set-up (once): its reply, then the kernel's output
        channel (nbclient reads each cell's outputs there)."""
        if self._trusted_setup is None:
            return
        reply = self._trusted_reply(self._trusted_setup, self.startup_timeout)
        if reply is None or reply.get("status") != "ok":
            why = "no reply" if reply is None else f"{reply.get('ename')}: {reply.get('evalue')}"
            raise RuntimeError(f"the grader's trusted kernel failed to start: {why}")
        self._trusted_setup = None
        run_sync(self.trusted[1].wait_for_ready)(timeout=self.startup_timeout)

    def _on_trusted(self, cell, index: int, quiet: bool = False) -> None:
        """Run ``cell`` in the trusted kernel (its outputs go into ``cell``); ``quiet``: a
        cell whose outputs nobody sees (they are not counted against the output caps)."""
        self._trusted_ready()
        kept, first = (self.km, self.kc), self.nb.cells[index]
        self.km, self.kc = self.trusted
        self._quiet = quiet
        try:
            self.execute_cell(cell, index, store_history=not quiet)
        finally:
            self.km, self.kc = kept
            self._quiet = False
            if quiet:
                self.nb.cells[index] = first

    def _boundary_stats(self) -> dict:
        """Close the trusted kernel's bridge; returns the calls and name look-ups across the
        boundary in this notebook (for measurements), empty when the kernel did not answer."""
        import ast

        self._trusted_ready()
        msg_id = self.trusted[1].execute("", silent=True,
                                         user_expressions={"s": "__matdiff_close()"})
        reply = self._trusted_reply(msg_id, 10) or {}
        s = reply.get("user_expressions", {}).get("s", {})
        return ast.literal_eval(s.get("data", {}).get("text/plain", "{}"))

    def _run(self, nb, deadline, budget, path: str, tests, tkm):
        import subprocess

        self.trusted = self._trusted_setup = None
        try:
            self._start_trusted(tkm, deadline)
            with self.setup_kernel(cleanup_kc=True, stderr=subprocess.DEVNULL):
                info = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info["content"]["language_info"]
                if getattr(self.km, "uid", None) is not None:
                    # its sockets are bound: from now on the kernel may not create files in
                    # this host folder
                    os.chown(self.km.ipc, 0, 0)
                    os.chmod(self.km.ipc, 0o755)
                dropped = self._watch_iopub()
                try:
                    setup = self._hidden(SETUP.format(home=path) + trusted.learner_setup())
                    if any(o.output_type == "error" for o in setup.outputs):
                        raise RuntimeError("the grader's kernel set-up failed: " + "\n".join(
                            o.get("evalue", "") for o in setup.outputs))
                    self._cells(tests, deadline, budget, dropped)
                    self.boundary = self._boundary_stats()
                    self.grading.record.calls += self.boundary.get("calls", 0)
                finally:
                    dropped.close()         # an open socket would hang the client's clean-up
        finally:
            if self.trusted is not None:
                tkc = self.trusted[1]
                tkc.stop_channels()
                tkc.context.destroy(linger=0)

    def _cells(self, tests, deadline, budget, dropped) -> None:
        dead = timed_out = flooded = False
        on_trusted = trusted.locked_to_run(
            self.nb.cells, tests, lambda c: _meta(c).get("locked") and not _meta(c).get("solution"))
        queued = []         # locked cells that have run in the sandbox, not yet on the trusted side
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
                self.grading.problem(f"time limit ({budget:g} s per notebook) reached before "
                                     f"cell {index + 1}; the rest of the notebook was not run")
                cell.outputs = [_error("NotRun", "not run: the notebook ran out of time")]
                continue
            self.timeout = max(1, int(remaining + 0.999))
            self._cell_chars = 0
            is_test = cell in tests
            locked = _meta(cell).get("locked") and not _meta(cell).get("solution")
            try:
                if is_test:             # the verdict: computed outside the sandbox
                    self._shadows(queued)
                    self._on_trusted(cell, index)
                else:
                    self.execute_cell(cell, index, store_history=True)
                    if locked and index in on_trusted:     # the helpers tests rely on, as written
                        queued.append(index)
            except CellTimeoutError:        # the kernel ignored the interrupt
                cell.outputs.append(_error("CellTimeoutError", "no reply"))
            except DeadKernelError:
                if not _alive(self.km) or not is_test:
                    dead = True
                    self.grading.problem(f"the kernel died in cell {index + 1} (the code exited or "
                                         "crashed Python); later cells were not run")
                    cell.outputs.append(_error("KernelDied", "the Python kernel stopped while "
                                               "running this cell (it exited or crashed)"))
                else:
                    raise
            if is_test and not dead and not _alive(self.km):
                dead = True
                self.grading.problem(f"the kernel died while test cell {index + 1} called the "
                                     "notebook's functions (the code exited or crashed Python); "
                                     "later cells were not run")
            if not dead and dropped() and _alive(self.km):
                flooded = True
                limit = getattr(getattr(self.km, "sandbox", None), "limits", None)
                size = f"{limit.output_mb} MB" if limit else "the limit"
                self.grading.problem(f"cell {index + 1} sent an output larger than {size}; the grader "
                         "dropped it and stopped the notebook there")
                cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
                cell.outputs.append(_error("OutputTooLarge", f"stopped: this cell's output was "
                                           f"larger than {size}"))
            elif any(o.output_type == "error" and o.get("ename") == "CellTimeoutError"
                     for o in cell.outputs):
                timed_out = True
                self.grading.problem(f"cell {index + 1} ran past the time limit ({budget:g} s per "
                                     "notebook) and was stopped; the rest of the notebook was "
                                     "not run")
                cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
                cell.outputs.append(_error("TimeoutError", f"stopped: the notebook used up its "
                                           f"time limit ({budget:g} s) in this cell"))
        if queued and not (dead or timed_out or flooded):      # md.progress() after the last test
            self.timeout = max(1, int(deadline - time.monotonic() + 0.999))
            try:
                self._shadows(queued)
            except CellTimeoutError:
                self.grading.problem("the notebook ran out of time in its last cells")

    def _shadows(self, queued: list[int]) -> None:
        """Run the queued locked cells on the trusted side, in order (before the next test
        cell, so that the trusted kernel boots while the learner's cells run). The learner sees
        their trusted outputs: ``md.progress()`` counts the tests there."""
        while queued:
            index = queued.pop(0)
            cell = self.nb.cells[index]
            shadow = nbformat.v4.new_code_cell(cell.source)
            self._on_trusted(shadow, index, quiet=True)
            if not any(o.output_type == "error" for o in shadow.outputs):
                cell.outputs = shadow.outputs

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

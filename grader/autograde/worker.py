"""A grading worker: a process that grades submissions one after another.

Each worker owns two nbgrader course roots and a ``KernelPool`` of sandboxed kernels. For one
submission (``Worker.start``) it copies the template gradebook (so no submission ever shares a
gradebook with another), writes the learner's notebooks into ``submitted/``, runs nbgrader's
autograde with the course's pipeline (``Normalize``, ``GuardedExecute``...), then reads the
scores from the notebooks it executed (never from the gradebook: the worker is trusted, the
database is only nbgrader's bookkeeping). ``Worker.finish`` writes the feedback; the worker loop
runs it in a thread while the next submission's kernel works, in the other course root.

The protocol with the scheduler (``serve``): the worker sends ("more", None) and gets a Task or
None (stop); every task is answered with ("done", Record) or ("failed", (Task, traceback)).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from nbgrader.converters import Autograde

from ..paths import use_nbgrader_path
from . import feedback, trusted
from .course import CourseInfo, nbgrader_config
from .execute import GradingContext
from .intake import notebooks_in
from .records import CellResult, Record, Task
from .sandbox import KernelPool, Sandbox
from .settings import Settings


def nbgrader_error(result: dict) -> str:
    """The real error of a failed NbGraderAPI call: the traceback nbgrader logged (its
    ``error`` only says "see the above traceback"), cut to its last lines."""
    log = result.get("log") or ""
    error = result.get("error") or ""
    where = log.rfind("Traceback (most recent call last)")
    text = (log[where:] if where >= 0 else log[-1500:]) + ("\n" + error if error else "")
    return text.strip()[-2500:]


@dataclass
class Slot:
    """A course root of the worker and nbgrader's API on it."""

    root: Path
    api: object


@dataclass
class Graded:
    """What ``finish`` needs of a submission ``start`` graded."""

    task: Task
    slot: Slot
    present: list[str]                  # notebooks that were submitted and read
    executed: bool                      # nbgrader ran them


class Worker:
    def __init__(self, info: CourseInfo, out: Path, settings: Settings):
        import warnings

        import nbformat
        from nbgrader.apps import NbGraderAPI

        warnings.filterwarnings("ignore", module="nbgrader")       # SAWarnings from its gradebook
        use_nbgrader_path()
        os.environ.setdefault("PYTHONHASHSEED", "0")
        os.environ.setdefault("MPLBACKEND", "Agg")
        self.info, self.out, self.settings = info, out, settings
        self.base = Path(tempfile.mkdtemp(prefix="matdiff-grade-"))
        self.templates = {a: {n: nbformat.read(d.path, as_version=4) for n, d in nbs.items()}
                          for a, nbs in info.assignments.items()}
        self.slots = []
        for i in range(2):
            root = self.base / f"root{i}"
            root.mkdir()
            (root / "source").symlink_to(info.solutions, target_is_directory=True)
            config = nbgrader_config(root, notebook_seconds=settings.notebook_seconds, grading=True)
            self.slots.append(Slot(root, NbGraderAPI(config=config)))
        self.turn = 0
        preload = info.preload()
        sandbox = (Sandbox(settings.limits, course=Path(info.release),
                           modules=(*preload, "ipykernel")) if settings.sandbox else None)
        self.pool = KernelPool(sandbox, self.base, preload)
        self.pool.prewarm()
        trusted.pool(preload).prewarm()     # the trusted kernel boots alongside

    def close(self) -> None:
        self.pool.close()
        trusted.close_pools()
        shutil.rmtree(self.base, ignore_errors=True)

    def grade(self, task: Task) -> Record:
        """Grade one submission, start to finish."""
        record, graded = self.start(task)
        self.finish(record, graded)
        return record

    # ------------------------------------------------------------------ intake of one submission

    def _submit(self, task: Task, record: Record, dest: Path) -> list[str]:
        """Write the learner's notebooks (read and re-written: only valid notebooks pass)
        into nbgrader's submitted/ folder; returns the names written."""
        import nbformat

        nbs = self.info.assignments[task.assignment]
        if task.folder is None:
            record.problem("nothing submitted for this assignment")
            return []
        files, found = notebooks_in(task.folder)
        for text in found:
            record.problem(text)
        missing = [n for n in nbs if n not in files]
        spare = [n for n in files if n not in nbs]
        if len(missing) == 1 and len(spare) == 1:
            record.problem(f"{spare[0]}.ipynb graded as {missing[0]}.ipynb (renamed?)")
            files[missing[0]] = files.pop(spare[0])
        present = []
        limit = self.settings.max_notebook_mb * 2**20
        for name in nbs:
            if name not in files:
                record.problem(f"{name}.ipynb missing from the submission")
                continue
            size = files[name].stat().st_size
            if size > limit:
                record.problem(f"{name}.ipynb is too large to grade ({size / 2**20:.1f} MB; "
                               f"the limit is {self.settings.max_notebook_mb:g} MB)")
                continue
            try:
                nb = nbformat.read(files[name], as_version=4)
                if not isinstance(nb.get("cells"), list):
                    raise ValueError("no cells")
            except Exception as exc:
                record.problem(f"{name}.ipynb is not a readable notebook "
                               f"({type(exc).__name__}: {str(exc)[:200]})")
                continue
            nbformat.write(nb, dest / f"{name}.ipynb")
            present.append(name)
        return present

    # ------------------------------------------------------------------ grading

    def start(self, task: Task) -> tuple[Record, Graded]:
        """Autograde in the next free course root; returns the record and what finish needs."""
        from nbgrader.utils import capture_log

        started = time.monotonic()
        slot = self.slots[self.turn]
        self.turn = 1 - self.turn
        nbs = self.info.assignments[task.assignment]
        record = Record(task.student, task.assignment, task.sid)
        record.cells = [CellResult(name, gid, points) for name, d in nbs.items()
                        for gid, points in d.grades]
        for d in ("submitted", "autograded", "feedback"):
            shutil.rmtree(slot.root / d, ignore_errors=True)
        shutil.copyfile(self.info.gradebook, slot.root / "gradebook.db")
        dest = slot.root / "submitted" / task.sid / task.assignment
        dest.mkdir(parents=True)
        present = self._submit(task, record, dest)
        executed = False
        if present:
            context = GradingContext(
                record=record, templates=self.templates[task.assignment], settings=self.settings,
                pool=self.pool, imports=sorted({m for d in nbs.values() for m in d.imports}),
                bindings=[b for d in nbs.values() for b in d.bindings],
                releases={n: self.info.releases.get(f"{task.assignment}/{n}", []) for n in nbs})
            api = slot.api
            app = SubmissionAutograde(coursedir=api.coursedir, parent=api, grading=context)
            app.coursedir.assignment_id, app.coursedir.student_id = task.assignment, task.sid
            app.force, app.create_student = True, True
            result = capture_log(app)
            if not result["success"]:
                record.problem("nbgrader autograde failed: " + nbgrader_error(result), internal=True)
            else:
                executed = True
                self._score(task, slot, record)
                feedback.annotate(slot.root / "autograded" / task.sid / task.assignment, record,
                                  present)
        record.seconds = time.monotonic() - started
        return record, Graded(task, slot, present, executed)

    def _score(self, task: Task, slot: Slot, record: Record) -> None:
        """Scores of the test cells, read from the notebooks this worker executed, each
        clamped to [0, its points]."""
        import nbformat
        from nbgrader.utils import determine_grade

        folder = slot.root / "autograded" / task.sid / task.assignment
        done = set()
        for name in self.info.assignments[task.assignment]:
            path = folder / f"{name}.ipynb"
            if not path.exists():
                continue
            for cell in nbformat.read(path, as_version=4).cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                result = record.cell(name, meta.get("grade_id"))
                if result is None or (name, result.grade_id) in done or not meta.get("grade") \
                        or meta.get("solution"):
                    continue
                done.add((name, result.grade_id))
                cell.metadata.nbgrader["points"] = result.points
                score, _ = determine_grade(cell)
                result.score = min(max(float(score or 0.0), 0.0), result.points)

    def finish(self, record: Record, graded: Graded, out: Path | None = None) -> None:
        """Write the feedback pages of a submission that ``start`` graded (into ``out``, by
        default the run's output folder)."""
        task, slot, out = graded.task, graded.slot, out or self.out
        dst = out / "feedback" / task.student / task.assignment
        try:
            if graded.executed:
                result = slot.api.generate_feedback(task.assignment, task.sid, force=True)
                src = slot.root / "feedback" / task.sid / task.assignment
                if result["success"] and src.is_dir():
                    dst.mkdir(parents=True, exist_ok=True)
                    for f in src.glob("*.html"):
                        shutil.copyfile(f, dst / f.name)
                else:
                    record.problem("feedback could not be generated: " + nbgrader_error(result),
                                   internal=True)
            feedback.placeholders(out, record, self.info.assignments[task.assignment],
                                  graded.present)
            if self.settings.gradebook:          # for the gradebook export (the Formgrader)
                for kind in ("autograded", "submitted"):
                    src = slot.root / kind / task.sid / task.assignment
                    if src.is_dir():
                        dst = out / kind / task.student / task.assignment
                        shutil.rmtree(dst, ignore_errors=True)
                        shutil.copytree(src, dst)
        except Exception:
            record.problem("feedback failed: " + traceback.format_exc()[-1500:], internal=True)


class SubmissionAutograde(Autograde):
    """nbgrader's Autograde that hands the preprocessors this submission's context."""

    def __init__(self, grading: GradingContext, **kwargs):
        super().__init__(**kwargs)
        self.grading = grading

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        resources["grading"] = self.grading
        return resources


# ---------------------------------------------------------------------------- process entry

def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent (the main process) dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(conn, info: CourseInfo, out: str, settings: Settings, parent: int) -> None:
    """The worker process: grade what the scheduler sends until it sends None."""
    die_with_parent()
    if os.getppid() != parent:
        return
    try:
        worker = Worker(info, Path(out), settings)
    except Exception:
        conn.send(("fatal", traceback.format_exc()))
        return
    pending = None                       # (thread writing feedback, its record)

    def flush():
        nonlocal pending
        if pending is not None:
            pending[0].join()
            conn.send(("done", pending[1]))
            pending = None

    try:
        while True:
            conn.send(("more", None))
            task = conn.recv()
            if task is None:
                break
            try:
                record, graded = worker.start(task)      # the kernel runs; the feedback thread too
            except Exception:
                flush()
                conn.send(("failed", (task, traceback.format_exc())))
                continue
            flush()
            thread = threading.Thread(target=worker.finish, args=(record, graded), daemon=True)
            thread.start()
            pending = (thread, record)
        flush()
    finally:
        worker.close()

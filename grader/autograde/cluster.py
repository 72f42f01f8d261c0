"""Grading on a Dask distributed cluster: ``--cluster ADDRESS`` or ``--scheduler-file F``.

The same unit as a local run, ``Worker.grade(Task) -> Record``, one Dask task per submission.
Nothing assumes a disk shared with the workers: the release (the graded assignments of
solutions/) travels once as a Dask task of its own (``Course``: kept by the scheduler, so it is
computed again if every worker holding it dies), each submission's notebooks travel as bytes
with its task (``Packed``), and every file the worker writes for the learner (feedback pages,
nbgrader's folders for ``--gradebook``) comes back as bytes with the record (``Outcome``). The
main process writes OUT exactly as a local run does.

Each Dask worker process prepares the course once (``prepare``, then a ``Worker`` with its
pre-started sandboxed kernels), cached for the run's release fingerprint and settings. A worker
whose environment (Python, matdiff, nbgrader, numpy, the grader's and matdiff's code) differs
from the instructor's refuses with ``WrongCourse``; every connected worker is asked before the
first task is sent, and the run stops with the workers' own words.

Faults: a Dask worker that dies (killed, out of memory, its machine gone) takes its task with
it; the scheduler gives the task to another worker (a result the dead worker held and the main
process had not fetched yet is computed again, and waited for). A submission whose grading killed
``distributed.scheduler.allowed-failures`` + 1 workers (3 + 1 by default) comes back as
``KilledWorker``: a 0 with the reason, an internal problem the learner does not see, as the
local scheduler does for a submission that killed two workers. Dask counts a death against
every task the dead worker held (queued ones too), so a ``KilledWorker`` submission is sent
once more (``Settings.cluster_tries``) before it is given its 0. An exception of the grader in a
task is returned, not raised (Dask would retry it for nothing); ``Settings.cluster_retries``
covers a worker that could not prepare the course. A cluster that has lost every worker for
``Settings.cluster_wait`` seconds ends the run: what is left gets a 0 with the reason.

distributed is imported only here, and only when a run asks for a cluster.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseInfo
from .intake import IGNORED
from .records import Record, Task
from .scheduler import Results
from .settings import Settings


class WrongCourse(RuntimeError):
    """This Dask worker cannot grade the run: its release or environment is not the
    instructor's, or the course cannot be prepared on it."""


# ---------------------------------------------------------------------------- what travels

@dataclass
class Packed:
    """A folder as it travels through the cluster. Paths are relative, as bytes (a learner's
    file name need not be UTF-8); symbolic links travel as links (never followed: the worker
    reports them as a local run does); a notebook over the size cap travels as its size only."""

    files: dict[bytes, bytes] = field(default_factory=dict)
    links: dict[bytes, bytes] = field(default_factory=dict)
    oversized: dict[bytes, int] = field(default_factory=dict)


def pack(folder: str | Path, notebooks_only: bool = False, max_bytes: float = float("inf"),
         prefix: bytes = b"") -> Packed:
    """Read ``folder`` (links not followed; IGNORED folders skipped)."""
    packed = Packed()
    root = os.fsencode(folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if os.fsdecode(d) not in IGNORED)
        rel = os.path.relpath(dirpath, root)
        rel = b"" if rel == b"." else rel + b"/"
        for name in dirnames + sorted(filenames):
            path = os.path.join(dirpath, name)
            if notebooks_only and not (name.endswith(b".ipynb") or os.path.islink(path)):
                continue
            if os.path.islink(path):      # a link to a folder stays one (the worker says "folder/")
                packed.links[prefix + rel + name] = b"/" if os.path.isdir(path) else os.readlink(path)
            elif name in dirnames:
                continue
            elif os.path.getsize(path) > max_bytes:
                packed.oversized[prefix + rel + name] = os.path.getsize(path)
            else:
                with open(path, "rb") as fh:
                    packed.files[prefix + rel + name] = fh.read()
    return packed


def _inside(dest: Path, rel: bytes) -> Path:
    parts = rel.split(b"/")
    if rel.startswith(b"/") or b".." in parts or b"" in parts:
        raise ValueError(f"not a relative path: {rel!r}")
    return Path(os.fsdecode(os.path.join(os.fsencode(dest), rel)))


def unpack(packed: Packed, dest: Path) -> Path:
    """Write ``packed`` into ``dest`` (links re-created as links, oversized files as sparse
    files of their size). Returns ``dest``."""
    for rel, data in packed.files.items():
        path = _inside(dest, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel, size in packed.oversized.items():
        path = _inside(dest, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(size)
    for rel, target in packed.links.items():
        path = _inside(dest, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    return dest


@functools.cache
def environment() -> dict[str, str]:
    """What must be the same on every machine that grades: versions and a digest of the code
    that computes a grade (matdiff, the grader, its templates and release history)."""
    import nbgrader
    import numpy

    import matdiff

    from ..paths import REPO

    digest = hashlib.sha256()
    for package in ("matdiff", "grader"):
        for path in sorted((REPO / package).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".json") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return {"python": "{}.{}".format(*sys.version_info[:2]), "matdiff": matdiff.__version__,
            "nbgrader": nbgrader.__version__, "numpy": numpy.__version__,
            "code": digest.hexdigest()[:16]}


def fingerprint(release: Packed) -> str:
    """A digest of a release: every file's path and content."""
    digest = hashlib.sha256()
    for rel in sorted(release.files):
        digest.update(rel + b"\0" + hashlib.sha256(release.files[rel]).digest())
    return digest.hexdigest()[:16]


@dataclass
class Course:
    """What a worker needs to prepare the course: the release, its fingerprint and the
    instructor's environment."""

    names: list[str]
    release: Packed
    fingerprint: str
    environment: dict[str, str]

    @classmethod
    def of(cls, solutions: str | Path, names: list[str]) -> Course:
        release = Packed()
        for name in names:
            part = pack(Path(solutions) / name, prefix=os.fsencode(name) + b"/")
            release.files.update(part.files)
        return cls(sorted(names), release, fingerprint(release), environment())


@dataclass
class Outcome:
    """A graded submission as it comes back: the record, the files written for it (path under
    OUT -> bytes), or the grader's traceback when grading failed."""

    record: Record | None
    files: dict[bytes, bytes] = field(default_factory=dict)
    failed: str = ""


# ---------------------------------------------------------------------------- on a Dask worker

def check(course: Course) -> None:
    """Refuse a course this worker would not grade as the instructor's machine does."""
    here = environment()
    differ = [f"{k} {course.environment.get(k)} there, {v} here" for k, v in here.items()
              if course.environment.get(k) != v]
    if differ:
        raise WrongCourse("this Dask worker's environment is not the instructor's ("
                          + "; ".join(differ) + "): install the same course checkout and "
                          "`pip install -e .[dev]` on every worker")
    if fingerprint(course.release) != course.fingerprint:
        raise WrongCourse(f"the release reached this Dask worker damaged (fingerprint "
                          f"{fingerprint(course.release)}, expected {course.fingerprint})")


def preflight(course: Course, sandbox: bool) -> str:
    """Run on every worker before the first task: '' when it can grade, else why not."""
    try:
        check(course)
        if sandbox:
            from .sandbox import Limits, Sandbox

            Sandbox(Limits()).check()
    except Exception as exc:
        return str(exc)
    return ""


class Pipeline:
    """A prepared ``Worker`` shared by the threads of a Dask worker process. Grading one
    submission (``Worker.start``: its kernel runs) overlaps writing the feedback of the one
    before (``Worker.finish``), as in a local worker: one ``start`` at a time, and a course root
    is taken again only once the feedback written from it is done. ``--nthreads 2`` uses it."""

    def __init__(self, worker, folder: Path):
        self.worker, self.folder = worker, folder
        self.starting = threading.Lock()
        self.roots = [threading.Lock() for _ in worker.slots]

    def grade(self, task: Task, out: Path) -> Record:
        with self.starting:
            root = self.roots[self.worker.turn]
            root.acquire()                      # the feedback last written from it is done
            try:
                record, graded = self.worker.start(task)
            except BaseException:
                root.release()
                raise
        try:
            self.worker.finish(record, graded, out)
        finally:
            root.release()
        return record

    def close(self) -> None:
        self.worker.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_cached: dict = {}                 # this process's prepared course: key -> Pipeline
_preparing = threading.Lock()


def _pipeline(course: Course, settings: Settings) -> Pipeline:
    from .course import prepare
    from .worker import Worker

    key = (course.fingerprint, settings)
    with _preparing:
        if key not in _cached:
            check(course)
            _close()
            tmp = Path(tempfile.mkdtemp(prefix="matdiff-dask-course-")).resolve()
            try:
                solutions = unpack(course.release, tmp / "solutions")
                info = prepare(solutions, course.names, tmp / "prepared")
                worker = Worker(info, tmp / "out", settings)
            except Exception as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise WrongCourse("this Dask worker could not prepare the course:\n"
                                  + traceback.format_exc()[-2000:]) from exc
            _cached[key] = Pipeline(worker, tmp)
            atexit.register(_close)
        return _cached[key]


def _close() -> None:
    for pipeline in _cached.values():
        pipeline.close()
    _cached.clear()


def grade(course: Course, settings: Settings, task: Task, packed: Packed | None) -> Outcome:
    """The Dask task: grade one submission on this worker and return what it wrote."""
    pipeline = _pipeline(course, settings)
    with tempfile.TemporaryDirectory(prefix="matdiff-dask-") as tmp:
        tmp = Path(tmp)
        if packed is not None:
            task = dataclasses.replace(task, folder=str(unpack(packed, tmp / "submission")))
        try:
            record = pipeline.grade(task, tmp / "out")
        except Exception:
            return Outcome(None, failed=traceback.format_exc()[-1500:])
        out = os.fsencode(tmp / "out")
        files = {}
        for dirpath, _, filenames in os.walk(out):
            for name in filenames:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as fh:
                    files[os.path.relpath(path, out)] = fh.read()
    return Outcome(record, files)


# ---------------------------------------------------------------------------- the main process

def _same(course: Course) -> Course:
    return course


def connect(settings: Settings):
    from distributed import Client

    if settings.scheduler_file:
        return Client(scheduler_file=settings.scheduler_file, timeout=settings.cluster_wait)
    return Client(settings.cluster, timeout=settings.cluster_wait)


def run(tasks: list[Task], info: CourseInfo, out, settings: Settings, log,
        stats: dict | None = None) -> list[Record]:
    """Grade ``tasks`` on the cluster; the same records as ``scheduler.run``."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    stats = {} if stats is None else stats
    out = Path(out)
    course = Course.of(info.solutions, sorted(info.assignments))
    results = Results(len(tasks), info, out, log)      # the local run's progress bar and log
    finish, zero = results.finish, results.zero

    client = connect(settings)
    try:
        client.wait_for_workers(1, timeout=settings.cluster_wait)
        refusals = {w: why for w, why in client.run(preflight, course, settings.sandbox).items() if why}
        if refusals:
            raise SystemExit("autograde: Dask worker(s) cannot grade this run:\n" + "\n".join(
                f"  {w}: {why}" for w, why in sorted(refusals.items())))
        threads = sum(client.nthreads().values())
        stats["workers"] = threads
        log(f"on the Dask cluster at {client.scheduler.address}: {len(client.nthreads())} "
            f"worker(s), {threads} thread(s); release {course.fingerprint}")
        run_id = os.urandom(4).hex()        # keys of this run: another run on the cluster has others
        shipped = client.submit(_same, course, key=f"matdiff-course-{course.fingerprint}-{run_id}")
        futures: dict = {}
        limit = settings.max_notebook_mb * 2**20

        def submit(task: Task, order: int):
            packed = pack(task.folder, True, limit) if task.folder is not None else None
            remote = dataclasses.replace(task, folder=None)
            future = client.submit(grade, shipped, settings, remote, packed, pure=False,
                                   retries=settings.cluster_retries, priority=-order,
                                   key=f"matdiff-grade-{run_id}-{task.sid}-{task.assignment}-{task.tries}")
            futures[future] = task
            return future

        for i, task in enumerate(tasks):
            if task.refused:
                zero(task, task.refused)
            else:
                submit(task, i)
        pending = as_completed(list(futures))

        def collect(future):
            task = futures.pop(future)
            # a result held by a worker that died before it was fetched is "lost": the
            # scheduler computes it again, and exception() waits for that
            exc = future.exception()
            if exc is None and future.status == "finished":
                outcome = future.result()
                future.release()              # its feedback pages leave the cluster's memory
                if outcome.record is None:
                    zero(task, "grading failed: " + outcome.failed, internal=True)
                    return
                stats.setdefault("first_ready", time.monotonic() - outcome.record.seconds)
                for rel, data in outcome.files.items():
                    path = _inside(out, rel)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                finish(task, outcome.record)
                return
            status = future.status
            future.release()
            if exc is None:                   # cancelled: the run never does that to a live task
                zero(task, f"grading ended on the cluster as {status!r}; not graded: grade it "
                     "again", internal=True)
                return
            if isinstance(exc, WrongCourse):
                client.cancel(list(futures))
                raise SystemExit(f"autograde: a Dask worker cannot grade this run: {exc}")
            if isinstance(exc, KilledWorker):
                # Dask counts a death against every task the worker held, queued ones too:
                # an innocent submission gets a second chance, a poisonous one kills again
                task.tries += 1
                if task.tries < settings.cluster_tries:
                    log(f"{task.student}/{task.assignment}: the Dask workers grading it died; "
                        "grading it again")
                    pending.add(submit(task, -1))
                else:
                    zero(task, "the Dask workers grading this submission died each time, "
                         f"{task.tries} times over (killed from outside, or out of memory); "
                         f"not graded: grade it again ({exc})", internal=True)
            else:
                zero(task, f"grading failed on the cluster: {type(exc).__name__}: {exc}",
                     internal=True)

        quiet = time.monotonic()            # since the last result
        while not pending.is_empty():
            batch = pending.next_batch(block=False)
            for future in batch:
                collect(future)
            if batch:
                quiet = time.monotonic()
            elif time.monotonic() - quiet > settings.cluster_wait:
                if not client.nthreads():     # every worker gone: the run still finishes
                    log(f"no Dask worker for {settings.cluster_wait:g} s: {len(futures)} "
                        "submission(s) not graded")
                    client.cancel(list(futures))
                    for task in futures.values():
                        zero(task, "not graded: the Dask cluster lost all its workers; grade it "
                             "again", internal=True)
                    break
                quiet = time.monotonic()
            else:
                time.sleep(0.05)
    finally:
        client.close()
    return results.close()

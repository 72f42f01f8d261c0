"""`python -m grader autograde SUBMISSIONS --out OUT [--jobs N | --cluster ADDRESS] [--timeout S]
[sandbox options]`.

Grades ``SUBMISSIONS/<learner>/<assignment>/<notebook>.ipynb`` (a folder or a .zip) with
nbgrader, every submission's code in a bubblewrap sandbox, and writes OUT/grades.csv,
OUT/exercises.csv, OUT/problems.csv, OUT/feedback/<learner>/<assignment>/*.html,
OUT/autograde.log and OUT/run.json.

A map of the package, in the order a run goes through it:

* ``settings``  -- ``Settings``: every knob of a run (jobs, time budget, sandbox limits, caps).
* ``intake``    -- unpack a .zip safely; find every (learner, assignment) as a ``Task``.
* ``course``    -- the one factory of nbgrader configurations; ``prepare`` generates each
  assignment once (template gradebook, student versions, imports, points): ``CourseInfo``.
* ``scheduler`` -- ``--jobs`` worker processes, a progress bar, workers that die or hang.
* ``cluster``   -- ``--cluster``: the same unit on a Dask cluster, one task per submission, the
  release and the submissions' bytes sent through it, the feedback sent back.
* ``worker``    -- grades one submission after another: nbgrader autograde in a course root
  of its own, scores read from the executed notebooks, feedback written in a thread.
* ``execute``   -- ``GuardedExecute``: runs a notebook in a sandboxed kernel within its budget.
* ``sandbox``   -- bubblewrap, resource limits, the pre-started kernel pool, the memory watchdog.
* ``feedback``  -- what the learner sees (Jinja templates in templates/).
* ``outputs``   -- the CSVs (spreadsheet-safe) and run.json.
* ``records``   -- the dataclasses passed between them: Task, Problem, CellResult, Record.

* ``trusted``   -- the trusted kernel outside the sandbox that runs the locked and test cells;
  ``bridge`` (its source runs in both kernels) calls the learner's functions across with
  plain data only.

``Normalize`` (restores locked and test cells) is in grader/preprocessors.py.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ..paths import SOLUTIONS, assignments, use_nbgrader_path
from .outputs import cell, write_outputs, write_run
from .sandbox import Limits, Sandbox, SandboxUnavailable
from .settings import Settings

__all__ = ["main", "Settings", "Limits", "cell", "SOLUTIONS"]


def main(submissions: str | Path, out: str | Path, jobs: int | None = None,
         timeout: float | None = None, solutions: Path = SOLUTIONS,
         settings: Settings | None = None, **fields) -> int:
    """Grade a class. ``jobs``, ``timeout`` (seconds per notebook) and any other ``Settings``
    field given by name override ``settings``. Returns 0, or 1 when nothing was found or the
    grader itself failed on a submission."""
    from .course import prepare
    from .intake import discover, safe_extract

    settings = settings or Settings()
    if jobs:
        fields["jobs"] = jobs
    if timeout:
        fields["notebook_seconds"] = timeout
    settings = dataclasses.replace(settings, **fields)
    if settings.distributed:
        from .cluster import run  # the workers check their own sandbox
    else:
        from .scheduler import run
    if settings.sandbox and not settings.distributed:
        try:
            Sandbox(settings.limits).check()
        except SandboxUnavailable as exc:
            raise SystemExit(f"autograde: cannot sandbox the learners' code: {exc}") from None
    # absolute paths: nbgrader changes the working directory while it converts notebooks
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "feedback", ignore_errors=True)
    logfile = open(out / "autograde.log", "w")
    use_nbgrader_path()

    def log(line: str) -> None:
        logfile.write(line + "\n")
        logfile.flush()
        sys.stderr.write(("\r" if sys.stderr.isatty() else "") + line + "\n")

    solutions = Path(solutions).resolve()
    with tempfile.TemporaryDirectory(prefix="matdiff-autograde-") as tmp:
        tmp = Path(tmp).resolve()
        if submissions.is_file() and zipfile.is_zipfile(submissions):
            (tmp / "unzipped").mkdir()
            root = safe_extract(submissions, tmp / "unzipped", settings.max_unzipped_mb << 20, log)
        elif submissions.is_dir():
            root = submissions
        else:
            raise SystemExit(f"{submissions}: not a folder or a .zip of submissions")
        tasks = discover(root, assignments(solutions), log)
        if not tasks:
            log(f"no submissions found in {submissions} (expected <student>/<assignment>/<notebook>.ipynb)")
            write_outputs([], out)
            return 1
        names = sorted({t.assignment for t in tasks})
        t0 = time.monotonic()
        info = prepare(solutions, names, tmp)
        where = (f"on the Dask cluster at {settings.cluster or settings.scheduler_file}"
                 if settings.distributed else f"with {settings.jobs} job(s)")
        log(f"prepared {', '.join(names)} in {time.monotonic() - t0:.1f} s; grading {len(tasks)} "
            f"submission(s) {where}, {settings.notebook_seconds:g} s per notebook")
        if not settings.sandbox:
            log("WARNING: --no-sandbox: every submission runs with your own rights")
        t1, stats = time.monotonic(), {}
        records = run(tasks, info, out, settings, log, stats)
        write_outputs(records, out)
        if settings.gradebook:
            from .gradebook import export

            export(records, info, out, Path(settings.gradebook), log)
        seconds = time.monotonic() - t1
        startup = stats.get("first_ready", t1) - t1
    log(f"graded {len(records)} submission(s) in {seconds:.1f} s "
        f"({seconds / max(len(records), 1):.2f} s each); wrote {out}/grades.csv, exercises.csv, "
        f"problems.csv, feedback/")
    write_run(out, submissions=len(records), jobs=stats.get("workers", settings.jobs),
              seconds=round(seconds, 3),
              worker_startup=round(startup, 3), boundary_calls=sum(r.calls for r in records))
    logfile.close()
    return 1 if any(r.internal_error for r in records) else 0

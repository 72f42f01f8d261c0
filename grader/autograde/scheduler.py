"""The scheduler: hands tasks to ``--jobs`` worker processes, collects their records, replaces
a worker that dies, and shows the run's progress.

A learner's code cannot reach its worker (it runs in a sandbox), so a worker that dies was
killed from outside (an administrator, the OOM killer): the submission it was grading is graded
again by a new worker; one that takes down two workers is reported (not blamed on the learner).
A worker that hangs past ``Settings.hang_seconds`` on one submission is replaced.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from . import feedback, worker
from .course import CourseInfo
from .records import CellResult, Record, Task
from .settings import Settings


class Progress:
    """A one-line progress bar with counts and time left (no dependency)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream
        self.tty = stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        width = 28
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        line = (f"[{bar}] {self.done}/{self.total}  {elapsed:5.0f}s elapsed, "
                f"~{left:4.0f}s left  {label}")
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class Results:
    """The records of a run as they come in (from local workers or a Dask cluster): each one's
    problems logged, each counted on the progress bar; a 0 with the reason and a feedback page
    for a submission that could not be graded."""

    def __init__(self, total: int, info: CourseInfo, out, log):
        self.records: list[Record] = []
        self.progress, self.info, self.out, self.log = Progress(total), info, out, log

    def finish(self, task: Task, record: Record) -> None:
        self.records.append(record)
        for p in record.problems:
            self.log(f"{task.student}/{task.assignment}: {p}")
        self.progress.step(f"{task.student}/{task.assignment} {record.score:g}/{record.max_score:g}")

    def zero(self, task: Task, why: str, internal: bool = False) -> None:
        record = zero_record(task, self.info, why, internal)
        feedback.placeholders(self.out, record, self.info.assignments[task.assignment])
        self.finish(task, record)

    def close(self) -> list[Record]:
        internal = sum(r.internal_error for r in self.records)
        if internal:
            self.log(f"{internal} submission(s) hit an internal grading error (see above)")
        return self.records


def zero_record(task: Task, info: CourseInfo, reason: str, internal: bool = False) -> Record:
    """A 0 for every test of the assignment, with the reason."""
    record = Record(task.student, task.assignment, task.sid)
    record.cells = [CellResult(n, gid, pts) for n, d in info.assignments[task.assignment].items()
                    for gid, pts in d.grades]
    record.problem(reason, internal)
    return record


@dataclass
class _Worker:
    process: object
    inflight: dict[tuple[str, str], Task] = field(default_factory=dict)  # oldest first
    since: float = field(default_factory=time.monotonic)                 # current task's start


def run(tasks: list[Task], info: CourseInfo, out, settings: Settings, log,
        stats: dict | None = None) -> list[Record]:
    stats = {} if stats is None else stats
    # fork: workers inherit the imported nbgrader (no start-up cost); no kernel or zmq
    # context exists in this process yet, so forking is safe
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    queue = list(reversed(tasks))
    results = Results(len(tasks), info, out, log)
    finish, zero = results.finish, results.zero
    workers: dict = {}          # connection -> _Worker
    jobs = max(1, settings.jobs)

    def spawn():
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker.serve, daemon=True,
                           args=(child, info, str(out), settings, os.getpid()))
        proc.start()
        child.close()
        workers[parent] = _Worker(proc)

    def handle(conn, kind, payload):
        w = workers[conn]
        if kind == "more":
            stats.setdefault("first_ready", time.monotonic())
            while queue and queue[-1].refused:
                task = queue.pop()
                zero(task, task.refused)
            if queue:
                task = queue.pop()
                try:
                    conn.send(task)
                except OSError:
                    queue.append(task)          # it never reached the worker
                    raise
                w.inflight[task.key] = task
                w.since = time.monotonic()
            else:
                conn.send(None)
        elif kind == "fatal":
            raise SystemExit(f"a grading worker could not start:\n{payload}")
        elif kind == "done":
            finish(w.inflight.pop((payload.sid, payload.assignment)), payload)
        elif kind == "failed":
            task = w.inflight.pop(payload[0].key)
            zero(task, "grading failed: " + payload[1][-1500:], internal=True)

    for _ in range(min(jobs, len(tasks))):
        spawn()
    while workers:
        ready = wait(list(workers) + [w.process.sentinel for w in workers.values()], timeout=5)
        for conn in list(workers):
            w = workers[conn]
            try:
                while conn.poll():
                    handle(conn, *conn.recv())
                alive = w.process.is_alive()
            except (EOFError, OSError):
                alive = False
            if conn in ready and alive:
                continue
            hung = bool(w.inflight) and time.monotonic() - w.since > settings.hang_seconds
            if alive and not hung:
                continue
            if hung:
                w.process.kill()
            w.process.join(5)
            if w.process.is_alive():
                continue
            try:
                while conn.poll():              # what it said before it went
                    kind, payload = conn.recv()
                    if kind in ("done", "failed"):
                        handle(conn, kind, payload)
            except (EOFError, OSError):
                pass
            conn.close()
            del workers[conn]
            if w.inflight:
                *innocent, current = w.inflight.values()
                queue.extend(reversed(innocent))     # its feedback was being written: again
                current.tries += 1
                code = w.process.exitcode
                if hung:
                    zero(current, f"grading stopped after {settings.hang_seconds:.0f} s "
                         "(the grader hung)", internal=True)
                elif current.tries < 2:
                    log(f"{current.student}/{current.assignment}: its grading worker was killed "
                        f"from outside (exit code {code}); grading it again")
                    queue.append(current)
                else:
                    zero(current, "the grading worker was killed from outside twice while "
                         f"grading this submission (exit code {code}); not graded: grade it "
                         "again", internal=True)
            if queue and len(workers) < jobs:
                spawn()
    return results.close()

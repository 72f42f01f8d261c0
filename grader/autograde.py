"""`python -m grader autograde SUBMISSIONS --out OUT [--jobs N] [--timeout S]`.

Grades ``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb`` (a folder or a .zip) with
nbgrader and writes OUT/grades.csv, OUT/exercises.csv, OUT/feedback/<student>/<assignment>/,
OUT/problems.csv (one line per thing that went wrong with a submission) and OUT/autograde.log.

How it is built:
* The main process generates each assignment once from solutions/ in a throw-away course
  root (that fills a template gradebook and gives the student versions).
* ``--jobs`` worker processes each own a course root; every submission is graded against a
  fresh copy of the template gradebook, so workers never share or corrupt one, and one
  student's code cannot touch another's grades. Each worker runs nbgrader's autograde and
  generate_feedback in-process (no start-up per submission).
* A worker that dies (a submission killed its parent) costs that submission only: it is
  recorded as 0 with the reason and a new worker takes over.
"""

from __future__ import annotations

import ast
import csv
import html
import json
import multiprocessing as mp
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from multiprocessing.connection import wait
from pathlib import Path

from .intake import Task, discover, notebooks_in, safe_extract
from .paths import COURSE_ID, SOLUTIONS, assignments, use_nbgrader_path

DIAGNOSIS = re.compile(r"\[diagnosis: ([a-z][a-z-]*)\]")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


# ---------------------------------------------------------------------------- course set-up

def _imports(nb) -> tuple[list[str], list[list]]:
    """Modules and names imported by the locked and test cells (the instructor's code)."""
    modules, bindings = [], []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("locked") or meta.get("grade")) or meta.get("solution"):
            continue
        try:
            tree = ast.parse("\n".join(line for line in cell.source.splitlines()
                                       if not line.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    modules.append(a.name)
                    if a.asname:
                        bindings.append([a.asname, a.name, None])
                    else:
                        top = a.name.split(".")[0]
                        bindings.append([top, top, None])
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
                for a in node.names:
                    if a.name != "*":
                        bindings.append([a.asname or a.name, node.module, a.name])
    return list(dict.fromkeys(modules)), bindings


def _config(root: Path, timeout: float):
    from traitlets.config import Config

    from .preprocessors import GuardedExecute

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.Application.log_level = "ERROR"
    c.Execute.timeout = int(timeout)
    c.GuardedExecute.timeout = int(timeout)
    c.GuardedExecute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
    c.LimitOutput.max_lines = 1000
    c.LimitOutput.max_traceback = 100
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from .preprocessors import Normalize
    c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, Normalize,
                                          OverwriteCells, CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                           LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                           CheckCellMetadata]
    return c


def prepare(solutions: Path, names: list[str], workdir: Path, timeout: float) -> dict:
    """Generate the assignments once: a template gradebook and the student versions."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    use_nbgrader_path()       # nbgrader runs `alembic`
    root = workdir / "template"
    root.mkdir(parents=True)
    (root / "source").symlink_to(solutions.resolve(), target_is_directory=True)
    api = NbGraderAPI(config=_config(root, timeout))
    info = {"gradebook": str(root / "gradebook.db"), "solutions": str(solutions.resolve()),
            "release": str(root / "release"), "assignments": {}}
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise SystemExit(f"nbgrader could not generate {name}:\n{result.get('log', '')}"
                             f"{result.get('error', '')}")
        nbs = {}
        for path in sorted((root / "release" / name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            modules, bindings = _imports(nb)
            cells = []
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("grade"):
                    cells.append([meta["grade_id"], float(meta.get("points", 0))])
            nbs[path.stem] = {"path": str(path), "imports": modules, "bindings": bindings,
                              "grades": cells}
        info["assignments"][name] = nbs
    return info


# ---------------------------------------------------------------------------- the worker

def nbgrader_error(result: dict) -> str:
    """The real error of a failed NbGraderAPI call: the traceback nbgrader logged (its
    ``error`` only says "see the above traceback"), cut to its last lines."""
    log = result.get("log") or ""
    error = result.get("error") or ""
    where = log.rfind("Traceback (most recent call last)")
    text = (log[where:] if where >= 0 else log[-1500:]) + ("\n" + error if error else "")
    return text.strip()[-2500:]


class Worker:
    """Grades submissions one after another, in two course roots of its own.

    ``start`` runs nbgrader's autograde (the kernel work); ``finish`` writes the feedback.
    The worker loop runs ``finish`` of one submission in a thread while ``start`` of the next
    one waits on its kernel, in the other root: the feedback costs almost no wall time.
    """

    def __init__(self, info: dict, out: Path, timeout: float, limits=None):
        import warnings

        import nbformat

        warnings.filterwarnings("ignore", module="nbgrader")       # SAWarnings from its gradebook
        use_nbgrader_path()
        os.environ.setdefault("PYTHONHASHSEED", "0")
        os.environ.setdefault("MPLBACKEND", "Agg")
        self.info, self.out, self.timeout = info, out, timeout
        self.max_notebook = int(info.get("max_notebook_mb", 20) * 2**20)
        self.base = Path(tempfile.mkdtemp(prefix="matdiff-grade-"))
        self.templates = {a: {n: nbformat.read(d["path"], as_version=4) for n, d in nbs.items()}
                          for a, nbs in info["assignments"].items()}
        from nbgrader.apps import NbGraderAPI

        from .sandbox import KernelPool, Sandbox
        self.slots = []
        for i in range(2):
            root = self.base / f"root{i}"
            root.mkdir()
            (root / "source").symlink_to(info["solutions"], target_is_directory=True)
            self.slots.append((root, NbGraderAPI(config=_config(root, timeout))))
        self.turn = 0
        preload = sorted({"numpy", "matdiff"} | {m for nbs in info["assignments"].values()
                                                  for d in nbs.values() for m in d["imports"]})
        sandbox = None if limits is None else Sandbox(limits, course=Path(info["release"]),
                                                      modules=tuple(preload) + ("ipykernel",))
        self.pool = KernelPool(sandbox, self.base, preload)
        self.pool.prewarm()

    def close(self) -> None:
        self.pool.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def grade(self, task: Task) -> dict:
        """Grade one submission, start to finish."""
        record, state = self.start(task)
        self.finish(record, state)
        return record

    def start(self, task: Task) -> tuple[dict, tuple]:
        """Autograde in the next free course root; returns the record and what finish needs."""
        import nbformat

        from . import preprocessors

        started = time.monotonic()
        self.root, self.api = self.slots[self.turn]
        self.turn = 1 - self.turn
        nbs = self.info["assignments"][task.assignment]
        record = {"student": task.student, "sid": task.sid, "assignment": task.assignment, "problems": [],
                  "cells": {}, "notebooks": {}}
        problems = record["problems"]
        for d in ("submitted", "autograded", "feedback"):
            shutil.rmtree(self.root / d, ignore_errors=True)
        shutil.copyfile(self.info["gradebook"], self.root / "gradebook.db")
        dest = self.root / "submitted" / task.sid / task.assignment
        dest.mkdir(parents=True)
        present = {}
        if task.folder is None:
            problems.append("nothing submitted for this assignment")
        else:
            files, found = notebooks_in(task.folder)
            problems.extend(found)
            missing = [n for n in nbs if n not in files]
            spare = [n for n in files if n not in nbs]
            if len(missing) == 1 and len(spare) == 1:
                problems.append(f"{spare[0]}.ipynb graded as {missing[0]}.ipynb (renamed?)")
                files[missing[0]] = files.pop(spare[0])
            for name in nbs:
                if name not in files:
                    problems.append(f"{name}.ipynb missing from the submission")
                    continue
                size = files[name].stat().st_size
                if size > self.max_notebook:
                    problems.append(f"{name}.ipynb is too large to grade ({size / 2**20:.1f} MB; "
                                    f"the limit is {self.max_notebook / 2**20:.0f} MB)")
                    continue
                try:
                    nb = nbformat.read(files[name], as_version=4)
                    if not isinstance(nb.get("cells"), list):
                        raise ValueError("no cells")
                except Exception as exc:
                    problems.append(f"{name}.ipynb is not a readable notebook "
                                    f"({type(exc).__name__}: {str(exc)[:200]})")
                    continue
                nbformat.write(nb, dest / f"{name}.ipynb")
                present[name] = True
        preprocessors.CONTEXT.clear()
        preprocessors.CONTEXT.update(
            templates=self.templates[task.assignment], timeout=self.timeout, workdir=str(self.root),
            imports=sorted({m for d in nbs.values() for m in d["imports"]}),
            bindings=[b for d in nbs.values() for b in d["bindings"]], problems=problems,
            pool=self.pool)
        scores = {}
        if present:
            result = self.api.autograde(task.assignment, task.sid, force=True, create=True)
            if not result["success"]:
                problems.append("internal: nbgrader autograde failed: "
                                + nbgrader_error(result))
                record["internal_error"] = True
            else:
                scores = self._scores(task)
        for name, d in nbs.items():
            for gid, points in d["grades"]:
                score = scores.get((name, gid), 0.0)
                record["cells"][f"{name}/{gid}"] = [gid, score, points, ""]
        if present and scores:
            self._diagnose(task, record, present)
        record["score"] = sum(c[1] for c in record["cells"].values())
        record["max_score"] = sum(c[2] for c in record["cells"].values())
        record["seconds"] = time.monotonic() - started
        return record, (task, self.root, self.api, present, bool(present and scores))

    def finish(self, record: dict, state: tuple) -> None:
        """Write the feedback pages of a submission that ``start`` graded."""
        task, root, api, present, graded = state
        try:
            if graded:
                result = api.generate_feedback(task.assignment, task.sid, force=True)
                src = root / "feedback" / task.sid / task.assignment
                dst = self.out / "feedback" / task.student / task.assignment
                if result["success"] and src.is_dir():
                    dst.mkdir(parents=True, exist_ok=True)
                    for f in src.glob("*.html"):
                        shutil.copyfile(f, dst / f.name)
                else:
                    record["problems"].append("internal: feedback could not be generated")
            placeholder_feedback(self.out, record, self.info["assignments"][task.assignment], present)
        except Exception:
            record["problems"].append("internal: feedback failed: " + traceback.format_exc()[-1500:])

    def _scores(self, task: Task) -> dict:
        """Scores of the test cells, read from the notebooks the trusted worker executed (never
        from a database the kernel could have written), each clamped to [0, its points]."""
        import nbformat
        from nbgrader.utils import determine_grade

        points = {(n, gid): pts for n, d in self.info["assignments"][task.assignment].items()
                  for gid, pts in d["grades"]}
        out: dict = {}
        folder = self.root / "autograded" / task.sid / task.assignment
        for name in self.info["assignments"][task.assignment]:
            path = folder / f"{name}.ipynb"
            if not path.exists():
                continue
            for cell in nbformat.read(path, as_version=4).cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                key = (name, meta.get("grade_id"))
                if key not in points or key in out or not meta.get("grade") or meta.get("solution"):
                    continue
                cell.metadata.nbgrader["points"] = points[key]
                score, _ = determine_grade(cell)
                out[key] = min(max(float(score or 0.0), 0.0), points[key])
        return out

    def _diagnose(self, task: Task, record: dict, present: dict) -> None:
        import nbformat

        folder = self.root / "autograded" / task.sid / task.assignment
        for name in present:
            path = folder / f"{name}.ipynb"
            if not path.exists():
                continue
            nb = nbformat.read(path, as_version=4)
            lines = []
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if not meta.get("grade") or cell.cell_type != "code":
                    continue
                hidden = bool(HIDDEN.search(cell.source))
                cell.source = HIDDEN.sub("# (hidden tests: their inputs stay secret)", cell.source)
                entry = record["cells"].get(f"{name}/{meta['grade_id']}")
                message = ""
                kept = []
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        tags = DIAGNOSIS.findall(str(out.get("evalue", "")))
                        message = f"{out.get('ename')}: {out.get('evalue', '')}"
                        if hidden and not tags:
                            message = (f"{out.get('ename')} (details not shown: they could reveal "
                                       "the hidden tests' inputs)")
                        if tags and entry and entry[1] < entry[2]:
                            entry[3] = tags[-1]
                        if hidden or (out.get("ename") == "AssertionError" and tags):
                            out["evalue"] = message.split(": ", 1)[-1] if tags else ""
                            out["traceback"] = [message]      # no hidden lines, no grader frames
                        kept.append(out)
                    elif not hidden:
                        kept.append(out)
                if hidden and len(kept) < len(cell.get("outputs", [])):
                    kept.insert(0, nbformat.v4.new_output(
                        "stream", name="stdout", text="[output printed during the hidden tests is "
                        "not shown]\n"))
                cell.outputs = kept
                if entry:
                    verdict = "passed" if entry[1] >= entry[2] else "not yet"
                    lines.append(f"<li><b>{html.escape(meta['grade_id'])}</b>: {entry[1]:g} / "
                                 f"{entry[2]:g} ({verdict})"
                                 + (f"<pre>{html.escape(message)}</pre>" if message and verdict != "passed"
                                    else "") + "</li>")
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(self._summary(record, lines)))
            nbformat.write(nb, path)

    def _summary(self, record: dict, lines: list[str]) -> str:
        total = sum(c[1] for c in record["cells"].values())
        maximum = sum(c[2] for c in record["cells"].values())
        text = [f"<h2>Feedback for {html.escape(record['student'])}: "
                f"{html.escape(record['assignment'])}</h2>",
                f"<p><b>Score: {total:g} / {maximum:g}</b></p>"]
        if record["problems"]:
            text.append("<p>The grader noticed:</p><ul>"
                        + "".join(f"<li>{html.escape(p)}</li>" for p in record["problems"]
                                  if not p.startswith("internal")) + "</ul>")
        text.append("<p>Exercises (each test below shows what it checked):</p><ul>" + "".join(lines)
                    + "</ul>")
        return "\n".join(text)


def placeholder_feedback(out: Path, record: dict, notebooks: dict, present=()) -> None:
    """A page for every notebook that could not be graded, saying why."""
    dst = out / "feedback" / record["student"] / record["assignment"]
    for name in notebooks:
        if name in present and (dst / f"{name}.html").exists():
            continue
        dst.mkdir(parents=True, exist_ok=True)
        why = "".join(f"<li>{html.escape(p)}</li>" for p in record["problems"]
                      if not p.startswith("internal")) or "<li>not graded</li>"
        maximum = sum(c[2] for k, c in record["cells"].items() if k.startswith(name + "/"))
        (dst / f"{name}.html").write_text(
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(name)}</title>"
            f"<h2>{html.escape(record['assignment'])}/{html.escape(name)}.ipynb: 0 / {maximum:g}</h2>"
            f"<p>This notebook could not be graded:</p><ul>{why}</ul>"
            "<p>Submit the notebook (File &gt; Save, then upload the .ipynb file) and ask "
            "your instructor to grade it again.</p>")


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent (the main process) dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn, info: dict, out: str, timeout: float, limits, parent: int) -> None:
    """Protocol: send ("more", None) for a task; the answer is a task or None (stop).
    Every task is answered with ("done", record) or ("failed", (task, traceback))."""
    import threading

    die_with_parent()
    if os.getppid() != parent:
        return
    try:
        worker = Worker(info, Path(out), timeout, limits)
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
            msg = conn.recv()
            if msg is None:
                break
            task = Task(**msg)
            try:
                record, state = worker.start(task)      # the kernel runs; the feedback thread too
            except Exception:
                flush()
                conn.send(("failed", (msg, traceback.format_exc())))
                continue
            flush()
            thread = threading.Thread(target=worker.finish, args=(record, state), daemon=True)
            thread.start()
            pending = (thread, record)
        flush()
    finally:
        worker.close()


# ---------------------------------------------------------------------------- the run

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


def _zero_record(task: Task, info: dict, reason: str) -> dict:
    cells = {f"{n}/{gid}": [gid, 0.0, pts, ""]
             for n, d in info["assignments"][task.assignment].items() for gid, pts in d["grades"]}
    return {"student": task.student, "assignment": task.assignment, "problems": [reason],
            "cells": cells, "score": 0.0, "max_score": sum(c[2] for c in cells.values()),
            "seconds": 0.0}


def run(tasks: list[Task], info: dict, out: Path, jobs: int, timeout: float, log,
        stats: dict | None = None, limits=None) -> list[dict]:
    stats = {} if stats is None else stats
    # fork: workers inherit the imported nbgrader (no start-up cost); no kernel or zmq
    # context exists in this process yet, so forking is safe
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    queue = list(reversed(tasks))
    records: list[dict] = []
    progress = Progress(len(tasks))
    workers: dict = {}          # conn -> [process, {key: task} in flight (oldest first), started]
    hang_limit = timeout * 3 + 180
    fatal = 0

    def spawn():
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, daemon=True,
                           args=(child, info, str(out), timeout, limits, os.getpid()))
        proc.start()
        child.close()
        workers[parent] = [proc, {}, time.monotonic()]

    def finish(task, record):
        records.append(record)
        for p in record["problems"]:
            log(f"{task.student}/{task.assignment}: {p}")
        progress.step(f"{task.student}/{task.assignment} {record['score']:g}/{record['max_score']:g}")

    def zero(task, why):
        record = _zero_record(task, info, why)
        placeholder_feedback(out, record, info["assignments"][task.assignment])
        finish(task, record)

    def handle(conn, kind, payload):
        nonlocal fatal
        inflight = workers[conn][1]
        if kind == "more":
            stats.setdefault("first_ready", time.monotonic())
            while queue and queue[-1].refused:
                task = queue.pop()
                zero(task, task.refused)
            if queue:
                task = queue.pop()
                try:
                    conn.send(task.__dict__)
                except OSError:
                    queue.append(task)          # it never reached the worker
                    raise
                inflight[(task.sid, task.assignment)] = task
                workers[conn][2] = time.monotonic()
            else:
                conn.send(None)
        elif kind == "fatal":
            raise SystemExit(f"a grading worker could not start:\n{payload}")
        elif kind == "done":
            finish(inflight.pop((payload["sid"], payload["assignment"])), payload)
        elif kind == "failed":
            fatal += 1
            task = inflight.pop((payload[0]["sid"], payload[0]["assignment"]))
            zero(task, "internal: grading failed: " + payload[1][-1500:])

    for _ in range(max(1, min(jobs, len(tasks)))):
        spawn()
    while workers:
        ready = wait(list(workers) + [w[0].sentinel for w in workers.values()], timeout=5)
        for conn in list(workers):
            proc, inflight, started = workers[conn]
            try:
                while conn.poll():
                    handle(conn, *conn.recv())
                continue_alive = proc.is_alive()
            except (EOFError, OSError):
                continue_alive = False
            if conn in ready and continue_alive:
                continue
            hung = bool(inflight) and time.monotonic() - started > hang_limit
            if continue_alive and not hung:
                continue
            if hung:
                proc.kill()
            proc.join(5)
            if proc.is_alive():
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
            if inflight:
                # A learner's code cannot reach its worker (it runs in a sandbox), so a worker
                # that died was killed from outside (an administrator, the OOM killer): its
                # submissions are graded again by a new worker; one that takes down two workers
                # is reported, without blaming the learner.
                *innocent, current = inflight.values()
                queue.extend(reversed(innocent))
                current.tries += 1
                if hung:
                    zero(current, f"grading stopped after {hang_limit:.0f} s (the grader hung)")
                elif current.tries < 2:
                    log(f"{current.student}/{current.assignment}: its grading worker was killed "
                        f"from outside (exit code {proc.exitcode}); grading it again")
                    queue.append(current)
                else:
                    zero(current, "internal: the grading worker was killed from outside twice "
                         f"while grading this submission (exit code {proc.exitcode}); not graded: "
                         "grade it again")
            if queue and len(workers) < max(1, jobs):
                spawn()
    if fatal:
        log(f"{fatal} submission(s) hit an internal grading error (see above)")
    return records


def cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe."""
    text = value if isinstance(value, str) else f"{value:g}"
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Writer:
    def __init__(self, fh):
        self.w = csv.writer(fh)

    def writerow(self, row) -> None:
        self.w.writerow([cell(v) for v in row])


def write_outputs(records: list[dict], out: Path) -> None:
    records = sorted(records, key=lambda r: (r["student"], r["assignment"]))
    with open(out / "grades.csv", "w", newline="") as fh:
        w = _Writer(fh)
        w.writerow(["student", "assignment", "score", "max_score"])
        for r in records:
            w.writerow([r["student"], r["assignment"], r["score"], r["max_score"]])
    with open(out / "exercises.csv", "w", newline="") as fh:
        w = _Writer(fh)
        w.writerow(["student", "assignment", "grade_id", "score", "max_score", "diagnosis"])
        for r in records:
            for gid, score, points, diagnosis in r["cells"].values():
                w.writerow([r["student"], r["assignment"], gid, score, points, diagnosis])
    with open(out / "problems.csv", "w", newline="") as fh:
        w = _Writer(fh)
        w.writerow(["student", "assignment", "problem"])
        for r in records:
            for p in r["problems"]:
                w.writerow([r["student"], r["assignment"], p])


def main(submissions: str | Path, out: str | Path, jobs: int | None = None, timeout: float = 120,
         solutions: Path = SOLUTIONS, sandbox: bool = True, limits=None,
         max_notebook_mb: float = 20, max_unzipped_mb: int = 2048) -> int:
    from .sandbox import Limits, Sandbox, SandboxUnavailable

    limits = (limits or Limits()) if sandbox else None
    if limits is not None:
        try:
            Sandbox(limits).check()
        except SandboxUnavailable as exc:
            raise SystemExit(f"autograde: cannot sandbox the learners' code: {exc}") from None
    # absolute paths: nbgrader changes the working directory while it converts notebooks
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    jobs = jobs or os.cpu_count() or 1
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
            root = safe_extract(submissions, tmp / "unzipped", max_unzipped_mb << 20, log)
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
        info = prepare(solutions, names, tmp, timeout)
        info["max_notebook_mb"] = max_notebook_mb
        log(f"prepared {', '.join(names)} in {time.monotonic() - t0:.1f} s; grading {len(tasks)} "
            f"submission(s) with {jobs} job(s), {timeout:g} s per notebook")
        t1, stats = time.monotonic(), {}
        if limits is None:
            log("WARNING: --no-sandbox: every submission runs with your own rights")
        records = run(tasks, info, out, jobs, timeout, log, stats, limits)
        write_outputs(records, out)
        seconds = time.monotonic() - t1
        startup = stats.get("first_ready", t1) - t1
    internal = sum(any(p.startswith("internal") for p in r["problems"]) for r in records)
    log(f"graded {len(records)} submission(s) in {seconds:.1f} s "
        f"({seconds / max(len(records), 1):.2f} s each); wrote {out}/grades.csv, exercises.csv, "
        f"problems.csv, feedback/")
    (out / "run.json").write_text(json.dumps({"submissions": len(records), "jobs": jobs,
                                              "seconds": round(seconds, 3),
                                              "worker_startup": round(startup, 3)}))
    logfile.close()
    return 1 if internal else 0

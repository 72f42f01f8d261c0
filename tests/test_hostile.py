"""The hostile class (tests/hostile.py) graded through the real sandbox with real nbgrader.

Asserts: every hostile submission earns 0 (any point would be forged), every honest one keeps
every point whatever its name, the run finishes, nothing outside the output folder changes,
no process of a submission survives, no connection reaches the grader's machine, and the
grades do not depend on --jobs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import threading
import zipfile
from pathlib import Path

import hostile
import pytest

from grader import autograde

pytestmark = pytest.mark.slow
TIMEOUT = 20


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _fingerprint(*roots: Path) -> dict[str, str]:
    """Path -> content hash (or link target) of every file under the roots, links not followed."""
    out = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".venv", ".git", "__pycache__",
                                                            ".pytest_cache", ".ruff_cache")]
            for f in files + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, f)
                out[p] = ("link:" + os.readlink(p) if os.path.islink(p)
                          else hashlib.sha256(open(p, "rb").read()).hexdigest())
    return out


def _leftovers() -> list[str]:
    """Processes an attack left behind (their command line carries the marker), or any process
    of a sandbox uid, except those of the other test processes running beside this one
    (pytest-xdist: our parent's other children grade their own classes meanwhile)."""
    found, parents = [], {}
    for pid in os.listdir("/proc"):
        try:
            parents[int(pid)] = int(open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue

    def beside_us(pid: int) -> bool:
        chain = []
        while pid > 1 and pid in parents and len(chain) < 100:
            chain.append(pid)
            pid = parents[pid]
        return os.getppid() in chain and os.getpid() not in chain and os.getppid() > 1

    for pid in parents:
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            uid = int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        if hostile.MARKER in cmd or (uid >= 1_000_000 and not beside_us(pid)):
            found.append(f"{pid} uid={uid} {cmd[:80]}")
    return found


class Listener:
    """A TCP server on the grader's machine that records any connection."""

    def __init__(self, host: str):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port, self.hits, self.stop = self.sock.getsockname()[1], [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
                self.hits.append(addr)
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def _host_ip() -> str:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, repo):
    tmp = tmp_path_factory.mktemp("hostile")
    solutions, student = hostile.demo(tmp, repo)
    subs, out = tmp / "submissions", tmp / "out"
    listeners = [Listener("127.0.0.1")]
    host_ip = _host_ip()
    if host_ip != "127.0.0.1":
        listeners.append(Listener(host_ip))
    # one port for both: the attack tries it on every address
    port = listeners[0].port
    paths = {"solutions": str(solutions), "honest": str(subs / "honest-a" / "demo" / "demo.ipynb"),
             "out": str(out), "repo": str(repo), "home": str(Path.home()), "port": port,
             "host_ip": host_ip, "course_db": str(repo / "course" / "gradebook.db")}
    techniques = hostile.build(subs, student, paths)
    secret = "matdiff-secret-" + os.urandom(8).hex()
    os.environ["MATDIFF_TEST_SECRET"] = secret
    import numpy
    watched = [subs, solutions, repo / "grader", repo / "matdiff", repo / "tests", repo / "notebooks",
               Path(numpy.__file__), Path.home() / ".bashrc"]
    watched = [w for w in watched if w.exists()]
    before = _fingerprint(*watched)
    try:
        code = autograde.main(subs, out, jobs=2, timeout=TIMEOUT, solutions=solutions)
    finally:
        os.environ.pop("MATDIFF_TEST_SECRET", None)
        for listener in listeners:
            listener.close()
    return {"code": code, "out": out, "subs": subs, "solutions": solutions,
            "techniques": techniques, "before": before, "after": _fingerprint(*watched),
            "hits": [h for listener in listeners for h in listener.hits], "secret": secret,
            "grades": {r["student"]: r for r in _csv(out / "grades.csv")},
            "cells": {(r["student"], r["grade_id"]): r for r in _csv(out / "exercises.csv")},
            "problems": _csv(out / "problems.csv"), "leftovers": _leftovers()}


def test_the_run_finishes_and_everyone_has_a_row(attacked):
    assert attacked["code"] == 0, (attacked["out"] / "problems.csv").read_text()[-3000:]
    shown = {autograde.cell(n if isinstance(n, str) else os.fsdecode(n).encode(
        "utf-8", "surrogateescape").decode("utf-8", "backslashreplace")) for n in hostile.HONEST}
    assert set(attacked["grades"]) == set(attacked["techniques"]) | shown


def test_every_honest_learner_keeps_every_point(attacked):
    honest = {k: v for k, v in attacked["grades"].items() if k not in attacked["techniques"]}
    assert len(honest) == len(hostile.HONEST)
    assert all(v["score"] == "3" for v in honest.values()), honest


def test_no_hostile_submission_forges_a_point(attacked):
    forged = {k: v["score"] for k, v in attacked["grades"].items()
              if k in attacked["techniques"] and v["score"] != "0"}
    assert not forged


def test_nothing_outside_the_output_changes(attacked):
    changed = {k for k in attacked["before"].keys() | attacked["after"].keys()
               if attacked["before"].get(k) != attacked["after"].get(k)}
    assert not changed
    assert not os.path.exists(hostile.CANARY)
    assert not (attacked["out"] / "feedback" / "honest-a" / "demo" / "demo.html").read_text() \
        .startswith("0 points")


def test_no_process_survives_and_no_connection_gets_out(attacked):
    assert attacked["leftovers"] == []
    assert attacked["hits"] == []


def test_the_graders_environment_does_not_leak(attacked):
    for f in attacked["out"].rglob("*"):
        if f.is_file():
            assert attacked["secret"] not in f.read_text(errors="replace"), f


@pytest.mark.parametrize("student, words", [
    ("symlink-notebook", "symbolic link"), ("symlink-learner-folder", "symbolic link"),
    ("symlink-assignment-folder", "symbolic link"), ("notebook-50mb", "too large"),
    ("memory-hog-children", "memory"), ("fork-bomb", "time limit"),
    ("print-100mb", "output larger than 8 MB"),
    # nothing else is in its PID namespace: the ids it kills are its own threads'
    ("kill-everyone", "kernel died in cell 3"),
])
def test_each_attack_gets_a_clear_reason(attacked, student, words):
    said = [p["problem"] for p in attacked["problems"] if p["student"] == student]
    assert any(words in p for p in said), said


def test_the_kernel_cannot_kill_what_runs_it(attacked):
    """Its parent is the init of its own PID namespace: the kill is ignored and the test cells
    run (and find the wrong answer)."""
    assert not [p for p in attacked["problems"] if p["student"] == "kill-parent"]
    assert attacked["cells"][("kill-parent", "test_grad_square")]["diagnosis"] == "scale"


def test_csv_cells_are_not_formulas(attacked):
    text = (attacked["out"] / "grades.csv").read_text()
    assert "\n'=1+1," in text and "\n'@SUM(A1)," in text and "\n'-2+3," in text
    assert "\ncaf\\xe9-latin1," in text and "\n.dot-name," in text and "\nünïcødé," in text


def test_grades_do_not_depend_on_jobs(attacked, tmp_path):
    subset = ["honest-a", "read-solutions", "kill-everyone", "daemon", "write-gradebook",
              "symlink-notebook", "print-100mb"]
    sub = tmp_path / "subs"
    sub.mkdir()
    for name in subset:
        src = attacked["subs"] / name
        (sub / name).symlink_to(src) if src.is_symlink() else None
        if not src.is_symlink():
            import shutil
            shutil.copytree(src, sub / name, symlinks=True)
    out = tmp_path / "out"
    assert autograde.main(sub, out, jobs=1, timeout=TIMEOUT, solutions=attacked["solutions"]) == 0
    again = {(r["student"], r["grade_id"]): r for r in _csv(out / "exercises.csv")}
    assert again == {k: v for k, v in attacked["cells"].items() if k[0] in subset}


def test_a_hostile_zip(attacked, tmp_path):
    """Bad entries are skipped and reported, a bomb is capped, the rest is graded."""
    archive = tmp_path / "class.zip"
    honest = (attacked["subs"] / "honest-a" / "demo" / "demo.ipynb").read_bytes()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("class/honest-a/demo/demo.ipynb", honest)
        zf.writestr("class/../escaped.txt", "x")
        zf.writestr("/absolute.txt", "x")
        link = zipfile.ZipInfo("class/linker/demo/demo.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, str(attacked["solutions"] / "demo" / "demo.ipynb"))
        zf.writestr("class/zz-bomb/demo/bomb.bin", b"\0" * (80 << 20))
    out = tmp_path / "out"
    assert autograde.main(archive, out, jobs=1, timeout=TIMEOUT, solutions=attacked["solutions"],
                          max_unzipped_mb=40) == 0
    grades = {r["student"]: r["score"] for r in _csv(out / "grades.csv")}
    assert grades["honest-a"] == "3"
    assert grades.get("linker", "0") == "0"
    log = (out / "autograde.log").read_text()
    for words in ("'..'", "absolute path", "symbolic link", "zip bomb"):
        assert words in log
    assert not (tmp_path / "escaped.txt").exists()


def _parent(pid: int) -> int:
    try:
        return int(open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descends(pid: int, ancestor: int) -> bool:
    for _ in range(100):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        pid = _parent(pid)
    return False


def _sandbox_kernels(ancestor: int | None = None) -> list[tuple[int, int]]:
    """(pid, parent pid) of every outer bwrap started by a grader on this machine (only those
    under ``ancestor``, when given: other tests grade beside this one)."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            ppid = int(open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if cmd and cmd[0].endswith(b"bwrap") and b"--hostname" in cmd and b"ipykernel_launcher" in cmd:
            if ancestor is None or _descends(int(pid), ancestor):
                out.append((int(pid), ppid))
    return out


def _slow_class(attacked, tmp_path, seconds: int) -> Path:
    subs = tmp_path / "subs"
    nb = json.loads((attacked["subs"] / "honest-a" / "demo" / "demo.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "grad_square":
            cell["source"] += f"\nimport time\ntime.sleep({seconds})"
    (subs / "slow" / "demo").mkdir(parents=True)
    (subs / "slow" / "demo" / "demo.ipynb").write_text(json.dumps(nb))
    return subs


def _start(subs: Path, out: Path, solutions: Path):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                             "--jobs", "1", "--timeout", "60", "--solutions", str(solutions)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_kernel(proc, known) -> tuple[int, int]:
    import time

    for _ in range(600):
        fresh = [k for k in _sandbox_kernels(proc.pid) if k not in known]
        # the worker's kernel runs the submission only after the pre-started one exists
        if fresh:
            time.sleep(4)
            return fresh[0]
        assert proc.poll() is None
        time.sleep(0.1)
    raise AssertionError("no sandboxed kernel started")


def test_a_worker_killed_from_outside_does_not_blame_the_learner(attacked, tmp_path):
    import signal

    subs = _slow_class(attacked, tmp_path, 8)
    out = tmp_path / "out"
    known = _sandbox_kernels()
    proc = _start(subs, out, attacked["solutions"])
    _, worker = _wait_for_kernel(proc, known)
    os.kill(worker, signal.SIGKILL)                  # an administrator, the OOM killer...
    assert proc.wait(timeout=300) == 0
    assert _csv(out / "grades.csv")[0]["score"] == "3"
    assert "killed from outside" in (out / "autograde.log").read_text()


def test_workers_and_sandboxes_die_with_the_main_process(attacked, tmp_path):
    import signal
    import time

    subs = _slow_class(attacked, tmp_path, 30)
    known = _sandbox_kernels()
    proc = _start(subs, tmp_path / "out", attacked["solutions"])
    _wait_for_kernel(proc, known)
    ours = {pid for pid, _ in _sandbox_kernels(proc.pid)}      # not other tests' sandboxes
    assert ours
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        left = [k for k in _sandbox_kernels() if k[0] in ours]
        if not left:
            break
        time.sleep(0.1)
    assert left == []

"""`python -m grader autograde --cluster`: grading on a real Dask cluster (a `dask scheduler`
and two `dask worker`s on 127.0.0.1, tests/dask_cluster.py) gives the same grades.csv,
exercises.csv and problems.csv as `--jobs 1`, for a class with hostile and broken members;
a worker killed mid-run loses nothing; a submission that kills every worker it touches gets a
0 with the reason after a bounded number of tries; a worker with another environment refuses.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pytest
import test_grading
from dask_cluster import DaskCluster

from grader import autograde
from grader.autograde import cluster

TIMEOUT = 15
HERE = Path(__file__).resolve().parent
# from the hostile class: attacks, links, a 50 MB notebook and names that trip intake
HOSTILE = {"read-solutions", "read-other-submission", "fork-bomb", "kill-everyone", "write-output",
           "symlink-notebook", "symlink-learner-folder", "symlink-assignment-folder", "notebook-50mb",
           "honest-a", "ünïcødé", "caf\udce9-latin1", "=1+1"}


# ---------------------------------------------------------------------------- without a cluster

def test_a_folder_travels_as_it_is(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.ipynb").write_text("{}")
    (src / "sub" / "b.ipynb").write_bytes(b"x" * 100)
    (src / os.fsdecode(b"caf\xe9.ipynb")).write_text("latin-1 name")
    (src / "notes.txt").write_text("not a notebook")
    (src / "link.ipynb").symlink_to("/etc/passwd")
    (src / "folder-link").symlink_to(tmp_path, target_is_directory=True)
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "a.ipynb").write_text("{}")
    packed = cluster.pack(src, notebooks_only=True, max_bytes=50)
    assert set(packed.files) == {b"a.ipynb", b"caf\xe9.ipynb"}
    assert packed.oversized == {b"sub/b.ipynb": 100}
    assert packed.links == {b"link.ipynb": b"/etc/passwd", b"folder-link": b"/"}
    dst = cluster.unpack(packed, tmp_path / "dst")
    assert (dst / "a.ipynb").read_text() == "{}"
    assert (dst / "sub" / "b.ipynb").stat().st_size == 100
    assert os.readlink(dst / "link.ipynb") == "/etc/passwd" and (dst / "folder-link").is_dir()
    with pytest.raises(ValueError):
        cluster.unpack(cluster.Packed(files={b"../escape": b""}), tmp_path / "dst")


def test_a_worker_refuses_another_environment_or_a_damaged_release(repo):
    course = cluster.Course.of(repo / "tests" / "fixtures" / "course" / "solutions", ["demo"])
    cluster.check(course)
    other = cluster.Course(course.names, course.release, course.fingerprint,
                           course.environment | {"matdiff": "0.0.1"})
    with pytest.raises(cluster.WrongCourse, match="matdiff 0.0.1 there, 0.1.0 here"):
        cluster.check(other)
    damaged = cluster.Course(course.names, cluster.Packed(files={b"demo/demo.ipynb": b"{}"}),
                             course.fingerprint, course.environment)
    with pytest.raises(cluster.WrongCourse, match="damaged"):
        cluster.check(damaged)


def test_grading_on_one_machine_does_not_need_dask():
    code = ("import sys, grader.cli, grader.autograde, grader.autograde.cluster, "
            "grader.autograde.scheduler; assert 'distributed' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- on a cluster

def _rows(out: Path, students: list[str] | None = None) -> dict[str, list[list[str]]]:
    """grades.csv, exercises.csv and problems.csv: the header and every row (these students'
    only, when given), in order."""
    keep = None if students is None else {autograde.cell(s) for s in students}
    tables = {}
    for f in ("grades.csv", "exercises.csv", "problems.csv"):
        with open(out / f, newline="") as fh:
            header, *rows = csv.reader(fh)
        tables[f] = [header] + [r for r in rows if keep is None or r[0] in keep]
    return tables


def _feedback(out: Path, students: list[str] | None = None) -> set:
    return {p.relative_to(out) for p in (out / "feedback").rglob("*.html")
            if students is None or p.relative_to(out / "feedback").parts[0] in students}


@pytest.fixture(scope="module")
def klass(tmp_path_factory, repo):
    tmp = tmp_path_factory.mktemp("cluster")
    solutions, student = hostile.demo(tmp, repo)
    subs = tmp / "submissions"
    test_grading._write(subs, test_grading._class(student))
    side = tmp / "hostile"
    hostile.build(side, student, {"solutions": str(solutions), "out": str(tmp / "out"),
                                  "honest": str(side / "honest-a" / "demo" / "demo.ipynb"),
                                  "repo": str(repo), "home": str(Path.home()), "port": 9,
                                  "host_ip": "127.0.0.1", "course_db": str(tmp / "none.db")})
    for name in os.listdir(side):
        if name in HOSTILE:
            os.rename(side / name, subs / name)
    # the class graded with --jobs 1, in a process of its own while the cluster grades it
    out, log = tmp / "jobs1", open(tmp / "jobs1.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                             "--jobs", "1", "--timeout", str(TIMEOUT), "--solutions", str(solutions)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield {"tmp": tmp, "subs": subs, "solutions": solutions, "jobs1": (proc, out),
               "student": student}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()


def _jobs1(klass) -> Path:
    """The output of the class's --jobs 1 run, once it has finished."""
    proc, out = klass["jobs1"]
    assert proc.wait(timeout=600) == 0, (klass["tmp"] / "jobs1.log").read_text()[-3000:]
    return out


@pytest.fixture(scope="module")
def dask(tmp_path_factory):
    c = DaskCluster(tmp_path_factory.mktemp("dask"), workers=2, preload=HERE / "dask_poison.py")
    yield c
    c.close()


@pytest.mark.slow
def test_a_cluster_grades_a_hostile_class_like_jobs_1(klass, dask):
    out = klass["tmp"] / "cluster"
    code = autograde.main(klass["subs"], out, timeout=TIMEOUT, solutions=klass["solutions"],
                          cluster=dask.address)
    assert code == 0
    assert _rows(out) == _rows(_jobs1(klass))
    assert _feedback(out) == _feedback(_jobs1(klass))
    assert json.loads((out / "run.json").read_text())["jobs"] == 2
    text = (out / "feedback" / "typical" / "demo" / "demo.html").read_text()
    assert "[diagnosis: sign]" in text and "Score: 0 / 3" in text


@pytest.mark.slow
def test_a_submission_that_kills_every_worker_gets_a_zero_and_the_run_finishes(klass, dask):
    subs = klass["tmp"] / "poison"
    for name in ("kills-dask-worker", "complete", "typical"):
        shutil.copytree(klass["subs"] / ("complete" if name == "kills-dask-worker" else name),
                        subs / name)
    out = klass["tmp"] / "poison-out"
    code = autograde.main(subs, out, timeout=TIMEOUT, solutions=klass["solutions"],
                          scheduler_file=str(dask.file))
    assert code == 1                                    # an internal problem: the run says so
    grades = {r["student"]: r["score"] for r in test_grading._csv(out / "grades.csv")}
    assert grades == {"kills-dask-worker": "0", "complete": "3", "typical": "0"}
    said = (out / "problems.csv").read_text()
    assert "died each time, 2 times over" in said
    page = (out / "feedback" / "kills-dask-worker" / "demo" / "demo.html").read_text()
    assert "died" not in page and "internal" not in page     # not the learner's business
    dask.wait_for(2)                                    # the nannies restarted them


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(klass, tmp_path):
    names = ["complete", "blank", "typical", "transposed", "exits", "segfault", "kills-grader",
             "malformed", "honest-a", "=1+1", "read-solutions", "symlink-notebook"]
    subs = tmp_path / "subs"
    for name in names:
        shutil.copytree(klass["subs"] / name, subs / name, symlinks=True)
    c = DaskCluster(tmp_path / "dask", workers=2, threads=2)     # the pipelined workers
    try:
        out, err = tmp_path / "out", tmp_path / "stderr"
        with open(err, "w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                 "--timeout", str(TIMEOUT), "--solutions", str(klass["solutions"]),
                 "--scheduler-file", str(c.file)], stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while f"] 1/{len(names)}" not in err.read_text():    # both workers are grading
                assert proc.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.2)
            c.kill_worker(1)                                     # the machine is gone
            assert proc.wait(timeout=300) == 0, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert _rows(out) == _rows(_jobs1(klass), names)        # as in the class's --jobs 1 run
        assert _feedback(out) == _feedback(_jobs1(klass), names)
        progress = [line for line in err.read_text().splitlines() if line.startswith("[")]
        assert len(progress) == len(names)                       # each counted once
    finally:
        c.close()


@pytest.mark.slow
def test_a_worker_with_another_environment_refuses(klass, dask, monkeypatch):
    mine = cluster.environment()
    monkeypatch.setattr(cluster, "environment", lambda: mine | {"nbgrader": "0.1"})
    with pytest.raises(SystemExit, match="nbgrader 0.1 there"):
        autograde.main(klass["subs"], klass["tmp"] / "refused", timeout=TIMEOUT,
                       solutions=klass["solutions"], cluster=dask.address)


@pytest.mark.slow
def test_a_cluster_that_loses_every_worker_still_finishes(klass, tmp_path):
    subs = tmp_path / "subs"
    for i in range(3):
        shutil.copytree(klass["subs"] / "endless", subs / f"learner{i}")
    c = DaskCluster(tmp_path / "dask", workers=1)
    try:
        out = tmp_path / "out"
        proc = subprocess.Popen(
            [sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
             "--timeout", str(TIMEOUT), "--solutions", str(klass["solutions"]),
             "--cluster", c.address, "--cluster-wait", "5"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while "on the Dask cluster at" not in _text(out / "autograde.log").split("\n", 1)[-1]:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
            time.sleep(2)
            c.kill_worker(0)                                     # the whole cluster is gone
            assert proc.wait(timeout=120) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        grades = test_grading._csv(out / "grades.csv")
        assert [g["score"] for g in grades] == ["0", "0", "0"]
        assert "lost all its workers" in (out / "problems.csv").read_text()
    finally:
        c.close()


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""

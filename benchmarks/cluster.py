"""Grading throughput on a local Dask cluster against local `--jobs`.

    .venv/bin/python benchmarks/cluster.py [--n 20] [--assignment demo] [--solutions DIR]

For N copies of a complete submission it times `python -m grader autograde` with `--jobs 1` and
`--jobs 2`, then with `--cluster` on a local Dask cluster (tests/dask_cluster.py: one `dask
scheduler`; one `dask worker` with 1 or 2 threads, or two with 2 threads each), twice per
cluster: *cold* (each worker prepares the course: generates the assignment, starts its
sandboxed kernels) and *warm* (the same course again: the workers keep it). Times are the
grading run (run.json "seconds", the course prepared in the main process not included), and
"steady", without worker start-up.
CPU: the grader's processes and the cluster's (scheduler, nannies, workers, kernels), from
/proc. Prints a Markdown table (benchmarks/README.md, "Grading on a cluster").
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from dask_cluster import DaskCluster  # noqa: E402
from grading import options  # noqa: E402

from grader.paths import nbgrader_env  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def group_cpu(pgids: set[int]) -> float:
    """CPU seconds of every live process in these process groups, with their reaped children."""
    total = 0
    for pid in os.listdir("/proc"):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in pgids:                        # pgrp
            total += sum(int(f) for f in fields[11:15])    # utime stime cutime cstime
    return total / TICK


def grade(subs: Path, out: Path, args, extra: list[str], env, pgids=frozenset()) -> dict:
    c0, g0 = children_cpu(), group_cpu(pgids)
    subprocess.run([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                    "--timeout", str(args.timeout), "--solutions", args.solutions, *extra],
                   cwd=REPO, env=env, check=True, capture_output=True)
    run = json.loads((out / "run.json").read_text())
    grades = (out / "grades.csv").read_text().splitlines()[1:]
    assert len(grades) == args.n and all(g.split(",")[2] == g.split(",")[3] for g in grades)
    run["cpu"] = children_cpu() - c0 + group_cpu(pgids) - g0
    run["grades"] = (out / "grades.csv").read_text() + (out / "exercises.csv").read_text()
    return run


def main() -> int:
    args = options()
    env = nbgrader_env() | {"MPLBACKEND": "Agg"}
    source = sorted((Path(args.solutions) / args.assignment).glob("*.ipynb"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    load0 = os.getloadavg()
    rows = {}
    try:
        subs = tmp / "submissions"
        for i in range(args.n):
            d = subs / f"student{i:02d}" / args.assignment
            d.mkdir(parents=True)
            for nb in source:
                shutil.copy(nb, d / nb.name)
        for jobs in (1, 2):
            rows[f"`--jobs {jobs}`"] = grade(subs, tmp / f"jobs{jobs}", args, ["--jobs", str(jobs)], env)
        for workers, threads in ((1, 1), (1, 2), (2, 2)):
            cluster = DaskCluster(tmp / f"dask{workers}{threads}", workers=workers, threads=threads)
            try:
                pgids = {p.pid for p in [cluster.scheduler, *cluster.workers]}
                for run in ("cold", "warm"):
                    rows[f"Dask, {workers} worker(s) x {threads} thread(s), {run}"] = grade(
                        subs, tmp / f"dask{workers}{threads}{run}", args, ["--cluster", cluster.address], env,
                        pgids)
            finally:
                cluster.close()
        same = len({r["grades"] for r in rows.values()}) == 1
        print(f"{args.n} submissions of `{args.assignment}` ({len(source)} notebook(s) each), "
              f"{os.cpu_count()} cores, shared with other work: load average {load0[0]:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after; identical grades in every run: {same}\n")
        print("| run | grading (s) | per submission (s) | worker start-up (s) | steady, per "
              "submission (s) | CPU per submission (s) |")
        print("|---|---|---|---|---|---|")
        for name, r in rows.items():
            steady = (r["seconds"] - r["worker_startup"]) / args.n
            print(f"| {name} | {r['seconds']:.1f} | {r['seconds'] / args.n:.2f} | "
                  f"{r['worker_startup']:.1f} | {steady:.2f} | {r['cpu'] / args.n:.2f} |")
        for workers, threads in ((1, 1), (1, 2), (2, 2)):
            local = rows[f"`--jobs {workers}`"]
            dask = rows[f"Dask, {workers} worker(s) x {threads} thread(s), warm"]
            print(f"\nDask overhead, {workers} worker(s) x {threads} thread(s) (warm) against "
                  f"`--jobs {workers}`: "
                  f"{dask['seconds'] / local['seconds'] - 1:+.1%} wall, "
                  f"{(dask['seconds'] - local['seconds']) / args.n:+.3f} s per submission; "
                  f"CPU {dask['cpu'] / local['cpu'] - 1:+.1%}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grading throughput: `python -m grader autograde` against its floor and plain nbgrader.

    .venv/bin/python benchmarks/grading.py [--n 20] [--assignment demo] [--solutions DIR]

For N copies of a complete submission of one assignment it times
  * the floor: nbclient executing the same (restored) notebook, one after another;
  * plain `nbgrader autograde` (the CLI, one process for the class, sequential);
  * `python -m grader autograde --jobs 1 --no-sandbox`, `--jobs 1` and `--jobs 2` (every
    submission's kernel in a bubblewrap sandbox).
Set-up (generating the assignment, which creates a gradebook) is timed separately.
Prints a Markdown table (paste into benchmarks/README.md, "Grading throughput").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.autograde.course import config_file_text, nbgrader_config  # noqa: E402
from grader.paths import nbgrader_env  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and of every finished child (workers, kernels)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def options() -> argparse.Namespace:
    """The options of the grading benchmarks (this one and benchmarks/cluster.py)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--assignment", default="demo")
    ap.add_argument("--solutions", default=str(REPO / "tests" / "fixtures" / "course" / "solutions"))
    ap.add_argument("--timeout", type=float, default=300)
    return ap.parse_args()


def main() -> int:
    args = options()
    env = nbgrader_env()
    env["MPLBACKEND"] = "Agg"
    os.environ.update(env)
    import nbformat

    from grader.notebook_client import notebook_client

    solutions = Path(args.solutions).resolve()
    source = sorted((solutions / args.assignment).glob("*.ipynb"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        subs = tmp / "submissions"
        for i in range(args.n):
            d = subs / f"student{i:02d}" / args.assignment
            d.mkdir(parents=True)
            for nb in source:                      # the instructor version: a complete submission
                shutil.copy(nb, d / nb.name)
        rows, cpus, startups = {}, {}, {}

        # floor: nbclient, sequential
        c, t = cpu(), time.perf_counter()
        for _ in range(args.n):
            for path in source:
                nb = nbformat.read(path, as_version=4)
                notebook_client(nb, path.parent, int(args.timeout)).execute()
        rows["floor: nbclient, sequential"] = time.perf_counter() - t
        cpus["floor: nbclient, sequential"] = cpu() - c

        # plain nbgrader autograde (CLI)
        course = tmp / "course"
        course.mkdir()
        (course / "source").symlink_to(solutions, target_is_directory=True)
        shutil.copytree(subs, course / "submitted")
        plain = nbgrader_config(course, log_level=None, notebook_seconds=args.timeout)
        (course / "nbgrader_config.py").write_text(config_file_text(plain))
        nbg = [str(Path(sys.executable).parent / "nbgrader")]
        t = time.perf_counter()
        subprocess.run(nbg + ["generate_assignment", args.assignment, "--force", "--create"], cwd=course,
                       env=env, check=True, capture_output=True)
        setup = time.perf_counter() - t
        c, t = cpu(), time.perf_counter()
        subprocess.run(nbg + ["autograde", args.assignment, "--force", "--create"], cwd=course, env=env,
                       check=True, capture_output=True)
        rows["plain `nbgrader autograde` (no feedback)"] = time.perf_counter() - t
        cpus["plain `nbgrader autograde` (no feedback)"] = cpu() - c

        for jobs, sandbox in ((1, False), (1, True), (2, True)):
            out = tmp / f"out{jobs}{sandbox}"
            c = cpu()
            subprocess.run([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                            "--jobs", str(jobs), "--timeout", str(args.timeout), "--solutions",
                            str(solutions)] + ([] if sandbox else ["--no-sandbox"]),
                           cwd=REPO, env=env, check=True, capture_output=True)
            name = (f"`python -m grader autograde --jobs {jobs}"
                    + ("`, sandboxed" if sandbox else " --no-sandbox`") + " (with feedback)")
            run = json.loads((out / "run.json").read_text())
            rows[name] = run["seconds"]
            startups[name] = run["worker_startup"]
            cpus[name] = cpu() - c            # includes the one-off set-up (generate_assignment)
            grades = (out / "grades.csv").read_text().splitlines()[1:]
            assert len(grades) == args.n and all(g.split(",")[2] == g.split(",")[3] for g in grades)
        floor = rows["floor: nbclient, sequential"]
        print(f"{args.n} submissions of `{args.assignment}`, {os.cpu_count()} cores; assignment set-up "
              f"(generate_assignment + gradebook) {setup:.1f} s, not included below.\n")
        print("| run | total (s) | per submission (s) | vs floor | without worker start-up (s) "
              "| vs floor | CPU per submission (s) |")
        print("|---|---|---|---|---|---|---|")
        for name, sec in rows.items():
            steady = sec - startups.get(name, 0.0)
            print(f"| {name} | {sec:.1f} | {sec / args.n:.2f} | {sec / floor:.2f}x | "
                  f"{steady / args.n:.2f} | {steady / floor:.2f}x | {cpus[name] / args.n:.2f} |")
        j1 = rows["`python -m grader autograde --jobs 1`, sandboxed (with feedback)"]
        j2 = rows["`python -m grader autograde --jobs 2`, sandboxed (with feedback)"]
        bare = rows["`python -m grader autograde --jobs 1 --no-sandbox` (with feedback)"]
        print(f"\nsandbox cost (--jobs 1): {j1 / bare:.2f}x the unsandboxed run, "
              f"{(j1 - bare) / args.n:+.3f} s per submission; sandboxed --jobs 1 per submission "
              f"vs the floor: {j1 / floor:.2f}x")
        print(f"--jobs 2 speed-up over --jobs 1: {j1 / j2:.2f}x; over the sequential floor: "
              f"{floor / j2:.2f}x; over plain nbgrader: "
              f"{rows['plain `nbgrader autograde` (no feedback)'] / j2:.2f}x")
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

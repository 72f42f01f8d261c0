"""Grading the course's own notebooks: this checkout against an earlier revision.

    .venv/bin/python benchmarks/course.py [--baseline 4827623] [--n 3] [--rounds 2]

For each of the course's notebooks, N complete submissions (the executed solutions) are graded
by `python -m grader autograde --jobs 1` (sandboxed) of this checkout and of the baseline
revision (checked out into a temporary git worktree; both use this environment's packages).
The two are run in turns, ROUNDS times, so that a shared machine's load falls on both alike.
The default baseline, 4827623, is the sandbox-only worker, before the test cells ran in a
trusted kernel (issue 14); the target there is at most 10% slower per submission.

Prints a Markdown table: seconds per submission, without the worker's start-up, per notebook
(medians over the rounds), and the calls across the trusted boundary per notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from notebook_tools import nbgrader_meta, solution_code  # noqa: E402

from grader.paths import nbgrader_env  # noqa: E402


def grade(tree: Path, subs: Path, out: Path, env: dict, tries: int = 1) -> tuple[dict, int]:
    """Grade, and check that every complete submission kept every point. Returns run.json and
    how many runs were repeated: the baseline (before 5b10a49) sometimes hangs on an
    `interact` cell of notebook 08 until the notebook's time is up (jupyter/nbclient#312);
    such a run is repeated (up to ``tries`` runs) rather than counted."""
    for attempt in range(tries):
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out),
                        "--jobs", "1", "--solutions", str(tree / "solutions")],
                       cwd=tree, env=env, check=True, capture_output=True)
        run = json.loads((out / "run.json").read_text())
        grades = (out / "grades.csv").read_text().splitlines()[1:]
        if all(g.split(",")[2] == g.split(",")[3] for g in grades):
            return run, attempt
    raise SystemExit(f"{tree}: a complete submission lost points: {grades}\n"
                     + (out / "problems.csv").read_text())


def answered(student: Path, solution: Path, to: Path) -> None:
    """The student version with every answer cell written as the solution writes it (the
    solution markers dropped): what a learner who got everything right hands in."""
    import nbformat

    nb = nbformat.read(student, as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: solution_code(c.source)
               for c in nbformat.read(solution, as_version=4).cells if nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") and nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    nbformat.write(nb, to)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="4827623")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="notebook names (default: all)")
    args = ap.parse_args()
    env = nbgrader_env()
    env["MPLBACKEND"] = "Agg"
    tmp = Path(tempfile.mkdtemp(prefix="bench-course-"))
    base = tmp / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline], cwd=REPO,
                   check=True, capture_output=True)
    # the installed matdiff (an editable install of this checkout) is the one the sandbox
    # shows, so the baseline's grader runs with this checkout's matdiff too: this benchmark
    # compares the grader only
    shutil.rmtree(base / "matdiff")
    (base / "matdiff").symlink_to(REPO / "matdiff", target_is_directory=True)
    trees = {"baseline": base, "this": REPO}
    names = args.only or sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    seconds: dict = {(t, n): [] for t in trees for n in names}
    calls: dict = {}
    repeated = 0
    try:
        for name in names:
            subs = {}
            for label, tree in trees.items():
                subs[label] = tmp / f"subs-{label}-{name}"
                for i in range(args.n):
                    d = subs[label] / f"student{i:02d}" / name
                    d.mkdir(parents=True)
                    for nb in (tree / "notebooks" / name).glob("*.ipynb"):
                        answered(nb, tree / "solutions" / name / nb.name, d / nb.name)
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    run, again = grade(tree, subs[label], tmp / "out", env,
                                       tries=3 if label == "baseline" else 1)
                    repeated += again
                    seconds[label, name].append((run["seconds"] - run["worker_startup"]) / args.n)
                    if label == "this":
                        calls[name] = {"calls": run.get("boundary_calls", 0) // args.n}
        print(f"{args.n} complete submissions per notebook, `--jobs 1`, sandboxed; median of "
              f"{args.rounds} rounds; seconds per submission without the worker's start-up; "
              "both graders use this checkout's matdiff\n")
        print(f"| notebook | baseline {args.baseline} | this checkout | change | calls across "
              "the boundary |")
        print("|---|---|---|---|---|")
        tb = tt = 0.0
        for name in names:
            b = statistics.median(seconds["baseline", name])
            t = statistics.median(seconds["this", name])
            tb, tt = tb + b, tt + t
            c = calls.get(name, {})
            print(f"| {name} | {b:.2f} | {t:.2f} | {100 * (t / b - 1):+.0f}% | "
                  f"{c.get('calls', '?')} |")
        print(f"| all | {tb / len(names):.2f} | {tt / len(names):.2f} | "
              f"{100 * (tt / tb - 1):+.0f}% | |")
        if repeated:
            print(f"\nBaseline runs repeated because a complete submission lost points to the "
                  f"known widget hang (jupyter/nbclient#312, fixed here in 5b10a49): {repeated}")
        load = os.getloadavg()
        print(f"\n{os.cpu_count()} cores; load average at the end: {load[0]:.1f} {load[1]:.1f} "
              f"{load[2]:.1f}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO,
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

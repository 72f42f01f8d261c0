"""Command-line interface of `python -m grader`."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grader",
                                description="Run the Matrix Derivatives course with nbgrader.")
    sub = p.add_subparsers(dest="command", required=True)

    rel = sub.add_parser("release", help="generate notebooks/ (student versions) from solutions/")
    rel.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    rel.add_argument("--check", action="store_true",
                     help="do not write; exit 1 when notebooks/ differs from what would be generated")

    ex = sub.add_parser("execute", help="build solutions/ from sources/ and run them (fresh outputs)")
    ex.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    ex.add_argument("--changed", action="store_true",
                    help="only the notebooks whose source changed since they were last executed")
    ex.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")

    ag = sub.add_parser("autograde",
                        help="grade a class: SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb")
    ag.add_argument("submissions", help="a folder or a .zip of <student>/<assignment>/<notebook>.ipynb")
    ag.add_argument("--out", required=True, help="where grades.csv, exercises.csv and feedback/ go")
    ag.add_argument("--jobs", type=int, default=None, help="parallel graders (default: the number of cores)")
    ag.add_argument("--timeout", type=float, default=120, help="seconds per notebook (default 120)")
    ag.add_argument("--solutions", default=None, help=argparse.SUPPRESS)
    ag.add_argument("--gradebook", nargs="?", const="course/gradebook.db", default=None,
                    metavar="DB", help="also write the grades into this nbgrader gradebook, so the "
                    "Formgrader shows them (default course/gradebook.db)")
    ag.add_argument("--max-notebook", type=float, default=20, metavar="MB",
                    help="a bigger notebook is reported, not graded (default 20)")
    ag.add_argument("--max-unzipped", type=int, default=2048, metavar="MB",
                    help="a .zip of submissions unpacks to at most this (default 2048)")
    dk = ag.add_argument_group("a Dask cluster (see README, \"Grading a large class\")")
    where = dk.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDRESS", default=None,
                       help="grade on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786): one "
                            "task per submission, each graded in its own sandbox on a worker")
    where.add_argument("--scheduler-file", metavar="F", default=None,
                       help="grade on the Dask scheduler that `dask scheduler --scheduler-file F` describes")
    dk.add_argument("--cluster-wait", type=float, default=60, metavar="S",
                    help="seconds to wait for the scheduler and a first worker (default 60)")
    box = ag.add_argument_group("sandbox (bubblewrap; limits per submission)")
    box.add_argument("--no-sandbox", action="store_true",
                     help="run learners' code with your own rights, without bubblewrap "
                          "(only for code you trust)")
    box.add_argument("--memory", type=int, default=2048, metavar="MB",
                     help="address space per process (default 2048)")
    box.add_argument("--cpu-time", type=int, default=None, metavar="S",
                     help="CPU seconds per process (default: 2 x --timeout)")
    box.add_argument("--processes", type=int, default=64, metavar="N",
                     help="processes and threads per submission (default 64)")
    box.add_argument("--file-size", type=int, default=64, metavar="MB",
                     help="largest file a submission may write (default 64)")
    box.add_argument("--scratch", type=int, default=256, metavar="MB",
                     help="size of its private working folder (default 256)")
    box.add_argument("--output-size", type=int, default=8, metavar="MB",
                     help="largest single output message read from a kernel (default 8)")

    rp = sub.add_parser("report", help="summarise a graded class (pass rates, diagnoses, histogram)")
    rp.add_argument("out", help="the --out folder of `autograde`")
    rp.add_argument("--format", choices=["md", "html"], default="md", help="report format (default md)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "release":
        from .release import main as release

        return release(check=args.check, names=args.assignments or None)
    if args.command == "execute":
        from .execute import main as execute

        return execute(args.assignments or None, timeout=args.timeout, changed=args.changed)
    if args.command == "autograde":
        from pathlib import Path

        from .autograde import SOLUTIONS, Limits, Settings
        from .autograde import main as autograde

        limits = Limits(memory_mb=args.memory, processes=args.processes, file_mb=args.file_size,
                        scratch_mb=args.scratch, output_mb=args.output_size,
                        cpu_seconds=args.cpu_time or int(2 * args.timeout) + 10)
        settings = Settings(notebook_seconds=args.timeout, sandbox=not args.no_sandbox,
                            limits=limits, gradebook=args.gradebook,
                            max_notebook_mb=args.max_notebook, max_unzipped_mb=args.max_unzipped,
                            cluster=args.cluster, scheduler_file=args.scheduler_file,
                            cluster_wait=args.cluster_wait)
        return autograde(args.submissions, args.out, jobs=args.jobs, settings=settings,
                         solutions=Path(args.solutions) if args.solutions else SOLUTIONS)
    if args.command == "report":
        from .report import main as report

        return report(args.out, fmt=args.format)
    raise AssertionError(args.command)


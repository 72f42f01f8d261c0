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

    ex = sub.add_parser("execute", help="re-run solutions/ notebooks in place to refresh outputs")
    ex.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    ex.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "release":
        from .release import main as release

        return release(check=args.check, names=args.assignments or None)
    if args.command == "execute":
        from .execute import main as execute

        return execute(args.assignments or None, timeout=args.timeout)
    raise AssertionError(args.command)


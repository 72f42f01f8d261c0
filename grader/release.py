"""`python -m grader release [--check]`: generate notebooks/ (student versions) from
solutions/ with nbgrader, or check that notebooks/ is what nbgrader would generate."""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from .paths import NOTEBOOKS, SOLUTIONS, assignments, use_nbgrader_path


def generate(solutions: Path, out: Path, names: list[str]) -> None:
    """Run nbgrader's generate_assignment for each name, writing out/<name>/.

    nbgrader works inside a throw-away course root (with its own gradebook) so that neither
    the repository nor an instructor's gradebook is touched. It runs in this process: one
    start-up for all assignments.
    """
    from nbgrader.apps import NbGraderAPI

    from .autograde.course import nbgrader_config

    use_nbgrader_path()
    with tempfile.TemporaryDirectory(prefix="matdiff-release-") as tmp:
        root = Path(tmp)
        (root / "source").symlink_to(solutions.resolve(), target_is_directory=True)
        config = nbgrader_config(root, log_level="WARN")
        api = NbGraderAPI(config=config)
        for name in names:
            result = api.generate_assignment(name, force=True, create=True)
            if not result["success"]:
                sys.stderr.write(result.get("log", "") + result.get("error", ""))
                raise SystemExit(f"nbgrader generate_assignment {name} failed.")
            shutil.rmtree(out / name, ignore_errors=True)
            shutil.copytree(root / "release" / name, out / name)


def _differences(a: Path, b: Path, rel: str = "") -> list[str]:
    """Paths (relative) that differ between two trees."""
    diffs = []
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__", ".ipynb_checkpoints"])
    diffs += [f"{rel}{n} (only in the generated version)" for n in cmp.left_only]
    diffs += [f"{rel}{n} (only in notebooks/)" for n in cmp.right_only]
    for n in cmp.common_files:
        if not filecmp.cmp(a / n, b / n, shallow=False):
            diffs.append(f"{rel}{n} (differs)")
    for n in cmp.common_dirs:
        diffs += _differences(a / n, b / n, f"{rel}{n}/")
    return diffs


def main(check: bool = False, names: list[str] | None = None,
         solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS) -> int:
    names = names or assignments(solutions)
    if not names:
        print("No assignments in solutions/: nothing to release.")
        return 0
    if not check:
        notebooks.mkdir(parents=True, exist_ok=True)
        generate(solutions, notebooks, names)
        for stale in sorted(p for p in notebooks.iterdir()
                            if p.is_dir() and p.name not in assignments(solutions)):
            shutil.rmtree(stale)
            print(f"removed {stale.name}/ (no longer in solutions/)")
        print(f"released {len(names)} assignment(s) to {notebooks}: {', '.join(names)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="matdiff-check-") as tmp:
        fresh = Path(tmp)
        generate(solutions, fresh, names)
        diffs = []
        for name in names:
            if not (notebooks / name).is_dir():
                diffs.append(f"{name}/ (missing from notebooks/)")
                continue
            diffs += _differences(fresh / name, notebooks / name, f"{name}/")
        extra = [p.name for p in notebooks.iterdir() if p.is_dir() and p.name not in names] \
            if notebooks.is_dir() and names == assignments(solutions) else []
        diffs += [f"{e}/ (in notebooks/ but not in solutions/)" for e in extra]
    if diffs:
        print("notebooks/ is out of date with solutions/:")
        for d in diffs:
            print(f"  {d}")
        print("Run `python -m grader release` and commit notebooks/.")
        return 1
    print(f"notebooks/ is current ({len(names)} assignment(s)).")
    return 0

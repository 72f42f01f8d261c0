"""`python -m grader release [--check]`: generate notebooks/ (student versions) from
solutions/ with nbgrader and record the release in grader/releases.json; or check that
solutions/ matches sources/, that notebooks/ is what nbgrader would generate, and that the
release is recorded."""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from . import history
from .paths import NOTEBOOKS, README, SOLUTIONS, SOURCES, assignments, use_nbgrader_path
from .sources import course_table, readme_with_table, source_names, stale


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


def _student_versions(notebooks: Path, names: list[str]):
    import nbformat

    for name in names:
        for path in sorted((notebooks / name).glob("*.ipynb")):
            yield f"{name}/{path.stem}", nbformat.read(path, as_version=4)


def record_releases(notebooks: Path, names: list[str], path: Path = history.HISTORY) -> list[str]:
    """Add the student versions in notebooks/ to the release history; the keys that were new."""
    releases = history.load(path)
    added = [key for key, nb in _student_versions(notebooks, names) if history.record(releases, key, nb)]
    if added:
        history.save(releases, path)
    return added


def unrecorded(notebooks: Path, names: list[str], path: Path = history.HISTORY) -> list[str]:
    releases = history.load(path)
    return [key for key, nb in _student_versions(notebooks, names)
            if all(r.id != history.release_of(nb).id for r in releases.get(key, []))]


def main(check: bool = False, names: list[str] | None = None,
         solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS,
         sources: Path | None = SOURCES, releases: Path | None = history.HISTORY) -> int:
    """sources=None or releases=None: skip that part (a course without text sources or history)."""
    names = names or assignments(solutions)
    if not names:
        print("No assignments in solutions/: nothing to release.")
        return 0
    if not check:
        notebooks.mkdir(parents=True, exist_ok=True)
        generate(solutions, notebooks, names)
        if releases is not None:
            for key in record_releases(notebooks, names, releases):
                print(f"recorded a new release of {key} in {releases.name}")
        if sources is not None and README.exists():
            README.write_text(readme_with_table(README.read_text(), course_table(sources)))
        for old in sorted(p for p in notebooks.iterdir()
                            if p.is_dir() and p.name not in assignments(solutions)):
            shutil.rmtree(old)
            print(f"removed {old.name}/ (no longer in solutions/)")
        print(f"released {len(names)} assignment(s) to {notebooks}: {', '.join(names)}")
        return 0
    diffs = []
    if sources is not None:
        built = [n for n in source_names(sources) if n in names]
        diffs += [f"{n}: solutions/ does not match sources/{n}.md (run `make execute release`)"
                  for n in stale(built, sources, solutions)]
        diffs += [f"{n}: in solutions/ but has no source in sources/" for n in names
                  if n not in built]
        readme = README.read_text() if README.exists() else None
        if readme is not None and readme_with_table(readme, course_table(sources)) != readme:
            diffs.append("README.md: its course table is not what sources/ say (run `grader release`)")
    with tempfile.TemporaryDirectory(prefix="matdiff-check-") as tmp:
        fresh = Path(tmp)
        generate(solutions, fresh, names)
        for name in names:
            if not (notebooks / name).is_dir():
                diffs.append(f"{name}/ (missing from notebooks/)")
                continue
            diffs += _differences(fresh / name, notebooks / name, f"{name}/")
        extra = [p.name for p in notebooks.iterdir() if p.is_dir() and p.name not in names] \
            if notebooks.is_dir() and names == assignments(solutions) else []
        diffs += [f"{e}/ (in notebooks/ but not in solutions/)" for e in extra]
    if releases is not None and not diffs:
        diffs += [f"{key}: this release is not in {releases.name} (run `python -m grader release`)"
                  for key in unrecorded(notebooks, names, releases)]
    if diffs:
        print("The course is out of date:")
        for d in diffs:
            print(f"  {d}")
        print("Run `make execute release` and commit sources/, solutions/, notebooks/ and "
              "grader/releases.json.")
        return 1
    print(f"notebooks/ is current ({len(names)} assignment(s)).")
    return 0

"""What a run writes: grades.csv, exercises.csv, problems.csv (spreadsheet-safe), run.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .records import Record


def cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe; numbers are written as %g."""
    if not isinstance(value, str):
        return f"{value:g}"
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([cell(v) for v in row])


def write_outputs(records: list[Record], out: Path) -> None:
    records = sorted(records, key=lambda r: (r.student, r.assignment))
    _write(out / "grades.csv", ["student", "assignment", "score", "max_score"],
           ([r.student, r.assignment, r.score, r.max_score] for r in records))
    _write(out / "exercises.csv",
           ["student", "assignment", "grade_id", "score", "max_score", "diagnosis", "misconception"],
           ([r.student, r.assignment, c.grade_id, c.score, c.points, c.diagnosis, c.misconception]
            for r in records for c in r.cells))
    _write(out / "problems.csv", ["student", "assignment", "problem"],
           ([r.student, r.assignment, str(p)] for r in records for p in r.problems))


def write_run(out: Path, **facts) -> None:
    (out / "run.json").write_text(json.dumps(facts))

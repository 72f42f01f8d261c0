"""A record of the checks run in this kernel, for a learner's progress view.

Nothing is sent anywhere: the record lives in this Python process only.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .result import CheckResult

__all__ = ["progress", "record", "reset_progress", "Progress"]

_RECORD: dict[str, dict] = {}


def record(name: str, result: CheckResult) -> CheckResult:
    """Remember the latest result for exercise ``name``; returns ``result`` unchanged."""
    entry = _RECORD.setdefault(name, {"attempts": 0, "passed": False, "ever_passed": False})
    entry["attempts"] += 1
    entry["passed"] = result.ok
    entry["ever_passed"] = entry["ever_passed"] or result.ok
    entry["diagnosis"] = result.diagnosis
    return result


def reset_progress() -> None:
    """Forget every recorded check (a fresh start)."""
    _RECORD.clear()


@dataclass
class Progress:
    """The checks run so far: one row per exercise. Displays as a table."""

    rows: list[dict]

    @property
    def passed(self) -> int:
        return sum(r["passed"] for r in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        if not self.rows:
            return "No checks run yet in this kernel."
        width = max(len("exercise"), *(len(r["exercise"]) for r in self.rows))
        lines = [f"{'exercise':<{width}}  status  attempts  last diagnosis"]
        for r in self.rows:
            status = "passed" if r["passed"] else "not yet"
            lines.append(f"{r['exercise']:<{width}}  {status:<7} {r['attempts']:>8}  "
                         f"{r['diagnosis'] or '-'}")
        lines.append(f"{self.passed} of {len(self.rows)} passed.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<p>No checks run yet in this kernel.</p>"
        cells = []
        for r in self.rows:
            mark, colour = ("✓ passed", "#1a7f37") if r["passed"] else ("✗ not yet", "#b42318")
            cells.append(
                f"<tr><td><code>{html.escape(r['exercise'])}</code></td>"
                f'<td style="color:{colour}">{mark}</td><td>{r["attempts"]}</td>'
                f"<td>{html.escape(r['diagnosis'] or '-')}</td></tr>"
            )
        return ("<table><thead><tr><th>exercise</th><th>status</th><th>attempts</th>"
                "<th>last diagnosis</th></tr></thead><tbody>" + "".join(cells) +
                f"</tbody></table><p>{self.passed} of {len(self.rows)} passed.</p>")


def progress() -> Progress:
    """The exercises checked so far in this kernel: name, passed or not, attempts, and the
    last diagnosis.

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> md.reset_progress()
    >>> _ = md.check_gradient(lambda x: (x ** 2).sum(), lambda x: 2 * x, np.ones(3), name="square")
    >>> print(md.progress())
    exercise  status  attempts  last diagnosis
    square    passed         1  -
    1 of 1 passed.
    """
    return Progress([{"exercise": k, **v} for k, v in _RECORD.items()])

"""The records the grader passes around: a task, a problem, a test cell's result, a graded
submission. Plain dataclasses: they cross process boundaries (pickled) and end up in the CSVs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Task:
    """One learner's submission of one assignment."""

    student: str                        # display name (printable; non-UTF-8 bytes escaped)
    assignment: str
    folder: str | None                  # the submitted folder; None when nothing usable
    sid: str = ""                       # the id nbgrader sees (safe ASCII)
    refused: str = ""                   # why the folder is not graded (e.g. a symbolic link)
    tries: int = 0                      # how many workers died while grading it

    @property
    def key(self) -> tuple[str, str]:
        return self.sid, self.assignment


@dataclass
class Problem:
    """Something that went wrong with a submission. ``internal`` ones are the grader's own
    failures: logged for the instructor, not shown to the learner, and they make the run
    exit non-zero."""

    text: str
    internal: bool = False

    def __str__(self) -> str:
        return f"internal: {self.text}" if self.internal else self.text


@dataclass
class CellResult:
    """The result of one autograded test cell."""

    notebook: str
    grade_id: str
    points: float
    score: float = 0.0
    diagnosis: str = ""                 # matdiff's tag when a check failed (e.g. "transpose")
    misconception: str = ""             # the exercise's known mistake it matched, if any
    message: str = ""                   # what the learner sees about a failure

    @property
    def passed(self) -> bool:
        return self.score >= self.points


@dataclass
class Record:
    """A graded submission."""

    student: str
    assignment: str
    sid: str = ""
    cells: list[CellResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # for the learner, nobody's fault
    seconds: float = 0.0
    calls: int = 0                      # calls across the trusted boundary (for measurements)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def internal_error(self) -> bool:
        return any(p.internal for p in self.problems)

    def problem(self, text: str, internal: bool = False) -> None:
        self.problems.append(Problem(text, internal))

    def cell(self, notebook: str, grade_id: str) -> CellResult | None:
        for c in self.cells:
            if c.notebook == notebook and c.grade_id == grade_id:
                return c
        return None

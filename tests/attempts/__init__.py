"""The attempt suite: what learners really type, run through the real test cells.

Each catalogue module (``nb01.py`` ... ``nb08.py``) lists, per graded function, attempts a
learner makes: right answers written other ways and typical mistakes. ``tests/test_attempts.py``
runs every attempt in one kernel per notebook (the solutions notebook executed first), through
the student version's visible test cell and then the instructor's full test cell (visible and
hidden), and checks the verdicts (see :class:`Attempt`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    """One learner's answer cell for one exercise.

    code
        The whole answer cell, as the learner would write it (it redefines the function).
    expect
        ``"pass"`` for a right answer (visible and hidden tests pass). Otherwise the visible
        test must fail and its message must carry this text: a diagnosis tag (matched as
        ``[diagnosis: tag]``) or the name of a misconception.
    hidden_only
        A wrong answer that only the hidden tests can catch (it hard-codes the visible data):
        the visible test may pass, the hidden one must fail.
    """

    label: str
    code: str
    expect: str = "pass"
    hidden_only: bool = False


def right(label: str, code: str) -> Attempt:
    return Attempt(label, code)


def wrong(label: str, code: str, expect: str, hidden_only: bool = False) -> Attempt:
    return Attempt(label, code, expect, hidden_only)

"""Knowing when the learner's answer is being graded, so that it cannot hand the question
back to the checker.

While a check calls the learner's answer (the graded call), a context variable names that
answer. matdiff's public numeric functions (``numeric_jacobian``, ``numeric_gradient``) and
checks refuse to run while it is set: an answer that calls them has not derived anything.
matdiff's own numeric work never goes through those public entry points, and the checker's
reference derivative is computed before or after the graded call, so it keeps working.

>>> import numpy as np, matdiff as md
>>> def lazy(x):
...     return md.numeric_gradient(lambda x: np.sum(x ** 2), x)
>>> md.check_gradient(lambda x: np.sum(x ** 2), lazy, np.ones(3)).diagnosis
'numeric-answer'
>>> lazy(np.ones(3))          # outside a check it is just a numeric gradient
array([2., 2., 2.])
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["NumericAnswerError", "graded_call", "refuse_during_graded_call"]


class NumericAnswerError(RuntimeError):
    """A learner's answer called matdiff's numeric derivatives while being checked."""

    def __init__(self, called: str, answer: str):
        self.called, self.answer = called, answer
        super().__init__(
            f"`{answer}` called md.{called} while it was being checked: derive it; the numeric "
            "derivative is the checker's job. Write the formula you derived instead."
        )

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


@dataclass
class _GradedCall:
    answer: str
    called: str | None = None     # the matdiff function the answer called, if it did


_ACTIVE: contextvars.ContextVar[_GradedCall | None] = contextvars.ContextVar(
    "matdiff_graded_call", default=None)


@contextlib.contextmanager
def graded_call(answer: str, allow_numeric: bool = False) -> Iterator[_GradedCall]:
    """Mark the block as the graded call of ``answer``. The yielded record's ``called`` says
    afterwards whether the answer tried matdiff's numeric functions (even if it caught the
    error). With ``allow_numeric`` nothing is refused (an exercise that is *about* using them).
    """
    state = _GradedCall(answer)
    token = _ACTIVE.set(None if allow_numeric else state)
    try:
        yield state
    finally:
        _ACTIVE.reset(token)


def refuse_during_graded_call(called: str) -> None:
    """Raise NumericAnswerError when called (by a public numeric function) from inside a
    graded call."""
    state = _ACTIVE.get()
    if state is not None:
        state.called = state.called or called
        raise NumericAnswerError(called, state.answer)

"""Calling a learner's answer for a check: under the graded-call guard, with a name for
messages, and the exercise's known mistakes evaluated on the same inputs."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._guard import NumericAnswerError, graded_call

__all__ = ["own_name", "label_for", "call_graded", "mistake_values", "broadcast_test"]


def own_name(answer: Any) -> str | None:
    """The learner's function's own name; None for a lambda (a test's wrapper) or a value."""
    if not callable(answer):
        return None
    name = getattr(answer, "__name__", None)
    return None if not name or name.startswith("<") else name


def label_for(answer: Any, name: str | None, fallback: str) -> str:
    """The name used in messages and progress: ``name=``, else the function's own name."""
    return name or own_name(answer) or fallback


def call_graded(answer: Any, args: Sequence[Any], extra: tuple = (), *, label: str,
                allow_numeric: bool = False, copy: bool = True) -> tuple[Any, BaseException | None]:
    """Call ``answer(*args, *extra)`` (on copies of the arrays, with ``copy``) as the graded
    call (a value is returned as is). Returns (value, None), or (None, the exception it
    raised). An answer that called matdiff's numeric functions counts as having raised
    NumericAnswerError, even when it caught that error itself."""
    if not callable(answer):
        return answer, None
    who = own_name(answer) or label
    inputs = [*args, *extra]
    if copy:
        inputs = [a.copy() for a in inputs]
    with graded_call(who, allow_numeric) as state:
        try:
            value = answer(*inputs)
        except Exception as exc:
            return None, exc
    if state.called:
        return None, NumericAnswerError(state.called, who)
    return value, None


def _as_mistake(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if np.all(np.isfinite(arr)) else None


def mistake_values(mistakes: dict | None, args: Sequence[np.ndarray], extra: tuple = (),
                   parts: int | None = None) -> list[tuple[str, Any]]:
    """Evaluate the exercise's known mistakes on the check's inputs.

    ``mistakes`` maps a name (in the exercise's words) to a function with the learner's
    function's signature (or to a fixed wrong value). Returns (name, values) pairs; with
    ``parts`` (check_backward) values is a list with one array (or None) per output. A mistake
    whose function fails gives None: it simply cannot match.

    >>> import numpy as np
    >>> mistake_values({"forgot the 2": lambda x: x}, [np.ones(2)])
    [('forgot the 2', array([1., 1.]))]
    """
    if mistakes is None:
        return []
    if not isinstance(mistakes, dict) or not all(isinstance(k, str) and k for k in mistakes):
        raise TypeError("`mistakes` must be a dict {\"name of the mistake\": function, ...}, "
                        f"not {type(mistakes).__name__}.")
    out = []
    for mname, fn in mistakes.items():
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = fn(*[a.copy() for a in args], *[e.copy() for e in extra]) \
                    if callable(fn) else fn
        except Exception:
            value = None
        if parts is None:
            out.append((mname, None if value is None else _as_mistake(value)))
            continue
        if parts == 1 and not isinstance(value, (tuple, list)):
            value = (value,)
        if not isinstance(value, (tuple, list)) or len(value) != parts:
            out.append((mname, [None] * parts))
        else:
            out.append((mname, [_as_mistake(v) for v in value]))
    return out


def broadcast_test(f: Callable, args: Sequence[np.ndarray], i: int,
                   ) -> Callable[[tuple], bool]:
    """A test of whether argument ``i`` was broadcast to a shape in ``f``: it was, when ``f``
    given the argument already broadcast to that shape computes exactly the same output (a
    bias added to every row). A weight used in a matrix product changes the output (or makes
    f fail) instead.

    >>> import numpy as np
    >>> X, W, b = np.ones((4, 3)), np.ones((3, 2)), np.ones(2)
    >>> f = lambda X, W, b: X @ W + b
    >>> broadcast_test(f, [X, W, b], 2)((4, 2)), broadcast_test(f, [X, W, b], 1)((4, 3, 2))
    (True, False)
    """
    def test(shape: tuple) -> bool:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                y = np.asarray(f(*[a.copy() for a in args]), dtype=float)
                big = list(a.copy() for a in args)
                big[i] = np.broadcast_to(args[i], shape).copy()
                yb = np.asarray(f(*big), dtype=float)
        except Exception:
            return False
        return yb.shape == y.shape and bool(np.allclose(yb, y, rtol=1e-12, atol=0, equal_nan=True))

    return test

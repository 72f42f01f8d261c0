"""Validation of what a caller hands to matdiff, and safe evaluation of their functions.

Everything here turns a learner's mistake (a list instead of an array, a function that
returns None, a function that edits its input) into an error message that says what
happened and what to do about it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "FunctionError",
    "as_float_array",
    "check_callable",
    "check_wrt",
    "check_layout",
    "arg_names",
    "call_f",
]

LAYOUTS = ("numerator", "denominator")


class FunctionError(ValueError):
    """The function being differentiated raised, returned something unusable, or changed
    its input. The original exception (if any) is chained as ``__cause__``."""


def check_callable(f: Any, name: str = "f") -> None:
    """Raise a TypeError naming ``name`` when ``f`` cannot be called."""
    if not callable(f):
        kind = type(f).__name__
        hint = ""
        if isinstance(f, np.ndarray):
            hint = " You passed an array; pass the function that computes it instead."
        raise TypeError(f"`{name}` must be a function (something you can call), not {kind}.{hint}")


def describe(value: Any) -> str:
    """A short, learner-friendly description of what a value is."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"a string ({value[:30]!r})"
    if callable(value):
        return f"a function ({getattr(value, '__name__', type(value).__name__)})"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"a {type(value).__name__}"


def as_float_array(value: Any, name: str) -> np.ndarray:
    """Convert ``value`` to a new float64 array, or raise a TypeError naming ``name``.

    Accepts arrays of any real dtype, Python numbers and (nested, rectangular) lists.
    The result never shares memory with ``value``.
    """
    if value is None or isinstance(value, (str, bytes, dict)) or callable(value):
        raise TypeError(f"`{name}` must be numbers (an array, a list or a number), not {describe(value)}.")
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (ValueError, TypeError) as exc:
        if isinstance(value, (list, tuple)):
            raise TypeError(
                f"`{name}` is a list that numpy cannot turn into a rectangular array of numbers "
                "(rows of different lengths, or something that is not a number inside)."
            ) from exc
        raise TypeError(f"`{name}` must be numbers, not {describe(value)}.") from exc
    except Exception as exc:  # complex -> float warnings promoted to errors, etc.
        raise TypeError(f"`{name}` must be real numbers: {exc}") from exc
    if np.iscomplexobj(value):
        raise TypeError(f"`{name}` must be real numbers, not complex.")
    return arr


def check_wrt(wrt: Any, n_args: int) -> int:
    """Validate ``wrt`` (the index of the argument to differentiate with respect to)."""
    if isinstance(wrt, bool) or not isinstance(wrt, (int, np.integer)):
        raise ValueError(f"`wrt` must be the position of an argument (an int), not {describe(wrt)}.")
    if n_args == 0:
        raise ValueError("No arguments given: pass the point to differentiate at, e.g. f, x.")
    if not -n_args <= wrt < n_args:
        raise ValueError(
            f"`wrt`={wrt} but f was given {n_args} argument(s); use 0..{n_args - 1}."
        )
    return int(wrt) % n_args


def check_layout(layout: Any) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"`layout` must be 'numerator' or 'denominator', not {layout!r}.")
    return layout


def arg_names(f: Callable, n_args: int) -> list[str]:
    """Names of f's positional parameters (for messages), falling back to args[i]."""
    names = [f"args[{i}]" for i in range(n_args)]
    try:
        params = [
            p
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return names
    for i, p in enumerate(params[:n_args]):
        names[i] = p.name
    return names


def call_f(
    f: Callable,
    args: Sequence[np.ndarray],
    what: str,
    *,
    fname: str = "f",
    check_inputs: bool = True,
) -> np.ndarray:
    """Call ``f(*args)`` on private copies and return its output as a float64 array.

    ``what`` says which evaluation this is (for the error message). Raises FunctionError
    when f raises, returns something that is not numbers, or modifies its input.
    """
    copies = [a.copy() for a in args]
    try:
        out = f(*copies)
    except Exception as exc:  # the learner's own exception, chained
        raise FunctionError(
            f"`{fname}` raised {type(exc).__name__}: {exc} (while evaluating {what}; "
            "see the traceback above for the line in your function)."
        ) from exc
    if check_inputs:
        for i, (before, after) in enumerate(zip(args, copies, strict=True)):
            if before.shape != after.shape or not np.array_equal(before, after, equal_nan=True):
                raise FunctionError(
                    f"`{fname}` changed its input argument {i} in place (e.g. `x += ...`, "
                    "`x[0] = ...` or `x.sort()`). A function being differentiated must leave "
                    "its inputs alone: work on a copy (`x = x.copy()`) or use `x = x + ...`."
                )
    return output_array(out, fname, what)


def output_array(out: Any, fname: str, what: str, allow_complex: bool = False) -> np.ndarray:
    """Turn what f returned into an array, or raise a FunctionError that says what it was."""
    if out is None:
        raise FunctionError(
            f"`{fname}` returned None (while evaluating {what}). Did you forget a `return`?"
        )
    if isinstance(out, (str, bytes, dict)) or callable(out):
        raise FunctionError(f"`{fname}` must return numbers, but it returned {describe(out)}.")
    try:
        arr = np.asarray(out)
    except (ValueError, TypeError) as exc:
        raise FunctionError(
            f"`{fname}` returned a ragged list (rows of different lengths) that is not an array "
            f"of numbers (while evaluating {what})."
        ) from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise FunctionError(
            f"`{fname}` must return numbers, but it returned an array of {arr.dtype} "
            f"(while evaluating {what})."
        )
    if np.iscomplexobj(arr):
        if allow_complex:
            return arr.astype(np.complex128, copy=False)
        raise FunctionError(f"`{fname}` returned complex numbers for a real input ({what}).")
    return arr.astype(np.float64, copy=False)

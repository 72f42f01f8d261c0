"""Compare an answer with a numeric reference, and name the mistake.

The reference comes with a per-entry error bound. An entry is wrong when it differs from
the reference by more than ``tolerance(reference, error)``; that tolerance is generous
towards rounding (a correct analytic answer never fails) and tiny compared with any real
mistake (a transpose, a sign, a missing factor changes entries by O(1) relative).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from ._inputs import describe
from .result import CheckResult, _as_2d

__all__ = ["Target", "compare", "tolerance", "failure_from_exception"]

RTOL = 1e-6       # relative to the entry
STOL = 1e-7       # relative to the largest entry of the answer
ATOL = 1e-10      # absolute floor
ERR_FACTOR = 10   # safety factor on the numeric error estimate


@dataclass
class Alternative:
    """A recognisable wrong answer: if the learner's answer matches ``values``, the mistake
    is ``tag`` and ``explain`` says what it means."""

    tag: str
    values: np.ndarray
    error: np.ndarray
    explain: str


@dataclass
class Target:
    """The right answer and how to talk about it."""

    expected: np.ndarray
    error: np.ndarray
    name: str                    # "dW", "the gradient with respect to x", ...
    shape_reason: str            # "dW has the shape of W"
    row_label: str = "row"
    col_label: str = "column"
    alternatives: list[Alternative] = field(default_factory=list)
    allow_squeeze: bool = False  # accept an answer that differs only by size-1 axes
    row_axes: int | None = None  # leading axes that are rows of the map (Jacobians: out or in)
    hints: dict[str, str] = field(default_factory=dict)


def tolerance(expected: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Per-entry tolerance derived from the numeric error estimate."""
    scale = float(np.abs(expected).max(initial=0.0))
    return ERR_FACTOR * error + RTOL * np.abs(expected) + STOL * scale + ATOL


def _close(a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol))


def _fmt_shape(shape: tuple) -> str:
    return "()" if shape == () else str(tuple(int(s) for s in shape))


def _finish(target: Target, tag: str, message: str, **kw) -> CheckResult:
    message = f"✗ {target.name}: {message} [diagnosis: {tag}]"
    if target.hints.get(tag):
        message += "\n" + target.hints[tag]
    return CheckResult(ok=False, diagnosis=tag, name=target.name, message=message,
                       expected_shape=target.expected.shape, row_label=target.row_label,
                       col_label=target.col_label, row_axes=target.row_axes, **kw)


def failure_from_exception(exc: BaseException, target_name: str, func_name: str,
                           hints: dict[str, str] | None = None) -> CheckResult:
    """A failed CheckResult for an answer function that raised."""
    hints = hints or {}
    if isinstance(exc, NotImplementedError):
        tag = "not-answered"
        msg = (f"✗ {target_name}: not answered yet: `{func_name}` still raises "
               "NotImplementedError. Replace that line with your code. [diagnosis: not-answered]")
    else:
        tag = "error"
        where = ""
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            where = f" (in {last.name}, line {last.lineno})"
        msg = (f"✗ {target_name}: your `{func_name}` raised {type(exc).__name__}: {exc}{where}. "
               "Fix the error first; run the function on its own to see the full traceback. "
               "[diagnosis: error]")
    if hints.get(tag):
        msg += "\n" + hints[tag]
    return CheckResult(ok=False, diagnosis=tag, message=msg, name=target_name)


def _as_numbers(answer) -> tuple[np.ndarray | None, str | None]:
    """The answer as a float array, or None and a description of what it is instead."""
    if answer is None:
        return None, "None: did you forget a `return`?"
    if isinstance(answer, (str, bytes, dict, set)) or callable(answer):
        extra = " Did you mean to call it?" if callable(answer) else ""
        return None, f"{describe(answer)}, not an array of numbers.{extra}"
    try:
        arr = np.asarray(answer)
    except (ValueError, TypeError):
        return None, "a ragged list (rows of different lengths), not an array."
    if arr.dtype == object:
        return None, ("a list or array with non-numbers inside (or rows of different lengths), "
                      "not an array of numbers.")
    if np.iscomplexobj(arr):
        return None, "complex numbers; a derivative of a real function is real."
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None, f"an array of {arr.dtype}, not of numbers."
    return arr.astype(np.float64), None


def _broadcast_sum(a: np.ndarray, shape: tuple) -> tuple[np.ndarray | None, tuple]:
    """Sum ``a`` over the axes along which something of ``shape`` would have been broadcast
    to a's shape; None when a's shape is not such a broadcast."""
    if a.ndim < len(shape):
        return None, ()
    lead = a.ndim - len(shape)
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == a.shape[lead + i]:
            continue
        if s == 1:
            axes.append(lead + i)
        else:
            return None, ()
    if not axes:
        return None, ()
    return a.sum(axis=tuple(axes)).reshape(shape), tuple(axes)


def _where(mask: np.ndarray, row_label: str, col_label: str) -> str:
    """Describe where the wrong entries are, when they form a pattern."""
    if mask.ndim != 2 or mask.size <= 1:
        return ""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if mask.all():
        return " Every entry is off."
    if len(rows) == 1 and mask.shape[0] > 1:
        return (f" All wrong entries are in one row of the map, row {rows[0]} "
                f"({row_label}): look at what feeds that row.")
    if len(cols) == 1 and mask.shape[1] > 1:
        return (f" All wrong entries are in one column of the map, column {cols[0]} "
                f"({col_label}): look at what feeds that column.")
    diag = np.eye(*mask.shape, dtype=bool)
    if mask.shape[0] == mask.shape[1] and (mask == diag).all():
        return " Exactly the diagonal is wrong."
    if mask.shape[0] == mask.shape[1] and not (mask & diag).any():
        return " The diagonal is right; every wrong entry is off the diagonal."
    return ""


def compare(answer, target: Target) -> CheckResult:
    """Compare a learner's answer with the target and return a CheckResult."""
    expected = target.expected
    name = target.name
    arr, what = _as_numbers(answer)
    if arr is None:
        return _finish(target, "not-array", f"your answer is {what}")
    scale = float(np.abs(expected).max(initial=0.0))

    if arr.shape != expected.shape:
        return _compare_shapes(arr, target)

    tol = tolerance(expected, target.error)
    finite = np.isfinite(arr)
    diff = np.where(finite, arr - expected, np.inf)
    abs_err = float(np.abs(diff).max(initial=0.0))
    rel_err = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else float("inf"))
    wrong = ~(np.abs(diff) <= tol)
    mistakes = np.where(wrong, np.sign(np.where(finite, arr - expected, 0)), 0).astype(np.int8)
    mistakes[~finite] = 2
    common = dict(max_abs_error=abs_err, max_rel_error=rel_err, answer_shape=arr.shape,
                  mistakes=mistakes, tolerance=float(tol.max(initial=0.0)))

    if not finite.all():
        bad = int((~finite).sum())
        return _finish(target, "not-finite",
                       f"{bad} of {arr.size} entries are NaN or inf (marked ! in the map). "
                       "They usually come from 0/0, the log of a non-positive number, an "
                       "overflowing exp, or an array created with np.empty and never filled.",
                       **common)
    if not wrong.any():
        return CheckResult(ok=True, name=name,
                           message=f"✓ {name}: correct (largest difference from the numeric "
                                   f"derivative {abs_err:.1e}).", **common)

    if scale > 0 and _close(arr, -expected, tol):
        return _finish(target, "sign", "every entry has the wrong sign. Look for a minus sign "
                       "that was dropped or added (e.g. in the derivative of (y - t), or of "
                       "-log).", **common)
    for alt in target.alternatives:
        if _close(arr, alt.values, tolerance(alt.values, alt.error)):
            return _finish(target, alt.tag, alt.explain, **common)
    if scale > 0 and arr.size >= 2 and np.abs(arr).max() > 0:  # one number is always a multiple
        c = float(np.sum(arr * expected) / np.sum(expected * expected))
        if abs(c - 1) > 1e-3 and abs(c) > 1e-12 and _close(arr, c * expected, tolerance(
                c * expected, abs(c) * target.error)):
            return _finish(target, "scale", _scale_message(c), **common)
    if scale > 0 and not np.any(arr):
        return _finish(target, "wrong-values", "your answer is all zeros: is it still a "
                       "placeholder?", **common)
    n_wrong = int(wrong.sum())
    where = _where(_as_2d(wrong, target.row_axes), target.row_label, target.col_label)
    return _finish(target, "wrong-values",
                   f"{n_wrong} of {arr.size} entries are wrong (largest difference "
                   f"{abs_err:.3g}; the map shows which are too high (+) and too low (-))."
                   f"{where}", **common)


def _scale_message(c: float) -> str:
    text = f"every entry is {c:.4g} times the right one."
    inv = 1 / c
    if abs(inv - round(inv)) < 1e-6 and round(inv) >= 2:
        text += (f" A factor 1/{round(inv)}: is there a mean (or a division by {round(inv)}) "
                 "where a sum belongs?")
    elif abs(c - round(c)) < 1e-6 and abs(round(c)) >= 2:
        text += f" Is there an extra factor {round(c)}, or one counted twice?"
    elif abs(inv - round(inv)) < 1e-6 and round(inv) <= -2:
        text += " A negative factor: check the sign too."
    else:
        text += " Look for a constant factor that is missing or extra (like the 2 in d(x²)/dx)."
    return text


def _compare_shapes(arr: np.ndarray, target: Target) -> CheckResult:
    expected = target.expected
    shape, want = _fmt_shape(arr.shape), _fmt_shape(expected.shape)
    common = dict(answer_shape=arr.shape)
    # The transpose or the other layout.
    for alt in target.alternatives:
        if alt.tag == "transpose" and arr.shape == alt.values.shape:
            if _close(arr, alt.values, tolerance(alt.values, alt.error)):
                return _finish(target, "transpose", alt.explain, **common)
            return _finish(target, "shape",
                           f"your answer has shape {shape}, the shape of the transpose; it must "
                           f"be {want} ({target.shape_reason}). (Its values do not match the "
                           "transpose either.)", **common)
    # Only size-1 axes differ.
    if arr.size == expected.size and np.squeeze(arr).shape == np.squeeze(expected).shape:
        sq_arr, sq_exp = np.squeeze(arr), np.squeeze(expected)
        tol = tolerance(sq_exp, np.squeeze(target.error))
        if _close(sq_arr, sq_exp, tol):
            if target.allow_squeeze:
                err = float(np.abs(sq_arr - sq_exp).max(initial=0))
                return CheckResult(ok=True, name=target.name,
                                   message=f"✓ {target.name}: correct (as shape {shape}).",
                                   max_abs_error=err, max_rel_error=0.0,
                                   answer_shape=arr.shape, expected_shape=expected.shape)
            return _finish(target, "shape",
                           f"the numbers are right but the shape is {shape}; it must be "
                           f"{want} ({target.shape_reason}). Reshape it, e.g. "
                           f".reshape({want[1:-1].rstrip(',')}).", **common)
    # A broadcast gradient that was not summed.
    summed, axes = _broadcast_sum(arr, expected.shape)
    if summed is not None and _close(summed, expected, tolerance(expected, target.error)):
        ax = ", ".join(str(a) for a in axes)
        return _finish(target, "missing-sum",
                       f"your answer has shape {shape} but must have {want} "
                       f"({target.shape_reason}). In the forward pass this variable was "
                       f"broadcast (copied) along axis {ax}, so every copy passes gradient back: "
                       f"add them up (sum over axis {ax}).", **common)
    if summed is not None:
        return _finish(target, "shape",
                       f"your answer has shape {shape} but must have {want} "
                       f"({target.shape_reason}). Shape {want} was broadcast to {shape} in the "
                       "forward pass, so the gradient must be reduced back; but the values do "
                       "not match after a sum either.", **common)
    return _finish(target, "shape",
                   f"your answer has shape {shape} but must have {want} ({target.shape_reason}).",
                   **common)

"""Compare an answer with a numeric reference, and name the mistake.

The reference comes with a per-entry error bound. An entry is wrong when it differs from
the reference by more than ``tolerance(reference, error)``; that tolerance is generous
towards rounding (a correct analytic answer never fails) and tiny compared with any real
mistake (a transpose, a sign, a missing factor changes entries by O(1) relative).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._inputs import describe
from .result import CheckResult, _as_2d

__all__ = ["Target", "compare", "passed", "as_numbers", "needs_values", "tolerance", "failure_from_exception",
           "hint_for", "answer_eps", "closeness"]

RTOL = 1e-6       # relative to the entry
STOL = 1e-7       # relative to the largest entry of the answer
ATOL = 1e-10      # absolute floor
ERR_FACTOR = 10   # safety factor on the numeric error estimate
PRECISION_FACTOR = 64  # rounding of an answer computed in float32: entries times its eps
IMPRECISE = 1e-3  # an answer this close everywhere (relative) is imprecise, not wrong


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
    hints: dict = field(default_factory=dict)
    # Exercise-specific misconceptions: (name, values), values None when the mistake's own
    # function failed on these inputs.
    misconceptions: list[tuple[str, np.ndarray | None]] = field(default_factory=list)
    # Says whether the variable was broadcast to a given shape in the forward pass (only then
    # is an unsummed gradient of that shape a `missing-sum`); None: unknown, assume not.
    broadcast: Callable[[tuple], bool] | None = None
    tol: np.ndarray | None = None  # a fixed tolerance instead of one from the error estimate
    reference: str = "the numeric derivative"  # what the answer is compared with, for messages


def tolerance(expected: np.ndarray, error: np.ndarray | float, answer_eps: float = 0.0,
              scale: float | None = None) -> np.ndarray:
    """Per-entry tolerance derived from the numeric error estimate, widened for an answer
    computed in a lower precision (``answer_eps``: the machine epsilon of its dtype).
    ``scale``: the largest ``|expected|``, when ``expected`` is only some of the entries.

    >>> import numpy as np
    >>> e = np.array([1.0, -2.0])
    >>> bool((tolerance(e, 0 * e, np.finfo(np.float32).eps) > 1e-5).all())
    True
    """
    if scale is None:
        scale = float(np.abs(expected).max(initial=0.0))
    tol = ERR_FACTOR * error + RTOL * np.abs(expected) + STOL * scale + ATOL
    return tol + _rounding(expected, answer_eps, scale)


def _rounding(expected: np.ndarray, answer_eps: float,
              scale: float | None = None) -> np.ndarray | float:
    """What computing the answer in a lower precision may cost: a float32 sum of k products
    is off by about k * eps * the size of the terms."""
    if not answer_eps:
        return 0.0
    if scale is None:
        scale = float(np.abs(expected).max(initial=0.0))
    return PRECISION_FACTOR * answer_eps * (np.abs(expected) + scale)


def _low_precision(answer) -> bool:
    try:
        dtype = np.asarray(answer).dtype
    except (ValueError, TypeError):
        return False
    return dtype.kind == "f" and dtype.itemsize < 8


def answer_eps(answer) -> float:
    """float32's machine epsilon when the answer was computed in a lower precision than
    float64: its dtype (float32, float16), or values that are all exactly float32 (an answer
    computed in float32 and cast back). 0 for float64, integers and exact values.

    >>> import numpy as np
    >>> bool(answer_eps(np.float32(0.1)) == np.finfo(np.float32).eps)
    True
    >>> answer_eps(np.array([0.1, 0.2])), answer_eps([1, 2])
    (0.0, 0.0)
    """
    try:
        arr = np.asarray(answer)
    except (ValueError, TypeError):
        return 0.0
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
        # float32 is a precision learners compute in; below that (float16) answers are
        # imprecise, and get float32's allowance only
        return float(np.finfo(np.float32).eps)
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0.0
    # One entry that is not a float32 number decides (usually among the first ones).
    if arr.size > _HEAD and not _float32_values(arr.flat[:_HEAD]):
        return 0.0
    if not np.all(np.isfinite(arr)):
        return 0.0
    if _float32_values(arr) and not np.array_equal(arr, np.round(arr)):
        return float(np.finfo(np.float32).eps)
    return 0.0


def _float32_values(arr: np.ndarray) -> bool:
    """Whether every entry is a float32 number (NaN is not)."""
    with np.errstate(over="ignore"):
        return np.array_equal(arr.astype(np.float32).astype(np.float64), arr)


def hint_for(hints: dict | None, part: str | None, key: str) -> str | None:
    """The hint for diagnosis tag (or misconception name) ``key`` of output ``part``.

    Keys are looked up most specific first: ``(part, key)``, ``"part:key"``, then ``key``, so
    a check with several outputs can point each output's mistake to its own hint.

    >>> hints = {"scale": "Hint 3", "dW:scale": "Hint 2", ("db", "scale"): "Hint 4"}
    >>> hint_for(hints, "dW", "scale"), hint_for(hints, "db", "scale"), hint_for(hints, "dX", "scale")
    ('Hint 2', 'Hint 4', 'Hint 3')
    """
    if not hints:
        return None
    for k in ((part, key), f"{part}:{key}", key) if part else (key,):
        if hints.get(k):
            return hints[k]
    return None


def closeness(diff: np.ndarray, expected: np.ndarray) -> str:
    """How far off an answer is, as a band of relative difference (never a value that would
    give the right answer away): the worst entry against its own size.

    >>> import numpy as np
    >>> closeness(np.array([0.5]), np.array([2.0])), closeness(np.array([0.005]), np.array([1.0]))
    ('off by more than 10%', 'off by 0.1% to 1%')
    """
    abs_expected = np.abs(expected)
    scale = float(abs_expected.max(initial=0.0))
    size = np.maximum(abs_expected, 1e-3 * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        # every size is positive when 1e-3 * scale is: no need to pick the entries
        rel = np.abs(diff) / size if 1e-3 * scale > 0 else \
            np.where(size > 0, np.abs(diff) / size, np.inf)
    worst = float(np.nanmax(rel, initial=0.0))
    if worst > 0.1:
        return "off by more than 10%"
    if worst > 0.01:
        return "off by 1% to 10%"
    if worst > 0.001:
        return "off by 0.1% to 1%"
    return "off by less than 0.1%"


# Entries compared first when an answer is tested against a candidate (its sign, the
# transpose, a multiple...): a candidate the answer is not is usually off from the start, and
# then the rest (160,000 entries for a 20x20 -> 20x20 Jacobian) need not be compared.
_HEAD = 512


def _close(a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.size > _HEAD and np.shape(tol) == a.shape and \
            not np.all(np.abs(a.flat[:_HEAD] - b.flat[:_HEAD]) <= tol.flat[:_HEAD]):
        return False
    return bool(np.all(np.abs(a - b) <= tol))


def _matches(a: np.ndarray, values: np.ndarray, error: np.ndarray, eps: float,
             factor: float = 1.0) -> bool:
    """``_close(a, values, tolerance(values, factor * error, eps))``, the tolerance of the
    first entries computed first (the same numbers, entry by entry)."""
    if a.shape != values.shape:
        return False
    scale = float(np.abs(values).max(initial=0.0))
    if a.size > _HEAD and np.shape(error) == a.shape:
        head = values.flat[:_HEAD]
        tol = tolerance(head, factor * np.asarray(error).flat[:_HEAD], eps, scale=scale)
        if not np.all(np.abs(a.flat[:_HEAD] - head) <= tol):
            return False
    return bool(np.all(np.abs(a - values) <= tolerance(values, factor * error, eps, scale=scale)))


def _fmt_shape(shape: tuple) -> str:
    return "()" if shape == () else str(tuple(int(s) for s in shape))


def _finish(target: Target, tag: str, message: str, misconception: str | None = None,
            **kw) -> CheckResult:
    marker = f"[diagnosis: {tag}]"
    if misconception:
        marker += f" [misconception: {misconception}]"
    message = f"✗ {target.name}: {message} {marker}"
    hint = hint_for(target.hints, target.name, misconception or tag)
    if hint is None and misconception:
        hint = hint_for(target.hints, target.name, tag)
    if hint:
        message += "\n" + hint
    return CheckResult(ok=False, diagnosis=tag, name=target.name, message=message,
                       expected_shape=target.expected.shape, row_label=target.row_label,
                       col_label=target.col_label, row_axes=target.row_axes,
                       misconception=misconception, **kw)


def _user_frame(exc: BaseException):
    """The innermost frame of the learner's code in exc's traceback (not numpy's, not ours,
    not the standard library's), or None."""
    import os
    import sysconfig

    skip = [os.path.dirname(np.__file__), os.path.dirname(__file__),
            sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]]
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        path = os.path.abspath(fr.filename) if not fr.filename.startswith("<") else fr.filename
        if not any(path.startswith(d + os.sep) for d in skip):
            return fr
    return frames[-1] if frames else None


def failure_from_exception(exc: BaseException, target_name: str, func_name: str | None,
                           hints: dict | None = None) -> CheckResult:
    """A failed CheckResult for an answer function that raised.

    ``func_name`` is the learner's function (None when the test wrapped it in a lambda: then
    the function that raised, or ``target_name``, is named).
    """
    from ._guard import NumericAnswerError

    frame = _user_frame(exc)
    raiser = frame.name if frame is not None and not frame.name.startswith("<") else None
    func = func_name or raiser or target_name
    if isinstance(exc, NumericAnswerError):
        tag = "numeric-answer"
        msg = (f"✗ {target_name}: your `{func}` calls matdiff's `{exc.called}`: derive it; the "
               "numeric derivative is the checker's job. Write the formula you derived. "
               "[diagnosis: numeric-answer]")
    elif isinstance(exc, NotImplementedError):
        tag = "not-answered"
        if raiser and raiser != func:
            msg = (f"✗ {target_name}: `{func}` calls `{raiser}`, which is not answered yet: it "
                   "still raises NotImplementedError. Answer that exercise first. "
                   "[diagnosis: not-answered]")
        else:
            msg = (f"✗ {target_name}: not answered yet: `{func}` still raises "
                   "NotImplementedError. Replace that line with your code. [diagnosis: not-answered]")
    else:
        tag = "error"
        where = ""
        if frame is not None:
            inside = f"in {frame.name}, " if not frame.name.startswith("<") else ""
            where = f" ({inside}line {frame.lineno})"
        msg = (f"✗ {target_name}: your `{func}` raised {type(exc).__name__}: {exc}{where}. "
               "Fix the error first; run the function on its own to see the full traceback. "
               "[diagnosis: error]")
    hint = hint_for(hints, target_name, tag)
    if hint:
        msg += "\n" + hint
    return CheckResult(ok=False, diagnosis=tag, message=msg, name=target_name)


def as_numbers(answer) -> tuple[np.ndarray | None, str | None]:
    """The answer as a float array (itself when it is one: callers only read it), or None and a
    description of what it is instead."""
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
    return arr.astype(np.float64, copy=False), None     # read only: no copy of float64


def _broadcast_axes(given: tuple, shape: tuple) -> tuple | None:
    """The axes along which something of ``shape`` would have been broadcast to shape
    ``given``; None when ``given`` is not such a broadcast."""
    if len(given) < len(shape):
        return None
    lead = len(given) - len(shape)
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == given[lead + i]:
            continue
        if s == 1:
            axes.append(lead + i)
        else:
            return None
    return tuple(axes) or None


def _broadcast_sum(a: np.ndarray, shape: tuple) -> tuple[np.ndarray | None, tuple]:
    """Sum ``a`` over the axes along which something of ``shape`` would have been broadcast
    to a's shape; None when a's shape is not such a broadcast."""
    axes = _broadcast_axes(a.shape, shape)
    if axes is None:
        return None, ()
    return a.sum(axis=axes).reshape(shape), axes


def needs_values(answer, shape: tuple, other_shapes: tuple = ()) -> bool:
    """Whether :func:`compare`'s verdict on ``answer`` depends on the right answer's values,
    not only on its ``shape`` (``other_shapes``: those of the alternatives, such as the
    transpose). It does not for an answer that is not numbers, or whose shape is unrelated:
    not the right one, nor an alternative's, nor the right one up to size-1 axes, nor one
    that sums over broadcast axes to the right one. Those verdicts need no derivative at all.

    >>> needs_values(None, (3, 2)), needs_values([1.0, 2.0], (3, 2))
    (False, False)
    >>> needs_values([[0.0] * 3] * 2, (3, 2), ((2, 3),)), needs_values([[0.0] * 2] * 5, (2,))
    (True, True)
    """
    arr, _ = as_numbers(answer)
    if arr is None:
        return False
    squeezed = tuple(s for s in shape if s != 1)
    return (arr.shape == tuple(shape) or arr.shape in other_shapes
            or (arr.size == int(np.prod(shape)) and np.squeeze(arr).shape == squeezed)
            or _broadcast_axes(arr.shape, tuple(shape)) is not None)


def _where(mask: np.ndarray, row_label: str, col_label: str, ndim: int) -> str:
    """Describe where the wrong entries are, when they form a pattern."""
    if mask.size <= 1 or mask.all():
        return ""
    if ndim == 1:
        idx = np.flatnonzero(mask)
        return f" Only entry {idx[0]} is wrong." if idx.size == 1 else ""
    if mask.ndim != 2:
        return ""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
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


def _misconception(arr: np.ndarray, target: Target, eps: float, **common) -> CheckResult | None:
    """The verdict for an answer that matches one of the exercise's known mistakes."""
    for mname, values in target.misconceptions:
        if values is None:
            continue
        cand = arr
        if cand.shape != values.shape and target.allow_squeeze and cand.size == values.size \
                and np.squeeze(cand).shape == np.squeeze(values).shape:
            cand = cand.reshape(values.shape)
        if _matches(cand, values, np.zeros_like(values), eps):
            return _finish(target, "misconception",
                           f"your answer matches a known mistake: {mname}.",
                           misconception=mname, **common)
    return None


def passed(name: str, answer, given_shape: tuple, expected_shape: tuple, eps: float,
           reference: str = "the numeric derivative", **common) -> CheckResult:
    """The verdict for a right answer: how it was accepted (another shape, float32) and its
    largest difference from the reference (``common["max_abs_error"]``).

    >>> import numpy as np
    >>> passed("grad", np.ones(2, np.float32), (2,), (2,), 1e-7, max_abs_error=0.0).message
    '✓ grad: correct (computed in float32; largest difference from the numeric derivative 0.0e+00).'
    """
    how = ""
    if given_shape != expected_shape:
        how += f" as shape {_fmt_shape(given_shape)};"
    if eps and _low_precision(answer):      # not said of float64 values that happen to be exact
        how += " computed in float32;"
    abs_err = common["max_abs_error"]
    return CheckResult(ok=True, name=name,
                       message=f"✓ {name}: correct ({how[1:]} largest difference from "
                               f"{reference} {abs_err:.1e})." if how else
                               f"✓ {name}: correct (largest difference from {reference} "
                               f"{abs_err:.1e}).", **common)


def compare(answer, target: Target) -> CheckResult:
    """Compare a learner's answer with the target and return a CheckResult."""
    expected = target.expected
    name = target.name
    arr, what = as_numbers(answer)
    eps = answer_eps(answer) if arr is not None else 0.0
    if arr is None:
        return _finish(target, "not-array", f"your answer is {what}")
    scale = float(np.abs(expected).max(initial=0.0))

    given_shape = arr.shape
    if arr.shape != expected.shape and target.allow_squeeze and arr.size == expected.size \
            and arr.ndim != expected.ndim and np.squeeze(arr).shape == np.squeeze(expected).shape:
        # only size-1 axes were added or dropped ((n,) for (n, 1), a number for [x]); a row for
        # a column has the same number of axes and stays a shape question (a transpose)
        squeezed = arr.reshape(expected.shape)
        right = np.all(np.abs(squeezed - expected) <= tolerance(expected, target.error, eps)
                       if target.tol is None else np.abs(squeezed - expected) <= target.tol)
        if not right:
            found = _misconception(arr, target, eps, answer_shape=given_shape)
            if found is not None:
                return found
        arr = squeezed                      # compare the numbers
    if arr.shape != expected.shape:
        return _compare_shapes(arr, target, eps)

    tol = (target.tol + _rounding(expected, eps, scale) if target.tol is not None
           else tolerance(expected, target.error, eps, scale=scale))
    finite = np.isfinite(arr)
    all_finite = bool(finite.all())
    diff = arr - expected if all_finite else np.where(finite, arr - expected, np.inf)
    abs_diff = np.abs(diff)
    abs_err = float(abs_diff.max(initial=0.0))
    rel_err = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else float("inf"))
    wrong = ~(abs_diff <= tol)
    if all_finite and math.isfinite(scale):     # every difference is a number: its sign
        mistakes = (diff > 0).view(np.int8) - (diff < 0).view(np.int8)
        mistakes *= wrong
    else:
        mistakes = np.where(wrong, np.sign(diff), 0).astype(np.int8)   # not finite: 2, below
        mistakes[~finite] = 2
    common = dict(max_abs_error=abs_err, max_rel_error=rel_err, answer_shape=arr.shape,
                  mistakes=mistakes, tolerance=float(tol.max(initial=0.0)))

    if not all_finite:
        bad = int((~finite).sum())
        return _finish(target, "not-finite",
                       f"{bad} of {arr.size} entries are NaN or inf (marked ! in the map). "
                       "They usually come from 0/0, the log of a non-positive number, an "
                       "overflowing exp, or an array created with np.empty and never filled.",
                       **common)
    if not wrong.any():
        return passed(name, answer, given_shape, expected.shape, eps, target.reference, **common)

    found = _misconception(arr, target, eps, **common)
    if found is not None:
        return found
    if scale > 0 and _close(arr, -expected, tol):
        return _finish(target, "sign", ("your answer has the wrong sign. " if arr.size == 1 else
                                        "every entry has the wrong sign. ") +
                       "Look for a minus sign that was dropped or added (e.g. in the derivative "
                       "of (y - t), or of -log).", **common)
    for alt in target.alternatives:
        if _matches(arr, alt.values, alt.error, eps):
            return _finish(target, alt.tag, alt.explain, **common)
    if scale > 0 and np.abs(arr).max() > 0:
        c = float(np.sum(arr * expected) / np.sum(expected * expected))
        # one number is always a multiple of another: for a scalar only a simple factor counts
        simple = arr.size >= 2 or _simple_factor(c)
        if simple and abs(c - 1) > 1e-3 and abs(c) > 1e-12 and \
                _matches(arr, c * expected, target.error, eps, abs(c)):
            return _finish(target, "scale", _scale_message(c, arr.size), **common)
    if scale > 0 and not np.any(arr):
        return _finish(target, "wrong-values", "your answer is all zeros: is it still a "
                       "placeholder?", **common)
    band = closeness(diff, expected)
    if _imprecise(abs_diff, expected, scale):
        what = "your answer is" if arr.size == 1 else "every entry of your answer is"
        return _finish(target, "imprecise",
                       f"{what} within 0.1% of the right one, but further off than rounding "
                       "explains. Is it rounded, computed in float16, or approximated (a "
                       "difference quotient with a finite step)?", **common)
    if arr.size == 1:
        return _finish(target, "wrong-values", f"your answer is {band}.", **common)
    n_wrong = int(wrong.sum())
    where = _where(_as_2d(wrong, target.row_axes), target.row_label, target.col_label, arr.ndim)
    count = (f"every entry is wrong ({band} at the worst)" if n_wrong == arr.size else
             f"{n_wrong} of {arr.size} entries are wrong ({band} at the worst)")
    return _finish(target, "wrong-values",
                   f"{count}; the map shows which are too high (+) and too low (-).{where}",
                   **common)


def _imprecise(abs_diff: np.ndarray, expected: np.ndarray, scale: float) -> bool:
    """Every entry within IMPRECISE of the right one (relative to it plus the largest),
    the first entries first (the same verdict as all of them at once)."""
    if abs_diff.size > _HEAD and not np.all(
            abs_diff.flat[:_HEAD] <= IMPRECISE * (np.abs(expected.flat[:_HEAD]) + scale)):
        return False
    return bool(np.all(abs_diff <= IMPRECISE * (np.abs(expected) + scale)))


def _simple_factor(c: float) -> bool:
    """c is k or 1/k for a whole k from 2 to 1000 (a missing 2, a mean for a sum over N)."""
    for v in (abs(c), 1 / abs(c) if c else 0.0):
        k = round(v)
        if 2 <= k <= 1000 and abs(v - k) < 1e-6 * k:
            return True
    return False


def _scale_message(c: float, size: int) -> str:
    if size == 1:  # the factor itself would give the value away
        if abs(c) > 1:
            return ("your answer is a whole multiple of the right one: is there an extra "
                    "factor, or something counted twice?")
        return ("your answer is a whole fraction (1/k) of the right one: is there a mean (or a "
                "division) where a sum belongs, or a factor missing?")
    if not _simple_factor(c) and not _simple_factor(-c) and c != -1:
        return ("every entry is off by the same factor. Look for a constant factor that is "
                "missing or extra (like the 2 in d(x²)/dx), or a number typed wrong.")
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


def _shape_rule(target: Target) -> str:
    """How to get the right shape, as a rule (never literal numbers that fit only this test)."""
    return f"({target.shape_reason})"


def _compare_shapes(arr: np.ndarray, target: Target, eps: float = 0.0) -> CheckResult:
    expected = target.expected
    shape, want = _fmt_shape(arr.shape), _fmt_shape(expected.shape)
    common = dict(answer_shape=arr.shape)
    found = _misconception(arr, target, eps, **common)
    if found is not None:
        return found
    # The transpose or the other layout.
    for alt in target.alternatives:
        if alt.tag == "transpose" and arr.shape == alt.values.shape:
            if _close(arr, alt.values, tolerance(alt.values, alt.error, eps)):
                return _finish(target, "transpose", alt.explain, **common)
            return _finish(target, "shape",
                           f"your answer has shape {shape}, the shape of the transpose; it must "
                           f"be {want} {_shape_rule(target)}. (Its values do not match the "
                           "transpose either.)", **common)
    # Only size-1 axes differ.
    if arr.size == expected.size and np.squeeze(arr).shape == np.squeeze(expected).shape:
        sq_arr, sq_exp = np.squeeze(arr), np.squeeze(expected)
        tol = tolerance(sq_exp, np.squeeze(target.error), eps)
        if _close(sq_arr, sq_exp, tol):
            return _finish(target, "shape",
                           f"the numbers are right but the shape is {shape}; it must be "
                           f"{want} {_shape_rule(target)}. Reshape it to that shape (e.g. "
                           "with `.reshape(...)` and the variable's own `.shape`, or "
                           "`keepdims=True` in a sum).", **common)
    # A gradient with extra axes that add up to the right one.
    summed, axes = _broadcast_sum(arr, expected.shape)
    if summed is not None and _close(summed, expected, tolerance(expected, target.error, eps)):
        ax = ", ".join(str(a) for a in axes)
        s_ = "s" if len(axes) > 1 else ""
        if target.broadcast is not None and target.broadcast(arr.shape):
            return _finish(target, "missing-sum",
                           f"your answer has shape {shape} but must have {want} "
                           f"{_shape_rule(target)}. In the forward pass this variable was "
                           f"broadcast (copied) along axis{s_} {ax}, so every copy passes "
                           f"gradient back: add them up (sum over axis{s_} {ax}).", **common)
        return _finish(target, "shape",
                       f"your answer has shape {shape} but must have {want} "
                       f"{_shape_rule(target)}. Its entries add up to the right answer over "
                       f"axis{s_} {ax}: you kept one contribution per position (per sample?) "
                       "where the gradient is their sum.", **common)
    if summed is not None and target.broadcast is not None and target.broadcast(arr.shape):
        return _finish(target, "shape",
                       f"your answer has shape {shape} but must have {want} "
                       f"{_shape_rule(target)}. This variable was broadcast to {shape} in the "
                       "forward pass, so the gradient must be reduced back; but the values do "
                       "not match after a sum either.", **common)
    return _finish(target, "shape",
                   f"your answer has shape {shape} but must have {want} {_shape_rule(target)}.",
                   **common)

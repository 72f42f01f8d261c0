"""Checks of gradients, Jacobians and backward functions against numeric derivatives.

Each ``check_*`` returns a :class:`~matdiff.result.CheckResult` and never raises for a wrong
answer (a wrong shape, NaN, None, or an answer function that raises are all verdicts).
It raises only for a mistake in the *check itself*: ``f`` not callable or failing, an
unknown ``layout`` or ``wrt``. Each ``assert_*`` raises ``AssertionError(result.message)``
when the check fails, and returns the result otherwise: use it in test cells.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._inputs import arg_names, as_float_array, check_callable, check_layout, check_wrt
from .diagnose import Alternative, Target, compare, failure_from_exception
from .layouts import to_denominator
from .numeric import jacobian_with_error
from .progress import record
from .result import DIAGNOSES, CheckResult

__all__ = [
    "check_gradient", "check_jacobian", "check_backward",
    "assert_gradient", "assert_jacobian", "assert_backward", "call_answer", "assert_that",
    "CheckFailed",
]

_UPSTREAM_SEED = 390


def _call_answer(answer, args: list[np.ndarray], extra: tuple = ()) -> tuple[Any, BaseException | None]:
    if not callable(answer):
        return answer, None
    try:
        return answer(*[a.copy() for a in args], *[e.copy() for e in extra]), None
    except Exception as exc:
        return None, exc


def _func_name(answer, default: str) -> str:
    return getattr(answer, "__name__", default) if callable(answer) else default


def _transpose_alt(expected: np.ndarray, error: np.ndarray, explain: str) -> list[Alternative]:
    if expected.ndim != 2 or expected.shape[0] * expected.shape[1] <= 1:
        return []
    return [Alternative("transpose", expected.T, error.T, explain)]


def _name(answer, name: str | None, fallback: str) -> str:
    if name:
        return name
    return _func_name(answer, fallback) if callable(answer) else fallback


def check_gradient(
    f: Callable[..., Any],
    grad: Any,
    *args: Any,
    wrt: int = 0,
    name: str | None = None,
    hints: dict[str, str] | None = None,
) -> CheckResult:
    """Check a gradient of a scalar-valued ``f`` against a numeric one.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returns one number (a scalar, or any array with one entry).
    grad : array_like or callable
        The answer: an array with the shape of ``args[wrt]``, or a function called as
        ``grad(*args)`` that returns it.
    *args : array_like
        The point to check at. Use non-square, non-symmetric values.
    wrt : int
        Which argument the gradient is taken with respect to.
    name : str, optional
        A name for messages and :func:`matdiff.progress` (default: grad's function name).
    hints : dict, optional
        Extra text per diagnosis tag, appended to the message (e.g. ``{"transpose":
        "Hint 2 is about this."}``).

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> x = np.array([[1.0], [-2.0]])
    >>> f = lambda x: (x.T @ A @ x).item()
    >>> md.check_gradient(f, lambda x: (A + A.T) @ x, x).ok
    True
    >>> r = md.check_gradient(f, lambda x: 2 * A @ x, x)   # forgot that A is not symmetric
    >>> r.ok, r.diagnosis
    (False, 'wrong-values')
    """
    check_callable(f, "f")
    label = _name(grad, name, "gradient")
    arrays = [as_float_array(a, f"args[{i}]") for i, a in enumerate(args)]
    wrt = check_wrt(wrt, len(arrays))
    jac, err, f0, _ = jacobian_with_error(f, *arrays, wrt=wrt)
    if f0.size != 1:
        raise ValueError(f"check_gradient needs f to return one number, but it returned shape "
                         f"{f0.shape}; use check_jacobian for vector or matrix outputs.")
    x = arrays[wrt]
    expected, error = jac.reshape(x.shape), err.reshape(x.shape)
    var = arg_names(f, len(arrays))[wrt]
    target = Target(
        expected, error, name=label,
        shape_reason=f"a gradient has the shape of the variable: {var} has shape {x.shape}",
        row_label=f"row of {var}", col_label=f"column of {var}", hints=hints or {},
        alternatives=_transpose_alt(expected, error,
                                    f"your answer is the transpose of the gradient. A gradient "
                                    f"has the shape of {var} {x.shape}: check which factor "
                                    "should be transposed, and the order of the product."),
    )
    answer, exc = _call_answer(grad, arrays)
    result = (failure_from_exception(exc, label, _func_name(grad, "grad"), hints)
              if exc else compare(answer, target))
    return record(label, result)


def check_jacobian(
    f: Callable[..., Any],
    jac: Any,
    *args: Any,
    wrt: int = 0,
    layout: str = "numerator",
    name: str | None = None,
    hints: dict[str, str] | None = None,
) -> CheckResult:
    """Check a Jacobian (of any shape) against a numeric one, in the layout asked for.

    ``layout="numerator"`` expects shape ``f(*args).shape + args[wrt].shape``;
    ``"denominator"`` expects ``args[wrt].shape + f(*args).shape``. An answer in the other
    layout is diagnosed as ``transpose``. Axes of size 1 may be dropped (a column vector
    (n, 1) may be treated as a vector (n,)).

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> A = np.arange(6.0).reshape(2, 3)
    >>> v = np.ones(3)
    >>> md.check_jacobian(lambda v: A @ v, A, v).ok
    True
    >>> md.check_jacobian(lambda v: A @ v, A.T, v).diagnosis      # the notes' layout
    'transpose'
    >>> md.check_jacobian(lambda v: A @ v, A.T, v, layout="denominator").ok
    True
    """
    check_callable(f, "f")
    layout = check_layout(layout)
    label = _name(jac, name, "Jacobian")
    arrays = [as_float_array(a, f"args[{i}]") for i, a in enumerate(args)]
    wrt = check_wrt(wrt, len(arrays))
    num, err, f0, _ = jacobian_with_error(f, *arrays, wrt=wrt)
    x = arrays[wrt]
    nin = x.ndim
    den, den_err = to_denominator(num, nin), to_denominator(err, nin)
    out_s, in_s = f0.shape, x.shape
    if layout == "numerator":
        expected, error, other, other_err = num, err, den, den_err
        reason = (f"numerator layout: the output's axes, then the input's: {out_s} + {in_s}")
        rows, cols = "output index i", "input index j"
        explain = ("your answer is in denominator layout (rows = inputs, columns = outputs), "
                   "but numerator layout was asked for (rows = outputs, columns = inputs): "
                   "transpose it, or build it the other way round.")
    else:
        expected, error, other, other_err = den, den_err, num, err
        reason = (f"denominator layout: the input's axes, then the output's: {in_s} + {out_s}")
        rows, cols = "input index i", "output index j"
        explain = ("your answer is in numerator layout (rows = outputs, columns = inputs), but "
                   "denominator layout was asked for (rows = inputs, columns = outputs), the "
                   "course notes' convention: transpose it.")
    alts = []
    if f0.ndim and nin and not np.array_equal(other, expected):
        alts.append(Alternative("transpose", other, other_err, explain))
    target = Target(expected, error, name=label, shape_reason=reason, row_label=rows,
                    col_label=cols, alternatives=alts, allow_squeeze=True, hints=hints or {},
                    row_axes=f0.ndim if layout == "numerator" else nin)
    answer, exc = _call_answer(jac, arrays)
    if exc is None and answer is not None and alts:
        answer = _match_layout_shape(answer, other)
    result = (failure_from_exception(exc, label, _func_name(jac, "jac"), hints)
              if exc else compare(answer, target))
    return record(label, result)


def _match_layout_shape(answer, other: np.ndarray):
    """Squeeze size-1 axes off an answer so that a column-vector Jacobian in the other
    layout is still recognised as that layout."""
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return answer
    if arr.shape != other.shape and arr.size == other.size and \
            np.squeeze(arr).shape == np.squeeze(other).shape and np.squeeze(other).ndim == 2:
        sq = np.squeeze(other)
        if sq.shape[0] != sq.shape[1]:
            return arr.reshape(other.shape)
    return answer


def check_backward(
    f: Callable[..., Any],
    backward: Callable[..., Any],
    *args: Any,
    upstream: Any = None,
    name: str | None = None,
    hints: dict[str, str] | None = None,
) -> CheckResult:
    """Check a backward function: the gradients of ``sum(G * f(*args))`` for every argument.

    Parameters
    ----------
    f : callable
        The forward computation, ``Y = f(*args)``.
    backward : callable
        Called as ``backward(*args, G)``; returns one gradient per argument (a tuple, or a
        single array when there is one argument), each with the shape of its argument.
    upstream : array_like, optional
        ``G``, the gradient flowing in from above, with the shape of ``Y``. By default a
        reproducible random ``G``, which catches answers that ignore it.

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> A, B = np.ones((2, 3)), np.arange(12.0).reshape(3, 4)
    >>> good = lambda A, B, G: (G @ B.T, A.T @ G)
    >>> md.check_backward(lambda A, B: A @ B, good, A, B).ok
    True
    >>> r = md.check_backward(lambda A, B: A @ B, lambda A, B, G: (G @ B.T, G.T @ A), A, B)
    >>> r.ok, r.diagnosis
    (False, 'transpose')
    >>> md.check_backward(lambda A, B: A @ B, lambda A, B, G: (B.T, A.T), A, B).diagnosis
    'shape'
    """
    check_callable(f, "f")
    check_callable(backward, "backward")
    arrays = [as_float_array(a, f"args[{i}]") for i, a in enumerate(args)]
    check_wrt(0, len(arrays))
    label = _name(backward, name, "backward")
    from ._inputs import call_f

    y = call_f(f, arrays, "f at the given point")
    if upstream is None:
        rng = np.random.default_rng([_UPSTREAM_SEED, *y.shape])
        G = rng.standard_normal(y.shape)
    else:
        G = as_float_array(upstream, "upstream")
        if G.shape != y.shape:
            raise ValueError(f"`upstream` must have the shape of f's output {y.shape}, "
                             f"not {G.shape}.")
    ones_used = bool(np.all(G == 1))
    names = arg_names(f, len(arrays))
    answer, exc = _call_answer(backward, arrays, (G,))
    if exc is not None:
        return record(label, failure_from_exception(exc, label, _func_name(backward, "backward"),
                                                    hints))
    n = len(arrays)
    if n == 1 and not isinstance(answer, (tuple, list)):
        answer = (answer,)
    if not isinstance(answer, (tuple, list)):
        from ._inputs import describe

        grads = ", ".join(f"d{v}" for v in names)
        msg = (f"✗ {label}: it must return {n} gradients, one per argument ({grads}), as a "
               f"tuple, but it returned {describe(answer)}. [diagnosis: not-array]")
        return record(label, CheckResult(False, msg, "not-array", name=label))
    if len(answer) != n:
        grads = ", ".join(f"d{v}" for v in names)
        msg = (f"✗ {label}: it returned {len(answer)} gradients, but f has {n} arguments: "
               f"return ({grads}), in that order. [diagnosis: shape]")
        return record(label, CheckResult(False, msg, "shape", name=label))

    parts = []
    for i, (x, ans) in enumerate(zip(arrays, answer, strict=True)):
        def loss(*a, _G=G):
            return np.sum(_G * _numbers(f(*a)))

        jac, err, _, _ = jacobian_with_error(loss, *arrays, wrt=i)
        var = names[i]
        gname = f"d{var}" if not var.startswith("args[") else f"the gradient for {var}"
        alts = _transpose_alt(jac, err, f"your {gname} is the transpose of the right one: "
                              f"{gname} has the shape of {var} {x.shape}. Check the order of "
                              "the factors and which one is transposed.")
        if not ones_used:
            def loss_ones(*a):
                return np.sum(_numbers(f(*a)))

            jac1, err1, _, _ = jacobian_with_error(loss_ones, *arrays, wrt=i)
            alts.append(Alternative(
                "upstream-ignored", jac1, err1,
                f"your {gname} is what it would be if the upstream gradient G were all ones, "
                "but G is not all ones here. The chain rule multiplies by G: the gradient "
                "arriving from above must appear in your formula."))
        target = Target(jac, err, name=gname,
                        shape_reason=f"{gname} has the shape of {var}",
                        row_label=f"row of {var}", col_label=f"column of {var}",
                        alternatives=alts, hints=hints or {})
        parts.append(compare(ans, target))
    ok = all(p.ok for p in parts)
    first_bad = next((p for p in parts if not p.ok), None)
    lines = [p.message for p in parts]
    head = (f"✓ {label}: all {n} gradients correct." if n > 1 else f"✓ {label}: correct.") \
        if ok else f"✗ {label}:"
    result = CheckResult(
        ok=ok, message="\n".join([head, *("  " + line for line in lines)]),
        diagnosis=None if ok else first_bad.diagnosis, name=label,
        max_abs_error=max(p.max_abs_error for p in parts),
        max_rel_error=max(p.max_rel_error for p in parts), parts=parts,
    )
    return record(label, result)


def _numbers(out: Any) -> np.ndarray:
    """f's output as an array that keeps a complex step's imaginary part."""
    out = np.asarray(out)
    return out if out.dtype.kind in "fc" else out.astype(float)


class CheckFailed(AssertionError):
    """A failed check in a test cell. An ``AssertionError`` (so graders count it as a failed
    test) that IPython shows as its message alone, without matdiff's internal frames."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}:", *str(self).splitlines()]


def _assert(result: CheckResult) -> CheckResult:
    if not result.ok:
        raise CheckFailed(result.message)
    return result


def assert_gradient(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`check_gradient`, raising ``AssertionError(result.message)`` when it fails."""
    return _assert(check_gradient(*args, **kwargs))


def assert_jacobian(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`check_jacobian`, raising ``AssertionError(result.message)`` when it fails."""
    return _assert(check_jacobian(*args, **kwargs))


def assert_backward(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`check_backward`, raising ``AssertionError(result.message)`` when it fails."""
    return _assert(check_backward(*args, **kwargs))



def call_answer(answer: Callable[..., Any], *args: Any, name: str | None = None) -> Any:
    """Call a learner's answer function for a test that is not a derivative check.

    Returns what it returns. When it raises, raises ``AssertionError`` with a readable
    message instead (``not answered yet`` for ``NotImplementedError``), so that a test cell
    fails with a sentence, not a traceback into the learner's code. Records the attempt in
    :func:`matdiff.progress` as not passed when it raised.

    Examples
    --------
    >>> import matdiff as md
    >>> md.call_answer(lambda: "numerator", name="which_layout")
    'numerator'
    """
    check_callable(answer, "answer")
    label = name or _func_name(answer, "answer")
    try:
        return answer(*args)
    except Exception as exc:
        result = record(label, failure_from_exception(exc, label, _func_name(answer, "answer")))
        raise CheckFailed(result.message) from None


def assert_that(condition: Any, message: str, *, name: str, diagnosis: str = "wrong-values") -> None:
    """A plain test for a non-derivative answer, recorded in :func:`matdiff.progress`.

    Raises ``AssertionError`` with ``"✗ name: message [diagnosis: ...]"`` when ``condition``
    is false; records a pass otherwise.

    Examples
    --------
    >>> import matdiff as md
    >>> md.assert_that(2 + 2 == 4, "arithmetic is broken", name="sum")
    >>> md.assert_that("row" == "column", "return 'column'", name="which", diagnosis="transpose")
    Traceback (most recent call last):
    ...
    matdiff.checks.CheckFailed: ✗ which: return 'column' [diagnosis: transpose]
    """
    if diagnosis not in DIAGNOSES:
        raise ValueError(f"`diagnosis` must be one of {', '.join(DIAGNOSES)}, not {diagnosis!r}.")
    if condition:
        record(name, CheckResult(ok=True, message=f"✓ {name}: correct.", name=name))
        return
    msg = f"✗ {name}: {message} [diagnosis: {diagnosis}]"
    record(name, CheckResult(ok=False, message=msg, diagnosis=diagnosis, name=name))
    raise CheckFailed(msg)

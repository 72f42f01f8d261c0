"""Checks of gradients, Jacobians and backward functions against numeric derivatives.

Each ``check_*`` returns a :class:`~matdiff.result.CheckResult` and never raises for a wrong
answer (a wrong shape, NaN, None, or an answer function that raises are all verdicts).
It raises only for a mistake in the *check itself*: ``f`` not callable or failing, an
unknown ``layout`` or ``wrt``. The ``assert_*`` forms for test cells are in
:mod:`matdiff.asserts`.

Every check accepts

``name``
    The exercise's name, for messages and :func:`matdiff.progress`. Messages name the
    learner's function by its own name; when a test wraps it in a lambda, pass ``name=``.
``hints``
    Extra text appended to the message, chosen by what went wrong: keys are diagnosis tags
    (``"scale"``), misconception names, or either one for one output of ``check_backward``:
    ``"dW:scale"`` or ``("dW", "scale")``. The most specific key wins.
``mistakes``
    The exercise's known wrong answers, ``{"name in the exercise's words": fn}``, each ``fn``
    with the learner's function's signature. An answer that matches one gets the diagnosis
    ``misconception``, its name in the message and in ``result.misconception`` (never its
    values).
``allow_numeric``
    False by default: while the check calls the learner's answer, matdiff's numeric
    derivatives refuse to run (diagnosis ``numeric-answer``): the answer must be derived.
``full``
    False by default: a right answer is first confirmed along a few random directions (a
    few evaluations of f, whatever the size: see :mod:`matdiff._confirm` for the argument
    and the false-pass bound); only an answer that this does not confirm gets the full
    numeric Jacobian, the diagnosis and the map. ``full=True`` compares every entry always.
    A small Jacobian (``SMALL`` entries at most) that one call of f with dual numbers gives
    (:func:`matdiff.numeric.exact_jacobian_at`) costs about what that comparison costs: the
    check then takes it and compares every entry, right answer or wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._answers import broadcast_test, call_graded, label_for, mistake_values, own_name
from ._confirm import Confirmed, confirm
from ._directions import Directions
from ._guard import refuse_during_graded_call
from ._inputs import (
    FunctionError,
    arg_names,
    as_float_array,
    call_f,
    check_callable,
    check_layout,
    check_wrt,
    describe,
)
from .diagnose import (
    Alternative,
    Target,
    answer_eps,
    as_numbers,
    compare,
    failure_from_exception,
    needs_values,
    passed,
)
from .layouts import _denominator_view
from .numeric import _prepare, exact_jacobian_at, jacobian_at, jacobian_with_error
from .progress import record
from .result import CheckResult

__all__ = ["check_gradient", "check_jacobian", "check_backward", "check_value"]

_UPSTREAM_SEED = 390
SMALL = 2**15   # entries of a Jacobian that a check compares one by one when dual numbers give it


def _transpose_alt(expected: np.ndarray, error: np.ndarray, explain: str) -> list[Alternative]:
    if expected.ndim != 2 or expected.shape[0] * expected.shape[1] <= 1:
        return []
    return [Alternative("transpose", expected.T, error.T, explain)]


def _finite(answer: Any, shape: tuple, squeeze: bool = False) -> np.ndarray | None:
    """The answer as finite float64 numbers in ``shape`` (with ``squeeze``, size-1 axes may be
    added or dropped, but a row is not a column), or None: then only the full check can say
    what is wrong with it."""
    arr, _ = as_numbers(answer)
    if arr is None or not np.all(np.isfinite(arr)):
        return None
    if arr.shape == shape:
        return arr
    if squeeze and arr.ndim != len(shape) and arr.size == int(np.prod(shape)) and \
            np.squeeze(arr).shape == np.squeeze(np.empty(shape, dtype=bool)).shape:
        return arr.reshape(shape)
    return None


def _confirmed(f: Callable, arrays: list, wrts: list[int], f0: np.ndarray,
               matrices: list[np.ndarray], eps: list[float], tried: bool = False,
               ) -> Confirmed | None:
    """The directional comparison (None when f fails along a random direction: the full
    check then says why). When it does not confirm the answer, its derivatives along the
    directions still verify the full Jacobian's complex step (see `_along`). ``tried``: the
    dual numbers through kinks were already tried on f (they are not tried again)."""
    try:
        return confirm(f, arrays, wrts, f0, matrices, eps, through_kinks=not tried)
    except FunctionError:
        return None


def _small(x: np.ndarray, f0: np.ndarray) -> bool:
    """A Jacobian small enough (SMALL entries at most) that, when one call of f with dual
    numbers gives it (:func:`matdiff.numeric.exact_jacobian_at`), it costs about what the
    directional comparison costs: then the check takes it and compares every entry."""
    return x.size * f0.size <= SMALL


def _along(quick: Confirmed | None) -> Directions | None:
    """The directional comparison's derivatives, which verify the full Jacobian instead of
    new ones: its complex step, when they are complex steps (verified against a central
    difference); else its dual numbers through kinks (:mod:`matdiff._kinks`), when they are
    Richardson extrapolation or dual numbers verified against a central difference."""
    return quick.found if quick is not None else None


def _pass_fields(quick: Confirmed, arr: np.ndarray) -> dict:
    """CheckResult fields of a confirmed answer (its map: every entry right)."""
    scale = float(np.abs(arr).max(initial=0.0))
    rel = quick.max_abs_error / scale if scale > 0 else (0.0 if quick.max_abs_error == 0 else float("inf"))
    return dict(max_abs_error=quick.max_abs_error, max_rel_error=rel, answer_shape=arr.shape,
                mistakes=np.zeros(arr.shape, dtype=np.int8), tolerance=quick.tolerance)


def _no_values(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Stand-ins for the right answer and its error where only their shape is used (see
    :func:`matdiff.diagnose.needs_values`): zeros that take no memory."""
    zeros = np.broadcast_to(0.0, shape)
    return zeros, zeros


def _grad_labels(var: str, x: np.ndarray) -> tuple[str, str]:
    """Row and column labels of a gradient's map that read naturally for its shape."""
    if x.ndim == 1:
        return "", f"entry of {var}"
    if x.ndim == 0:
        return "", ""
    return f"row of {var}", f"column of {var}"


def check_gradient(
    f: Callable[..., Any],
    grad: Any,
    *args: Any,
    wrt: int = 0,
    name: str | None = None,
    hints: dict | None = None,
    mistakes: dict | None = None,
    allow_numeric: bool = False,
    full: bool = False,
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
        Extra text per diagnosis tag or misconception, appended to the message (e.g.
        ``{"transpose": "Hint 2 is about this."}``).
    mistakes : dict, optional
        Known wrong answers ``{"name": fn}``, ``fn(*args)`` returning the wrong gradient.
    allow_numeric : bool
        Let the answer call matdiff's numeric derivatives (refused by default).
    full : bool
        Compare every entry with the full numeric gradient even when the answer is right
        (by default a right answer is confirmed along a few random directions: a few
        evaluations of f, whatever the size of ``args[wrt]``).

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
    >>> r = md.check_gradient(f, lambda x: 2 * A @ x, x, name="grad_quadratic",
    ...                       mistakes={"A treated as symmetric": lambda x: 2 * A @ x})
    >>> r.diagnosis, r.misconception
    ('misconception', 'A treated as symmetric')
    """
    refuse_during_graded_call("check_gradient")
    label = label_for(grad, name, "gradient")
    arrays, wrt, f0 = _prepare(f, args, wrt)
    if f0.size != 1:
        raise ValueError(f"check_gradient needs f to return one number, but it returned shape "
                         f"{f0.shape}; use check_jacobian for vector or matrix outputs.")
    x = arrays[wrt]
    answer, exc = call_graded(grad, arrays, label=label, allow_numeric=allow_numeric)
    if exc:
        return record(label, failure_from_exception(exc, label, own_name(grad), hints))
    arr = None if full else _finite(answer, x.shape)
    small = arr is not None and _small(arrays[wrt], f0)
    quick, exact = None, exact_jacobian_at(f, arrays, wrt, f0) if small else None
    if arr is not None and exact is None:
        eps = answer_eps(answer)
        quick = _confirmed(f, arrays, [wrt], f0, [arr.reshape(1, -1)], [eps], small)
        if quick is not None and quick.ok:
            return record(label, passed(label, answer, arr.shape, x.shape, eps,
                                        **_pass_fields(quick, arr)))
    var = arg_names(f, len(arrays))[wrt]
    rows, cols = _grad_labels(var, x)

    def target(expected: np.ndarray, error: np.ndarray) -> Target:
        return Target(
            expected, error, name=label,
            shape_reason=f"a gradient has the shape of the variable: {var}.shape",
            row_label=rows, col_label=cols, hints=hints or {},
            alternatives=_transpose_alt(expected, error,
                                        f"your answer is the transpose of the gradient. A "
                                        f"gradient has the shape of {var} {x.shape}: check which "
                                        "factor should be transposed, and the order of the "
                                        "product."),
            misconceptions=mistake_values(mistakes, arrays),
            broadcast=broadcast_test(f, arrays, wrt),
        )

    if not needs_values(answer, x.shape, (x.shape[::-1],)):
        return record(label, compare(answer, target(*_no_values(x.shape))))
    jac, err = exact or jacobian_at(f, arrays, wrt, f0, along=_along(quick))[:2]
    return record(label, compare(answer, target(jac.reshape(x.shape), err.reshape(x.shape))))


def check_jacobian(
    f: Callable[..., Any],
    jac: Any,
    *args: Any,
    wrt: int = 0,
    layout: str = "numerator",
    name: str | None = None,
    hints: dict | None = None,
    mistakes: dict | None = None,
    allow_numeric: bool = False,
    full: bool = False,
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
    >>> md.check_jacobian(lambda v: A @ v, A.T, v).diagnosis      # denominator layout
    'transpose'
    >>> md.check_jacobian(lambda v: A @ v, A.T, v, layout="denominator").ok
    True
    """
    refuse_during_graded_call("check_jacobian")
    check_callable(f, "f")
    layout = check_layout(layout)
    label = label_for(jac, name, "Jacobian")
    arrays, wrt, f0 = _prepare(f, args, wrt)
    answer, exc = call_graded(jac, arrays, label=label, allow_numeric=allow_numeric)
    if exc is not None:
        return record(label, failure_from_exception(exc, label, own_name(jac), hints))
    in_s, m = arrays[wrt].shape, f0.size
    shape = f0.shape + in_s if layout == "numerator" else in_s + f0.shape
    # An answer whose size-1 axes differ is first compared with the known mistakes: the full
    # check does that.
    arr = None if full else _finite(answer, shape, squeeze=not mistakes)
    small = arr is not None and _small(arrays[wrt], f0)
    quick, exact = None, exact_jacobian_at(f, arrays, wrt, f0) if small else None
    if arr is not None and exact is None:
        matrix = arr.reshape(m, -1) if layout == "numerator" else arr.reshape(-1, m).T
        eps = answer_eps(answer)
        quick = _confirmed(f, arrays, [wrt], f0, [matrix], [eps], small)
        if quick is not None and quick.ok:
            return record(label, passed(label, answer, np.shape(np.asarray(answer)), shape, eps,
                                        **_pass_fields(quick, arr)))
    x = arrays[wrt]
    nin = x.ndim
    out_s, in_s = f0.shape, x.shape
    other_shape = in_s + out_s if layout == "numerator" else out_s + in_s
    # The other layout, also up to size-1 axes (see _match_layout_shape), needs the values.
    others = (other_shape, tuple(s for s in other_shape if s != 1)) if f0.ndim and nin else ()
    answered = as_numbers(answer)[0]
    if not needs_values(answer, shape, others) and \
            np.squeeze(answered).shape not in others:     # (None: not numbers, nothing to squeeze)
        num, err = _no_values(f0.shape + in_s)
    else:
        num, err = exact or jacobian_at(f, arrays, wrt, f0, along=_along(quick))[:2]
    den, den_err = _denominator_view(num, nin), _denominator_view(err, nin)   # read only
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
                   "convention of this course: transpose it.")
    alts = []
    if f0.ndim and nin and not np.array_equal(other, expected):
        alts.append(Alternative("transpose", other, other_err, explain))
    target = Target(expected, error, name=label, shape_reason=reason, row_label=rows,
                    col_label=cols, alternatives=alts, allow_squeeze=True, hints=hints or {},
                    row_axes=f0.ndim if layout == "numerator" else nin,
                    misconceptions=mistake_values(mistakes, arrays))
    if answer is not None and alts:
        answer = _match_layout_shape(answer, other)
    return record(label, compare(answer, target))


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
    hints: dict | None = None,
    mistakes: dict | None = None,
    allow_numeric: bool = False,
    full: bool = False,
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
    hints : dict, optional
        Text per diagnosis tag or misconception; for one output, key it ``"dW:scale"`` or
        ``("dW", "scale")`` (the output's name is ``d`` + the argument's name).
    mistakes : dict, optional
        Known wrong backward functions ``{"name": fn}``, ``fn(*args, G)`` returning the wrong
        tuple (right gradients where the mistake does not touch them).

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
    refuse_during_graded_call("check_backward")
    check_callable(f, "f")
    check_callable(backward, "backward")
    arrays = [as_float_array(a, f"args[{i}]") for i, a in enumerate(args)]
    check_wrt(0, len(arrays))
    label = label_for(backward, name, "backward")

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
    n = len(arrays)
    wrong = mistake_values(mistakes, arrays, (G,), parts=n)
    answer, exc = call_graded(backward, arrays, (G,), label=label, allow_numeric=allow_numeric)
    if exc is not None:
        return record(label, failure_from_exception(exc, label, own_name(backward), hints))
    if n == 1 and (not isinstance(answer, (tuple, list)) or _one_list(answer)):
        answer = (answer,)      # one argument: a single gradient, even written as a (nested) list
    if not isinstance(answer, (tuple, list)):
        grads = ", ".join(f"d{v}" for v in names)
        msg = (f"✗ {label}: it must return {n} gradients, one per argument ({grads}), as a "
               f"tuple, but it returned {describe(answer)}. [diagnosis: not-array]")
        return record(label, CheckResult(False, msg, "not-array", name=label))
    if len(answer) != n:
        grads = ", ".join(f"d{v}" for v in names)
        msg = (f"✗ {label}: it returned {len(answer)} gradients, but f has {n} "
               f"argument{'s' if n != 1 else ''}: "
               f"return ({grads}), in that order. [diagnosis: shape]")
        return record(label, CheckResult(False, msg, "shape", name=label))

    gnames = [f"d{var}" if not var.startswith("args[") else f"the gradient for {var}"
              for var in names]
    parts = None if full else _backward_confirmed(f, arrays, G, answer, gnames)
    if parts is None:
        parts = [_backward_part(f, arrays, G, i, ans, names[i], gnames[i], ones_used, wrong,
                                hints, y.shape) for i, ans in enumerate(answer)]
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
        misconception=None if ok else first_bad.misconception,
    )
    return record(label, result)


def _upstream_loss(f: Callable, G: np.ndarray) -> Callable:
    def loss(*a):
        return np.sum(G * _numbers(f(*a)))

    return loss


def _backward_confirmed(f: Callable, arrays: list, G: np.ndarray, answer: tuple | list,
                        gnames: list[str]) -> list[CheckResult] | None:
    """Every gradient confirmed at once, along random directions in which all arguments move
    together (the derivative of sum(G * f) along them is the sum of the gradients' inner
    products with them); None when that does not confirm them all."""
    arrs = [_finite(ans, x.shape) for ans, x in zip(answer, arrays, strict=True)]
    if any(a is None for a in arrs):
        return None
    loss = _upstream_loss(f, G)
    try:
        l0 = call_f(loss, arrays, "f at the given point")
    except FunctionError:
        return None
    if not np.all(np.isfinite(l0)):
        return None
    eps = [answer_eps(ans) for ans in answer]
    quick = _confirmed(loss, arrays, list(range(len(arrays))), l0,
                       [a.reshape(1, -1) for a in arrs], eps)
    if quick is None or not quick.ok:
        return None
    return [passed(g, ans, a.shape, a.shape, e, **_pass_fields(quick, a))
            for g, ans, a, e in zip(gnames, answer, arrs, eps, strict=True)]


def _backward_part(f: Callable, arrays: list, G: np.ndarray, i: int, ans: Any, var: str,
                   gname: str, ones_used: bool, wrong: list, hints: dict | None,
                   out_shape: tuple) -> CheckResult:
    """The full check of one gradient of a backward function, with its diagnosis and map."""
    x = arrays[i]
    values = needs_values(ans, x.shape, (x.shape[::-1],))
    if values:
        jac, err, _, _ = jacobian_with_error(_upstream_loss(f, G), *arrays, wrt=i)
    else:   # not numbers, or an unrelated shape: the verdict needs no derivative
        jac, err = _no_values(x.shape)
    alts = _transpose_alt(jac, err, f"your {gname} is the transpose of the right one: "
                          f"{gname} has the shape of {var} {x.shape}. Check the order of "
                          "the factors and which one is transposed.")
    if values and not ones_used:
        jac1, err1, _, _ = jacobian_with_error(_upstream_loss(f, np.ones_like(G)), *arrays, wrt=i)
        alts.append(Alternative(
            "upstream-ignored", jac1, err1,
            f"your {gname} is what it would be if the upstream gradient G were all ones, "
            "but G is not all ones here. The chain rule multiplies by G: the gradient "
            "arriving from above must appear in your formula."))
    rows, cols = _grad_labels(var, x)
    target = Target(jac, err, name=gname,
                    shape_reason=f"{gname} has the shape of {var}: {var}.shape",
                    row_label=rows, col_label=cols,
                    alternatives=alts, hints=hints or {},
                    misconceptions=[(m, v[i]) for m, v in wrong],
                    broadcast=_output_broadcast(f, arrays, i, out_shape))
    return compare(ans, target)


def _output_broadcast(f: Callable, arrays: list, i: int, out_shape: tuple) -> Callable[[tuple], bool]:
    """A variable's unsummed gradient is a missing sum when it has the output's shape and the
    variable really was broadcast to it (a bias added to every row, not a weight)."""
    test = broadcast_test(f, arrays, i)
    return lambda shape: tuple(shape) == tuple(out_shape) and test(shape)


def check_value(
    answer: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-9,
    atol: float = 0.0,
    hints: dict | None = None,
    mistakes: dict | None = None,
) -> CheckResult:
    """Check a value that is not a derivative (a predicted loss, a count, a converted array)
    against the right one, with the same diagnoses: shape, sign, scale, misconception,
    not-finite, not-array, and closeness in bands ("off by 1% to 10%"), never the value.

    Parameters
    ----------
    answer : array_like
        The learner's value (get it with :func:`matdiff.call_answer`). A one-entry array is
        accepted for a number.
    expected : array_like
        The right value. It never appears in a message.
    name : str
        The exercise's name.
    rtol, atol : float
        Allowed difference, ``atol + rtol * |expected|`` per entry (plus the rounding of
        float32 when the answer was computed in float32).
    mistakes : dict, optional
        Known wrong values ``{"name": value}``.

    Examples
    --------
    >>> import matdiff as md
    >>> md.check_value(3.0, 3.0, name="predicted_loss").ok
    True
    >>> r = md.check_value(6.0, 3.0, name="predicted_loss")
    >>> r.diagnosis, r.message
    ('scale', '✗ predicted_loss: your answer is a whole multiple of the right one: is there an \
extra factor, or something counted twice? [diagnosis: scale]')
    >>> md.check_value(3.1, 3.0, name="predicted_loss").message
    '✗ predicted_loss: your answer is off by 1% to 10%. [diagnosis: wrong-values]'
    """
    if not isinstance(name, str) or not name:
        raise TypeError("`name` must be the exercise's name (a string).")
    exp = as_float_array(expected, "expected")
    tol = atol + rtol * np.abs(exp)
    target = Target(exp, np.zeros_like(exp), name=name,
                    shape_reason="a single number" if exp.ndim == 0 else f"shape {exp.shape}",
                    allow_squeeze=True, hints=hints or {}, tol=tol, reference="the right value",
                    misconceptions=mistake_values(mistakes, []))
    return record(name, compare(answer, target))


def _one_list(answer: Any) -> bool:
    """A list of numbers or of lists: one gradient written with ``.tolist()``, not a sequence of
    gradients (a tuple, or a list of arrays)."""
    return isinstance(answer, list) and len(answer) > 0 and (
        all(isinstance(row, list) for row in answer)
        or all(isinstance(v, (int, float, complex, np.number)) for v in answer))


def _numbers(out: Any) -> np.ndarray:
    """f's output as an array that keeps a complex step's imaginary part."""
    out = np.asarray(out)
    return out if out.dtype.kind in "fc" else out.astype(float)



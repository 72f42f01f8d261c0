"""Numeric derivatives of functions of arrays: Jacobians of any shape, in either layout.

A Jacobian in *numerator layout* has the output's axes first, then the input's:
``J[i..., j...] = d f(x)[i...] / d x[j...]``, shape ``f(x).shape + x.shape``.
*Denominator layout* (the convention of this course) puts the input's axes
first: shape ``x.shape + f(x).shape``.

Methods
-------
``"central"`` (default)
    Central differences, ``(f(x + h e_j) - f(x - h e_j)) / 2h`` with ``h ~ eps**(1/3)``:
    about 10 correct digits, 2 evaluations per input entry.
``"forward"``
    ``(f(x + h e_j) - f(x)) / h``: about 8 digits, 1 evaluation per entry.
``"richardson"``
    Central differences at three step sizes combined by Richardson extrapolation: about
    13 digits, and an error estimate from the spread between the levels.
``"complex"``
    The complex step ``Im f(x + i h e_j) / h``: exact to rounding, but only for functions
    written with operations that accept complex numbers (no ``abs``, comparisons, ...).
``"accurate"``
    The complex step when it works for ``f`` (checked against a directional difference),
    Richardson extrapolation otherwise.

Whenever ``f`` accepts a whole stack of inputs at once (along a new leading or trailing
axis) the perturbed inputs are evaluated in one call; otherwise one call per input. Which
one is used is detected automatically and verified against single calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._inputs import (
    FunctionError,
    as_float_array,
    call_f,
    check_callable,
    check_layout,
    check_wrt,
    output_array,
)
from .layouts import to_denominator

__all__ = ["numeric_jacobian", "numeric_gradient", "METHODS"]

METHODS = ("central", "forward", "richardson", "complex", "accurate")
EPS = np.finfo(np.float64).eps
_MAX_BATCH_ELEMENTS = 2**21  # floats per batched call (16 MB)
_RICHARDSON_LEVELS = 3
_RICHARDSON_BASE = 2.0**-7


_VECTOR_ZEROS = np.zeros(64)
_VECTOR_SCRATCH = np.empty(64)


def _reset_vector_state() -> None:
    """Run one small vectorised numpy loop before a big batched call of f.

    Some BLAS kernels return with the upper halves of the wide vector registers in use. Until
    the next instruction that clears them, code compiled for plain SSE (numpy's loops for
    complex ``tanh``, ``log1p``, ...) runs many times slower on some x86 processors: a batched
    complex step through ``np.tanh`` measured 17x slower right after a complex matrix product.
    numpy's own wide loops clear the registers when they finish; running one costs a
    microsecond.
    """
    np.exp(_VECTOR_ZEROS, out=_VECTOR_SCRATCH)


class _Evaluator:
    """Evaluates f at many values of one argument, batched when f allows it."""

    def __init__(self, f: Callable, args: Sequence[np.ndarray], wrt: int, out_shape: tuple,
                 fname: str = "f", batch: bool = True):
        self.f, self.args, self.wrt, self.out_shape, self.fname = f, list(args), wrt, out_shape, fname
        self.in_shape = args[wrt].shape
        self.mode = None if batch else "loop"

    def _with(self, value: np.ndarray) -> list:
        args = list(self.args)
        args[self.wrt] = value
        return args

    def one(self, point: np.ndarray, what: str) -> np.ndarray:
        complex_in = np.iscomplexobj(point)
        if complex_in:
            copies = [a.copy() for a in self._with(point)]
            try:
                out = self.f(*copies)
            except Exception as exc:
                raise FunctionError(f"`{self.fname}` raised {type(exc).__name__}: {exc} "
                                    f"(while evaluating {what})") from exc
            out = output_array(out, self.fname, what, allow_complex=True)
        else:
            out = call_f(self.f, self._with(point), what, fname=self.fname)
        if out.shape != self.out_shape:
            raise FunctionError(
                f"`{self.fname}` returned shape {out.shape} at {what}, but shape "
                f"{self.out_shape} at the unperturbed input: its output shape must not depend "
                "on the input's values."
            )
        return out

    def _try_batched(self, points: np.ndarray, mode: str) -> np.ndarray | None:
        stack = points if mode == "leading" else np.moveaxis(points, 0, -1)
        _reset_vector_state()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                # points is a fresh internal array: no copy needed. (An f that changes its
                # input was already stopped by the single-call probes, which check for that.)
                out = self.f(*self._with(stack if mode == "leading" else np.ascontiguousarray(stack)))
            out = np.asarray(out)
        except Exception:
            return None
        b = points.shape[0]
        want = (b, *self.out_shape) if mode == "leading" else (*self.out_shape, b)
        if out.shape != want or not np.issubdtype(out.dtype, np.number):
            return None
        return out if mode == "leading" else np.moveaxis(out, -1, 0)

    def many(self, points: np.ndarray, what: str) -> np.ndarray:
        """f at each ``points[k]`` (shape (B,) + in_shape); returns (B,) + out_shape."""
        b = points.shape[0]
        per = max(int(np.prod(self.in_shape)), int(np.prod(self.out_shape)), 1)
        chunk = max(1, _MAX_BATCH_ELEMENTS // per)
        parts, start = [], 0
        if self.mode is None and b >= 2:
            first = points[: min(b, chunk)]
            self.mode, out = self._detect(first, what)
            if out is not None:  # the verified batched call's values are kept, not recomputed
                parts, start = [out], first.shape[0]
        if self.mode in ("leading", "trailing"):
            for s in range(start, b, chunk):
                part = self._try_batched(points[s:s + chunk], self.mode)
                if part is None:  # a later chunk failed: fall back for good
                    self.mode = "loop"
                    return self.many(points, what)
                parts.append(part)
            return np.concatenate(parts) if len(parts) > 1 else parts[0]
        return np.stack([self.one(p, f"{what}, perturbation {k + 1} of {b}")
                         for k, p in enumerate(points)])

    def _detect(self, points: np.ndarray, what: str) -> tuple[str, np.ndarray | None]:
        """The batch mode f supports, and f at ``points`` when that mode is batched."""
        probes = (0, points.shape[0] - 1)
        singles = [self.one(points[k], f"{what}, perturbation {k + 1}") for k in probes]
        for mode in ("leading", "trailing"):
            out = self._try_batched(points, mode)
            if out is None:
                continue
            ok = all(
                np.allclose(out[k], s, rtol=1e-10, atol=1e-10 * (np.abs(s).max(initial=0) + 1e-300))
                for k, s in zip(probes, singles, strict=True)
            )
            if ok:
                return mode, out
        return "loop", None


def _typical(x: np.ndarray) -> np.ndarray:
    """Per-entry scale for steps: |x_j|, but at least min(1, rms(x)) (1 when x is all zero).

    A function of inputs that are all tiny gets tiny steps; one of inputs of order one or
    larger gets steps relative to them.
    """
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    floor = min(1.0, rms) if rms > 0 else 1.0
    return np.maximum(np.abs(x), floor)


def _steps(x: np.ndarray, base: float) -> np.ndarray:
    """Per-entry steps ``base * typical(x)``, rounded so that x + h is exact."""
    h = base * _typical(x)
    return (x + h) - x


def _prepare(f: Callable, args: Sequence[Any], wrt: int) -> tuple[list[np.ndarray], int, np.ndarray]:
    check_callable(f, "f")
    arrays = [as_float_array(a, f"args[{i}]") for i, a in enumerate(args)]
    wrt = check_wrt(wrt, len(arrays))
    if not np.all(np.isfinite(arrays[wrt])):
        raise ValueError(f"args[{wrt}] contains NaN or inf: cannot differentiate at such a point.")
    f0 = call_f(f, arrays, "f at the given point")
    if not np.all(np.isfinite(f0)):
        raise FunctionError(
            "`f` returned NaN or inf at the given point, so its derivative there is undefined. "
            "Check for 0/0, log of a non-positive number, or an overflowing exp."
        )
    return arrays, wrt, f0


def _perturbed(x: np.ndarray, signed_steps: Sequence[np.ndarray], dtype: type = np.float64) -> np.ndarray:
    """Copies of x, one per entry of each step array: block k, row j is x + s_k[j] e_j.

    Shape (len(signed_steps) * n,) + x.shape; the steps go on the diagonal of each block (for
    a complex dtype, on the imaginary part).
    """
    n = x.size
    points = np.empty((len(signed_steps) * n, n), dtype=dtype)
    points[...] = x.ravel()
    idx = np.arange(n)
    target = points.imag if np.iscomplexobj(points) else points
    for k, s in enumerate(signed_steps):
        target[k * n + idx, idx] += s.ravel()
    return points.reshape((len(signed_steps) * n, *x.shape))


def _central_many(ev: _Evaluator, x: np.ndarray, hs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Central differences for each step array in ``hs``, evaluated in one batch.

    Returns one array (n,) + out_shape per step array (row j = d f / d x_j).
    """
    n = x.size
    points = _perturbed(x, [s for h in hs for s in (h, -h)])
    vals = ev.many(points, "f at a perturbed input")
    tail = (1,) * len(ev.out_shape)
    return [(vals[2 * k * n:(2 * k + 1) * n] - vals[(2 * k + 1) * n:(2 * k + 2) * n])
            / (2.0 * h.reshape((n, *tail))) for k, h in enumerate(hs)]


def _central(ev: _Evaluator, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference derivatives, shape (n,) + out_shape (row j = d f / d x_j)."""
    return _central_many(ev, x, [h])[0]


def _forward(ev: _Evaluator, x: np.ndarray, f0: np.ndarray) -> np.ndarray:
    n = x.size
    h = _steps(x, np.sqrt(EPS))
    vals = ev.many(_perturbed(x, [h]), "f at a perturbed input")
    return (vals - f0[None]) / h.reshape((n,) + (1,) * f0.ndim)


def _richardson_levels(x: np.ndarray) -> list[np.ndarray]:
    return [_steps(x, _RICHARDSON_BASE / 2**k) for k in range(_RICHARDSON_LEVELS)]


def _richardson(ev: _Evaluator, x: np.ndarray, f0: np.ndarray,
                levels: list[np.ndarray] | None = None,
                need_error: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Richardson-extrapolated central differences and an error estimate per entry (None
    unless ``need_error``).

    ``levels``: the central differences at the steps of ``_richardson_levels(x)``, when the
    caller has them already.
    """
    if levels is None:
        levels = _central_many(ev, x, _richardson_levels(x))
    # Neville tableau: the central difference error is a series in h^2, 4h^2, ...
    table = [levels]
    for m in range(1, _RICHARDSON_LEVELS):
        prev = table[-1]
        factor = 4.0**m
        table.append([(factor * prev[k + 1] - prev[k]) / (factor - 1) for k in range(len(prev) - 1)])
    best = table[-1][0]
    if not need_error:
        return best, None
    second = table[-2][-1]
    h_min = _RICHARDSON_BASE / 2 ** (_RICHARDSON_LEVELS - 1) * _typical(x)
    fscale = np.abs(f0).max(initial=0.0)
    roundoff = 8 * EPS * fscale / h_min.reshape((x.size,) + (1,) * f0.ndim)
    err = np.abs(best - second) + roundoff + 4 * EPS * np.abs(best)
    return best, err


def _complex_step(ev: _Evaluator, x: np.ndarray) -> np.ndarray:
    n = x.size
    h = 1e-20 * _typical(x)
    points = _perturbed(x, [h], dtype=np.complex128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        vals = ev.many(points, "f at a complex-perturbed input")
    if not np.iscomplexobj(vals):
        raise FunctionError("f drops the imaginary part")
    return vals.imag / h.reshape((n,) + (1,) * len(ev.out_shape))


class _ComplexProbe:
    """Two random directions v, with central differences of f along them (the reference the
    complex step must agree with) and a cheap first verdict from single complex steps along v.
    """

    def __init__(self, cev: _Evaluator, f: Callable, arrays: list, wrt: int, f0: np.ndarray):
        x = arrays[wrt]
        rng = np.random.default_rng(20261123)
        self.f0 = f0
        self.directions, self.differences = [], []
        self.plausible = True
        t = 1e-20 * float(_typical(x).max(initial=1.0))
        for _ in range(2):
            if not self.plausible:  # already ruled out: no need for a second direction
                break
            v = rng.standard_normal(x.shape)
            h = EPS ** (1 / 3) * float(_typical(x).max(initial=1.0))
            plus, minus = list(arrays), list(arrays)
            plus[wrt], minus[wrt] = x + h * v, x - h * v
            fd = (call_f(f, plus, "f (directional check)") - call_f(f, minus, "f")) / (2 * h)
            self.directions.append(v)
            self.differences.append(fd)
            # One complex step along v: Im f(x + i t v) / t is the directional derivative when
            # the complex step works for f. A gross disagreement rules it out before the n
            # complex evaluations; the strict test is `agrees`, on the full result.
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                    out = cev.one(x + 1j * t * v, "f at a complex-perturbed input")
            except FunctionError:
                self.plausible = False
                continue
            if not np.iscomplexobj(out):
                self.plausible = False
                continue
            dc = out.imag / t
            scale = np.abs(dc) + np.abs(f0) + np.abs(dc).max(initial=0.0) + 1e-12
            if not (np.all(np.isfinite(dc)) and np.all(np.abs(fd - dc) <= 1e-3 * scale)):
                self.plausible = False

    def agrees(self, d: np.ndarray) -> bool:
        """Check complex-step derivatives ``d`` (n, out) against the directional differences."""
        dflat = d.reshape(d.shape[0], -1)
        absd = np.abs(dflat)
        for v, fd in zip(self.directions, self.differences, strict=True):
            pred = v.ravel() @ dflat
            scale = np.abs(v.ravel()) @ absd + np.abs(self.f0.ravel()) + 1e-12
            if not np.all(np.abs(fd.ravel() - pred) <= 1e-5 * scale):
                return False
        return True


def _jacobian_rows(f: Callable, arrays: list, wrt: int, f0: np.ndarray, method: str,
                   step: float | None, batch: bool = True,
                   need_error: bool = True) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Derivatives as rows (n,) + out_shape, an error estimate of the same shape (None when
    ``need_error`` is false: then no work is spent on it), and the method actually used."""
    x = arrays[wrt]
    ev = _Evaluator(f, arrays, wrt, f0.shape, batch=batch)
    if method in ("complex", "accurate"):
        cev = _Evaluator(f, arrays, wrt, f0.shape, batch=batch)
        try:
            probe = _ComplexProbe(cev, f, arrays, wrt, f0)
            usable = probe.plausible
            if usable:
                d = _complex_step(cev, x)
                usable = bool(np.all(np.isfinite(d))) and probe.agrees(d)
        except FunctionError:
            usable = False
        if usable:
            return d, (4 * EPS * (np.abs(d) + np.abs(d).max(initial=0)) if need_error else None), "complex"
        if method == "complex":
            warnings.warn("f does not support the complex step (it uses abs, comparisons or "
                          "real-only functions); using Richardson extrapolation instead.",
                          RuntimeWarning, stacklevel=3)
        if method == "accurate" and need_error:
            # Richardson's large steps can straddle a kink (abs, relu) that the small steps of
            # central differences miss: widen the error bound by their disagreement.
            *levels, central = _central_many(
                ev, x, [*_richardson_levels(x), _steps(x, EPS ** (1 / 3))])
            d, err = _richardson(ev, x, f0, levels)
            return d, err + np.abs(d - central), "richardson"
        method = "richardson"
    if method == "richardson":
        d, err = _richardson(ev, x, f0, need_error=need_error)
        return d, err, "richardson"
    if method == "forward":
        d = _forward(ev, x, f0)
        h = np.sqrt(EPS)
        return d, (np.sqrt(h) * (np.abs(d) + np.abs(f0).max(initial=0)) if need_error else None), "forward"
    base = EPS ** (1 / 3) if step is None else step
    d = _central(ev, x, _steps(x, base) if step is None else np.full(x.shape, float(step)))
    err = base**2 * (np.abs(d) + np.abs(f0).max(initial=0)) + EPS / base if need_error else None
    return d, err, "central"


def _rows_to_numerator(rows: np.ndarray, in_shape: tuple, out_shape: tuple) -> np.ndarray:
    n = int(np.prod(in_shape, dtype=int))
    m = int(np.prod(out_shape, dtype=int))
    return rows.reshape(n, m).T.reshape(out_shape + in_shape)


def jacobian_with_error(f: Callable, *args: Any, wrt: int = 0, method: str = "accurate",
                        step: float | None = None, need_error: bool = True,
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, str]:
    """Numerator-layout Jacobian, a per-entry error bound, f's value, and the method used.

    With ``need_error=False`` the error bound is None and costs nothing: the Jacobian is the
    same, but "accurate" skips the extra central differences that only widen the bound.
    """
    arrays, wrt, f0 = _prepare(f, args, wrt)
    rows, err, used = _jacobian_rows(f, arrays, wrt, f0, method, step, need_error=need_error)
    shape_in = arrays[wrt].shape
    return (_rows_to_numerator(rows, shape_in, f0.shape),
            None if err is None else _rows_to_numerator(err, shape_in, f0.shape), f0, used)


def numeric_jacobian(
    f: Callable[..., Any],
    *args: Any,
    wrt: int = 0,
    layout: str = "numerator",
    method: str = "central",
    step: float | None = None,
) -> np.ndarray:
    """Numeric Jacobian of ``f`` with respect to one of its arguments.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returns an array (any shape) or a scalar. It must not modify its inputs.
    *args : array_like
        The point to differentiate at. Lists, ints and float32 are accepted; matdiff works
        in float64 on copies, so your arrays are never modified.
    wrt : int, default 0
        Which argument to differentiate with respect to.
    layout : {"numerator", "denominator"}
        ``"numerator"``: shape ``f(*args).shape + args[wrt].shape``.
        ``"denominator"``: shape ``args[wrt].shape + f(*args).shape`` (this course's
        convention: row = input, column = output).
    method : {"central", "forward", "richardson", "complex", "accurate"}
        See the module documentation. ``"accurate"`` picks the complex step when ``f``
        supports it and Richardson extrapolation otherwise.
    step : float, optional
        Step size for ``"central"`` (absolute). Chosen per entry when omitted.

    Returns
    -------
    numpy.ndarray
        The Jacobian, float64.

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> A = np.array([[1., 2., 3.], [4., 5., 6.]])
    >>> J = md.numeric_jacobian(lambda v: A @ v, np.ones(3))
    >>> J.shape, bool(np.allclose(J, A))
    ((2, 3), True)
    >>> md.numeric_jacobian(lambda v: A @ v, np.ones(3), layout="denominator").shape
    (3, 2)
    """
    layout = check_layout(layout)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(METHODS)}; not {method!r}.")
    if step is not None and not (np.isscalar(step) and np.isfinite(step) and step > 0):
        raise ValueError(f"`step` must be a positive number, not {step!r}.")
    jac, _, f0, _ = jacobian_with_error(f, *args, wrt=wrt, method=method, step=step, need_error=False)
    return to_denominator(jac, jac.ndim - f0.ndim) if layout == "denominator" else jac


def numeric_gradient(f: Callable[..., Any], *args: Any, wrt: int = 0,
                     method: str = "central") -> np.ndarray:
    """Numeric gradient of a scalar-valued ``f``: an array with the shape of ``args[wrt]``.

    ``f`` may return a Python number, a 0-d array or any array with exactly one entry
    (such as the ``(1, 1)`` result of ``x.T @ A @ x``).

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> x = np.array([[1.0], [2.0], [3.0]])           # a column, shape (3, 1)
    >>> g = md.numeric_gradient(lambda x: (x.T @ x).item(), x)
    >>> g.shape, bool(np.allclose(g, 2 * x))
    ((3, 1), True)
    """
    check_callable(f, "f")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(METHODS)}; not {method!r}.")
    jac, _, f0, _ = jacobian_with_error(f, *args, wrt=wrt, method=method, need_error=False)
    if f0.size != 1:
        raise ValueError(
            f"numeric_gradient needs f to return a single number, but it returned shape "
            f"{f0.shape}. For a vector or matrix output use numeric_jacobian."
        )
    in_shape = jac.shape[f0.ndim:]
    return jac.reshape(in_shape)

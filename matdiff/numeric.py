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
    The complex step when it works for ``f`` (checked against a directional difference);
    else, for ``f`` written with ``abs``, ``np.maximum``, ``np.where``, comparisons...,
    dual numbers through kinks (:mod:`matdiff._kinks`: exact to rounding away from kinks),
    when they reproduce central differences along random directions; Richardson
    extrapolation otherwise. :func:`jacobian_with_error` says which: ``"complex"``,
    ``"dual"`` or ``"richardson"``.

Steps are chosen per input entry (see :mod:`matdiff._steps`): relative to the entry's own size
or the input's typical size, whichever is more accurate, so that ``log`` at ``1e-3`` next to
``1e3`` is as accurate as at 1. A step that leaves f's domain (NaN or inf at a perturbed point)
is shrunk, never reported as a NaN derivative; Richardson extrapolation also shrinks the steps
of entries whose error estimate is large (a pole or an edge of the domain nearby). Central and
forward differences keep their fixed relative step: within about 1e-3 of an edge (relative to
the entry's size) use ``"richardson"`` or ``"accurate"``.

The perturbed inputs are evaluated in batches of at most 16 MB, one call of f per batch
whenever f can take one: f written for a stack along a new leading or trailing axis, or f
written for one point (``lambda x: np.tanh(W @ x + b)``), which gets the batch as a stack whose
numpy operations act on each point (:mod:`matdiff._stacked`). Which one works is detected
automatically and verified against single calls; otherwise one call per input. The complex
step's points are first tried as dual numbers (:mod:`matdiff._dual`): the same values to
rounding, with real arithmetic and the shared real part computed once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _steps
from ._dual import dual_stack
from ._guard import refuse_during_graded_call
from ._inputs import (
    FunctionError,
    as_float_array,
    call_f,
    check_callable,
    check_layout,
    check_wrt,
    output_array,
)
from ._kinks import kinked_stack, trusted
from ._stacked import stacked
from ._steps import PointStack
from ._vector_state import clean_view, reset
from .layouts import to_denominator

__all__ = ["numeric_jacobian", "numeric_gradient", "METHODS"]

METHODS = ("central", "forward", "richardson", "complex", "accurate")
EPS = np.finfo(np.float64).eps
_MAX_BATCH_ELEMENTS = 2**21  # floats per batched call (16 MB)
_RICHARDSON_LEVELS = 3
_RICHARDSON_BASE = 2.0**-7
_REFINE_ROUNDS = 6        # Richardson: times the steps of an entry may shrink by 16
_REFINE_TARGET = 1e-11    # ... while its error estimate exceeds this, relative


# How a stack of points can be handed to f, in the order tried: along a new leading axis (f is
# written for stacks), along a new trailing axis (f written for columns, e.g. A @ X), or as a
# stack whose operations act on each point (f written for one point: see matdiff._stacked).
_BATCH_MODES = ("leading", "trailing", "stacked")


class _Evaluator:
    """Evaluates f at many values of one argument, batched when f allows it."""

    def __init__(self, f: Callable, args: Sequence[np.ndarray], wrt: int, out_shape: tuple,
                 fname: str = "f", batch: bool = True, modes: Sequence[str] = _BATCH_MODES):
        self.f, self.args, self.wrt, self.out_shape, self.fname = f, list(args), wrt, out_shape, fname
        self.in_shape = args[wrt].shape
        self.batch = batch
        self.mode = None if batch else "loop"
        # points per batched call: at most _MAX_BATCH_ELEMENTS floats in or out
        self.chunk = max(1, _MAX_BATCH_ELEMENTS // max(math.prod(self.in_shape),
                                                       math.prod(out_shape), 1))
        self.modes = modes   # the batch modes to try, in order
        self.dual = None   # complex steps as dual numbers: None until tried
        # True: the caller verifies the dual numbers' result itself (see `_jacobian_rows`),
        # no single calls needed; `unverified` then says that it still has to.
        self.defer_dual, self.unverified = False, False

    def _with(self, value: np.ndarray) -> list:
        args = list(self.args)
        args[self.wrt] = value
        return args

    def one(self, point: np.ndarray, what: str) -> np.ndarray:
        # Perturbed points may lie outside f's domain (NaN or inf there is handled by shrinking
        # the step): numpy's warnings about it would only confuse the learner.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._one(point, what)

    def _one(self, point: np.ndarray, what: str) -> np.ndarray:
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
        if mode == "trailing":
            stack = clean_view(np.ascontiguousarray(np.moveaxis(points, 0, -1)))
        else:
            stack = stacked(points) if mode == "stacked" else clean_view(points)
        reset()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                # points is a fresh internal array: no copy needed. (An f that changes its
                # input was already stopped by the single-call probes, which check for that.)
                out = self.f(*self._with(stack))
            out = np.asarray(out)
        except Exception:
            return None
        b = points.shape[0]
        want = (*self.out_shape, b) if mode == "trailing" else (b, *self.out_shape)
        if out.shape != want or not np.issubdtype(out.dtype, np.number):
            return None
        return np.moveaxis(out, -1, 0) if mode == "trailing" else out

    def many(self, points: np.ndarray, what: str) -> np.ndarray:
        """f at each ``points[k]`` (shape (B,) + in_shape); returns (B,) + out_shape."""
        b, chunk = points.shape[0], self.chunk
        if self.dual is not False and self.mode != "loop" and isinstance(points, PointStack) \
                and np.dtype(points.dtype).kind == "c":
            out, singles = self._dual_many(points, chunk, what)
            if out is not None:
                return out
        else:
            singles = None
        parts, start, known = [], 0, {}
        if self.mode is None and b >= 2:
            first = points[: min(b, chunk)]
            self.mode, out, singles = self._detect(first, what, singles)
            if out is not None:  # the verified batched call's values are kept, not recomputed
                parts, start = [out], first.shape[0]
            known = dict(zip((0, first.shape[0] - 1), singles, strict=True))
        if self.mode in _BATCH_MODES:
            for s in range(start, b, chunk):
                part = self._try_batched(points[s:s + chunk], self.mode)
                if part is None:  # a later chunk failed: fall back for good
                    self.mode = "loop"
                    return self.many(points, what)
                parts.append(part)
            return np.concatenate(parts) if len(parts) > 1 else parts[0]
        # (the single calls that verified the batch modes are not made twice)
        return np.stack([known[k] if k in known else
                         self.one(points[k], f"{what}, perturbation {k + 1} of {b}")
                         for k in range(b)])

    def _dual_many(self, points: PointStack, chunk: int, what: str,
                   ) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """f at complex-step points evaluated as dual numbers (see :mod:`matdiff._dual`), or
        None when f does not allow it; and the single calls made to verify it (reused by
        :meth:`_detect`). The first time, the first point and the last of the first batch
        must agree with single complex calls, both in a batch of two and in the whole batch;
        or, with ``defer_dual``, the caller checks the whole result against single complex
        calls it already made (:meth:`_ComplexProbe.reproduces`), and ``unverified`` says so."""
        b = len(points)
        probes = np.array([0, min(b, chunk) - 1])
        singles = None
        if self.dual is None and self.defer_dual:
            self.unverified = True
        elif self.dual is None:
            singles = [self.one(points[int(k)], f"{what}, perturbation {k + 1}") for k in probes]
            if not _agree(self._try_dual(points, probes), (0, 1), singles):
                self.dual = False
                return None, singles
        parts = []
        for s in range(0, b, chunk):
            part = self._try_dual(points, np.arange(s, min(b, s + chunk)))
            if part is None or (s == 0 and singles is not None and
                                not _agree(part, probes, singles)):
                self.dual, self.unverified = False, False
                return None, singles
            parts.append(part)
        self.dual = True
        return (np.concatenate(parts) if len(parts) > 1 else parts[0]), None

    def _try_dual(self, points: PointStack, rows: np.ndarray) -> np.ndarray | None:
        return self.call_dual(dual_stack(points.x, *points.steps_at(rows)), rows.size)

    def call_dual(self, stack: Any, count: int) -> np.ndarray | None:
        """f at ``count`` points given as dual numbers (:mod:`matdiff._dual`), as complex
        numbers (the values, and the tangents as imaginary parts); None when f cannot take
        them."""
        reset()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = np.asarray(self.f(*self._with(stack)))
        except Exception:
            return None
        if out.shape != (count, *self.out_shape) or out.dtype.kind != "c":
            return None
        return out

    def through_kinks(self) -> np.ndarray | None:
        """The Jacobian's rows, (n,) + out_shape, as dual numbers through kinks
        (:mod:`matdiff._kinks`: the complex step's tangent for each input entry, a batch per
        call); None when f cannot take them (or batches were not allowed)."""
        if not self.batch:
            return None
        x = self.args[self.wrt]
        h = _complex_steps(x)     # the complex step's tangents: for f without kinks, its numbers
        tail = (1,) * len(self.out_shape)
        parts = []
        for s in range(0, x.size, self.chunk):
            idx = np.arange(s, min(x.size, s + self.chunk))
            out = self.call_dual(kinked_stack(x, h[idx], idx), idx.size)
            if out is None:
                return None
            parts.append(out.imag / h[idx].reshape((idx.size, *tail)))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _detect(self, points: np.ndarray, what: str, singles: list[np.ndarray] | None = None,
                ) -> tuple[str, np.ndarray | None, list[np.ndarray]]:
        """The batch mode f supports, f at ``points`` when that mode is batched, and f at the
        first and last points by single calls.

        Each mode is first tried on the first and last points only (a mode f does not support
        costs little), then on all of them; both results must agree with single calls
        (``singles``: f at those two points, when already computed).
        """
        probes = (0, points.shape[0] - 1)
        if singles is None:
            singles = [self.one(points[k], f"{what}, perturbation {k + 1}") for k in probes]
        pair = points[list(probes)]
        for mode in self.modes:
            if not _agree(self._try_batched(pair, mode), (0, 1), singles):
                continue
            out = self._try_batched(points, mode)
            if _agree(out, probes, singles):
                return mode, out, singles
        return "loop", None, singles


def _agree(out: np.ndarray | None, rows: Sequence[int], singles: list[np.ndarray]) -> bool:
    """Whether a batched evaluation's ``rows`` agree with single calls (for complex values,
    the real and the imaginary parts each on its own scale: a complex step's imaginary part
    is about 1e-20 of the real one)."""
    if out is None:
        return False
    parts = (np.real, np.imag) if any(np.iscomplexobj(s) for s in singles) else (np.asarray,)
    return all(_close_to(part(out[k]), part(s)) for k, s in zip(rows, singles, strict=True)
               for part in parts)


def _close_to(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.allclose(a, b, rtol=1e-10, atol=1e-10 * max|b|, equal_nan=True)``, without its
    overhead (it runs for every batch mode tried)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    mag = np.abs(b)
    finite = np.isfinite(mag)
    atol = 1e-10 * (float(mag.max(initial=0.0)) if finite.all() else
                    float(mag[finite].max(initial=0.0))) + 1e-300
    with np.errstate(invalid="ignore"):
        close = (np.abs(a - b) <= atol + 1e-10 * mag) & finite
    return bool(close.all() or np.all(close | (a == b) | (np.isnan(a) & np.isnan(b))))


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


def _central(ev: _Evaluator, x: np.ndarray, scale: np.ndarray, bases: Sequence[float],
             entries: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Central differences at steps ``base * scale`` for each base, for the given entries
    (all by default), staying inside f's domain. Returns one (k,) + out_shape array per base
    and the scales used."""
    def compute(idx, s):
        quotients, _ = _steps.central_at(ev, x, idx, [_steps.exact(x, idx, b * s) for b in bases])
        return tuple(quotients)

    entries = np.arange(x.size) if entries is None else entries
    out, scale = _steps.domain_safe(compute, entries, scale, max(bases))
    return list(out), scale


def _forward(ev: _Evaluator, x: np.ndarray, f0: np.ndarray, scale: np.ndarray) -> np.ndarray:
    base, nd = np.sqrt(EPS), f0.ndim

    def compute(idx, s):
        h = _steps.exact(x, idx, base * s)
        vals = ev.many(_steps.perturbed(x, [h], idx), "f at a perturbed input")
        return ((vals - f0[None]) / h.reshape((idx.size,) + (1,) * nd),)

    (d,), _ = _steps.domain_safe(compute, np.arange(x.size), scale, base)
    return d


def _richardson_bases() -> list[float]:
    return [_RICHARDSON_BASE / 2**k for k in range(_RICHARDSON_LEVELS)]


def _richardson(levels: list[np.ndarray], scale: np.ndarray, f0: np.ndarray,
                need_error: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Richardson extrapolation of central differences at the steps of
    ``_richardson_bases()`` (times ``scale``), and an error estimate per entry (None unless
    ``need_error``)."""
    best, trunc, roundoff = _richardson_parts(levels, scale, f0)
    if not need_error:
        return best, None
    return best, trunc + roundoff + 4 * EPS * np.abs(best)


def _richardson_parts(levels: list[np.ndarray], scale: np.ndarray, f0: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The extrapolated rows, their truncation error estimate and their rounding error bound."""
    # Neville tableau: the central difference error is a series in h^2, 4h^2, ...
    table = [levels]
    for m in range(1, _RICHARDSON_LEVELS):
        prev = table[-1]
        factor = 4.0**m
        table.append([(factor * prev[k + 1] - prev[k]) / (factor - 1) for k in range(len(prev) - 1)])
    best = table[-1][0]
    h_min = min(_richardson_bases()) * scale
    fscale = np.abs(f0).max(initial=0.0)
    roundoff = 8 * EPS * fscale / h_min.reshape((scale.size,) + (1,) * f0.ndim)
    return best, np.abs(best - table[-2][-1]), roundoff


def _complex_steps(x: np.ndarray) -> np.ndarray:
    """The complex step's step for each entry (flat): 1e-20 of its scale."""
    return 1e-20 * _steps.relative_scales(x)


def _complex_step(ev: _Evaluator, x: np.ndarray) -> np.ndarray:
    h = _complex_steps(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        vals = ev.many(_steps.perturbed(x, [h], dtype=np.complex128),
                       "f at a complex-perturbed input")
    if not np.iscomplexobj(vals):
        raise FunctionError("f drops the imaginary part")
    return vals.imag / h.reshape((x.size,) + (1,) * len(ev.out_shape))


def _dual_rows(ev: _Evaluator, f: Callable, arrays: list, wrt: int, f0: np.ndarray,
               ) -> np.ndarray | None:
    """The rows of "accurate" when one call of f with dual numbers through kinks gives
    them: for an f the complex step applies to, the complex step's dual numbers (the same
    arithmetic, so the same numbers), verified as the complex step is (a single complex call
    and a central difference along one random direction); else verified against that central
    difference (:func:`matdiff._kinks.trusted`). None otherwise."""
    x = arrays[wrt]
    if x.size > ev.chunk:
        return None
    d = ev.through_kinks()
    if d is None:
        return None
    probe = _ComplexProbe(ev, f, arrays, wrt, f0, 1)
    if probe.plausible:
        ok = probe.reproduces(d) and bool(np.all(np.isfinite(d))) and probe.agrees(d)
        return d if ok else None
    return _trusted(d, _reference(probe, None, f, arrays, wrt, 1))


class _ComplexProbe:
    """Two random directions v, with central differences of f along them (the reference the
    complex step must agree with) and a cheap first verdict from single complex steps along v.

    Each entry of v is scaled by that entry's size, so that no step leaves f's domain at small
    entries (``log`` at 1e-3 next to 1e3); a step that does is shrunk.
    """

    def __init__(self, cev: _Evaluator, f: Callable, arrays: list, wrt: int, f0: np.ndarray,
                 count: int = 2):
        x = arrays[wrt]
        self._rng = rng = np.random.default_rng(20261123)
        self.f0, self._projected = f0, None
        self.directions, self.differences, self.complex_steps = [], [], []
        self.plausible = True
        self._size = size = _steps.relative_scales(x).reshape(x.shape)
        for _ in range(count):
            if not self.plausible:  # already ruled out: no need for a second direction
                break
            v = rng.standard_normal(x.shape) * size
            found = self._difference(f, arrays, wrt, v)
            if found is None:
                self.plausible = False
                continue
            fd, fd_err = found
            self.directions.append(v)
            self.differences.append((fd, fd_err))
            # One complex step along v: Im f(x + i t v) / t is the directional derivative when
            # the complex step works for f. A gross disagreement rules it out before the n
            # complex evaluations; the strict test is `agrees`, on the full result.
            t = 1e-20
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
            self.complex_steps.append(dc)
            scale = np.abs(dc) + np.abs(f0) + np.abs(dc).max(initial=0.0) + 1e-12
            if not (np.all(np.isfinite(dc)) and np.all(np.abs(fd - dc) <= 1e-3 * scale + 10 * fd_err)):
                self.plausible = False

    @staticmethod
    def _difference(f: Callable, arrays: list, wrt: int, v: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Central difference of f along v and an error estimate (from the same difference
        at twice the step), with a step small enough to stay inside f's domain and to make
        the estimate small (None when no step keeps f finite)."""
        x = arrays[wrt]

        def quotient(h: float) -> np.ndarray:
            plus, minus = list(arrays), list(arrays)
            plus[wrt], minus[wrt] = x + h * v, x - h * v
            with np.errstate(all="ignore"):
                fp = call_f(f, plus, "f (directional check)")
                return (fp - call_f(f, minus, "f")) / (2 * h), np.abs(fp)

        h, best = _steps.CENTRAL_BASE, None
        for _ in range(_steps.MAX_SHRINK):
            q2, mag = quotient(2 * h)
            q1, _ = quotient(h)
            if np.all(np.isfinite(q1)) and np.all(np.isfinite(q2)):
                trunc, rounding = np.abs(q2 - q1) / 3, 8 * EPS * mag / h
                err = trunc + rounding
                if best is None or err.max() < best[1].max():
                    best = (q1, err)
                # Stop when the estimate is small, when a smaller step made it worse, or when
                # rounding already dominates it (a smaller step can only add rounding).
                if best[1].max() <= 1e-8 * (np.abs(q1).max() + 1e-300) or \
                        err.max() > 4 * best[1].max() or trunc.max() <= rounding.max():
                    break
            h /= _steps.SHRINK
        return best

    def top_up(self, f: Callable, arrays: list, wrt: int, count: int) -> None:
        """Central differences along further random directions, up to ``count`` in all (the
        probe stops at the first direction along which the complex step fails)."""
        for _ in range(count - len(self.differences)):
            v = self._rng.standard_normal(self._size.shape) * self._size
            found = self._difference(f, arrays, wrt, v)
            if found is not None:
                self.directions.append(v)
                self.differences.append(found)

    @classmethod
    def known(cls, f0: np.ndarray, directions: np.ndarray, derivatives: np.ndarray,
              error: np.ndarray) -> _ComplexProbe:
        """A probe from derivatives of f along ``directions`` already known, by the complex
        step verified against a central difference (a check's directional comparison: see
        :mod:`matdiff._directions`): no evaluation of f."""
        probe = cls.__new__(cls)
        probe.f0, probe.plausible, probe._projected = f0, True, None
        probe.directions = list(directions)
        probe.differences = list(zip(derivatives, error, strict=True))
        probe.complex_steps = list(derivatives)
        return probe

    def reproduces(self, d: np.ndarray) -> bool:
        """Whether rows ``d`` (n, out) give the complex step along each direction to
        rounding: the test of a batched evaluation of the complex step (dual numbers), on
        every row at once, against single complex evaluations of f."""
        if len(self.complex_steps) != len(self.directions) or not self.complex_steps:
            return False
        pred, size = self._project(d)
        dc = np.reshape(self.complex_steps, pred.shape)
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.abs(dc - pred) <=
                               1e-9 * (size + size.max(axis=1, keepdims=True, initial=0.0)) + 1e-300))

    def agrees(self, d: np.ndarray) -> bool:
        """Check complex-step derivatives ``d`` (n, out) against the directional differences."""
        if not self.differences:
            return True
        pred, size = self._project(d)
        fd, fd_err = (np.reshape(part, pred.shape) for part in zip(*self.differences, strict=True))
        scale = size + np.abs(self.f0.ravel()) + 1e-12
        return bool(np.all(np.abs(fd - pred) <= 1e-5 * scale + 10 * fd_err))

    def _project(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``V d`` and ``|V| |d|`` for the directions V (one per row) and rows d (n, out), one
        row per direction: a matrix product each, computed once for both tests."""
        if self._projected is None or self._projected[0] is not d:
            dflat = d.reshape(d.shape[0], -1)
            v = np.reshape(self.directions, (len(self.directions), -1))
            self._projected = (d, v @ dflat, np.abs(v) @ np.abs(dflat))
        return self._projected[1], self._projected[2]


def _jacobian_rows(f: Callable, arrays: list, wrt: int, f0: np.ndarray, method: str,
                   step: float | None, batch: bool = True, need_error: bool = True,
                   probes: int = 2, target: float = _REFINE_TARGET, along: Any = None,
                   ev: Any = None, kinks: bool = True) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Derivatives as rows (n,) + out_shape, an error estimate of the same shape (None when
    ``need_error`` is false: then no work is spent on it), and the method actually used.
    ``probes``: random directions along which the complex step is verified; ``along``: instead,
    derivatives along directions already known (a :class:`matdiff._directions.Directions`,
    f's argument ``wrt`` alone moving); ``target``: the relative error estimate below which
    Richardson extrapolation stops shrinking steps; ``ev``: the evaluator of f, when not f's
    own (see :mod:`matdiff._directions`); ``kinks``: whether "accurate" tries dual numbers
    through kinks (:mod:`matdiff._kinks`) where the complex step does not apply."""
    x = arrays[wrt]
    requested = method
    cev = ev
    ev = _Evaluator(f, arrays, wrt, f0.shape, batch=batch) if ev is None else ev
    if method in ("complex", "accurate"):
        cev = _Evaluator(f, arrays, wrt, f0.shape, batch=batch) if cev is None else cev
        probe, d = _complex_rows(cev, f, arrays, wrt, f0, probes, along)
        used = "complex"
        if d is None and kinks and requested == "accurate":
            reference = _reference(probe, along, f, arrays, wrt, probes)
            d, used = (None if reference is None else _trusted(cev.through_kinks(), reference)), "dual"
        if d is not None:
            return d, (_rounding_error(d) if need_error else None), used
        if method == "complex":
            warnings.warn("f does not support the complex step (it uses abs, comparisons or "
                          "real-only functions); using Richardson extrapolation instead.",
                          RuntimeWarning, stacklevel=3)
        method = "richardson"
    fmax = np.abs(f0).max(initial=0.0)
    tail = (1,) * f0.ndim
    if step is not None and method == "central":
        scale = np.full(x.size, float(step))
        (d,), scale = _central(ev, x, scale, [1.0])
        h = scale.reshape((x.size, *tail))
        err = (h**2 * (np.abs(d) + fmax) + EPS * max(fmax, 1.0) / h) if need_error else None
        return d, err, "central"
    scale = _steps.choose_scales(ev, x)
    if method == "forward":
        d = _forward(ev, x, f0, scale)
        h = np.sqrt(EPS)
        return d, (np.sqrt(h) * (np.abs(d) + fmax) if need_error else None), "forward"
    if method == "central":
        (d,), scale = _central(ev, x, scale, [_steps.CENTRAL_BASE])
        base = _steps.CENTRAL_BASE
        h = base * scale.reshape((x.size, *tail))
        err = (base**2 * (np.abs(d) + fmax) + EPS * max(fmax, 1.0) / h) if need_error else None
        return d, err, "central"
    # Richardson, and the fallback of "complex" and "accurate".
    bases = _richardson_bases()
    widen = need_error and requested == "accurate"
    if widen:
        # Richardson's large steps can straddle a kink (abs, relu) that the small steps of
        # central differences miss: widen the error bound by their disagreement.
        bases = [*bases, _steps.CENTRAL_BASE]
    d, err, central = _adaptive_richardson(ev, x, f0, scale, bases, target)
    if widen:
        err = err + np.abs(d - central)
    return d, (err if need_error else None), "richardson"


def _rounding_error(d: np.ndarray) -> np.ndarray:
    """The error bound of derivatives exact to rounding (the complex step, dual numbers)."""
    size = np.abs(d)
    return 4 * EPS * (size + size.max(initial=0))


def _complex_rows(cev: _Evaluator, f: Callable, arrays: list, wrt: int, f0: np.ndarray,
                  probes: int, along: Any) -> tuple[_ComplexProbe | None, np.ndarray | None]:
    """The complex step's rows, verified (None when f does not allow it), and the probe
    that verified them (None when f failed first, or when ``along`` is not the complex step:
    then it failed along the check's own directions already)."""
    if along is not None and along.method != "complex":
        return None, None
    probe = None
    try:
        probe = _ComplexProbe(cev, f, arrays, wrt, f0, probes) if along is None else \
            _ComplexProbe.known(f0, along.directions[0], along.derivatives, along.error)
        if not probe.plausible:
            return probe, None
        # Dual numbers are verified by the complex steps the probe already took
        cev.defer_dual = bool(probe.complex_steps)
        d = _complex_step(cev, arrays[wrt])
        if cev.unverified and not probe.reproduces(d):
            cev.dual, cev.defer_dual = False, False   # complex arithmetic instead
            d = _complex_step(cev, arrays[wrt])
    except FunctionError:
        return probe, None
    return probe, (d if np.all(np.isfinite(d)) and probe.agrees(d) else None)


def _reference(probe: _ComplexProbe | None, along: Any, f: Callable, arrays: list, wrt: int,
               count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Derivatives of f along random directions, by finite differences or verified against
    them, that dual numbers through kinks must reproduce: a check's directional comparison
    (``along``), else the probe's central differences along ``count`` directions; as the
    directions, the derivatives and their error bounds (None when there are none)."""
    if along is not None:
        return along.directions[0], along.derivatives, along.error
    if probe is None:
        return None
    try:
        probe.top_up(f, arrays, wrt, count)
    except FunctionError:
        return None
    if not probe.differences:
        return None
    fd, err = zip(*probe.differences, strict=True)
    return np.stack(probe.directions), np.stack(fd), np.stack(err)


def _trusted(d: np.ndarray | None, reference: tuple | None) -> np.ndarray | None:
    """Rows of dual numbers through kinks, when they reproduce the ``reference``
    (:func:`matdiff._kinks.trusted`); else None."""
    if d is None or reference is None or not np.all(np.isfinite(d)) or not trusted(d, *reference):
        return None
    return d


def _adaptive_richardson(ev: _Evaluator, x: np.ndarray, f0: np.ndarray, scale: np.ndarray,
                         bases: list[float], target: float = _REFINE_TARGET,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Richardson extrapolation per entry, with smaller steps for the entries whose error
    estimate says their steps are too large (a domain edge or a pole nearby: ``arcsin`` at
    0.99, ``tan`` near pi/2). Returns the rows, their error estimate, and the last level's
    central differences (the extra base, when one was asked for)."""
    levels, scale = _central(ev, x, scale, bases)
    d, trunc, roundoff = _richardson_parts(levels[:_RICHARDSON_LEVELS], scale, f0)
    last = levels[-1]
    n = x.size
    trial = scale.copy()
    for _ in range(_REFINE_ROUNDS):
        # Smaller steps help only where truncation, not rounding, dominates the error.
        row_trunc = trunc.reshape(n, -1).max(axis=1)
        row_round = roundoff.reshape(n, -1).max(axis=1)
        row_mag = np.abs(d).reshape(n, -1).max(axis=1)
        todo = np.flatnonzero((row_trunc > row_round) & (row_trunc > target * row_mag))
        if todo.size == 0:
            break
        try:
            lv, s_new = _central(ev, x, trial[todo] / _steps.SHRINK, bases, entries=todo)
        except FunctionError:
            break
        trial[todo] = s_new
        d_new, t_new, r_new = _richardson_parts(lv[:_RICHARDSON_LEVELS], s_new, f0)
        before = (trunc[todo] + roundoff[todo]).reshape(todo.size, -1).max(axis=1)
        better = (t_new + r_new).reshape(todo.size, -1).max(axis=1) < before
        rows = todo[better]
        d[rows], trunc[rows], roundoff[rows] = d_new[better], t_new[better], r_new[better]
        last[rows] = lv[-1][better]
    err = trunc + roundoff + 4 * EPS * np.abs(d)
    return d, err, last


def _rows_to_numerator(rows: np.ndarray, in_shape: tuple, out_shape: tuple) -> np.ndarray:
    n, m = math.prod(in_shape), math.prod(out_shape)
    return rows.reshape(n, m).T.reshape(out_shape + in_shape)


def _numerator(rows: np.ndarray, err: np.ndarray | None, in_shape: tuple, out_shape: tuple,
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows and their error bound (or None) as Jacobians in numerator layout."""
    return (_rows_to_numerator(rows, in_shape, out_shape),
            None if err is None else _rows_to_numerator(err, in_shape, out_shape))


def jacobian_with_error(f: Callable, *args: Any, wrt: int = 0, method: str = "accurate",
                        step: float | None = None, need_error: bool = True, along: Any = None,
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, str]:
    """Numerator-layout Jacobian, a per-entry error bound, f's value, and the method used.

    With ``need_error=False`` the error bound is None and costs nothing: the Jacobian is the
    same, but "accurate" skips the extra central differences that only widen the bound.
    ``along``: derivatives of f along random directions, already verified (a check's
    directional comparison): the complex step of the Jacobian, or its dual numbers through
    kinks, is checked against them instead of new ones.
    """
    arrays, wrt, f0 = _prepare(f, args, wrt)
    jac, err, used = jacobian_at(f, arrays, wrt, f0, method, step, need_error, along)
    return jac, err, f0, used


def exact_jacobian_at(f: Callable, arrays: list[np.ndarray], wrt: int, f0: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """The "accurate" Jacobian and its error bound, as :func:`jacobian_at` gives them, when
    they come from one call of f with dual numbers (the complex step, or through kinks), else
    None (no more than a few calls of f spent): a check of a small Jacobian takes it instead
    of its directional comparison, at about the same cost, and compares every entry."""
    try:
        with np.errstate(all="ignore"):
            rows = _dual_rows(_Evaluator(f, arrays, wrt, f0.shape), f, arrays, wrt, f0)
    except FunctionError:
        return None
    if rows is None:
        return None
    return _numerator(rows, _rounding_error(rows), arrays[wrt].shape, f0.shape)


def jacobian_at(f: Callable, arrays: list[np.ndarray], wrt: int, f0: np.ndarray,
                method: str = "accurate", step: float | None = None, need_error: bool = True,
                along: Any = None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """:func:`jacobian_with_error` at a point that ``_prepare`` already checked (its float64
    arrays, and f0 = f there), as a check has it: f is not called at the point again."""
    with np.errstate(all="ignore"):  # steps outside f's domain are repaired, not reported
        rows, err, used = _jacobian_rows(f, arrays, wrt, f0, method, step, need_error=need_error,
                                         along=along)
    return (*_numerator(rows, err, arrays[wrt].shape, f0.shape), used)


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
        supports it, else dual numbers through ``abs``, ``np.maximum``... when they agree
        with finite differences, and Richardson extrapolation otherwise.
    step : float, optional
        Step size for ``"central"`` (absolute). Chosen per entry when omitted.

    Returns
    -------
    numpy.ndarray
        The Jacobian, float64.

    Raises
    ------
    NumericAnswerError
        When called by a learner's answer while a check grades it: derive it; the numeric
        derivative is the checker's job.

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
    refuse_during_graded_call("numeric_jacobian")
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
    refuse_during_graded_call("numeric_gradient")
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

"""Derivatives of f along a few random directions: what a check needs to confirm a right
answer after a few evaluations of f, whatever the number of inputs.

For directions ``v_1 .. v_k`` (one block per argument that moves), the function of k numbers
``psi(t) = f(x + t_1 v_1 + ... + t_k v_k)`` has the Jacobian ``[J v_1, ..., J v_k]`` at
``t = 0``: its k columns are the directional derivatives of f. matdiff's own "accurate"
method computes it (the complex step, verified against central differences, where f allows
it; for a check, dual numbers through kinks where f uses ``abs``, ``np.maximum``..., verified
likewise; Richardson extrapolation of central differences otherwise), with its error
estimate, in O(k) evaluations of f. The directions are Gaussian and drawn from a fixed seed: the same
check gives the same verdict every time. Each entry's standard deviation is given (a check
weights entries by the inverse of their tolerance: see :mod:`matdiff._confirm`); the
directions are scaled to the inputs' typical size, and a step that leaves f's domain is
shrunk, as for every method.

Memory: the directions (k copies of the inputs) and one perturbed input per evaluation.

>>> import numpy as np
>>> A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
>>> d = along_random_directions(lambda x: A @ x, [np.ones(3)], [0], np.array([3.0, 4.0]))
>>> bool(np.allclose(d.derivatives, d.directions[0] @ A.T))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _steps
from ._dual import dual_stack
from ._kinks import kinked_stack
from .numeric import _Evaluator, _jacobian_rows

__all__ = ["Directions", "along_random_directions", "COUNT", "SEED"]

COUNT = 4          # directions per check (k): independent of the number of inputs
SEED = 20261202
REFINE_TARGET = 1e-9   # relative error estimate that is good enough for a check


@dataclass
class Directions:
    """Directional derivatives of f and what they were taken along."""

    directions: list[np.ndarray]   # one (k, *args[w].shape) array per moving argument w
    derivatives: np.ndarray        # (k, *f0.shape): row i is J v_i
    error: np.ndarray              # (k, *f0.shape): error bound of each derivative
    scales: list[np.ndarray]       # per moving argument: the standard deviation of each entry
    method: str                    # "complex", "dual" (through kinks) or "richardson"


def along_random_directions(f: Callable, arrays: Sequence[np.ndarray], wrts: Sequence[int],
                            f0: np.ndarray, weights: Sequence[np.ndarray] | None = None,
                            count: int = COUNT, through_kinks: bool = False) -> Directions:
    """Derivatives of ``f(*arrays)`` along ``count`` random directions in which the
    arguments ``wrts`` move together (f0 is f at the point).

    Entry j of argument w moves by ``z_j * s_j``, z standard normal and ``s`` proportional to
    ``weights`` (default: all equal), scaled so that the directions have the size of the
    inputs (their typical size; each method's steps are a small fraction of that).
    ``through_kinks``: where the complex step does not apply, first try dual numbers through
    kinks (:mod:`matdiff._kinks`: one call of f, with one argument moving), verified against
    a central difference along a random combination of the directions, before Richardson
    extrapolation.
    """
    sizes = [arrays[w].size for w in wrts]
    rng = np.random.default_rng([SEED, count, *sizes, f0.size])
    if weights is None:
        weights = [np.ones(arrays[w].shape) for w in wrts]
    rms = np.sqrt(sum(float(np.sum(np.square(w))) for w in weights) / max(sum(sizes), 1))
    size = _steps.typical_size(np.concatenate([arrays[w].ravel() for w in wrts]))
    scales = [np.asarray(w, dtype=float) * (size / rms if rms > 0 else 1.0) for w in weights]
    # Drawn in float32 (a third faster for a big weight; still a continuous Gaussian, which
    # is all the false-pass argument needs), used in float64.
    directions = [rng.standard_normal((count, *s.shape), dtype=np.float32) * s for s in scales]

    def psi(t: np.ndarray) -> np.ndarray:
        # Most points move along one direction: add only the directions that are used.
        moved = list(arrays)
        for w, v in zip(wrts, directions, strict=True):
            moved[w] = _moved(arrays[w], t, v)
        return f(*moved)

    # With one argument moving, Richardson's points go to f in batches (f's own evaluator).
    ev = _AlongEvaluator(f, arrays, wrts[0], directions[0], f0.shape) if len(wrts) == 1 else None
    with np.errstate(all="ignore"):
        # One random combination of the directions verifies the complex step: a function it
        # does not apply to (abs, comparisons) is off along almost every direction. Richardson
        # refines its steps only to well below the checks' tolerances (1e-6 relative).
        rows, err, used = _jacobian_rows(psi, [np.zeros(count)], 0, f0, "accurate", None,
                                         batch=False, probes=1, target=REFINE_TARGET, ev=ev,
                                         kinks=through_kinks)
    return Directions(directions, rows, err, scales, used)


class _AlongEvaluator:
    """Evaluates ``psi(t) = f(..., x + t @ V, ...)`` (V: the directions, one per row) at many
    t at once: the points x + t V go to f's own evaluator (:class:`matdiff.numeric._Evaluator`),
    which hands them to f in batches when f allows it, verified against single calls. Each
    point is the one ``psi`` builds (``_moved``), to the last bit."""

    def __init__(self, f: Callable, arrays: Sequence[np.ndarray], w: int, v: np.ndarray,
                 out_shape: tuple):
        # A stack of one-point evaluations: one try, so that an f that cannot take it costs
        # one call more than the loop (the single calls that verify it are reused).
        self.f, self.inner = f, _Evaluator(f, list(arrays), w, out_shape, modes=("stacked",))
        self.x, self.v = arrays[w], v
        self.in_shape, self.out_shape = (v.shape[0],), out_shape
        # The complex step along the directions as dual numbers, checked by the caller (see
        # matdiff.numeric._jacobian_rows); else one complex call per direction.
        self.dual, self.defer_dual, self.unverified = None, False, False

    def one(self, t: np.ndarray, what: str) -> np.ndarray:
        return self.inner.one(_moved(self.x, t, self.v), what)

    def many(self, ts: Any, what: str) -> np.ndarray:
        if np.dtype(ts.dtype).kind != "c":
            return self.inner.many(_MovedStack(ts, self.x, self.v), what)
        if self.defer_dual and self.dual is not False:
            out = self._dual(ts)
            if out is not None:
                self.dual, self.unverified = True, True
                return out
            self.dual = False
        return np.stack([self.one(ts[k], f"{what}, perturbation {k + 1}")
                         for k in range(len(ts))])

    def _dual(self, ts: Any) -> np.ndarray | None:
        """f at ``x + i t @ V`` for the complex steps ``t`` (one entry each) as dual numbers
        with the directions as tangents: one call of f for all of them."""
        steps, idx = ts.steps_at(np.arange(len(ts)))
        tangents = steps.reshape((-1,) + (1,) * self.x.ndim) * self.v[idx]
        return self.inner.call_dual(dual_stack(self.x, tangents), len(ts))

    def through_kinks(self) -> np.ndarray | None:
        """The derivatives of f along the directions (the rows of psi's Jacobian) as dual
        numbers through kinks (:mod:`matdiff._kinks`): one call of f; None when f cannot take
        them."""
        out = self.inner.call_dual(kinked_stack(self.x, self.v), len(self.v))
        return None if out is None else out.imag


class _MovedStack:
    """The points ``x + t @ V`` for a stack of t, each batch built when it is sliced (like
    :class:`matdiff._steps.PointStack`: memory for one batch, not all the points)."""

    def __init__(self, ts: Any, x: np.ndarray, v: np.ndarray):
        self.ts, self.x, self.v = ts, x, v
        self.shape = (len(ts), *x.shape)
        self.dtype = x.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, item: int | slice) -> np.ndarray:
        if isinstance(item, slice):
            return np.stack([_moved(self.x, t, self.v) for t in self.ts[item]]) if \
                len(range(*item.indices(len(self)))) else np.empty((0, *self.x.shape))
        return _moved(self.x, self.ts[item], self.v)


def _moved(x: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``x + sum_i t_i v_i``, complex when t is; most t have one nonzero entry: few passes
    over memory for a big input."""
    point = np.empty(x.shape, dtype=t.dtype)
    parts = [(point.real, t.real, x), (point.imag, t.imag, None)] if t.dtype.kind == "c" \
        else [(point, t, x)]
    for out, steps, start in parts:
        used = np.flatnonzero(steps)
        if used.size:
            np.multiply(v[used[0]], steps[used[0]], out=out)
            for i in used[1:]:
                out += steps[i] * v[i]
            if start is not None:
                out += start
        elif start is not None:
            out[...] = start
        else:
            out[...] = 0.0
    return point

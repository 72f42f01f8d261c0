"""Dual numbers through kinks: the exact Jacobian of a function written with ``abs``,
``np.maximum``, ``np.where``... where the complex step does not apply, and when to trust it.

The complex step fails for ``softplus(z) = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))``:
numpy's ``abs`` of ``a + ib`` is the modulus, whose imaginary part (the derivative) is gone.
Dual numbers ``a + εb`` (:mod:`matdiff._dual`: the value a shared by every point, one tangent
b per point) can go through such operations, each time along the smooth branch that the value
chooses:

- ``abs(a + εb) = |a| + ε sign(a) b`` (0 at ``a = 0``: the central difference there);
- ``np.maximum``, ``np.minimum``, ``np.fmax``, ``np.fmin``, ``np.clip``: the chosen operand's
  value and tangent, entry by entry (at a tie, the average of the two tangents);
- ``np.where(c, u, v)``: each entry's tangent from the operand its condition picks;
- comparisons (``x > 0``), ``np.sign``, ``np.isnan``, ``np.isfinite``, ``np.isinf`` and
  ``np.signbit``: plain arrays of the values (one point's worth), with no tangent.

Everything else behaves as in :mod:`matdiff._dual` (and raises where it does). Away from
kinks and ties this is the exact derivative, to rounding, from one call of f for all n
tangents. At a kink f has no derivative and the dual numbers pick a side, so their Jacobian
is used only when :func:`trusted` finds that it reproduces derivatives along random
directions known from finite differences (which do not pick a side); else the caller falls
back to Richardson extrapolation.

Why that comparison is enough (the false-acceptance argument, as in :mod:`matdiff._confirm`):
dual numbers go wrong in two ways only, at a tie (``relu`` at exactly 0: the chosen branch
decides the derivative) and in a function that turns them into plain complex numbers
(``np.asarray(x)``: the complex step's points ``a + i b``) and goes on with complex ``abs``
(whose imaginary part is lost, as for the complex step): both put errors in the entries they
touch that are of the size of the derivatives themselves. Let ``E = D - J``, D the dual Jacobian.
Along a Gaussian direction v (entry j scaled by ``s_j``) the error ``(E v)_i`` of output i is
normal with standard deviation ``sigma_i = |E_i * s|_2``, and it is missed only when it falls
within the allowance ``tau_i``: 10 times the reference's error bound plus the rounding of
``D v`` (``1e-10 |v| @ |D|``), probability at most ``sqrt(2/pi) tau_i / sigma_i``. The r
directions are independent, so

    P(false acceptance) <= min_i (sqrt(2/pi) * tau_i / sigma_i) ** r,

and the reference must be accurate to 1e-6 of the derivatives' size (the checks' own
relative tolerance) or it is not used at all: for an error of the size of one entry, with
central differences accurate to about 1e-9, that is about 1e-8 per direction. The exception
is an exact tie, where f is not differentiable: there the one-sided slopes make the finite
difference depend on the sign of ``v_j`` rather than continuously on v (for ``relu`` at 0 it
is ``|v_j| / 2`` against the dual numbers' ``v_j / 2``), so a tie passes with probability
1/2 per tied entry; what passes then is 1/2, the value central differences and Richardson
extrapolation give there too (and for ``abs`` at 0, 0 along every direction, also theirs).

The reference is the central differences of :class:`matdiff.numeric._ComplexProbe` (two
directions), or a check's directional comparison (:mod:`matdiff._directions`): Richardson
extrapolation along its four directions, or dual numbers along them, themselves verified
against a central difference along a random combination u of the directions. In that last
case the full Jacobian D, from the same dual arithmetic at the same point, reproduces them to
rounding, so ``D (V u)`` matches the central difference along ``V u``: the same test along one
random direction.

>>> import numpy as np
>>> x = np.array([-2.0, 0.5, 3.0])
>>> f = lambda x: np.maximum(x, 0) + np.abs(x - 1)
>>> np.asarray(f(kinked_stack(x, np.eye(3)))).imag      # row j: the derivatives along e_j
array([[-1.,  0.,  0.],
       [ 0.,  0.,  0.],
       [ 0.,  0.,  2.]])
>>> rows = np.diag([-1.0, 0.0, 2.0])
>>> v = np.array([[0.3, -1.2, 0.7]])                     # one direction, its derivative known
>>> trusted(rows, v, v @ rows, np.full((1, 3), 1e-12)), trusted(rows, v, v @ rows + 1e-3, v * 0)
(True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._dual import _Dual, _fit, _point, _scaled, _sum_terms, _value, dual_stack
from .diagnose import ERR_FACTOR, RTOL

__all__ = ["kinked_stack", "trusted", "SLOPES"]

ROUNDING = 1e-10   # relative rounding allowed in D v (above n * eps for n up to 4e5)

# The slope of a piecewise linear function of one argument, from the argument's values.
SLOPES = {np.absolute: np.sign}
# Functions of the values alone: plain arrays, constant near the point.
_PLAIN = {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
          np.sign, np.isnan, np.isfinite, np.isinf, np.signbit}
_SELECT = {np.maximum, np.minimum, np.fmax, np.fmin}


def _select(dual: _Dual, ufunc: Any, a: Any, b: Any) -> _Dual:
    """``ufunc(a, b)`` for a maximum or minimum: each entry's tangent from the operand whose
    value it is (the average at a tie)."""
    value = ufunc(_value(a), _value(b))
    pa, pb, pv = _point(_value(a)), _point(_value(b)), _point(value)
    with np.errstate(invalid="ignore"):
        wa = np.where(pa == pb, 0.5, pv == pa)
    tangent = _sum_terms(_scaled(_tangent(a), wa), _scaled(_tangent(b), 1.0 - wa))
    return dual.new(value, _fit(tangent, value))


def _tangent(a: Any) -> Any:
    return a.tangent if isinstance(a, _Dual) else None


def _where(dual: _Dual, cond: Any, a: Any, b: Any) -> _Dual:
    """``np.where(cond, a, b)`` with a condition of plain values."""
    c = np.asarray(cond, dtype=bool)
    value = np.where(c, _value(a), _value(b))
    tangent = _sum_terms(_scaled(_tangent(a), c.astype(float)),
                         _scaled(_tangent(b), (~c).astype(float)))
    return dual.new(value, _fit(tangent, value))


def _clip(a: Any, low: Any = None, high: Any = None) -> Any:
    """``np.clip``: ``np.minimum(np.maximum(a, low), high)``, as numpy defines it."""
    out = a if low is None else np.maximum(a, low)
    return out if high is None else np.minimum(out, high)


class _Kinks:
    """The rules of dual numbers through kinks (``kinks`` of :class:`matdiff._dual._Dual`):
    ``abs``, maxima and minima, ``np.where``, ``np.clip`` and comparisons, each along the
    branch the value chooses; NotImplemented leaves the rest to the dual numbers' own."""

    @staticmethod
    def ufunc(dual: _Dual, ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
        if method != "__call__" or kwargs:
            return NotImplemented
        if ufunc in _PLAIN:
            return ufunc(*(_point(_value(i)) for i in inputs))
        if ufunc in SLOPES:
            (a,) = inputs
            return dual.new(ufunc(a.value), _scaled(a.tangent, SLOPES[ufunc](_point(a.value))))
        if ufunc in _SELECT:
            return _select(dual, ufunc, *inputs)
        return NotImplemented

    @staticmethod
    def function(dual: _Dual, func: Any, args: tuple, kwargs: dict) -> Any:
        if func is np.where and len(args) == 3 and not kwargs and not isinstance(args[0], _Dual):
            return _where(dual, *args)
        if func is np.clip and len(args) <= 3 and set(kwargs) <= {"a_min", "a_max", "min", "max"}:
            low = args[1] if len(args) > 1 else kwargs.get("a_min", kwargs.get("min"))
            high = args[2] if len(args) > 2 else kwargs.get("a_max", kwargs.get("max"))
            return _clip(args[0], low, high)
        return NotImplemented


def kinked_stack(x: np.ndarray, steps: np.ndarray, idx: np.ndarray | None = None) -> Any:
    """The points ``x + ε t_k`` as dual numbers that go through kinks (arguments as for
    :func:`matdiff._dual.dual_stack`); ``np.asarray`` of f's result has f's values as its
    real part and the derivatives along each t_k as its imaginary part."""
    return dual_stack(x, steps, idx, kinks=_Kinks)


def trusted(rows: np.ndarray, directions: np.ndarray, derivatives: np.ndarray,
            error: np.ndarray) -> bool:
    """Whether Jacobian rows ``rows`` ((n,) + f's shape, one row per input entry) reproduce
    the derivatives of f along ``directions`` ((r,) + x's shape) known by finite differences:
    ``derivatives`` and their error bound ``error`` ((r,) + f's shape), within 10 times that
    bound and the rounding of the product; and whether the bound is tight enough to tell
    (below the checks' relative tolerance of the derivatives' size). See the module
    documentation for the argument."""
    n = rows.shape[0]
    d = rows.reshape(n, -1)
    v = np.asarray(directions, dtype=float).reshape(-1, n)
    found = np.asarray(derivatives).reshape(v.shape[0], -1)
    bound = ERR_FACTOR * np.asarray(error).reshape(found.shape)
    size = np.abs(v) @ np.abs(d)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(found - v @ d) <= bound + ROUNDING * size
        tight = bool(bound.max(initial=0.0) <= RTOL * size.max(initial=0.0))
    return tight and bool(close.all())

"""The complex step of a function written for one point, with real arithmetic only.

The complex step evaluates f at ``x + i h_j e_j`` for every input entry j, with ``h_j`` about
1e-20 of the entry's size: n complex evaluations, and numpy's complex transcendental functions
are many times slower than the real ones (complex ``tanh``: about 20x). At such points every
intermediate value of f is ``a + i b`` with ``b`` negligible against ``a``, so for an analytic
``u``, ``u(a + i b) = u(a) + i b u'(a)`` to rounding: the value and the imaginary part of a dual
number. And all n points have the same real part, x.

:func:`dual_stack` hands f the n points as one shared value (x) and a stack of tangents (the
imaginary parts): each operation computes the value once and the tangents with real
arithmetic, each tangent in the way :mod:`matdiff._stacked` acts on each point. ``np.asarray``
of the result is f at the complex points: ``value + 1j * tangents``.

Only operations whose complex step is that dual number are known: ``+ - * / **`` (a power with
a constant exponent), ``@``, ``np.dot``, ``np.exp``, ``np.log``, ``np.tanh`` and the other
analytic functions of :data:`DERIVATIVES`, sums and means, indexing, ``.T``, ``reshape`` and
``ravel``. Anything else (``abs``, comparisons, ``np.maximum``, ``.real``, ``x.shape``...)
raises TypeError or AttributeError, and so does a known function outside the real domain
where it is analytic (``log`` at 0 or below): the evaluator then falls back to complex
arithmetic. It also checks the result against single complex evaluations before trusting it.

>>> import numpy as np
>>> W, x = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.25])
>>> out = np.asarray(np.tanh(W @ dual_stack(x, np.array([[1e-20, 0.0], [0.0, 1e-20]]))))
>>> points = x + 1j * np.array([[1e-20, 0.0], [0.0, 1e-20]])
>>> bool(np.allclose(out.imag, np.tanh(points @ W.T).imag, rtol=1e-14, atol=0))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ._stacked import stacked

__all__ = ["dual_stack", "DERIVATIVES"]

# u'(a) from a and u(a), for the analytic functions whose complex step is a dual number.
DERIVATIVES = {
    np.exp: lambda a, r: r,
    np.expm1: lambda a, r: r + 1.0,
    np.log: lambda a, r: 1.0 / a,
    np.log1p: lambda a, r: 1.0 / (1.0 + a),
    np.sqrt: lambda a, r: 0.5 / r,
    np.square: lambda a, r: 2.0 * a,
    np.reciprocal: lambda a, r: -(r * r),
    np.tanh: lambda a, r: 1.0 - r * r,
    np.sinh: lambda a, r: np.cosh(a),
    np.cosh: lambda a, r: np.sinh(a),
    np.sin: lambda a, r: np.cos(a),
    np.cos: lambda a, r: -np.sin(a),
    np.tan: lambda a, r: 1.0 + r * r,
    np.arctan: lambda a, r: 1.0 / (1.0 + a * a),
    np.arcsinh: lambda a, r: 1.0 / np.sqrt(1.0 + a * a),
}

_LINEAR = {np.sum, np.mean, np.transpose, np.reshape, np.ravel}


def _value(a: Any) -> Any:
    return a.value if isinstance(a, _Dual) else a


def _raw(a: Any) -> np.ndarray:
    return a.view(np.ndarray) if isinstance(a, np.ndarray) else np.asarray(a)


def _finite(*arrays: Any) -> None:
    """A value outside the real domain of a function (where its complex step may take another
    branch: ``log(-1 + 0j)`` is ``i pi``) is not a dual number's."""
    for a in arrays:
        if not np.all(np.isfinite(_raw(a))):
            raise TypeError("not finite: left to complex arithmetic")


class _Dual(NDArrayOperatorsMixin):
    """A value shared by every point (a stack of one) and each point's tangent (a stack)."""

    __slots__ = ("value", "tangent")

    def __init__(self, value: np.ndarray, tangent: np.ndarray):
        self.value, self.tangent = value, tangent

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            return NotImplemented
        vals = [_value(i) for i in inputs]
        tans = [i.tangent if isinstance(i, _Dual) else None for i in inputs]
        if ufunc in DERIVATIVES and len(inputs) == 1:
            r = ufunc(vals[0])
            d = DERIVATIVES[ufunc](vals[0], r)
            _finite(r, d)
            return _Dual(r, tans[0] * d)
        value = ufunc(*vals)
        if ufunc in (np.add, np.subtract):
            ta, tb = tans
            if tb is None:
                tangent = ta
            else:
                tangent = (-tb if ta is None else ufunc(ta, tb)) if ufunc is np.subtract else \
                    (tb if ta is None else ta + tb)
        elif ufunc in (np.negative, np.positive):
            tangent = ufunc(tans[0])
        elif ufunc is np.multiply:
            tangent = _sum_terms(_times(tans[0], vals[1]), _times(vals[0], tans[1]))
        elif ufunc is np.matmul:
            tangent = _sum_terms(None if tans[0] is None else tans[0] @ vals[1],
                                 None if tans[1] is None else vals[0] @ tans[1])
        elif ufunc is np.true_divide:
            ta, tb = tans
            tangent = _sum_terms(None if ta is None else ta / vals[1],
                                 None if tb is None else -(value * tb) / vals[1])
        elif ufunc is np.power and tans[1] is None:
            d = vals[1] * vals[0] ** (np.asarray(vals[1]) - 1)
            _finite(value, d)
            tangent = tans[0] * d
        else:
            return NotImplemented
        return _Dual(value, tangent)

    def __array_function__(self, func, types, args, kwargs):
        if func in _LINEAR and args and isinstance(args[0], _Dual) and \
                not any(isinstance(a, _Dual) for a in args[1:]):
            return _Dual(func(args[0].value, *args[1:], **kwargs),
                         func(args[0].tangent, *args[1:], **kwargs))
        if func is np.dot and len(args) == 2 and not kwargs:
            return np.matmul(*args)
        return NotImplemented

    def __array__(self, dtype=None, copy=None):
        value, tangent = _raw(self.value), _raw(self.tangent)
        out = np.empty(np.broadcast_shapes(value.shape, tangent.shape), dtype=complex)
        out.real = value
        out.imag = tangent
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index):
        return _Dual(self.value[index], self.tangent[index])

    @property
    def T(self):  # noqa: N802 (numpy's name)
        return _Dual(self.value.T, self.tangent.T)

    def reshape(self, *shape, order="C"):
        return _Dual(self.value.reshape(*shape, order=order),
                     self.tangent.reshape(*shape, order=order))

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def sum(self, axis=None, **kwargs):
        return _Dual(self.value.sum(axis, **kwargs), self.tangent.sum(axis, **kwargs))

    def mean(self, axis=None, **kwargs):
        return _Dual(self.value.mean(axis, **kwargs), self.tangent.mean(axis, **kwargs))

    def dot(self, other):
        return np.matmul(self, other)

    def __len__(self):
        raise TypeError("len() of a stacked point")

    def __iter__(self):
        raise TypeError("iterating over a stacked point")


def _times(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a * b


def _sum_terms(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


def dual_stack(x: np.ndarray, tangents: np.ndarray) -> Any:
    """The points ``x + i tangents[k]`` (tangents: one row per point, each the shape of x, tiny
    against x) as dual numbers whose numpy operations act on each point."""
    return _Dual(stacked(x[None]), stacked(tangents))

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
(:mod:`matdiff._kinks` gives these dual numbers more rules, ``kinks``: ``abs``, maxima,
comparisons..., where the complex step does not apply; every result keeps its operand's rules.)

>>> import numpy as np
>>> W, x = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.25])
>>> out = np.asarray(np.tanh(W @ dual_stack(x, np.array([[1e-20, 0.0], [0.0, 1e-20]]))))
>>> points = x + 1j * np.array([[1e-20, 0.0], [0.0, 1e-20]])
>>> bool(np.allclose(out.imag, np.tanh(points @ W.T).imag, rtol=1e-14, atol=0))
True
"""

from __future__ import annotations

import math
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


class _Seeds:
    """Tangents that are zero but for one entry per point: ``coef[k]`` at flat entry ``idx[k]``
    of a point of shape ``shape``. The complex step's tangents are such, and element-wise
    functions keep them so; the operations that mix entries (``@``, sums) then cost one row
    or column of the other operand per point instead of a matrix product. Anything else
    gets the dense stack (:meth:`dense`): the same numbers either way."""

    __slots__ = ("coef", "idx", "shape")

    def __init__(self, coef: np.ndarray, idx: np.ndarray, shape: tuple):
        self.coef, self.idx, self.shape = coef, idx, tuple(shape)

    def dense(self) -> np.ndarray:
        out = np.zeros((self.coef.size, math.prod(self.shape)))
        out[np.arange(self.coef.size), self.idx] = self.coef
        return stacked(out.reshape((self.coef.size, *self.shape)))

    def like(self, coef: np.ndarray) -> _Seeds:
        return _Seeds(coef, self.idx, self.shape)


def _dense(t: Any) -> Any:
    return t.dense() if isinstance(t, _Seeds) else t


def _point(w: Any) -> np.ndarray | None:
    """An operand that is the same for every point (a value, or a plain array) as one point."""
    if isinstance(w, np.ndarray) and w.ndim and w.__class__ is not np.ndarray:
        raw = _raw(w)
        return raw[0] if raw.shape[0] == 1 else None
    return np.asarray(w)


def _scaled(t: Any, w: Any, op: Any = np.multiply) -> Any:
    """The tangent ``t`` multiplied (or divided, ``op``) by a value ``w``, entry by entry."""
    if t is None:
        return None
    if isinstance(t, _Seeds):
        w_point = _point(w)
        if w_point is not None and np.broadcast_shapes(w_point.shape, t.shape) == t.shape:
            return t.like(op(t.coef, np.broadcast_to(w_point, t.shape).ravel()[t.idx]))
        t = t.dense()
    return op(t, w)


def _sum_terms(a: Any, b: Any, op: Any = np.add) -> Any:
    if b is None:
        return a
    if a is None:
        return b.like(-b.coef) if op is np.subtract and isinstance(b, _Seeds) else \
            (-b if op is np.subtract else b)
    if isinstance(a, _Seeds) and isinstance(b, _Seeds) and a.idx is b.idx and a.shape == b.shape:
        return a.like(op(a.coef, b.coef))
    return op(_dense(a), _dense(b))


def _fit(t: Any, value: Any) -> Any:
    """A tangent with the shape of its value's points (``x + M`` broadcasts each point)."""
    shape = _raw(value).shape[1:] if isinstance(value, np.ndarray) and \
        value.__class__ is not np.ndarray else np.shape(value)
    if (t.shape if isinstance(t, _Seeds) else _raw(t).shape[1:]) == shape:
        return t
    return _dense(t) + np.zeros(shape)


def _matmul(t: Any, w: Any, tangent_left: bool) -> Any:
    """``t @ w`` or ``w @ t`` for a tangent t and a value w."""
    if isinstance(t, _Seeds):
        m = _point(w)
        out = None if m is None or m.ndim != 2 else _seeds_matmul(t, m, tangent_left)
        if out is not None:
            return out
        t = t.dense()
    return t @ w if tangent_left else w @ t


def _seeds_matmul(t: _Seeds, m: np.ndarray, left: bool) -> np.ndarray | None:
    """Seeds times a matrix m: one row or column of m per point (None: left to numpy)."""
    b, coef = t.coef.size, t.coef[:, None]
    if len(t.shape) == 1:
        if left and m.shape[0] == t.shape[0]:        # e_j @ m: row j of m
            return stacked(coef * m[t.idx, :])
        if not left and m.shape[1] == t.shape[0]:    # m @ e_j: column j of m
            return stacked(coef * m[:, t.idx].T)
        return None
    if len(t.shape) != 2:
        return None
    r, c = t.shape
    k, l_ = np.divmod(t.idx, c)
    if left and m.shape[0] == c:                     # E_kl @ m: row k is row l of m
        out = np.zeros((b, r, m.shape[1]))
        out[np.arange(b), k, :] = coef * m[l_, :]
        return stacked(out)
    if not left and m.shape[1] == r:                 # m @ E_kl: column l is column k of m
        out = np.zeros((b, m.shape[0], c))
        out[np.arange(b), :, l_] = coef * m[:, k].T
        return stacked(out)
    return None


def _linear(func: Any, t: Any, args: tuple, kwargs: dict) -> Any:
    """A linear function of the point (sum, mean, reshape...) applied to a tangent."""
    if isinstance(t, _Seeds):
        if func in (np.sum, np.mean) and not args and kwargs.get("axis") is None and \
                set(kwargs) <= {"axis"}:
            size = math.prod(t.shape)
            return stacked(t.coef / size if func is np.mean else t.coef.copy())
        if func is np.reshape and len(args) == 1 and not kwargs or \
                func is np.ravel and not args and not kwargs:
            shape = np.empty(t.shape, dtype=bool).reshape(args[0] if args else -1).shape
            return _Seeds(t.coef, t.idx, shape)
        t = t.dense()
    return func(t, *args, **kwargs)


class _Dual(NDArrayOperatorsMixin):
    """A value shared by every point (a stack of one) and each point's tangent (a stack, or
    :class:`_Seeds`)."""

    __slots__ = ("value", "tangent", "kinks")

    def __init__(self, value: np.ndarray, tangent: Any, kinks: Any = None):
        # kinks: more rules, tried first (matdiff._kinks: abs, maxima, comparisons...)
        self.value, self.tangent, self.kinks = value, tangent, kinks

    def new(self, value: Any, tangent: Any) -> _Dual:
        """A dual number with the same rules."""
        return _Dual(value, tangent, self.kinks)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if self.kinks is not None:
            out = self.kinks.ufunc(self, ufunc, method, inputs, kwargs)
            if out is not NotImplemented:
                return out
        if method != "__call__" or kwargs:
            return NotImplemented
        vals = [_value(i) for i in inputs]
        tans = [i.tangent if isinstance(i, _Dual) else None for i in inputs]
        if ufunc in DERIVATIVES and len(inputs) == 1:
            r = ufunc(vals[0])
            d = DERIVATIVES[ufunc](vals[0], r)
            _finite(r, d)
            return self.new(r, _scaled(tans[0], d))
        value = ufunc(*vals)
        if ufunc in (np.add, np.subtract):
            tangent = _sum_terms(*tans, op=ufunc)
            if any(t is None for t in tans):
                tangent = _fit(tangent, value)
        elif ufunc in (np.negative, np.positive):
            t = tans[0]
            tangent = t.like(ufunc(t.coef)) if isinstance(t, _Seeds) else ufunc(t)
        elif ufunc is np.multiply:
            tangent = _sum_terms(_scaled(tans[0], vals[1]), _scaled(tans[1], vals[0]))
        elif ufunc is np.matmul:
            tangent = _sum_terms(None if tans[0] is None else _matmul(tans[0], vals[1], True),
                                 None if tans[1] is None else _matmul(tans[1], vals[0], False))
        elif ufunc is np.true_divide:
            ta, tb = tans
            tangent = _sum_terms(_scaled(ta, vals[1], np.true_divide),
                                 None if tb is None else _scaled(tb, -value / vals[1]))
        elif ufunc is np.power and tans[1] is None:
            d = vals[1] * vals[0] ** (np.asarray(vals[1]) - 1)
            _finite(value, d)
            tangent = _scaled(tans[0], d)
        else:
            return NotImplemented
        return self.new(value, tangent)

    def __array_function__(self, func, types, args, kwargs):
        if self.kinks is not None:
            out = self.kinks.function(self, func, args, kwargs)
            if out is not NotImplemented:
                return out
        if func in _LINEAR and args and isinstance(args[0], _Dual) and \
                not any(isinstance(a, _Dual) for a in args[1:]):
            return self.new(func(args[0].value, *args[1:], **kwargs),
                         _linear(func, args[0].tangent, args[1:], kwargs))
        if func is np.dot and len(args) == 2 and not kwargs:
            return np.matmul(*args)
        return NotImplemented

    def __array__(self, dtype=None, copy=None):
        value, tangent = _raw(self.value), _raw(_dense(self.tangent))
        nd = max(value.ndim, tangent.ndim)   # each point broadcast, not the stack
        value = value.reshape(value.shape[:1] + (1,) * (nd - value.ndim) + value.shape[1:])
        tangent = tangent.reshape(tangent.shape[:1] + (1,) * (nd - tangent.ndim) + tangent.shape[1:])
        out = np.empty(np.broadcast_shapes(value.shape, tangent.shape), dtype=complex)
        out.real = value
        out.imag = tangent
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index):
        return self.new(self.value[index], _dense(self.tangent)[index])

    @property
    def T(self):  # noqa: N802 (numpy's name)
        return self.new(self.value.T, _dense(self.tangent).T)

    def reshape(self, *shape, order="C"):
        if order != "C":
            raise TypeError("only C order")
        shape = shape[0] if len(shape) == 1 else shape
        return np.reshape(self, shape)

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def sum(self, axis=None, **kwargs):
        return np.sum(self, axis=axis, **kwargs)

    def mean(self, axis=None, **kwargs):
        return np.mean(self, axis=axis, **kwargs)

    def dot(self, other):
        return np.matmul(self, other)

    def clip(self, *bounds, **kwargs):
        return np.clip(self, *bounds, **kwargs)

    def __len__(self):
        raise TypeError("len() of a stacked point")

    def __iter__(self):
        raise TypeError("iterating over a stacked point")


def dual_stack(x: np.ndarray, steps: np.ndarray, idx: np.ndarray | None = None,
               kinks: Any = None) -> Any:
    """The points ``x + i t_k`` as dual numbers whose numpy operations act on each point.

    ``steps``: the tangents t_k, one row per point, each the shape of x and tiny against it;
    or, with ``idx``, one number per point: t_k is ``steps[k]`` at flat entry ``idx[k]`` of x
    and zero elsewhere (the complex step's points). ``kinks``: more rules, tried first (see
    :mod:`matdiff._kinks`).
    """
    tangent = stacked(steps) if idx is None else _Seeds(np.asarray(steps, dtype=float),
                                                        np.asarray(idx), x.shape)
    return _Dual(stacked(x[None]), tangent, kinks)

"""Evaluating a function written for one point at a whole stack of points in one call.

A learner writes ``lambda x: np.tanh(W @ x + b)`` for one x. Given a stack of points (one per
row), ``W @ X`` fails, and a stack along the last axis makes ``+ b`` broadcast along the wrong
axis. :func:`stacked` returns the stack as an array whose numpy operations act on each point
separately, the stack's axis first and hidden from f:

- ufuncs (``+``, ``np.tanh``, ``np.maximum``, comparisons, ...) broadcast the other operands
  against each point, not against the stack;
- matrix products (``@``, ``np.matmul``, ``np.dot`` of vectors and matrices) treat each point
  as the vector or matrix it is;
- reductions (``np.sum``, ``x.max(axis=1)``, ``np.mean``), ``x.T``, indexing, ``reshape`` and
  ``ravel`` act on a point's own axes.

Anything else raises TypeError (``np.einsum``, ``len(x)``, ``float(x)``, ``x.shape`` used to
build arrays...): the evaluator then calls f once per point. It also checks every stacked
result against single calls before trusting it. Each operation ends with a reset of the vector
registers' state (see :mod:`matdiff._vector_state`).

>>> import numpy as np
>>> W, b = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0.5, 0.0, -0.5])
>>> X = np.array([[1.0, 0.0], [0.0, 1.0]])              # two points
>>> np.asarray(np.tanh(W @ stacked(X) + b)).shape, bool(np.allclose(
...     np.asarray(W @ stacked(X) + b), [W @ X[0] + b, W @ X[1] + b]))
((2, 3), True)
>>> np.asarray(np.sum(stacked(X) ** 2) + 0.5 * stacked(X)[1])      # one number per point
array([1. , 1.5])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._vector_state import reset

__all__ = ["stacked"]


def _raw(a: Any) -> Any:
    return a.view(np.ndarray) if isinstance(a, _Points) else a


def _ndim(a: Any) -> int:
    """The number of axes of one point (of a plain operand: its own)."""
    return a.ndim - 1 if isinstance(a, _Points) else np.ndim(a)


def _lift(a: Any, ndim: int) -> Any:
    """A stacked operand (raw) with size-1 axes after the stack axis, up to ``ndim`` point axes,
    so that plain operands broadcast against each point."""
    if not isinstance(a, _Points):
        return a
    raw = _raw(a)
    return raw.reshape(raw.shape[:1] + (1,) * (ndim - _ndim(a)) + raw.shape[1:])


def _wrap(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    return value.view(_Points) if isinstance(value, np.ndarray) else value


def _axis(axis: Any, ndim: int) -> Any:
    """A point's axis (or axes, or None: all of them) as the stack's."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, tuple):
        return tuple(_axis(a, ndim)[0] for a in axis)
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise TypeError("axis out of range")
    return (axis % ndim + 1,)


def _matmul(a: Any, b: Any) -> np.ndarray:
    """``a @ b`` for each point, numpy's rules for vectors included."""
    va, vb = _ndim(a) == 1, _ndim(b) == 1
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise TypeError("matmul of a scalar")
    ra, rb = _raw(a), _raw(b)
    stack_a, stack_b = isinstance(a, _Points), isinstance(b, _Points)
    # A matrix times each point, or each point times a matrix: one matrix product (BLAS),
    # not one per point.
    if not stack_a and np.ndim(a) == 2 and stack_b and vb:
        return np.matmul(rb, np.transpose(ra))
    if stack_a and va and not stack_b and np.ndim(b) == 2:
        return np.matmul(ra, rb)
    if va:
        ra = ra[..., None, :]
    if vb:
        rb = rb[..., :, None]
    nd = max(_ndim(a) + va, _ndim(b) + vb)
    if stack_a:
        ra = ra.reshape(ra.shape[:1] + (1,) * (nd - ra.ndim + 1) + ra.shape[1:])
    if stack_b:
        rb = rb.reshape(rb.shape[:1] + (1,) * (nd - rb.ndim + 1) + rb.shape[1:])
    out = np.matmul(ra, rb)
    if vb:
        out = out[..., 0]
    if va:
        out = out[..., 0, :] if not vb else out[..., 0]
    return out


def _reduce(name: str, a: Any, axis: Any = None, **kwargs) -> Any:
    raw = _raw(a)
    return _wrap(getattr(raw, name)(axis=_axis(axis, raw.ndim - 1), **kwargs))


_REDUCTIONS = {np.sum: "sum", np.mean: "mean", np.max: "max", np.min: "min", np.prod: "prod",
               np.amax: "max", np.amin: "min", np.any: "any", np.all: "all"}


class _Points(np.ndarray):
    """A stack of points (axis 0) whose numpy operations act on each point."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None or any(isinstance(v, _Points) for v in kwargs.values()):
            return NotImplemented
        if method == "__call__" and ufunc is np.matmul and not kwargs:
            result = _matmul(*inputs)
        elif method == "__call__" and ufunc.signature is None:
            nd = max(_ndim(i) for i in inputs)
            result = ufunc(*(_lift(i, nd) for i in inputs), **kwargs)
        elif method in ("reduce", "accumulate") and isinstance(inputs[0], _Points) and \
                len(inputs) == 1:
            raw = _raw(inputs[0])
            axis = kwargs.pop("axis", 0)
            if method == "accumulate" or axis is not None and not isinstance(axis, tuple):
                (axis,) = _axis(axis, raw.ndim - 1)
            else:
                axis = _axis(axis, raw.ndim - 1)
            result = getattr(ufunc, method)(raw, axis=axis, **kwargs)
        else:
            return NotImplemented
        reset()
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if func in _REDUCTIONS and len(args) == 1:
            result = _reduce(_REDUCTIONS[func], args[0], **kwargs)
        elif func is np.dot and len(args) == 2 and not kwargs and \
                all(1 <= _ndim(a) <= 2 for a in args):
            result = _wrap(_matmul(*args))
        elif func is np.where and len(args) == 3 and not kwargs:
            nd = max(_ndim(a) for a in args)
            result = _wrap(np.where(*(_lift(a, nd) for a in args)))
        elif func in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
            result = _wrap(func(_raw(args[0]), *args[1:], **kwargs))
        elif func is np.transpose and len(args) == 1 and not kwargs:
            result = args[0].T
        elif func is np.reshape and len(args) == 2 and not kwargs:
            result = args[0].reshape(args[1])
        elif func is np.ravel and len(args) == 1 and not kwargs:
            result = args[0].ravel()
        else:
            return NotImplemented
        reset()
        return result

    # A point's own axes for what f does with its argument directly.
    def _index(self, index: Any) -> tuple:
        index = index if isinstance(index, tuple) else (index,)
        if any(isinstance(i, _Points) for i in index):
            raise TypeError("an index that differs between points")
        return (slice(None), *index)

    def __getitem__(self, index):
        return _wrap(_raw(self)[self._index(index)])

    def __setitem__(self, index, value):
        _raw(self)[self._index(index)] = _raw(value)

    def __len__(self):
        raise TypeError("len() of a stacked point")

    def __float__(self):
        raise TypeError("float() of a stacked point")

    def __iter__(self):
        raise TypeError("iterating over a stacked point")

    @property
    def T(self):  # noqa: N802 (numpy's name)
        raw = _raw(self)
        return _wrap(raw.transpose(0, *range(raw.ndim - 1, 0, -1)))

    def reshape(self, *shape, order="C"):
        if order != "C":
            raise TypeError("only C order")
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        raw = _raw(self)
        return _wrap(raw.reshape(raw.shape[:1] + shape))

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def flatten(self, order="C"):
        return self.reshape(-1, order=order).copy()

    def sum(self, axis=None, **kwargs):
        return _reduce("sum", self, axis, **kwargs)

    def mean(self, axis=None, **kwargs):
        return _reduce("mean", self, axis, **kwargs)

    def max(self, axis=None, **kwargs):
        return _reduce("max", self, axis, **kwargs)

    def min(self, axis=None, **kwargs):
        return _reduce("min", self, axis, **kwargs)

    def prod(self, axis=None, **kwargs):
        return _reduce("prod", self, axis, **kwargs)

    def dot(self, other):
        return np.dot(self, other)

    def item(self, *args):
        raise TypeError("item() of a stacked point")

    def tolist(self):
        raise TypeError("tolist() of a stacked point")


def stacked(points: np.ndarray) -> np.ndarray:
    """``points`` (axis 0: one point per row; not copied) as a stack whose numpy operations
    act on each point separately."""
    return points.view(_Points)

"""Keeping numpy's complex loops fast when f mixes matrix products with element-wise functions.

Some BLAS kernels return with the upper halves of the wide vector registers in use. Until the
next instruction that clears them, code compiled for plain SSE (numpy's loops for complex
``tanh``, ``log1p``, ...) runs many times slower on some x86 processors: in a learner's
``np.tanh(W @ x)`` evaluated at complex points, the ``tanh`` measured 15x slower than the same
``tanh`` after any numpy loop that uses the wide registers (those clear them when they finish).

:func:`reset` runs one such loop (a microsecond). :func:`clean_view` returns a view of a complex
stack of points whose every numpy operation is followed by :func:`reset`, so that the
operation *inside f* after a matrix product runs at full speed; the values are exactly those
of the plain array (only the order of instructions on the processor changes).

>>> import numpy as np
>>> z = clean_view(np.array([0.5 + 1e-20j, -1.0 + 0j]))
>>> out = np.tanh(np.ones((2, 2)) @ z)
>>> bool(np.array_equal(np.asarray(out), np.tanh(np.ones((2, 2)) @ np.asarray(z))))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["reset", "clean_view"]

_ZEROS = np.zeros(64)
_SCRATCH = np.empty(64)


def reset() -> None:
    """Run one small vectorised numpy loop: it clears the wide registers' upper halves."""
    np.exp(_ZEROS, out=_SCRATCH)


def _plain(value: Any) -> Any:
    return value.view(np.ndarray) if isinstance(value, _CleanArray) else value


def _wrap(value: Any) -> Any:
    if type(value) is np.ndarray:
        return value.view(_CleanArray)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    return value


class _CleanArray(np.ndarray):
    """An ndarray whose ufuncs and numpy functions each end with :func:`reset`."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_plain(i) for i in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*inputs, **kwargs)
        reset()
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, types, args, kwargs)
        reset()
        return result


def clean_view(points: np.ndarray) -> np.ndarray:
    """``points`` (not copied) as an array that clears the vector state after each operation."""
    return points.view(_CleanArray)

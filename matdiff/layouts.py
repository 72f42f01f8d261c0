"""Layouts and flattening: vec, unvec, the 2-D matrix of a tensor Jacobian, and the two
layout conventions.

``vec`` stacks columns (column-major, as in the identity
``vec(A X B) = (B^T kron A) vec(X)``), which is the convention of the matrix-calculus
literature, not NumPy's default row-major ``ravel``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["vec", "unvec", "to_matrix", "to_denominator", "to_numerator"]


def _array(value, name: str) -> np.ndarray:
    from ._inputs import as_float_array

    return as_float_array(value, name)


def _shape(shape, name: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError as exc:
        raise TypeError(f"`{name}` must be a shape such as (3, 4), not {shape!r}.") from exc
    if any(s < 0 for s in out):
        raise ValueError(f"`{name}` must not contain negative sizes: {shape!r}.")
    return out


def vec(M) -> np.ndarray:
    """Stack the columns of ``M`` into one vector (column-major flattening).

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> M = np.array([[1, 2, 3], [4, 5, 6]])
    >>> md.vec(M)
    array([1., 4., 2., 5., 3., 6.])
    """
    return _array(M, "M").reshape(-1, order="F")


def unvec(v, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`vec`: refill a column-major vector into an array of ``shape``.

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> md.unvec([1, 4, 2, 5, 3, 6], (2, 3))
    array([[1., 2., 3.],
           [4., 5., 6.]])
    """
    arr = _array(v, "v").reshape(-1)
    shape = _shape(shape, "shape")
    if arr.size != int(np.prod(shape, dtype=int)):
        raise ValueError(f"`v` has {arr.size} entries but `shape` {shape} needs "
                         f"{int(np.prod(shape, dtype=int))}.")
    return arr.reshape(shape, order="F")


def to_matrix(J, out_shape: Sequence[int], in_shape: Sequence[int]) -> np.ndarray:
    """The 2-D matrix ``M`` of a numerator-layout tensor Jacobian, with
    ``vec(dY) = M @ vec(dX)`` (column-major vec on both sides).

    Parameters
    ----------
    J : array_like, shape ``out_shape + in_shape``
    out_shape, in_shape : tuple of int

    Examples
    --------
    The Jacobian of ``Y = W x`` with respect to ``W`` is ``x^T kron I``:

    >>> import numpy as np, matdiff as md
    >>> W, x = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    >>> J = md.numeric_jacobian(lambda W: W @ x, W)          # shape (2, 2, 3)
    >>> bool(np.allclose(md.to_matrix(J, (2,), (2, 3)), np.kron(x, np.eye(2))))
    True
    """
    arr = _array(J, "J")
    out_shape, in_shape = _shape(out_shape, "out_shape"), _shape(in_shape, "in_shape")
    if arr.shape != out_shape + in_shape:
        raise ValueError(
            f"`J` has shape {arr.shape}, but a numerator-layout Jacobian of an output "
            f"{out_shape} with respect to an input {in_shape} has shape {out_shape + in_shape}."
        )
    k, n = len(out_shape), len(in_shape)
    order = list(reversed(range(k))) + [k + a for a in reversed(range(n))]
    rows = int(np.prod(out_shape, dtype=int))
    cols = int(np.prod(in_shape, dtype=int))
    return arr.transpose(order).reshape(rows, cols)


def _check_ndim(J: np.ndarray, in_ndim, name: str = "in_ndim") -> int:
    if isinstance(in_ndim, bool) or not isinstance(in_ndim, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int (the number of axes of x), not {in_ndim!r}.")
    if not 0 <= in_ndim <= J.ndim:
        raise ValueError(f"`{name}`={in_ndim} but J has only {J.ndim} axes.")
    return int(in_ndim)


def to_denominator(J, in_ndim: int) -> np.ndarray:
    """Numerator layout (output axes, then input axes) to denominator layout (input axes,
    then output axes). ``in_ndim`` is the number of axes of the input ``x``.

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> md.to_denominator(np.zeros((2, 3, 4)), in_ndim=2).shape   # y (2,), x (3, 4)
    (3, 4, 2)
    """
    arr = _array(J, "J")
    return _denominator_view(arr, _check_ndim(arr, in_ndim))


def _denominator_view(J: np.ndarray, in_ndim: int) -> np.ndarray:
    """:func:`to_denominator` of a float64 array already checked, as a view (no copy)."""
    k = J.ndim - in_ndim
    return J.transpose(list(range(k, J.ndim)) + list(range(k)))


def to_numerator(J, in_ndim: int) -> np.ndarray:
    """Denominator layout (input axes first) to numerator layout (output axes first).

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> J = np.zeros((3, 4, 2))                        # x (3, 4), y (2,): denominator
    >>> md.to_numerator(J, in_ndim=2).shape
    (2, 3, 4)
    """
    arr = _array(J, "J")
    n = _check_ndim(arr, in_ndim)
    return arr.transpose(list(range(n, arr.ndim)) + list(range(n)))

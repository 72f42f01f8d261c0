"""matdiff._stacked: a stack of points whose numpy operations act on each point, so that a
function written for one point evaluates a whole batch in one call; what it cannot map
raises (and the evaluator falls back to one call per point, after verifying anyway)."""

from __future__ import annotations

import numpy as np
import pytest

from matdiff._stacked import stacked

rng = np.random.default_rng(20261202)
W, b, y = rng.standard_normal((5, 4)), rng.standard_normal(5), rng.integers(0, 4, 3)
M = rng.standard_normal((4, 4))

VECTOR = {     # functions of one point x of shape (4,)
    "affine": lambda x: np.tanh(W @ x + b),
    "row-vector product": lambda x: x @ W.T - b,
    "inner product": lambda x: x @ x + np.dot(x, x),
    "sum and mean": lambda x: np.sum(x**2) + np.mean(np.abs(x)) + x.sum() / 4,
    "max and min": lambda x: x.max() - np.min(x) + np.max(x, axis=0),
    "softplus": lambda x: np.maximum(W @ x, 0) + np.log1p(np.exp(-np.abs(W @ x))),
    "where": lambda x: np.where(x > 0, x, 0.1 * x),
    "indexing": lambda x: x[0] * x[1:] + x[::-1][:3] + x[[0, 0, 2]],
    "column": lambda x: (x[:, None].T @ M @ x[:, None])[0, 0],
    "reshape": lambda x: x.reshape(2, 2) @ x.reshape((2, 2)).T,
    "like": lambda x: np.ones_like(x) * x + np.zeros_like(x),
    "setitem": lambda x: _set_first(x),
    "complex-safe": lambda x: np.exp(1j * x).real,
}

MATRIX = {     # functions of one point X of shape (3, 4)
    "product": lambda X: X @ X.T @ np.ones(3),
    "softmax cross-entropy": lambda X: -np.mean(
        (X - np.log(np.sum(np.exp(X), axis=1, keepdims=True)))[np.arange(3), y]),
    "max keepdims": lambda X: X - X.max(axis=1, keepdims=True) + np.max(X, axis=0),
    "transpose": lambda X: np.transpose(X) @ X + X.T.sum(axis=-1)[:, None],
    "ravel": lambda X: X.ravel()[:5] + np.ravel(X)[-5:] + X.flatten()[2],
}


def _set_first(x):
    out = np.zeros_like(x)
    out[0] = x[1] ** 2
    out[1:] = x[1:]
    return out


@pytest.mark.parametrize("shape, funcs", [((4,), VECTOR), ((3, 4), MATRIX)])
def test_each_point_gets_what_a_single_call_gives(shape, funcs):
    points = rng.standard_normal((7, *shape))
    for name, f in funcs.items():
        got = np.asarray(f(stacked(points.copy())))
        want = np.stack([np.asarray(f(p)) for p in points])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("f", [
    lambda x: len(x) * x,
    lambda x: float(np.sum(x)),
    lambda x: np.einsum("i,i->", x, x),
    lambda x: np.linalg.norm(x),
    lambda x: [v**2 for v in x],
    lambda x: x.item(),
])
def test_what_cannot_be_mapped_raises(f):
    with pytest.raises((TypeError, ValueError)):
        f(stacked(rng.standard_normal((3, 4))))

"""matdiff._dual: the complex step of a function written for one point, evaluated as dual
numbers with real arithmetic; it must equal complex arithmetic to rounding, or refuse (and
the evaluator falls back to complex arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
from test_stacked import MATRIX, VECTOR

import matdiff as md
from matdiff._dual import DERIVATIVES, dual_stack
from matdiff._steps import relative_scales

rng = np.random.default_rng(20261203)
W, b = rng.standard_normal((5, 4)), rng.standard_normal(5)



def _through(u):
    return lambda x: u(0.3 * x + 2.0) * x


ANALYTIC = {   # every rule of the dual numbers, on points where the real function is smooth
    "affine": lambda x: np.tanh(W @ x + b),
    "row-vector product": lambda x: x @ W.T - b,
    "inner product": lambda x: x @ x + np.dot(x, x) + x.dot(x),
    "sums and means": lambda x: np.sum(x**2) + np.mean(x**3) + x.sum() / 4 - x.mean(),
    "quotients": lambda x: (1.0 / (2.0 + x * x)) / (3.0 + np.exp(x)) - x / 7.0 + 2.0 / (x * x + 1),
    "powers": lambda x: (x * x + 1.0) ** 1.5 + x**3 - (2.0 + x) ** -2,
    "negation": lambda x: -x + (+x) * x - (1.0 - x),
    "indexing": lambda x: x[0] * x[1:] + x[::-1][:3] + x[[0, 0, 2]],
    "reshape": lambda x: x.reshape(2, 2) @ x.reshape((2, 2)).T + np.reshape(x, (2, 2)),
    "ravel and T": lambda x: np.ravel(x[:, None].T) + x.ravel() + np.transpose(x),
    "column": lambda x: (x[:, None].T @ W.T @ W @ x[:, None])[0, 0],
    "products of stacks": lambda x: np.outer(np.ones(2), np.ones(2)) @ x.reshape(2, 2) @ x.reshape(2, 2),
    **{u.__name__: _through(u) for u in DERIVATIVES},
}


M34, M43, M55 = rng.standard_normal((3, 4)), rng.standard_normal((4, 3)), rng.standard_normal((5, 5))
SHAPES = {     # products and broadcasts of a matrix point X (3, 4) that keep one-entry tangents
    "X @ M": lambda X: np.tanh(X) @ M43 @ np.exp(X[:, :3]) @ X,
    "M @ X": lambda X: M34.T @ np.sin(X) / (2.0 + X.T @ M34),
    "broadcast by a constant": lambda X: np.sum((X + M55[:3, :1]) * np.ones((2, 3, 4))),
    "row times point": lambda X: np.cos(X)[0] @ M43 + X.ravel() @ np.ones(12),
    "reshape then product": lambda X: X.reshape(4, 3) @ X.reshape(-1).reshape(3, 4) - np.mean(X),
}


def _points(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The complex step's points: x + i h_j e_j, as their imaginary parts (one row each)."""
    h = 1e-20 * relative_scales(x)
    steps = np.zeros((x.size, x.size))
    steps[np.arange(x.size), np.arange(x.size)] = h
    return steps.reshape((x.size, *x.shape)), h


def _complex(f, x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(f(x + 1j * s), dtype=complex) for s in steps])


def _dual(x: np.ndarray, steps: np.ndarray, seeds: bool):
    """The dual numbers of the complex step's points: dense tangents, or one entry each."""
    if not seeds:
        return dual_stack(x, steps)
    flat = steps.reshape(steps.shape[0], -1)
    idx = np.argmax(flat != 0, axis=1)
    return dual_stack(x, flat[np.arange(flat.shape[0]), idx], idx)


@pytest.mark.parametrize("seeds", [False, True], ids=["dense", "seeds"])
@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_dual_numbers_equal_the_complex_step(name, seeds):
    f = ANALYTIC[name]
    x = rng.standard_normal(4)
    steps, h = _points(x)
    dual = np.asarray(f(_dual(x, steps, seeds)))
    want = _complex(f, x, steps)
    assert dual.shape == want.shape and dual.dtype == complex
    np.testing.assert_allclose(dual.real, want.real, rtol=1e-14, atol=1e-14)
    scale = np.abs(want.imag).max()
    assert scale > 0
    np.testing.assert_allclose(dual.imag, want.imag, rtol=1e-12, atol=1e-14 * scale)


@pytest.mark.parametrize("seeds", [False, True], ids=["dense", "seeds"])
@pytest.mark.parametrize("name", sorted(VECTOR) + sorted(MATRIX) + sorted(SHAPES))
def test_dual_numbers_equal_complex_arithmetic_or_refuse(name, seeds):
    """Every function of matdiff._stacked's tests: the dual numbers either give the complex
    step's values or raise (abs, comparisons, max, .real, ...)."""
    f = VECTOR.get(name) or MATRIX.get(name) or SHAPES[name]
    x = rng.standard_normal(4) if name in VECTOR else rng.standard_normal((3, 4))
    steps, _ = _points(x)
    try:
        dual = np.asarray(f(_dual(x, steps, seeds)))
    except (TypeError, AttributeError):
        return
    want = _complex(f, x, steps)
    assert dual.shape == want.shape
    np.testing.assert_allclose(dual.real, want.real, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dual.imag, want.imag, rtol=1e-12,
                               atol=1e-14 * np.abs(want.imag).max())


@pytest.mark.parametrize("f", [
    lambda x: np.abs(x), lambda x: np.maximum(x, 0), lambda x: x > 0, lambda x: x.real,
    lambda x: x.shape, lambda x: np.max(x), lambda x: float(x[0]), lambda x: len(x),
    lambda x: np.log(x - 10.0), lambda x: np.sqrt(x - x), lambda x: np.exp(1e3 * x),
    lambda x: x ** x,
], ids=["abs", "maximum", "comparison", "real", "shape", "max", "float", "len",
        "log outside its domain", "sqrt at 0", "overflow", "variable exponent"])
def test_what_dual_numbers_do_not_know_raises(f):
    """Non-analytic operations, and analytic ones outside the real domain (where the complex
    step may take another branch), are left to complex arithmetic."""
    x = np.abs(rng.standard_normal(4)) + 0.5
    steps, _ = _points(x)
    with np.errstate(all="ignore"), pytest.raises((TypeError, AttributeError)):
        np.asarray(f(dual_stack(x, steps)))


def test_the_accurate_jacobian_uses_dual_numbers_and_equals_the_complex_step():
    W = rng.standard_normal((30, 20)) / 4
    x = rng.standard_normal(20)
    calls = []

    def f(x):
        calls.append(type(x).__name__)
        return np.tanh(W @ x) * np.log1p(x[:1] ** 2)

    J = md.numeric_jacobian(f, x, method="accurate")
    assert calls[-1] == "_Dual" and len(calls) < 20, calls   # the n points in one call
    # the same complex step, one complex evaluation per input
    loop = md.numeric_jacobian(_one_at_a_time(f), x, method="complex")
    np.testing.assert_allclose(J, loop, rtol=1e-13, atol=1e-15)


def _one_at_a_time(f):
    def single(x):
        if not isinstance(x, np.ndarray) or x.ndim != 1 or type(x) is not np.ndarray:
            raise TypeError("one point at a time")
        return f(x)
    return single


def test_a_function_dual_numbers_cannot_evaluate_falls_back_with_the_same_result():
    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    f = lambda x: np.tanh(W @ x) + np.max(x, keepdims=True) ** 2   # noqa: E731 (max: no dual)
    J = md.numeric_jacobian(f, x, method="accurate")
    loop = md.numeric_jacobian(_one_at_a_time(f), x, method="complex")
    np.testing.assert_allclose(J, loop, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("check", [False, True], ids=["numeric_jacobian", "failing check"])
def test_dual_numbers_that_miss_the_complex_step_are_not_used(check, monkeypatch):
    """The dual numbers' Jacobian must reproduce the complex steps of f along the probe's
    random directions (single complex evaluations) to rounding: a wrong rule (here tanh's
    derivative taken as 1 - tanh) is caught, and complex arithmetic gives the Jacobian."""
    import matdiff._dual as dual

    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    f = lambda x: np.tanh(W @ x)  # noqa: E731
    right = md.numeric_jacobian(_one_at_a_time(f), x, method="complex")
    monkeypatch.setitem(dual.DERIVATIVES, np.tanh, lambda a, r: 1.0 - r)
    if check:
        r = md.check_jacobian(f, (1 - np.tanh(W @ x))[:, None] * W, x)
        assert r.diagnosis == "wrong-values" and r.mistakes.all()    # every entry wrong
    J = md.numeric_jacobian(f, x, method="accurate")
    np.testing.assert_allclose(J, right, rtol=1e-13, atol=1e-15)


def test_a_check_takes_its_directional_complex_steps_as_dual_numbers():
    """A right answer is confirmed along 4 random directions: their complex steps are one
    call of f with dual numbers (checked against the one single complex call that verifies
    the complex step), not 4 complex calls; the verdict is the same as with them."""
    W = rng.standard_normal((7, 5))
    x = rng.standard_normal(5)
    seen = []

    def f(x):
        seen.append("complex" if type(x) is np.ndarray and np.iscomplexobj(x) else
                    type(x).__name__)
        return np.tanh(W @ x)

    right = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    r = md.check_jacobian(f, right, x)
    assert r.ok and seen.count("_Dual") == 1 and seen.count("complex") == 1, seen
    single = md.check_jacobian(_one_at_a_time(lambda x: np.tanh(W @ x)), right, x)
    assert single.ok and max(r.max_abs_error, single.max_abs_error) < 1e-14   # rounding

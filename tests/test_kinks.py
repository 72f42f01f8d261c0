"""matdiff._kinks: dual numbers through abs, maxima, np.where and comparisons give the exact
Jacobian of a piecewise function away from its kinks; "accurate" uses them only when they
reproduce finite differences along random directions, and falls back to Richardson
extrapolation when they do not (a wrong rule, a tie at the point)."""

from __future__ import annotations

import numpy as np
import pytest
from test_dual import ANALYTIC, _dual, _points
from test_stacked import MATRIX, VECTOR

import matdiff as md
import matdiff._kinks as kinks
from matdiff._directions import along_random_directions
from matdiff._kinks import kinked_stack, trusted
from matdiff.numeric import jacobian_with_error

rng = np.random.default_rng(20261204)
W, b = rng.standard_normal((6, 4)), rng.standard_normal(6)


def _softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


PIECEWISE = {   # f, and its Jacobian by hand (numerator layout), at points away from the kinks
    "abs": (lambda x: np.abs(x) * x, lambda x: np.diag(2 * np.abs(x))),
    "builtin abs": (lambda x: abs(W @ x), lambda x: np.sign(W @ x)[:, None] * W),
    "relu": (lambda x: np.maximum(W @ x + b, 0.0),
             lambda x: (W @ x + b > 0)[:, None] * W),
    "minimum, reversed": (lambda x: np.minimum(1.0, x**2),
                          lambda x: np.diag(np.where(x**2 < 1, 2 * x, 0.0))),
    "fmax and fmin of two duals": (
        lambda x: np.fmax(x, x[::-1] ** 3) + np.fmin(np.tanh(x), 0.5 * x),
        lambda x: np.where((x > x[::-1] ** 3)[:, None], np.eye(4), np.diag(3 * x**2)[::-1])
        + np.diag(np.where(np.tanh(x) < 0.5 * x, 1 - np.tanh(x) ** 2, 0.5))),
    "softplus": (lambda x: _softplus(W @ x + b), lambda x: _sigmoid(W @ x + b)[:, None] * W),
    "where": (lambda x: np.where(x > 0, x**2, -3 * x), lambda x: np.diag(np.where(x > 0, 2 * x, -3.0))),
    "where with a constant": (lambda x: np.where(W @ x > 0, 1.0, W @ x),
                              lambda x: (W @ x <= 0)[:, None] * W),
    "clip": (lambda x: np.clip(2 * x, -0.5, 0.5) + x.clip(max=0.2) + np.clip(x, a_min=-0.1, a_max=None),
             lambda x: np.diag(2.0 * (np.abs(2 * x) < 0.5) + (x < 0.2) + (x > -0.1))),
    "comparison as a factor": (lambda x: (x > 0) * x**3, lambda x: np.diag((x > 0) * 3 * x**2)),
    "sign": (lambda x: np.sign(x) * np.sin(x), lambda x: np.diag(np.sign(x) * np.cos(x))),
    "boolean index": (lambda x: np.sum(x[x > 0] ** 2, keepdims=True),
                      lambda x: (2 * x * (x > 0))[None, :]),
    "python branch": (lambda x: np.exp(x) if bool(np.all(np.isfinite(x))) else x,
                      lambda x: np.diag(np.exp(x))),
}


def _away_from_kinks() -> np.ndarray:
    """A point whose entries and W x + b are all away from 0, +-0.25, +-0.5, +-1 (the kinks
    above) by more than 0.02."""
    while True:
        x = rng.uniform(-1.5, 1.5, 4)
        values = np.concatenate([x, 2 * x, x**2, W @ x, W @ x + b, x - x[::-1] ** 3,
                                 np.tanh(x) - 0.5 * x, x - 0.2, x + 0.1])
        if np.min(np.abs(np.abs(values[:, None]) - [0.0, 0.25, 0.5, 1.0])) > 0.02:
            return x


@pytest.mark.parametrize("seeds", [False, True], ids=["dense", "seeds"])
@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_dual_numbers_through_kinks_give_the_exact_jacobian(name, seeds):
    f, jac = PIECEWISE[name]
    x = _away_from_kinks()
    steps = np.eye(4)
    stack = kinked_stack(x, steps) if not seeds else kinked_stack(x, np.ones(4), np.arange(4))
    out = np.asarray(f(stack))
    assert out.dtype == complex and out.shape == (4, *np.shape(f(x)))
    np.testing.assert_allclose(out.real, np.broadcast_to(f(x), out.shape), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(out.imag.reshape(4, -1).T, jac(x).reshape(-1, 4),
                               rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_through_kinks_analytic_functions_are_the_dual_numbers(name):
    """The rules of matdiff._dual are unchanged: the same numbers, whatever the tangents."""
    x = rng.standard_normal(4)
    steps, _ = _points(x)
    plain = np.asarray(ANALYTIC[name](_dual(x, steps, True)))
    flat = steps.reshape(4, -1)
    idx = np.argmax(flat != 0, axis=1)
    through = np.asarray(ANALYTIC[name](kinked_stack(x, flat[np.arange(4), idx], idx)))
    np.testing.assert_array_equal(through, plain)


@pytest.mark.parametrize("name", sorted(VECTOR) + sorted(MATRIX))
def test_through_kinks_each_function_gives_its_derivatives_or_raises(name):
    """matdiff._stacked's functions: the dual numbers' tangents are the derivatives (against
    Richardson extrapolation one point at a time), or the function raises (max, ones_like...)."""
    f = VECTOR.get(name) or MATRIX[name]
    x = rng.standard_normal(4) if name in VECTOR else rng.standard_normal((3, 4))
    try:
        out = np.asarray(f(kinked_stack(x, np.ones(x.size), np.arange(x.size))))
    except (TypeError, AttributeError):
        return
    want = md.numeric_jacobian(lambda p: np.asarray(f(p.copy())), x, method="richardson")
    np.testing.assert_allclose(out.imag.reshape(x.size, -1).T, want.reshape(-1, x.size),
                               rtol=1e-8, atol=1e-8)


def _recorded_layer(W: np.ndarray, shift: float):
    """softplus(W x + shift), and the list of the types of x it was called with."""
    calls = []

    def f(x):
        calls.append(type(x).__name__)
        return _softplus(W @ x + shift)

    return f, calls


def test_accurate_takes_the_dual_numbers_through_kinks_in_a_few_calls():
    W = rng.standard_normal((50, 30)) / 5
    x = rng.standard_normal(30)
    f, calls = _recorded_layer(W, 0.1)
    J, err, _, used = jacobian_with_error(f, x)
    exact = _sigmoid(W @ x + 0.1)[:, None] * W
    assert used == "dual" and np.abs(J - exact).max() < 1e-15
    assert err.max() < 1e-14                       # rounding, as for the complex step
    assert calls.count("_Dual") == 1 and len(calls) < 16, calls
    np.testing.assert_array_equal(md.numeric_jacobian(f, x, method="accurate"), J)
    # asked for explicitly, the complex step still falls back to Richardson, as it says
    with pytest.warns(RuntimeWarning, match="complex step"):
        rich = md.numeric_jacobian(f, x, method="complex")
    assert np.abs(rich - exact).max() > 1e-15 and np.abs(rich - exact).max() < 1e-9


def test_a_wrong_rule_is_caught_and_richardson_is_used(monkeypatch):
    """abs's slope taken as 1: the dual numbers' Jacobian misses the central differences along
    the random directions, so it is not used."""
    x = _away_from_kinks()
    f = PIECEWISE["softplus"][0]
    right = PIECEWISE["softplus"][1](x)
    monkeypatch.setitem(kinks.SLOPES, np.absolute, np.ones_like)
    J, err, _, used = jacobian_with_error(f, x)
    assert used == "richardson"
    np.testing.assert_allclose(J, right, rtol=1e-10, atol=1e-12)
    wrong = np.asarray(f(kinked_stack(x, np.ones(4), np.arange(4)))).imag.T
    assert np.abs(wrong - right).max() > 0.1        # what was refused
    r = md.check_jacobian(f, right, x)
    assert r.ok, r.message


def test_a_function_that_turns_them_into_complex_numbers_is_caught():
    """np.asarray of dual numbers gives the complex step's points, value + i tangent: complex
    arithmetic on them is the complex step, which abs breaks (x |x| would have the slope |x|),
    yet with the right shape; the central differences refuse it."""
    x = np.array([0.3, -0.7, 1.1, -0.2])
    f = lambda x: np.asarray(x) * np.abs(np.asarray(x))  # noqa: E731
    h = 1e-20
    wrong = np.asarray(f(kinked_stack(x, np.full(4, h), np.arange(4)))).imag / h
    right = np.diag(2 * np.abs(x))
    np.testing.assert_allclose(wrong, np.diag(np.abs(x)))
    J, _, _, used = jacobian_with_error(f, x)
    assert used == "richardson"
    np.testing.assert_allclose(J, right, rtol=1e-10, atol=1e-12)


def test_the_verification_refuses_a_difference_off_by_more_than_its_error():
    rows = rng.standard_normal((5, 3))
    v = rng.standard_normal((2, 5))
    fd, err = v @ rows, np.full((2, 3), 1e-11)
    assert trusted(rows, v, fd + 5e-11, err)
    assert not trusted(rows, v, fd + 1e-8 * np.eye(2, 3), err)    # beyond 10 x 1e-11 + rounding
    assert not trusted(rows, v, fd, np.full((2, 3), 1e-3))    # a reference too coarse to tell
    assert not trusted(rows, v, fd * np.nan, err)


def test_a_kink_at_the_point_gives_what_richardson_gives():
    """relu at exactly 0 has no derivative: the dual numbers (the average of the two slopes)
    are used only when they reproduce the central differences; either way the entry is 1/2,
    what central differences and Richardson extrapolation give there."""
    x = np.array([0.0, 0.7, -0.4, 0.0, 1.3])
    f = lambda x: np.maximum(x, 0.0) + np.sin(x)  # noqa: E731
    J = md.numeric_jacobian(f, x, method="accurate")
    rich = md.numeric_jacobian(f, x, method="richardson")
    np.testing.assert_allclose(J, rich, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.diag(J), np.cos(x) + [0.5, 1.0, 0.0, 0.5, 1.0], atol=1e-9)


def test_a_kink_near_the_point_refuses_the_dual_numbers():
    """A kink closer than the central differences' steps: they straddle it, so they cannot
    confirm the dual numbers (right as they are there): Richardson extrapolation, as before."""
    A = rng.standard_normal((5, 3))
    x = rng.standard_normal(3)
    shift = A @ x
    shift[2] -= 1e-9                      # output 2 sits 1e-9 from abs's kink
    f = lambda x: np.abs(A @ x - shift)  # noqa: E731
    J, _, _, used = jacobian_with_error(f, x)
    assert used == "richardson"
    np.testing.assert_array_equal(J, md.numeric_jacobian(f, x, method="richardson"))
    far = lambda x: np.abs(A @ x - shift + 0.1)  # noqa: E731
    assert jacobian_with_error(far, x)[3] == "dual"


def test_a_check_of_a_function_with_kinks_takes_its_directions_as_dual_numbers():
    W = rng.standard_normal((40, 20)) / 4
    x = rng.standard_normal(20)
    f, calls = _recorded_layer(W, -0.2)
    right = _sigmoid(W @ x - 0.2)[:, None] * W
    r = md.check_jacobian(f, right, x)
    assert r.ok and r.max_abs_error < 1e-14, r.message
    assert calls.count("_Dual") == 1 and len(calls) < 10, calls
    found = along_random_directions(f, [x], [0], f(x), through_kinks=True)
    assert found.method == "dual"
    np.testing.assert_allclose(found.derivatives, found.directions[0] @ right.T, rtol=1e-13,
                               atol=1e-14)
    assert along_random_directions(f, [x], [0], f(x)).method == "richardson"   # not asked


def test_a_wrong_answer_gets_the_verdict_and_map_of_the_full_check():
    """The failing check's full Jacobian (dual numbers through kinks, verified against the
    directional comparison's own derivatives) gives the verdict, diagnosis and map of the
    full check, whose dual numbers are verified against new central differences."""
    W = rng.standard_normal((30, 12)) / 3
    x = rng.standard_normal(12)
    f = lambda x: _softplus(W @ x + 0.1)  # noqa: E731
    s = _sigmoid(W @ x + 0.1)
    for wrong in (s[:, None] * W.mean(axis=0), -s[:, None] * W, 2 * s[:, None] * W,
                  (s[:, None] * W).T):
        fast = md.check_jacobian(f, wrong, x)
        full = md.check_jacobian(f, wrong, x, full=True)
        assert not fast.ok
        for field in ("message", "diagnosis", "max_abs_error", "max_rel_error", "tolerance"):
            assert getattr(fast, field) == getattr(full, field), field
        np.testing.assert_array_equal(fast.mistakes, full.mistakes)

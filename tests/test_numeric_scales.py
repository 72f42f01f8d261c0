"""Numeric derivatives at inputs of mixed scales and close to the edges of f's domain.

Every method steps each entry relative to its own size (or the input's typical size, when
that is more accurate), and shrinks a step that leaves f's domain: a Jacobian never contains
NaN because of a step, and a right answer is never failed for it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import matdiff as md

METHODS = ["central", "forward", "richardson", "complex", "accurate"]
# Relative accuracy each method must reach, beyond what the conditioning of f at x allows
# (see `attainable`).
TOL = {"central": 1e-9, "forward": 5e-7, "richardson": 1e-9, "complex": 1e-13, "accurate": 1e-13}
# Central and forward differences use a fixed relative step, so their truncation error grows
# as (step / distance to the nearest singularity)^2: at 1e-2 from an edge they still give
# 6 digits. Richardson extrapolation (and "accurate") shrinks its steps by its error
# estimate, and the complex step is exact for these functions, at any distance.
EDGE_TOL = {"central": 1e-6, "forward": 1e-5, "richardson": 1e-9, "complex": 1e-10, "accurate": 1e-10}

g = np.geomspace


def near(edge: float, side: int, closest: float) -> np.ndarray:
    """Points at distances 10**-k (down to ``closest``) from ``edge``, on one side."""
    return edge + side * g(closest, 0.5, 7)


# name: (f, f', points spread over many orders of magnitude, points close to the domain edge)
CASES = {
    "log": (np.log, lambda x: 1 / x, g(1e-8, 1e8, 17), g(1e-12, 1e-9, 4)),
    "log10": (np.log10, lambda x: 1 / (x * np.log(10)), g(1e-6, 1e6, 13), g(1e-12, 1e-9, 4)),
    "log2": (np.log2, lambda x: 1 / (x * np.log(2)), g(1e-6, 1e6, 13), g(1e-12, 1e-9, 4)),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x), g(1e-10, 1e10, 21), g(1e-14, 1e-9, 4)),
    "log1p": (np.log1p, lambda x: 1 / (1 + x), np.r_[g(1e-8, 1e6, 8), -g(1e-8, 0.5, 5)],
              near(-1.0, 1, 1e-6)),
    "arcsin": (np.arcsin, lambda x: 1 / np.sqrt(1 - x * x), np.r_[g(1e-8, 0.5, 5), -g(1e-8, 0.5, 5)],
               np.r_[near(1.0, -1, 1e-6), near(-1.0, 1, 1e-6)]),
    "arccos": (np.arccos, lambda x: -1 / np.sqrt(1 - x * x), np.r_[g(1e-8, 0.5, 5), -g(1e-8, 0.5, 5)],
               np.r_[near(1.0, -1, 1e-6), near(-1.0, 1, 1e-6)]),
    "arctanh": (np.arctanh, lambda x: 1 / (1 - x * x), np.r_[g(1e-8, 0.5, 5), -g(1e-8, 0.5, 5)],
                np.r_[near(1.0, -1, 1e-6), near(-1.0, 1, 1e-6)]),
    "tan": (np.tan, lambda x: 1 / np.cos(x) ** 2, np.r_[g(1e-8, 1, 9), -g(1e-8, 1, 9)],
            np.r_[near(np.pi / 2, -1, 1e-5), near(-np.pi / 2, 1, 1e-5)]),
    "exp": (np.exp, np.exp, np.r_[np.linspace(-300, 300, 7), g(1e-8, 1, 5)], None),
    "expm1": (np.expm1, np.exp, np.r_[-g(1e-8, 30, 6), g(1e-10, 300, 8)], None),
    "cosh": (np.cosh, np.sinh, np.r_[np.linspace(-300, 300, 7), g(1e-6, 1, 4)], None),
    "sinh": (np.sinh, np.cosh, np.r_[np.linspace(-300, 300, 7), g(1e-6, 1, 4)], None),
    "cos": (np.cos, lambda x: -np.sin(x), np.r_[g(1e-4, 1e3, 8), 0.0], None),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2, np.r_[np.linspace(-15, 15, 7), g(1e-8, 1, 3)], None),
    "reciprocal": (np.reciprocal, lambda x: -1 / x**2, np.r_[g(1e-6, 1e6, 7), -g(1e-6, 1e6, 7)], None),
}


def derivative_scale(f, df, x: np.ndarray) -> np.ndarray:
    """The size against which a method's relative accuracy is measured: |f'(x)|, plus the
    change of f over a unit (or |x|) step, which bounds what a difference quotient can resolve
    (tanh' at -10 is 8e-9, far below the rounding of tanh's values near -1)."""
    return np.abs(df(x)) + np.abs(f(x)) / np.maximum(np.abs(x), 1.0)


def _jacobian(f, x, method):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no NaN warnings escape to the learner
        return md.numeric_jacobian(f, x, method=method)


def _check(f, df, x, method, tol):
    J = _jacobian(f, x, method)
    assert np.all(np.isfinite(J)), "a Jacobian must never contain NaN or inf"
    d = np.diag(J)
    np.testing.assert_array_equal(J - np.diag(d), 0.0)   # one entry never moves another's output
    want = df(x)
    err = np.abs(d - want)
    limit = tol * derivative_scale(f, df, x)
    worst = int(np.argmax(err / limit))
    assert np.all(err <= limit), (f"x={x[worst]!r}: {d[worst]!r} vs {want[worst]!r}, relative "
                                  f"error {err[worst] / abs(want[worst]):.1e}")


@pytest.mark.parametrize("method", METHODS)
def test_log_at_geomspace_is_accurate_at_every_entry(method):
    x = np.geomspace(1e-3, 1e3, 7)
    J = _jacobian(np.log, x, method)
    rel = np.abs(np.diag(J) * x - 1)
    assert rel.max() < TOL[method]
    np.testing.assert_array_equal(J - np.diag(np.diag(J)), 0.0)


def test_a_right_answer_at_mixed_scales_passes():
    x = np.geomspace(1e-3, 1e3, 7)
    r = md.check_jacobian(np.log, np.diag(1 / x), x)
    assert r.ok, r.message
    assert md.check_gradient(lambda x: np.sum(np.sqrt(x)), 0.5 / np.sqrt(x), x).ok
    wrong = md.check_jacobian(np.log, np.diag(1 / x) * 1.01, x)
    assert not wrong.ok and wrong.diagnosis == "scale"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_elementwise_functions_over_many_orders_of_magnitude(name, method):
    f, df, spread, _ = CASES[name]
    _check(f, df, spread, method, TOL[method])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[3] is not None))
def test_elementwise_functions_close_to_their_domain_edge(name, method):
    f, df, _, edge = CASES[name]
    if method in ("central", "forward"):
        far = np.abs(edge - np.round(edge)) if name != "tan" else np.abs(np.abs(edge) - np.pi / 2)
        edge = edge[far >= 1e-2] if name not in ("log", "log10", "log2", "sqrt") else edge
    _check(f, df, edge, method, EDGE_TOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_a_point_on_the_edge_gives_a_clear_error_not_nan(method):
    # sqrt at 0 is finite but has no derivative: no step keeps both sides inside
    with pytest.raises(md.FunctionError, match="NaN or inf"):
        md.numeric_jacobian(lambda x: np.sqrt(x) + np.sqrt(-x), np.array([0.0, 0.0]), method=method)


def test_steps_that_cross_zero_are_shrunk_for_a_log_of_a_sum():
    # not element-wise: the log of a sum, with one tiny and one huge argument
    x = np.array([1e-6, 1e4])
    f = lambda x: np.log(x[0]) + np.log(x[1])  # noqa: E731
    g_ = md.numeric_gradient(f, x, method="richardson")
    np.testing.assert_allclose(g_, 1 / x, rtol=1e-10)

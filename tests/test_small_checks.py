"""A check of a small Jacobian that one call of f with dual numbers gives compares every entry
instead of the directional comparison (matdiff.checks.SMALL): the same verdicts as the full
check, a few calls of f, and the directional comparison for anything else."""

from __future__ import annotations

import numpy as np
import pytest

import matdiff as md
import matdiff.checks as checks


@pytest.fixture
def compared(monkeypatch):
    """How many times the directional comparison ran."""
    runs = []
    confirm = checks.confirm
    monkeypatch.setattr(checks, "confirm", lambda *a, **k: runs.append(1) or confirm(*a, **k))
    return runs


def _traced(f):
    seen = []

    def g(x):
        seen.append("complex" if type(x) is np.ndarray and np.iscomplexobj(x) else type(x).__name__)
        return f(x)

    return g, seen


@pytest.mark.parametrize("kind", ["tanh", "softplus"])
def test_a_small_jacobian_is_compared_entry_by_entry_after_one_dual_call(kind, rng, compared):
    W = rng.standard_normal((30, 20)) / 4
    x = rng.standard_normal(20)
    z = W @ x - 0.1
    if kind == "tanh":
        f = lambda x: np.tanh(W @ x - 0.1)  # noqa: E731
        right = (1 - np.tanh(z) ** 2)[:, None] * W
    else:
        f = lambda x: np.maximum(W @ x - 0.1, 0) + np.log1p(np.exp(-np.abs(W @ x - 0.1)))  # noqa: E731
        right = (1 / (1 + np.exp(-z)))[:, None] * W
    g, seen = _traced(f)
    for answer, calls in ((right, 7), (2 * right, 7), (right.T, 12)):   # another shape: full
        seen.clear()
        fast = md.check_jacobian(g, answer, x)
        assert seen.count("_Dual") == 1 and len(seen) <= calls, seen
        full = md.check_jacobian(f, answer, x, full=True)
        for field in ("ok", "message", "diagnosis", "max_abs_error", "tolerance"):
            assert getattr(fast, field) == getattr(full, field), field
    assert md.check_jacobian(g, right, x).ok and not compared    # no directional comparison


def test_a_function_dual_numbers_cannot_take_gets_the_directional_comparison(rng, compared):
    A = rng.standard_normal((6, 6))
    x = rng.standard_normal(6)
    g, seen = _traced(lambda x: float(x @ A @ x))         # float(): no dual numbers
    assert md.check_gradient(g, (A + A.T) @ x, x).ok
    assert compared == [1] and seen.count("_Dual") == 1          # the one dual call refused


def test_a_big_jacobian_gets_the_directional_comparison(rng, compared):
    W = rng.standard_normal((200, 200)) / 14        # 40,000 entries > SMALL
    x = rng.standard_normal(200)
    assert W.size > checks.SMALL
    r = md.check_jacobian(lambda x: np.tanh(W @ x), (1 - np.tanh(W @ x) ** 2)[:, None] * W, x)
    assert r.ok and compared == [1]

"""Checks at the cost of a few evaluations (issue 16): a right answer is confirmed along a few
random directions; a wrong one gets exactly the verdict, diagnosis and map of the full check;
no check or numeric Jacobian needs memory beyond a small multiple of its inputs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import matdiff as md


class Counted:
    """f, counting its calls."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *args):
        self.calls += 1
        return self.f(*args)


def quadratic(n, rng):
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    return A, (lambda x: float(x @ A @ x)), (lambda x: (A + A.T) @ x)


@pytest.mark.parametrize("n", [3, 300])
def test_a_right_gradient_passes_after_a_few_evaluations_whatever_n(n, rng):
    A, f, grad = quadratic(n, rng)
    counted = Counted(lambda x: x @ A @ x)
    r = md.check_gradient(counted, grad, rng.standard_normal(n), name="grad")
    assert r.ok, r.message
    assert counted.calls <= 12, counted.calls      # f0, one real probe, k = 4 directions
    assert r.message.startswith("✓ grad: correct (largest difference from the numeric derivative")


@pytest.mark.parametrize("n", [3, 300])
def test_without_the_complex_step_still_a_few_evaluations(n, rng):
    """float() drops the imaginary part (a TypeError for complex): Richardson extrapolation
    along the directions instead, still independent of n."""
    A, f, grad = quadratic(n, rng)
    counted = Counted(f)
    assert md.check_gradient(counted, grad, rng.standard_normal(n)).ok
    assert counted.calls <= 40, counted.calls


def test_richardson_along_the_directions_is_batched_with_the_same_derivatives(rng):
    """Without the complex step (np.abs), Richardson extrapolation's points along the
    directions go to f in one batch when f allows it: a few calls of f, and the derivatives
    of one call per point, to rounding."""
    from matdiff._directions import along_random_directions

    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    f = Counted(lambda x: np.abs(W @ x) + np.tanh(x[:1]))

    def single(x):     # refuses a stack: one call per point
        if type(x) is not np.ndarray or x.shape != (5,):
            raise TypeError("one point at a time")
        return f(x)

    batched = along_random_directions(f, [x], [0], f(x))
    assert batched.method == "richardson" and f.calls < 20, f.calls    # 32 points
    f.calls = 0
    loop = along_random_directions(single, [x], [0], f(x))
    assert f.calls > 32
    np.testing.assert_allclose(batched.derivatives, loop.derivatives, rtol=1e-11, atol=1e-12)
    np.testing.assert_array_equal(batched.directions[0], loop.directions[0])


def test_right_jacobian_and_backward_pass_after_a_few_evaluations(rng):
    W = rng.standard_normal((40, 30))
    f = Counted(lambda x: np.tanh(W @ x))
    x = rng.standard_normal(30)
    jac = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    assert md.check_jacobian(f, jac, x).ok and f.calls <= 12
    f.calls = 0
    assert md.check_jacobian(f, jac.T, x, layout="denominator").ok and f.calls <= 12

    lin = Counted(lambda X, W, b: X @ W + b)
    X, W2, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    r = md.check_backward(lin, lambda X, W, b, G: (G @ W.T, X.T @ G, G.sum(axis=0)), X, W2, b)
    assert r.ok and lin.calls <= 13, (r.message, lin.calls)   # all three gradients at once
    assert r.message.splitlines()[0] == "✓ backward: all 3 gradients correct."


def test_float32_and_squeezed_answers_pass_with_the_usual_message(rng):
    W = rng.standard_normal((3, 4))
    x = rng.standard_normal((4, 1))
    r = md.check_gradient(lambda x: float(np.sum(np.sin(W @ x))),
                          (W.T @ np.cos(W @ x)).astype(np.float32), x)
    assert r.ok and "computed in float32;" in r.message, r.message
    v = rng.standard_normal(4)
    r = md.check_jacobian(lambda v: W[:1] @ v, W[0], v)        # (1, 4) given as (4,)
    assert r.ok and "as shape (4,);" in r.message, r.message


WRONG = {
    "sign": lambda A, x: -(A + A.T) @ x,
    "transpose-free": lambda A, x: 2 * A @ x,
    "scale": lambda A, x: 2 * (A + A.T) @ x,
    "imprecise": lambda A, x: (A + A.T) @ x * (1 + 1e-4),
    "one entry": lambda A, x: (A + A.T) @ x + np.eye(len(x))[1],
    "not-finite": lambda A, x: (A + A.T) @ x / np.array([1.0, 0.0, 1.0, 1.0, 1.0]),
    "shape": lambda A, x: ((A + A.T) @ x)[:, None],
    "not-array": lambda A, x: None,
}


@pytest.mark.parametrize("kind", sorted(WRONG))
def test_a_wrong_answer_gets_the_full_checks_verdict(kind, rng):
    A, f, _ = quadratic(5, rng)
    x = rng.standard_normal(5)
    with np.errstate(divide="ignore"):
        fast = md.check_gradient(f, lambda x: WRONG[kind](A, x), x)
        full = md.check_gradient(f, lambda x: WRONG[kind](A, x), x, full=True)
    assert not fast.ok
    assert (fast.message, fast.diagnosis, fast.max_abs_error) == \
        (full.message, full.diagnosis, full.max_abs_error)
    np.testing.assert_array_equal(fast.mistakes, full.mistakes)


def test_a_failing_check_verifies_the_complex_step_with_its_own_directions(rng, monkeypatch):
    """The directional comparison's derivatives (complex step, verified against a central
    difference) also verify the full Jacobian's complex step: no second probe of f, and the
    same verdict, map and numbers as the full check."""
    import matdiff.numeric as numeric

    W = rng.standard_normal((7, 5))
    x = rng.standard_normal(5)
    wrong = (1 - np.tanh(W @ x))[:, None] * W           # tanh' taken as 1 - tanh
    probes = []
    made = numeric._ComplexProbe.__init__
    monkeypatch.setattr(numeric._ComplexProbe, "__init__",
                        lambda self, *a, **k: probes.append(made(self, *a, **k)))
    fast = md.check_jacobian(lambda x: np.tanh(W @ x), wrong, x)
    assert len(probes) == 1            # the directional comparison's own
    full = md.check_jacobian(lambda x: np.tanh(W @ x), wrong, x, full=True)
    assert len(probes) == 2
    assert not fast.ok and fast.diagnosis == "wrong-values"
    for field in ("message", "diagnosis", "max_abs_error", "max_rel_error", "tolerance"):
        assert getattr(fast, field) == getattr(full, field), field
    np.testing.assert_array_equal(fast.mistakes, full.mistakes)


def test_a_wrong_backward_gets_the_full_checks_verdict(rng):
    X, W, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    wrong = lambda X, W, b, G: (G @ W.T, X.T @ G, G.mean(axis=0))  # noqa: E731
    fast = md.check_backward(lambda X, W, b: X @ W + b, wrong, X, W, b)
    full = md.check_backward(lambda X, W, b: X @ W + b, wrong, X, W, b, full=True)
    assert (fast.message, fast.diagnosis) == (full.message, full.diagnosis)
    assert fast.diagnosis == "scale"


def test_the_complex_step_is_verified_before_it_confirms_anything(rng):
    """np.abs drops a complex step's imaginary part: the derivative of |x| would look like 0,
    and an answer that forgot that term must not pass."""
    x = rng.standard_normal(6)
    f = lambda x: np.sum(x**2) + np.sum(np.abs(x))  # noqa: E731
    assert md.check_gradient(f, lambda x: 2 * x + np.sign(x), x).ok
    r = md.check_gradient(f, lambda x: 2 * x, x)
    assert not r.ok and r.diagnosis == "wrong-values"


@pytest.mark.parametrize("answer", [None, "X.T @ G", np.ones(7), np.ones((3, 4, 5))])
def test_a_wrong_shape_or_no_array_is_decided_without_evaluating_f(answer, rng):
    X = rng.standard_normal((8, 6))
    f = Counted(lambda W: np.sum(np.tanh(X @ W)))
    W = rng.standard_normal((6, 4))
    r = md.check_gradient(f, answer, W)
    assert f.calls == 1 and r.diagnosis in {"shape", "not-array"}    # f at the point only
    assert r.message == md.check_gradient(f, answer, W, full=True).message
    f.calls = 0
    assert md.check_jacobian(f, answer, W).diagnosis in {"shape", "not-array"} and f.calls == 1
    calls = []
    for dW in (answer, np.zeros(W.shape)):     # unrelated vs right shape, wrong values
        lin = Counted(lambda X, W: X @ W)
        r = md.check_backward(lin, lambda X, W, G, dW=dW: (G @ W.T, dW), X, W)
        calls.append(lin.calls)
    assert r.diagnosis == "wrong-values" and calls[0] < calls[1]   # dW's derivative not computed


def test_verdicts_are_reproducible(rng):
    A, f, grad = quadratic(50, rng)
    x = rng.standard_normal(50)
    first, again = md.check_gradient(f, grad, x), md.check_gradient(f, grad, x)
    assert first.message == again.message and first.max_abs_error == again.max_abs_error


def test_false_passes_are_as_rare_as_the_documented_bound(rng):
    """matdiff._confirm: one entry of n = 10 off by q = 100 tolerances passes with probability
    at most (sqrt(2/pi) * 2 sqrt(n) / q) ** 4, about 7e-6; spread errors far less."""
    passed = 0
    for _ in range(150):
        n = 10
        A = rng.standard_normal((n, n))
        x = rng.standard_normal(n)
        g = (A + A.T) @ x
        one = g.copy()
        j = rng.integers(n)
        one[j] += 100 * (1e-6 * abs(g[j]) + 1e-7 * np.abs(g).max() + 1e-10)
        spread = g * (1 + 1e-4 * rng.choice([-1, 1], n))
        for wrong in (one, spread):
            passed += md.check_gradient(lambda x, A=A: x @ A @ x, wrong, x).ok
    assert passed == 0


def test_full_asks_for_every_entry(rng):
    """Near the tolerance the fast path can only bound a row's error as a whole (see
    matdiff._confirm): full=True compares every entry."""
    n = 2000
    x = rng.standard_normal(n)
    f = Counted(lambda x: 0.5 * float(x @ x))
    almost = x.copy()
    almost[7] *= 1 + 1e-3        # one entry off by 0.1 %: 1000 times its tolerance
    r = md.check_gradient(f, almost, x, full=True)
    assert not r.ok and f.calls > n and r.diagnosis == "imprecise"
    np.testing.assert_array_equal(np.flatnonzero(r.mistakes), [7])


def test_a_big_weight_is_checked_in_a_small_multiple_of_its_memory(rng):
    """512 x 512 inputs: the full Jacobian's perturbed points alone would take 4 TiB."""
    X = rng.standard_normal((16, 512))
    W = rng.standard_normal((512, 512)) / np.sqrt(512)
    f = Counted(lambda W: np.sum(np.tanh(X @ W) ** 2))
    tracemalloc.start()
    try:
        r = md.check_gradient(f, lambda W: X.T @ (2 * np.tanh(X @ W) * (1 - np.tanh(X @ W) ** 2)), W)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.ok, r.message
    assert f.calls <= 12
    assert peak < 24 * W.nbytes, peak / W.nbytes


def test_numeric_jacobian_batches_in_chunks_bounded_by_memory(rng):
    n = 4000     # all 2n central-difference points at once would be 256 MB
    x = rng.standard_normal(n)
    tracemalloc.start()
    try:
        g = md.numeric_gradient(lambda x: np.sum(x**2, axis=-1), x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6, atol=1e-6)
    assert peak < 64e6, peak / 1e6


def test_accurate_batches_a_function_written_for_one_point(rng):
    W = rng.standard_normal((200, 100)) / 10
    x = rng.standard_normal(100)
    f = Counted(lambda x: np.tanh(W @ x))
    J = md.numeric_jacobian(f, x, method="accurate")
    np.testing.assert_allclose(J, (1 - np.tanh(W @ x) ** 2)[:, None] * W, atol=1e-14)
    assert f.calls < 30       # the n complex points go in one call (trailing batch axis)


ONE_POINT = {   # functions written for one point, as learners write them
    "layer": lambda W, b, x: np.tanh(W @ x + b),
    "softplus": lambda W, b, x: np.maximum(W @ x + b, 0) + np.log1p(np.exp(-np.abs(W @ x + b))),
    "loss": lambda W, b, x: np.sum(np.log1p(x**2)) + 0.5 * np.sum((W @ x - b) ** 2),
    "mean-max": lambda W, b, x: (W @ x).mean() - np.max(W @ x, keepdims=True) + x.T @ x,
    "indexing": lambda W, b, x: np.where(x[:3] > 0, x[:3], 0.0) * x[0] + np.dot(W, x)[:3],
    "reshape": lambda W, b, x: x.reshape(4, 4) @ x.reshape(4, 4).T,
}


@pytest.mark.parametrize("kind", sorted(ONE_POINT))
def test_functions_written_for_one_point_are_evaluated_in_batches(kind, rng):
    W, b, x = rng.standard_normal((5, 16)), rng.standard_normal(5), rng.standard_normal(16)
    f = Counted(lambda x: ONE_POINT[kind](W, b, x))
    for method in ("central", "accurate"):
        f.calls = 0
        J = md.numeric_jacobian(f, x, method=method)
        loop = md.numeric_jacobian(lambda x: ONE_POINT[kind](W, b, x.copy()), x, method=method)
        np.testing.assert_allclose(J, loop, rtol=1e-9, atol=1e-9)
        assert f.calls < 20, (method, f.calls)     # not one call per perturbed point (>= 32)

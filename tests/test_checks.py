"""check_* / assert_*: every diagnosis is named, correct answers never fail, wrong ones
never pass, and no message gives the expected values away."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matdiff as md

SHAPES = [(5, 3), (4, 4)]   # non-square and square


def linear(X, W, b):
    return X @ W + b


def right(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=0)


WRONG_LINEAR = {
    "transpose": lambda X, W, b, G: (G @ W.T, (X.T @ G).T, G.sum(axis=0)),
    "sign": lambda X, W, b, G: (G @ W.T, -(X.T @ G), G.sum(axis=0)),
    "scale": lambda X, W, b, G: (G @ W.T, X.T @ G, G.mean(axis=0)),
    "missing-sum": lambda X, W, b, G: (G @ W.T, X.T @ G, G),
    "upstream-ignored": lambda X, W, b, G: (np.ones_like(G) @ W.T, X.T @ G, G.sum(axis=0)),
    "not-finite": lambda X, W, b, G: (G @ W.T, X.T @ G / 0.0, G.sum(axis=0)),
    "not-array": lambda X, W, b, G: (G @ W.T, "X.T @ G", G.sum(axis=0)),
    "shape": lambda X, W, b, G: (G @ W.T, (X.T @ G).ravel(), G.sum(axis=0)),
    "wrong-values": lambda X, W, b, G: (G @ W.T, X.T @ G + 0.5, G.sum(axis=0)),
    "not-answered": lambda X, W, b, G: (_ for _ in ()).throw(NotImplementedError()),
    "error": lambda X, W, b, G: (G @ W, X.T @ G, G.sum(axis=0)),
}


def make(shape, rng):
    N, D = shape
    C = 3 if D != 3 else 2
    return rng.standard_normal((N, D)), rng.standard_normal((D, C)), rng.standard_normal(C)


@pytest.mark.parametrize("shape", SHAPES)
def test_right_backward_passes(shape, rng):
    result = md.check_backward(linear, right, *make(shape, rng))
    assert result.ok and bool(result) and result.diagnosis is None
    assert result.max_abs_error < 1e-8
    assert md.assert_backward(linear, right, *make(shape, rng)).ok


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tag", sorted(WRONG_LINEAR))
def test_each_mistake_gets_its_name(tag, shape, rng):
    X, W, b = make(shape, rng)
    if tag == "transpose" and W.shape[0] == W.shape[1]:
        pytest.skip("W is square here only if D == C")
    result = md.check_backward(linear, WRONG_LINEAR[tag], X, W, b)
    assert not result.ok
    assert result.diagnosis == tag, result.message
    assert f"[diagnosis: {tag}]" in result.message
    with pytest.raises(AssertionError, match=re.escape(tag)):
        md.assert_backward(linear, WRONG_LINEAR[tag], X, W, b)


def test_transpose_of_a_square_answer_is_found_by_values(rng):
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal((4, 4))
    f = lambda X: np.sum(A @ X)  # noqa: E731   gradient A^T 1 1^T is not symmetric
    result = md.check_gradient(f, lambda X: (A.T @ np.ones((4, 4))).T, x)
    assert result.diagnosis == "transpose"


def test_other_layout_is_diagnosed_as_transpose(rng):
    A = rng.standard_normal((2, 5))
    v = rng.standard_normal(5)
    r = md.check_jacobian(lambda v: A @ v, A.T, v)
    assert r.diagnosis == "transpose" and "denominator layout" in r.message
    r = md.check_jacobian(lambda v: A @ v, A, v, layout="denominator")
    assert r.diagnosis == "transpose" and "numerator layout" in r.message
    assert md.check_jacobian(lambda v: A @ v, A.T, v, layout="denominator").ok


def test_other_layout_of_a_tensor_jacobian(rng):
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    num = np.einsum("ij,k->ijk", np.eye(2), x)
    assert md.check_jacobian(lambda W: W @ x, num, W).ok
    r = md.check_jacobian(lambda W: W @ x, md.to_denominator(num, 2), W)
    assert r.diagnosis == "transpose"


def test_square_jacobian_in_the_other_layout(rng):
    A = rng.standard_normal((3, 3))
    r = md.check_jacobian(lambda v: A @ v, A.T, rng.standard_normal(3))
    assert r.diagnosis == "transpose"


def test_column_vectors_may_drop_size_one_axes(rng):
    A = rng.standard_normal((2, 4))
    x = rng.standard_normal((4, 1))
    assert md.check_jacobian(lambda x: A @ x, A, x).ok            # (2, 4) for (2,1,4,1)
    assert md.check_jacobian(lambda x: A @ x, A.T, x, layout="denominator").ok
    assert md.check_jacobian(lambda x: A @ x, A.T, x).diagnosis == "transpose"


def test_gradient_must_have_the_shape_of_x(rng):
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal((3, 1))
    f = lambda x: x.T @ A @ x  # noqa: E731
    r = md.check_gradient(f, lambda x: ((A + A.T) @ x).ravel(), x)
    assert r.diagnosis == "shape" and "(3, 1)" in r.message and "numbers are right" in r.message
    r = md.check_gradient(f, lambda x: ((A + A.T) @ x).T, x)
    assert r.diagnosis == "transpose"


def test_missing_sum_over_any_broadcast_axis(rng):
    X = rng.standard_normal((4, 3))
    b = rng.standard_normal((4, 1))          # broadcast along columns
    r = md.check_backward(lambda X, b: X + b, lambda X, b, G: (G, G), X, b)
    assert r.parts[1].diagnosis == "missing-sum" and "axis 1" in r.parts[1].message
    assert md.check_backward(lambda X, b: X + b,
                             lambda X, b, G: (G, G.sum(axis=1, keepdims=True)), X, b).ok


def test_scale_names_the_factor(rng):
    x = rng.standard_normal((2, 3))
    r = md.check_gradient(lambda x: np.sum(x**2), lambda x: x, x)
    assert r.diagnosis == "scale" and "0.5" in r.message


def test_upstream_given_explicitly(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    G = rng.standard_normal((2, 4))
    ignore = lambda A, B, G: (np.ones((2, 4)) @ B.T, A.T @ np.ones((2, 4)))  # noqa: E731
    assert md.check_backward(lambda A, B: A @ B, ignore, A, B,
                             upstream=np.ones((2, 4))).ok
    r = md.check_backward(lambda A, B: A @ B, ignore, A, B, upstream=G)
    assert r.diagnosis == "upstream-ignored"


def test_backward_returning_the_wrong_number_of_gradients(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    r = md.check_backward(lambda A, B: A @ B, lambda A, B, G: (G @ B.T,), A, B)
    assert r.diagnosis == "shape" and "dA, dB" in r.message
    r = md.check_backward(lambda A, B: A @ B, lambda A, B, G: G @ B.T, A, B)
    assert r.diagnosis == "not-array"


@pytest.mark.parametrize("answer, what", [(None, "None"), ("2x", "string"),
                                          (np.sin, "function"), ([[1, 2], [3]], "ragged")])
def test_not_array_answers(answer, what):
    r = md.check_gradient(lambda x: np.sum(x**2), lambda x: answer, np.ones(2))
    assert r.diagnosis == "not-array" and what in r.message


def test_answer_function_error_shows_the_learners_exception():
    def grad(x):
        return x @ np.ones((5, 5))

    r = md.check_gradient(lambda x: np.sum(x**2), grad, np.ones(2))
    assert r.diagnosis == "error" and "ValueError" in r.message and "in grad, line" in r.message


def test_one_wrong_row_is_located(rng):
    X = rng.standard_normal((4, 3))
    def grad(X):
        g = 2 * X
        g[1] += 1.0
        return g
    r = md.check_gradient(lambda X: np.sum(X**2), grad, X)
    assert r.diagnosis == "wrong-values" and "row 1" in r.message
    np.testing.assert_array_equal(r.mistakes, np.isin(np.arange(4), [1])[:, None] * np.ones(3))


def test_messages_never_contain_expected_values(rng):
    X, W, b = make((5, 3), rng)
    for tag, wrong in WRONG_LINEAR.items():
        r = md.check_backward(linear, wrong, X, W, b)
        text = r.message + repr(r) + r._repr_html_()
        G = np.random.default_rng([390, 5, 2]).standard_normal((5, 2))
        for value in np.concatenate([(G @ W.T).ravel(), (X.T @ G).ravel(), G.sum(0)]):
            for fmt in (f"{value:.3g}", f"{value:.4f}", f"{value:.2f}"):
                if len(fmt.lstrip("-0.")) >= 3:   # ignore short numbers like 0.5
                    assert fmt not in text, (tag, fmt)


def test_progress_records_each_exercise():
    md.reset_progress()
    md.check_gradient(lambda x: np.sum(x**2), lambda x: x, np.ones(2), name="ex1")
    md.check_gradient(lambda x: np.sum(x**2), lambda x: 2 * x, np.ones(2), name="ex2")
    md.check_gradient(lambda x: np.sum(x**2), lambda x: 2 * x, np.ones(2), name="ex1")
    p = md.progress()
    assert [r["exercise"] for r in p.rows] == ["ex1", "ex2"]
    assert p.rows[0]["attempts"] == 2 and p.passed == 2
    assert "ex1" in str(p) and "2 of 2 passed" in p._repr_html_()


def test_hints_are_appended_to_the_matching_diagnosis(rng):
    x = rng.standard_normal((2, 3))
    r = md.check_gradient(lambda x: np.sum(x**2), lambda x: x, x,
                          hints={"scale": "Open Hint 2."})
    assert r.message.endswith("Open Hint 2.")


# --------------------------------------------------------------- properties

FUNCS = {
    "squares": (lambda A, x: np.sum((A @ x) ** 2), lambda A, x: 2 * A.T @ (A @ x)),
    "tanh-linear": (lambda A, x: np.sum(np.tanh(A @ x)),
                    lambda A, x: A.T @ (1 - np.tanh(A @ x) ** 2)),
    "log-sum-exp": (lambda A, x: np.log(np.sum(np.exp(A @ x))),
                    lambda A, x: A.T @ (np.exp(A @ x) / np.sum(np.exp(A @ x)))),
    "relu": (lambda A, x: np.sum(np.maximum(A @ x, 0.0) * np.arange(1, len(A) + 1)),
             lambda A, x: A.T @ ((A @ x > 0) * np.arange(1, len(A) + 1))),
    "abs-cube": (lambda A, x: np.sum(np.abs(A @ x) ** 3),
                 lambda A, x: A.T @ (3 * (A @ x) * np.abs(A @ x))),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 6), n=st.integers(1, 6), kind=st.sampled_from(sorted(FUNCS)),
       scale=st.sampled_from([1e-3, 1.0, 30.0]), seed=st.integers(0, 2**31))
def test_no_false_failure_for_correct_answers(m, n, kind, scale, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = scale * rng.standard_normal(n)
    if kind == "log-sum-exp":
        x = np.clip(x, -3, 3)
    f, grad = FUNCS[kind]
    r = md.check_gradient(lambda x: f(A, x), lambda x: grad(A, x), x)
    assert r.ok, r.message


@settings(max_examples=100, deadline=None)
@given(N=st.integers(2, 6), D=st.integers(1, 5), C=st.integers(1, 5),
       tag=st.sampled_from(["sign", "scale", "missing-sum", "upstream-ignored", "wrong-values",
                            "transpose"]),
       seed=st.integers(0, 2**31))
def test_no_pass_for_wrong_answers(N, D, C, tag, seed):
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, C)), rng.standard_normal(C)
    if tag == "transpose" and D == C:
        W = W + np.triu(np.ones((D, C)), 1)  # non-symmetric gradient wanted below
    if tag == "transpose" and D == 1 and C == 1:
        return  # a 1 x 1 gradient is its own transpose
    r = md.check_backward(linear, WRONG_LINEAR[tag], X, W, b)
    assert not r.ok
    if D == 1 or C == 1:   # one-entry gradients: a wrong number is just a wrong number
        assert r.diagnosis in {tag, "shape", "wrong-values"}
    else:
        assert r.diagnosis == tag, r.message


def test_failed_assert_shows_only_the_message_in_a_notebook(rng):
    with pytest.raises(md.CheckFailed) as e:
        md.assert_gradient(lambda x: np.sum(x**2), lambda x: x, np.ones(3), name="g")
    assert isinstance(e.value, AssertionError)
    lines = e.value._render_traceback_()
    assert lines[0] == "CheckFailed:" and "[diagnosis: scale]" in lines[1]
    assert not any("checks.py" in ln for ln in lines)


def test_assert_that_records_passes_and_failures():
    md.reset_progress()
    md.assert_that(True, "unused", name="layout_quiz")
    assert md.progress().rows[0]["passed"]
    with pytest.raises(AssertionError, match=r"✗ layout_quiz: return 'numerator' \[diagnosis: transpose\]"):
        md.assert_that(False, "return 'numerator'", name="layout_quiz", diagnosis="transpose")
    row = md.progress().rows[0]
    assert not row["passed"] and row["diagnosis"] == "transpose" and row["attempts"] == 2
    with pytest.raises(ValueError, match="`diagnosis`"):
        md.assert_that(False, "x", name="q", diagnosis="typo")


def test_comparing_the_first_entries_first_decides_as_every_entry_would():
    """diagnose._matches and _close look at the first entries first (an answer that is not
    the candidate is usually off from the start): the same verdict as the whole comparison,
    including candidates that are off only in the last entry."""
    from matdiff.diagnose import _close, _matches, tolerance

    rng = np.random.default_rng(7)
    for trial in range(300):
        values = rng.standard_normal(rng.choice([3, 600, 2000])) * 10.0 ** rng.integers(-3, 3)
        error = np.abs(rng.standard_normal(values.size)) * 1e-9
        eps, factor = float(rng.choice([0.0, np.finfo(np.float32).eps])), float(rng.choice([1.0, 2.5]))
        tol = tolerance(values, factor * error, eps)
        answer = values + rng.uniform(-1.5, 1.5, values.size) * tol * (trial % 2)
        if trial % 3 == 0:
            answer[rng.choice([0, values.size - 1])] += 3 * tol.max()   # one entry off
        whole = bool(np.all(np.abs(answer - values) <= tol))
        assert _matches(answer, values, error, eps, factor) == whole
        assert _close(answer, values, tol) == whole

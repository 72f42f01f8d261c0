"""Verdicts a learner can trust: float32 answers, exercise-specific misconceptions, hints per
output, the right missing-sum, scalars, names, closeness bands, and no numeric answers."""

from __future__ import annotations

import re

import numpy as np
import pytest

import matdiff as md
from matdiff.autograd import MatmulRuleError, Tensor, use_matmul_backward


@pytest.fixture
def layer(rng):
    return rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)


def linear(X, W, b):
    return X @ W + b


def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G, G.sum(axis=0)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def as32(fn):
    def wrapped(*a):
        out = fn(*a)
        return tuple(np.asarray(o, np.float32) for o in out) if isinstance(out, tuple) \
            else np.asarray(out, np.float32)
    wrapped.__name__ = fn.__name__
    return wrapped


# ------------------------------------------------------------------ float32 answers
def test_right_float32_answers_pass_every_check(rng, layer):
    X, W, b = layer
    Z = rng.standard_normal((4, 3))
    x = rng.standard_normal(6)

    def tanh_layer_jacobian(x):
        return np.diag(1 - np.tanh(x) ** 2)

    def softmax_jacobian(z):
        s = softmax(z)
        return np.diag(s) - np.outer(s, s)

    def tanh_backward(Z, G):
        return (G * (1 - np.tanh(Z) ** 2),)

    def matmul_backward(A, B, G):
        return G @ B.T, A.T @ G

    A, B = rng.standard_normal((4, 7)), rng.standard_normal((7, 3))
    for r in [
        md.check_jacobian(np.tanh, as32(tanh_layer_jacobian), x),
        md.check_jacobian(softmax, as32(softmax_jacobian), 3 * x),
        md.check_backward(np.tanh, as32(tanh_backward), Z),
        md.check_backward(lambda A, B: A @ B, as32(matmul_backward), A, B),
        md.check_backward(linear, as32(linear_backward), X, W, b),
        md.check_gradient(lambda x: np.sum(np.tanh(x)), as32(lambda x: 1 - np.tanh(x) ** 2), x),
        md.check_value(np.float32(np.sum(x**2)), np.sum(x**2), name="loss"),
    ]:
        assert r.ok, r.message
    # cast back to float64 after a float32 computation: still recognised
    md.assert_jacobian(np.tanh, lambda x: tanh_layer_jacobian(x).astype(np.float32).astype(float), x)
    assert "computed in float32" in md.check_jacobian(np.tanh, as32(tanh_layer_jacobian), x).message


def test_the_engine_with_a_float32_rule_gives_float32_gradients_that_pass(rng):
    X, W1, W2 = rng.standard_normal((6, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def loss(W1, W2):
        return np.sum(np.tanh(X @ W1) @ W2)

    def rule32(A, B, G):
        return (G @ B.T).astype(np.float32), (A.T @ G).astype(np.float32)

    T1, T2 = Tensor(W1, requires_grad=True), Tensor(W2, requires_grad=True)
    with use_matmul_backward(rule32):
        ((X @ T1).tanh() @ T2).sum().backward()
    md.assert_gradient(loss, T1.grad, W1, W2, wrt=0)
    md.assert_gradient(loss, T2.grad, W1, W2, wrt=1)


@pytest.mark.parametrize("mistake,tag", [
    (lambda X, W, b, G: (G @ W.T, 2 * X.T @ G, G.sum(0)), "scale"),
    (lambda X, W, b, G: (G @ W.T, -(X.T @ G), G.sum(0)), "sign"),
    (lambda X, W, b, G: (G @ W.T, (X.T @ G).T, G.sum(0)), "transpose"),
    (lambda X, W, b, G: (G @ W.T, X.T @ np.ones_like(G), G.sum(0)), "upstream-ignored"),
    (lambda X, W, b, G: (G @ W.T, X.T @ G, G), "missing-sum"),
])
def test_wrong_float32_answers_still_fail_with_their_diagnosis(layer, mistake, tag):
    X, W, b = layer
    r = md.check_backward(linear, as32(mistake), X, W, b)
    assert not r.ok and r.diagnosis == tag, r.message


def test_rounding_is_never_called_every_entry_is_off(rng):
    x = rng.standard_normal(5)
    right = np.diag(1 - np.tanh(x) ** 2)
    for answer in (right.astype(np.float16), np.round(right, 5), right * (1 + 3e-5)):
        r = md.check_jacobian(np.tanh, answer, x)
        assert not r.ok and r.diagnosis == "imprecise", r.message
        assert "every entry is off" not in r.message.lower()
        assert "every entry is wrong" not in r.message.lower()


# ------------------------------------------------------------------ misconceptions
MISTAKES = {
    "db summed over features instead of samples": lambda X, W, b, G: (G @ W.T, X.T @ G, G.sum(1)),
    "dW = G.T @ X": lambda X, W, b, G: (G @ W.T, G.T @ X, G.sum(0)),
    "a mean where a sum belongs": lambda X, W, b, G: (G @ W.T, X.T @ G / len(X), G.mean(0)),
    "db from the first sample only": lambda X, W, b, G: (G @ W.T, X.T @ G, G[0]),
    "broken mistake": lambda X, W, b, G: 1 / 0,
}


@pytest.mark.parametrize("mname", [m for m in MISTAKES if m != "broken mistake"])
def test_a_matching_misconception_is_named_never_its_values(layer, mname):
    X, W, b = layer
    hints = {mname: f"HINT for {mname}", "shape": "generic shape hint"}
    r = md.check_backward(linear, MISTAKES[mname], X, W, b, name="linear_backward",
                          mistakes=MISTAKES, hints=hints)
    assert not r.ok and r.diagnosis == "misconception" and r.misconception == mname, r.message
    assert mname in r.message and f"HINT for {mname}" in r.message
    assert f"[misconception: {mname}]" in r.message and "[diagnosis: misconception]" in r.message
    assert not re.search(r"\d\.\d{3}", r.message)              # no values


def test_a_right_answer_is_right_even_when_a_mistake_coincides(layer):
    X, W, b = layer
    r = md.check_backward(linear, linear_backward, X, W, b, mistakes={"same": linear_backward})
    assert r.ok and r.misconception is None


def test_misconceptions_in_every_check(rng):
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal((3, 1))
    f = lambda x: (x.T @ A @ x).item()  # noqa: E731
    sym = {"A treated as symmetric": lambda x: 2 * A @ x}
    r = md.check_gradient(f, lambda x: 2 * A @ x, x, name="grad_quadratic", mistakes=sym)
    assert r.misconception == "A treated as symmetric"
    M = rng.standard_normal((2, 3))
    r = md.check_jacobian(lambda v: M @ v, M.T, np.ones(3), name="jacobian_linear",
                          mistakes={"denominator layout": lambda v: M.T})
    assert r.diagnosis == "misconception"       # more specific than the generic transpose
    r = md.check_value(np.float64(4.0), 2.0, name="slope", mistakes={"squared": 4.0})
    assert r.misconception == "squared"
    with pytest.raises(md.CheckFailed) as e:
        md.assert_value(4.0, 2.0, name="slope", mistakes={"squared": 4.0})
    assert e.value.result.misconception == "squared"
    with pytest.raises(TypeError, match="`mistakes`"):
        md.check_gradient(f, lambda x: 2 * A @ x, x, mistakes=[lambda x: x])


# ------------------------------------------------------------------ hints and diagnoses
@pytest.mark.parametrize("key", ["dW:scale", ("dW", "scale")])
def test_hints_are_chosen_by_output_and_tag(layer, key):
    X, W, b = layer
    hints = {key: "HINT-dW", "db:scale": "HINT-db", "scale": "HINT-any"}
    r = md.check_backward(linear, lambda X, W, b, G: (G @ W.T, X.T @ G / 5, G.sum(0)), X, W, b,
                          hints=hints)
    assert r.diagnosis == "scale" and "HINT-dW" in r.message
    assert "HINT-db" not in r.message and "HINT-any" not in r.message
    r = md.check_backward(linear, lambda X, W, b, G: (G @ W.T * 3, X.T @ G, G.sum(0)), X, W, b,
                          hints=hints)
    assert "HINT-any" in r.message


def test_missing_sum_only_for_a_variable_that_was_broadcast(layer):
    X, W, b = layer
    per_sample = md.check_backward(
        linear, lambda X, W, b, G: (G @ W.T, np.einsum("nd,nc->ndc", X, G), G.sum(0)), X, W, b)
    assert per_sample.diagnosis == "shape" and "broadcast" not in per_sample.message
    assert "sum" in per_sample.message
    bias = md.check_backward(linear, lambda X, W, b, G: (G @ W.T, X.T @ G, G), X, W, b)
    assert bias.diagnosis == "missing-sum" and "broadcast" in bias.message


@pytest.mark.parametrize("answer,tag", [(6.0, "scale"), (-3.0, "sign"), (1.5, "scale"),
                                        (3.0003, "imprecise"), (3.03, "wrong-values"),
                                        (np.array([[3.3]]), "wrong-values"),
                                        ("3", "not-array"), (None, "not-array"), (np.nan, "not-finite")])
def test_scalar_answers_get_sign_scale_and_bands(answer, tag):
    r = md.check_value(answer, 3.0, name="first_order_prediction", rtol=1e-6)
    assert r.diagnosis == tag, r.message
    assert "3.0" not in r.message.replace("(3.0", "")      # never the expected value


def test_a_one_entry_array_is_a_number(rng):
    assert md.check_value(np.array([2.5]), 2.5, name="loss").ok
    assert md.check_value([[2.5]], 2.5, name="loss").ok
    assert md.check_gradient(lambda x: np.sum(x**2), lambda x: [2 * x[0]], np.array([1.5])).ok


def test_closeness_is_a_band_never_a_difference(rng):
    for got, band in [(3.5, "more than 10%"), (3.1, "1% to 10%"), (3.01, "0.1% to 1%")]:
        msg = md.check_value(got, 3.0, name="p").message
        assert band in msg and "difference" not in msg, msg
    x = rng.standard_normal(4)
    msg = md.check_jacobian(np.tanh, np.diag(1 - np.tanh(x) ** 2) + 0.1, x).message
    assert "largest difference" not in msg and not re.search(r"\d\.\d+e-?\d", msg)


def test_messages_name_the_learners_function_never_lambda(rng):
    x = rng.standard_normal(3)

    def grad_cube(x):
        return x[7]

    r = md.check_gradient(lambda x: np.sum(x**3), lambda x: grad_cube(x), x)
    assert "`grad_cube`" in r.message and "<lambda>" not in r.message
    r = md.check_gradient(lambda x: np.sum(x**3), lambda x: x[7], x, name="grad_cube")
    assert "<lambda>" not in r.message and "grad_cube" in r.message

    def linear_backward_(X, W, b, G):
        raise NotImplementedError

    def relu_layer_backward(x):
        return linear_backward_(x, x, x, x)

    r = md.check_gradient(lambda x: np.sum(x**3), lambda x: relu_layer_backward(x), x,
                          name="relu_layer_backward")
    assert r.diagnosis == "not-answered" and "`linear_backward_`" in r.message
    assert "<lambda>" not in r.message


def test_axis_labels_read_naturally(rng):
    p = rng.standard_normal(4)
    r = md.check_gradient(lambda p: np.sum(p**2), lambda p: 2 * p + np.eye(4)[1], p)
    assert "rows:" not in r.text_map() and "one row: entry of p" in r.text_map()
    assert "column 1" not in r.message and "Only entry 1 is wrong" in r.message
    s = md.check_value(2.0, 1.0, name="s")
    assert "a single number" in s.text_map()


# ------------------------------------------------------------------ the graded call
def test_an_answer_that_calls_numeric_derivatives_fails_with_the_reason(rng):
    x = rng.standard_normal(3)
    f = lambda x: np.sum(x**3)  # noqa: E731

    def grad_cube(x):
        return md.numeric_gradient(f, x)

    def sneaky(x):
        try:
            return md.numeric_jacobian(lambda v: v**3, x).diagonal()
        except Exception:
            return 3 * x**2

    def checks_itself(x):
        md.check_gradient(f, 3 * x**2, x)
        return 3 * x**2

    for answer in (grad_cube, sneaky, checks_itself):
        r = md.check_gradient(f, answer, x)
        assert r.diagnosis == "numeric-answer", r.message
        assert "derive it; the numeric derivative is the checker's job" in r.message
    # the same functions work outside a check, and the checks keep working after
    np.testing.assert_allclose(grad_cube(x), 3 * x**2, rtol=1e-7)
    assert md.check_gradient(f, lambda x: 3 * x**2, x).ok
    # an exercise about using them can allow it
    assert md.check_gradient(f, grad_cube, x, allow_numeric=True).ok


def test_call_answer_allows_numeric_unless_told_otherwise(rng):
    x = rng.standard_normal(3)

    def which_layout(f, x):
        return "numerator" if md.numeric_jacobian(f, x).shape == (3, 3) else "?"

    assert md.call_answer(which_layout, np.sin, x) == "numerator"
    with pytest.raises(md.CheckFailed, match=r"derive it.*\[diagnosis: numeric-answer\]"):
        md.call_answer(which_layout, np.sin, x, allow_numeric=False)


def test_call_answer_given_a_non_function_fails_with_a_sentence():
    with pytest.raises(md.CheckFailed) as e:
        md.call_answer(None, 1.0, name="first_order_prediction")
    assert "not a function" in str(e.value) and e.value.result.diagnosis == "error"


def test_an_engine_rule_that_raises_is_named_without_engine_frames(rng):
    def matmul_backward(A, B, G):
        return G @ B, A.T @ G              # shapes do not fit: ValueError inside the rule

    A = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(MatmulRuleError, match="`matmul_backward` raised ValueError") as e, \
            use_matmul_backward(matmul_backward):
        (A @ rng.standard_normal((3, 4))).sum().backward()
    assert isinstance(e.value, ValueError)
    assert e.value._render_traceback_() == [f"MatmulRuleError: {e.value}"]


# ------------------------------------------------------------------ CheckFailed
def test_check_failed_carries_its_result_and_the_map(layer):
    X, W, b = layer
    with pytest.raises(md.CheckFailed) as e:
        md.assert_backward(linear, lambda X, W, b, G: (G @ W.T, 2 * X.T @ G, G.sum(0)), X, W, b,
                           hints={"dW:scale": "See Hint 2."})
    assert e.value.result.diagnosis == "scale"
    text = str(e.value)
    assert "mistake map of dW" in text and "See Hint 2." in text


# Found by the attempt suite (tests/attempts/): each a right answer wrongly failed, or a wrong
# one wrongly passed or named.

def test_a_right_number_with_an_extra_axis_is_right_even_when_a_mistake_has_its_value():
    result = md.check_value(np.array([3.0]), 3.0, name="x", mistakes={"doubled": 3.0})
    assert result.ok, result.message


def test_a_column_for_a_row_is_the_other_layout_not_a_squeeze():
    f = lambda t: np.array([t[0], 2 * t[0], 3 * t[0]])            # noqa: E731
    result = md.check_jacobian(f, np.array([[1.0], [2.0], [3.0]]), np.array([0.4]), layout="denominator")
    assert not result.ok and result.diagnosis == "transpose"
    assert md.check_jacobian(f, np.array([[1.0, 2.0, 3.0]]), np.array([0.4]), layout="denominator").ok


@pytest.mark.parametrize("shape", [(4, 3), (4,)])
def test_one_gradient_written_as_a_list_is_one_gradient(shape):
    result = md.check_backward(np.tanh, lambda Z, G: (G * (1 - np.tanh(Z) ** 2)).tolist(), np.ones(shape))
    assert result.ok, result.message


def test_a_factor_that_is_not_simple_is_not_printed():
    result = md.check_gradient(lambda x: np.sum(x**2), lambda x: 2.02 * x, np.arange(1.0, 7.0).reshape(2, 3))
    assert result.diagnosis == "scale" and "2.02" not in result.message and "1.01" not in result.message
    assert "0.5 times" in md.check_gradient(lambda x: np.sum(x**2), lambda x: x, np.ones((2, 3))).message


def test_a_rule_raising_key_error_reads_plainly():
    from matdiff import autograd
    from matdiff.autograd import Tensor

    def rule(A, B, G):
        return {}["x"]

    with pytest.raises(KeyError) as info, autograd.use_matmul_backward(rule):
        (Tensor(np.ones((2, 3)), requires_grad=True) @ np.ones((3, 4))).sum().backward()
    assert str(info.value).startswith("the matmul backward rule `rule` raised KeyError")

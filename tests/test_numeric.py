"""numeric_jacobian / numeric_gradient: values, shapes, layouts, methods, batching."""

from __future__ import annotations

import numpy as np
import pytest

import matdiff as md
from matdiff.numeric import _Evaluator

METHODS = ["central", "forward", "richardson", "complex", "accurate"]
TOL = {"central": 1e-7, "forward": 1e-5, "richardson": 1e-9, "complex": 1e-12, "accurate": 1e-12}


@pytest.mark.parametrize("method", METHODS)
def test_jacobian_of_linear_map_is_the_matrix(rng, method):
    A = rng.standard_normal((4, 3))
    J = md.numeric_jacobian(lambda v: A @ v, rng.standard_normal(3), method=method)
    assert J.shape == (4, 3)
    np.testing.assert_allclose(J, A, atol=TOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_elementwise_function_has_diagonal_jacobian(rng, method):
    x = rng.standard_normal(5)
    J = md.numeric_jacobian(np.tanh, x, method=method)
    np.testing.assert_allclose(J, np.diag(1 - np.tanh(x) ** 2), atol=TOL[method])


def test_layouts_have_the_documented_shapes(rng):
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    num = md.numeric_jacobian(lambda W: W @ x, W)
    den = md.numeric_jacobian(lambda W: W @ x, W, layout="denominator")
    assert num.shape == (2, 2, 3)        # out + in
    assert den.shape == (2, 3, 2)        # in + out
    np.testing.assert_allclose(md.to_numerator(den, 2), num)
    # d(Wx)_i / dW_jk = [i == j] x_k
    expected = np.einsum("ij,k->ijk", np.eye(2), x)
    np.testing.assert_allclose(num, expected, atol=1e-8)


def test_several_arguments_and_wrt(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    f = lambda A, B: A @ B  # noqa: E731
    JA = md.numeric_jacobian(f, A, B, wrt=0, method="accurate")
    JB = md.numeric_jacobian(f, A, B, wrt=1, method="accurate")
    assert JA.shape == (2, 4, 2, 3) and JB.shape == (2, 4, 3, 4)
    np.testing.assert_allclose(JA, np.einsum("ik,jl->ijkl", np.eye(2), B.T), atol=1e-12)
    np.testing.assert_allclose(JB, np.einsum("ik,lj->ijkl", A, np.eye(4)), atol=1e-12)
    np.testing.assert_allclose(md.numeric_jacobian(f, A, B, wrt=-1, method="accurate"), JB)


def test_chain_rule_composition(rng):
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    x = rng.standard_normal(4)
    g = lambda x: np.tanh(A @ x)  # noqa: E731
    h = lambda y: B @ y           # noqa: E731
    Jg = md.numeric_jacobian(g, x, method="richardson")
    Jh = md.numeric_jacobian(h, g(x), method="richardson")
    Jhg = md.numeric_jacobian(lambda x: h(g(x)), x, method="richardson")
    np.testing.assert_allclose(Jhg, Jh @ Jg, atol=1e-9)


def test_gradient_has_the_shape_of_the_input(rng):
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal((3, 1))
    g = md.numeric_gradient(lambda x: x.T @ A @ x, x)   # f returns a (1, 1) array
    assert g.shape == (3, 1)
    np.testing.assert_allclose(g, (A + A.T) @ x, atol=1e-7)


def test_gradient_rejects_vector_output(rng):
    with pytest.raises(ValueError, match="single number"):
        md.numeric_gradient(lambda x: 2 * x, np.ones(3))


def test_scalar_input_and_output():
    J = md.numeric_jacobian(lambda t: np.sin(t), 0.3, method="accurate")
    assert J.shape == ()
    assert abs(J - np.cos(0.3)) < 1e-14


@pytest.mark.parametrize("method", ["richardson", "accurate"])
def test_high_accuracy_methods_beat_central(rng, method):
    x = rng.uniform(0.5, 1.5, 6)
    f = lambda x: np.exp(np.sin(x)) * x**3  # noqa: E731
    exact = np.diag(np.exp(np.sin(x)) * (np.cos(x) * x**3 + 3 * x**2))
    err_c = np.abs(md.numeric_jacobian(f, x) - exact).max()
    err_h = np.abs(md.numeric_jacobian(f, x, method=method) - exact).max()
    assert err_h < err_c / 10
    assert err_h < 1e-10


def test_complex_step_falls_back_when_f_uses_abs(rng):
    x = rng.standard_normal(4) + 3.0
    f = lambda x: np.abs(x) ** 2  # noqa: E731  # abs kills the imaginary part
    with pytest.warns(RuntimeWarning, match="complex step"):
        J = md.numeric_jacobian(f, x, method="complex")
    np.testing.assert_allclose(J, np.diag(2 * x), atol=1e-9)
    np.testing.assert_allclose(md.numeric_jacobian(f, x, method="accurate"), np.diag(2 * x),
                               atol=1e-9)


def test_batched_evaluation_is_detected_and_matches_loop(rng):
    A = rng.standard_normal((5, 4))
    calls = []

    def f(x):  # accepts a stack along a leading axis
        calls.append(x.shape)
        return np.tanh(x @ A.T)

    x = rng.standard_normal(4)
    J = md.numeric_jacobian(f, x)
    assert any(len(s) == 2 for s in calls), "expected at least one batched call"
    assert len(calls) < 8
    loop = _Evaluator(f, [x], 0, (5,), batch=False)
    assert loop.mode == "loop"
    np.testing.assert_allclose(J, (1 - np.tanh(A @ x) ** 2)[:, None] * A, atol=1e-8)


def test_trailing_batch_axis_is_used_for_column_style_functions(rng):
    A = rng.standard_normal((5, 4))
    shapes = []

    def f(x):  # A @ x batches along a trailing axis
        shapes.append(x.shape)
        return A @ x

    md.numeric_jacobian(f, rng.standard_normal(4))
    assert (4, 8) in shapes


def test_function_that_mixes_a_batch_is_not_batched(rng):
    x = rng.standard_normal(4)
    f = lambda x: x - x.mean()  # noqa: E731  # stacks would mix entries
    J = md.numeric_jacobian(f, x)
    np.testing.assert_allclose(J, np.eye(4) - 1 / 4, atol=1e-8)


def test_inputs_are_never_modified(rng):
    x = rng.standard_normal((3, 2))
    before = x.copy()
    md.numeric_jacobian(lambda x: x**2, x, method="accurate")
    md.check_gradient(lambda x: np.sum(x**2), lambda x: 2 * x, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("value", [[1, 2, 3], np.array([1, 2, 3]), np.array([1, 2, 3], np.float32)])
def test_lists_ints_and_float32_work_in_float64(value):
    seen = []

    def f(x):
        seen.append(x.dtype)
        return x**2

    J = md.numeric_jacobian(f, value)
    assert J.dtype == np.float64 and all(d == np.float64 for d in seen)
    np.testing.assert_allclose(J, np.diag([2.0, 4.0, 6.0]), atol=1e-7)


def test_step_argument(rng):
    J = md.numeric_jacobian(np.sin, np.array([0.2]), step=1e-3)
    assert abs(J[0, 0] - np.cos(0.2)) < 1e-6
    with pytest.raises(ValueError, match="step"):
        md.numeric_jacobian(np.sin, np.array([0.2]), step=-1)

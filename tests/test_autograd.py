"""matdiff.autograd: gradients of small graphs agree with numeric derivatives, the matmul
rule can be swapped (and a wrong one shows), and bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import matdiff as md
from matdiff import autograd
from matdiff.autograd import MatmulRuleError, Tensor, use_matmul_backward


def engine_grads(build, *arrays, G=None):
    """Gradients of sum(G * build(*tensors)) from the engine, one per array."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = build(*tensors)
    out.backward(G)
    return [t.grad for t in tensors]


def numeric_grads(build, *arrays, G=None):
    """The same gradients by central differences (matdiff), on plain arrays."""
    def loss(*xs):
        y = build(*[Tensor(x) for x in xs]).data
        return np.sum((np.ones_like(y) if G is None else G) * y)

    return [md.numeric_gradient(loss, *arrays, wrt=i) for i in range(len(arrays))]


def assert_matches_numeric(build, *arrays, G=None, atol=1e-6):
    for i, (got, want) in enumerate(zip(engine_grads(build, *arrays, G=G),
                                        numeric_grads(build, *arrays, G=G), strict=True)):
        assert got is not None and got.shape == np.shape(arrays[i]), i
        np.testing.assert_allclose(got, want, atol=atol, rtol=1e-6, err_msg=f"argument {i}")


# -- graphs checked against numeric gradients -------------------------------------------------

def two_layer(X, W1, b1, W2, b2):
    H = (X @ W1 + b1).tanh()
    return ((H @ W2 + b2 - 0.5) ** 2).mean()


def test_two_layer_network_scalar_loss(rng):
    X = rng.standard_normal((5, 3))
    W1, b1 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((4, 2)), rng.standard_normal(2)
    assert_matches_numeric(two_layer, X, W1, b1, W2, b2)


@pytest.mark.parametrize("bias_shape", [(3,), (1, 3), (4, 1), ()])
@pytest.mark.parametrize("upstream", [False, True])
def test_broadcast_bias_is_summed_back(rng, bias_shape, upstream):
    X, W = rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    b = rng.standard_normal(bias_shape)
    G = rng.standard_normal((4, 3)) if upstream else None
    assert_matches_numeric(lambda X, W, b: X @ W + b, X, W, b, G=G)
    assert_matches_numeric(lambda X, W, b: b + X @ W, X, W, b, G=G)


def test_bias_gradient_is_the_column_sum_of_G(rng):
    X, W, b = (Tensor(rng.standard_normal(s), requires_grad=True) for s in [(5, 2), (2, 3), (3,)])
    G = rng.standard_normal((5, 3))
    (X @ W + b).backward(G)
    np.testing.assert_allclose(b.grad, G.sum(axis=0))


def test_reused_tensor_accumulates(rng):
    A, B, C = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    assert_matches_numeric(lambda A, B, C: ((A @ B).tanh() * (A @ C) + A.sum()).sum(), A, B, C)
    assert_matches_numeric(lambda A: A @ A.T, A, G=rng.standard_normal((3, 3)))
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)


def test_non_scalar_output_without_upstream_means_ones(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 5))
    dA, dB = engine_grads(lambda A, B: A @ B, A, B)
    np.testing.assert_allclose(dA, np.ones((2, 5)) @ B.T)
    np.testing.assert_allclose(dB, A.T @ np.ones((2, 5)))
    assert_matches_numeric(lambda A, B: (A @ B).exp(), A, B)


def test_explicit_upstream_matches_numeric_jacobian(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 5))
    G = rng.standard_normal((2, 5))
    J = md.numeric_jacobian(lambda A: A @ B, A)                  # (2, 5, 2, 3)
    dA, _ = engine_grads(lambda A, B: A @ B, A, B, G=G)
    np.testing.assert_allclose(dA, np.tensordot(G, J, axes=2), atol=1e-7)


def test_scalar_output_with_explicit_upstream_scales(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    plain = engine_grads(lambda A, B: (A @ B).tanh().sum(), A, B)
    scaled = engine_grads(lambda A, B: (A @ B).tanh().sum(), A, B, G=2.5)
    for p, s in zip(plain, scaled, strict=True):
        np.testing.assert_allclose(s, 2.5 * p)


ELEMENTWISE = {
    "add-sub-neg": lambda a, b: -(a - b) + a,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: a ** 3 + b ** 2,
    "numbers on the left": lambda a, b: 2.0 - a + 3.0 * b + 1.0 / (b * b + 1.0),
    "tanh-exp-sigmoid": lambda a, b: autograd.tanh(a) * b.exp() + autograd.sigmoid(b),
    "log": lambda a, b: (a * a + 1.0).log() + autograd.log(b * b + 0.5),
    "relu": lambda a, b: autograd.relu(a) * b.relu() + autograd.exp(a),
    "transpose": lambda a, b: a.T @ b,
    "sum-axis": lambda a, b: a.sum(axis=0) * b.sum(axis=-1).sum() + a.sum(axis=1).sum(),
    "mean-axis": lambda a, b: a.mean(axis=1).sum() * b.mean() + a.mean(axis=0).sum(),
}


@pytest.mark.parametrize("case", sorted(ELEMENTWISE))
def test_every_operation_matches_numeric(case, rng):
    a = rng.standard_normal((3, 4)) + 0.05     # away from relu's kink at 0
    b = rng.standard_normal((3, 4)) + 0.05
    build = ELEMENTWISE[case]
    y = build(Tensor(a), Tensor(b))
    G = rng.standard_normal(y.shape)
    assert_matches_numeric(build, a, b, G=G)


def test_numpy_arrays_on_the_left_defer_to_tensor(rng):
    X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    Wt = Tensor(W, requires_grad=True)
    out = X @ Wt + np.ones(2)
    assert isinstance(out, Tensor) and out.shape == (4, 2)
    out.backward()
    np.testing.assert_allclose(Wt.grad, X.T @ np.ones((4, 2)))


# -- what backward stores ------------------------------------------------------------------

def test_grads_on_inputs_intermediates_and_constants(rng):
    A = Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="A")
    B = Tensor(rng.standard_normal((3, 4)), name="B")              # a constant
    C = A @ B
    assert A.grad is None and C.requires_grad and not B.requires_grad
    G = rng.standard_normal((2, 4))
    C.backward(G)
    np.testing.assert_allclose(C.grad, G)                          # G arrives at C itself
    assert B.grad is None
    assert A.grad.dtype == np.float64


def test_gradients_accumulate_over_calls_like_pytorch(rng):
    A = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    B = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = (A @ B).sum()
    y.backward()
    first = A.grad.copy()
    y.backward()
    np.testing.assert_allclose(A.grad, 2 * first)
    A.grad = None
    y.backward()
    np.testing.assert_allclose(A.grad, first)


def test_inputs_are_copied_and_never_modified(rng):
    raw = rng.standard_normal((3, 2))
    keep = raw.copy()
    t = Tensor(raw, requires_grad=True)
    raw[0, 0] = 100.0
    assert t.data[0, 0] == keep[0, 0]
    G = np.ones((3, 3))
    (t @ t.T).backward(G)
    np.testing.assert_array_equal(G, np.ones((3, 3)))
    assert Tensor([[1, 2]]).data.dtype == np.float64


def test_long_chains_do_not_hit_the_recursion_limit():
    x = Tensor([[1.0]], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, [[1.0001 ** 3000]], rtol=1e-9)


def test_graph_and_repr_are_readable():
    A = Tensor([[1.0, 2.0]], requires_grad=True, name="A")
    W = Tensor([[3.0], [4.0]], requires_grad=True)
    text = ((A @ W).tanh() + 1.0).graph()
    assert text.splitlines() == ["A (1, 2) = input", "in1 (2, 1) = input", "t1 (1, 1) = A @ in1",
                                 "t2 (1, 1) = tanh(t1)", "t3 (1, 1) = t2 + const"]
    X = Tensor([[2.0]], name="X")                      # a named constant keeps its name
    assert (X @ A).graph().splitlines()[-1] == "t1 (1, 2) = X @ A"
    assert repr(A) == "Tensor([[1., 2.]], requires_grad=True, name='A')"
    assert "0x" not in repr(A @ W)
    assert (A @ W).item() == 11.0


# -- the pluggable matmul rule --------------------------------------------------------------

def mlp(A, B, C):
    return ((A @ B).tanh() @ C).sum()


def shapes(rng):
    return (rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5)))


def test_a_correct_rule_of_your_own_gives_the_same_gradients(rng):
    calls = []

    def matmul_backward(A, B, G=None):
        calls.append((A.shape, B.shape, G.shape))
        G = np.ones((A.shape[0], B.shape[1])) if G is None else G
        return G @ B.T, A.T @ G

    arrays = shapes(rng)
    with use_matmul_backward(matmul_backward):
        mine = engine_grads(mlp, *arrays)
    assert calls == [((2, 4), (4, 5), (2, 5)), ((2, 3), (3, 4), (2, 4))]  # last product first
    for got, want in zip(mine, numeric_grads(mlp, *arrays), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_the_rule_is_restored_after_the_block_even_on_error(rng):
    def broken(A, B, G):
        raise ZeroDivisionError("oops")

    arrays = shapes(rng)
    before = engine_grads(mlp, *arrays)
    with pytest.raises(ZeroDivisionError), use_matmul_backward(broken):
        engine_grads(mlp, *arrays)
    for got, want in zip(engine_grads(mlp, *arrays), before, strict=True):
        np.testing.assert_allclose(got, want)


def test_a_wrong_rule_with_the_right_shapes_gives_wrong_gradients(rng):
    def ignores_G(A, B, G):
        ones = np.ones_like(G)
        return ones @ B.T, A.T @ ones

    arrays = shapes(rng)
    right = numeric_grads(mlp, *arrays)
    with use_matmul_backward(ignores_G):
        wrong = engine_grads(mlp, *arrays)
    assert not np.allclose(wrong[0], right[0])


def test_a_transposed_rule_on_square_matrices_gives_wrong_gradients(rng):
    def transposed(A, B, G):
        return B @ G.T, G.T @ A                 # the transposes of (G B^T, A^T G)

    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    G = rng.standard_normal((3, 3))
    with use_matmul_backward(transposed):
        dA, dB = engine_grads(lambda A, B: A @ B, A, B, G=G)
    np.testing.assert_allclose(dA, (G @ B.T).T)
    assert not np.allclose(dA, G @ B.T)


def test_a_transposed_rule_on_non_square_matrices_is_a_clear_shape_error(rng):
    def transposed(A, B, G):
        return B @ G.T, G.T @ A

    with use_matmul_backward(transposed), pytest.raises(MatmulRuleError) as info:
        engine_grads(mlp, *shapes(rng))
    msg = str(info.value)
    assert "`transposed`" in msg and "dA" in msg and "transposed shape" in msg
    assert "(2, 4)" in msg and "(4, 2)" in msg


@pytest.mark.parametrize("returned, words", [
    (None, "forget a `return`"),
    ("array", "pair (dA, dB)"),
    ("triple", "pair (dA, dB)"),
    ("strings", "not an array of numbers"),
    ("none-inside", "dB as None"),
    ("flat", "dB as an array of shape (12,)"),
])
def test_rules_that_return_the_wrong_things(rng, returned, words):
    def rule(A, B, G):
        good = (G @ B.T, A.T @ G)
        return {None: None, "array": good[0], "triple": (*good, good[0]),
                "strings": ("dA", "dB"), "none-inside": (good[0], None),
                "flat": (good[0], good[1].ravel())}[returned]

    with use_matmul_backward(rule), pytest.raises(MatmulRuleError, match="`rule`") as info:
        engine_grads(lambda A, B: A @ B, rng.standard_normal((2, 3)), rng.standard_normal((3, 4)))
    assert words in str(info.value)


def test_a_rule_that_is_not_answered_yet_raises_not_implemented_with_a_note(rng):
    def matmul_backward(A, B, G=None):
        raise NotImplementedError()

    with use_matmul_backward(matmul_backward), pytest.raises(NotImplementedError) as info:
        engine_grads(mlp, *shapes(rng))
    assert any("matmul_backward" in note for note in info.value.__notes__)


def test_the_rule_gets_copies_and_cannot_damage_the_graph(rng):
    def vandal(A, B, G):
        dA, dB = G @ B.T, A.T @ G
        A[...] = 0.0
        B[...] = 0.0
        G[...] = 0.0
        return dA, dB

    arrays = shapes(rng)
    with use_matmul_backward(vandal):
        got = engine_grads(mlp, *arrays)
    for g, want in zip(got, numeric_grads(mlp, *arrays), strict=True):
        np.testing.assert_allclose(g, want, atol=1e-6)


def test_nested_rules_and_a_non_callable_rule():
    def outer(A, B, G):
        return G @ B.T, A.T @ G

    def inner(A, B, G):
        return 2 * G @ B.T, 2 * A.T @ G

    A = Tensor(np.ones((1, 2)), requires_grad=True)
    B = Tensor(np.ones((2, 3)))
    with use_matmul_backward(outer):
        with use_matmul_backward(inner):
            (A @ B).backward()
        np.testing.assert_allclose(A.grad, [[6.0, 6.0]])
        A.grad = None
        (A @ B).backward()
        np.testing.assert_allclose(A.grad, [[3.0, 3.0]])
    assert autograd._matmul_rule is autograd.default_matmul_backward
    with pytest.raises(TypeError, match="rule"), use_matmul_backward("G @ B.T"):
        pass


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("data, words", [
    (None, "numbers"), ("abc", "numbers"), ([[1.0, 2.0], [3.0]], "rectangular"),
    (1 + 2j, "complex"), (len, "numbers"),
])
def test_bad_data(data, words):
    with pytest.raises(TypeError, match=words):
        Tensor(data)


def test_bad_arguments_and_operations(rng):
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor([1.0], requires_grad="yes")
    with pytest.raises(TypeError, match="name"):
        Tensor([1.0], name=3)
    A = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"columns in A as rows in B.*\(2, 3\) @ \(2, 3\)"):
        A @ A
    with pytest.raises(ValueError, match="reshape"):
        A @ Tensor(np.ones(3))
    with pytest.raises(TypeError, match="operand"):
        A + "1"
    with pytest.raises(TypeError, match="constant exponent"):
        A ** A
    with pytest.raises(ValueError, match="positive"):
        A.log()
    with pytest.raises(ValueError, match="axis 2"):
        A.sum(axis=2)
    y = A @ Tensor(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"\(2, 4\), not \(4, 2\)"):
        y.backward(np.ones((4, 2)))
    with pytest.raises(TypeError, match="`G`"):
        y.backward("ones")
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        Tensor(np.ones((2, 2))).sum().backward()

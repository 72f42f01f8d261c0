"""vec / unvec / to_matrix / layout conversions, including the Kronecker identities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matdiff as md

dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=60, deadline=None)
@given(m=dims, n=dims, p=dims, q=dims, seed=st.integers(0, 2**31))
def test_vec_of_a_product_is_a_kronecker_product(m, n, p, q, seed):
    rng = np.random.default_rng(seed)
    A, X, B = rng.standard_normal((m, n)), rng.standard_normal((n, p)), rng.standard_normal((p, q))
    np.testing.assert_allclose(md.vec(A @ X @ B), np.kron(B.T, A) @ md.vec(X), atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=4), seed=st.integers(0, 2**31))
def test_unvec_inverts_vec(shape, seed):
    M = np.random.default_rng(seed).standard_normal(shape)
    np.testing.assert_array_equal(md.unvec(md.vec(M), M.shape), M)


@settings(max_examples=40, deadline=None)
@given(out=st.lists(dims, min_size=0, max_size=3), inn=st.lists(dims, min_size=0, max_size=3),
       seed=st.integers(0, 2**31))
def test_layout_round_trip(out, inn, seed):
    J = np.random.default_rng(seed).standard_normal(tuple(out) + tuple(inn))
    D = md.to_denominator(J, len(inn))
    assert D.shape == tuple(inn) + tuple(out)
    np.testing.assert_array_equal(md.to_numerator(D, len(inn)), J)


@settings(max_examples=30, deadline=None)
@given(n=dims, m=dims, seed=st.integers(0, 2**31))
def test_to_matrix_of_d_Wx_dW_is_x_kron_identity(n, m, seed):
    rng = np.random.default_rng(seed)
    W, x = rng.standard_normal((n, m)), rng.standard_normal(m)
    J = md.numeric_jacobian(lambda W: W @ x, W, method="accurate")
    M = md.to_matrix(J, (n,), (n, m))
    np.testing.assert_allclose(M, np.kron(x[None, :], np.eye(n)), atol=1e-12)
    dW = rng.standard_normal((n, m))  # the matrix really maps vec(dW) to d(Wx)
    np.testing.assert_allclose(M @ md.vec(dW), dW @ x, atol=1e-12)


def test_vec_is_column_major():
    np.testing.assert_array_equal(md.vec([[1, 2], [3, 4]]), [1, 3, 2, 4])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`v`"):
        md.unvec(np.ones(5), (2, 3))
    with pytest.raises(ValueError, match="`J` has shape"):
        md.to_matrix(np.ones((2, 3)), (3,), (2,))
    with pytest.raises(ValueError, match="`in_ndim`"):
        md.to_denominator(np.ones((2, 3)), 3)
    with pytest.raises(TypeError, match="`in_ndim`"):
        md.to_numerator(np.ones((2, 3)), "1")
    with pytest.raises(TypeError, match="`M`"):
        md.vec(None)

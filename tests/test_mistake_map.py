"""The mistake map marks exactly the wrong entries, in every form (array, text, HTML,
figure), and never reveals an expected value."""

from __future__ import annotations

import re

import numpy as np
import pytest

import matdiff as md


@pytest.fixture
def layer(rng):
    X, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    G = np.random.default_rng([390, 5, 4]).standard_normal((5, 4))  # check_backward's G
    return X, W, b, G


def f(X, W, b):
    return X @ W + b


def dW_part(result):
    return result.parts[1]


def test_sign_marks_every_nonzero_entry_with_the_opposite_direction(layer):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, -(X.T @ G), G.sum(0)), X, W, b)
    right = X.T @ G
    np.testing.assert_array_equal(dW_part(r).mistakes, -np.sign(right))


def test_scale_marks_all_entries_too_high_where_positive(layer):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, 3 * X.T @ G, G.sum(0)), X, W, b)
    np.testing.assert_array_equal(dW_part(r).mistakes, np.sign(X.T @ G))


def test_upstream_ignored_marks_exactly_the_entries_that_differ(layer):
    X, W, b, G = layer
    ones = np.ones_like(G)
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, X.T @ ones, G.sum(0)), X, W, b)
    wrong, right = X.T @ ones, X.T @ G
    np.testing.assert_array_equal(dW_part(r).mistakes, np.sign(wrong - right))


def test_one_wrong_column_is_exactly_one_column(layer):
    X, W, b, G = layer
    def backward(X, W, b, G):
        dW = X.T @ G
        dW[:, 2] -= 1.0
        return G @ W.T, dW, G.sum(0)
    m = dW_part(md.check_backward(f, backward, X, W, b)).mistakes
    expected = np.zeros((3, 4), dtype=int)
    expected[:, 2] = -1
    np.testing.assert_array_equal(m, expected)


def test_square_transpose_marks_the_asymmetric_entries(rng):
    A = rng.standard_normal((4, 4))
    r = md.check_jacobian(lambda v: A @ v, A.T, rng.standard_normal(4))
    assert r.diagnosis == "transpose"
    np.testing.assert_array_equal(r.mistakes, np.sign(A.T - A))
    assert (np.diag(r.mistakes) == 0).all()


def test_nan_entries_are_marked_and_only_they(layer):
    X, W, b, G = layer
    def backward(X, W, b, G):
        dX = G @ W.T
        dX[1, 2] = np.nan
        dX[4, 0] = np.inf
        return dX, X.T @ G, G.sum(0)
    r = md.check_backward(f, backward, X, W, b)
    m = r.parts[0].mistakes
    assert r.diagnosis == "not-finite"
    assert set(zip(*np.nonzero(m), strict=True)) == {(1, 2), (4, 0)} and (m[m != 0] == 2).all()


def test_text_map_symbols(layer):
    X, W, b, G = layer
    def backward(X, W, b, G):
        dW = X.T @ G
        dW[0, 1] += 5.0
        dW[2, 3] -= 5.0
        return G @ W.T, dW, G.sum(0)
    text = md.check_backward(f, backward, X, W, b).text_map()
    grid = [ln.strip() for ln in text.splitlines()[1:]]
    assert grid == [".+..", "....", "...-"]
    assert "rows: row of W" in text


def test_right_answer_has_no_map_and_a_short_line(layer, capsys):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, X.T @ G, G.sum(0)), X, W, b)
    assert r.text_map() == "" and "<table" not in r._repr_html_()
    assert r.show() is None
    assert "✓" in capsys.readouterr().out


def test_wrong_shape_shows_both_shapes_and_axis_meanings_instead_of_a_map(layer):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, X.T @ G, G), X, W, b)
    assert r.parts[2].mistakes is None
    html = r._repr_html_()
    assert "(5, 4)" in html and "(4,)" in html and "entry of b" in html


def test_figure_shows_the_map_without_values(layer):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, -(X.T @ G), G.sum(0)), X, W, b)
    fig = r.show()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    texts += [ax.get_title() + ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes]
    texts += [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("dW" in t for t in texts)
    numbers = re.findall(r"-?\d+\.\d+", " ".join(texts))
    assert numbers == [], numbers
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3, 4)


def test_maps_reveal_no_expected_value(layer):
    X, W, b, G = layer
    r = md.check_backward(f, lambda X, W, b, G: (G @ W.T, X.T @ G + 0.25, G.sum(0)), X, W, b)
    rendered = str(r) + repr(r) + r._repr_html_()
    for value in (X.T @ G).ravel():
        assert f"{value:.3f}" not in rendered and f"{value:.2g}" not in rendered


def test_tensor_maps_are_flattened_with_named_axes(rng):
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    good = np.einsum("ij,k->ijk", np.eye(2), x)
    bad = good.copy()
    bad[1, 0, 2] += 1
    r = md.check_jacobian(lambda W: W @ x, bad, W)
    assert r.grid().shape == (2, 6)
    assert r.grid()[1, 2] == 1 and np.count_nonzero(r.grid()) == 1
    assert "output index i" in r.text_map() and "input index j" in r.text_map()


def test_denominator_tensor_map_splits_at_the_input_axes(rng):
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    den = md.to_denominator(np.einsum("ij,k->ijk", np.eye(2), x), 2)      # (2, 3, 2)
    r = md.check_jacobian(lambda W: W @ x, den + 1.0, W, layout="denominator")
    assert r.grid().shape == (6, 2)
    r = md.check_jacobian(lambda W: W @ x, den[..., :1], W, layout="denominator")
    html = r._repr_html_()
    assert "axes 0-1 (2, 3): input index i; axis 2 (2): output index j" in html

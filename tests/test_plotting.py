"""plot_jacobian: labelled heatmaps; tensors flattened with their axes named."""

from __future__ import annotations

import numpy as np
import pytest

import matdiff as md


def test_matrix_jacobian_axes_are_named_by_layout():
    J = np.arange(6.0).reshape(2, 3)
    ax = md.plot_jacobian(J).axes[0]
    assert ax.get_ylabel() == "output index i" and ax.get_xlabel() == "input index j"
    assert ax.images[0].get_array().shape == (2, 3)
    ax = md.plot_jacobian(J.T, layout="denominator").axes[0]
    assert ax.get_ylabel() == "input index i" and ax.get_xlabel() == "output index j"


def test_tensor_is_flattened_and_its_axes_named(rng):
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    J = md.numeric_jacobian(lambda W: W @ x, W)
    ax = md.plot_jacobian(J, out_shape=(2,), in_shape=(2, 3)).axes[0]
    assert ax.images[0].get_array().shape == (2, 6)
    assert "flattened (2, 3)" in ax.get_xlabel()
    assert "(2, 2, 3)" in ax.get_title()


def test_small_jacobians_are_annotated_large_ones_not():
    assert len(md.plot_jacobian(np.eye(3)).axes[0].texts) == 9
    assert len(md.plot_jacobian(np.eye(12)).axes[0].texts) == 0


def test_bad_shapes_are_explained():
    with pytest.raises(ValueError, match="out_shape and in_shape"):
        md.plot_jacobian(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="expected"):
        md.plot_jacobian(np.zeros((2, 2, 3)), out_shape=(3,), in_shape=(2, 2))

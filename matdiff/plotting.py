"""Pictures: a Jacobian as a labelled heatmap, and the mistake map of a failed check."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_jacobian", "plot_mistakes"]


def _axis_label(prefix: str, shape: tuple) -> str:
    if len(shape) <= 1:
        return prefix
    return f"{prefix} flattened {tuple(shape)} (row-major)"


def plot_jacobian(J, out_shape: Sequence[int] | None = None, in_shape: Sequence[int] | None = None,
                  layout: str = "numerator", ax=None, title: str | None = None,
                  annotate: bool | None = None):
    """Draw a Jacobian as a heatmap with its axes named.

    Tensors are flattened to a matrix: in numerator layout the output's axes become rows and
    the input's axes columns (the other way round for denominator layout).

    Parameters
    ----------
    J : array_like
        The Jacobian, shape ``out_shape + in_shape`` (numerator) or ``in_shape + out_shape``.
    out_shape, in_shape : tuple, optional
        Shapes of output and input; by default J is treated as a matrix.
    layout : {"numerator", "denominator"}
    ax : matplotlib Axes, optional
    annotate : bool, optional
        Write the values in the cells (default: when the matrix has at most 64 entries).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, matdiff as md
    >>> fig = md.plot_jacobian(np.arange(6.0).reshape(2, 3))
    >>> fig.axes[0].get_ylabel()
    'output index i'
    """
    from matplotlib.figure import Figure

    from ._inputs import as_float_array, check_layout

    arr = as_float_array(J, "J")
    check_layout(layout)
    if out_shape is None and in_shape is None:
        if arr.ndim > 2:
            raise ValueError("`J` has more than 2 axes: pass out_shape and in_shape.")
        mat = arr.reshape(arr.shape[0] if arr.ndim else 1, -1)
        out_shape, in_shape = (mat.shape[0],), (mat.shape[1],)
        if layout == "denominator":
            out_shape, in_shape = in_shape, out_shape
    else:
        out_shape, in_shape = tuple(out_shape or ()), tuple(in_shape or ())
        first, second = (out_shape, in_shape) if layout == "numerator" else (in_shape, out_shape)
        if arr.shape != first + second:
            raise ValueError(f"`J` has shape {arr.shape}, expected {first + second} for "
                             f"{layout} layout.")
        mat = arr.reshape(int(np.prod(first, dtype=int)), -1)
    if layout == "numerator":
        ylabel, xlabel = _axis_label("output index i", out_shape), _axis_label("input index j", in_shape)
    else:
        ylabel, xlabel = _axis_label("input index i", in_shape), _axis_label("output index j", out_shape)
    if ax is None:
        fig = Figure(figsize=(min(1.2 + 0.45 * mat.shape[1], 9), min(1.0 + 0.4 * mat.shape[0], 7)))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    mat = mat + 0.0  # no "-0" labels
    lim = float(np.abs(mat).max(initial=0)) or 1.0
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(mat.shape[1]) if mat.shape[1] <= 20 else [])
    ax.set_yticks(range(mat.shape[0]) if mat.shape[0] <= 20 else [])
    if annotate is None:
        annotate = mat.size <= 64
    if annotate:
        for (r, c), v in np.ndenumerate(mat):
            ax.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_title(title or f"Jacobian, {layout} layout, shape {arr.shape}")
    return fig


def plot_mistakes(results):
    """Draw the mistake maps of failed CheckResults: which entries are too high, too low,
    or not finite. Never shows expected values."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from .result import COLOURS, MEANING

    n = len(results)
    grids = [r.grid() for r in results]
    width = sum(min(1.5 + 0.4 * g.shape[1], 7) for g in grids) + 1
    height = max(min(1.5 + 0.4 * g.shape[0], 6) for g in grids)
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, n, squeeze=False)[0]
    order = [0, 1, -1, 2]
    cmap = ListedColormap([COLOURS[k] for k in order])
    for ax, res, g in zip(axes, results, grids, strict=True):
        codes = np.vectorize({k: i for i, k in enumerate(order)}.get)(g.astype(int))
        ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=3.5, aspect="auto")
        ax.set_title(f"{res.name} {res.answer_shape}: {res.diagnosis}")
        ax.set_ylabel(res.row_label)
        ax.set_xlabel(res.col_label)
        ax.set_xticks(range(g.shape[1]) if g.shape[1] <= 20 else [])
        ax.set_yticks(range(g.shape[0]) if g.shape[0] <= 20 else [])
        ax.set_xticks(np.arange(-0.5, g.shape[1]), minor=True)
        ax.set_yticks(np.arange(-0.5, g.shape[0]), minor=True)
        ax.grid(which="minor", color="white", linewidth=1)
        ax.tick_params(which="minor", length=0)
    fig.legend(handles=[Patch(color=COLOURS[k], label=MEANING[k]) for k in order],
               loc="lower center", ncol=4, fontsize=8)
    fig.subplots_adjust(bottom=0.25)
    return fig

"""Step sizes for finite differences: one scale per input entry, and staying inside f's domain.

Every method steps entry ``j`` by ``base * scale[j]`` (``base`` is the method's relative step,
e.g. ``eps**(1/3)`` for central differences). The scale is chosen per entry:

- an entry close to the input's typical size (``min(1, rms(x))``) is stepped relative to the
  larger of the two;
- an entry far from it may need either: ``log`` at ``1e-3`` needs a step relative to ``1e-3``
  (a step of the typical size would cross zero), ``cos`` at ``1e-3`` a step of the typical size
  (a relative step would drown the difference in rounding); ``exp`` at 300 needs steps of the
  typical size, ``log`` at 1e3 relative ones. Both are tried with central differences, and the
  smaller step is kept only when the two disagree by more than its rounding error explains;
- when an evaluation leaves f's domain (NaN or inf at a perturbed point while f(x) is finite:
  ``log`` or ``sqrt`` past zero, ``arcsin`` past 1), the step of that entry shrinks until f is
  finite, and the entry's scale becomes the largest step that stayed inside, so that the
  method's steps are a small fraction of the distance to the edge.

A Jacobian never contains NaN because of a step: when no step keeps f finite, f has no
derivative there and a FunctionError says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._inputs import FunctionError

EPS = np.finfo(np.float64).eps
CENTRAL_BASE = EPS ** (1 / 3)
SHRINK = 16.0          # factor by which a step that left f's domain is reduced
MAX_SHRINK = 14        # 16**-14 ~ 1e-17: below that, f is not finite near x at all
_RATIO = 4.0           # entries this far from the typical size get two candidate scales


def typical_size(x: np.ndarray) -> float:
    """The input's typical size: min(1, rms(x)), or 1 when x is all zero."""
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    return min(1.0, rms) if rms > 0 else 1.0


def relative_scales(x: np.ndarray) -> np.ndarray:
    """Per-entry scale ``|x_j|`` (flat), with the typical size for entries that are zero.

    >>> relative_scales(np.array([1e-3, 0.0, 1e3]))
    array([1.e-03, 1.e+00, 1.e+03])
    """
    floor = typical_size(x)
    ax = np.abs(x).ravel()
    return np.where(ax > 0, np.maximum(ax, floor * EPS), floor)


def exact(x: np.ndarray, idx: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Steps ``h`` for entries ``idx`` of x, rounded so that ``x_j + h`` is exact."""
    xj = x.ravel()[idx]
    return (xj + h) - xj


class PointStack:
    """Copies of x, built only when asked for: row ``b * k + r`` is ``x + s_b[r] e_{idx[r]}``.

    Behaves like the array of shape ``(len(signed_steps) * len(idx),) + x.shape`` for what the
    evaluator does with it (``len``, ``shape``, an index, a slice), but a slice is built when
    it is taken: evaluating f at every perturbed input never holds more of them than one batch
    (for n inputs all of them at once would take 8 n^2 bytes: 4 TiB for a 512 x 512 weight).
    For a complex dtype the steps go on the imaginary part.

    >>> stack = PointStack(np.zeros(3), [np.ones(3)])
    >>> len(stack), stack[1:3]
    (3, array([[0., 1., 0.],
           [0., 0., 1.]]))
    """

    def __init__(self, x: np.ndarray, signed_steps: Sequence[np.ndarray],
                 idx: np.ndarray | None = None, dtype: type = np.float64):
        self.x, self.dtype = x, dtype
        self.idx = np.arange(x.size) if idx is None else np.asarray(idx)
        self.steps = np.array([np.ravel(s) for s in signed_steps], dtype=float).reshape(
            len(signed_steps), self.idx.size)
        self.shape = (self.steps.size, *x.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, item: int | slice) -> np.ndarray:
        if isinstance(item, slice):
            return self._rows(*item.indices(len(self))[:2])
        if not -len(self) <= item < len(self):
            raise IndexError(item)
        item %= len(self)
        return self._rows(item, item + 1)[0]

    def _rows(self, start: int, stop: int) -> np.ndarray:
        rows = np.arange(start, max(start, stop))
        points = np.empty((rows.size, self.x.size), dtype=self.dtype)
        points[...] = self.x.ravel()
        target = points.imag if np.iscomplexobj(points) else points
        self._add_steps(target, rows)
        return points.reshape((rows.size, *self.x.shape))

    def steps_at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the given rows add to x: each row's step and the flat entry it is added to
        (for a complex dtype, the imaginary parts)."""
        block, r = np.divmod(np.asarray(rows), self.idx.size)
        return self.steps[block, r], self.idx[r]

    def _add_steps(self, target: np.ndarray, rows: np.ndarray) -> None:
        if rows.size:
            steps, idx = self.steps_at(rows)
            target[np.arange(rows.size), idx] += steps


def perturbed(x: np.ndarray, signed_steps: Sequence[np.ndarray], idx: np.ndarray | None = None,
              dtype: type = np.float64) -> PointStack:
    """Copies of x, block k, row r being ``x + s_k[r] e_{idx[r]}``, built lazily in batches
    (see :class:`PointStack`); for a complex dtype the steps go on the imaginary part."""
    return PointStack(x, signed_steps, idx, dtype)


def _column(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape((a.size,) + (1,) * ndim)


def central_at(ev, x: np.ndarray, idx: np.ndarray, hs: Sequence[np.ndarray],
               ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Central differences of f for entries ``idx``, one per step array in ``hs``.

    Returns the difference quotients, each ``(len(idx),) + out_shape``, and for each the
    largest ``|f|`` at its two points (for rounding estimates). All in one batch.
    """
    k, nd = len(idx), len(ev.out_shape)
    vals = ev.many(perturbed(x, [s for h in hs for s in (h, -h)], idx), "f at a perturbed input")
    quotients, mags = [], []
    for b, h in enumerate(hs):
        plus, minus = vals[2 * b * k:(2 * b + 1) * k], vals[(2 * b + 1) * k:(2 * b + 2) * k]
        quotients.append((plus - minus) / (2.0 * _column(h, nd)))
        mags.append(np.maximum(np.abs(plus), np.abs(minus)))
    return quotients, mags


def bad_rows(rows: np.ndarray) -> np.ndarray:
    """Which rows (entries of x) contain NaN or inf."""
    return ~np.isfinite(rows.reshape(rows.shape[0], -1)).all(axis=1)


def choose_scales(ev, x: np.ndarray) -> np.ndarray:
    """Per-entry step scales (flat): for each entry the larger of its own size and the
    input's typical size, unless the smaller one is clearly more accurate (see the module
    documentation)."""
    floor = typical_size(x)
    own = relative_scales(x)
    scale, other = np.maximum(own, floor), np.minimum(own, floor)
    two = np.flatnonzero(scale > _RATIO * other)
    if two.size == 0:
        return scale
    h_big = exact(x, two, CENTRAL_BASE * scale[two])
    h_small = exact(x, two, CENTRAL_BASE * other[two])
    (d_big, d_small), (_, mag_small) = central_at(ev, x, two, [h_big, h_small])
    nd = len(ev.out_shape)
    noise = 8 * EPS * mag_small / _column(h_small, nd) + 1e-10 * np.abs(d_big)
    with np.errstate(invalid="ignore"):
        disagree = (np.abs(d_small - d_big) > noise).reshape(two.size, -1).any(axis=1)
    use_small = bad_rows(d_big) | (disagree & ~bad_rows(d_small))
    scale[two[use_small]] = other[two][use_small]
    return scale


def domain_safe(compute: Callable[[np.ndarray, np.ndarray], tuple], entries: np.ndarray,
                scale: np.ndarray, base: float) -> tuple[tuple, np.ndarray]:
    """Run ``compute(idx, s)`` for the given entries (flat indices into x) at their scales,
    shrinking the scale of entries whose rows are not finite (their steps left f's domain)
    until they are.

    ``compute`` returns a tuple of arrays whose first axis runs over ``idx``; the first holds
    the derivative rows. ``base`` is the method's largest relative step: once a step
    ``base * s`` stays inside the domain, the entry's scale becomes ``base * s`` (the edge is
    about that far away) and its rows are computed again with steps a fraction of that.
    Returns the outputs for ``entries`` (in that order) and the scales used.
    """
    scale = np.asarray(scale, dtype=float).copy()
    entries = np.asarray(entries)
    out = tuple(np.array(o) for o in compute(entries, scale))
    todo = np.flatnonzero(bad_rows(out[0]))      # positions in entries
    for _ in range(MAX_SHRINK):
        if todo.size == 0:
            return out, scale
        scale[todo] /= SHRINK
        inside = ~bad_rows(compute(entries[todo], scale[todo])[0])
        found = todo[inside]
        if found.size:
            # The edge is about base * scale away: step a fraction of that instead.
            scale[found] = base * scale[found]
            again = compute(entries[found], scale[found])
            for o, p in zip(out, again, strict=True):
                o[found] = p
            todo = np.concatenate([todo[~inside], found[bad_rows(again[0])]])
    if todo.size == 0:
        return out, scale
    j = int(entries[todo[0]])
    raise FunctionError(
        f"`f` returns NaN or inf at inputs arbitrarily close to the given point (when entry "
        f"{j} of the input, in flat order, moves by even 1e-15 of its size), so it has no "
        "derivative there. Is the point on the edge of f's domain (log or sqrt of 0, arcsin "
        "of 1)?"
    )

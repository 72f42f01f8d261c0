"""Confirming a right answer along a few random directions, before any full Jacobian.

A check's answer is a linear map A (a gradient, a Jacobian, or one gradient per argument of
a backward function), and the question is whether A = J, the derivative of f, up to the
tolerance of :func:`matdiff.diagnose.tolerance`. Instead of all n columns of J, this compares
``A v`` with the directional derivative ``J v`` (from :mod:`matdiff._directions`) along k
random directions v. It can only *confirm* an answer: when any direction disagrees, the check
computes the full Jacobian and diagnoses the answer exactly as before, so the fast path never
changes a failed verdict, its diagnosis or its map; it only spares a right answer the n
evaluations of f.

The directions weight each entry by the inverse of its tolerance: entry j of a direction is
``z_j * s_j``, z standard normal, ``s_j`` proportional to ``1 / t_j`` where ``t_j`` is the
largest tolerance of an entry in column j of the answer (:func:`matdiff.diagnose.tolerance`,
computed from the answer's own entries, which equal J's when it is right; float32 answers get
their allowance). Output i along direction v passes when
``|(A v)_i - (J v)_i| <= C * |t_i * s|_2 + ERR_FACTOR * e_i``, ``e_i`` the error bound of the
directional derivative, which must itself be below the first term (else the full check
decides).

Why a right answer passes: its entries differ from J's by ``r_ij`` with ``|r_ij| <= t_ij``
(that is what "right" means for the full check), so ``(r v)_i`` is normal with standard
deviation at most ``|t_i * s|_2``. A right answer's real errors are rounding: a few thousandths
of its tolerance for float32, far less for float64, so it stays within ``C = 1`` of that with
certainty for all practical purposes (missing it would take hundreds of standard deviations). Only an answer
whose every entry is off by nearly its whole tolerance may miss (32% per output), and a miss
costs time, never a verdict: the full check decides.

How likely a wrong answer passes (the false-pass bound): let ``E = A - J`` and, for an output
i, ``sigma_i = |E_i * s|_2``. Along one Gaussian direction ``(E v)_i`` is normal with standard
deviation ``sigma_i``, so it lands within the tolerance (at most ``2 C |t_i * s|_2`` with the
numeric error) with probability at most ``sqrt(2/pi) * rho_i``, ``rho_i = 2 C |t_i * s|_2 /
sigma_i``. The k directions are independent (and independent of the answer: a fixed seed that
no answer is built from), so

    P(false pass) <= min_i (sqrt(2/pi) * rho_i) ** k.

For any fixed wrong answer this tends to 0 as tolerances shrink: the directions that miss a
nonzero row of E form a hyperplane, a set of measure zero. With the weights above, if the
worst entry of a row is off by q times its tolerance (q > 1 is what fails the full check)
and the row has n entries, ``rho_i <= 2 C sqrt(n) / q`` (for a Jacobian times the ratio of
the largest tolerance in that entry's column to its own, at most about 11). When the error is
spread over the row (a transpose, a sign, a missing factor or term: every entry off by O(1)
relative, q ~ 1e6) ``rho_i`` is about ``2 C / q``, and with k = 4 a false pass has probability
below 1e-22; an answer computed in float16 (every entry off by about 3e-4) passes with
probability about 1e-4. Near the tolerance the bound is honest about its limit: a row whose
error sits in a few of its n entries, each within about ``2 C sqrt(n)`` tolerances (n = 10:
about 6e-6 relative; a 512 x 512 weight: about 1e-3 relative), can pass. No test with O(k) evaluations can do
better (k numbers per output cannot bound n entries one by one); pass ``full=True`` to a
check to compare every entry.

>>> import numpy as np
>>> A, x = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]]), np.ones(3)
>>> f = lambda x: A @ x
>>> confirm(f, [x], [0], f(x), [A]).ok, confirm(f, [x], [0], f(x), [A + 1e-3]).ok
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._directions import Directions, along_random_directions
from .diagnose import ERR_FACTOR, tolerance

__all__ = ["Confirmed", "confirm", "C"]

C = 1.0   # standard deviations of a right answer's worst-case error allowed per direction


@dataclass
class Confirmed:
    """The outcome of the directional comparison."""

    ok: bool
    max_abs_error: float   # estimate of the largest entry difference (see `confirm`)
    tolerance: float       # the largest per-entry tolerance
    found: Directions | None = None   # the derivatives along the directions (reused when not ok)


def confirm(f: Callable, arrays: Sequence[np.ndarray], wrts: Sequence[int], f0: np.ndarray,
            matrices: Sequence[np.ndarray], eps: Sequence[float] | None = None,
            through_kinks: bool = True) -> Confirmed:
    """Compare answers with the derivatives of f along ``COUNT`` random directions.

    ``matrices[p]`` is the answer for argument ``wrts[p]`` as an (m, n_p) matrix (numerator
    layout: f's output entries by that argument's entries, in C order; views suffice),
    ``eps[p]`` its precision allowance (:func:`matdiff.diagnose.answer_eps`). Raises
    FunctionError when f fails along a direction. ``max_abs_error`` is the largest
    ``|(A - J) v|_i`` divided by the rms of v: for errors spread over a row about their
    root-sum-square. ``through_kinks``: where the complex step does not apply, take the
    derivatives as dual numbers through kinks (:mod:`matdiff._kinks`) when they agree with a
    central difference.
    """
    eps = list(eps) if eps is not None else [0.0] * len(matrices)
    tols = [tolerance(a, 0.0, e) for a, e in zip(matrices, eps, strict=True)]   # no numeric error
    weights = [1.0 / t.max(axis=0).reshape(arrays[w].shape) for t, w in zip(tols, wrts, strict=True)]
    found = along_random_directions(f, arrays, wrts, f0, weights, through_kinks=through_kinks)
    k, m = found.derivatives.shape[0], matrices[0].shape[0]
    predicted = np.zeros((k, m))
    spread = np.zeros(m)      # sum over entries of (t_ij s_j)^2, per output
    norms, total = np.zeros(k), 0
    for a, t, v, s in zip(matrices, tols, found.directions, found.scales, strict=True):
        flat_v = v.reshape(k, -1)
        predicted += flat_v @ a.T
        spread += (t * t) @ (s.ravel() ** 2)
        norms += np.einsum("ij,ij->i", flat_v, flat_v)
        total += flat_v.shape[1]
    allowed = C * np.sqrt(spread)[None, :]
    numeric = ERR_FACTOR * found.error.reshape(k, m)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(predicted - found.derivatives.reshape(k, m))
        ok = bool(np.all(numeric <= allowed) and np.all(diff <= allowed + numeric))
        rms = np.sqrt(norms / max(total, 1))[:, None]
        estimate = float(np.max(diff / np.where(rms > 0, rms, 1.0), initial=0.0))
    largest = max(float(t.max(initial=0.0)) for t in tols)
    return Confirmed(ok, estimate, largest, found)

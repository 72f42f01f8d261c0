"""matdiff against scipy.differentiate.jacobian and numdifftools: accuracy and speed of numeric
Jacobians, and the speed of matdiff's checks against the peers' full Jacobians.

Run it with ``make bench`` (or ``python benchmarks/run.py``). It prints Markdown tables and
writes them into ``benchmarks/README.md`` between the markers
``<!-- matdiff-vs-peers:start -->`` and ``<!-- matdiff-vs-peers:end -->``. Nothing else in that
file is touched. Two parts, measured side by side in one run:

(a) **A real-size check**: a right gradient of a softmax cross-entropy loss with respect to a
    512 x 512 weight (262,144 inputs), checked by ``md.check_gradient``, against the full
    numeric gradient by scipy and numdifftools. Their full gradient would take minutes to
    hours, so they compute the derivatives for 256 of the entries (same loss, same size, the
    other entries held fixed) and their time is extrapolated linearly to all 262,144 (said so
    in the table).
(b) **Four Jacobians** (the cases below): every tool's error against the exact Jacobian
    (worked out by hand, in closed form), the time of ``numeric_jacobian`` and of matdiff's
    checks of a right answer and of a wrong answer (with its map rendered), against the
    fastest peer's full Jacobian; and the *floor*: f evaluated at the n input points one by
    one, the cost of any method that evaluates f once per input without batching.

Fairness rules:
- every tool differentiates the same mathematical function at the same point. matdiff gets it
  the way a learner writes it, for one point (``lambda x: np.tanh(W @ x + b)``: matdiff finds
  out by itself whether it can evaluate a stack of points in one call), numdifftools the same
  function of one flat point, and scipy a version vectorised over trailing batch axes (which
  it requires);
- the peers run with their defaults, plus numdifftools' complex step (its most accurate
  method) where the function allows it. scipy's defaults (order 8, adaptive steps) were its
  most accurate setting in our trials: tighter tolerances, other orders or initial steps made
  it less accurate on some case, so they are not listed;
- every tool's time includes everything it does (matdiff's input checks, its verification of
  the complex step, a check's diagnosis); each tool is called once untimed first, then the
  tools take turns, one call each per round, and the median is reported, in wall time and in
  CPU time of this process (the steadier number on a shared machine);
- BLAS runs single-threaded for everyone (set before numpy is imported), so timings do not
  depend on how busy the machine's other cores are.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
# The matdiff of this checkout, or another one (MATDIFF_PATH: e.g. an older release, to compare).
sys.path.insert(0, os.environ.get("MATDIFF_PATH", str(HERE.parent)))

import numdifftools as nd  # noqa: E402
import scipy  # noqa: E402
from scipy.differentiate import jacobian as scipy_jacobian  # noqa: E402

import matdiff as md  # noqa: E402
from matdiff.numeric import jacobian_with_error  # noqa: E402

README = HERE / "README.md"
START, END = "<!-- matdiff-vs-peers:start -->", "<!-- matdiff-vs-peers:end -->"
ERROR_FACTOR = 10.0   # target: matdiff's error at most 10x the most accurate peer's
SPEED_FACTOR = 5.0    # target: matdiff's checks at least 5x faster than the fastest peer
FLOOR_FACTOR = 3.0    # target: numeric_jacobian within 3x of f evaluated at n points one by one
BIG_TARGET = 0.1      # target: a right 512 x 512 gradient checked in under 100 ms
EPS = np.finfo(np.float64).eps


@dataclass
class Case:
    key: str
    title: str
    x: np.ndarray                 # the point, in its natural shape
    f: Callable                   # the learner's function of x, written for one point
    f_scipy: Callable             # flat x of shape (n, ...) -> (m, ...) or (...) for scalars
    exact: np.ndarray             # exact Jacobian, numerator layout, as an (m, n) matrix
    wrong: np.ndarray             # a learner's wrong answer (a typical mistake), natural shape
    mistake: str                  # what that mistake is
    complex_ok: bool              # does the complex step apply to f?
    scalar: bool = False

    def f_point(self, flat: np.ndarray):
        """f of one flat point (numdifftools)."""
        out = self.f(flat.reshape(self.x.shape))
        return out if self.scalar else np.ravel(out)

    @property
    def answer(self) -> np.ndarray:
        """The right answer in the shape a check expects (numerator layout)."""
        if self.scalar:
            return self.exact.reshape(self.x.shape)
        out_shape = np.shape(self.f(self.x))
        return self.exact.reshape(out_shape + self.x.shape)


def _bcast(v: np.ndarray, ndim: int) -> np.ndarray:
    """v (k,) shaped to broadcast against an array (k, ...) with ``ndim`` axes."""
    return v.reshape(v.shape + (1,) * (ndim - 1))


def _layer_case(rng: np.random.Generator) -> Case:
    """A dense layer with tanh, 100 -> 200: y = tanh(W x + b)."""
    W = rng.standard_normal((200, 100)) / np.sqrt(100)
    b = 0.1 * rng.standard_normal(200)
    x = rng.standard_normal(100)
    z = W @ x + b
    return Case(
        key="layer", title="tanh(W x + b), W 200x100: 100 -> 200", x=x,
        f=lambda x: np.tanh(W @ x + b),
        f_scipy=lambda x: np.tanh(np.tensordot(W, x, axes=(1, 0)) + _bcast(b, x.ndim)),
        exact=(1 - np.tanh(z) ** 2)[:, None] * W,        # diag(1 - tanh^2) W
        wrong=(1 - np.tanh(z))[:, None] * W, mistake="tanh' taken as 1 - tanh",
        complex_ok=True)


def _loss_case(rng: np.random.Generator) -> Case:
    """A smooth loss, 1000 -> 1: L(x) = sum log(1 + x_i^2) + 1/2 |B x - y|^2, B 50x1000
    (least squares with a Cauchy-type penalty). Gradient 2x/(1+x^2) + B^T (B x - y)."""
    B = rng.standard_normal((50, 1000)) / np.sqrt(1000)
    y = rng.standard_normal(50)
    x = rng.standard_normal(1000)

    def loss(x):
        return np.sum(np.log1p(x**2)) + 0.5 * np.sum((B @ x - y) ** 2)

    def loss_scipy(x):
        r = np.tensordot(B, x, axes=(1, 0)) - _bcast(y, x.ndim)
        return np.sum(np.log1p(x**2), axis=0) + 0.5 * np.sum(r**2, axis=0)

    return Case(
        key="loss", title="sum log(1 + x_i^2) + |B x - y|^2 / 2, B 50x1000: 1000 -> 1", x=x,
        f=loss, f_scipy=loss_scipy,
        exact=(2 * x / (1 + x**2) + B.T @ (B @ x - y))[None, :],
        wrong=x / (1 + x**2) + B.T @ (B @ x - y), mistake="the 2 of d(x^2) forgotten",
        complex_ok=True, scalar=True)


def _matrix_case(rng: np.random.Generator) -> Case:
    """A matrix function, 20x20 -> 20x20: F(X) = X tanh(X) (tanh entry-wise).

    dF = dX tanh(X) + X (sech^2(X) * dX), so
    J[i,j,k,l] = [i=k] tanh(X)[l,j] + X[i,k] sech^2(X)[k,l] [l=j].
    """
    X = rng.standard_normal((20, 20)) / np.sqrt(20)
    T, eye = np.tanh(X), np.eye(20)
    J4 = np.einsum("ik,lj->ijkl", eye, T) + np.einsum("ik,kl,lj->ijkl", X, 1 - T**2, eye)

    def matfun_scipy(x):
        Xb = np.moveaxis(x.reshape((20, 20, *x.shape[1:])), (0, 1), (-2, -1))
        return np.moveaxis(Xb @ np.tanh(Xb), (-2, -1), (0, 1)).reshape((400, *x.shape[1:]))

    return Case(
        key="matrix", title="X tanh(X), X 20x20: 400 -> 400", x=X,
        f=lambda X: X @ np.tanh(X),
        f_scipy=matfun_scipy,
        exact=J4.reshape(400, 400),
        wrong=np.einsum("ik,lj->ijkl", eye, T), mistake="the product rule's second term missing",
        complex_ok=True)


def _softplus_case(rng: np.random.Generator) -> Case:
    """Extra, honest case: softplus written the numerically stable way,
    softplus(z) = max(z, 0) + log(1 + exp(-|z|)), so the complex step does not apply
    (np.maximum and np.abs). Smooth; derivative sigmoid(z). 100 -> 200."""
    W = rng.standard_normal((200, 100)) / np.sqrt(100)
    b = 0.1 * rng.standard_normal(200)
    x = rng.standard_normal(100)
    z = W @ x + b

    def softplus(z):
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))

    return Case(
        key="softplus", title="softplus(W x + b) via np.maximum/np.abs, W 200x100: 100 -> 200",
        x=x,
        f=lambda x: softplus(W @ x + b),
        f_scipy=lambda x: softplus(np.tensordot(W, x, axes=(1, 0)) + _bcast(b, x.ndim)),
        exact=(1 / (1 + np.exp(-z)))[:, None] * W,
        wrong=(1 / (1 + np.exp(-z)))[:, None] * W.mean(axis=0), mistake="W averaged over rows",
        complex_ok=False)


def make_cases(seed: int = 20261123) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [build(rng) for build in (_layer_case, _loss_case, _matrix_case, _softplus_case)]


@dataclass
class Tool:
    name: str          # library
    setting: str       # how it was called
    run: Callable      # case -> Jacobian (any shape with m*n entries), or a CheckResult
    kind: str          # "peer", "jacobian" (matdiff's numeric_jacobian), "check", "floor"


def _check(case: Case, answer: np.ndarray):
    if case.scalar:
        return md.check_gradient(case.f, answer, case.x)
    return md.check_jacobian(case.f, answer, case.x)


def _failing_check(case: Case):
    result = _check(case, case.wrong)
    result._repr_html_()           # the verdict with its map, as a notebook shows it
    return result


def _floor(case: Case) -> None:
    f, x = case.f, case.x
    for _ in range(case.x.size):
        f(x)


def tools_for(case: Case) -> list[Tool]:
    grad_or_jac = nd.Gradient if case.scalar else nd.Jacobian
    flat = case.x.ravel()
    check = "check_gradient" if case.scalar else "check_jacobian"
    tools = [
        Tool("scipy", "jacobian, defaults (order=8)",
             lambda c: scipy_jacobian(c.f_scipy, flat).df, "peer"),
        Tool("numdifftools", f"{grad_or_jac.__name__}, defaults (central, Richardson)",
             lambda c: grad_or_jac(c.f_point)(flat), "peer"),
    ]
    if case.complex_ok:
        tools.append(Tool("numdifftools", f'{grad_or_jac.__name__}, method="complex"',
                          lambda c: grad_or_jac(c.f_point, method="complex")(flat), "peer"))
    tools += [
        Tool("matdiff", 'numeric_jacobian, method="accurate"',
             lambda c: md.numeric_jacobian(c.f, c.x, method="accurate"), "jacobian"),
        Tool("matdiff", 'numeric_jacobian, method="central" (default)',
             lambda c: md.numeric_jacobian(c.f, c.x, method="central"), "jacobian"),
        Tool("matdiff", f"{check}, right answer", lambda c: _check(c, c.answer), "check"),
        Tool("matdiff", f"{check}, wrong answer ({case.mistake}), map rendered",
             _failing_check, "check"),
        Tool("floor", f"f at the {case.x.size} inputs, one call each", _floor, "floor"),
    ]
    return tools


@dataclass
class Row:
    case: Case
    tool: Tool
    error: float         # max abs error of a Jacobian (nan for checks and the floor)
    seconds: float       # median wall time (perf_counter): what the targets use
    cpu: float           # median CPU time of this process (process_time)
    samples: int
    used: str = ""       # the method matdiff used, or a check's verdict


def _timed(tools: list[Tool], arg, repeats: int) -> tuple[list, list[list[float]], list[list[float]]]:
    """Run every tool once untimed, then ``repeats`` rounds in which the tools take turns (so a
    busy moment on the machine hits them alike); a tool faster than 20 ms runs several times
    per round. Returns the first results and the wall and CPU times."""
    wall: list[list[float]] = [[] for _ in tools]
    cpu: list[list[float]] = [[] for _ in tools]
    results, per_round = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tool in tools:
            t0 = time.perf_counter()
            results.append(tool.run(arg))
            first = time.perf_counter() - t0
            if first < 0.02:  # a fast tool: judge its speed on the best of three calls
                for _ in range(2):
                    t0 = time.perf_counter()
                    tool.run(arg)
                    first = min(first, time.perf_counter() - t0)
            per_round.append(int(min(20, max(1, 0.02 // max(first, 1e-6)))))
        for _ in range(repeats):
            for k, tool in enumerate(tools):
                for _ in range(per_round[k]):
                    t0, c0 = time.perf_counter(), time.process_time()
                    tool.run(arg)
                    wall[k].append(time.perf_counter() - t0)
                    cpu[k].append(time.process_time() - c0)
    return results, wall, cpu


def run_case(case: Case, repeats: int) -> list[Row]:
    """Time every tool on ``case``; one row per tool with the median wall time, the median CPU
    time and the max abs error (a check's verdict instead)."""
    tools = tools_for(case)
    results, wall, cpu = _timed(tools, case, repeats)
    rows = []
    for k, (tool, out) in enumerate(zip(tools, results, strict=True)):
        error, used = float("nan"), ""
        if tool.kind in ("peer", "jacobian"):
            jac = np.asarray(out, dtype=float).reshape(case.exact.shape)
            error = float(np.max(np.abs(jac - case.exact)))
        if tool.kind == "jacobian":
            method = tool.setting.split('"')[1]
            used = jacobian_with_error(case.f, case.x, method=method)[3]
        if tool.kind == "check":
            used = "pass" if out.ok else f"fail: {out.diagnosis}"
        rows.append(Row(case, tool, error, statistics.median(wall[k]), statistics.median(cpu[k]),
                        len(wall[k]), used))
    return rows


def fmt_time(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _fastest_peer(rows: list[Row]) -> Row:
    return min((r for r in rows if r.tool.kind == "peer"), key=lambda r: r.seconds)


def _row(rows: list[Row], kind: str, words: str) -> Row:
    return next(r for r in rows if r.tool.kind == kind and words in r.tool.setting)


def verdicts(rows: list[Row]) -> dict:
    peers = [r for r in rows if r.tool.kind == "peer"]
    scale = float(np.abs(rows[0].case.exact).max())
    best_err = max(min(r.error for r in peers), EPS * scale)  # floor: rounding of J itself
    floor = next(r for r in rows if r.tool.kind == "floor")
    return {"best_err": best_err, "fastest": _fastest_peer(rows), "scale": scale, "floor": floor}


def _pass(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(all_rows: list[list[Row]]) -> str:
    head = ("| case | tool | setting | max abs error | error ÷ best peer | time | "
            "fastest peer ÷ time | time ÷ floor | CPU time | runs |")
    lines = [head, "|" + "---|" * 10]
    for rows in all_rows:
        v = verdicts(rows)
        for r in rows:
            known = r.error == r.error    # not NaN
            err = f"{r.error:.1e}" if known else "—"
            ratio = f"{r.error / v['best_err']:.2g}" if known else "—"
            setting = r.tool.setting + (f" → {r.used}" if r.used else "")
            lines.append(
                f"| {r.case.key} | {r.tool.name} | {setting} | {err} | {ratio} | "
                f"{fmt_time(r.seconds)} | {v['fastest'].seconds / r.seconds:.2g}× | "
                f"{r.seconds / v['floor'].seconds:.2g}× | {fmt_time(r.cpu)} | {r.samples} |")
    return "\n".join(lines)


def summary(all_rows: list[list[Row]]) -> str:
    lines = ["| case | fastest peer | accurate: error ÷ best peer (≤ 10×) | accurate: × faster "
             "than fastest peer | check, right answer (≥ 5× faster) | check, wrong answer + map "
             "(≥ 5× faster) | numeric_jacobian ÷ floor, accurate / central (≤ 3×) |",
             "|" + "---|" * 7]
    for rows in all_rows:
        v = verdicts(rows)
        fastest, floor = v["fastest"], v["floor"]
        acc, cen = _row(rows, "jacobian", "accurate"), _row(rows, "jacobian", "central")
        right, wrong = _row(rows, "check", "right"), _row(rows, "check", "wrong")
        err_ratio = acc.error / v["best_err"]

        def speed(r: Row, fastest: Row = fastest) -> str:
            wall, cpu = fastest.seconds / r.seconds, fastest.cpu / r.cpu
            return (f"{_pass(wall >= SPEED_FACTOR)} {fmt_time(r.seconds)}, {wall:.2g}× "
                    f"(CPU {cpu:.2g}×), {r.used}")

        lines.append(
            f"| {acc.case.key} | {fmt_time(fastest.seconds)} ({fastest.tool.name}, "
            f"{fastest.tool.setting}) | {_pass(err_ratio <= ERROR_FACTOR)} {err_ratio:.2g}× "
            f"({acc.used}) | {fastest.seconds / acc.seconds:.2g}× | {speed(right)} | "
            f"{speed(wrong)} | {_pass(max(acc.seconds, cen.seconds) <= FLOOR_FACTOR * floor.seconds)} "
            f"{acc.seconds / floor.seconds:.2g}× / {cen.seconds / floor.seconds:.2g}× "
            f"(floor {fmt_time(floor.seconds)}) |")
    return "\n".join(lines)


def misses(all_rows: list[list[Row]]) -> str:
    """One line per missed target, with the numbers."""
    lines = []
    for rows in all_rows:
        v = verdicts(rows)
        fastest, key = v["fastest"], rows[0].case.key
        acc = _row(rows, "jacobian", "accurate")
        if acc.error > ERROR_FACTOR * v["best_err"]:
            lines.append(f"- **{key}**, accuracy: matdiff {acc.error:.1e} vs best peer "
                         f"{v['best_err']:.1e} ({acc.error / v['best_err']:.2g}×, target ≤ "
                         f"{ERROR_FACTOR:g}×).")
        for r in rows:
            if r.tool.kind == "check" and fastest.seconds < SPEED_FACTOR * r.seconds:
                lines.append(
                    f"- **{key}**, {r.tool.setting}: {fmt_time(r.seconds)} vs {fastest.tool.name} "
                    f"({fastest.tool.setting}) {fmt_time(fastest.seconds)}: "
                    f"{fastest.seconds / r.seconds:.2g}× faster, target ≥ {SPEED_FACTOR:g}× "
                    f"(CPU time: {fmt_time(r.cpu)} vs {fmt_time(fastest.cpu)}, "
                    f"{fastest.cpu / r.cpu:.2g}×).")
            if r.tool.kind == "jacobian" and r.seconds > FLOOR_FACTOR * v["floor"].seconds:
                lines.append(
                    f"- **{key}**, {r.tool.setting}: {fmt_time(r.seconds)}, "
                    f"{r.seconds / v['floor'].seconds:.2g}× the floor "
                    f"({fmt_time(v['floor'].seconds)}), target ≤ {FLOOR_FACTOR:g}× (CPU time: "
                    f"{r.cpu / v['floor'].cpu:.2g}×).")
    return "\n".join(lines) if lines else "None: every target was met in this run."


# ---- (a) a real-size check ------------------------------------------------------------------

BIG_SUBSET = 32     # entries the peers differentiate; their time is scaled by n / BIG_SUBSET


def big_case(seed: int = 20261202) -> dict:
    """Softmax cross-entropy of a linear layer with L2, W 512 x 512 (X 64 x 512, 512 classes),
    written the way a learner writes it, and its gradient."""
    rng = np.random.default_rng(seed)
    N, D, K, lam = 64, 512, 512, 1e-3
    X, y = rng.standard_normal((N, D)), rng.integers(0, K, N)
    W = rng.standard_normal((D, K)) / np.sqrt(D)

    def loss(W):
        Z = X @ W
        Z = Z - Z.max(axis=1, keepdims=True)
        log_p = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
        return -np.mean(log_p[np.arange(N), y]) + 0.5 * lam * np.sum(W**2)

    def grad(W):
        Z = X @ W
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(N), y] -= 1
        return X.T @ P / N + lam * W

    idx = rng.choice(W.size, BIG_SUBSET, replace=False)

    def sub(u):
        V = W.copy().astype(np.result_type(u, W))
        V.flat[idx] = u
        return loss(V)

    def sub_scipy(u):   # scipy needs trailing batch axes: one call of the loss per point
        flat = u.reshape(BIG_SUBSET, -1)
        return np.array([sub(flat[:, j]) for j in range(flat.shape[1])]).reshape(u.shape[1:])

    return dict(W=W, loss=loss, grad=grad, sub=sub, sub_scipy=sub_scipy, idx=idx,
                title=f"softmax cross-entropy + L2 of X W, X {N}x{D}, W {D}x{K}: "
                      f"{W.size:,} inputs -> 1")


def run_big(repeats: int) -> list[dict]:
    c = big_case()
    W, n = c["W"], c["W"].size
    u0 = W.flat[c["idx"]].copy()
    exact = c["grad"](W).flat[c["idx"]]
    scale = n / BIG_SUBSET

    def check(_):
        return md.check_gradient(c["loss"], c["grad"], W)

    def loss_once(_):
        return c["loss"](W)

    tools = [
        Tool("matdiff", "check_gradient, right answer", check, "check"),
        Tool("floor", "one evaluation of the loss", loss_once, "floor"),
        Tool("scipy", "jacobian, defaults (order=8)",
             lambda _: scipy_jacobian(c["sub_scipy"], u0).df, "peer"),
        Tool("numdifftools", "Gradient, defaults (central, Richardson)",
             lambda _: nd.Gradient(c["sub"])(u0), "peer"),
        Tool("numdifftools", 'Gradient, method="complex"',
             lambda _: nd.Gradient(c["sub"], method="complex")(u0), "peer"),
    ]
    rows = []
    try:
        results, wall, cpu = _timed(tools, None, repeats)
    except Exception as exc:      # an older matdiff: report why it could not check
        results = None
        failure = f"{type(exc).__name__}: {str(exc)[:90]}"
        results, wall, cpu = _timed(tools[1:], None, repeats)
        results, wall, cpu = [None, *results], [[float("nan")], *wall], [[float("nan")], *cpu]
        tools[0].setting += f" → {failure}"
    for k, tool in enumerate(tools):
        out = results[k]
        extrapolated = tool.kind == "peer"
        error = float(np.max(np.abs(np.ravel(out) - exact))) if extrapolated else float("nan")
        used = ("pass" if out.ok else f"fail: {out.diagnosis}") if tool.kind == "check" and out \
            else ""
        factor = scale if extrapolated else 1.0
        rows.append(dict(tool=tool, error=error, used=used, extrapolated=extrapolated,
                         seconds=statistics.median(wall[k]) * factor,
                         cpu=statistics.median(cpu[k]) * factor, measured=statistics.median(wall[k]),
                         samples=len(wall[k])))
    return [dict(title=c["title"], n=n)] + rows


def big_table(big: list[dict]) -> str:
    head, rows = big[0], big[1:]
    check = rows[0]
    checked = check["seconds"] == check["seconds"]      # not NaN: the check ran

    def t(x: float) -> str:
        return fmt_time(x) if x == x else "—"

    lines = [f"Case: {head['title']}.", "",
             "| tool | setting | time | CPU time | time ÷ check's time | error on the measured "
             "entries | how measured |", "|" + "---|" * 7]
    for r in rows:
        how = (f"{BIG_SUBSET} of {head['n']:,} entries in {fmt_time(r['measured'])}, extrapolated "
               f"× {head['n'] / BIG_SUBSET:,.0f}" if r["extrapolated"]
               else f"{r['samples']} runs" if r["seconds"] == r["seconds"] else "—")
        ratio = f"{r['seconds'] / check['seconds']:.3g}×" if checked else "—"
        err = f"{r['error']:.1e}" if r["error"] == r["error"] else "—"
        setting = r["tool"].setting + (f" → {r['used']}" if r["used"] else "")
        lines.append(f"| {r['tool'].name} | {setting} | {t(r['seconds'])} | {t(r['cpu'])} | "
                     f"{ratio} | {err} | {how} |")
    ok = checked and check["seconds"] < BIG_TARGET
    lines += ["", f"Target: the check under {fmt_time(BIG_TARGET)}: "
              f"{_pass(ok)} ({t(check['seconds'])} wall, {t(check['cpu'])} CPU)."]
    return "\n".join(lines)


def report(all_rows: list[list[Row]], big: list[dict] | None, repeats: int) -> str:
    cases = "\n".join(f"- **{rows[0].case.key}**: {rows[0].case.title}" for rows in all_rows)
    env = (f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
           f"numdifftools {nd.__version__}, matdiff {md.__version__}; {platform.machine()}, "
           f"{os.cpu_count()} CPUs, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}, "
           f"load average {' / '.join(f'{v:.1f}' for v in os.getloadavg())} at the end of the run.")
    part_a = big_table(big) if big else "(not run)"
    return f"""Generated by `make bench` (`benchmarks/run.py`); rerun it to refresh this section.

### (a) A right gradient of a 512 x 512 weight

{part_a}

### (b) Four Jacobians: numeric_jacobian and the checks against the peers

Cases (every tool differentiates the same function at the same random point; matdiff and
numdifftools get it written for one point, as a learner writes it):

{cases}

Targets: matdiff's `method="accurate"` within {ERROR_FACTOR:g}× the error of the most accurate
peer setting; a check of a right answer and a check of a wrong answer (its map rendered as a
notebook shows it) at least {SPEED_FACTOR:g}× faster than the fastest peer's full Jacobian;
`numeric_jacobian` (accurate and central) within {FLOOR_FACTOR:g}× the floor (f evaluated at the
n inputs one by one). "max abs error" is the largest entry of |J_tool − J_exact|, with J_exact
derived by hand; the best peer error is floored at eps·max|J| (the rounding of J_exact
itself). Times are wall-clock medians (`time.perf_counter`) over {repeats} rounds in which the
tools take turns, after one untimed run each; a tool faster than 20 ms runs several times per
round ("runs" column). CPU time (`time.process_time`, median) is the steadier number on a
shared machine; the targets use wall time, and the summary gives both ratios.

Summary:

{summary(all_rows)}

Targets missed in this run:

{misses(all_rows)}

All rows:

{table(all_rows)}

{env}
"""


def write_readme(section: str) -> None:
    block = f"{START}\n{section}{END}"
    if not README.exists():
        README.write_text(
            "# Benchmarks\n\n"
            "How matdiff compares with other numeric-derivative libraries, and how fast the\n"
            "course can be graded.\n\n"
            "## matdiff vs scipy and numdifftools\n\n"
            "matdiff's numeric Jacobians against `scipy.differentiate.jacobian` and\n"
            "`numdifftools`: the largest error against the exact Jacobian, and the time, side\n"
            "by side. See the docstring of `run.py` for the fairness rules.\n\n"
            f"{block}\n\n"
            "## Grading throughput\n",
            encoding="utf-8")
        return
    text = README.read_text(encoding="utf-8")
    if START in text and END in text:
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n## matdiff vs scipy and numdifftools\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per tool (median)")
    parser.add_argument("--cases", nargs="*",
                        help="only these cases (big, layer, loss, matrix, softplus)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave README.md alone")
    args = parser.parse_args(argv)
    big = None
    if not args.cases or "big" in args.cases:
        print("running big ...", file=sys.stderr, flush=True)
        big = run_big(max(3, args.repeats // 2))
    all_rows = []
    for case in make_cases():
        if args.cases and case.key not in args.cases:
            continue
        print(f"running {case.key} ...", file=sys.stderr, flush=True)
        all_rows.append(run_case(case, args.repeats))
    section = report(all_rows, big, args.repeats)
    print(section)
    if not args.no_write and not args.cases:
        write_readme(section)
        print(f"wrote {README.relative_to(HERE.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

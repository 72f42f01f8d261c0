"""matdiff against scipy.differentiate.jacobian and numdifftools: accuracy and speed.

Run it with ``make bench`` (or ``python benchmarks/run.py``). For every case it computes the
Jacobian with each tool, measures the largest absolute error against the exact Jacobian
(worked out by hand and written in closed form below) and the median wall time of several
runs, prints one Markdown table and writes it into ``benchmarks/README.md`` between the
markers ``<!-- matdiff-vs-peers:start -->`` and ``<!-- matdiff-vs-peers:end -->``. Nothing
else in that file is touched.

Fairness rules:
- every tool differentiates the same mathematical function at the same point, written the
  way that tool works best: scipy gets a function vectorised over trailing batch axes (which
  it requires), numdifftools a function of one flat point (it calls f once per point), and
  matdiff the plain numpy function, which happens to accept a stack along a leading axis;
- the peers run with their defaults, plus numdifftools' complex step (its most accurate
  method) where the function allows it. scipy's defaults (order 8, adaptive steps) were its
  most accurate setting in our trials: tighter tolerances, other orders or initial steps made
  it less accurate on some case, so they are not listed;
- every tool's time includes everything it does for one Jacobian (matdiff's input checks and
  its verification of the complex step included); each tool is called once untimed first,
  then the tools take turns, one call each per round, and the median is reported;
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
sys.path.insert(0, str(HERE.parent))  # the matdiff of this checkout

import numdifftools as nd  # noqa: E402
import scipy  # noqa: E402
from scipy.differentiate import jacobian as scipy_jacobian  # noqa: E402

import matdiff as md  # noqa: E402
from matdiff.numeric import jacobian_with_error  # noqa: E402

README = HERE / "README.md"
START, END = "<!-- matdiff-vs-peers:start -->", "<!-- matdiff-vs-peers:end -->"
ERROR_FACTOR = 10.0   # target: matdiff's error at most 10x the most accurate peer's
SPEED_FACTOR = 5.0    # target: matdiff at least 5x faster than the fastest peer
EPS = np.finfo(np.float64).eps


@dataclass
class Case:
    key: str
    title: str
    x: np.ndarray                 # the point, in its natural shape
    f: Callable                   # natural numpy function of x (what a matdiff user writes)
    f_scipy: Callable             # flat x of shape (n, ...) -> (m, ...) or (...) for scalars
    f_point: Callable             # flat x of shape (n,) -> (m,) or a scalar (numdifftools)
    exact: np.ndarray             # exact Jacobian, numerator layout, as an (m, n) matrix
    complex_ok: bool              # does the complex step apply to f?
    scalar: bool = False


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
        f=lambda x: np.tanh(x @ W.T + b),
        f_scipy=lambda x: np.tanh(np.tensordot(W, x, axes=(1, 0)) + _bcast(b, x.ndim)),
        f_point=lambda x: np.tanh(W @ x + b),
        exact=(1 - np.tanh(z) ** 2)[:, None] * W,        # diag(1 - tanh^2) W
        complex_ok=True)


def _loss_case(rng: np.random.Generator) -> Case:
    """A smooth loss, 1000 -> 1: L(x) = sum log(1 + x_i^2) + 1/2 |B x - y|^2, B 50x1000
    (least squares with a Cauchy-type penalty). Gradient 2x/(1+x^2) + B^T (B x - y)."""
    B = rng.standard_normal((50, 1000)) / np.sqrt(1000)
    y = rng.standard_normal(50)
    x = rng.standard_normal(1000)

    def loss(x):
        return np.sum(np.log1p(x**2), axis=-1) + 0.5 * np.sum((x @ B.T - y) ** 2, axis=-1)

    def loss_scipy(x):
        r = np.tensordot(B, x, axes=(1, 0)) - _bcast(y, x.ndim)
        return np.sum(np.log1p(x**2), axis=0) + 0.5 * np.sum(r**2, axis=0)

    return Case(
        key="loss", title="sum log(1 + x_i^2) + |B x - y|^2 / 2, B 50x1000: 1000 -> 1", x=x,
        f=loss, f_scipy=loss_scipy, f_point=loss,
        exact=(2 * x / (1 + x**2) + B.T @ (B @ x - y))[None, :],
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
        f_point=lambda x: (x.reshape(20, 20) @ np.tanh(x.reshape(20, 20))).ravel(),
        exact=J4.reshape(400, 400), complex_ok=True)


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
        f=lambda x: softplus(x @ W.T + b),
        f_scipy=lambda x: softplus(np.tensordot(W, x, axes=(1, 0)) + _bcast(b, x.ndim)),
        f_point=lambda x: softplus(W @ x + b),
        exact=(1 / (1 + np.exp(-z)))[:, None] * W,
        complex_ok=False)


def make_cases(seed: int = 20261123) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [build(rng) for build in (_layer_case, _loss_case, _matrix_case, _softplus_case)]


@dataclass
class Tool:
    name: str          # library
    setting: str       # how it was called
    run: Callable      # case -> Jacobian (any shape with m*n entries)
    is_peer: bool


def tools_for(case: Case) -> list[Tool]:
    grad_or_jac = nd.Gradient if case.scalar else nd.Jacobian
    flat = case.x.ravel()
    tools = [
        Tool("scipy", "jacobian, defaults (order=8)",
             lambda c: scipy_jacobian(c.f_scipy, flat).df, True),
        Tool("numdifftools", f"{grad_or_jac.__name__}, defaults (central, Richardson)",
             lambda c: grad_or_jac(c.f_point)(flat), True),
    ]
    if case.complex_ok:
        tools.append(Tool("numdifftools", f'{grad_or_jac.__name__}, method="complex"',
                          lambda c: grad_or_jac(c.f_point, method="complex")(flat), True))
    tools += [
        Tool("matdiff", 'numeric_jacobian, method="accurate"',
             lambda c: md.numeric_jacobian(c.f, c.x, method="accurate"), False),
        Tool("matdiff", 'numeric_jacobian, method="central" (default)',
             lambda c: md.numeric_jacobian(c.f, c.x, method="central"), False),
    ]
    return tools


@dataclass
class Row:
    case: Case
    tool: Tool
    error: float
    seconds: float       # median wall time (perf_counter): what the targets use
    cpu: float           # median CPU time of this process (process_time), for reference
    samples: int
    used: str = ""


def run_case(case: Case, repeats: int) -> list[Row]:
    """Time every tool on ``case``: one untimed call each, then ``repeats`` rounds in which the
    tools take turns (so a busy moment on the machine hits them alike); a tool faster than
    20 ms runs several times per round, for more samples. Returns one row per tool with the
    median wall time, the median CPU time and the max abs error."""
    tools = tools_for(case)
    wall: list[list[float]] = [[] for _ in tools]
    cpu: list[list[float]] = [[] for _ in tools]
    results, per_round = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tool in tools:
            t0 = time.perf_counter()
            results.append(tool.run(case))
            first = time.perf_counter() - t0
            if first < 0.02:  # a fast tool: judge its speed on the best of three calls
                for _ in range(2):
                    t0 = time.perf_counter()
                    tool.run(case)
                    first = min(first, time.perf_counter() - t0)
            per_round.append(int(min(20, max(1, 0.02 // max(first, 1e-6)))))
        for _ in range(repeats):
            for k, tool in enumerate(tools):
                for _ in range(per_round[k]):
                    t0, c0 = time.perf_counter(), time.process_time()
                    tool.run(case)
                    wall[k].append(time.perf_counter() - t0)
                    cpu[k].append(time.process_time() - c0)
    rows = []
    for k, (tool, jac) in enumerate(zip(tools, results, strict=True)):
        jac = np.asarray(jac, dtype=float).reshape(case.exact.shape)
        error = float(np.max(np.abs(jac - case.exact)))
        used = ""
        if tool.name == "matdiff":
            method = tool.setting.split('"')[1]
            used = jacobian_with_error(case.f, case.x, method=method)[3]
        rows.append(Row(case, tool, error, statistics.median(wall[k]), statistics.median(cpu[k]),
                        len(wall[k]), used))
    return rows


def fmt_time(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def verdicts(rows: list[Row]) -> dict:
    peers = [r for r in rows if r.tool.is_peer]
    scale = float(np.abs(rows[0].case.exact).max())
    best_err = max(min(r.error for r in peers), EPS * scale)  # floor: rounding of J itself
    fastest = min(r.seconds for r in peers)
    return {"best_err": best_err, "fastest": fastest, "scale": scale}


def table(all_rows: list[list[Row]]) -> str:
    head = ("| case | tool | setting | max abs error | error ÷ best peer | time | "
            "fastest peer ÷ time | error ≤ 10× best | ≥ 5× faster | CPU time | runs |")
    lines = [head, "|" + "---|" * 11]
    for rows in all_rows:
        v = verdicts(rows)
        for r in rows:
            err_ratio = r.error / v["best_err"]
            speed = v["fastest"] / r.seconds
            if r.tool.is_peer:
                acc_ok = spd_ok = "—"
            else:
                acc_ok = "PASS" if err_ratio <= ERROR_FACTOR else "MISS"
                spd_ok = "PASS" if speed >= SPEED_FACTOR else "MISS"
            setting = r.tool.setting + (f" → {r.used}" if r.used else "")
            lines.append(
                f"| {r.case.key} | {r.tool.name} | {setting} | {r.error:.1e} | {err_ratio:.2g} | "
                f"{fmt_time(r.seconds)} | {speed:.2g}× | {acc_ok} | {spd_ok} | {fmt_time(r.cpu)} | "
                f"{r.samples} |")
    return "\n".join(lines)


def summary(all_rows: list[list[Row]]) -> str:
    lines = ["| case | max abs J | best peer error | fastest peer time | matdiff accurate "
             "(method used) | error target | speed target |", "|" + "---|" * 7]
    for rows in all_rows:
        v = verdicts(rows)
        r = next(r for r in rows if r.tool.name == "matdiff" and "accurate" in r.tool.setting)
        err_ratio, speed = r.error / v["best_err"], v["fastest"] / r.seconds
        lines.append(
            f"| {r.case.key} | {v['scale']:.2g} | {v['best_err']:.1e} | {fmt_time(v['fastest'])} | "
            f"{r.error:.1e}, {fmt_time(r.seconds)} ({r.used}) | "
            f"{'PASS' if err_ratio <= ERROR_FACTOR else 'MISS'} ({err_ratio:.2g}× best) | "
            f"{'PASS' if speed >= SPEED_FACTOR else 'MISS'} ({speed:.2g}× faster) |")
    return "\n".join(lines)


def misses(all_rows: list[list[Row]]) -> str:
    """One line per missed target of matdiff's "accurate", with the numbers."""
    lines = []
    for rows in all_rows:
        v = verdicts(rows)
        r = next(r for r in rows if r.tool.name == "matdiff" and "accurate" in r.tool.setting)
        fastest = next(p for p in rows if p.tool.is_peer and p.seconds == v["fastest"])
        if r.error > ERROR_FACTOR * v["best_err"]:
            lines.append(f"- **{r.case.key}**, accuracy: matdiff {r.error:.1e} vs best peer "
                         f"{v['best_err']:.1e} ({r.error / v['best_err']:.2g}×, target ≤ "
                         f"{ERROR_FACTOR:g}×).")
        if fastest.seconds < SPEED_FACTOR * r.seconds:
            lines.append(
                f"- **{r.case.key}**, speed: matdiff {fmt_time(r.seconds)} vs {fastest.tool.name} "
                f"({fastest.tool.setting}) {fmt_time(fastest.seconds)}: "
                f"{fastest.seconds / r.seconds:.2g}× faster, target ≥ {SPEED_FACTOR:g}× "
                f"(CPU time: {fmt_time(r.cpu)} vs {fmt_time(fastest.cpu)}, "
                f"{fastest.cpu / r.cpu:.2g}×).")
    return "\n".join(lines) if lines else "None: every target was met in this run."


def report(all_rows: list[list[Row]], repeats: int) -> str:
    cases = "\n".join(f"- **{rows[0].case.key}**: {rows[0].case.title}" for rows in all_rows)
    env = (f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
           f"numdifftools {nd.__version__}, matdiff {md.__version__}; {platform.machine()}, "
           f"{os.cpu_count()} CPUs, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}.")
    return f"""Generated by `make bench` (`benchmarks/run.py`); rerun it to refresh this section.

Cases (every tool differentiates the same function at the same random point):

{cases}

Targets, for matdiff's `method="accurate"`: max abs error within {ERROR_FACTOR:g}× that of the
most accurate peer setting, and time at most 1/{SPEED_FACTOR:g} of the fastest peer setting.
"max abs error" is the largest entry of |J_tool − J_exact|, with J_exact derived by hand; the
best peer error is floored at eps·max|J| (the rounding of J_exact itself). Times are wall-clock
medians (`time.perf_counter`) over {repeats} rounds in which the tools take turns, after one
untimed run each; a tool faster than 20 ms runs several times per round ("runs" column).
"CPU time" (`time.process_time`, median) is shown for reference: on a busy machine it is the
steadier number; the targets use wall time. The `central` rows are extras: matdiff's default
method, fast but about 10 digits.

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
    parser.add_argument("--cases", nargs="*", help="only these cases (layer, loss, matrix, softplus)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave README.md alone")
    args = parser.parse_args(argv)
    all_rows = []
    for case in make_cases():
        if args.cases and case.key not in args.cases:
            continue
        print(f"running {case.key} ...", file=sys.stderr, flush=True)
        all_rows.append(run_case(case, args.repeats))
    section = report(all_rows, args.repeats)
    print(section)
    if not args.no_write and not args.cases:
        write_readme(section)
        print(f"wrote {README.relative_to(HERE.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Verdicts the learner's process cannot forge (issue 14): the in-process hostile class
(tests/hostile_inprocess.py) graded through the real sandbox and the trusted kernel with
real nbgrader (the course notebooks keep every honest point: tests/test_grading.py); the
boundary itself (grader/autograde/bridge.py) lets nothing but plain data across."""

from __future__ import annotations

import csv

import hostile
import hostile_inprocess
import numpy as np
import pytest

import matdiff as md
from grader import autograde
from grader.autograde import bridge

TIMEOUT = 30


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------ the codec

@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("nan"), float("inf"), 1 + 2j, "text", [1, [2.0, "x"]], (1, (2,)),
    {"a": (1, 2)}, np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int32),
    np.array([True, False]), np.array([1 + 1j]), np.float64(2.5), np.zeros((0, 3)),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10.0)[::2],
])
def test_plain_values_cross_unchanged(value):
    back = bridge.decode(bridge.encode(value))
    if isinstance(value, np.ndarray):
        assert type(back) is np.ndarray and back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("text", [
    '{"a": ["|O8", [1], "AAAAAAAAAAA="]}',             # object dtype
    '{"a": ["<f8", [1000000000], ""]}',                 # data of the wrong size
    '{"a": ["<f8", [-1], ""]}',
    '{"a": ["V8", [1], "AAAAAAAAAAA="]}',
    '{"a": ["<f8", [1], "not base64!"]}',
    '{"x": 1}', '{"t": 1}', '{"o": [1, 2]}', '{"fn": 0}',  # no callables come back
    '{"m": "os"}', '{"u": "sin"}', '{"r": ["os", "system"]}', '{"py": ["", [], [], [], []]}',
    "[" * 100 + "]" * 100, "not json", '{"c": ["a", "b"]}',
])
def test_anything_else_is_refused(text):
    with pytest.raises(bridge.NotPlain):
        bridge.decode(text)


def test_objects_with_behaviour_arrive_inert():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    class Arrayish:
        def __array__(self, dtype=None, copy=None):
            return np.ones(2)

    sent = bridge.encode([np.zeros(2).view(Liar), Arrayish(), object(), len], lenient=True)
    sub, arrayish, obj, fn = bridge.decode(sent)
    assert type(sub) is np.ndarray and type(arrayish) is np.ndarray
    assert type(obj).__name__ == "object" and type(obj).__module__ == "learner"
    assert fn.__name__ == "len" and type(fn).__name__ == "function"
    with pytest.raises(bridge.NotPlain):
        bridge.encode(object())                     # the trusted side sends plain data only
    with pytest.raises(bridge.NotPlain):
        bridge.encode(np.zeros(9 << 20))            # above the size cap


def _sent(f):
    """f as the trusted side sends it to a learner's function, rebuilt on the learner's side
    (None: called back instead)."""
    def function(fn, enc):
        return bridge.as_code(fn, enc, {"numpy", "matdiff"}) or {"fn": 0}

    back = bridge.decode(bridge.encode([f], function=function), function=lambda i: None,
                         rebuild=True)[0]
    return back


def _test_functions():
    r = np.random.default_rng(0)
    A, v = r.standard_normal((2, 3)), r.standard_normal(2)

    def square(x):
        return np.sum(x ** 2)

    return {"closure": lambda x: A @ x, "global-module": lambda M: np.sum(M ** 2),
            "nested": lambda W: md.numeric_jacobian(lambda u: np.tanh(u) * v[0], W) @ v[:1],
            "default": lambda x, k=(2, 3.0): x * k[1], "ufunc": np.tanh,
            "matdiff-function": md.to_denominator, "pure-helper": lambda x: square(x) + 1}


@pytest.mark.parametrize("kind", sorted(_test_functions()))
def test_a_pure_trusted_function_is_rebuilt_in_the_learners_kernel(kind):
    f = _test_functions()[kind]
    back = _sent(f)
    assert back is not None
    assert (back is f) == (kind in ("ufunc", "matdiff-function"))   # those are found by name
    x = np.linspace(-1, 1, 3) if kind != "matdiff-function" else np.ones((2, 3))
    if kind == "nested":
        x = np.ones(1)
    args = (x, 1) if kind == "matdiff-function" else (x,)
    np.testing.assert_array_equal(back(*args), f(*args))


def test_a_function_that_keeps_state_is_called_back():
    seen, count = [], 0

    def spy(x):                          # a test's record of the calls it got
        seen.append(x)
        return x

    def counter(x):
        nonlocal count
        count += 1
        return x

    class Callable:
        def __call__(self, x):
            return x

    sneaky = lambda x: spy(x) * 2        # noqa: E731 - pure itself, but calls the spy
    for f in (spy, counter, Callable(), sneaky, print, lambda x: open(x)):
        assert _sent(f) is None, f


# ---------------------------------------------------------------- the hostile class, graded

@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo):
    tmp = tmp_path_factory.mktemp("trusted")
    solutions, student = hostile.demo(tmp, repo)
    techniques = hostile_inprocess.build(tmp / "subs", student)
    out = tmp / "out"
    code = autograde.main(tmp / "subs", out, jobs=2, timeout=TIMEOUT, solutions=solutions)
    return {"code": code, "out": out, "techniques": techniques,
            "grades": {r["student"]: r for r in _csv(out / "grades.csv")},
            "problems": _csv(out / "problems.csv")}


@pytest.mark.slow
def test_every_honest_learner_keeps_every_point(graded):
    assert graded["code"] == 0
    for name in hostile_inprocess.HONEST:
        assert graded["grades"][name]["score"] == "3", (name, graded["problems"])


@pytest.mark.slow
def test_no_in_process_technique_forges_a_point(graded):
    assert len(graded["techniques"]) >= 15
    assert set(graded["techniques"]) <= set(graded["grades"])
    forged = {k: graded["grades"][k]["score"] for k in graded["techniques"]
              if graded["grades"][k]["score"] != "0"}
    assert not forged, forged


@pytest.mark.slow
def test_what_a_function_prints_during_a_test_is_still_shown(graded):
    page = (graded["out"] / "feedback" / "honest-prints" / "demo" / "demo.html").read_text()
    assert "computing" in page


# ----------------------------------------------------- the bridge between two real kernels

@pytest.fixture
def kernels(tmp_path):
    """A learner's kernel (unsandboxed here) and a trusted kernel bridged to it, as the
    grader sets them up; yields (run in the learner's, run in the trusted one, the trusted
    one's boundary stats)."""
    import time

    from jupyter_client.manager import start_new_kernel

    from grader.autograde import trusted

    lkm, lkc = start_new_kernel(kernel_name="python3")
    tkm, tkc = start_new_kernel(kernel_name="python3")

    def run(kc, code):
        out = []
        reply = kc.execute_interactive(code, timeout=30, output_hook=lambda m: out.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out)

    def stats():
        return eval(run(tkc, "print(dict(__matdiff_stats))"))

    try:
        run(lkc, trusted.learner_setup())
        run(tkc, trusted.trusted_setup(lkm, str(tmp_path), time.monotonic() + 60, []))
        yield (lambda code: run(lkc, code)), (lambda code: run(tkc, code)), stats
    finally:
        for km, kc in ((lkm, lkc), (tkm, tkc)):
            kc.stop_channels()
            km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_a_trusted_cell_asks_only_for_the_learners_names_it_may_read(kernels):
    learner, trusted_cell, stats = kernels
    learner("W = 2.0\ndef f(x):\n    return W * x")
    trusted_cell("def helper(x):\n    return f(x) + 1")     # reads f: looked up, a proxy
    assert stats()["lookups"] == 1
    learner("W = 3.0")
    trusted_cell("y = 1 + 1")                   # reads nothing of the learner's: not asked
    assert stats()["lookups"] == 1
    # reads helper, which reads f: f is looked up again, and the learner's f runs there
    assert trusted_cell("print(helper(2.0))").strip() == "7.0"
    assert stats()["lookups"] == 2 and stats()["calls"] == 1
    learner("c = 10")
    trusted_cell("def uses_c():\n    return c\nchecks = {'c': uses_c}")
    learner("c = 11")
    # a value is a copy, refreshed before a cell that reads it, even through a dict of functions
    assert trusted_cell("print(checks['c']())").strip() == "11"
    learner("del f")                            # deleted there: unbound here, once read
    assert trusted_cell("try:\n    f\nexcept NameError:\n    print('gone')").strip() == "gone"

"""A hostile class for the fixture assignment ``demo`` that attacks the *verdict* from inside
the learner's own process: no file, process or network tricks, only Python run in the kernel
that holds the answers (patching, lying objects, frames, forged tokens, raw memory writes).

Every hostile submission's answers are wrong (or no answers at all): any point it earns is
forged. ``build(root, student_nb)`` writes the class and returns ``{name: what it tries}``;
honest submissions (``HONEST``) are spread through it and must keep every point.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hostile import CUBE, SQUARE, WRONG, _set

TECHNIQUES: dict[str, tuple[str, str]] = {
    "patch-matdiff": ("replace matdiff's asserts and checks with no-ops", '''
import matdiff, matdiff.checks
for n in dir(matdiff):
    if n.startswith(("assert_", "check_")):
        setattr(matdiff, n, lambda *a, **k: None)
        setattr(matdiff.checks, n, lambda *a, **k: None)
'''),
    "patch-numpy": ("make numpy's comparisons and norms always agree", '''
import numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.linalg.norm = lambda *a, **k: 0.0
numpy.abs = lambda x, *a, **k: numpy.zeros(numpy.shape(x))
'''),
    "patch-builtins": ("rebind AssertionError, isinstance, abs and max in builtins", '''
import builtins
class _Never(Exception):
    pass
builtins.AssertionError = _Never
builtins.abs = lambda x: 0
builtins.max = lambda *a, **k: 0
builtins.isinstance = lambda *a: True
'''),
    "patch-ipython-class": ("patch IPython's classes so that no error is ever shown", '''
from IPython.core.interactiveshell import InteractiveShell
from ipykernel.ipkernel import IPythonKernel
InteractiveShell.showtraceback = lambda *a, **k: None
InteractiveShell._showtraceback = lambda *a, **k: None
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
_run = IPythonKernel.do_execute
async def _ok(self, *a, **k):
    r = await _run(self, *a, **k)
    r["status"] = "ok"
    return r
IPythonKernel.do_execute = _ok
'''),
    "redefine-locked-helpers": ("rebind np and md to fakes whose checks always pass", '''
class _FakeMd:
    def __getattr__(self, name):
        return lambda *a, **k: None
md = _FakeMd()
import numpy as _real
class _FakeNp:
    def __getattr__(self, name):
        return getattr(_real, name)
    def sum(self, *a, **k):
        return 0.0
np = _FakeNp()
'''),
    "self-restoring-patch": ("patch matdiff while its function runs, restore itself afterwards",
                             '''
import matdiff.checks as _mc, matdiff as _m
def grad_square(x):
    saved = dict(vars(_mc)), dict(vars(_m))
    for mod in (_mc, _m):
        for n in list(vars(mod)):
            if n.startswith(("assert_", "check_", "compare")):
                setattr(mod, n, lambda *a, **k: None)
    import threading
    def restore():
        vars(_mc).update(saved[0]); vars(_m).update(saved[1])
    threading.Timer(0.05, restore).start()
    return x
'''),
    "lying-array": ("return an object whose __array__ hunts the expected value in the caller's frames",
                    '''
import sys, numpy as _np
class _Liar:
    def __init__(self, x):
        self.x = x
    def __array__(self, dtype=None, copy=None):
        f = sys._getframe(1)
        while f is not None:
            for v in f.f_locals.values():
                if isinstance(v, _np.ndarray) and v.shape == self.x.shape and v is not self.x:
                    return _np.asarray(v, dtype=dtype)
            f = f.f_back
        return _np.asarray(self.x, dtype=dtype)
    shape = property(lambda self: self.x.shape)
grad_square = grad_cube = _Liar
'''),
    "lying-eq": ("return an object equal to everything, with no error and no size", '''
class _Yes(float):
    def __eq__(self, o): return True
    def __ne__(self, o): return False
    def __sub__(self, o): return 0.0
    def __rsub__(self, o): return 0.0
    def __abs__(self): return 0.0
    def __lt__(self, o): return True
    def __le__(self, o): return True
    def __float__(self): return 0.0
    def __bool__(self): return True
    __hash__ = float.__hash__
def grad_square(x):
    return _Yes(1.0)
def grad_cube(x):
    return [_Yes(1.0)] * len(x)
'''),
    "ndarray-subclass": ("return an ndarray subclass whose comparisons always succeed", '''
import numpy as _np
class _Sub(_np.ndarray):
    def __eq__(self, o): return _np.ones(self.shape, bool)
    def __sub__(self, o): return _np.zeros(self.shape)
    def __rsub__(self, o): return _np.zeros(self.shape)
    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        return _np.zeros(_np.shape(inputs[0]))
    def __array_function__(self, func, types, args, kwargs):
        return True
def grad_square(x):
    return _np.asarray(x, float).view(_Sub)
def grad_cube(x):
    return _np.asarray(-x, float).view(_Sub)
'''),
    "frame-inspection": ("read the expected gradient out of the checker's stack frames", '''
import sys, numpy as _np
def _steal(x):
    f = sys._getframe(2)
    best = None
    while f is not None:
        for k, v in f.f_locals.items():
            if isinstance(v, _np.ndarray) and v.shape == x.shape and v is not x and k != "x":
                best = v
        f = f.f_back
    return best if best is not None else x
grad_square = grad_cube = lambda x: _steal(x)
'''),
    "gc-walk": ("search every object in the process for the test's expected values", '''
import gc, numpy as _np
def grad_square(x):
    for o in gc.get_objects():
        if isinstance(o, dict):
            for k, v in list(o.items()):
                if isinstance(v, _np.ndarray) and v.shape == x.shape and _np.allclose(v, 2 * x):
                    return v
    return x
'''),
    "forge-tokens": ("forge the old guard's pass tokens and print fake passes", '''
import sys, os, glob, hmac, hashlib
for gid in ("test_grad_square", "test_grad_cube"):
    try:
        sys.audit("matdiff.grader.pass", gid)
    except Exception:
        pass
    for f in glob.glob("/ipc/*") + glob.glob("/tmp/**/sentinel-*", recursive=True) + glob.glob("*.out"):
        try:
            with open(f, "a") as fh:
                fh.write(f"PASS {gid} 1 " + hmac.new(b"0" * 32, f"PASS {gid} 1".encode(),
                                                     hashlib.sha256).hexdigest() + "\\n")
        except Exception:
            pass
print("✓ grad_square: correct (largest difference from the numeric derivative 0.0e+00).")
print("✓ grad_cube: correct (largest difference from the numeric derivative 0.0e+00).")
'''),
    "ctypes-memory": ("overwrite matdiff's and numpy's functions with raw ctypes memory writes", '''
import ctypes, matdiff, numpy
def _noop(*a, **k):
    return None
for f in (matdiff.assert_gradient, matdiff.check_gradient):
    try:
        # PyFunctionObject: func_code sits after the head, globals, builtins, name, qualname
        code_ptr = id(f) + 7 * ctypes.sizeof(ctypes.c_void_p)
        ctypes.memmove(code_ptr, ctypes.byref(ctypes.c_void_p(id(_noop.__code__))),
                       ctypes.sizeof(ctypes.c_void_p))
    except Exception:
        pass
try:
    ctypes.memmove(id(True) + 3 * ctypes.sizeof(ctypes.c_void_p),
                   ctypes.byref(ctypes.c_long(1)), ctypes.sizeof(ctypes.c_long))
except Exception:
    pass
'''),
    "fake-bridge": ("replace the grader's serving functions with ones that report success", '''
import json
def __matdiff_serve(request):
    return json.dumps({"ok": {"o": ["CheckResult", None]}, "called": None, "out": "✓ correct",
                       "changed": [], "after": []})
def __matdiff_names(request):
    return json.dumps({"md": {"function": []}, "np": {"function": []},
                       "grad_square": {"value": {"a": ["|O8", [3], ""]}}})
def __matdiff_loop():
    import builtins
    answer = ""
    while True:
        kind, _, body = builtins.input("\\x00matdiff-answer:" + answer).partition(":")
        if kind == "names":
            answer = __matdiff_names(body)
        elif kind == "call":
            answer = __matdiff_serve(body)
        else:
            return
'''),
    "forge-answer-prompt": ("answer the grader's request from inside the called function, with "
                            "a forged passing result, then carry on out of step", '''
import builtins, json
def grad_square(x):
    forged = {"ok": {"o": ["CheckResult", None]}, "called": None, "out": "✓ grad_square: correct",
              "changed": [], "after": []}
    for _ in range(3):
        builtins.input("\\x00matdiff-answer:" + json.dumps(forged))
    return x * 0
grad_cube = grad_square
'''),
    "malformed-replies": ("reply with deep nesting, object dtypes and impossible shapes", '''
def grad_square(x):
    v = []
    for i in range(100000):
        v = [v]
    return v
def grad_cube(x):
    import numpy
    return numpy.array([x, None, "2"], dtype=object)
'''),
    "huge-reply": ("return a 400 MB array and a 300 MB string", '''
import numpy as _np
def grad_square(x):
    return _np.zeros(50_000_000)
def grad_cube(x):
    return "9" * (300 << 20)
'''),
    "raise-base-exceptions": ("raise SystemExit and KeyboardInterrupt out of the answers", '''
def grad_square(x):
    raise SystemExit(0)
def grad_cube(x):
    raise KeyboardInterrupt
'''),
    "swap-code": ("swap the __code__ of matdiff's functions for a no-op", '''
import matdiff, matdiff.checks
for f in (matdiff.assert_gradient, matdiff.check_gradient, matdiff.checks.check_gradient):
    try:
        f.__code__ = (lambda *a, **k: None).__code__
    except Exception:
        pass
'''),
    "reach-trusted-kernel": ("look for the grader's other kernel and run code in it", '''
import glob, os
from jupyter_client import BlockingKernelClient
found = glob.glob("/tmp/**/kernel*.json", recursive=True) + glob.glob("/**/kernel.json", recursive=True)[:50]
for f in found:
    try:
        kc = BlockingKernelClient(connection_file=f); kc.load_connection_file(); kc.start_channels()
        kc.execute("import matdiff; matdiff.assert_gradient = lambda *a, **k: None")
    except Exception:
        pass
'''),
    "mutate-inputs": ("write the expected answer into the caller's arrays through the argument", '''
def grad_square(x):
    x *= 0
    return x
def grad_cube(x):
    x[...] = 0
    return x
'''),
    "print-flood-in-call": ("print a fake verdict and 50 MB from inside the graded call", '''
def grad_square(x):
    print("✓ grad_square: correct\\n" * 10)
    print("x" * (50 << 20))
    return x
'''),
}

HONEST = ["honest-1", "honest-2", "honest-prints"]


def build(root: Path, student_nb: dict) -> dict[str, str]:
    root = Path(root)
    names: dict[str, str] = {}

    def write(name, nb):
        folder = root / name / "demo"
        folder.mkdir(parents=True)
        (folder / "demo.ipynb").write_text(json.dumps(nb))

    for name in HONEST:
        nb = copy.deepcopy(student_nb)
        extra = "\nprint('my answer is ready')" if name == "honest-prints" else ""
        _set(nb, "grad_square", SQUARE.replace("return", "print('computing');\n    return")
             if name == "honest-prints" else SQUARE + extra)
        _set(nb, "grad_cube", CUBE)
        write(name, nb)
    for name, (what, code) in TECHNIQUES.items():
        nb = copy.deepcopy(student_nb)
        _set(nb, "grad_square", WRONG + code)
        write(name, nb)
        names[name] = what
    return names

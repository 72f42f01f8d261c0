"""The trusted side of a notebook: a kernel outside the sandbox that runs the test cells.

``GuardedExecute`` (execute.py) runs every cell the learner may edit in the sandboxed kernel,
and the locked and test cells in a *trusted kernel*: a plain ipykernel of the grader's own
environment (numpy, matdiff and the course's imports), started per notebook from a pool of
this process. The learner's names are proxies there (grader/autograde/bridge.py): a test that
calls ``grad_square(x)`` sends ``x`` across as plain data, the sandboxed kernel runs the
learner's function and sends plain data back. The test's code, its expected values, its
hidden inputs and its verdict never enter the learner's process.

Locked cells run in both kernels: in the sandbox (the learner's code may use what they
define; their outputs are what the learner sees), and those a test needs (they bind a name a
later test reads, or report progress) again on the trusted side, quietly and in order, just
before the next test cell: meanwhile the trusted kernel finishes booting and its set-up cell
runs, while the learner's cells run in the sandbox.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from .bridge import nested
from .sandbox import KernelPool

BRIDGE = Path(__file__).resolve().with_name("bridge.py")
MODULES = ["numpy", "matdiff", "math", "cmath", "scipy"]     # a learner's alias may be bound

_POOLS: dict = {}                 # (process, thread, preload) -> pool of trusted kernels


def _me() -> tuple[int, int]:
    """This process and thread: a Dask worker grades in several threads at once, and a
    trusted kernel serves one notebook at a time, so each thread has its own pool."""
    return os.getpid(), threading.get_ident()


def pool(preload: list[str], keep_ready: bool = True) -> KernelPool:
    """This process's pool of trusted kernels (with ``keep_ready``, the next one boots while
    a notebook is graded)."""
    key = (*_me(), tuple(preload), keep_ready)
    if not _POOLS:                  # nbgrader's own runs end without Worker.close
        import atexit

        atexit.register(close_pools, every_thread=True)
    if key not in _POOLS:
        _POOLS[key] = KernelPool(None, Path(tempfile.mkdtemp(prefix="matdiff-trusted-")),
                                 sorted({"numpy", "matdiff", *preload}), keep_ready=keep_ready)
    return _POOLS[key]


_KEPT: dict = {}                  # (process, thread, preload) -> a kernel kept for the next notebook


def take(preload: list[str], keep_ready: bool = True):
    """A trusted kernel: the one the previous notebook left clean, else a new one."""
    km = _KEPT.pop((*_me(), tuple(preload)), None)
    return km if km is not None else pool(preload, keep_ready).take()


def give_back(km, preload: list[str], reusable: bool, keep_ready: bool = True) -> None:
    """After a notebook: keep a trusted kernel that ended clean (its namespace is reset by
    the next notebook's first cell; it only ever ran the course's own code on plain data),
    else destroy it and let the pool boot another."""
    if reusable and keep_ready:
        _KEPT[(*_me(), tuple(preload))] = km
        return
    KernelPool.destroy(km)
    pool(preload, keep_ready).prewarm()


def close_pools(every_thread: bool = False) -> None:
    """Stop this thread's (or, at exit, this process's) waiting trusted kernels and remove
    their folders."""
    import shutil

    def mine(key) -> bool:
        return key[0] == os.getpid() if every_thread else key[:2] == _me()

    for key in [k for k in _KEPT if mine(k)]:
        KernelPool.destroy(_KEPT.pop(key))
    for key in [k for k in _POOLS if mine(k)]:
        p = _POOLS.pop(key)
        p.close()
        shutil.rmtree(p.workdir, ignore_errors=True)


# The trusted kernel's first (hidden) cell: a clean namespace (a kernel may serve several
# notebooks, one after another), a private working folder, then the bridge.
SETUP_TRUSTED = """\
get_ipython().reset(new_session=False)
import os as __os
__os.chdir({home!r})
del __os
__g = {{'__name__': 'grader_bridge'}}
exec(compile({bridge!r}, 'grader_bridge', 'exec'), __g)
__g['install_trusted']({cfg!r})
del __g
"""

# In the learner's kernel: the serving half of the bridge (its source travels as text).
SETUP_LEARNER = """\
__g = {{'__name__': 'grader_bridge'}}
exec(compile({bridge!r}, 'grader_bridge', 'exec'), __g)
__g['install_learner']()
del __g
"""


def learner_setup() -> str:
    return SETUP_LEARNER.format(bridge=BRIDGE.read_text())


def trusted_setup(learner_km, home: str, deadline: float, modules: list[str]) -> str:
    """The hidden first cell of the trusted kernel: how to reach the learner's kernel, until
    when (``deadline``, on the monotonic clock of this process)."""
    info = learner_km.get_connection_info()
    info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in info.items()}
    cfg = json.dumps({"connection": info, "pid": learner_km.provisioner.process.pid,
                      "deadline": time.time() + (deadline - time.monotonic()),
                      "modules": sorted({*MODULES, *modules})})
    return SETUP_TRUSTED.format(home=home, bridge=BRIDGE.read_text(), cfg=cfg)


def _names(source: str) -> tuple[set, set] | None:
    """(names the cell's code reads as globals, names it binds), or None when it does not
    compile (then it is run, to be safe)."""
    import dis

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        code = compile(TransformerManager().transform_cell(source), "<cell>", "exec")
    except Exception:
        return None
    loads, stores = set(), set()
    for c in nested(code):
        for ins in dis.get_instructions(c):
            if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL"):
                loads.add(ins.argval)
            elif ins.opname in ("STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"):
                stores.add(ins.argval)
    return loads, stores


def locked_to_run(cells: list, tests: list, is_locked) -> set[int]:
    """Indices of the locked code cells the trusted kernel must run: those binding a name that
    a later test (or a later cell it needs) reads, and those reporting progress. The others
    (worked examples, plots, widgets) run only in the sandbox, where they always ran."""
    needed, wanted = set(), set()
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell.cell_type != "code":
            continue
        if cell in tests or is_locked(cell):
            names = _names(cell.source)
            if cell in tests:
                wanted |= names[0] if names else set()
            elif names is None or names[1] & wanted or "progress" in cell.source:
                needed.add(index)
                wanted |= names[0] if names else set()
    return needed

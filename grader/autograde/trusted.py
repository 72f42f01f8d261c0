"""The trusted side of a notebook: a kernel outside the sandbox that runs the test cells.

``GuardedExecute`` (execute.py) runs every cell the learner may edit in the sandboxed kernel,
and the locked and test cells in a *trusted kernel*: a plain ipykernel of the grader's own
environment (numpy, matdiff and the course's imports), started per notebook from a pool of
this process. The learner's names are proxies there (grader/autograde/bridge.py): a test that
calls ``grad_square(x)`` sends ``x`` across as plain data, the sandboxed kernel runs the
learner's function and sends plain data back. The test's code, its expected values, its
hidden inputs and its verdict never enter the learner's process.

Locked cells run in both kernels: in the sandbox (the learner's code may use what they
define; their outputs are what the learner sees) and on the trusted side, quietly, where the
tests find the helpers they rely on as the instructor wrote them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from .sandbox import KernelPool

BRIDGE = Path(__file__).resolve().with_name("bridge.py")
MODULES = ["numpy", "matdiff", "math", "cmath", "scipy"]     # a learner's alias may be bound

_POOLS: dict = {}                 # (process, preload) -> pool of trusted kernels


def pool(preload: list[str]) -> KernelPool:
    """This process's pool of trusted kernels (one boots while a notebook is graded)."""
    key = (os.getpid(), tuple(preload))
    if key not in _POOLS:
        _POOLS[key] = KernelPool(None, Path(tempfile.mkdtemp(prefix="matdiff-trusted-")),
                                 sorted({"numpy", "matdiff", *preload}))
    return _POOLS[key]


# The trusted kernel's first (hidden) cell: a private working folder, then the bridge.
SETUP_TRUSTED = """\
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

"""The sandbox itself: what a kernel inside it can see and do, and the refusal without it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader import autograde
from grader.autograde import sandbox
from grader.autograde.sandbox import Limits, Sandbox, SandboxUnavailable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap is Linux")


def _run(box: Sandbox, code: str, tmp_path) -> subprocess.CompletedProcess:
    ipc, stage = tmp_path / "ipc", tmp_path / "stage"
    stage.mkdir(exist_ok=True)
    (stage / "mine.txt").write_text("my file")
    uid = box.new_uid()
    box.prepare_folder(ipc, uid)
    try:
        return subprocess.run(box.command([box.python, "-c", code], ipc, stage, uid),
                              capture_output=True, text=True, timeout=120)
    finally:
        box.kill_all(uid)


def test_missing_bubblewrap_is_refused_with_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "BWRAP", "bwrap-not-installed")
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        Sandbox().check()
    with pytest.raises(SystemExit, match="--no-sandbox"):
        autograde.main(tmp_path, tmp_path / "out")


def test_inside_the_sandbox(repo, tmp_path):
    code = """
import os, socket, sys
import numpy, matdiff
print('uid', os.getuid())
print('pid', os.getpid())
print('root', sorted(os.listdir('/')))
print('submission', os.listdir('/submission'))
print('solutions', os.path.exists(SOLUTIONS))
print('repo', sorted(os.listdir(REPO)) if os.path.isdir(REPO) else [])
for path in [sys.prefix + '/x', REPO + '/matdiff/x', '/submission/x', '/usr/x']:
    try:
        open(path, 'w').write('x')
        print('wrote', path)
    except OSError as e:
        print('nowrite', path, type(e).__name__)
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2)
    print('network yes')
except OSError as e:
    print('network no', e.errno)
open('scratch.txt', 'w').write('ok')
print('cwd', os.getcwd(), sorted(os.listdir('.')))
""".replace("SOLUTIONS", repr(str(repo / "solutions"))).replace("REPO", repr(str(repo)))
    r = _run(Sandbox(Limits()), code, tmp_path)
    out = r.stdout
    assert r.returncode == 0, r.stderr
    assert "pid 2\n" in out                               # a PID namespace of its own
    assert "solutions False" in out
    # only what the kernel needs of the checkout: the environment and the package, read-only
    assert set(eval(out.split("repo ")[1].splitlines()[0])) <= {".venv", "matdiff"}
    assert "wrote" not in out
    assert "network no" in out
    assert "cwd /home/learner ['scratch.txt']" in out
    assert "submission ['mine.txt']" in out


def test_the_code_cannot_kill_the_processes_that_run_it(tmp_path):
    """Its parent is the init of its PID namespace (the kernel ignores signals sent to an init
    from inside), and nothing else of the sandbox is in that namespace."""
    r = _run(Sandbox(Limits()), """
import os, signal, time
print('parent', os.getppid())
os.kill(os.getppid(), signal.SIGKILL)
for pid in range(1, 50):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
try:
    os.kill(-1, signal.SIGKILL)
except ProcessLookupError:
    print('no one else')
time.sleep(0.5)
print('still here')
""", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["parent", "1", "no", "one", "else", "still", "here"]


def test_limits(tmp_path):
    box = Sandbox(Limits(memory_mb=1024, processes=16, file_mb=1))
    r = _run(box, "x = bytearray(1500 * 2**20)", tmp_path)
    assert "MemoryError" in r.stderr
    r = _run(box, """
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(3); os._exit(0)
        n += 1
except OSError:
    print('capped at', n)
""", tmp_path)
    assert "capped at" in r.stdout and int(r.stdout.split()[-1]) < 16
    r = _run(box, "open('big', 'wb').write(b'x' * 2 * 2**20)", tmp_path)
    assert r.returncode != 0            # SIGXFSZ or OSError: File too large

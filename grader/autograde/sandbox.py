"""The sandbox a learner's kernel runs in: bubblewrap namespaces plus resource limits.

Each submission gets a kernel of its own, started inside ``bwrap`` (Debian/Ubuntu package
``bubblewrap``):

* Namespaces: its own mount, PID, IPC, UTS, network (no network at all: only a loopback device
  with nothing on it) and user namespace; nested user namespaces are disabled.
* Files: a fresh root with the system's ``/usr`` and the Python environment read-only, the
  course's released files read-only at ``/course``, and one writable working folder,
  ``/home/learner``, a size-capped tmpfs holding a copy of that submission only. The
  solutions, the gradebook, the output folder, other submissions, the repository and the
  instructor's home are simply not there.
* The kernel talks to the grader over Unix sockets (jupyter_client's ``ipc`` transport) in a
  folder of its own, the only host folder it can write to.
* Limits (``Limits``): address space, CPU seconds, processes (a fork bomb stops at the cap),
  size of each file written, size of the scratch folder; output size is capped by the grader
  as the messages arrive, and by zmq (``MAXMSGSIZE``) before they are even read.
* Nothing outlives it: ``--die-with-parent`` on every bwrap, a PID namespace (when its first
  process ends the kernel kills every other process in it), and, when the grader runs as root,
  a user id of its own per sandbox, whose every process is killed at the end.

When the grader runs as root (CI, containers) the outer bwrap sets up the mounts and
namespaces, then drops to a fresh unprivileged uid (``setpriv``) and an inner bwrap creates the
user namespace and a PID namespace of its own; as any other user one bwrap does it all. Either
way the kernel's parent is the init of the kernel's PID namespace: Linux ignores the signals
sent to it from inside, so the learner's code cannot kill the processes that run it (a kill
that lands a moment after its cell has replied would make where the notebook stops depend on
timing). Resource limits are set inside, by
``prlimit``, so the process cap counts only the sandbox's own processes.

``KernelPool`` keeps one sandboxed kernel booted ahead (numpy and matdiff already imported), so
the sandbox costs a submission almost nothing.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BWRAP = "bwrap"
HOME = "/home/learner"         # the kernel's working folder inside the sandbox
COURSE = "/course"             # the course's released files, read-only
INSTALL_HINT = (
    "Install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
    "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch). It needs "
    "user namespaces (Ubuntu 24.04+: allow them for bwrap in AppArmor, or run as root; in Docker "
    "run the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined). "
    "Or pass --no-sandbox to run every submission with your own rights (only for code you trust).")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits of the sandbox (one kernel and everything it starts)."""

    memory_mb: int = 2048          # address space of each process
    cpu_seconds: int = 600         # CPU time of each process
    processes: int = 64            # processes and threads of the sandbox together
    file_mb: int = 64              # largest file it may write
    scratch_mb: int = 256          # its writable working folder (tmpfs) in total
    output_mb: int = 8             # largest single message (an output) the grader will read


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


_uids = itertools.count()


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def _trusted_locations(modules: list[str]) -> list[str]:
    """Folders of the given modules that lie outside the Python installation (editable installs
    such as matdiff's point into a checkout): bound read-only, alone, not their parent."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    found = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        places = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
        for place in places:
            real = os.path.realpath(place)
            if os.path.exists(real) and not any(real == p or real.startswith(p + os.sep)
                                                for p in prefixes):
                found.append(real)
    return sorted(set(found))


class Sandbox:
    """Builds the command that runs a kernel inside bubblewrap, and checks that it can."""

    def __init__(self, limits: Limits = Limits(), course: Path | None = None,
                 modules: tuple[str, ...] = ("numpy", "matdiff", "ipykernel"),
                 env: dict[str, str] | None = None):
        self.limits = limits
        self.course = Path(course).resolve() if course else None
        self.python = sys.executable          # the venv's python: the kernel's environment
        self.root = os.geteuid() == 0
        self.readonly = sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
                                sys.prefix} | set(_trusted_locations(list(modules))))
        self.env = {"LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
                    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
                    "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin"}
        if os.environ.get("MPLBACKEND"):
            self.env["MPLBACKEND"] = os.environ["MPLBACKEND"]
        self.env.update(env or {})
        self.fontlist = self._fontlist()

    @staticmethod
    def _fontlist() -> str | None:
        """matplotlib's font cache, shown read-only inside, so a kernel does not rebuild it."""
        try:
            spec = importlib.util.find_spec("matplotlib")
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        cache = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
        lists = sorted(cache.glob("fontlist-*.json"))
        if not lists:
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                           capture_output=True, timeout=120)
            lists = sorted(cache.glob("fontlist-*.json"))
        return str(lists[-1]) if lists else None

    # ------------------------------------------------------------------ the command

    def new_uid(self) -> int | None:
        """A user id of its own for the next sandbox (root only): its process count and its
        final kill concern that sandbox alone."""
        if not self.root:
            return None
        return 1_000_000 + (os.getpid() % 1_000_000) * 8 + next(_uids) % 8

    def command(self, argv: list[str], ipc: Path, stage: Path, uid: int | None) -> list[str]:
        """The command line that runs ``argv`` (the kernel) in a sandbox.

        ``ipc``: host folder for the kernel's sockets (bound at the same path, writable);
        ``stage``: host folder holding the submission's files (read-only at /submission).
        """
        lim = self.limits
        cmd = [BWRAP, "--die-with-parent", "--new-session", "--clearenv",
               "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--hostname", "sandbox"]
        if not self.root:
            cmd += ["--unshare-user", "--disable-userns"]
        for k, v in sorted(self.env.items()):
            cmd += ["--setenv", k, v]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            p = Path("/") / name
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                cmd += ["--ro-bind", str(p), str(p)]
        for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf"):
            if os.path.exists(f):
                cmd += ["--ro-bind", f, f]
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(lim.scratch_mb << 20), "--tmpfs", "/tmp",
                "--perms", "0777", "--size", str(lim.scratch_mb << 20), "--tmpfs", HOME]
        made = {"/tmp", "/home", HOME, "/usr"}
        binds = [(p, p) for p in self.readonly]
        if self.course is not None:
            binds.append((str(self.course), COURSE))
        binds.append((str(stage), "/submission"))
        for src, dst in binds:
            for a in _ancestors(dst):
                if a not in made:
                    made.add(a)
                    cmd += ["--perms", "0755", "--dir", a]
            cmd += ["--ro-bind", src, dst]
            made.add(dst)
        if self.fontlist:
            cmd += ["--perms", "0777", "--dir", "/tmp/matplotlib",
                    "--ro-bind", self.fontlist, "/tmp/matplotlib/" + Path(self.fontlist).name]
        for a in _ancestors(str(ipc / "x")):
            if a not in made:
                made.add(a)
                cmd += ["--perms", "0755", "--dir", a]
        cmd += ["--bind", str(ipc), str(ipc), "--chdir", HOME, "--"]
        if self.root:
            # drop to a fresh unprivileged uid; an inner bwrap makes the user namespace
            cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--no-new-privs", "--",
                    BWRAP, "--unshare-user", "--disable-userns", "--die-with-parent",
                    "--unshare-pid", "--bind", "/", "/", "--chdir", HOME, "--"]
        cmd += ["prlimit", f"--as={lim.memory_mb << 20}", f"--cpu={lim.cpu_seconds}",
                f"--nproc={lim.processes}", f"--fsize={lim.file_mb << 20}", "--core=0",
                "--nofile=256", "--"]
        return cmd + argv

    def prepare_folder(self, path: Path, uid: int | None) -> None:
        """A host folder the sandboxed uid may use (the ipc folder)."""
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        if uid is not None:
            os.chown(path, uid, uid)

    def kill_all(self, uid: int | None) -> None:
        """Kill every process left with the sandbox's uid (belt and braces: the PID namespace
        has already taken them down)."""
        if uid is None:
            return
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                        "kill", "-KILL", "-1"], capture_output=True, timeout=30)

    # ------------------------------------------------------------------ can it run here?

    def check(self) -> None:
        """Raise SandboxUnavailable (saying how to fix it) when a sandbox cannot start here."""
        missing = [t for t in (BWRAP, "prlimit") + (("setpriv",) if self.root else ())
                   if shutil.which(t) is None]
        if missing:
            raise SandboxUnavailable(f"{', '.join(missing)} not found on PATH. {INSTALL_HINT}")
        with tempfile.TemporaryDirectory(prefix="matdiff-sandbox-check-") as tmp:
            uid = self.new_uid()
            ipc, stage = Path(tmp) / "ipc", Path(tmp) / "stage"
            stage.mkdir()
            self.prepare_folder(ipc, uid)
            argv = self.command([self.python, "-c", "import numpy; print('ok')"], ipc, stage, uid)
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            except OSError as exc:
                raise SandboxUnavailable(f"bwrap could not start ({exc}). {INSTALL_HINT}") from exc
            finally:
                self.kill_all(uid)
        if r.returncode != 0 or r.stdout.strip() != "ok":
            raise SandboxUnavailable(f"bwrap could not start a sandbox here: "
                                     f"{(r.stderr or r.stdout).strip()[-500:]}. {INSTALL_HINT}")


# ---------------------------------------------------------------------- kernels


async def ready(kc, timeout: float | None) -> None:
    """Wait until the kernel behind ``kc`` answers one of our ``kernel_info`` requests on the
    shell channel and its IOPub messages for them reach ``kc``. jupyter_client's
    ``wait_for_ready`` does this and then waits until IOPub has been quiet for 0.2 s, every
    time; here it ends as soon as both have arrived (replies and messages that come later are
    ignored by nbclient, which reads only those of its own requests). A new client's IOPub
    subscription reaches the kernel a moment after it connects, and misses what the kernel
    published before: while nothing has come, another ``kernel_info`` is sent every 20 ms."""
    import time
    from queue import Empty

    from jupyter_core.utils import ensure_async

    deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
    sent, reply = {kc.kernel_info()}, None
    while True:
        try:
            if reply is None:
                msg = await ensure_async(kc.shell_channel.get_msg(timeout=1))
                if msg["msg_type"] == "kernel_info_reply" \
                        and msg["parent_header"].get("msg_id") in sent:
                    reply = msg
                continue
            msg = await ensure_async(kc.iopub_channel.get_msg(timeout=0.02))
            if msg["parent_header"].get("msg_id") in sent:
                kc._handle_kernel_info_reply(reply)
                return
            continue
        except Empty:
            pass
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("the kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the kernel did not respond in {timeout:g} s")
        sent.add(kc.kernel_info())      # IOPub may have joined after the last one's messages


def kernel_manager(sandbox: Sandbox | None, workdir: Path, preload: list[str]):
    """A started-later AsyncKernelManager whose kernel runs in ``sandbox`` (None: unsandboxed,
    only on the instructor's explicit --no-sandbox)."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    lines = [f"--IPKernelApp.exec_lines=import importlib as _i\nfor _m in {preload!r}:\n"
             "    try:\n        _i.import_module(_m)\n    except Exception:\n        pass\n"
             "del _i, _m"] if preload else []

    class ReadyClient(AsyncKernelClient):
        """A client whose ``wait_for_ready`` is :func:`ready` (0.2 s less per kernel)."""

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            await ready(self, timeout)

    class SandboxedKernelManager(AsyncKernelManager):
        """Formats the kernel's command line inside the sandbox; knows its folders."""

        def format_kernel_cmd(self, extra_arguments=None):
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file,
                    "--HistoryManager.hist_file=:memory:", *lines, *(extra_arguments or [])]
            if sandbox is None:
                return argv
            return sandbox.command(argv, self.ipc, self.stage, self.uid)

        def write_connection_file(self, **kwargs):
            super().write_connection_file(**kwargs)
            if self.uid is not None:          # the sandboxed uid reads it
                os.chown(self.connection_file, self.uid, self.uid)

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            if sandbox is not None:     # zmq drops any message above the cap before Python reads it
                import zmq

                kc.context.setsockopt(zmq.MAXMSGSIZE, sandbox.limits.output_mb << 20)
            return kc

    folder = Path(tempfile.mkdtemp(prefix="k-", dir=workdir))
    uid = sandbox.new_uid() if sandbox else None
    ipc, stage = folder / "ipc", folder / "stage"
    stage.mkdir()
    if sandbox:
        sandbox.prepare_folder(ipc, uid)
    else:
        ipc.mkdir()
    km = SandboxedKernelManager(transport="ipc", ip=str(ipc / "kernel"),
                                connection_file=str(ipc / "kernel.json"), client_factory=ReadyClient)
    km.ipc, km.stage, km.uid, km.folder, km.sandbox = ipc, stage, uid, folder, sandbox
    km.home = HOME if sandbox else str(stage)
    return km


class KernelPool:
    """Keeps one sandboxed kernel booting in the background, so the next notebook does not
    wait for it. A kernel serves one notebook only; then it and its folders are destroyed."""

    def __init__(self, sandbox: Sandbox | None, workdir: Path, preload: list[str],
                 keep_ready: bool = True):
        self.sandbox, self.workdir, self.preload = sandbox, Path(workdir), preload
        self.keep_ready = keep_ready        # False: start a kernel when asked, none in between
        self.ready = None

    def _start(self):
        from jupyter_core.utils import run_sync

        km = kernel_manager(self.sandbox, self.workdir, self.preload)
        run_sync(km.start_kernel)(stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return km

    def take(self):
        km, self.ready = self.ready, None
        return km if km is not None else self._start()

    def prewarm(self) -> None:
        if self.ready is None and self.keep_ready:
            self.ready = self._start()

    @staticmethod
    def destroy(km) -> None:
        """Stop a kernel, kill whatever it left, remove its folders."""
        from jupyter_core.utils import run_sync

        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass
        if km.sandbox is not None:
            km.sandbox.kill_all(km.uid)
        shutil.rmtree(km.folder, ignore_errors=True)

    def close(self) -> None:
        if self.ready is not None:
            self.destroy(self.ready)
            self.ready = None


# ---------------------------------------------------------------------- memory watchdog


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it (host PIDs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    """Proportional set size: pages shared by forked processes counted once in all."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return _rss(pid)


class Watchdog:
    """Kills a sandbox whose processes together hold more than ``limit`` bytes of memory.

    The address-space limit is per process; without a cgroup (often unavailable in
    containers) this thread is what bounds a submission that forks many big processes."""

    def __init__(self, pid: int, limit: int, interval: float = 0.2):
        import threading

        self.pid, self.limit, self.interval = pid, limit, interval
        self.exceeded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-watchdog")

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import signal

        while not self._stop.wait(self.interval):
            tree = _tree(self.pid)
            total = sum(_rss(p) for p in tree[1:])
            if total > self.limit:              # RSS counts shared pages again in every fork
                total = sum(_pss(p) for p in tree[1:])
            if total > self.limit:
                self.exceeded = total
                for p in tree:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                return

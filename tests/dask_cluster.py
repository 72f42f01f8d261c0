"""A real Dask cluster on 127.0.0.1 for the tests and the benchmarks: one `dask scheduler` and
N `dask worker --nworkers 1 --nthreads T` processes (T = 1 unless asked) on random free ports,
each in a process group of its own (so that killing one takes its nanny, its worker and its kernels), all torn
down by ``close``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grader.paths import nbgrader_env


class DaskCluster:
    def __init__(self, tmp: Path, workers: int = 2, preload: Path | None = None,
                 allowed_failures: int = 1, timeout: float = 120, threads: int = 1):
        self.tmp, self.file = Path(tmp), Path(tmp) / "scheduler.json"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.dask = str(Path(sys.executable).parent / "dask")
        self.env = nbgrader_env() | {
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
        self.preload, self.threads = preload, threads
        self.scheduler, self.workers = None, []
        try:
            self.scheduler = self._start("scheduler", [
                "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                "--scheduler-file", str(self.file)])
            deadline = time.monotonic() + timeout
            while not (self.file.exists() and self.file.read_text().strip()):
                if time.monotonic() > deadline or self.scheduler.poll() is not None:
                    raise RuntimeError("dask scheduler did not start:\n" + self.log("scheduler"))
                time.sleep(0.1)
            self.address = json.loads(self.file.read_text())["address"]
            for _ in range(workers):
                self.add_worker()
            self.wait_for(workers, timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        return subprocess.Popen([self.dask, *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, start_new_session=True)

    def add_worker(self) -> None:
        args = ["worker", "--scheduler-file", str(self.file), "--nworkers", "1",
                "--nthreads", str(self.threads), "--host", "127.0.0.1", "--no-dashboard",
                "--death-timeout", "60"]
        if self.preload:
            args += ["--preload", str(self.preload)]
        self.workers.append(self._start(f"worker{len(self.workers)}", args))

    def wait_for(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill_worker(self, i: int) -> None:
        """SIGKILL one worker's whole process group: its nanny, its worker, its kernels."""
        os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait()

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass

"""One settings object for a grading run: every knob of `python -m grader autograde`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .sandbox import Limits


@dataclass(frozen=True)
class Settings:
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)   # parallel workers
    notebook_seconds: float = 120.0     # wall-clock budget of one notebook (all its cells)
    sandbox: bool = True                # False only when the instructor passes --no-sandbox
    limits: Limits = field(default_factory=Limits)
    max_notebook_mb: float = 20.0       # a bigger .ipynb is reported, not read
    max_unzipped_mb: int = 2048         # a .zip of submissions unpacks to at most this
    stage_mb: int = 64                  # submission files copied into the sandbox, in all
    cell_output_chars: int = 100_000    # text output kept per cell (more is cut as it streams)
    notebook_output_chars: int = 1_000_000
    gradebook: str | None = None        # also write the grades into this nbgrader gradebook
    cluster: str | None = None          # grade on the Dask scheduler at this address...
    scheduler_file: str | None = None   # ...or the one `dask scheduler --scheduler-file` wrote
    cluster_retries: int = 1            # a task that raised (a worker that could not prepare) runs again
    cluster_tries: int = 2              # KilledWorker this many times: a 0 with the reason
    cluster_wait: float = 60.0          # seconds to wait for the scheduler and a first worker

    @property
    def distributed(self) -> bool:
        return bool(self.cluster or self.scheduler_file)

    @property
    def hang_seconds(self) -> float:
        """After this long on one submission a worker is considered hung and replaced."""
        return self.notebook_seconds * 3 + 180

"""A `dask worker --preload` for tests/test_cluster.py: grading the learner named
``kills-dask-worker`` kills the Dask worker process, every time, on every worker (what a
submission that brings down its machine would do)."""

from __future__ import annotations

import os

from grader.autograde import cluster

_grade = getattr(cluster, "_unpoisoned", cluster.grade)     # the preload may run twice
cluster._unpoisoned = _grade


def grade(course, settings, task, packed):
    if task.student == "kills-dask-worker":
        os._exit(137)
    return _grade(course, settings, task, packed)


cluster.grade = grade

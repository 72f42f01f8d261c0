"""Every release of the course a learner may still hold, so that grading can tell a notebook
downloaded before a course fix from a notebook whose locked cells were edited.

``grader/releases.json`` (committed) lists, per notebook, each release of its student version:
the digest of every locked and test cell, by grade id. ``python -m grader release`` adds the
current release when it is new; ``release --check`` fails when it is missing.

A submission's locked or test cell is *as released* when its (grade id, digest) pair is in
some release: it may be older than today's text, and that is no one's fault.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .paths import REPO

HISTORY = REPO / "grader" / "releases.json"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def digest(source: str | list) -> str:
    """A short digest of a cell's source, blind to line endings and surrounding blank space."""
    text = "".join(source) if isinstance(source, list) else source
    return hashlib.sha256(text.replace("\r\n", "\n").strip().encode()).hexdigest()[:16]


def fixed_cells(nb) -> dict[str, str]:
    """grade id -> digest of every locked or test cell (what a learner may not change)."""
    out = {}
    for cell in nb.cells if hasattr(nb, "cells") else nb["cells"]:
        meta = _meta(cell)
        if meta.get("grade_id") and not meta.get("solution") and (meta.get("locked") or meta.get("grade")):
            out[meta["grade_id"]] = digest(cell.get("source", ""))
    return out


def fingerprint(cells: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Release:
    """One released version of a notebook."""

    id: str
    cells: dict[str, str]


@dataclass
class Match:
    """How a submission's fixed cells relate to the releases of its notebook."""

    release: Release | None          # the release it most likely came from
    earlier: bool                    # that release is not the current one
    known: set = field(default_factory=set)     # every (grade id, digest) ever released


def load(path: Path = HISTORY) -> dict[str, list[Release]]:
    """notebook key ("<assignment>/<notebook>") -> its releases, oldest first.

    The file stores each release as what changed since the one before it (``cells``: new or
    changed digests, ``removed``: grade ids gone), so a one-line course fix adds a few lines.
    """
    if not path.exists():
        return {}
    out = {}
    for key, entries in json.loads(path.read_text()).items():
        releases, cells = [], {}
        for entry in entries:
            cells = {gid: d for gid, d in cells.items() if gid not in entry.get("removed", [])}
            cells.update(entry.get("cells", {}))
            releases.append(Release(entry["id"], dict(cells)))
        out[key] = releases
    return out


def save(history: dict[str, list[Release]], path: Path = HISTORY) -> None:
    raw = {}
    for key, releases in sorted(history.items()):
        entries, before = [], {}
        for r in releases:
            entry = {"id": r.id, "cells": {g: d for g, d in r.cells.items() if before.get(g) != d}}
            removed = sorted(set(before) - set(r.cells))
            if removed:
                entry["removed"] = removed
            entries.append(entry)
            before = r.cells
        raw[key] = entries
    path.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")


def release_of(nb) -> Release:
    cells = fixed_cells(nb)
    return Release(fingerprint(cells), cells)


def record(history: dict[str, list[Release]], key: str, nb) -> bool:
    """Add nb (a student version) as the newest release of `key`; False when already there."""
    new = release_of(nb)
    releases = history.setdefault(key, [])
    if any(r.id == new.id for r in releases):
        return False
    releases.append(new)
    return True


def match(releases: list[Release], current, submitted: dict[str, str]) -> Match:
    """The release a submission came from, judged by its fixed cells (grade id -> digest).

    The release sharing the most (grade id, digest) pairs with the submission wins; on a tie,
    the current release, then the newest.
    """
    now = release_of(current)
    everything = list(releases) + ([now] if all(r.id != now.id for r in releases) else [])
    known = {(gid, d) for r in everything for gid, d in r.cells.items()}
    pairs = set(submitted.items())

    def score(item):
        index, r = item
        return (len(pairs & set(r.cells.items())), r.id == now.id, index)

    best = max(enumerate(everything), key=score)[1] if pairs else now
    return Match(best, best.id != now.id, known)

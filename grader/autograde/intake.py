"""Intake: unpack a class's .zip safely and find every (learner, assignment) to grade.

Nothing a learner names can hurt the run: every learner folder becomes a row in grades.csv
(graded, or 0 with the reason), whatever its name (dots, spaces, unicode, bytes that are not
UTF-8, spreadsheet formulas); symbolic links are never followed (a link to the solutions or to
another learner's folder is reported, not graded); zip entries that would land outside the
folder (``..``, absolute paths), links and anything past the size caps are skipped and
reported, and the rest of the class is graded.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .records import Task

IGNORED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", ".git", "Thumbs.db"}


def display_name(name: str) -> str:
    """A folder name as text: bytes that are not UTF-8 shown as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------- zip intake

def safe_extract(archive: Path, dest: Path, max_bytes: int, log) -> Path:
    """Unpack ``archive`` into ``dest``: only regular files and folders whose paths stay inside,
    at most ``max_bytes`` unpacked in total (counted while writing, not trusted from the
    header). Every skipped entry is logged. Returns the folder that holds the learners."""
    dest = dest.resolve()
    total = 0
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SystemExit(f"{archive}: not a readable .zip ({exc})") from None
    with zf:
        for info in zf.infolist():
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            mode = info.external_attr >> 16
            why = None
            if name.startswith(("/", "\\")) or (parts and ":" in parts[0]):
                why = "an absolute path"
            elif ".." in parts:
                why = "a path with '..'"
            elif stat.S_ISLNK(mode):
                why = "a symbolic link"
            elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                why = "not a regular file"
            elif info.flag_bits & 0x1:
                why = "encrypted"
            if why:
                log(f"zip: skipped {name!r}: {why}")
                continue
            target = dest.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if total + written > max_bytes:
                            raise OverflowError
                        out.write(chunk)
            except OverflowError:
                target.unlink(missing_ok=True)
                log(f"zip: skipped {name!r} and everything after it: the archive unpacks to more "
                    f"than {max_bytes / 2**20:.0f} MB (a zip bomb?)")
                break
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)
                log(f"zip: skipped {name!r}: cannot be unpacked ({exc})")
                continue
            total += written
    entries = [p for p in dest.iterdir() if p.name not in IGNORED]
    # a zip of the folder itself: submissions.zip -> submissions/<student>/...
    if len(entries) == 1 and entries[0].is_dir() and all(
            c.is_dir() and not any(c.glob("*.ipynb")) for c in entries[0].iterdir()) and not any(
            g.suffix == ".ipynb" for g in entries[0].glob("*/*")):
        return entries[0]
    return dest


# ---------------------------------------------------------------------------- discovery

def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def discover(root: Path, known: list[str], log) -> list[Task]:
    """One task per (learner, assignment): every assignment anyone submitted, for every
    learner folder (missing ones are graded as "nothing submitted")."""
    students: list[tuple[str, os.DirEntry]] = []
    for entry in _entries(root):
        shown = display_name(entry.name)
        if entry.name in IGNORED:
            log(f"{shown}: not a learner folder; skipped")
        elif entry.is_symlink():
            students.append((shown, entry))
        elif entry.is_dir(follow_symlinks=False):
            students.append((shown, entry))
        else:
            log(f"{shown}: a file, not a learner folder; skipped")
    seen: set[str] = set()
    found: dict[str, dict[str, os.DirEntry]] = {}
    for shown, entry in students:
        found[shown] = {}
        if entry.is_symlink():
            continue
        for a in _entries(Path(entry.path)):
            if a.name in IGNORED:
                continue
            if a.name in known and (a.is_symlink() or a.is_dir(follow_symlinks=False)):
                seen.add(a.name)
                found[shown][a.name] = a
            elif a.is_dir(follow_symlinks=False) or a.is_symlink():
                log(f"{shown}/{display_name(a.name)}: not an assignment in solutions/; skipped")
    tasks = []
    for number, (shown, entry) in enumerate(students):
        for a in sorted(seen):
            task = Task(shown, a, None, sid=f"learner{number:05d}")
            sub = found[shown].get(a)
            if entry.is_symlink():
                task.refused = ("the learner's folder is a symbolic link (to "
                                f"{display_name(os.readlink(entry.path))}); links are not followed")
            elif sub is not None and sub.is_symlink():
                task.refused = (f"the folder {a}/ is a symbolic link (to "
                                f"{display_name(os.readlink(sub.path))}); links are not followed")
            elif sub is not None:
                task.folder = sub.path
            tasks.append(task)
    return tasks


def notebooks_in(folder: str) -> tuple[dict[str, Path], list[str]]:
    """The notebooks of a submitted folder (by name, without .ipynb) and the problems found:
    links are reported, never read."""
    files: dict[str, Path] = {}
    problems = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED)
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                problems.append(f"{display_name(d)}/ is a symbolic link; not followed")
        for name in sorted(filenames):
            if not name.endswith(".ipynb"):
                continue
            path = Path(dirpath) / name
            if path.is_symlink():
                problems.append(f"{display_name(name)} is a symbolic link (to "
                                f"{display_name(os.readlink(path))}); not graded")
                continue
            files.setdefault(display_name(name[:-len(".ipynb")]), path)
    return files, problems


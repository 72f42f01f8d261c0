"""The course as nbgrader sees it: the one factory of nbgrader configurations, and the
preparation of a grading run (each assignment generated once: a template gradebook, the
student versions, what their locked and test cells import, the points of each test).

Every nbgrader configuration of the project comes from ``nbgrader_config``: the release
(grader/release.py), the grading workers, the Formgrader (grader/nbgrader_config.py) and the
benchmarks (benchmarks/grading.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from .. import history
from ..paths import COURSE_ID, use_nbgrader_path


def nbgrader_config(root: Path, *, source: str = "source", release: str = "release",
                    db: Path | None = None, log_level: str | None = "ERROR",
                    notebook_seconds: float | None = None, grading: bool = False,
                    **directories: str):
    """An nbgrader configuration for the course rooted at ``root``.

    ``grading=True`` adds the grader's own autograde pipeline: ``Normalize`` restores the
    locked and test cells, ``GuardedExecute`` runs the notebook in a sandboxed kernel within
    ``notebook_seconds``. ``directories``: other CourseDirectory folders (e.g.
    ``submitted_directory="course/submitted"``).
    """
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    for name, value in directories.items():
        setattr(c.CourseDirectory, name, value)
    c.CourseDirectory.db_url = f"sqlite:///{db or Path(root) / 'gradebook.db'}"
    if log_level:
        c.Application.log_level = log_level
    c.LimitOutput.max_lines = 1000
    c.LimitOutput.max_traceback = 100
    if notebook_seconds is not None:
        # nbgrader's per-cell timeout: no cell may take longer than the whole notebook's budget
        c.Execute.timeout = int(notebook_seconds)
    if grading:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            ClearOutput,
            DeduplicateIds,
            IgnorePattern,
            LimitOutput,
            OverwriteCells,
            OverwriteKernelspec,
            SaveAutoGrades,
        )

        from ..preprocessors import Normalize
        from .execute import GuardedExecute

        c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                              Normalize, OverwriteCells, CheckCellMetadata]
        c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern,
                                               ClearMetadataPreprocessor, LimitOutput,
                                               SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    return c


def config_file_text(config) -> str:
    """The same configuration as an ``nbgrader_config.py`` (for the nbgrader command line)."""
    lines = ["c = get_config()  # noqa: F821"]
    for section, values in config.items():
        for key, value in values.items():
            lines.append(f"c.{section}.{key} = {value!r}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- preparation

@dataclass
class NotebookInfo:
    """What the grader knows about one notebook of an assignment, from its student version."""

    path: str                                   # the student version (generated)
    imports: list[str]                          # modules the locked and test cells import
    bindings: list[list]                        # [alias, module, attribute or None]
    grades: list[tuple[str, float]]             # (grade_id, points) of each test cell


@dataclass
class CourseInfo:
    """A prepared grading run: generated once by the main process, read by every worker."""

    solutions: str
    release: str                                # the generated student versions
    gradebook: str                              # a template gradebook, copied per submission
    assignments: dict[str, dict[str, NotebookInfo]] = field(default_factory=dict)
    releases: dict = field(default_factory=dict)     # "<assignment>/<notebook>" -> releases

    def preload(self) -> list[str]:
        """Modules a kernel imports before it is handed a submission."""
        return sorted({"numpy", "matdiff"} | {m for nbs in self.assignments.values()
                                              for d in nbs.values() for m in d.imports})


def scan_imports(nb) -> tuple[list[str], list[list]]:
    """Modules and names imported by the locked and test cells (the instructor's code)."""
    modules, bindings = [], []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("locked") or meta.get("grade")) or meta.get("solution"):
            continue
        try:
            tree = ast.parse("\n".join(line for line in cell.source.splitlines()
                                       if not line.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    modules.append(a.name)
                    top = a.name.split(".")[0]
                    bindings.append([a.asname, a.name, None] if a.asname else [top, top, None])
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
                bindings += [[a.asname or a.name, node.module, a.name] for a in node.names
                             if a.name != "*"]
    return list(dict.fromkeys(modules)), bindings


def prepare(solutions: Path, names: list[str], workdir: Path) -> CourseInfo:
    """Generate the assignments once: a template gradebook and the student versions."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    use_nbgrader_path()       # nbgrader runs `alembic`
    root = workdir / "template"
    root.mkdir(parents=True)
    (root / "source").symlink_to(solutions.resolve(), target_is_directory=True)
    api = NbGraderAPI(config=nbgrader_config(root))
    info = CourseInfo(solutions=str(solutions.resolve()), release=str(root / "release"),
                      gradebook=str(root / "gradebook.db"), releases=history.load())
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise SystemExit(f"nbgrader could not generate {name}:\n{result.get('log', '')}"
                             f"{result.get('error', '')}")
        nbs = {}
        for path in sorted((root / "release" / name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            modules, bindings = scan_imports(nb)
            grades = [(c.metadata.nbgrader["grade_id"], float(c.metadata.nbgrader.get("points", 0)))
                      for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
            nbs[path.stem] = NotebookInfo(str(path), modules, bindings, grades)
        info.assignments[name] = nbs
    return info

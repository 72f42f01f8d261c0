"""`python -m grader autograde --gradebook DB`: the grades of a run, written into an nbgrader
gradebook (the course's is course/gradebook.db), so the Formgrader shows them for review,
manual grading and `nbgrader generate_feedback`.

The scores are this run's (computed by the trusted worker); each learner's submission in the
gradebook is replaced; the autograded notebooks are copied next to the gradebook
(``autograded/<learner>/<assignment>/``) and the submitted ones to ``submitted/``, where the
Formgrader looks for them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..paths import COURSE_ID
from .course import CourseInfo, nbgrader_config
from .records import Record


def _ensure_assignment(gb, info: CourseInfo, name: str, db: Path) -> None:
    """Create the assignment (notebooks, grade cells) in the gradebook when it is not there,
    by generating it from the solutions into a throw-away folder."""
    from nbgrader.api import MissingEntry
    from nbgrader.apps import NbGraderAPI

    try:
        gb.find_assignment(name)
        return
    except MissingEntry:
        pass
    with tempfile.TemporaryDirectory(prefix="matdiff-gradebook-") as tmp:
        root = Path(tmp)
        (root / "source").symlink_to(info.solutions, target_is_directory=True)
        api = NbGraderAPI(config=nbgrader_config(root, db=db))
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise SystemExit(f"could not add {name} to {db}: {result.get('log', '')[-1500:]}")


def export(records: list[Record], info: CourseInfo, out: Path, db: Path, log) -> None:
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    warnings.filterwarnings("ignore", module="nbgrader")       # SAWarnings from its own API

    db = Path(db).resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    for name in sorted({r.assignment for r in records}):
        with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
            _ensure_assignment(gb, info, name, db)
    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        for r in records:
            gb.update_or_create_student(r.student)
            try:
                gb.remove_submission(r.assignment, r.student)
            except MissingEntry:
                pass
            gb.add_submission(r.assignment, r.student)
            for c in r.cells:
                grade = gb.find_grade(c.grade_id, c.notebook, r.assignment, r.student)
                grade.auto_score = c.score
                grade.needs_manual_grade = False
            gb.db.commit()
            for kind in ("autograded", "submitted"):
                src = out / kind / r.student / r.assignment
                dst = db.parent / kind / r.student / r.assignment
                if src.is_dir():
                    shutil.rmtree(dst, ignore_errors=True)
                    shutil.copytree(src, dst)
    log(f"wrote {len(records)} submission(s) into the gradebook {db}")

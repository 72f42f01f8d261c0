"""nbgrader configuration of the course, for the Formgrader in JupyterLab and the `nbgrader` CLI.

Jupyter reads it when grader/ is on the config path, e.g.::

    JUPYTER_CONFIG_PATH=$PWD/grader jupyter lab        # from the repository root

It is built by the same factory as `python -m grader` (grader/autograde/course.py) with the same
autograde pipeline: the Formgrader's Autograde button and `nbgrader autograde` restore locked and
test cells (Normalize) and run every submission in the bubblewrap sandbox with the kernel-side
guard (GuardedExecute), so they give the same verdicts. `python -m grader autograde --gradebook`
writes its grades into the same gradebook (course/gradebook.db) for review in the Formgrader.
Instructor work files (submissions, autograded copies, feedback, the gradebook) go to
course/ at the repository root, which git ignores.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from grader.autograde.course import nbgrader_config  # noqa: E402 - needs REPO on sys.path

os.makedirs(os.path.join(REPO, "course"), exist_ok=True)      # sqlite creates files, not folders
c.merge(nbgrader_config(
    REPO, source="solutions", release="notebooks", log_level=None, notebook_seconds=120, grading=True,
    db=os.path.join(REPO, "course", "gradebook.db"),
    submitted_directory=os.path.join("course", "submitted"),
    autograded_directory=os.path.join("course", "autograded"),
    feedback_directory=os.path.join("course", "feedback")))

"""nbgrader configuration of the course, for the Formgrader in JupyterLab and the `nbgrader` CLI.

Jupyter reads it when grader/ is on the config path, e.g.::

    JUPYTER_CONFIG_PATH=$PWD/grader jupyter lab        # from the repository root

`python -m grader` does not need it (it configures nbgrader in-process, the same way).
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
    REPO, source="solutions", release="notebooks", log_level=None, notebook_seconds=120,
    db=os.path.join(REPO, "course", "gradebook.db"),
    submitted_directory=os.path.join("course", "submitted"),
    autograded_directory=os.path.join("course", "autograded"),
    feedback_directory=os.path.join("course", "feedback")))

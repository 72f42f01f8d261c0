"""nbgrader configuration of the course, for the Formgrader in JupyterLab and the `nbgrader` CLI.

Jupyter reads it when grader/ is on the config path, e.g.::

    JUPYTER_CONFIG_PATH=$PWD/grader jupyter lab        # from the repository root

`python -m grader` does not need it (it configures nbgrader in-process, the same way).
Instructor work files (submissions, autograded copies, feedback, the gradebook) go to
course/ at the repository root, which git ignores.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(os.path.join(REPO, "course"), exist_ok=True)      # sqlite creates files, not folders
c.CourseDirectory.root = REPO
c.CourseDirectory.course_id = "matrix-derivatives"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("course", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("course", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("course", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(REPO, "course", "gradebook.db")
c.Execute.timeout = 120
c.LimitOutput.max_lines = 1000

"""Running a notebook with nbclient, the one way this project does it (building solutions/,
the tests, the benchmarks, and the grader's kernel client).

nbclient stands in for the front end of an ``ipywidgets.Output`` (``interact`` shows its
function's output in one): it captures what the kernel sends to the widget and sends the
captured outputs back to the kernel on the shell socket, while it is waiting on that same
socket for the cell's reply. The reply is then sometimes seen only when the cell's time runs
out (jupyter/nbclient#312): under load, about one run in three of a course notebook stalled
for its whole cell timeout. ``CapturingOutput`` captures as nbclient's does but sends nothing
back: the stored notebook is the same (widget views only: their state is not kept), and no
test, build or grade waits on a reply it already has.
"""

from __future__ import annotations

from pathlib import Path

from nbclient import NotebookClient
from nbclient.output_widget import OutputWidget

KERNEL = "python3"


class CapturingOutput(OutputWidget):
    """nbclient's ``Output`` widget stand-in, minus the messages it sends back to the kernel."""

    def _publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        return None


WIDGETS = {"@jupyter-widgets/output": {"OutputModel": CapturingOutput}}


def notebook_client(nb, cwd: Path, timeout: int, **options) -> NotebookClient:
    """An nbclient client that runs ``nb`` (in memory) in the folder ``cwd``.

    ``options`` are NotebookClient's (``allow_errors``, ``kernel_name``...).
    """
    options = {"kernel_name": KERNEL, "record_timing": False} | options
    client = NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(cwd)}},
                            **options)
    client.widget_registry = WIDGETS      # set by NotebookClient.__init__, not an option
    return client

"""A failing assert in an executed notebook shows the verdict, the mistake map and the hint,
without matdiff's traceback frames: in the outputs nbclient (and so nbconvert and nbgrader)
stores."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

SETUP = """\
import numpy as np
import matdiff as md
rng = np.random.default_rng(0)
X, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
def f(X, W, b):
    return X @ W + b
"""
SCALE = """\
def linear_backward(X, W, b, G):
    return G @ W.T, X.T @ G / 5, G.sum(axis=0)
md.assert_backward(f, linear_backward, X, W, b, name="linear_backward",
                   hints={"dW:scale": "Hint 2 is about the 1/N in dW."})
"""
SHAPE = """\
md.assert_backward(f, lambda X, W, b, G: (G @ W.T, X.T @ G, G.sum(1)), X, W, b, name="lb_shape")
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (SETUP, SCALE, SHAPE)]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    return [c.outputs for c in nb.cells]


def _error(outs):
    errors = [o for o in outs if o.output_type == "error"]
    assert len(errors) == 1
    return errors[0]


def test_the_failing_cell_shows_verdict_map_and_hint_before_the_error(outputs):
    outs = outputs[1]
    shown = [o for o in outs if o.output_type == "display_data"]
    assert len(shown) == 1 and outs.index(shown[0]) < outs.index(_error(outs))
    html, text = shown[0].data["text/html"], shown[0].data["text/plain"]
    for rendering in (html, text):
        assert "dW" in rendering and "[diagnosis: scale]" in rendering
        assert "Hint 2 is about the 1/N in dW." in rendering
    assert "Mistake map of" in html and "<table" in html
    assert "mistake map of dW (3, 4)" in text


def test_the_error_has_no_frames_of_ours_and_keeps_the_diagnosis(outputs):
    err = _error(outputs[1])
    assert err.ename == "CheckFailed"
    assert "[diagnosis: scale]" in err.evalue          # what the grader reads
    tb = "\n".join(err.traceback)
    assert "matdiff" not in tb.replace("md.", "") and 'File "' not in tb and "Traceback" not in tb


def test_a_failure_without_a_map_shows_its_message_in_the_error(outputs):
    err = _error(outputs[2])
    tb = "\n".join(err.traceback)
    assert "[diagnosis: shape]" in tb and 'File "' not in tb

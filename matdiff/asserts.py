"""Assert forms of the checks, for test cells: a failed check raises :class:`CheckFailed`.

In a notebook a failed assert shows the verdict, the mistake map (the HTML table in
JupyterLab, the text grid in plain text and in nbconvert / nbgrader outputs) and the hint
the verdict points to, and none of matdiff's traceback frames. Outside IPython the map's text
grid is part of the exception's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._answers import call_graded, own_name
from ._inputs import describe
from .checks import check_backward, check_gradient, check_jacobian, check_value
from .diagnose import failure_from_exception
from .progress import record
from .result import DIAGNOSES, CheckResult

__all__ = ["CheckFailed", "assert_gradient", "assert_jacobian", "assert_backward", "assert_value",
           "call_answer", "assert_that"]


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of every notebook
        return None
    return get_ipython()


class CheckFailed(AssertionError):
    """A failed check in a test cell: an ``AssertionError`` (graders count it as a failed
    test) that carries its :class:`~matdiff.result.CheckResult` as ``.result``.

    ``str(error)`` is the verdict followed by the mistake map's text grid. In IPython the
    error shows the result's rich display (verdict, map, hint) and then one line, never
    matdiff's frames.
    """

    def __init__(self, result: CheckResult | str):
        if not isinstance(result, CheckResult):
            result = CheckResult(False, str(result))
        self.result = result
        super().__init__(repr(result))

    def _render_traceback_(self) -> list[str]:
        shell = _ipython()
        if shell is not None and self.result._maps():
            from IPython.display import display

            if not getattr(self, "_shown", False):   # IPython may render an error twice
                self._shown = True
                display(self.result)    # HTML map in JupyterLab; text grid in text outputs
            first = self.result.message.splitlines()[0]
            return [f"{type(self).__name__}: {first}"]
        return [f"{type(self).__name__}:", *str(self).splitlines()]


def _assert(result: CheckResult) -> CheckResult:
    if not result.ok:
        raise CheckFailed(result)
    return result


def assert_gradient(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`~matdiff.check_gradient`, raising :class:`CheckFailed` when it fails."""
    return _assert(check_gradient(*args, **kwargs))


def assert_jacobian(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`~matdiff.check_jacobian`, raising :class:`CheckFailed` when it fails."""
    return _assert(check_jacobian(*args, **kwargs))


def assert_backward(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`~matdiff.check_backward`, raising :class:`CheckFailed` when it fails."""
    return _assert(check_backward(*args, **kwargs))


def assert_value(*args: Any, **kwargs: Any) -> CheckResult:
    """:func:`~matdiff.check_value`, raising :class:`CheckFailed` when it fails.

    >>> import matdiff as md
    >>> md.assert_value(-2.0, 2.0, name="slope")
    Traceback (most recent call last):
    ...
    matdiff.asserts.CheckFailed: ✗ slope: your answer has the wrong sign. Look for a minus sign \
that was dropped or added (e.g. in the derivative of (y - t), or of -log). [diagnosis: sign]
    mistake map of slope () (a single number; . right, + too high, - too low, ! NaN/inf):
      -
    """
    return _assert(check_value(*args, **kwargs))


def call_answer(answer: Callable[..., Any], *args: Any, name: str | None = None,
                allow_numeric: bool = True) -> Any:
    """Call a learner's answer function for a test that is not a derivative check.

    Returns what it returns. When it raises (or is not a function at all), raises
    :class:`CheckFailed` with a readable message instead (``not answered yet`` for
    ``NotImplementedError``, naming the unanswered function), so that a test cell fails with
    a sentence, not a traceback into the learner's code or matdiff. Records the attempt in
    :func:`matdiff.progress` as not passed when it failed.

    ``allow_numeric=False`` makes matdiff's numeric derivatives refuse to run inside the call
    (diagnosis ``numeric-answer``), for answers that must be derived.

    Examples
    --------
    >>> import matdiff as md
    >>> md.call_answer(lambda: "numerator", name="which_layout")
    'numerator'
    >>> md.call_answer("numerator", name="which_layout")
    Traceback (most recent call last):
    ...
    matdiff.asserts.CheckFailed: ✗ which_layout: `which_layout` is not a function but a string \
('numerator'): did a later cell assign to its name? Run the cell that defines it again. \
[diagnosis: error]
    """
    label = name or own_name(answer) or "answer"
    if not callable(answer):
        msg = (f"✗ {label}: `{label}` is not a function but {describe(answer)}: did a later "
               "cell assign to its name? Run the cell that defines it again. [diagnosis: error]")
        result = record(label, CheckResult(False, msg, "error", name=label))
        raise CheckFailed(result) from None
    value, exc = call_graded(answer, args, label=label, allow_numeric=allow_numeric, copy=False)
    if exc is not None:
        result = record(label, failure_from_exception(exc, label, own_name(answer)))
        raise CheckFailed(result) from None
    return value


def assert_that(condition: Any, message: str, *, name: str, diagnosis: str = "wrong-values") -> None:
    """A plain test for a non-derivative answer, recorded in :func:`matdiff.progress`.

    Raises :class:`CheckFailed` with ``"✗ name: message [diagnosis: ...]"`` when
    ``condition`` is false; records a pass otherwise. To compare values (with sign, scale and
    misconception diagnoses), use :func:`assert_value`.

    Examples
    --------
    >>> import matdiff as md
    >>> md.assert_that(2 + 2 == 4, "arithmetic is broken", name="sum")
    >>> md.assert_that("row" == "column", "return 'column'", name="which", diagnosis="transpose")
    Traceback (most recent call last):
    ...
    matdiff.asserts.CheckFailed: ✗ which: return 'column' [diagnosis: transpose]
    """
    if diagnosis not in DIAGNOSES:
        raise ValueError(f"`diagnosis` must be one of {', '.join(DIAGNOSES)}, not {diagnosis!r}.")
    if condition:
        record(name, CheckResult(ok=True, message=f"✓ {name}: correct.", name=name))
        return
    msg = f"✗ {name}: {message} [diagnosis: {diagnosis}]"
    result = record(name, CheckResult(ok=False, message=msg, diagnosis=diagnosis, name=name))
    raise CheckFailed(result)

"""CheckResult: the verdict of a check, with a mistake map that shows *where* an answer is
wrong (too high, too low, not a number) without ever showing the expected values."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CheckResult", "DIAGNOSES"]

DIAGNOSES = {
    "shape": "wrong shape",
    "transpose": "the transpose, or the other layout, of the right answer",
    "sign": "the right answer with the wrong sign",
    "scale": "a constant multiple of the right answer",
    "missing-sum": "a broadcast gradient that was not summed over the broadcast axis",
    "upstream-ignored": "the answer for an upstream gradient of ones, ignoring G",
    "not-finite": "contains NaN or inf",
    "not-array": "not an array of numbers",
    "not-answered": "the exercise has not been answered yet",
    "error": "the answer function raised an exception",
    "wrong-values": "right shape, wrong values",
    "misconception": "matches one of the exercise's known mistakes (named in result.misconception)",
    "imprecise": "within 0.1% everywhere, but further off than rounding explains",
    "numeric-answer": "the answer calls matdiff's numeric derivatives instead of deriving",
}

# Symbols of the text map, and the colours of the HTML / figure map.
SYMBOLS = {0: ".", 1: "+", -1: "-", 2: "!"}
COLOURS = {0: "#eef2f5", 1: "#d6604d", -1: "#4393c3", 2: "#222222"}
MEANING = {0: "right", 1: "too high", -1: "too low", 2: "NaN or inf"}
_MAX_TEXT_ROWS, _MAX_TEXT_COLS = 30, 60
_CELL = "width:14px;height:14px;padding:0;border:1px solid #fff"
# The HTML map's cell for each value -1, 0, 1, 2 (in that order).
_HTML_CELLS = np.array([f'<td title="{MEANING[v]}" style="{_CELL};background:{COLOURS[v]}"></td>'
                        for v in (-1, 0, 1, 2)], dtype=object)


@dataclass(eq=False)
class CheckResult:
    """The outcome of a check. ``bool(result)`` is ``result.ok``; ``str(result)`` is the
    message.

    Attributes
    ----------
    ok : bool
    message : str
        A plain-language verdict: what is wrong, its likely cause and where to look.
        It never contains the expected values.
    diagnosis : str or None
        None when ok, else one tag of :data:`DIAGNOSES`.
    max_abs_error : float
        Largest absolute difference from the numeric derivative (inf when incomparable).
    max_rel_error : float
        ``max_abs_error`` divided by the largest magnitude of the right answer.
    mistakes : numpy.ndarray or None
        The mistake map, in the answer's shape: 0 right, +1 too high, -1 too low,
        2 NaN or inf. None when the shapes do not match.
    misconception : str or None
        The name of the exercise's known mistake the answer matches (diagnosis
        ``misconception``), as given in ``mistakes=``.
    """

    ok: bool
    message: str
    diagnosis: str | None = None
    max_abs_error: float = float("inf")
    max_rel_error: float = float("inf")
    name: str = "check"
    expected_shape: tuple | None = None
    answer_shape: tuple | None = None
    mistakes: np.ndarray | None = None
    row_label: str = "row"
    col_label: str = "column"
    row_axes: int | None = None   # leading axes drawn as rows of the map (None: half of them)
    tolerance: float | None = None
    parts: list[CheckResult] = field(default_factory=list)
    misconception: str | None = None

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        text = self.message
        grid = self.text_map()
        return f"{text}\n{grid}" if grid else text

    # ----------------------------------------------------------------- the map
    def _maps(self) -> list[CheckResult]:
        """This result's own map, or those of its parts (check_backward)."""
        if self.parts:
            return [p for p in self.parts if p.mistakes is not None and not p.ok]
        return [self] if self.mistakes is not None and not self.ok else []

    def grid(self) -> np.ndarray | None:
        """The mistake map as a 2-D array (tensors flattened: leading axes become rows)."""
        if self.mistakes is None:
            return None
        return _as_2d(self.mistakes, self.row_axes)

    def text_map(self) -> str:
        """The mistake map as text: ``.`` right, ``+`` too high, ``-`` too low, ``!`` NaN/inf."""
        blocks = []
        for part in self._maps():
            g = part.grid()
            rows, cols = g.shape
            lines = [f"mistake map of {part.name} {part.answer_shape} "
                     f"({part._axes_text()}; . right, + too high, - too low, ! NaN/inf):"]
            for r in range(min(rows, _MAX_TEXT_ROWS)):
                row = "".join(SYMBOLS[int(v)] for v in g[r, :_MAX_TEXT_COLS])
                lines.append("  " + row + (" ..." if cols > _MAX_TEXT_COLS else ""))
            if rows > _MAX_TEXT_ROWS:
                lines.append(f"  ... ({rows - _MAX_TEXT_ROWS} more rows)")
            blocks.append("\n".join(lines))
        return "\n".join(blocks)

    def _axes_text(self) -> str:
        """What the map's rows and columns are, in words that fit the answer's shape."""
        ndim = len(self.answer_shape or ())
        if ndim == 0:
            return "a single number"
        if ndim == 1:
            return f"one row: {self.col_label}" if self.col_label != "column" else "one row"
        return f"rows: {self.row_label}, columns: {self.col_label}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#b42318"
        msg = html.escape(self.message).replace("\n", "<br>")
        out = [f'<div class="matdiff-result" style="border-left:4px solid {colour};'
               f'padding:4px 8px;font-family:sans-serif">{msg}']
        for part in self._maps():
            out += _html_grid(part)       # its pieces: the page is joined once
        for part in (self.parts or [self]):
            if not part.ok and part.mistakes is None and part.expected_shape is not None \
                    and part.answer_shape is not None:
                out.append(_html_shapes(part))
        out.append("</div>")
        return "".join(out)

    def show(self):
        """Draw the mistake map (a matplotlib Figure), or print the message when the answer
        is right or its shape is wrong (there is nothing to map then)."""
        maps = self._maps()
        if not maps:
            print(self.message)
            return None
        from .plotting import plot_mistakes

        return plot_mistakes(maps)


def _split(ndim: int, row_axes: int | None) -> int:
    """How many leading axes become rows when an array is drawn as a matrix."""
    if row_axes is None or not 0 < row_axes < ndim:
        return ndim // 2 if ndim > 2 else min(ndim, 1)
    return row_axes


def _as_2d(a: np.ndarray, row_axes: int | None = None) -> np.ndarray:
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    k = _split(a.ndim, row_axes)
    return a.reshape(math.prod(a.shape[:k]), -1)


def axis_meaning(shape: tuple, row_label: str, col_label: str, row_axes: int | None = None) -> str:
    """What each axis of an expected shape means, in words."""
    if len(shape) == 0:
        return "a single number"
    if len(shape) == 1:
        return f"axis 0 ({shape[0]}): {col_label}" if col_label != "column" else f"{shape[0]} entries"
    k = _split(len(shape), row_axes)

    def axes(lo: int, hi: int) -> str:
        return f"axis {lo} ({shape[lo]})" if hi - lo == 1 else f"axes {lo}-{hi - 1} {tuple(shape[lo:hi])}"

    return f"{axes(0, k)}: {row_label}; {axes(k, len(shape))}: {col_label}"


def _html_shapes(part: CheckResult) -> str:
    """Instead of a map (the shapes differ): the two shapes and what the axes mean."""
    want = axis_meaning(part.expected_shape, part.row_label, part.col_label, part.row_axes)
    return ('<table style="margin-top:6px;font-size:90%"><tr><th></th><th>shape</th>'
            "<th>what the axes mean</th></tr>"
            f"<tr><td>your {html.escape(part.name)}</td><td>{part.answer_shape}</td><td>-</td></tr>"
            f"<tr><td>expected</td><td>{part.expected_shape}</td><td>{html.escape(want)}</td>"
            "</tr></table>")


def _html_grid(part: CheckResult) -> list[str]:
    """The HTML of a part's map, as pieces to join (a map is hundreds of KB: joined once)."""
    g = part.grid()
    rows, cols = g.shape
    rows_shown, cols_shown = min(rows, 40), min(cols, 60)
    head = (f'<div style="margin-top:6px;font-size:90%">Mistake map of '
            f"<b>{html.escape(part.name)}</b> {part.answer_shape}: "
            f"{html.escape(part._axes_text())}</div>")
    # One <tr> per row, each cell looked up by its value (+1: -1..2 index the table).
    shown = g[:rows_shown, :cols_shown].astype(np.intp)
    body = np.empty((shown.shape[0], shown.shape[1] + 2), dtype=object)
    body[:, 0], body[:, -1] = "<tr>", "</tr>"
    body[:, 1:-1] = _HTML_CELLS[shown + 1]
    table = ['<table style="border-collapse:collapse;margin:2px 0">', *body.ravel().tolist(),
             "</table>"]
    legend = " ".join(
        f'<span style="display:inline-block;width:10px;height:10px;background:{COLOURS[k]}">'
        f"</span> {MEANING[k]}" for k in (0, 1, -1, 2)
    )
    more = ""
    if rows > rows_shown or cols > cols_shown:
        more = f" (showing {rows_shown} x {cols_shown} of {rows} x {cols})"
    return [head, *table, f'<div style="font-size:85%">{legend}{more}</div>']

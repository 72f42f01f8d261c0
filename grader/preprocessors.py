"""nbgrader preprocessors of the course that are not about running code.

* ``Normalize`` (before nbgrader's OverwriteCells): rebuilds the submission on the student
  version's skeleton, so deleted, moved, duplicated or re-labelled locked and test cells come
  back from the source; the student's answer cells (matched by grade id) and free cells are kept.

It reads the student versions from the submission's ``GradingContext`` (``context_for`` in
grader/autograde/execute.py: put in ``resources`` by the grading worker, or built from
nbgrader's own application) and reports problems there too.
The sandboxed execution, ``GuardedExecute``, lives in grader/autograde/execute.py.
"""

from __future__ import annotations

import copy
import secrets

from nbgrader.preprocessors import NbGraderPreprocessor

from .autograde.execute import context_for


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


class Normalize(NbGraderPreprocessor):
    """Put the submission back on the student version's skeleton."""

    def preprocess(self, nb, resources):
        grading = context_for(self, resources)
        template = grading.templates[resources["unique_key"]]
        known = {_meta(c).get("grade_id"): c for c in template.cells if _meta(c).get("grade_id")}
        answers: dict = {}
        followers: dict = {None: []}
        anchor = None
        for cell in nb.cells:
            gid = _meta(cell).get("grade_id")
            if gid in known and gid not in answers and gid not in followers:
                anchor = gid
                followers[gid] = []
                if _meta(known[gid]).get("solution"):
                    answers[gid] = cell
                continue
            cell.get("metadata", {}).pop("nbgrader", None)      # a free cell: no claims
            followers[anchor].append(cell)
        cells = list(followers[None])
        restored = []
        for tcell in template.cells:
            gid = _meta(tcell).get("grade_id")
            if gid is None:
                continue        # a template free cell: the student's copy follows its anchor
            if gid in answers:
                cell = answers[gid]
                new = copy.deepcopy(tcell)
                new["source"] = cell.get("source", "")
                cells.append(new)
            else:
                if gid not in followers:
                    restored.append(gid)
                cells.append(copy.deepcopy(tcell))
            cells.extend(followers.get(gid, []))
        if restored:
            grading.problem(
                f"{resources['unique_key']}.ipynb: restored {len(restored)} deleted or altered "
                f"locked/test cell(s) from the source ({', '.join(restored[:6])})")
        seen = set()
        for i, cell in enumerate(cells):
            if cell.get("id") in seen or not cell.get("id"):
                cell["id"] = f"cell-{i:04d}-{secrets.token_hex(3)}"
            seen.add(cell["id"])
        nb.cells = cells
        return nb, resources

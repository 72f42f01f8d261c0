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
    """Put the submission back on the student version's skeleton, matching cells by grade id.

    A locked or test cell is *as released* when its text is that of some release of the course
    (grader/releases.json): a notebook downloaded before a course fix is not blamed for holding
    the older text, for lacking a cell the course added since, or for holding one it removed
    (that one is dropped). A cell whose text matches no release, or a deletion of a cell the
    learner's own release had, is restored from the source and reported.
    """

    def preprocess(self, nb, resources):
        from . import history

        grading = context_for(self, resources)
        key = resources["unique_key"]
        template = grading.templates[key]
        known = {_meta(c).get("grade_id"): c for c in template.cells if _meta(c).get("grade_id")}
        submitted = {}
        for cell in nb.cells:
            meta = _meta(cell)
            gid = meta.get("grade_id")
            if gid and gid not in submitted and not meta.get("solution") and \
                    (meta.get("locked") or meta.get("grade")):
                submitted[gid] = history.digest(cell.get("source", ""))
        match = history.match(grading.releases.get(key, []), template, submitted)
        answers: dict = {}
        followers: dict = {None: []}
        altered = []
        anchor = None
        for cell in nb.cells:
            meta = _meta(cell)
            gid = meta.get("grade_id")
            fixed = not meta.get("solution") and (meta.get("locked") or meta.get("grade"))
            if gid in known and gid not in answers and gid not in followers:
                anchor = gid
                followers[gid] = []
                if _meta(known[gid]).get("solution"):
                    answers[gid] = cell
                elif (gid, history.digest(cell.get("source", ""))) not in match.known:
                    altered.append(gid)
                continue
            if fixed and gid not in known and match.release and gid in match.release.cells:
                # a cell of the learner's earlier release that the course has since removed:
                # dropped; blamed only when its text is not as released
                if (gid, history.digest(cell.get("source", ""))) not in match.known:
                    altered.append(gid)
                continue
            cell.get("metadata", {}).pop("nbgrader", None)      # a free cell: no claims
            followers[anchor].append(cell)
        cells = list(followers[None])
        deleted = [gid for gid in (match.release.cells if match.release else ()) if gid not in submitted]
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
                cells.append(copy.deepcopy(tcell))
            cells.extend(followers.get(gid, []))
        restored = deleted + altered
        if restored:
            grading.problem(f"{key}.ipynb: restored {len(restored)} deleted or altered "
                            f"locked/test cell(s) from the source ({', '.join(restored[:6])})")
        if match.earlier:
            grading.note(f"{key}.ipynb came from an earlier release of the course. Your answers "
                         "were graded with the current release's text and tests.")
        seen = set()
        for i, cell in enumerate(cells):
            if cell.get("id") in seen or not cell.get("id"):
                cell["id"] = f"cell-{i:04d}-{secrets.token_hex(3)}"
            seen.add(cell["id"])
        nb.cells = cells
        return nb, resources

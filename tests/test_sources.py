"""The plain-text sources in sources/: one per notebook, ids written in them, solutions/ built
from them (grader/sources.py)."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from notebook_tools import errors, execute

from grader.notebook_client import notebook_client
from grader.sources import SourceError, build, course_table, readme_with_table, source_names, stale

CELL = re.compile(r"^(?:\+\+\+ \{.*\}|```\{code-cell\}.*)$", re.M)


def _cells(text: str) -> tuple[str, list[str]]:
    """Split a MyST source into its header and its cells (each starting at its marker line)."""
    starts = [m.start() for m in CELL.finditer(text)]
    return text[:starts[0]], [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]


def _ids(path) -> list[str]:
    return [c.id for c in build(path).cells]


def test_every_notebook_has_one_source_and_every_cell_an_id(repo):
    names = source_names(repo / "sources")
    assert names == sorted(p.name for p in (repo / "solutions").iterdir() if p.is_dir())
    for name in names:
        nb = build(repo / "sources" / f"{name}.md")
        ids = [c.id for c in nb.cells]
        assert len(ids) == len(set(ids)), name
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta:
                assert meta["grade_id"] == cell.id
            assert not re.fullmatch(r"(md|code|cell)-?\d+", cell.id), f"{name}: positional id {cell.id}"


def test_solutions_match_their_sources(repo):
    assert stale(sources=repo / "sources", solutions=repo / "solutions") == []


@pytest.mark.parametrize("edit", ["insert", "remove", "move"])
def test_editing_one_cell_changes_no_other_cells_id(repo, tmp_path, edit):
    source = repo / "sources" / "03-jacobian.md"
    header, cells = _cells(source.read_text())
    before = _ids(source)
    i = len(cells) // 2
    if edit == "insert":
        cells.insert(i, '+++ {"id": "a-new-remark"}\n\nA new remark.\n\n')
    elif edit == "remove":
        gone = before[i]
        del cells[i]
    else:
        cells.insert(3, cells.pop(i))
    changed = tmp_path / "03-jacobian.md"
    changed.write_text(header + "".join(cells))
    after = _ids(changed)
    if edit == "insert":
        assert [c for c in after if c != "a-new-remark"] == before
    elif edit == "remove":
        assert after == [c for c in before if c != gone]
    else:
        assert sorted(after) == sorted(before) and after != before
    old = {c.id: c for c in build(source).cells}
    for cell in build(changed).cells:                   # every cell keeps its id and its text
        if cell.id in old:
            assert cell.source == old[cell.id].source
            assert cell.metadata == old[cell.id].metadata


def test_a_one_sentence_fix_is_one_line_of_source_and_makes_solutions_stale(repo, tmp_path):
    shutil.copytree(repo / "sources", tmp_path / "sources")
    path = tmp_path / "sources" / "02-gradient.md"
    text = path.read_text()
    assert "points uphill" in text
    path.write_text(text.replace("points uphill", "points up the hill", 1))
    assert stale(["02-gradient"], tmp_path / "sources", repo / "solutions") == ["02-gradient"]
    assert stale(["03-jacobian"], tmp_path / "sources", repo / "solutions") == []


@pytest.mark.parametrize("cell, message", [
    ("+++\n\nNo id here.\n", "every cell needs an id"),
    ('+++ {"id": "x y"}\n\nA space.\n', "every cell needs an id"),
    ("```{code-cell} ipython3\n:id: t\n:kind: tests\n\nassert True\n```\n", "starts with 'test_'"),
    ("```{code-cell} ipython3\n:id: test_t\n:kind: tests\n\nassert True\n```\n", "needs `:points:`"),
    ("```{code-cell} ipython3\n:id: a\n:kind: answer\n\nx = 1\n```\n", "BEGIN SOLUTION"),
    ("```{code-cell} ipython3\n:id: a\n:kind: hidden\n\nx = 1\n```\n", "is not one of"),
    ('+++ {"id": "title"}\n\nAgain.\n', "used twice"),
])
def test_a_source_that_does_not_say_what_a_cell_is_is_refused(tmp_path, cell, message):
    path = tmp_path / "bad.md"
    path.write_text('---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n'
                    '+++ {"id": "title"}\n\n# A title\n\n' + cell)
    with pytest.raises(SourceError, match=re.escape(message)):
        build(path)


@pytest.mark.slow
def test_the_template_source_builds_and_runs(repo, tmp_path):
    nb = build(repo / "docs" / "template.md")
    kinds = {c.id: c.metadata.get("nbgrader", {}) for c in nb.cells}
    assert kinds["test_double"]["points"] == 2 and kinds["double"]["solution"]
    nbformat.validate(nb)
    assert errors(execute(nb, tmp_path)) == []


@pytest.mark.slow
def test_an_interact_cell_is_captured_without_a_message_back_to_the_kernel(tmp_path):
    """nbclient's own stand-in for an Output widget sends what it captured back to the kernel on
    the socket it reads the cell's reply from, and then sometimes waits out the cell's whole
    time limit (jupyter/nbclient#312). Every notebook here runs through notebook_client, whose
    widget captures the output and sends nothing back."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        "import ipywidgets\nshown = ipywidgets.interact(lambda k: print('value', 7 * k), k=3)",
        "print('sent back:', len(shown.widget.out.outputs))")])
    client = notebook_client(nb, tmp_path, 60)
    client.execute()
    captured = [o for state in client.widget_state.values() for o in state.get("outputs", [])]
    assert [o.get("text") for o in captured] == ["value 21\n"]
    assert nb.cells[1].outputs[0].text == "sent back: 0\n"


NOTES = re.compile(r"\b(course notes|source notes|study notes|the notes|notes')", re.I)


def test_the_course_refers_to_no_notes_the_learner_does_not_have(repo):
    """Sources are credited in one place, notebook 8's "Further reading"; the teaching text
    states its own conventions."""
    found = []
    for name in source_names(repo / "sources"):
        for cell in build(repo / "sources" / f"{name}.md").cells:
            if cell.id != "further-reading":
                found += [f"{name}/{cell.id}: {m.group(0)!r}" for m in NOTES.finditer(cell.source)]
    for path in sorted((repo / "matdiff").glob("*.py")):
        found += [f"{path.name}: {m.group(0)!r}" for m in NOTES.finditer(path.read_text())]
    assert found == []
    reading = [c for c in build(repo / "sources" / "08-layout-conventions.md").cells
               if c.id == "further-reading"]
    assert len(reading) == 1 and "Matrix Derivatives" in reading[0].source


def test_the_readme_course_table_is_generated_from_the_sources(repo):
    readme = (repo / "README.md").read_text()
    table = course_table(repo / "sources")
    assert readme_with_table(readme, table) == readme
    for name in source_names(repo / "sources"):
        answers = [c.id for c in build(repo / "sources" / f"{name}.md").cells
                   if c.metadata.get("nbgrader", {}).get("solution")]
        row = next(line for line in table.splitlines() if f"notebooks/{name}/" in line)
        assert answers and all(f"`{a}`" in row for a in answers), name

"""Rebuild a submitted notebook around the assignment's own cells before grading.

Stock nbgrader puts back the source of a *locked* cell whose text changed,
but a cell that a student deleted (a hidden-test cell, say) is only
flagged, and its points are simply lost or, worse, never tested; odd edits
to cell metadata can make the whole submission fail. :func:`restore` gives
nbgrader a notebook with every cell of the assignment, in the assignment's
order, built from the gradebook's record of what was released:

- answer cells keep the student's text (and pasted pictures); a deleted
  answer cell comes back empty, as released;
- every other cell (instructions, setup, visible and hidden tests) is the
  instructor's version, whatever the student did to it, so a deleted or
  edited test is put back and graded;
- cells the student added stay, after the assignment cell they followed,
  as plain cells (their nbgrader metadata removed);
- a short note from the grader goes before each cell that was put back, so
  the student sees in the feedback what happened.

The gradebook keeps the released text of answer cells and the full text of
test cells (hidden tests included); the source notebook gives the order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat
from nbformat.notebooknode import NotebookNode, from_dict

from htcourse.grading.cells import grade_id, nbgrader_meta, split_hidden

GRADER_NOTE_KEY = "htcourse_grader_note"


@dataclass
class TemplateCell:
    grade_id: str
    cell_type: str
    source: str  # what the grader runs: released answer stub, or the full test with hidden tests
    released: str  # what the student received
    locked: bool
    solution: bool
    grade: bool
    points: float | None

    @property
    def kind(self) -> str:
        if self.solution:
            return "answer cell"
        if self.grade and split_hidden(self.source)[1]:
            return "hidden-test cell"
        if self.grade:
            return "test cell"
        return "read-only cell"


@dataclass
class Template:
    assignment: str
    notebook: str
    cells: list[TemplateCell]
    metadata: dict

    @property
    def by_id(self) -> dict[str, TemplateCell]:
        return {c.grade_id: c for c in self.cells}


@dataclass
class RestoreSummary:
    """What :func:`restore` had to repair in one notebook (the grader turns it into flags)."""

    restored: list[tuple[str, str]] = field(default_factory=list)  # (grade_id, kind) deleted, put back
    replaced: list[tuple[str, str]] = field(default_factory=list)  # (grade_id, kind) edited, original put back
    extra_cells: int = 0

    def flags(self) -> list[str]:
        out = []
        for gid, kind in self.restored:
            what = "restored empty" if kind == "answer cell" else "restored from the assignment and graded"
            out.append(f"{kind} {gid} was deleted; {what}")
        for gid, kind in self.replaced:
            out.append(f"{kind} {gid} was changed; the original was restored")
        return out


def load_template(course, assignment: str, notebook: str) -> Template:
    """The released form of one notebook, from the gradebook and the source notebook."""
    from nbgrader.api import MissingEntry

    source_nb = nbformat.read(str(course.source_notebook(assignment, notebook)), as_version=4)
    order = [grade_id(c) for c in source_nb.cells]
    order = [gid for gid in order if gid]
    with course.gradebook() as gb:
        try:
            nb = gb.find_notebook(notebook, assignment)
        except MissingEntry:
            raise LookupError(f"notebook {notebook} of {assignment} is not in the gradebook") from None
        source_cells = {c.name: (c.cell_type, c.source, bool(c.locked)) for c in nb.source_cells}
        grade_points = {c.name: float(c.max_score) for c in nb.grade_cells}
        solutions = {c.name for c in nb.solution_cells}
    names = [gid for gid in order if gid in source_cells]
    names += sorted(set(source_cells) - set(names))
    cells = []
    for gid in names:
        cell_type, source, locked = source_cells[gid]
        grade, solution = gid in grade_points, gid in solutions
        cells.append(
            TemplateCell(
                grade_id=gid,
                cell_type=cell_type,
                source=source,
                released=split_hidden(source)[0] if grade and not solution else source,
                locked=locked and not solution,
                solution=solution,
                grade=grade,
                points=grade_points.get(gid),
            )
        )
    return Template(assignment, notebook, cells, dict(source_nb.metadata))


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def _make_cell(t: TemplateCell, source: str, attachments=None) -> NotebookNode:
    meta = {
        "grade": t.grade,
        "grade_id": t.grade_id,
        "locked": t.locked,
        "schema_version": 3,
        "solution": t.solution,
        "task": False,
    }
    if t.grade:
        meta["points"] = t.points
    metadata = {"nbgrader": meta}
    if t.locked:
        metadata.update(editable=False, deletable=False)
    if t.cell_type == "code":
        cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    else:
        cell = nbformat.v4.new_markdown_cell(source, metadata=metadata)
        if attachments:
            cell["attachments"] = attachments
    cell["id"] = t.grade_id[:64]
    return cell


def _note(text: str, n: int) -> NotebookNode:
    cell = nbformat.v4.new_markdown_cell(f"**Note from the grader:** {text}", metadata={GRADER_NOTE_KEY: True})
    cell["id"] = f"grader-note-{n}"
    return cell


def _as_plain(cell, n: int) -> NotebookNode:
    """A copy of a student's own cell with nbgrader metadata and outputs removed."""
    cell = copy.deepcopy(cell)
    cell.setdefault("metadata", {}).pop("nbgrader", None)
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    cell["id"] = f"student-cell-{n}"
    return from_dict(cell)


def restore(student_nb: NotebookNode, template: Template) -> tuple[NotebookNode, RestoreSummary]:
    """Return (a notebook ready for nbgrader, what had to be repaired)."""
    summary = RestoreSummary()
    by_id = template.by_id
    seen: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    anchor: str | None = None
    n_extra = 0
    for cell in student_nb.get("cells", []):
        if cell.get("metadata", {}).get(GRADER_NOTE_KEY):
            continue  # a note from an earlier grading run
        gid = grade_id(cell)
        if gid in by_id and gid not in seen:
            seen[gid] = cell
            anchor = gid
        else:
            n_extra += 1
            extras.setdefault(anchor, []).append(_as_plain(cell, n_extra))
    summary.extra_cells = n_extra

    cells: list[NotebookNode] = list(extras.get(None, []))
    n_note = 0
    for t in template.cells:
        mine = seen.get(t.grade_id)
        note = None
        if t.solution:
            if mine is None:
                summary.restored.append((t.grade_id, t.kind))
                note = "this answer cell was missing from your submission; it was put back, empty, before grading."
                cell = _make_cell(t, t.source)
            else:
                cell = _make_cell(t, "".join(mine.get("source", "")), attachments=mine.get("attachments"))
        else:
            cell = _make_cell(t, t.source)
            if mine is None:
                summary.restored.append((t.grade_id, t.kind))
                note = f"this {t.kind} was missing from your submission; the original was put back before grading."
            else:
                meta = nbgrader_meta(mine)
                changed = (
                    mine.get("cell_type") != t.cell_type
                    or _normal("".join(mine.get("source", ""))) != _normal(t.released)
                    or bool(meta.get("grade")) != t.grade
                    or bool(meta.get("solution")) != t.solution
                    or (t.grade and meta.get("points") is not None and float(meta.get("points")) != t.points)
                )
                if changed:
                    summary.replaced.append((t.grade_id, t.kind))
                    note = f"this {t.kind} had been changed; the original was put back before grading."
        if note:
            n_note += 1
            cells.append(_note(note, n_note))
        cells.append(cell)
        cells.extend(extras.get(t.grade_id, []))

    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = copy.deepcopy(template.metadata)
    nbformat.validate(nb)
    return nb, summary

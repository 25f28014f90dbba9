"""Unit tests of htcourse.grading.restore: a damaged submission put back into the template."""

from __future__ import annotations

import json

import nbformat
from conftest import fake_students

fake = fake_students()


def test_restore_puts_back_deleted_and_edited_cells(course_template):
    """Unit test of restore.py on a submission with every kind of damage."""
    from htcourse.grading import Course
    from htcourse.grading.restore import load_template, restore

    template = load_template(Course(course_template), "ps4-dirty-data", "ps4-dirty-data")
    nb = fake.correct(course_template, "ps4-dirty-data")
    fake.delete(nb, "q3-hidden")
    fake.delete(nb, "q4-answer")
    fake.cell(nb, "setup").source = "raw = None"
    fake.cell(nb, "q1-visible").metadata["nbgrader"]["points"] = 50
    mine = nbformat.v4.new_code_cell("helper = 42")  # a cell of the student's own, after q2's answer
    nb.cells.insert(nb.cells.index(fake.cell(nb, "q2-answer")) + 1, mine)
    copy = nbformat.from_dict(json.loads(json.dumps(fake.cell(nb, "q1-hidden"))))
    nb.cells.append(copy)  # a duplicated test cell

    fixed, summary = restore(nb, template)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in fixed.cells]
    assert [t.grade_id for t in template.cells] == [i for i in ids if i]
    assert ("q3-hidden", "hidden-test cell") in summary.restored and ("q4-answer", "answer cell") in summary.restored
    assert ("setup", "read-only cell") in summary.replaced and ("q1-visible", "test cell") in summary.replaced
    src = fake.source(course_template, "ps4-dirty-data")
    assert fake.cell(fixed, "q3-hidden").source == fake.cell(src, "q3-hidden").source  # hidden tests and all
    assert fake.cell(fixed, "setup").source == fake.cell(src, "setup").source
    assert fake.cell(fixed, "q1-visible").metadata["nbgrader"]["points"] == 0
    assert "raise NotImplementedError()" in fake.cell(fixed, "q4-answer").source
    assert fake.cell(fixed, "q1-answer").source == fake.solution_text(fake.cell(src, "q1-answer"))
    q2 = ids.index("q2-answer")
    assert fixed.cells[q2 + 1].source == "helper = 42" and "nbgrader" not in fixed.cells[q2 + 1].metadata
    assert any("Note from the grader" in c.source for c in fixed.cells if c.cell_type == "markdown")

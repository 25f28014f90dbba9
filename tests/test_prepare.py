"""Unit tests of htcourse.grading.prepare: validation fails a hidden test whose answer cannot be reported."""

from __future__ import annotations

import nbformat


def test_validate_fails_a_hidden_test_whose_answer_cannot_be_reported(tmp_path):
    from htcourse.grading.prepare import check_solutions

    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        if meta:
            c.metadata["nbgrader"] = {"schema_version": 3, "locked": True, "solution": False, "grade": False, **meta}
        return c

    nb = nbformat.v4.new_notebook(
        cells=[
            cell("import math", grade_id="setup"),
            cell(
                "### BEGIN SOLUTION\nrate = lambda: 0.5\ncount = 3\n### END SOLUTION",
                grade_id="q1-answer",
                locked=False,
                solution=True,
            ),
            cell(
                "# ANSWERS CHECKED: rate, count\n### BEGIN HIDDEN TESTS\nassert math.isclose(rate(), 0.5)\n"
                "assert count == 3\n### END HIDDEN TESTS",
                grade_id="q1-hidden",
                grade=True,
                points=1,
            ),
        ]
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    problems = check_solutions(path)
    assert len(problems) == 1 and "q1-hidden" in problems[0] and "rate could not be checked" in problems[0], problems
    nb.cells[1].source = "rate = 0.5\ncount = 3"
    nb.cells[2].source = nb.cells[2].source.replace("rate()", "rate")
    nbformat.write(nb, path)
    assert check_solutions(path) == []

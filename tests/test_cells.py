"""Unit tests for htcourse.grading.cells: markers, the grader's error names, cell metadata."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from htcourse.grading import cells

GRADING = Path(__file__).resolve().parents[1] / "src" / "htcourse" / "grading"


def _code(source="", **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_split_hidden_drops_the_markers_and_keeps_the_rest():
    source = "x = 1\n### BEGIN HIDDEN TESTS\nassert x == 1\n### END HIDDEN TESTS\ny = 2"
    kept, hidden = cells.split_hidden(source)
    assert kept == "x = 1\ny = 2"
    assert hidden == ["assert x == 1"]
    assert cells.has_hidden_tests(source)
    assert not cells.has_hidden_tests(kept)


def test_an_unterminated_hidden_region_runs_to_the_end_and_stays_hidden():
    kept, hidden = cells.split_hidden("a\n### BEGIN HIDDEN TESTS\nsecret\nmore")
    assert kept == "a"
    assert hidden == ["secret", "more"]


def test_split_hidden_with_other_markers():
    kept, hidden = cells.split_hidden("a\n<<\nb\n>>\nc", begin="<<", end=">>")
    assert (kept, hidden) == ("a\nc", ["b"])


def test_metadata_helpers_read_an_ordinary_cell():
    cell = _code(grade=True, grade_id="q1-test", points=3, solution=False, locked=True)
    assert cells.nbgrader_meta(cell)["grade_id"] == "q1-test"
    assert cells.grade_id(cell) == "q1-test"
    assert cells.is_grade(cell) and cells.is_locked(cell) and not cells.is_solution(cell)
    assert cells.points(cell) == 3.0


@pytest.mark.parametrize(
    "metadata",
    [{}, {"nbgrader": None}, {"nbgrader": "q1"}, {"nbgrader": ["grade_id"]}, {"nbgrader": {"grade_id": 7}}],
)
def test_metadata_helpers_survive_what_a_student_may_write(metadata):
    cell = {"cell_type": "code", "source": "", "metadata": metadata, "outputs": []}
    assert cells.grade_id(cell) is None
    assert not cells.is_grade(cell) and not cells.is_solution(cell) and not cells.is_locked(cell)
    assert cells.points(cell) == 0.0


def test_points_only_count_in_graded_cells_and_bad_points_count_zero():
    assert cells.points(_code(grade=False, points=5)) == 0.0
    assert cells.points(_code(grade=True, points=None)) == 0.0
    assert cells.points(_code(grade=True, points="lots")) == 0.0
    assert cells.points(_code(grade=True, points="2.5")) == 2.5
    assert cells.points({"metadata": "junk"}) == 0.0


def test_error_names_reads_only_error_outputs():
    cell = _code()
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="CellNotRun"),
        nbformat.v4.new_output("error", ename=cells.TIMEOUT_ENAME, evalue="", traceback=[]),
        nbformat.v4.new_output("error", ename="ValueError", evalue="", traceback=[]),
    ]
    assert cells.error_names(cell) == {cells.TIMEOUT_ENAME, "ValueError"}
    assert cells.error_names(nbformat.v4.new_markdown_cell("x")) == set()


def test_the_grader_error_names_are_distinct_and_used_by_execute_and_feedback():
    from htcourse.grading import execute, feedback

    assert len(set(cells.GRADER_ENAMES)) == 3
    assert {execute.TIMEOUT_ENAME, execute.SKIPPED_ENAME} <= set(cells.GRADER_ENAMES)
    assert feedback.HIDDEN_FAILED_ENAME in cells.GRADER_ENAMES


def _string_constants(path: Path) -> list[str]:
    return [
        node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant) and node.value
    ]


def test_markers_and_error_names_are_typed_only_in_cells_py():
    typed = {
        cells.BEGIN_HIDDEN,
        cells.END_HIDDEN,
        cells.BEGIN_SOLUTION,
        cells.END_SOLUTION,
        cells.TIMEOUT_ENAME,
        cells.SKIPPED_ENAME,
        cells.HIDDEN_FAILED_ENAME,
        cells.OUTPUT_TOO_LARGE_ENAME,
    }
    offenders = []
    for path in GRADING.rglob("*.py"):
        if path.name == "cells.py":
            continue
        for value in _string_constants(path):
            if isinstance(value, str) and value in typed:
                offenders.append(f"{path.name}: {value!r}")
    assert offenders == []


def test_nbgrader_metadata_is_read_only_through_cells_py():
    offenders = [
        path.name for path in GRADING.rglob("*.py") if path.name != "cells.py" and 'get("nbgrader"' in path.read_text()
    ]
    assert offenders == []

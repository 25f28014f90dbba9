"""Grades out to Moodle (htcourse.grading.moodle): the columns Moodle's CSV importer maps users by, and final scores."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from nbgrader.api import Gradebook

from htcourse.grading import moodle

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture
def gradebook(tmp_path) -> str:
    """ps1: 6 autograded + 4 by hand.

    ana (email) full marks; s002 (an ID number) 5 + 1 by hand, 2 late; cy never submitted.
    """
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("ps1", duedate=datetime(2026, 10, 1))
        gb.update_or_create_notebook("ps1", "ps1")
        for cell, points in (("auto", 6), ("essay", 4)):
            gb.update_or_create_grade_cell(cell, "ps1", "ps1", max_score=points, cell_type="code")
        gb.add_student("ana@example.edu", first_name="Ana", last_name="Lima", email="ana@example.edu")
        gb.add_student("s002", first_name="Ben", last_name="Brown")
        gb.add_student("cy@example.edu", email="cy@example.edu")
        for student, auto, essay in (("ana@example.edu", 6, 4), ("s002", 5, 1)):
            gb.add_submission("ps1", student, timestamp=datetime(2026, 10, 1, 9))
            gb.find_grade("auto", "ps1", "ps1", student).auto_score = auto
            gb.find_grade("essay", "ps1", "ps1", student).manual_score = essay
        gb.find_submission_notebook("ps1", "ps1", "s002").late_submission_penalty = 2
        gb.db.commit()
    return url


def test_moodle_csv_has_the_identity_columns_and_final_scores(gradebook, tmp_path):
    with Gradebook(gradebook) as gb:
        result = moodle.write_moodle_csv(gb, tmp_path / "moodle.csv")
    with open(tmp_path / "moodle.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "ps1"]
    assert sorted(rows[1:]) == sorted(
        [
            ["Ana", "Lima", "", "ana@example.edu", "10"],
            ["Ben", "Brown", "s002", "", "4"],  # 5 + 1 by hand - 2 late
            ["", "", "", "cy@example.edu", "0"],  # never submitted
        ]
    )
    assert result.rows == 3 and not result.unmatched


def test_a_student_moodle_cannot_match_is_an_error_unless_allowed(gradebook, tmp_path):
    with Gradebook(gradebook) as gb:
        gb.add_student("", first_name="Nobody")  # neither an email nor an ID number
        gb.db.commit()
    with Gradebook(gradebook) as gb, pytest.raises(moodle.MoodleExportError, match="--allow-unmatched"):
        moodle.write_moodle_csv(gb, tmp_path / "moodle.csv")
    assert not (tmp_path / "moodle.csv").exists()
    with Gradebook(gradebook) as gb:
        result = moodle.write_moodle_csv(gb, tmp_path / "moodle.csv", allow_unmatched=True)
    assert result.unmatched == [""] and result.rows == 3

"""Grades out: the course's CSV (htcourse.grading.export), Canvas and Moodle read one record and agree."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from htcourse.grading import canvas, moodle, results
from htcourse.grading.course import Course
from htcourse.grading.export import export_grades

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

#: (student, auto, by hand, late penalty); "dara" never submitted. ps1 is 6 autograded + 4 by hand.
SUBMISSIONS = [("ana", 6, 4, 0), ("ben", 5, 1, 2), ("chen", 1, 0, 3)]
EXPECTED_FINAL = {"ana": 10.0, "ben": 4.0, "chen": 0.0, "dara": 0.0}  # chen: 1 - 3 stays 0


@pytest.fixture
def course(tmp_path) -> Course:
    """A course folder whose gradebook has manual grades, late penalties and a student with no submission."""
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'test'\n",
        encoding="utf-8",
    )
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / "ps1.ipynb").write_text("{}", encoding="utf-8")
    course = Course(root)
    with course.gradebook() as gb:
        gb.add_assignment("ps1", duedate=datetime(2026, 10, 1))
        gb.update_or_create_notebook("ps1", "ps1")
        for cell, points, kind in (("auto", 6, "code"), ("essay", 4, "markdown")):
            gb.update_or_create_grade_cell(cell, "ps1", "ps1", max_score=points, cell_type=kind)
        for sid in ("ana", "ben", "chen", "dara"):
            gb.add_student(sid, first_name=sid.title(), email=f"{sid}@example.edu")
        for sid, auto, essay, late in SUBMISSIONS:
            gb.add_submission("ps1", sid, timestamp=datetime(2026, 10, 1, 9))
            gb.find_grade("auto", "ps1", "ps1", sid).auto_score = auto
            gb.find_grade("essay", "ps1", "ps1", sid).manual_score = essay
            gb.find_submission_notebook("ps1", "ps1", sid).late_submission_penalty = late
            (root / "submitted" / sid / "ps1").mkdir(parents=True)
        gb.db.commit()
    return course


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_read_scores_is_one_record_with_the_final_score(course):
    with course.gradebook() as gb:
        names, students, table = results.read_all_scores(gb)
        with pytest.raises(LookupError, match="ps9"):
            results.read_all_scores(gb, ["ps9"])
    assert names == ["ps1"] and students == ["ana", "ben", "chen", "dara"]
    by_student = {s.student: s for s in table}
    assert {sid: s.score for sid, s in by_student.items()} == EXPECTED_FINAL
    ben = by_student["ben"]
    assert (ben.auto_score, ben.hand_score, ben.raw_score, ben.late_submission_penalty) == (5, 1, 6, 2)
    assert ben.max_score == 10 and ben.max_auto_score == 6 and ben.max_hand_score == 4 and ben.submitted
    dara = by_student["dara"]
    assert not dara.submitted and dara.score == 0 and dara.max_score == 10 and dara.timestamp == ""


def test_the_course_csv_canvas_and_moodle_agree_on_every_score(course, tmp_path):
    ok = [results.Result(sid, "ps1", status="graded") for sid, *_ in SUBMISSIONS]
    course_csv = {r["student_id"]: r for r in _rows(export_grades(course, "ps1", ok))}
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "".join(f"{sid.title()},{100 + i},,{sid},A\n" for i, sid in enumerate(EXPECTED_FINAL)),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with course.gradebook() as gb:
        canvas.write_exports(gb, roster, out / "canvas.csv", out / "grades.csv")
        moodle.write_moodle_csv(gb, out / "moodle.csv")
    canvas_import = {r["SIS Login ID"]: r for r in _rows(out / "canvas.csv") if r["Student"] != "Points Possible"}
    canvas_plain = {r["student_id"]: r for r in _rows(out / "grades.csv")}
    moodle_csv = {r["Email address"].split("@")[0]: r for r in _rows(out / "moodle.csv")}

    for sid, final in EXPECTED_FINAL.items():
        assert float(canvas_import[sid]["ps1"]) == final, sid
        assert float(canvas_plain[sid]["score"]) == final, sid
        assert float(moodle_csv[sid]["ps1"]) == final, sid
    for sid, *_ in SUBMISSIONS:  # the course's CSV lists those who submitted
        row, plain = course_csv[sid], canvas_plain[sid]
        assert float(row["score"]) == EXPECTED_FINAL[sid]
        for column in ("raw_score", "late_submission_penalty", "max_score", "timestamp"):
            assert row[column] == plain[column], (sid, column)
    assert "dara" not in course_csv

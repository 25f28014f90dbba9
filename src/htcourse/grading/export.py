"""The grades of one assignment as ``grades/<assignment>.csv`` (``make grade``, ``python -m htcourse.grading export``).

:func:`htcourse.grading.results.read_scores` is the one way the course reads
a submission's scores out of the gradebook, into one record
(:class:`~htcourse.grading.results.Scores`); the Canvas export (:mod:`.canvas`,
also the ``nbgrader export`` plugin) and the Moodle export (:mod:`.moodle`)
read them the same way, so the three files agree.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING

from htcourse.grading.markers import read_marker
from htcourse.grading.results import read_scores

if TYPE_CHECKING:
    from htcourse.grading.course import Course
    from htcourse.grading.results import Result

GRADES_FOLDER = "grades"


CSV_FIELDS = [
    "assignment",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "timestamp",
    "status",
    "auto_score",
    "max_auto_score",
    "hand_score",
    "max_hand_score",
    "hand_grading_needed",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "flags_or_reason",
]


def export_grades(course: Course, assignment: str, results: list[Result] | None = None) -> Path:
    """Write ``grades/<assignment>.csv`` (git-ignored): one row per student who submitted."""
    from nbgrader.api import MissingEntry

    by_student = {r.student_id: r for r in results or []}
    students = sorted(set(course.submissions(assignment)) | set(by_student))
    folder = course.root / GRADES_FOLDER
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Grades are student data: never commit them.\n*\n", encoding="utf-8")
    path = folder / f"{assignment}.csv"
    tmp = path.with_suffix(".csv.tmp")
    with course.gradebook() as gb, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for sid in students:
            r = by_student.get(sid)
            row = {"assignment": assignment, "student_id": sid}
            marker = read_marker(course, sid, assignment)
            if (r is not None and not r.ok) or (r is None and marker is None):
                row["status"] = "not graded"
                row["flags_or_reason"] = r.reason if r is not None else "not graded yet: run make grade"
                writer.writerow(row)
                continue
            try:
                student = gb.find_student(sid)
                grades = read_scores(gb, assignment, sid)
            except MissingEntry:
                grades = None
            if grades is None or not grades.submitted:
                row.update(status="not graded", flags_or_reason="no record in the gradebook")
                writer.writerow(row)
                continue
            waiting = grades.hand_grading_needed
            flags = r.flags if r is not None else (marker or {}).get("flags", [])
            row.update(
                last_name=student.last_name or "",
                first_name=student.first_name or "",
                email=student.email or "",
                timestamp=grades.timestamp,
                status="graded" if not waiting else "waiting for hand grading",
                auto_score=f"{grades.auto_score:g}",
                max_auto_score=f"{grades.max_auto_score:g}",
                hand_score=f"{grades.hand_score:g}",
                max_hand_score=f"{grades.max_hand_score:g}",
                hand_grading_needed=waiting,
                raw_score=f"{grades.raw_score:g}",
                late_submission_penalty=f"{grades.late_submission_penalty:g}",
                score=f"{grades.score:g}",
                max_score=f"{grades.max_score:g}",
                flags_or_reason="; ".join(flags),
            )
            writer.writerow(row)
    os.replace(tmp, path)
    return path

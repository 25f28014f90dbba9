"""Grades out to Moodle: a CSV for Moodle's gradebook import (Grades > Import > CSV file).

Moodle's CSV importer matches each row to a user by one column the
instructor chooses under "Identify user by": *Map from* a column of the file,
*Map to* one of Moodle's user fields (user id, username, ID number or email
address). This file has both an ``ID number`` and an ``Email address``
column, so either can be chosen; then each assignment column is mapped to
its grade item (or to "new grade item"). Columns:

``First name, Last name, ID number, Email address, <assignment> ...``

Each assignment column holds nbgrader's final score
(:attr:`htcourse.grading.results.Scores.score`, as in the Canvas export):
autograded points plus every **manual grade**, less the **late penalty**;
0 for a student with no submission. The student's nbgrader id is the
``ID number`` (students collected from Moodle by ``htcourse collect`` are known by their ID number, else by their email,
which then fills ``Email address``); a student with neither an email nor an
ID number cannot be matched by Moodle and is an error unless
``allow_unmatched`` (then they are listed and left out).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["First name", "Last name", "ID number", "Email address"]


class MoodleExportError(ValueError):
    """The gradebook cannot be exported as it is; the message says what to fix."""


@dataclass
class MoodleExport:
    path: Path
    rows: int = 0
    unmatched: list[str] = field(default_factory=list)

    def report(self) -> str:
        text = f"Moodle import: {self.path} ({self.rows} student(s))"
        if self.unmatched:
            text += f"\nleft out (no email and no ID number, so Moodle cannot match them): {', '.join(self.unmatched)}"
        return text


def _number(value: float) -> str:
    return f"{value:g}"


def write_moodle_csv(
    gradebook, out: Path, assignments: list[str] | None = None, allow_unmatched: bool = False
) -> MoodleExport:
    """Write the import CSV to ``out`` (atomically); raise :class:`MoodleExportError` (writing nothing) on bad input."""
    from htcourse.grading.results import read_all_scores

    try:
        names, students, table = read_all_scores(gradebook, assignments)
    except LookupError as exc:
        raise MoodleExportError(str(exc)) from None
    if not names:
        raise MoodleExportError("the gradebook has no assignments to export")
    by_key = {(g.student, g.assignment): g for g in table}
    result = MoodleExport(Path(out))
    rows = [COLUMNS + names]
    for sid in students:
        student = gradebook.find_student(sid)
        email = (student.email or (sid if "@" in sid else "")).strip()
        id_number = "" if "@" in sid else sid
        if not email and not id_number:
            result.unmatched.append(sid)
            continue
        rows.append(
            [student.first_name or "", student.last_name or "", id_number, email]
            + [_number(by_key[(sid, n)].score) for n in names]
        )
    if result.unmatched and not allow_unmatched:
        raise MoodleExportError(
            f"{', '.join(result.unmatched)} cannot be matched by Moodle (no email, no ID number): "
            "give them one, or pass --allow-unmatched to export the others"
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    os.replace(tmp, out)
    result.rows = len(rows) - 1
    return result

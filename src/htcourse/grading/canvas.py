"""Grades out to Canvas: a gradebook import CSV built from a Canvas roster and the nbgrader gradebook.

The roster is Canvas's own gradebook export (Grades > Export > "Export
Entire Gradebook"): its first five columns are ``Student, ID, SIS User ID,
SIS Login ID, Section``; a second row may give ``Points Possible``. nbgrader
knows students by their hub username. Each nbgrader student is matched to
the roster row whose **SIS Login ID** equals the username, or else whose
**SIS User ID** does (compared without surrounding spaces, ignoring case).

Two files are written (and nothing at all if the input is bad):

* ``canvas.csv`` for Canvas's gradebook import: the roster's identity
  columns and one column per assignment holding nbgrader's final score,
  i.e. the autograded score with every **manual grade** (the formgrader's
  points and extra credit) and minus the **late penalty**; a student who
  never submitted gets 0, as in nbgrader's own CSV export. An assignment
  column already in the roster (``ps4-dirty-data (123)``) keeps Canvas's
  name and id, so the import updates that assignment instead of adding one;
* ``grades.csv``, a plain CSV: one row per student and assignment with raw
  score, late penalty, final score, maximum, submission time and whether
  answers still wait for hand grading.

Every mismatch is reported, never dropped silently: a roster student with no
nbgrader record is listed (their cells are left blank, which Canvas's import
leaves alone); an nbgrader student who is not on the roster is an error
unless ``--allow-unmatched`` is given, and then is listed in the report and
in the plain CSV. Duplicate ids in the roster, or one student matching two
rows, are always errors.

Command line (``make canvas ROSTER=...``)::

    python -m htcourse.grading.canvas --roster roster.csv [--out DIR] [--assignment NAME ...] [--allow-unmatched]

nbgrader export plugin (same result, run in the course folder)::

    nbgrader export --exporter=htcourse.grading.canvas.CanvasExportPlugin \\
        --CanvasExportPlugin.roster=roster.csv --to canvas.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Unicode

from htcourse.grading.results import Scores, read_all_scores

IDENTITY_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
PLAIN_COLUMNS = [
    "student_id",
    "canvas_id",
    "sis_user_id",
    "sis_login_id",
    "name",
    "assignment",
    "timestamp",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "needs_manual_grade",
    "matched",
]
#: Canvas adds these rows under the header of its export; they are not students.
NON_STUDENT_ROWS = re.compile(r"^\s*(Points Possible|Student, Test)\s*$", re.I)
#: "ps4-dirty-data (12345)": an assignment column as Canvas names it in an export.
CANVAS_COLUMN = re.compile(r"^(?P<name>.*\S)\s+\((?P<id>\d+)\)$")
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


class RosterError(ValueError):
    """The roster or the gradebook cannot be matched as they are; the message says what to fix."""


@dataclass
class RosterRow:
    line: int
    values: dict[str, str]

    @property
    def keys(self) -> list[str]:
        """The ids a hub username may equal: SIS Login ID first, then SIS User ID."""
        return [k for k in (self.values["SIS Login ID"], self.values["SIS User ID"]) if k]


@dataclass
class Match:
    rows: dict[str, RosterRow] = field(default_factory=dict)  # nbgrader student id -> roster row
    roster_only: list[RosterRow] = field(default_factory=list)
    gradebook_only: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"matched {len(self.rows)} student(s) between the roster and the gradebook"]
        if self.roster_only:
            lines.append(
                f"{len(self.roster_only)} on the roster but not in the gradebook (left blank for Canvas): "
                + ", ".join(f"{r.values['Student']} [{'/'.join(r.keys) or 'no SIS ids'}]" for r in self.roster_only)
            )
        if self.gradebook_only:
            lines.append(
                f"{len(self.gradebook_only)} in the gradebook but not on the roster (not in canvas.csv): "
                + ", ".join(self.gradebook_only)
            )
        return "\n".join(lines)


def _norm(value: str) -> str:
    return value.strip().casefold()


def read_roster(path: Path) -> tuple[list[str], list[RosterRow]]:
    """The roster's header and its student rows. Raises :class:`RosterError` on a malformed or ambiguous roster."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"roster {path} does not exist: export it from Canvas (Grades > Export)")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in IDENTITY_COLUMNS if c not in header]
        if missing:
            raise RosterError(
                f"{path}: not a Canvas gradebook export: missing column(s) {', '.join(missing)} "
                f"(expected {', '.join(IDENTITY_COLUMNS)})"
            )
        rows = []
        for line, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            values = {h: (record[i].strip() if i < len(record) else "") for i, h in enumerate(header)}
            if NON_STUDENT_ROWS.match(values["Student"]):
                continue
            rows.append(RosterRow(line, values))
    seen: dict[str, RosterRow] = {}
    for row in rows:
        if not row.keys:
            raise RosterError(
                f"{path} line {row.line}: {row.values['Student'] or 'a student'} has neither a "
                "SIS Login ID nor a SIS User ID, so cannot be matched to a hub username"
            )
        for column in ("ID", "SIS User ID", "SIS Login ID"):
            key = (column, _norm(row.values[column]))
            if not key[1]:
                continue
            if key in seen:
                raise RosterError(
                    f"{path}: duplicate {column} {row.values[column]!r} on lines "
                    f"{seen[key].line} and {row.line}: fix the roster before exporting"
                )
            seen[key] = row
    return header, rows


def match(rows: list[RosterRow], students: list[str]) -> Match:
    """Match nbgrader student ids to roster rows by SIS Login ID, else SIS User ID."""
    by_login = {_norm(r.values["SIS Login ID"]): r for r in rows if r.values["SIS Login ID"]}
    by_sis = {_norm(r.values["SIS User ID"]): r for r in rows if r.values["SIS User ID"]}
    result = Match()
    used: dict[int, str] = {}
    for student in sorted(students):
        login, sis = by_login.get(_norm(student)), by_sis.get(_norm(student))
        if login is not None and sis is not None and login is not sis:
            raise RosterError(
                f"student {student!r} is the SIS Login ID of roster line {login.line} and the "
                f"SIS User ID of line {sis.line}: cannot tell which is theirs"
            )
        row = login or sis
        if row is None:
            result.gradebook_only.append(student)
            continue
        if row.line in used:
            raise RosterError(
                f"roster line {row.line} matches two nbgrader students, {used[row.line]!r} and {student!r}"
            )
        used[row.line] = student
        result.rows[student] = row
    result.roster_only = [r for r in rows if r.line not in used]
    return result


def grades(gradebook, assignments: list[str] | None = None) -> tuple[list[str], list[str], list[Scores]]:
    """(assignment names, student ids, one :class:`Scores` per student and assignment) from an nbgrader gradebook."""
    try:
        return read_all_scores(gradebook, assignments)
    except LookupError as exc:
        raise RosterError(str(exc)) from None


def _number(value: float) -> str:
    return f"{value:g}"


def _plain_row(roster_row: RosterRow | None, **values: str) -> list[str]:
    """One row of the plain CSV, in PLAIN_COLUMNS order: the roster's ids (if matched) and ``values``."""
    if roster_row is not None:
        values.update(
            canvas_id=roster_row.values["ID"],
            sis_user_id=roster_row.values["SIS User ID"],
            sis_login_id=roster_row.values["SIS Login ID"],
            name=roster_row.values["Student"],
        )
    unknown = set(values) - set(PLAIN_COLUMNS)
    if unknown:
        raise KeyError(f"not columns of the plain CSV: {', '.join(sorted(unknown))}")
    return [values.get(column, "") for column in PLAIN_COLUMNS]


def write_exports(
    gradebook,
    roster: Path,
    canvas_csv: Path,
    plain_csv: Path,
    assignments: list[str] | None = None,
    allow_unmatched: bool = False,
) -> Match:
    """Write the Canvas import and the plain CSV; raise :class:`RosterError` (writing nothing) on bad input."""
    header, rows = read_roster(roster)
    names, students, table = grades(gradebook, assignments)
    if not names:
        raise RosterError("the gradebook has no assignments to export")
    result = match(rows, students)
    if result.gradebook_only and not allow_unmatched:
        raise RosterError(
            result.report() + "\nadd them to the roster (or fix their SIS Login ID), or pass "
            "--allow-unmatched to export the others and list these in the plain CSV only"
        )
    existing = {}
    for column in header:
        found = CANVAS_COLUMN.match(column)
        if found:
            existing[found.group("name")] = column
    columns = [existing.get(name, name) for name in names]
    by_key = {(g.student, g.assignment): g for g in table}
    max_scores = {g.assignment: g.max_score for g in table}

    canvas_rows = [
        IDENTITY_COLUMNS + columns,
        ["Points Possible", "", "", "", ""] + [_number(max_scores[n]) for n in names],
    ]
    row_student = {r.line: s for s, r in result.rows.items()}
    for row in rows:  # roster order, every roster student
        student = row_student.get(row.line)
        cells = [_number(by_key[(student, n)].score) if student else "" for n in names]
        canvas_rows.append([row.values[c] for c in IDENTITY_COLUMNS] + cells)

    plain_rows = [PLAIN_COLUMNS]
    for g in table:
        row = result.rows.get(g.student)
        plain_rows.append(
            _plain_row(
                row,
                student_id=g.student,
                assignment=g.assignment,
                timestamp=g.timestamp,
                raw_score=_number(g.raw_score),
                late_submission_penalty=_number(g.late_submission_penalty),
                score=_number(g.score),
                max_score=_number(g.max_score),
                needs_manual_grade=str(g.needs_manual_grade).lower(),
                matched="yes" if row else "not on the roster",
            )
        )
    for row in result.roster_only:
        for name in names:
            plain_rows.append(
                _plain_row(row, assignment=name, max_score=_number(max_scores[name]), matched="not in the gradebook")
            )
    for path, content in ((Path(canvas_csv), canvas_rows), (Path(plain_csv), plain_rows)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(content)
        tmp.replace(path)
    return result


class CanvasExportPlugin(ExportPlugin):
    """nbgrader export plugin: a Canvas gradebook import CSV (``--to``) and a plain CSV beside it."""

    roster = Unicode("", help="Canvas gradebook export (CSV) listing the course's students").tag(config=True)
    plain = Unicode("", help="plain CSV to write as well (default: grades.csv beside --to)").tag(config=True)
    allow_unmatched = Bool(
        False, help="export even if gradebook students are missing from the roster (they are reported)"
    ).tag(config=True)

    def export(self, gradebook) -> None:
        if not self.roster:
            raise RosterError("set --CanvasExportPlugin.roster=PATH to the Canvas gradebook export")
        canvas_csv = Path(self.to or "canvas.csv")
        plain_csv = Path(self.plain) if self.plain else canvas_csv.with_name("grades.csv")
        result = write_exports(
            gradebook,
            Path(self.roster),
            canvas_csv,
            plain_csv,
            [str(a) for a in self.assignment] or None,
            self.allow_unmatched,
        )
        for line in result.report().splitlines():
            (self.log.warning if result.roster_only or result.gradebook_only else self.log.info)(line)
        self.log.info("Canvas import: %s; plain CSV: %s", canvas_csv, plain_csv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m htcourse.grading.canvas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--roster", required=True, help="the Canvas gradebook export (CSV)")
    parser.add_argument("--course", default=None, help="nbgrader course folder (default: assignments/)")
    parser.add_argument("--out", default=None, help="folder for canvas.csv and grades.csv (default: COURSE/grades/)")
    parser.add_argument("--assignment", action="append", default=None, help="export only this assignment (repeatable)")
    parser.add_argument(
        "--allow-unmatched",
        action="store_true",
        help="export even if some gradebook students are not on the roster (they are reported)",
    )
    args = parser.parse_args(argv)
    from htcourse.grading.course import Course, CourseError

    try:
        course = Course(args.course)
        out = Path(args.out) if args.out else course.root / "grades"
        with course.gradebook() as gb:
            result = write_exports(
                gb, Path(args.roster), out / "canvas.csv", out / "grades.csv", args.assignment, args.allow_unmatched
            )
    except (RosterError, CourseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, CourseError) else EXIT_MISMATCH
    print(result.report())
    print(f"Canvas import: {out / 'canvas.csv'}\nPlain CSV: {out / 'grades.csv'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

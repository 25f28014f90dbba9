"""Due dates, per-student extensions and the late policy, applied through nbgrader.

Everything is set in one place, the course's ``nbgrader_config.py``, in the
section of :class:`LatePolicy`::

    c.AssignLatePenalties.plugin_class = "htcourse.grading.late.LatePolicy"
    c.LatePolicy.due_dates = {"ps4-dirty-data": "2026-10-16 17:00 UTC"}
    c.LatePolicy.method = "per_day"      # "none", "per_hour" or "per_day"
    c.LatePolicy.fraction = 0.1          # of the score, per started day (or hour) late
    c.LatePolicy.cutoff_hours = 72       # later than this: score 0 (0 = no cut-off)
    c.LatePolicy.extensions = "extensions.csv"

``extensions.csv`` (beside ``nbgrader_config.py``, git-ignored: it holds
private reasons) has the columns ``student, assignment, due, reason``: the
student's new due date for that assignment. The reason is for the
instructor only; nothing here reads it beyond checking it is there, and no
export or feedback contains it.

How it reaches nbgrader: :func:`apply` writes each assignment's due date into
the gradebook and each extension as nbgrader's own per-submission extension
(``SubmittedAssignment.extension``), so nbgrader's ``total_seconds_late``
already counts from the student's own due date. nbgrader's
``AssignLatePenalties`` step (run by the grader after the autograded scores
are saved) then asks :class:`LatePolicy` for the penalty of each late
notebook. A submission's time is its ``timestamp.txt``, as nbgrader
records it on collection (``htcourse collect`` writes it from the LMS zip).

The penalty, for a notebook scoring ``score`` that is ``s`` seconds late:

- ``none``: 0;
- ``per_hour`` / ``per_day``: ``score * min(1, fraction * ceil(s / period))``,
  that is, each started hour (or day) late costs that fraction of the score;
- past ``cutoff_hours`` (if set, whatever the method): the whole score.

:func:`banner` is the note put at the top of each released notebook, so that
students see the due date and the policy that will be applied.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Enum, Float, Unicode

if TYPE_CHECKING:
    from htcourse.grading.course import Course

PERIODS = {"per_hour": 3600, "per_day": 86400}
EXTENSION_COLUMNS = ["student", "assignment", "due", "reason"]
#: The key of the banner cell's metadata, so that it is replaced, never duplicated.
BANNER_KEY = "htcourse_due_date"


class LateError(ValueError):
    """A due date, the policy or the extensions file is wrong; the message says what to fix."""


def parse_due(text: str, where: str = "due date") -> datetime:
    """A due date as nbgrader stores it (naive UTC). Accepts ISO 8601 with an optional zone; no zone means UTC."""
    from nbgrader.utils import parse_utc

    value = str(text).strip()
    if not value:
        raise LateError(f"{where}: empty date")
    try:
        iso = re.sub(r"^(\d{4}-\d\d-\d\d)T", r"\1 ", value)
        return parse_utc(re.sub(r"(\d)Z$", r"\1 UTC", iso))
    except Exception:
        raise LateError(f"{where}: cannot read {value!r} as a date; write it as 2026-10-16 17:00 UTC") from None


def penalty(score: float, seconds_late: float, method: str, fraction: float, cutoff_hours: float) -> float:
    """The points taken from ``score`` for a submission ``seconds_late`` seconds after its due date."""
    if seconds_late <= 0 or score <= 0:
        return 0.0
    if cutoff_hours and seconds_late > cutoff_hours * 3600:
        return float(score)
    if method == "none":
        return 0.0
    periods = math.ceil(seconds_late / PERIODS[method])
    return float(score) * min(1.0, fraction * periods)


class LatePolicy(LateSubmissionPlugin):
    """nbgrader late-submission plugin: the course's late policy (see the module's help)."""

    due_dates = Dict(
        {}, help="Due date of each assignment, e.g. {'ps4-dirty-data': '2026-10-16 17:00 UTC'} (no zone: UTC)"
    ).tag(config=True)
    method = Enum(
        ("none", "per_hour", "per_day"),
        default_value="none",
        help="'none': no penalty (until the cut-off, if set); 'per_hour' / 'per_day': "
        "each started hour / day late costs `fraction` of the score",
    ).tag(config=True)
    fraction = Float(0.0, min=0.0, max=1.0, help="fraction of the score taken per started period late").tag(config=True)
    cutoff_hours = Float(
        0.0, min=0.0, help="later than this many hours after the due date, the score is 0 (0: no cut-off)"
    ).tag(config=True)
    extensions = Unicode(
        "extensions.csv",
        help="per-student extensions (student, assignment, due, reason), relative to the course folder",
    ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        value = penalty(score, total_seconds_late, self.method, self.fraction, self.cutoff_hours)
        self.log.info("late by %.0f s: penalty %g of %g (%s)", total_seconds_late, value, score, self.describe())
        return value

    def describe(self) -> str:
        """The policy in words, for students and for the report."""
        parts = []
        if self.method == "none":
            parts.append("no penalty for late work")
        else:
            unit = "hour" if self.method == "per_hour" else "day"
            parts.append(f"{self.fraction:.0%} of the score for each started {unit} late")
        if self.cutoff_hours:
            hours = self.cutoff_hours
            when = f"{hours / 24:g} days" if hours % 24 == 0 else f"{hours:g} hours"
            parts.append(f"work more than {when} late scores 0")
        return "; ".join(parts)


def policy(course: Course) -> LatePolicy:
    """The course's policy, as nbgrader will apply it."""
    return LatePolicy(config=course.config)


@dataclass(frozen=True)
class Extension:
    student: str
    assignment: str
    due: datetime
    line: int


def read_extensions(course: Course, pol: LatePolicy | None = None) -> list[Extension]:
    """The extensions file's rows (none if the file is absent). Raises :class:`LateError` on a bad file."""
    pol = pol or policy(course)
    path = Path(pol.extensions)
    path = path if path.is_absolute() else course.root / path
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in EXTENSION_COLUMNS if c not in header]
        if missing:
            raise LateError(
                f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(EXTENSION_COLUMNS)}"
            )
        rows, seen = [], {}
        for line, record in enumerate(reader, start=2):
            record = {k.strip(): (v or "").strip() for k, v in record.items() if k}
            if not any(record.values()):
                continue
            if not record["student"] or not record["assignment"]:
                raise LateError(f"{path} line {line}: student and assignment are both needed")
            key = (record["student"], record["assignment"])
            if key in seen:
                raise LateError(
                    f"{path}: {key[0]} has two extensions for {key[1]} (lines {seen[key]} and {line}); keep one"
                )
            seen[key] = line
            rows.append(
                Extension(
                    record["student"], record["assignment"], parse_due(record["due"], f"{path} line {line}"), line
                )
            )
    return rows


def due_date(course: Course, assignment: str, pol: LatePolicy | None = None) -> datetime | None:
    pol = pol or policy(course)
    text = pol.due_dates.get(assignment)
    return parse_due(text, f"LatePolicy.due_dates[{assignment!r}]") if text else None


def apply(course: Course, assignment: str, students: list[str] | None = None) -> list[str]:
    """Write ``assignment``'s due date and its students' extensions into the gradebook; return what was done.

    ``students``: those with a submission (default: every folder in submitted/). An
    extension for a student who has not submitted is kept for later, not recorded.
    """
    pol = policy(course)
    unknown = sorted(set(pol.due_dates) - set(course.assignments()))
    if unknown:
        raise LateError(
            f"LatePolicy.due_dates names unknown assignment(s) {', '.join(unknown)} "
            f"(known: {', '.join(course.assignments())})"
        )
    due = due_date(course, assignment, pol)
    extensions = [e for e in read_extensions(course, pol) if e.assignment == assignment]
    bad = [e for e in read_extensions(course, pol) if e.assignment not in course.assignments()]
    if bad:
        raise LateError(f"the extensions file names unknown assignment {bad[0].assignment!r} on line {bad[0].line}")
    if extensions and due is None:
        raise LateError(
            f"there are extensions for {assignment} but no due date: set "
            f"c.LatePolicy.due_dates[{assignment!r}] in nbgrader_config.py"
        )
    submitted = set(students if students is not None else course.submissions(assignment))
    done = []
    with course.gradebook() as gb:
        if due is not None:  # none configured: a due date set in the formgrader is left as it is
            gb.update_or_create_assignment(assignment, duedate=due)
        done.append(
            f"{assignment}: due {due:%Y-%m-%d %H:%M} UTC; {pol.describe()}"
            if due
            else f"{assignment}: no due date in nbgrader_config.py"
        )
        for ext in extensions:
            if ext.due < due:
                raise LateError(f"extension for {ext.student} on line {ext.line} ends before the due date ({due} UTC)")
            if ext.student not in submitted:
                done.append(f"extension for {ext.student} noted (no submission yet)")
                continue
            gb.update_or_create_student(ext.student)
            gb.update_or_create_submission(assignment, ext.student, extension=ext.due - due)
            done.append(f"extension for {ext.student}: due {ext.due:%Y-%m-%d %H:%M} UTC")
    return done


def banner(course: Course, assignment: str) -> str | None:
    """The Markdown note on the due date and late policy for the top of the released notebook (None: no due date)."""
    pol = policy(course)
    due = due_date(course, assignment, pol)
    if due is None:
        return None
    return (
        f"**Due:** {due.replace(tzinfo=UTC):%A %d %B %Y, %H:%M} UTC.  \n"
        f"**Late work:** {pol.describe()}. If you need more time, ask your instructor before the "
        "due date: extensions are recorded for you alone."
    )


def add_banners(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """Put (or replace) the due-date note as the first cell of each released notebook; return the notebooks changed."""
    import nbformat

    changed = []
    for assignment in assignments or course.assignments():
        text = banner(course, assignment)
        for nb_name in course.notebooks(assignment):
            path = course.release_notebook(assignment, nb_name)
            if not path.is_file():
                continue
            nb = nbformat.read(str(path), as_version=4)
            nb.cells = [c for c in nb.cells if BANNER_KEY not in c.get("metadata", {})]
            if text:
                cell = nbformat.v4.new_markdown_cell(text)
                cell.metadata[BANNER_KEY] = True
                nb.cells.insert(0, cell)
            nbformat.write(nb, str(path))
            changed.append(path)
    return changed

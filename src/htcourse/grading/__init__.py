"""Grading the course's nbgrader assignments (``assignments/``) safely.

    python -m htcourse.grading generate             # make assignments
    python -m htcourse.grading validate             # make validate
    python -m htcourse.grading grade ps1-dirty-data # make grade ASSIGNMENT=ps1-dirty-data

Modules: :mod:`.course` (configuration and folders), :mod:`.preflight`
(checks before nbgrader sees a submission), :mod:`.restore` (puts back
deleted or edited cells), :mod:`.feedback` (strips hidden tests from
feedback), :mod:`.outputs` (limits huge outputs), :mod:`.grader`
(:func:`grade_one` for one submission, :func:`grade_all` for a class) and
:mod:`.prepare` (generate and validate). See ``assignments/README.md``.
"""

from htcourse.grading.course import Course, CourseError
from htcourse.grading.grader import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    Result,
    grade_all,
    grade_one,
)

__all__ = [
    "Course",
    "CourseError",
    "Result",
    "grade_all",
    "grade_one",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
]

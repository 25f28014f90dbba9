"""Grading the course's nbgrader assignments (``assignments/``) safely.

    python -m htcourse.grading generate             # make assignments
    python -m htcourse.grading validate             # make validate
    python -m htcourse.grading grade ps4-dirty-data # make grade ASSIGNMENT=ps4-dirty-data

Modules: :mod:`.course` (configuration and folders), :mod:`.preflight`
(checks before nbgrader sees a submission), :mod:`.restore` (puts back
deleted or edited cells), :mod:`.feedback` (strips hidden tests from
feedback), :mod:`.outputs` (limits huge outputs), :mod:`.nbgrader_steps`
(one nbgrader step run in-process, its log captured), :mod:`.markers` (the
fingerprint and completion marker that make re-grading cheap),
:mod:`.grader` (:func:`grade_one` for one submission), :mod:`.batch`
(:func:`grade_all` for a class, in worker processes), :mod:`.report`
(progress and summary lines), :mod:`.results` (the records: Result, Batch, exit codes), :mod:`.export` (the grades CSV),
:mod:`.canvas` (the Canvas export), :mod:`.prepare` (generate and
validate), :mod:`.sandbox` (where student code runs), and the hidden tests that run outside
the student's kernel: :mod:`.wire` (answers as data), :mod:`.answers`
(the report cells and the preprocessors) and :mod:`.checker` (the trusted process). See ``assignments/README.md``.
"""

import importlib

# Loaded on first use: a graded kernel imports htcourse.grading.wire, and must
# not pay for nbgrader and the rest of the grader.
_LAZY = {
    "Course": "course",
    "CourseError": "course",
    "EXIT_INTERRUPTED": "results",
    "EXIT_OK": "results",
    "EXIT_SOME_FAILED": "results",
    "EXIT_USAGE": "results",
    "Batch": "results",
    "Result": "results",
    "grade_all": "batch",
    "grade_one": "grader",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"htcourse.grading.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'htcourse.grading' has no attribute {name!r}")


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

"""Command line for grading: ``python -m htcourse.grading COMMAND``.

Exit status of ``grade``: 0 every submission was graded (some may be
flagged for a look by hand); 1 at least one submission could not be graded
(every other one was graded and exported; the summary names each failure
and its reason); 2 nothing was graded because of a usage problem (unknown
assignment, assignment not generated, no course folder); 130 interrupted
(run the same command again: finished submissions are kept and skipped).
"""

from __future__ import annotations

import argparse
import sys

from htcourse.grading import prepare
from htcourse.grading.batch import default_jobs, grade_all, regenerate_feedback
from htcourse.grading.course import Course, CourseError
from htcourse.grading.export import export_grades
from htcourse.grading.results import EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m htcourse.grading", description="Generate, validate and grade the course's nbgrader assignments."
    )
    p.add_argument(
        "--course",
        default=None,
        help="the nbgrader course folder (default: assignments/ in the repository, or $HTCOURSE_COURSE_DIR)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="nbgrader generate_assignment for every assignment (or the ones named)")
    g.add_argument("assignments", nargs="*")
    v = sub.add_parser("validate", help="nbgrader validate on the source notebooks, plus the course's authoring checks")
    v.add_argument("assignments", nargs="*")
    v.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="check this many notebooks at once, each in a process of its own (default: one more than the CPUs)",
    )
    gr = sub.add_parser("grade", help="autograde every submission, write feedback, export grades to CSV")
    gr.add_argument("assignment")
    gr.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")
    gr.add_argument(
        "--force", action="store_true", help="grade again even submissions that are unchanged since the last run"
    )
    gr.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="grade this many submissions at once in worker processes (default: one more than the CPUs)",
    )
    gr.add_argument(
        "--unsandboxed",
        action="store_true",
        help="run student code WITHOUT the bubblewrap sandbox (only for submissions you trust)",
    )
    f = sub.add_parser("feedback", help="write the feedback again (after hand grading) and re-export the grades")
    f.add_argument("assignment")
    e = sub.add_parser("export", help="export the grades of one assignment to grades/<assignment>.csv")
    e.add_argument("assignment")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {}
    if getattr(args, "unsandboxed", False):
        overrides["BoundedExecute"] = {"sandbox": False}
        print(
            "warning: grading WITHOUT the sandbox: student code runs as you, beside the solutions and the gradebook.",
            file=sys.stderr,
        )
    if getattr(args, "jobs", 1) < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        course = Course(args.course, overrides)
        if args.command == "generate":
            return prepare.generate(course, args.assignments or None)
        if args.command == "validate":
            return prepare.validate(course, args.assignments or None, jobs=args.jobs)
        if args.command == "grade":
            return grade_all(args.assignment, course, students=args.student, force=args.force, jobs=args.jobs).exit_code
        if args.command == "feedback":
            return regenerate_feedback(args.assignment, course)
        if args.command == "export":
            course.check_assignment(args.assignment)
            print(f"Grades: {export_grades(course, args.assignment)}")
            return 0
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

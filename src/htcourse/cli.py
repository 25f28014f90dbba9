"""The ``htcourse`` command: what an instructor does with the course, one subcommand each.

Each subcommand is a thin wrapper over the module that does the work (named
in its ``--help``); the Makefile's targets call these. Run
``htcourse COMMAND --help`` for a command's options and examples.

Exit status (stable; scripts may rely on it):

- 0: done (``grade``: every submission was graded, some may be flagged for a look);
- 1: done in part: some submissions could not be graded, some students could
  not be matched, or the zip held files that were not collected (each is
  listed; everything else was done);
- 2: nothing was done because of a usage problem (unknown assignment, a missing
  file, a command run in the wrong order); the message says what to run first;
- 130: interrupted (run the same command again: finished work is kept).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from htcourse.paths import REPO_ROOT

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SITE = REPO_ROOT / "_build" / "html"


class UsageError(Exception):
    """A usage problem: the message names the fix (exit 2)."""


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _course(args):
    from htcourse.grading.course import Course

    return Course(args.course)


# --- site ------------------------------------------------------------------------


def cmd_build(args) -> int:
    root = Path(args.path).resolve()
    if not (root / "_config.yml").is_file():
        raise UsageError(f"{root} has no _config.yml: run htcourse build from the course repository (or pass --path)")
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", "-W", "-n", "--keep-going", str(root)]
    code = subprocess.call(command, cwd=root)
    if code == 0:
        print(f"Site built: {root / '_build' / 'html' / 'index.html'}")
    return EXIT_OK if code == 0 else EXIT_PARTIAL


def cmd_serve(args) -> int:
    site = Path(args.site)
    if not (site / "index.html").is_file():
        raise UsageError(f"no built site in {site}: run `htcourse build` first")
    import functools
    import http.server

    # In this process (not a child), so that stopping the command stops the server.
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as server:
        print(f"Serving {site} at http://{args.bind}:{args.port}/ (Ctrl-C to stop)", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever()
    return EXIT_OK


def cmd_reader(args) -> int:
    from htcourse.sitebuild import reader

    if not (Path(args.site) / "index.html").is_file():
        raise UsageError(f"no built site in {args.site}: run `htcourse build` first")
    return reader.main(["--site", str(args.site)] + (["--out", str(args.out)] if args.out else []))


def cmd_zip(args) -> int:
    from htcourse.sitebuild import reader

    if not (Path(args.site) / "index.html").is_file():
        raise UsageError(f"no built site in {args.site}: run `htcourse build` first")
    out = reader.zip_site(Path(args.site), Path(args.out) if args.out else reader.ZIP_PATH)
    print(f"Offline site: {out} ({out.stat().st_size / 1_000_000:.1f} MB)")
    return EXIT_OK


def cmd_datasets(args) -> int:
    from htcourse.datasets.__main__ import main

    if args.list:
        return main(["list"])
    argv = ["generate"] + (["--seed", str(args.seed)] if args.seed is not None else [])
    argv += (["--out", str(args.out)] if args.out else []) + (["--only", *args.only] if args.only else [])
    return main(argv)


# --- assignments -----------------------------------------------------------------


def cmd_assignments(args) -> int:
    from htcourse.grading import late, prepare

    course = _course(args)
    code = prepare.generate(course, args.assignments or None)
    if code == 0:
        for assignment in args.assignments or course.assignments():
            late.apply(course, assignment, students=[])
        changed = late.add_banners(course, args.assignments or None)
        dated = sorted({p.parent.name for p in changed if late.banner(course, p.parent.name)})
        if dated:
            print(f"Due date and late policy shown at the top of: {', '.join(dated)}")
    return code


def cmd_validate(args) -> int:
    from htcourse.grading import prepare
    from htcourse.grading.batch import default_jobs

    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return prepare.validate(_course(args), args.assignments or None, jobs=jobs)


def cmd_collect(args) -> int:
    from htcourse.grading import lms

    course = _course(args)
    report = lms.collect(course, args.assignment, args.lms, Path(args.zip), Path(args.roster))
    print(report.text())
    print(f"Next: htcourse grade {args.assignment}")
    return EXIT_PARTIAL if report.problems else EXIT_OK


def _lms_feedback(course, assignment: str) -> None:
    from htcourse.grading import lms

    written = lms.write_feedback_zip(course, assignment)
    if written:
        path, missing = written
        print(f"Feedback to upload to the LMS: {path}")
        if missing:
            print(f"no feedback (not graded) for: {', '.join(missing)}")


def cmd_grade(args) -> int:
    from htcourse.grading.batch import grade_all  # applies the late policy first (batch.apply_late_policy)

    overrides = {}
    if args.unsandboxed:
        overrides["BoundedExecute"] = {"sandbox": False}
        print(
            "warning: grading WITHOUT the sandbox: student code runs as you, beside the solutions and the gradebook.",
            file=sys.stderr,
        )
    from htcourse.grading.batch import default_jobs

    args.jobs = default_jobs() if args.jobs is None else args.jobs
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from htcourse.grading.course import Course

    course = Course(args.course, overrides)
    code = grade_all(args.assignment, course, students=args.student, force=args.force, jobs=args.jobs).exit_code
    _lms_feedback(course, args.assignment)
    return code


def cmd_feedback(args) -> int:
    from htcourse.grading.batch import regenerate_feedback

    course = _course(args)
    course.check_assignment(args.assignment)
    code = regenerate_feedback(args.assignment, course)
    _lms_feedback(course, args.assignment)
    return code


def cmd_export(args) -> int:
    course = _course(args)
    out = Path(args.out) if args.out else course.root / "grades"
    if args.to == "csv":
        from htcourse.grading.export import export_grades

        if not args.assignment:
            raise UsageError("htcourse export csv needs --assignment NAME (one file per assignment)")
        for name in args.assignment:
            course.check_assignment(name)
            print(f"Grades: {export_grades(course, name)}")
        return EXIT_OK
    if args.to == "canvas":
        from htcourse.grading import canvas

        if not args.roster:
            raise UsageError(
                "htcourse export canvas needs --roster: Canvas > Grades > Export > Export Entire Gradebook"
            )
        with course.gradebook() as gb:
            result = canvas.write_exports(
                gb, Path(args.roster), out / "canvas.csv", out / "grades.csv", args.assignment, args.allow_unmatched
            )
        print(result.report())
        print(f"Canvas import: {out / 'canvas.csv'}\nPlain CSV: {out / 'grades.csv'}")
        return EXIT_PARTIAL if result.gradebook_only else EXIT_OK
    from htcourse.grading import moodle

    with course.gradebook() as gb:
        result = moodle.write_moodle_csv(gb, out / "moodle.csv", args.assignment, args.allow_unmatched)
    print(result.report())
    return EXIT_PARTIAL if result.unmatched else EXIT_OK


def cmd_classroom(args) -> int:
    command = [sys.executable, str(REPO_ROOT / "classroom" / "manage.py")]
    command += (["--state", str(args.state)] if args.state else []) + [args.action]
    if args.action == "up":
        command += ["--port", str(args.port), "--students", str(args.students)]
        command += ["--exchange", str(args.exchange)] if args.exchange else []
    if args.action == "down" and args.keep_env:
        command.append("--keep-env")
    return subprocess.call(command)


# --- the parser: one table, one row per subcommand ---------------------------------------


COURSE_HELP = "the nbgrader course folder (default: assignments/ in the repository, or $HTCOURSE_COURSE_DIR)"
SITE_HELP = "the built site (default _build/html)"
READER_OUT_HELP = "where to write the PDF (default: in the site, linked from its landing page)"


def arg(*flags: str, **options) -> tuple[tuple[str, ...], dict]:
    """One ``add_argument`` call of a subcommand, as data."""
    return flags, options


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, examples, what it wraps, the function it runs and its options."""

    name: str
    help: str
    examples: tuple[str, ...]
    wraps: str
    func: Callable[[argparse.Namespace], int]
    arguments: tuple[tuple[tuple[str, ...], dict], ...] = ()
    course: bool = False  # takes --course: a grading command (nbgrader is imported only for these)


COMMANDS: tuple[Command, ...] = (
    Command(
        "build",
        "build the site with Jupyter Book into _build/html",
        ("htcourse build",),
        "jupyter-book build -W -n",
        cmd_build,
        (arg("--path", default=str(REPO_ROOT), help="the course repository (default: this one)"),),
    ),
    Command(
        "serve",
        "serve the built site on this computer",
        ("htcourse serve", "htcourse serve --port 8001"),
        "python -m http.server",
        cmd_serve,
        (
            arg("--port", type=int, default=8000, help="the port (default 8000)"),
            arg("--bind", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this computer only)"),
            arg("--site", default=str(SITE), help=SITE_HELP),
        ),
    ),
    Command(
        "reader",
        "write the course reader: every page in one PDF, linked from the site",
        ("htcourse reader",),
        "htcourse.sitebuild.reader; needs chromium",
        cmd_reader,
        (
            arg("--site", default=str(SITE), help=SITE_HELP),
            arg("--out", default=None, help=READER_OUT_HELP),
        ),
    ),
    Command(
        "zip",
        "pack the built site into one zip to read offline",
        ("htcourse zip",),
        "htcourse.sitebuild.reader.zip_site",
        cmd_zip,
        (
            arg("--site", default=str(SITE), help=SITE_HELP),
            arg("--out", default=None, help="the zip to write (default _build/course-site.zip)"),
        ),
    ),
    Command(
        "datasets",
        "regenerate the course's synthetic datasets (the default seed reproduces the committed files)",
        ("htcourse datasets --list", "htcourse datasets", "htcourse datasets --seed 2027 --out /tmp/variant"),
        "python -m htcourse.datasets",
        cmd_datasets,
        (
            arg("--list", action="store_true", help="list the datasets and their files, and write nothing"),
            arg("--seed", type=int, default=None, help="random seed for a new variant (default: the course's)"),
            arg("--out", default=None, help="output folder (default: datasets/)"),
            arg("--only", nargs="+", metavar="NAME", help="only these datasets"),
        ),
    ),
    Command(
        "assignments",
        "generate the student versions (nbgrader generate_assignment), with the due date on top",
        ("htcourse assignments", "htcourse assignments ps4-dirty-data"),
        "htcourse.grading.prepare.generate",
        cmd_assignments,
        (arg("assignments", nargs="*", help="only these (default: all)"),),
        course=True,
    ),
    Command(
        "validate",
        "check every source notebook: solutions pass their tests, points and authoring rules",
        ("htcourse validate", "htcourse validate ps4-dirty-data"),
        "htcourse.grading.prepare.validate",
        cmd_validate,
        (
            arg("assignments", nargs="*", help="only these (default: all)"),
            arg(
                "--jobs",
                type=int,
                default=None,
                help="notebooks checked at once, each in a process of its own (default: one more than the CPUs)",
            ),
        ),
        course=True,
    ),
    Command(
        "collect",
        "take the submissions zip downloaded from Canvas or Moodle into the course",
        (
            "htcourse collect ps4-dirty-data --from canvas submissions.zip --roster canvas-gradebook.csv",
            "htcourse collect ps4-dirty-data --from moodle submissions.zip --roster grading-worksheet.csv",
        ),
        "htcourse.grading.lms.collect",
        cmd_collect,
        (
            arg("assignment"),
            arg("--from", dest="lms", required=True, choices=["canvas", "moodle"], help="the LMS the zip comes from"),
            arg("zip", help="the submissions zip, as downloaded"),
            arg(
                "--roster",
                required=True,
                help="Canvas: the gradebook export (Grades > Export); Moodle: the assignment's grading worksheet",
            ),
        ),
        course=True,
    ),
    Command(
        "grade",
        "autograde every submission in the sandbox, apply the late policy, write feedback and grades",
        ("htcourse grade ps4-dirty-data", "htcourse grade ps4-dirty-data --student ana --force"),
        "htcourse.grading.batch.grade_all",
        cmd_grade,
        (
            arg("assignment"),
            arg("--student", action="append", default=None, help="grade only this student (repeatable)"),
            arg("--force", action="store_true", help="grade again even submissions unchanged since the last run"),
            arg("--jobs", type=int, default=None, help="submissions graded at once (default: one more than the CPUs)"),
            arg(
                "--unsandboxed",
                action="store_true",
                help="run student code WITHOUT the sandbox (only for submissions you trust)",
            ),
        ),
        course=True,
    ),
    Command(
        "feedback",
        "write the feedback again after hand grading (and the LMS feedback zip)",
        ("htcourse feedback ps4-dirty-data",),
        "htcourse.grading.batch.regenerate_feedback",
        cmd_feedback,
        (arg("assignment"),),
        course=True,
    ),
    Command(
        "export",
        "export grades (manual grades and late penalties included): canvas, moodle or csv",
        (
            "htcourse export canvas --roster canvas-gradebook.csv",
            "htcourse export moodle",
            "htcourse export csv --assignment ps4-dirty-data",
        ),
        "htcourse.grading.canvas, .moodle, .export",
        cmd_export,
        (
            arg(
                "to",
                choices=["canvas", "moodle", "csv"],
                help="canvas: gradebook import; moodle: grade import CSV; csv: plain",
            ),
            arg("--assignment", action="append", default=None, help="only this assignment (repeatable)"),
            arg("--roster", default=None, help="canvas only: Canvas's gradebook export, to match students"),
            arg("--out", default=None, help="folder to write into (default: COURSE/grades/)"),
            arg(
                "--allow-unmatched",
                action="store_true",
                help="export even if some students cannot be matched (they are listed)",
            ),
        ),
        course=True,
    ),
    Command(
        "classroom",
        "a local JupyterHub for a class on this machine (needs root): up, down or status",
        (
            "sudo htcourse classroom up --students 3",
            "htcourse classroom status",
            "sudo htcourse classroom down --keep-env",
        ),
        "classroom/manage.py",
        cmd_classroom,
        (
            arg("action", choices=["up", "down", "status"]),
            arg("--port", type=int, default=8765, help="up: the hub's port (default 8765)"),
            arg("--students", type=int, default=3, help="up: how many student accounts (default 3)"),
            arg("--exchange", default=None, help="up: use this existing exchange folder"),
            arg("--keep-env", action="store_true", help="down: keep the single-user environment (faster next time)"),
            arg(
                "--state",
                default=None,
                help="where the classroom lives (default: classroom/manage.py's, /srv/htcourse-classroom)",
            ),
        ),
    ),
)

GRADING_COMMANDS = {c.name for c in COMMANDS if c.course}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="htcourse",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The course's command: build the site, release and grade the assignments, "
        "take submissions from Canvas or Moodle, and send grades back.",
        epilog=textwrap.dedent(__doc__.split("\n\n", 2)[2])
        + "\n"
        + _examples(
            "htcourse build",
            "htcourse assignments",
            "htcourse collect ps4-dirty-data --from canvas submissions.zip --roster gradebook.csv",
            "htcourse grade ps4-dirty-data",
            "htcourse export moodle",
        ),
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sp = sub.add_parser(
            command.name,
            help=command.help,
            description=f"{command.help[0].upper()}{command.help[1:]}. (Wraps {command.wraps}.)",
            epilog=_examples(*command.examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for flags, options in command.arguments:
            sp.add_argument(*flags, **options)
        if command.course:
            sp.add_argument("--course", default=None, help=COURSE_HELP)
        sp.set_defaults(func=command.func)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    usage, partial = (UsageError,), ()
    if args.command in GRADING_COMMANDS:  # nbgrader is imported only for the commands that use it
        from htcourse.grading.canvas import RosterError
        from htcourse.grading.course import CourseError
        from htcourse.grading.late import LateError
        from htcourse.grading.lms import CollectError
        from htcourse.grading.moodle import MoodleExportError

        usage, partial = (UsageError, CourseError, CollectError, LateError), (RosterError, MoodleExportError)
    try:
        return args.func(args)
    except usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except partial as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    except KeyboardInterrupt:
        print("interrupted: run the same command again; finished work is kept", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""Grade every submission of an assignment, one at a time or in worker processes.

No submission can stop the class.

:func:`grade_all` calls :func:`htcourse.grading.grader.grade_one` for each
submission (in ``jobs`` worker processes), prints a line per submission
(:mod:`.report`), exports the grades (:mod:`.export`) and prints a summary.
:func:`regenerate_feedback` writes the feedback again after hand grading.

The gradebook is SQLite with a busy timeout, so workers write in turn and no
grade is lost; scores do not depend on ``jobs``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from htcourse.grading.course import Course, CourseError
from htcourse.grading.export import export_grades
from htcourse.grading.grader import STAGING_PREFIX, grade_one
from htcourse.grading.markers import read_marker
from htcourse.grading.nbgrader_steps import GradingError, write_feedback
from htcourse.grading.report import progress_line, say, summary_lines
from htcourse.grading.results import EXIT_OK, EXIT_SOME_FAILED, Batch, Result


def default_jobs() -> int:
    """Workers for a class: one more than the CPUs.

    Each worker spends part of its time waiting for its kernel, its fork
    server and its checker, so one extra worker keeps the CPUs busy
    (``make bench``, 60 submissions on 2 CPUs: 28.8 s with 2 workers, 26.0 s
    with 3, 26.6 s with 4).
    """
    return (os.cpu_count() or 1) + 1


def _append_log(course: Course, results: list[Result]) -> None:
    try:
        with open(course.root / ".nbgrader.log", "a", encoding="utf-8") as fh:
            for r in results:
                fh.write(
                    f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {r.assignment} {r.student_id}: {r.status} {r.reason}\n"
                )
                if r.log:
                    fh.write(r.log.rstrip() + "\n")
    except OSError:
        pass


def _remove_stale_staging(max_age_hours: float = 12, tmpdir: Path | None = None) -> list[Path]:
    """Folders left behind by a killed run (a finished run removes its own); returns them.

    A staging folder, a kernel's working copy and run folder, and a sandbox's
    cgroup carry the id of the grading process that made them: those whose
    process has ended are removed at once. Folders of the older naming
    (no process id) are removed after ``max_age_hours``.
    """
    from htcourse.grading.sandbox import workdir
    from htcourse.grading.sandbox.processes import owner_gone

    cutoff = time.time() - max_age_hours * 3600
    removed = []
    tmpdir = Path(tmpdir or tempfile.gettempdir())
    for path in tmpdir.glob(STAGING_PREFIX + "*"):
        try:
            named = path.name[len(STAGING_PREFIX) :].split("-", 1)[0].isdigit()
            if path.is_dir() and (owner_gone(path.name, STAGING_PREFIX) if named else path.stat().st_mtime < cutoff):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        except OSError:
            pass
    return removed + workdir.remove_stale(tmpdir)


def apply_late_policy(course: Course, assignment: str, echo: Callable[[str], None] = say) -> None:
    """Write the due date and extensions into the gradebook (:func:`htcourse.grading.late.apply`).

    Every way of grading a class goes through :func:`grade_all`, which calls
    this first, so nbgrader's ``AssignLatePenalties`` always sees the course's
    late policy. A bad policy or extensions file is a :class:`CourseError`.
    """
    from htcourse.grading import late

    try:
        for line in late.apply(course, assignment):
            echo(line)
    except late.LateError as exc:
        raise CourseError(str(exc)) from None


def register_students(course: Course, students: list[str]) -> None:
    """Put every student of a batch in the gradebook before any worker grades.

    nbgrader's autograde adds a student it does not find (find, then add). Two
    grading runs on one course at once (two assignments in two terminals) can
    both miss a new student and both add them; the second failed the whole
    submission with a UNIQUE constraint. Here a student that another run added
    in between counts as added.
    """
    from nbgrader.api import InvalidEntry, MissingEntry

    with course.gradebook() as gb:
        for student_id in students:
            try:
                gb.find_student(student_id)
            except MissingEntry:
                try:
                    gb.add_student(student_id)
                except InvalidEntry:  # added meanwhile by another run (nbgrader has rolled back)
                    gb.find_student(student_id)


def grade_all(
    assignment: str,
    course: Course | None = None,
    *,
    students: list[str] | None = None,
    force: bool = False,
    echo: Callable[[str], None] = say,
    jobs: int = 1,
) -> Batch:
    """Grade every submission of ``assignment`` (or only ``students``), export, and summarise.

    With ``jobs`` > 1 the submissions are graded in that many worker
    processes, each running :func:`grade_one` (nbgrader's own autograde and
    feedback) for one student at a time; the gradebook is SQLite with a busy
    timeout, so workers write in turn and no grade is lost. Scores do not
    depend on ``jobs``.

    The course's due dates and extensions go into the gradebook first
    (:func:`apply_late_policy`). Raises :class:`CourseError` if the assignment
    cannot be graded at all, including when the sandbox is on and bubblewrap
    is missing, a dataset its notebooks read is missing (:func:`check_datasets`),
    or the late policy or extensions file is wrong.
    """
    course = course or Course()
    check_datasets(course, assignment)  # first: without them nothing else matters
    course.check_assignment(assignment)
    check_sandbox(course)
    apply_late_policy(course, assignment, echo)
    batch = Batch(assignment)
    todo = course.submissions(assignment)
    if students:
        missing = [s for s in students if s not in todo]
        if missing:
            raise CourseError(f"no submission of {assignment} from: {', '.join(missing)}")
        todo = [s for s in todo if s in students]
    if not todo:
        echo(
            f"No submissions of {assignment} in {course.submitted_dir}/<student>/{assignment}/: "
            f"collect them first (nbgrader collect {assignment})."
        )
        return batch
    _remove_stale_staging()
    register_students(course, todo)
    jobs = max(1, min(jobs, len(todo)))
    echo(f"Grading {len(todo)} submission(s) of {assignment}" + (f" with {jobs} workers" if jobs > 1 else ""))
    try:
        if jobs == 1:
            for i, student_id in enumerate(todo, start=1):
                result = grade_one(student_id, assignment, course, force=force)
                batch.results.append(result)
                echo(progress_line(i, len(todo), result))
        else:
            _grade_in_parallel(todo, assignment, course, force, jobs, batch, echo)
    except KeyboardInterrupt:
        batch.interrupted = True
    batch.results.sort(key=lambda r: todo.index(r.student_id))
    _append_log(course, batch.results)
    if not batch.interrupted:
        batch.csv_path = export_grades(course, assignment, batch.results)
    for line in summary_lines(batch, course):
        echo(line)
    return batch


def check_sandbox(course: Course) -> None:
    """Refuse to grade when the sandbox is on but cannot run, and say why."""
    if not course.config.BoundedExecute.get("sandbox", True):
        return
    from htcourse.grading.sandbox.bwrap import SandboxUnavailable, find_tools

    try:
        find_tools()
    except SandboxUnavailable as exc:
        raise CourseError(str(exc)) from None


#: Course helpers that read a dataset themselves whenever a notebook uses them, and that dataset:
#: ``imagematch`` checks every image it makes or loads against its licence manifest (``imagematch.MANIFEST``,
#: which a test compares; imagematch itself is not imported here, as it loads Pillow and imagehash).
HELPERS_READ = {"imagematch": "images_licences"}

#: In a notebook's code, a dataset read by name (``data.load("name"`` or ``data.path("name"``; group 1),
#: or a use of a helper of :data:`HELPERS_READ` (``imagematch.…``; group 2).
_READS_DATASET = re.compile(r"""\bdata\.(?:load|path)\(\s*["']([\w.-]+)["']""" + rf"|\b({'|'.join(HELPERS_READ)})\.\w")


def datasets_read(course: Course, assignment: str) -> list[str]:
    """The dataset files the assignment's source notebooks read: by name (``data.load("x")``), or through a
    course helper that reads one itself (:data:`HELPERS_READ`); once each, in the order first read."""
    import nbformat

    names = []
    for notebook in course.notebooks(assignment):
        nb = nbformat.read(course.source_notebook(assignment, notebook), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                for match in _READS_DATASET.finditer(cell.source):
                    names.append(match.group(1) or HELPERS_READ[match.group(2)])
    return list(dict.fromkeys(n if n.endswith(".csv") else f"{n}.csv" for n in names))


def check_datasets(course: Course, assignment: str) -> None:
    """Refuse to grade when a dataset the assignment's notebooks read (:func:`datasets_read`) is missing, and say
    how to get it.

    Without its datasets every submission would run to its end and then fail in the
    checker's setup: a whole class would take minutes to say so.
    """
    from htcourse.paths import datasets_dir

    folder = datasets_dir()
    missing = [name for name in datasets_read(course, assignment) if not (folder / name).is_file()]
    if missing:
        from htcourse import data  # its message says how to get the file (pandas: imported only here)

        try:
            data.path(missing[0])
            reason = f"{folder / missing[0]} is missing"  # it appeared meanwhile
        except data.DatasetMissingError as exc:
            reason = str(exc)
        more = f" ({len(missing) - 1} more of the datasets it reads are missing too)" if len(missing) > 1 else ""
        raise CourseError(f"cannot grade {assignment}: {reason}{more}")


# --- worker processes ------------------------------------------------------------

_worker_course: Course | None = None


def _worker_init(course_root: str, overrides: dict) -> None:
    import signal

    from htcourse.grading.sandbox.processes import _die_with_parent

    global _worker_course
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    try:  # Linux: a worker (and its sandboxed kernel) dies with the grader, even on SIGKILL
        _die_with_parent()
    except (OSError, AttributeError):
        pass
    _worker_course = Course(course_root, overrides)


def _worker_grade(student_id: str, assignment: str, force: bool) -> Result:
    return grade_one(student_id, assignment, _worker_course, force=force)


def _grade_in_parallel(todo, assignment, course, force, jobs, batch, echo) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork: each worker is the grader's own child, so it can die with it.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_worker_init, initargs=(str(course.root), course.overrides)
    ) as pool:
        futures = {pool.submit(_worker_grade, s, assignment, force): s for s in todo}
        try:
            for i, future in enumerate(as_completed(futures), start=1):
                student_id = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died: only this submission fails
                    result = Result(
                        student_id,
                        assignment,
                        status="failed",
                        reason=f"the grading worker stopped: {type(exc).__name__}: {exc}",
                    )
                batch.results.append(result)
                echo(progress_line(i, len(todo), result))
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise


def regenerate_feedback(assignment: str, course: Course | None = None, echo: Callable[[str], None] = say) -> int:
    """Write the feedback of every graded submission again (after hand grading) and re-export the grades."""
    course = course or Course()
    course.check_assignment(assignment)
    failures = 0
    for sid in course.submissions(assignment):
        marker = read_marker(course, sid, assignment)
        if marker is None:
            echo(f"  {sid}: not graded yet (run make grade first); skipped")
            continue
        try:
            write_feedback(course, sid, assignment, marker.get("submitted_as"))
            echo(f"  {sid}: feedback written")
        except GradingError as exc:
            failures += 1
            echo(f"  {sid}: FAILED {exc}")
    path = export_grades(course, assignment)
    echo(f"Grades: {path}")
    return EXIT_SOME_FAILED if failures else EXIT_OK

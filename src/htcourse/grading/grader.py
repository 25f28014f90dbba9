"""Grade every submission of an assignment, one at a time, so that no submission can stop the class.

:func:`grade_one` does all the work for one submission and touches nothing
that belongs to another: checks (:mod:`.preflight`), rebuilding the notebook
around the assignment's own cells (:mod:`.restore`) in a private staging
folder, ``nbgrader autograde`` and ``nbgrader generate_feedback`` run
in-process for that student only, and a completion marker. :func:`grade_all`
calls it for each submission, prints a line per submission, exports the
grades and prints a summary.

Safety of the gradebook: SQLite commits each nbgrader write as one
transaction, and the grader opens it with a busy timeout so that several
processes may write in turn. A submission counts as graded only when its
marker file is written, after its grades and feedback; a run that is
interrupted (even with SIGKILL) leaves earlier submissions graded and
complete, and the next run grades only what is missing. Hand grades entered
in the formgrader survive re-grading (nbgrader keeps manual scores).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from htcourse.grading import preflight
from htcourse.grading.course import Course, CourseError
from htcourse.grading.outputs import was_truncated
from htcourse.grading.restore import load_template, restore, write_notebook

#: Bump when a change to the grader should make every submission be graded again.
GRADER_VERSION = "1"
MARKER = ".htcourse-graded.json"
GRADES_FOLDER = "grades"
STAGING_PREFIX = "htcourse-grading-"

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_log = logging.getLogger("htcourse.grading.nbgrader")
_log.propagate = False
_log.setLevel(logging.INFO)


class GradingError(Exception):
    """One submission could not be graded; the message is the reason."""


@dataclass
class Result:
    student_id: str
    assignment: str
    status: str = "failed"  # "graded", "unchanged" (graded by an earlier run) or "failed"
    reason: str = ""
    flags: list[str] = field(default_factory=list)
    auto_score: float | None = None
    max_auto_score: float | None = None
    hand_score: float | None = None
    max_hand_score: float | None = None
    hand_grading_needed: int = 0
    submitted_as: dict[str, str] = field(default_factory=dict)  # see preflight.Checked
    seconds: float = 0.0
    checker_seconds: float = 0.0  # of which in the trusted checker (hidden tests; see answers.py)
    log: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("graded", "unchanged")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        return d


# --- helpers ----------------------------------------------------------------

def _fingerprint(course: Course, student_id: str, assignment: str, template_digest: str) -> str:
    h = hashlib.sha256()
    h.update(f"grader {GRADER_VERSION}\ntemplate {template_digest}\n".encode())
    folder = course.submission_dir(student_id, assignment)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _template_digest(templates) -> str:
    h = hashlib.sha256()
    for t in templates:
        for c in t.cells:
            h.update(json.dumps([c.grade_id, c.cell_type, c.source, c.points, c.solution, c.grade]).encode())
    return h.hexdigest()


def _marker_path(course: Course, student_id: str, assignment: str) -> Path:
    return course.autograded_submission_dir(student_id, assignment) / MARKER


def read_marker(course: Course, student_id: str, assignment: str) -> dict | None:
    try:
        return json.loads(_marker_path(course, student_id, assignment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_marker(course: Course, result: Result, fingerprint: str) -> None:
    path = _marker_path(course, result.student_id, result.assignment)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "flags": result.flags,
                               "submitted_as": result.submitted_as,
                               "checker_seconds": round(result.checker_seconds, 3),
                               "graded_at": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _reason_from_log(text: str, default: str) -> str:
    """The most useful line of nbgrader's log of a failed step."""
    if "kernel became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted (a cell may ignore interrupts or use too much memory)"
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the Python kernel died while running the notebook (a cell may have used too much memory or exited Python)"
    found = []
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt)): (.+)$", line.strip())
        if m and not m.group(1).endswith(("NbGraderException", "GradingError")):
            found.append(f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(3)}")
    if found:
        return f"nbgrader could not grade it ({found[-1]})"
    errors = [line[len("[ERROR] "):] for line in text.splitlines() if line.startswith("[ERROR] ")]
    return errors[0] if errors else default


def _run_nbgrader(converter) -> None:
    """Run an nbgrader converter, turning its failure into :class:`GradingError`."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    converter.log.addHandler(handler)
    try:
        converter.start()
    except KeyboardInterrupt:
        raise
    except Exception:
        text = buffer.getvalue() + "\n" + traceback.format_exc()
        raise GradingError(_reason_from_log(text, "nbgrader failed")) from None
    finally:
        converter.log.removeHandler(handler)
        _run_nbgrader.last_log = buffer.getvalue() + (traceback.format_exc() if sys.exc_info()[0] else "")


_run_nbgrader.last_log = ""


def write_feedback(course: Course, student_id: str, assignment: str, submitted_as: dict[str, str] | None = None) -> None:
    """``nbgrader generate_feedback`` for one student (the course's config strips hidden tests).

    ``submitted_as`` maps a notebook's name to the name the student submitted
    it under (``ps4-dirty-data (1)``, say): the feedback page is then written
    under that name too, because ``nbgrader fetch_feedback`` looks for the
    feedback of the notebooks as the student named them.
    """
    from nbgrader.converters import GenerateFeedback

    feedback = GenerateFeedback(
        coursedir=course.coursedir(student_id=student_id, assignment_id=assignment, notebook_id="*"),
        config=course.config, log=_log,
    )
    feedback.force = True
    _run_nbgrader(feedback)
    folder = course.feedback_submission_dir(student_id, assignment)
    for name, stem in (submitted_as or {}).items():
        page = folder / f"{name}.html"
        if page.is_file() and stem != name:
            shutil.copy2(page, folder / f"{stem}.html")


def _cell_name(cell, index: int) -> str:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return gid or f"cell {index + 1} (one you added)"


def _flags_from_autograded(nb, timeout: int) -> list[str]:
    flags = []
    skipped = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        enames = {o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"}
        if "CellTimeoutError" in enames:
            flags.append(f"{_cell_name(cell, i)} ran longer than {timeout} s and was stopped")
        if "CellNotRun" in enames:
            skipped += 1
        if was_truncated(cell):
            flags.append(f"the output of {_cell_name(cell, i)} was cut (it printed too much)")
    if skipped:
        flags.append(f"{skipped} later cell(s) were not run because earlier cells ran past the time limits")
    return flags


def _scores(course: Course, result: Result) -> None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            sub = gb.find_submission(result.assignment, result.student_id)
        except MissingEntry:
            raise GradingError("the gradebook has no record of this submission after grading") from None
        result.auto_score = float(sub.code_score)
        result.max_auto_score = float(sub.max_code_score)
        result.hand_score = float(sub.written_score)
        result.max_hand_score = float(sub.max_written_score)
        result.hand_grading_needed = sum(
            1 for nb in sub.notebooks for grade in nb.grades if grade.needs_manual_grade
        )


# --- one submission ------------------------------------------------------------

def grade_one(student_id: str, assignment: str, course: Course | None = None, *, force: bool = False) -> Result:
    """Autograde one submission and write its feedback; never raises for a bad submission.

    Returns a :class:`Result` whose ``status`` is ``"graded"``, ``"unchanged"``
    (already graded from the same files; pass ``force=True`` to grade again)
    or ``"failed"`` with a ``reason``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*not in session, add operation along")
        return _grade_one(student_id, assignment, course or Course(), force)


def _grade_one(student_id: str, assignment: str, course: Course, force: bool) -> Result:
    result = Result(student_id, assignment)
    started = time.monotonic()
    staging = None
    try:
        notebooks = course.notebooks(assignment)
        templates = [load_template(course, assignment, nb) for nb in notebooks]
        fingerprint = _fingerprint(course, student_id, assignment, _template_digest(templates))
        marker = read_marker(course, student_id, assignment)
        if not force and marker and marker.get("fingerprint") == fingerprint:
            feedback = course.feedback_submission_dir(student_id, assignment)
            if all((feedback / f"{nb}.html").is_file() for nb in notebooks):
                try:
                    _scores(course, result)
                except GradingError:
                    pass
                else:
                    result.status = "unchanged"
                    result.flags = list(marker.get("flags", []))
                    return result

        # 1. checks, 2. rebuild the notebooks in a private staging folder
        checked = preflight.check_submission(course.submission_dir(student_id, assignment), notebooks, course.ignore)
        result.flags += checked.flags
        result.submitted_as = dict(checked.submitted_as)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
        staged = staging / student_id / assignment
        staged.mkdir(parents=True)
        for template in templates:
            nb, report = restore(checked.notebooks[template.notebook], template)
            result.flags += report.flags()
            write_notebook(nb, staged / f"{template.notebook}.ipynb")
        for rel in checked.other_files:
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(checked.folder / rel, staged / rel)
        if checked.timestamp_ok and (checked.folder / "timestamp.txt").is_file():
            shutil.copy2(checked.folder / "timestamp.txt", staged / "timestamp.txt")

        # 3. autograde (nbgrader), this student only
        from nbgrader.converters import Autograde

        autograde = Autograde(
            coursedir=course.coursedir(submitted_directory=str(staging), student_id=student_id,
                                       assignment_id=assignment, notebook_id="*"),
            config=course.config, log=_log,
        )
        autograde.force = True
        autograde.create_student = True
        from htcourse.grading.answers import CHECK_SECONDS

        checks_before = len(CHECK_SECONDS)
        try:
            _run_nbgrader(autograde)
        finally:
            result.log += _run_nbgrader.last_log
            result.checker_seconds = sum(CHECK_SECONDS[checks_before:])
        graded_dir = course.autograded_submission_dir(student_id, assignment)
        timeout = int(course.config.Execute.get("timeout", 30))
        for nb_name in notebooks:
            path = graded_dir / f"{nb_name}.ipynb"
            if not path.is_file():
                raise GradingError(f"nbgrader wrote no graded notebook {path.name}")
            result.flags += _flags_from_autograded(nbformat.read(str(path), as_version=4), timeout)

        # 4. feedback, with hidden tests removed (see feedback.py)
        try:
            write_feedback(course, student_id, assignment, result.submitted_as)
        finally:
            result.log += _run_nbgrader.last_log

        # 5. scores, then the marker that says this submission is complete
        _scores(course, result)
        result.status = "graded"
        _write_marker(course, result, fingerprint)
    except (preflight.SubmissionError, GradingError) as exc:
        result.status, result.reason = "failed", str(exc)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug or an unforeseen kind of damage: still only this submission fails
        result.status = "failed"
        result.reason = f"unexpected error while grading: {type(exc).__name__}: {exc}"
        result.log += traceback.format_exc()
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        result.seconds = time.monotonic() - started
    if not result.ok:
        # never leave a half-written graded copy that could be mistaken for a graded one
        marker = _marker_path(course, student_id, assignment)
        if marker.exists():
            marker.unlink()
    return result


# --- the whole class -------------------------------------------------------------

@dataclass
class Batch:
    assignment: str
    results: list[Result] = field(default_factory=list)
    csv_path: Path | None = None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if all(r.ok for r in self.results) else EXIT_SOME_FAILED


def _say(line: str) -> None:
    try:
        print(line.rstrip(), flush=True)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): keep grading
        pass


def _fmt_score(score, max_score) -> str:
    if score is None or max_score is None:
        return "-"
    return f"{score:g}/{max_score:g}"


def progress_bar(i: int, n: int, width: int = 20) -> str:
    done = round(width * i / n) if n else width
    return "#" * done + "." * (width - done)


def progress_line(i: int, n: int, r: Result) -> str:
    width = len(str(n))
    head = f"{progress_bar(i, n)} [{i:>{width}}/{n}] {r.student_id:<16}"
    if r.ok:
        state = "graded" if r.status == "graded" else "unchanged"
        line = f"{head} {state:<9} autograded {_fmt_score(r.auto_score, r.max_auto_score):<9}"
        if r.hand_grading_needed:
            line += f" {r.hand_grading_needed} to hand-grade"
        if r.flags:
            line += f"  FLAGGED: {'; '.join(r.flags)}"
    else:
        line = f"{head} FAILED    {r.reason}"
    return f"{line}  ({r.seconds:.1f} s)" if r.status != "unchanged" else line


def summary_lines(batch: Batch, course: Course) -> list[str]:
    rs = batch.results
    graded = [r for r in rs if r.ok]
    failed = [r for r in rs if not r.ok]
    flagged = [r for r in graded if r.flags]
    hand = sum(r.hand_grading_needed for r in graded)
    out = [f"Summary for {batch.assignment}: {len(rs)} submission(s)"]
    again = sum(1 for r in graded if r.status == "unchanged")
    out.append(f"  graded: {len(graded)}" + (f" ({again} unchanged since an earlier run)" if again else ""))
    out.append(f"  could not be graded: {len(failed)}")
    for r in failed:
        out.append(f"    {r.student_id}: {r.reason}")
    out.append(f"  flagged for a look by hand: {len(flagged)}")
    for r in flagged:
        out.append(f"    {r.student_id}: {'; '.join(r.flags)}")
    out.append(f"  answers waiting for hand grading in the formgrader: {hand}"
               + (f" (in {sum(1 for r in graded if r.hand_grading_needed)} submissions)" if hand else ""))
    if batch.csv_path:
        out.append(f"Grades: {batch.csv_path}")
    out.append(f"Feedback: {course.feedback_dir}/<student>/{batch.assignment}/")
    if batch.interrupted:
        out.append("Interrupted: run the same command again to grade the rest.")
    elif failed:
        out.append(f"Exit status {EXIT_SOME_FAILED}: some submissions could not be graded (see the reasons above).")
    else:
        out.append(f"Exit status {EXIT_OK}: every submission was graded.")
    return out


CSV_FIELDS = [
    "assignment", "student_id", "last_name", "first_name", "email", "timestamp", "status",
    "auto_score", "max_auto_score", "hand_score", "max_hand_score", "hand_grading_needed",
    "raw_score", "late_submission_penalty", "score", "max_score", "flags_or_reason",
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
                sub = gb.find_submission(assignment, sid)
                student = gb.find_student(sid)
            except MissingEntry:
                row.update(status="not graded", flags_or_reason="no record in the gradebook")
                writer.writerow(row)
                continue
            waiting = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
            flags = r.flags if r is not None else (marker or {}).get("flags", [])
            row.update(
                last_name=student.last_name or "", first_name=student.first_name or "", email=student.email or "",
                timestamp=sub.timestamp or "", status="graded" if not waiting else "waiting for hand grading",
                auto_score=f"{sub.code_score:g}", max_auto_score=f"{sub.max_code_score:g}",
                hand_score=f"{sub.written_score:g}", max_hand_score=f"{sub.max_written_score:g}",
                hand_grading_needed=waiting, raw_score=f"{sub.score:g}",
                late_submission_penalty=f"{sub.late_submission_penalty or 0:g}",
                score=f"{sub.score - (sub.late_submission_penalty or 0):g}", max_score=f"{sub.max_score:g}",
                flags_or_reason="; ".join(flags),
            )
            writer.writerow(row)
    os.replace(tmp, path)
    return path


def _append_log(course: Course, results: list[Result]) -> None:
    try:
        with open(course.root / ".nbgrader.log", "a", encoding="utf-8") as fh:
            for r in results:
                fh.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {r.assignment} {r.student_id}: {r.status} {r.reason}\n")
                if r.log:
                    fh.write(r.log.rstrip() + "\n")
    except OSError:
        pass


def _remove_stale_staging(max_age_hours: float = 12) -> None:
    """Staging folders left behind by a killed run (a finished run removes its own)."""
    cutoff = time.time() - max_age_hours * 3600
    for path in Path(tempfile.gettempdir()).glob(STAGING_PREFIX + "*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def grade_all(assignment: str, course: Course | None = None, *, students: list[str] | None = None,
              force: bool = False, echo: Callable[[str], None] = _say, jobs: int = 1) -> Batch:
    """Grade every submission of ``assignment`` (or only ``students``), export, and summarise.

    With ``jobs`` > 1 the submissions are graded in that many worker
    processes, each running :func:`grade_one` (nbgrader's own autograde and
    feedback) for one student at a time; the gradebook is SQLite with a busy
    timeout, so workers write in turn and no grade is lost. Scores do not
    depend on ``jobs``.

    Raises :class:`CourseError` if the assignment cannot be graded at all,
    including when the sandbox is on and bubblewrap is missing.
    """
    course = course or Course()
    course.check_assignment(assignment)
    check_sandbox(course)
    batch = Batch(assignment)
    todo = course.submissions(assignment)
    if students:
        missing = [s for s in students if s not in todo]
        if missing:
            raise CourseError(f"no submission of {assignment} from: {', '.join(missing)}")
        todo = [s for s in todo if s in students]
    if not todo:
        echo(f"No submissions of {assignment} in {course.submitted_dir}/<student>/{assignment}/: "
             f"collect them first (nbgrader collect {assignment}).")
        return batch
    _remove_stale_staging()
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


# --- worker processes ------------------------------------------------------------

_worker_course: Course | None = None


def _worker_init(course_root: str, overrides: dict) -> None:
    import ctypes
    import signal

    global _worker_course
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    try:  # Linux: a worker (and its sandboxed kernel) dies with the grader, even on SIGKILL
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
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
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                             initargs=(str(course.root), course.overrides)) as pool:
        futures = {pool.submit(_worker_grade, s, assignment, force): s for s in todo}
        try:
            for i, future in enumerate(as_completed(futures), start=1):
                student_id = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died: only this submission fails
                    result = Result(student_id, assignment, status="failed",
                                    reason=f"the grading worker stopped: {type(exc).__name__}: {exc}")
                batch.results.append(result)
                echo(progress_line(i, len(todo), result))
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise


def regenerate_feedback(assignment: str, course: Course | None = None, echo: Callable[[str], None] = _say) -> int:
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

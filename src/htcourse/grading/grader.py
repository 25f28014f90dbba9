"""Grade one submission so that nothing about it can touch another: :func:`grade_one`.

:func:`grade_one` does all the work for one submission and touches nothing
that belongs to another: checks (:mod:`.preflight`), rebuilding the notebook
around the assignment's own cells (:mod:`.restore`) in a private staging
folder, ``nbgrader autograde`` and ``nbgrader generate_feedback`` run
in-process for that student only (:mod:`.nbgrader_steps`), and a completion
marker (:mod:`.markers`). A class is graded by :func:`htcourse.grading.batch.grade_all`.

Safety of the gradebook: SQLite commits each nbgrader write as one
transaction, and the grader opens it with a busy timeout so that several
processes may write in turn. A submission counts as graded only when its
marker file is written, after its grades and feedback; a run that is
interrupted (even with SIGKILL) leaves earlier submissions graded and
complete, and the next run grades only what is missing. Hand grades entered
in the formgrader survive re-grading (nbgrader keeps manual scores).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import nbformat

from htcourse.grading import cells, markers, nbgrader_steps, preflight, stages
from htcourse.grading.course import Course
from htcourse.grading.markup import inline_uploaded_images, removed_in
from htcourse.grading.nbgrader_steps import GradingError, write_feedback
from htcourse.grading.outputs import was_truncated
from htcourse.grading.restore import load_template, restore
from htcourse.grading.results import Result, read_scores
from htcourse.grading.sandbox import workdir

STAGING_PREFIX = "htcourse-grading-"  # then the grading process's id (see batch._remove_stale_staging)


# --- helpers ----------------------------------------------------------------


def _cell_name(cell, index: int) -> str:
    return cells.grade_id(cell) or f"cell {index + 1} (one you added)"


def _flags_from_autograded(nb, timeout: int) -> list[str]:
    flags = []
    skipped = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        enames = cells.error_names(cell)
        if cells.TIMEOUT_ENAME in enames:
            flags.append(f"{_cell_name(cell, i)} ran longer than {timeout} s and was stopped")
        if cells.SKIPPED_ENAME in enames:
            skipped += 1
        text = " ".join(str(o.get("evalue", "")) + " " + str(o.get("text", "")) for o in cell.get("outputs", []))
        if "No space left on device" in text or "Disk quota exceeded" in text:
            flags.append(f"{_cell_name(cell, i)} ran out of disk space (its working folder and /tmp are size-capped)")
        if cells.MEMORY_ENAME in enames:
            flags.append(f"{_cell_name(cell, i)} ran out of memory (MemoryError)")
        if cells.OUTPUT_TOO_LARGE_ENAME in enames:
            flags.append(f"{_cell_name(cell, i)} sent one output too large to read (not read; later cells not run)")
        if was_truncated(cell):
            flags.append(f"the output of {_cell_name(cell, i)} was cut (it printed too much)")
    for i, cell in enumerate(nb.cells):
        removed = removed_in(cell)
        if removed:
            flags.append(f"markup removed from {_cell_name(cell, i)}: {', '.join(removed)}")
    if skipped:
        why = "an earlier cell's output was too large" if any("too large" in f for f in flags) else "time limits"
        flags.append(f"{skipped} later cell(s) were not run ({why})")
    return flags


def _scores(course: Course, result: Result) -> None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            scores = read_scores(gb, result.assignment, result.student_id)
        except MissingEntry:
            scores = None
    if scores is None or not scores.submitted:
        raise GradingError("the gradebook has no record of this submission after grading")
    result.auto_score, result.max_auto_score = scores.auto_score, scores.max_auto_score
    result.hand_score, result.max_hand_score = scores.hand_score, scores.max_hand_score
    result.hand_grading_needed = scores.hand_grading_needed


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
    clock = stages.Clock(result.stages)  # make bench's stages (stages.py)
    try:
        notebooks = course.notebooks(assignment)
        templates = [load_template(course, assignment, nb) for nb in notebooks]
        fingerprint = markers.fingerprint(course, student_id, assignment, markers.template_digest(templates))
        marker = markers.read_marker(course, student_id, assignment)
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
        checked = preflight.check_submission(
            course.submission_dir(student_id, assignment),
            notebooks,
            course.ignore,
            course.max_file_size_kb,
            course.max_dir_size_kb,
        )
        result.flags += checked.flags
        result.submitted_as = dict(checked.submitted_as)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
        staged = staging / student_id / assignment
        staged.mkdir(parents=True)
        for template in templates:
            nb, repaired = restore(checked.notebooks[template.notebook], template)
            result.flags += repaired.flags()
            # a picture saved beside the notebook becomes the cell's attachment now, before any
            # student code runs: nothing is read from the kernel's working folder later (markup.py)
            limit = 1000 * course.max_file_size_kb if course.max_file_size_kb is not None else None
            result.flags += inline_uploaded_images(nb, checked.folder, checked.other_files, limit)
            nbformat.write(nb, staged / f"{template.notebook}.ipynb")
        for rel in checked.other_files:
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            workdir.copy_regular(checked.folder / rel, staged / rel)
        if checked.timestamp_ok:
            workdir.copy_regular(checked.folder / "timestamp.txt", staged / "timestamp.txt")

        clock.lap("working copy")

        # 3. autograde (nbgrader), this student only
        autograde = stages.staged_autograde()(
            coursedir=course.coursedir(
                submitted_directory=str(staging), student_id=student_id, assignment_id=assignment, notebook_id="*"
            ),
            config=course.config,
            log=nbgrader_steps.log,
        )
        autograde.force = True
        autograde.create_student = True
        try:
            result.log += nbgrader_steps.run(autograde)
        except GradingError as exc:
            result.log += exc.log
            reached = autograde.findings["reached"]
            if reached:
                raise GradingError(f"{exc} ({'; '.join(dict.fromkeys(reached))})", exc.log) from None
            raise
        finally:
            clock.lap("converter", within=autograde.stages)  # the notebooks' stages, and the converter's rest
            result.flags += list(dict.fromkeys(autograde.findings["reached"]))
            left = autograde.findings["left_behind"]
            if left:
                result.flags.append(
                    "its code left links or special files in its working folder (never followed; "
                    "the folder was discarded): " + "; ".join(left)
                )
        graded_dir = course.autograded_submission_dir(student_id, assignment)
        from htcourse.grading.execute import BoundedExecute
        from htcourse.grading.limits import configured

        timeout = int(configured(course.config, BoundedExecute, "timeout"))
        for nb_name in notebooks:
            path = graded_dir / f"{nb_name}.ipynb"
            if not path.is_file():
                raise GradingError(f"nbgrader wrote no graded notebook {path.name}")
            result.flags += _flags_from_autograded(nbformat.read(str(path), as_version=4), timeout)
        clock.lap("autograde rest")

        # 4. feedback, with hidden tests removed (see feedback.py)
        try:
            result.log += write_feedback(course, student_id, assignment, result.submitted_as)
        except GradingError as exc:
            result.log += exc.log
            raise
        clock.lap("feedback")

        # 5. scores, then the marker that says this submission is complete
        _scores(course, result)
        clock.lap("gradebook")
        result.status = "graded"
        markers.write_marker(course, result, fingerprint)
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
        markers.remove_marker(course, student_id, assignment)
    return result

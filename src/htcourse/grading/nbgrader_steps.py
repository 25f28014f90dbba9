"""Running one nbgrader step in-process, with its log captured and its failure put in words.

:func:`run` starts a configured nbgrader converter (``Autograde``,
``GenerateFeedback``, ``GenerateAssignment``) and returns what it logged; if
the step fails it raises :class:`GradingError`, whose message is the most
useful line of that log (:func:`reason_from_log`) and whose ``log`` is the
whole of it. :func:`write_feedback` is ``nbgrader generate_feedback`` for one
student. Used by the grader (:mod:`.grader`, :mod:`.batch`) and by
:mod:`.prepare`.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import traceback

#: nbgrader's messages go here (and into each step's captured log), not to the terminal.
log = logging.getLogger("htcourse.grading.nbgrader")
log.propagate = False
log.setLevel(logging.INFO)


class GradingError(Exception):
    """One submission could not be graded; the message is the reason, ``log`` what nbgrader logged."""

    def __init__(self, reason: str, log: str = ""):
        super().__init__(reason)
        self.log = log


def reason_from_log(text: str, default: str) -> str:
    """The most useful line of nbgrader's log of a failed step."""
    if "kernel became unresponsive" in text:
        return (
            "the kernel stopped responding and could not be interrupted "
            "(a cell may ignore interrupts or use too much memory)"
        )
    if "DeadKernelError" in text or "Kernel died" in text:
        return (
            "the Python kernel died while running the notebook (a cell may have used too much memory or exited Python)"
        )
    found = []
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt)): (.+)$", line.strip())
        if m and not m.group(1).endswith(("NbGraderException", "GradingError")):
            found.append(f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(3)}")
    if found:
        return f"nbgrader could not grade it ({found[-1]})"
    errors = [line[len("[ERROR] ") :] for line in text.splitlines() if line.startswith("[ERROR] ")]
    return errors[0] if errors else default


def run(converter) -> str:
    """Run an nbgrader converter and return its log; raise :class:`GradingError` if it fails."""
    from htcourse.grading import cached

    cached.install()  # what nbgrader sets up per submission, once per process (cached.py)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    converter.log.addHandler(handler)
    try:
        converter.start()
    except KeyboardInterrupt:
        raise
    except Exception:
        trace = traceback.format_exc()
        raise GradingError(
            reason_from_log(buffer.getvalue() + "\n" + trace, "nbgrader failed"), log=buffer.getvalue() + trace
        ) from None
    finally:
        converter.log.removeHandler(handler)
    return buffer.getvalue()


def write_feedback(course, student_id: str, assignment: str, submitted_as: dict[str, str] | None = None) -> str:
    """``nbgrader generate_feedback`` for one student (the course's config strips hidden tests); returns its log.

    ``submitted_as`` maps a notebook's name to the name the student submitted
    it under (``ps4-dirty-data (1)``, say): the feedback page is then written
    under that name too, because ``nbgrader fetch_feedback`` looks for the
    feedback of the notebooks as the student named them.
    """
    from nbgrader.converters import GenerateFeedback

    feedback = GenerateFeedback(
        coursedir=course.coursedir(student_id=student_id, assignment_id=assignment, notebook_id="*"),
        config=course.config,
        log=log,
    )
    feedback.force = True
    text = run(feedback)
    folder = course.feedback_submission_dir(student_id, assignment)
    for name, stem in (submitted_as or {}).items():
        page = folder / f"{name}.html"
        if page.is_file() and stem != name:
            shutil.copy2(page, folder / f"{stem}.html")
    return text

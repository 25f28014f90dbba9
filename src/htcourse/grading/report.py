"""The grading report: what the grader tells the instructor, a progress line per submission and a class summary.

In the grading code "report" means this and only this. The message a graded
cell sends to the checker with its answers is an *answers message*
(:func:`htcourse.grading.wire.send_answers`, :func:`~htcourse.grading.wire.build_answers_message`);
what :func:`htcourse.grading.restore.restore` had to repair is a
:class:`~htcourse.grading.restore.RestoreSummary`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from htcourse.grading.course import Course
    from htcourse.grading.results import Batch, Result


def say(line: str) -> None:
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
    out.append(
        f"  answers waiting for hand grading in the formgrader: {hand}"
        + (f" (in {sum(1 for r in graded if r.hand_grading_needed)} submissions)" if hand else "")
    )
    if batch.csv_path:
        out.append(f"Grades: {batch.csv_path}")
    out.append(f"Feedback: {course.feedback_dir}/<student>/{batch.assignment}/")
    if batch.interrupted:
        out.append("Interrupted: run the same command again to grade the rest.")
    elif failed:
        out.append(f"Exit status {batch.exit_code}: some submissions could not be graded (see the reasons above).")
    else:
        out.append(f"Exit status {batch.exit_code}: every submission was graded.")
    return out

"""What grading produces: one :class:`Result` per submission, a :class:`Batch` per run, and the exit codes.

The grader (:mod:`htcourse.grading.grader`) fills a Result; the batch runner
(:mod:`htcourse.grading.batch`) collects them into a Batch; the summary
(:mod:`htcourse.grading.report`) and the exports read them. Keeping the records here,
apart from the code that makes them, means none of those modules imports another
just for a type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Exit codes of ``htcourse grade`` and ``python -m htcourse.grading``: stable, documented in the README.
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
    stages: dict[str, list[float]] = field(default_factory=dict)  # where the seconds went (stages.py)
    log: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("graded", "unchanged")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        return d


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


@dataclass(frozen=True)
class Scores:
    """One student's scores on one assignment, as the gradebook holds them.

    The one record every export reads (the course's CSV in :mod:`.export`,
    Canvas in :mod:`.canvas`, Moodle in :mod:`.moodle`) and the grader copies
    into its :class:`Result`; made only by :func:`read_scores`, so that all of
    them count manual grades, extra credit and the late penalty the same way.
    """

    student: str
    assignment: str
    submitted: bool  # False: no submission in the gradebook (every score 0)
    timestamp: str
    auto_score: float
    max_auto_score: float
    hand_score: float
    max_hand_score: float
    hand_grading_needed: int  # answers still waiting for a hand grade
    raw_score: float  # autograded plus hand-graded points (and extra credit)
    late_submission_penalty: float
    score: float  # the final score: raw_score less the late penalty, never below 0
    max_score: float

    @property
    def needs_manual_grade(self) -> bool:
        return self.hand_grading_needed > 0


def read_scores(gradebook, assignment: str, student: str) -> Scores:
    """``student``'s scores on ``assignment`` from an open nbgrader gradebook.

    A student with no submission gets ``submitted=False``, every score 0 and
    the assignment's maximum. Raises nbgrader's ``MissingEntry`` if the
    assignment itself is not in the gradebook.
    """
    from nbgrader.api import MissingEntry

    try:
        sub = gradebook.find_submission(assignment, student)
    except MissingEntry:
        top = float(gradebook.find_assignment(assignment).max_score)
        return Scores(student, assignment, False, "", 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, top)
    penalty = float(sub.late_submission_penalty or 0.0)
    raw = float(sub.score)
    return Scores(
        student=student,
        assignment=assignment,
        submitted=True,
        timestamp=str(sub.timestamp or ""),
        auto_score=float(sub.code_score),
        max_auto_score=float(sub.max_code_score),
        hand_score=float(sub.written_score),
        max_hand_score=float(sub.max_written_score),
        hand_grading_needed=sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade),
        raw_score=raw,
        late_submission_penalty=penalty,
        score=max(0.0, raw - penalty),
        max_score=float(sub.max_score),
    )


def read_all_scores(gradebook, assignments: list[str] | None = None) -> tuple[list[str], list[str], list[Scores]]:
    """(assignment names, student ids, one :class:`Scores` per assignment and student), in the gradebook's order.

    ``assignments`` keeps only those (a name the gradebook does not know is a
    ``LookupError`` that says which are known).
    """
    names = [a.name for a in gradebook.assignments]
    if assignments:
        unknown = [a for a in assignments if a not in names]
        if unknown:
            raise LookupError(
                f"assignment(s) {', '.join(unknown)} are not in the gradebook (known: {', '.join(names) or 'none'})"
            )
        names = [n for n in names if n in assignments]
    students = sorted(s.id for s in gradebook.students)
    return names, students, [read_scores(gradebook, name, student) for name in names for student in students]

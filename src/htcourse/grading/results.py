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

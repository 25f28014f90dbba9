"""What the grader reads in, and writes into, a notebook's cells: one definition each.

- the region markers nbgrader's authors type (``### BEGIN HIDDEN TESTS``,
  ``### BEGIN SOLUTION`` and their ends), and :func:`split_hidden`, which
  cuts the hidden region out of a cell;
- the names (``ename``) of the error outputs the grader itself writes into a
  cell: a failed hidden test (:mod:`.answers`), a cell stopped for time and a
  cell not run (:mod:`.execute`); :mod:`.feedback` keeps exactly these, and
  :mod:`.grader` turns them into flags;
- the cell's nbgrader metadata (``cell.metadata.nbgrader``), read safely
  whatever a student did to it: :func:`nbgrader_meta`, :func:`grade_id` and
  friends.
"""

from __future__ import annotations

from collections.abc import Mapping

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"

#: A hidden test that did not pass, in the grader's own words (written by answers.py, kept by feedback.py).
HIDDEN_FAILED_ENAME = "HiddenTestFailed"
#: A cell that ran past ``Execute.timeout`` and was stopped (execute.py).
TIMEOUT_ENAME = "CellTimeoutError"
#: A cell that was not run because earlier cells used up the notebook's time (execute.py).
SKIPPED_ENAME = "CellNotRun"
#: A cell that sent one output over ``NoPauseKernelClient.max_message_bytes``, which was not read (execute.py).
OUTPUT_TOO_LARGE_ENAME = "OutputTooLarge"
#: The grader's own error outputs that feedback keeps in a hidden-test cell (any other error there
#: becomes "A hidden test did not pass.").
GRADER_ENAMES = (HIDDEN_FAILED_ENAME, SKIPPED_ENAME, TIMEOUT_ENAME)
#: Raised by the student's own code when its kernel ran out of memory.
MEMORY_ENAME = "MemoryError"


def split_hidden(source: str, begin: str = BEGIN_HIDDEN, end: str = END_HIDDEN) -> tuple[str, list[str]]:
    """Split ``source`` into (the source without hidden regions, the hidden lines).

    The delimiter lines themselves are dropped, as nbgrader's ``ClearHiddenTests``
    does. An unterminated region runs to the end of the cell (and is hidden).
    """
    kept: list[str] = []
    hidden: list[str] = []
    inside = False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def has_hidden_tests(source: str, begin: str = BEGIN_HIDDEN) -> bool:
    return begin in source


def nbgrader_meta(cell: Mapping) -> dict:
    """The cell's nbgrader metadata, or ``{}`` when it has none or a student replaced it by something else."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, Mapping) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Mapping) -> str | None:
    """The cell's nbgrader ``grade_id`` (None for a cell nbgrader does not track)."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_grade(cell: Mapping) -> bool:
    """An autograded test cell or a hand-graded answer: a cell that carries points."""
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell: Mapping) -> bool:
    """A cell the student answers in."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell: Mapping) -> bool:
    return bool(nbgrader_meta(cell).get("locked"))


def points(cell: Mapping) -> float:
    """The points a graded cell is worth (0 for any other cell)."""
    if not is_grade(cell):
        return 0.0
    try:
        return float(nbgrader_meta(cell).get("points") or 0)
    except (TypeError, ValueError):
        return 0.0


def error_names(cell: Mapping) -> set[str]:
    """The ``ename`` of every error output of a code cell."""
    return {o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"}

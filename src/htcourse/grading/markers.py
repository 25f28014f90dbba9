"""What makes re-grading cheap and safe: a fingerprint of each submission, and its completion marker.

A submission counts as graded only when its marker file
(``autograded/<student>/<assignment>/.htcourse-graded.json``) is written,
after its grades and feedback. The marker records the fingerprint of the
submitted files and of the assignment's cells (and :data:`GRADER_VERSION`):
the next run skips a submission whose fingerprint is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

#: Bump when a change to the grader should make every submission be graded again.
GRADER_VERSION = "1"
MARKER = ".htcourse-graded.json"


def fingerprint(course, student_id: str, assignment: str, template_digest: str) -> str:
    h = hashlib.sha256()
    h.update(f"grader {GRADER_VERSION}\ntemplate {template_digest}\n".encode())
    folder = course.submission_dir(student_id, assignment)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def template_digest(templates) -> str:
    h = hashlib.sha256()
    for t in templates:
        for c in t.cells:
            h.update(json.dumps([c.grade_id, c.cell_type, c.source, c.points, c.solution, c.grade]).encode())
    return h.hexdigest()


def marker_path(course, student_id: str, assignment: str) -> Path:
    return course.autograded_submission_dir(student_id, assignment) / MARKER


def read_marker(course, student_id: str, assignment: str) -> dict | None:
    try:
        return json.loads(marker_path(course, student_id, assignment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_marker(course, result, fingerprint: str) -> None:
    """Mark ``result``'s submission as completely graded (atomically)."""
    path = marker_path(course, result.student_id, result.assignment)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "fingerprint": fingerprint,
                "flags": result.flags,
                "submitted_as": result.submitted_as,
                # seconds per stage (wall, CPU here, CPU in helper processes): make bench's table
                "stages": {stage: [round(f, 4) for f in figures] for stage, figures in result.stages.items()},
                "graded_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path)


def remove_marker(course, student_id: str, assignment: str) -> None:
    path = marker_path(course, student_id, assignment)
    if path.exists():
        path.unlink()

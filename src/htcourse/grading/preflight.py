"""Checks on a submission before nbgrader sees it.

Each check either lets the submission through (perhaps with a flag for the
instructor) or stops *this* submission with a reason a person can act on,
such as "the notebook file is not valid JSON (line 40, column 3): it may
have been cut off while saving". Nothing here stops the rest of the class.

The size limits are nbgrader's own settings in the course's config, the ones
``nbgrader submit`` and ``collect`` apply: ``c.CourseDirectory.max_file_size``
for one file and ``c.CourseDirectory.max_dir_size`` for the whole folder
(kilobytes of 1000 bytes, as nbgrader counts them). The grader passes them in
(:attr:`htcourse.grading.course.Course.max_file_size_kb`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

SETTING = "c.CourseDirectory.{} in nbgrader_config.py"


def _mb(kilobytes: int) -> str:
    return f"{kilobytes / 1000:g} MB"


_CHAR = re.compile(r"\s*\(char \d+\)$")


class SubmissionError(Exception):
    """This submission cannot be graded; the message says why, in plain words."""


@dataclass
class Checked:
    """A submission that passed the checks."""

    folder: Path
    notebooks: dict[str, NotebookNode]  # notebook name -> parsed notebook (version 4)
    other_files: list[Path]  # relative paths of the other files to carry along
    timestamp_ok: bool = True
    flags: list[str] = field(default_factory=list)
    submitted_as: dict[str, str] = field(default_factory=dict)  # notebook name -> the name it was submitted under


def _ignored(rel: Path, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in patterns)


def _read_notebook(path: Path, max_file_size_kb: int | None = None) -> NotebookNode:
    size = path.stat().st_size
    if max_file_size_kb is not None and size > 1000 * max_file_size_kb:
        # Saved outputs can be huge; answers are not.
        raise SubmissionError(
            f"{path.name} is {size / 1e6:.0f} MB, over the course's limit of {_mb(max_file_size_kb)} per file "
            f"({SETTING.format('max_file_size')}): clear the outputs and submit again"
        )
    if size == 0:
        raise SubmissionError(f"{path.name} is empty (0 bytes): it may not have been saved before it was submitted")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not a text file (byte {exc.start} is not UTF-8): it is damaged"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid JSON ({_CHAR.sub('', str(exc))}): "
            "the file is damaged, perhaps cut off while saving or edited outside Jupyter"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", []), list) or "nbformat" not in data:
        raise SubmissionError(
            f"{path.name} is valid JSON but not a Jupyter notebook (it has no 'nbformat' and 'cells')"
        )
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds of errors on odd input
        raise SubmissionError(f"{path.name} is not a notebook Jupyter can read: {type(exc).__name__}: {exc}") from None
    for i, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionError(f"{path.name}: cell {i + 1} is damaged (it has no valid cell type)")
        source = cell.get("source", "")
        if isinstance(source, list):
            cell["source"] = "".join(str(s) for s in source)
        elif not isinstance(source, str):
            raise SubmissionError(f"{path.name}: cell {i + 1} is damaged (its text is not text)")
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
    return nb


def check_submission(
    folder: Path,
    notebooks: list[str],
    ignore: list[str],
    max_file_size_kb: int | None = None,
    max_dir_size_kb: int | None = None,
) -> Checked:
    """Check the submission in ``folder`` for the assignment's ``notebooks``.

    ``max_file_size_kb`` and ``max_dir_size_kb`` are the course's
    ``CourseDirectory.max_file_size`` and ``max_dir_size`` (``None``: no
    limit). A notebook over the file limit, or a folder over the folder
    limit, is not graded; another file over the file limit is left out with
    a flag, as ``nbgrader collect`` leaves it out. Raises
    :class:`SubmissionError` if the submission cannot be graded.
    """
    if not folder.is_dir():
        raise SubmissionError(f"there is no submission folder {folder}")
    files: list[Path] = []
    too_large: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(Path(d), ignore))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder)
            if _ignored(rel, ignore) or path.is_symlink():
                continue
            size = path.stat().st_size
            total += size
            if max_file_size_kb is not None and size > 1000 * max_file_size_kb and rel.suffix != ".ipynb":
                too_large.append(rel)
            else:
                files.append(rel)
    if max_dir_size_kb is not None and total > 1000 * max_dir_size_kb:
        raise SubmissionError(
            f"the submission is {total / 1e6:.0f} MB in all, over the course's limit of {_mb(max_dir_size_kb)} "
            f"({SETTING.format('max_dir_size')})"
        )

    checked = Checked(folder=folder, notebooks={}, other_files=[])
    for rel in too_large:
        checked.flags.append(
            f"{rel} is over the course's limit of {_mb(max_file_size_kb)} per file "
            f"({SETTING.format('max_file_size')}) and was left out"
        )
    top_notebooks = sorted(str(f) for f in files if f.suffix == ".ipynb" and len(f.parts) == 1)
    expected = {f"{nb}.ipynb" for nb in notebooks}
    strays = [f for f in top_notebooks if f not in expected]
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            if len(notebooks) == 1 and len(strays) == 1:
                path = folder / strays[0]
                checked.submitted_as[name] = path.stem
                checked.flags.append(f"notebook submitted as {strays[0]} instead of {name}.ipynb; graded it")
            else:
                found = ", ".join(top_notebooks) or "no notebook"
                raise SubmissionError(f"{name}.ipynb is missing from the submission (found: {found})")
        checked.notebooks[name] = _read_notebook(path, max_file_size_kb)

    used = {f"{nb}.ipynb" for nb in notebooks} | set(strays if len(notebooks) == 1 and len(strays) == 1 else [])
    for rel in files:
        if str(rel) in used or str(rel) == "timestamp.txt":
            continue
        checked.other_files.append(rel)

    stamp = folder / "timestamp.txt"
    if stamp.is_file():
        from nbgrader.utils import parse_utc

        try:
            text = stamp.read_text(encoding="utf-8").strip()
            if text:
                parse_utc(text)
        except Exception:
            checked.timestamp_ok = False
            checked.flags.append("timestamp.txt could not be read; graded without a submission time")
    return checked

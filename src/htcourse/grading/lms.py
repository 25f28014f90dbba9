"""Submissions from an LMS zip (Canvas, Moodle) into the course, and feedback back out as the LMS names it.

``htcourse collect ASSIGNMENT --from canvas|moodle submissions.zip --roster ROSTER``

How each LMS names the files in its "download all submissions" zip:

- **Canvas**: one file per submitted file, ``{name}_{user id}_{submission id}_{original name}``,
  with ``late_`` after the name when Canvas counted it late; the name is the
  student's sortable name in lower case without spaces or punctuation, and
  a resubmitted file's original name may carry ``-1``, ``-2`` ... before its
  extension. The user id is Canvas's own user id: the ``ID`` column of
  Canvas's gradebook export, which is the roster here.
- **Moodle**: ``{Full Name}_{participant id}_assignsubmission_file_`` as a
  folder holding the student's files (the default), or as a prefix of each
  file name (when "Download submissions in folders" is off); Moodle 4.1 and
  later may leave out the last underscore. The participant id is the
  ``Participant N`` of the assignment's grading worksheet (Assignment >
  View all submissions > Download grading worksheet), which is the roster
  here; its ``Email address`` and, if shown, ``ID number`` identify the student.

The file names are read by subclasses of nbgrader's
:class:`~nbgrader.plugins.FileNameCollectorPlugin` (:class:`CanvasFileNames`,
:class:`MoodleFileNames`), so the same patterns also work with
``nbgrader zip_collect --ZipCollectApp.collector_plugin=htcourse.grading.lms.CanvasFileNames``.

Nothing is lost: the downloaded zip is copied into ``lms/<assignment>/``;
each student's chosen notebook and other files go to
``submitted/<student>/<assignment>/`` (with ``timestamp.txt``); every other
file (duplicates, files of students not on the roster, names that match
neither pattern, files over the size limit) goes under ``lms/<assignment>/``
and is listed in the report, and in ``collect.json``, which the feedback
zip (:func:`write_feedback_zip`) reads to name each student's feedback file
as the LMS expects on upload: for Canvas the student's own file-name prefix
(the "Re-upload submissions" / feedback zip layout), for Moodle the
student's folder (the "Upload multiple feedback files in a zip" layout,
which Moodle's importer reads as ``fullname_participantid_plugintype_pluginname/file``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

if TYPE_CHECKING:
    from htcourse.grading.course import Course

LMS_FOLDER = "lms"
MANIFEST = "collect.json"
#: Canvas: name, optional "late", user id, submission id, original file name.
CANVAS_REGEXP = r"(?P<name>[^_/]+)_(?:(?P<late>late)_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_(?P<file_id>[^/]+)$"
#: Moodle: full name, participant id, plugin type and name, then a folder or the rest of the file name.
MOODLE_REGEXP = (
    r"(?P<name>[^/]+?)_(?P<student_id>\d+)_(?P<plugin>assignsubmission_[a-z]+)(?:_?/|_)"
    r"(?P<file_id>[^/].*)$"
)
#: A Canvas resubmission's "-1" (or a download's " (1)") before the extension.
COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\))$")


#: A student id becomes a folder name (submitted/<student>/): letters, digits and . _ @ + - only.
SAFE_ID = re.compile(r"^[A-Za-z0-9@_+-][A-Za-z0-9@._+-]*$")


class CollectError(ValueError):
    """The zip or the roster cannot be used; the message says what to fix."""


def _check_id(sid: str, where: str) -> str:
    if not SAFE_ID.match(sid):
        raise CollectError(f"{where}: the student id {sid!r} cannot be a folder name (use letters, digits, . _ @ + -)")
    return sid


class CanvasFileNames(FileNameCollectorPlugin):
    """nbgrader collector plugin for the files of a Canvas submissions zip (every file, not only notebooks)."""

    named_regexp = Unicode(CANVAS_REGEXP, help="Canvas's file names in a submissions download").tag(config=True)

    def collect(self, submitted_file: str) -> dict | None:
        return self._match(PurePosixPath(submitted_file).name)


class MoodleFileNames(FileNameCollectorPlugin):
    """nbgrader collector plugin for a Moodle submissions zip (student folders or prefixed file names)."""

    named_regexp = Unicode(MOODLE_REGEXP, help="Moodle's folder or file names in a submissions download").tag(
        config=True
    )

    def collect(self, submitted_file: str) -> dict | None:
        return self._match(str(submitted_file).lstrip("/"))


# --- rosters ---------------------------------------------------------------------


@dataclass
class Student:
    key: str  # the id in the LMS's file names (Canvas user id, Moodle participant id)
    student_id: str  # the course's (nbgrader's) id
    name: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    submitted: str = ""  # "YYYY-MM-DD HH:MM:SS" UTC, when the roster gives it (Moodle's worksheet)


def read_canvas_roster(path: Path) -> dict[str, Student]:
    """Canvas's gradebook export: ``ID`` is the user id in the file names.

    The student id is the SIS Login ID (else the SIS User ID).
    """
    from htcourse.grading.canvas import RosterError, read_roster

    try:
        _, rows = read_roster(Path(path))
    except RosterError as exc:
        raise CollectError(str(exc)) from None
    roster = {}
    for row in rows:
        v = row.values
        if not v["ID"].isdigit():
            raise CollectError(f"{path} line {row.line}: the ID column ({v['ID']!r}) is not a Canvas user id")
        last, _, first = v["Student"].partition(",")
        roster[v["ID"]] = Student(
            v["ID"],
            _check_id(row.keys[0], f"{path} line {row.line}"),
            v["Student"],
            first_name=first.strip(),
            last_name=last.strip(),
        )
    return roster


def read_moodle_roster(path: Path) -> dict[str, Student]:
    """Moodle's grading worksheet: ``Identifier`` is ``Participant N``.

    The student id is the ID number, else the email.
    """
    path = Path(path)
    if not path.is_file():
        raise CollectError(f"roster {path} does not exist: download the grading worksheet from the Moodle assignment")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        if "Identifier" not in header or "Full name" not in header or not {"Email address", "ID number"} & set(header):
            raise CollectError(
                f"{path}: not a Moodle grading worksheet: it needs the columns Identifier, Full name "
                "and Email address (or ID number)"
            )
        roster: dict[str, Student] = {}
        ids: dict[str, int] = {}
        for line, record in enumerate(reader, start=2):
            record = {k.strip(): (v or "").strip() for k, v in record.items() if k}
            found = re.search(r"(\d+)\s*$", record.get("Identifier", ""))
            if not found:
                raise CollectError(
                    f"{path} line {line}: Identifier {record.get('Identifier')!r} is not 'Participant N'"
                )
            key = found.group(1)
            sid = record.get("ID number") or record.get("Email address", "").lower()
            if not sid:
                raise CollectError(
                    f"{path} line {line}: {record['Full name']} has neither an ID number nor an email address"
                )
            _check_id(sid, f"{path} line {line}")
            if key in roster or sid in ids:
                raise CollectError(
                    f"{path} line {line}: participant {key} or student {sid} appears twice; fix the worksheet"
                )
            ids[sid] = line
            first, _, last = record["Full name"].partition(" ")
            roster[key] = Student(
                key,
                sid,
                record["Full name"],
                record.get("Email address", ""),
                first,
                last,
                _worksheet_time(record.get("Last modified (submission)", "")),
            )
    return roster


#: How Moodle's worksheet writes "Last modified (submission)" in English (times in the site's zone, taken as UTC here).
WORKSHEET_TIME_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def _worksheet_time(text: str) -> str:
    for fmt in WORKSHEET_TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return ""


# --- reading the zip -------------------------------------------------------------


@dataclass
class Item:
    member: str  # path inside the zip
    kind: str = "other"  # notebook / other
    student_key: str = ""
    lms_name: str = ""
    late_by_lms: bool = False
    submission_id: str = ""
    original: str = ""  # the file name the student gave it
    prefix: str = ""  # the LMS's name prefix (Canvas) or folder (Moodle)
    modified: str = ""  # the zip entry's date and time (UTC)
    size: int = 0


@dataclass
class Report:
    lms: str
    assignment: str
    collected: dict[str, dict] = field(default_factory=dict)  # student id -> what went into submitted/
    late: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unknown_students: list[str] = field(default_factory=list)
    wrong_names: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # where the files that were not collected are

    @property
    def problems(self) -> int:
        return sum(
            len(x)
            for x in (
                self.duplicates,
                self.unknown_students,
                self.wrong_names,
                self.damaged,
                self.unrecognised,
                self.too_large,
            )
        )

    def text(self) -> str:
        lines = [f"{self.lms}: collected {len(self.collected)} submission(s) of {self.assignment}"]
        for title, items in (
            ("late (by the LMS or the due date)", self.late),
            ("duplicates (the latest was kept)", self.duplicates),
            ("not on the roster", self.unknown_students),
            ("notebook under another name (graded, flagged)", self.wrong_names),
            ("damaged notebooks (collected; the grader reports them)", self.damaged),
            ("files whose names the LMS did not write", self.unrecognised),
            ("files over the size limit (not collected)", self.too_large),
            ("on the roster with no submission", self.no_submission),
        ):
            if items:
                lines.append(f"{len(items)} {title}:")
                lines += [f"  - {item}" for item in items]
        if self.kept:
            lines.append("files not collected are kept in: " + ", ".join(sorted(set(self.kept))))
        return "\n".join(lines)


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def read_items(zf: zipfile.ZipFile, lms: str) -> tuple[list[Item], list[str]]:
    """Every file in the zip as an :class:`Item`, and the members whose path is unsafe (absolute, ``..``)."""
    plugin = CanvasFileNames() if lms == "canvas" else MoodleFileNames()
    items, unsafe = [], []
    for info in zf.infolist():
        if info.is_dir():
            continue
        path = _safe_member(info.filename)
        if path is None:
            unsafe.append(info.filename)
            continue
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        item = Item(
            info.filename,
            size=info.file_size,
            modified=datetime(*info.date_time, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
        found = plugin.collect(str(path))
        if found:
            item.student_key = found["student_id"]
            item.lms_name = found["name"]
            item.original = PurePosixPath(found["file_id"]).name
            item.late_by_lms = bool(found.get("late"))
            item.submission_id = found.get("submission_id") or ""
            if lms == "canvas":
                item.prefix = path.name[: len(path.name) - len(found["file_id"])]
            else:
                item.prefix = f"{found['name']}_{found['student_id']}_{found['plugin']}_"
            item.kind = "notebook" if item.original.endswith(".ipynb") else "other"
        items.append(item)
    return items, unsafe


def _notebook_ok(data: bytes) -> bool:
    import nbformat

    try:
        nbformat.reads(data.decode("utf-8"), as_version=4)
        return True
    except Exception:
        return False


def _expected(course: Course, assignment: str, original: str) -> str | None:
    """The assignment notebook this file name stands for, if it is one (allowing the LMS's copy suffixes)."""
    stem = original[: -len(".ipynb")]
    names = course.notebooks(assignment)
    if stem in names:
        return stem
    base = COPY_SUFFIX.sub("", stem)
    return base if base in names else None


def _rank(item: Item) -> tuple:
    """Which of a student's files for the same notebook is the latest: Canvas's submission id, then the zip date."""
    return (int(item.submission_id or 0), item.modified, item.member)


def _move_aside(folder: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    target = into / f"{folder.parent.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    shutil.move(str(folder), str(target))
    return target


def collect(
    course: Course,
    assignment: str,
    lms: str,
    archive: Path,
    roster_path: Path,
    timestamps: dict[str, str] | None = None,
) -> Report:
    """Read ``archive`` (an LMS's submissions zip) into ``submitted/``; see the module's help. Never loses a file."""
    from htcourse.grading import late

    if lms not in ("canvas", "moodle"):
        raise CollectError(f"unknown LMS {lms!r}: use canvas or moodle")
    course.check_assignment(assignment)
    archive = Path(archive)
    if not archive.is_file():
        raise CollectError(f"{archive} does not exist: download the submissions zip from {lms.title()} first")
    if not zipfile.is_zipfile(archive):
        raise CollectError(f"{archive} is not a zip file: download it again from {lms.title()}")
    roster = (read_canvas_roster if lms == "canvas" else read_moodle_roster)(Path(roster_path))
    report = Report(lms, assignment)
    folder = course.root / LMS_FOLDER / assignment
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = folder / f"collected-{stamp}"
    run.mkdir(parents=True, exist_ok=True)
    shutil.copy2(archive, run / archive.name)
    report.kept.append(str(run))
    limit = course.max_file_size_kb * 1000
    due = late.due_date(course, assignment)

    with zipfile.ZipFile(archive) as zf:
        items, unsafe = read_items(zf, lms)
        report.unrecognised += [f"{m} (unsafe path; left in the zip)" for m in unsafe]

        def keep(item: Item, why: str, student: str = "") -> None:
            target = run / why / (student or "") / PurePosixPath(item.member.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.size <= limit:
                try:
                    with zf.open(item.member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except (zipfile.BadZipFile, zlib.error, EOFError):
                    target.unlink(missing_ok=True)  # it stays in the copy of the zip

        by_student: dict[str, list[Item]] = {}
        for item in items:
            if not item.student_key:
                report.unrecognised.append(item.member)
                keep(item, "unrecognised")
            elif item.student_key not in roster:
                report.unknown_students.append(f"{item.member} ({lms} id {item.student_key}, {item.lms_name})")
                keep(item, "unknown-students")
            elif item.size > limit:
                report.too_large.append(f"{item.member} ({item.size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB)")
            else:
                by_student.setdefault(item.student_key, []).append(item)

        manifest = _read_manifest(course, assignment)
        manifest.update(lms=lms, assignment=assignment)
        students = manifest.setdefault("students", {})
        for key, student_items in sorted(by_student.items()):
            student = roster[key]
            sid = student.student_id
            notebooks = [i for i in student_items if i.kind == "notebook"]
            others = [i for i in student_items if i.kind != "notebook"]
            chosen: dict[str, Item] = {}
            groups: dict[str, list[Item]] = {}
            for item in notebooks:
                groups.setdefault(_expected(course, assignment, item.original) or "?", []).append(item)
            for name, group in groups.items():
                group.sort(key=_rank)
                if name != "?":
                    chosen[name] = group[-1]
                    for older in group[:-1]:
                        report.duplicates.append(f"{sid}: {older.member} (kept aside; graded {group[-1].member})")
                        keep(older, "duplicates", sid)
            strays = groups.get("?", [])
            if strays and len(course.notebooks(assignment)) == 1 and not chosen:
                best = strays[-1]  # sorted: the latest
                chosen[course.notebooks(assignment)[0]] = best
                report.wrong_names.append(f"{sid}: {best.original} (expected {course.notebooks(assignment)[0]}.ipynb)")
                for older in strays[:-1]:
                    report.duplicates.append(f"{sid}: {older.member} (kept aside; graded {best.member})")
                    keep(older, "duplicates", sid)
            else:
                for stray in strays:
                    report.wrong_names.append(f"{sid}: {stray.original} (not a notebook of {assignment}; kept aside)")
                    keep(stray, "wrong-names", sid)
            if not chosen and not others:
                continue

            dest = course.submission_dir(sid, assignment)
            if dest.exists():
                report.kept.append(str(_move_aside(dest, run / "previous" / sid)))
            dest.mkdir(parents=True)
            submitted_at = []
            for name, item in chosen.items():
                try:
                    data = zf.read(item.member)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    data = b""  # an empty notebook: the grader reports it as damaged
                    report.damaged.append(f"{sid}: {item.member} cannot be read from the zip ({exc})")
                if data and not _notebook_ok(data):
                    report.damaged.append(f"{sid}: {item.member}")
                # The student's own file name: the grader grades a renamed notebook and says so.
                target = dest / (f"{name}.ipynb" if _expected(course, assignment, item.original) else item.original)
                target.write_bytes(data)
                submitted_at.append(item.modified)
            for item in others:
                name = PurePosixPath(item.original).name
                if name in ("timestamp.txt",) or name.startswith("."):
                    keep(item, "not-collected", sid)
                    report.kept.append(str(run / "not-collected"))
                    continue
                try:
                    with zf.open(item.member) as src, open(dest / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    (dest / name).unlink(missing_ok=True)
                    report.damaged.append(f"{sid}: {item.member} cannot be read from the zip ({exc}); left in the zip")
            given = (timestamps or {}).get(sid) or student.submitted
            when = given or (max(submitted_at) if submitted_at else None)
            source = "the roster's submission time" if given else "the zip entry's date"
            if when:
                (dest / "timestamp.txt").write_text(f"{when}.000000 UTC" if len(when) == 19 else when, encoding="utf-8")
            late_lms = any(i.late_by_lms for i in chosen.values())
            late_due = bool(when and due and late.parse_due(when) > due)
            if late_lms or late_due:
                why = " and ".join(
                    w
                    for w, on in (
                        ("Canvas marked it late", late_lms),
                        (f"submitted {when} after the due date", late_due),
                    )
                    if on
                )
                report.late.append(f"{sid}: {why}")
            first = next(iter(chosen.values()), None) or student_items[0]
            entry = {
                "name": student.name,
                "lms_id": key,
                "prefix": first.prefix,
                "members": [i.member for i in student_items],
                "submitted_as": {n: i.original for n, i in chosen.items()},
                "timestamp": when or "",
                "timestamp_from": source if when else "",
                "late_by_lms": late_lms,
            }
            students[sid] = entry
            report.collected[sid] = entry
            with course.gradebook() as gb:
                gb.update_or_create_student(
                    sid, first_name=student.first_name, last_name=student.last_name, email=student.email or None
                )
    report.no_submission = sorted(s.student_id for k, s in roster.items() if k not in by_student)
    _write_manifest(course, assignment, manifest)
    (run / "report.txt").write_text(report.text() + "\n", encoding="utf-8")
    return report


def _manifest_path(course: Course, assignment: str) -> Path:
    return course.root / LMS_FOLDER / assignment / MANIFEST


def _read_manifest(course: Course, assignment: str) -> dict:
    path = _manifest_path(course, assignment)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_manifest(course: Course, assignment: str, manifest: dict) -> None:
    path = _manifest_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    ignore = course.root / LMS_FOLDER / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Submissions and feedback from an LMS are student data: never commit them.\n*\n", encoding="utf-8"
        )


def write_feedback_zip(course: Course, assignment: str) -> tuple[Path, list[str]] | None:
    """The feedback of every collected student, named for upload to the LMS.

    Returns (zip, students without feedback), or None if the assignment was not collected from an LMS.
    """
    manifest = _read_manifest(course, assignment)
    if not manifest.get("students"):
        return None
    lms = manifest["lms"]
    out = course.root / LMS_FOLDER / assignment / f"feedback-{lms}.zip"
    tmp = out.with_suffix(".zip.tmp")
    missing = []
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for sid, entry in sorted(manifest["students"].items()):
            folder = course.feedback_submission_dir(sid, assignment)
            pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
            wanted = [p for p in pages if p.stem in course.notebooks(assignment)] or pages
            if not wanted:
                missing.append(sid)
                continue
            for page in wanted:
                name = f"{page.stem}-feedback.html"
                # Canvas: the student's own file-name prefix; Moodle: the student's folder.
                arcname = entry["prefix"] + name if lms == "canvas" else f"{entry['prefix'].rstrip('_')}/{name}"
                zf.write(page, arcname)
    os.replace(tmp, out)
    return out, missing


def collected(course: Course, assignment: str) -> dict:
    """The manifest of the last collection from an LMS (empty if none)."""
    return _read_manifest(course, assignment)


def report_dict(report: Report) -> dict:
    return asdict(report)

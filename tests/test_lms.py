"""Submissions from an LMS zip, end to end with the `htcourse` command.

Collect, grade (sandboxed), feedback zip, export.

A Canvas zip and a Moodle zip, each with a late file, a duplicate, a student
not on the roster and a damaged notebook, built from the generated release
like the grading tests' fake students (tests/fixtures/submissions/). The
Canvas course also has a due date, a late policy (10% per started day, 0
after 72 hours) and one extension, so the exact penalties are checked in the
gradebook, the Canvas import, the plain CSV and the Moodle import.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import cli_env, fake_students

from htcourse.grading import lms
from htcourse.paths import REPO_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

PYTHON = sys.executable
ASSIGNMENT = "ps4-dirty-data"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
POLICY = """
c.LatePolicy.due_dates = {"ps4-dirty-data": "2026-10-16 17:00 UTC"}
c.LatePolicy.method = "per_day"
c.LatePolicy.fraction = 0.1
c.LatePolicy.cutoff_hours = 72
"""

fake = fake_students()


def htcourse(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = cli_env(HTCOURSE_CELL_TIMEOUT="8")
    return subprocess.run(
        [PYTHON, "-m", "htcourse.cli", *args, "--course", str(course)],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def new_course(root: Path, policy: str = "") -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    if policy:
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write(policy)
    shutil.copytree(REPO_ROOT / "assignments" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    result = htcourse(root, "assignments", ASSIGNMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def as_bytes(nb) -> bytes:
    return json.dumps(nb, indent=1).encode("utf-8")


def add(zf: zipfile.ZipFile, name: str, data: bytes, when: tuple) -> None:
    zf.writestr(zipfile.ZipInfo(name, date_time=when), data)


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def penalties(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        return {s.student.id: s.late_submission_penalty for s in gb.assignment_submissions(ASSIGNMENT)}


# --- Canvas ---------------------------------------------------------------------------

CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,ps4-dirty-data (777)\n"
    "    Points Possible,,,,,20\n"
    '"Lima, Ana",1001,S1,ana,A,\n"Brown, Ben",1002,S2,ben,A,\n"Chen, Chen",1003,S3,chen,A,\n'
    '"Diaz, Dara",1004,S4,dara,A,\n"Evans, Eli",1005,S5,eli,A,\n"Fong, Fay",1006,S6,fay,A,\n'
    '"Gran, Gus",1007,S7,gus,A,\n"Hill, Hana",1008,S8,hana,A,\n'
)


@pytest.fixture(scope="module")
def canvas_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("canvas")
    course = new_course(tmp / "course", POLICY)
    (course / "extensions.csv").write_text(
        "student,assignment,due,reason\ndara,ps4-dirty-data,2026-10-19 17:00 UTC,private: documented accommodation\n",
        encoding="utf-8",
    )
    good, blank = as_bytes(fake.correct(course, ASSIGNMENT)), as_bytes(fake.blank(course, ASSIGNMENT))
    archive = tmp / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        add(zf, "limaana_1001_5001_ps4-dirty-data.ipynb", good, (2026, 10, 16, 16, 0, 0))  # on time
        add(zf, "brownben_late_1002_5002_ps4-dirty-data.ipynb", good, (2026, 10, 17, 23, 0, 0))  # 30 h late: 2 days
        add(zf, "chenchen_1003_5003_ps4-dirty-data.ipynb", blank, (2026, 10, 15, 9, 0, 0))  # duplicate, older
        add(zf, "chenchen_1003_5004_ps4-dirty-data-1.ipynb", good, (2026, 10, 16, 12, 0, 0))  # the resubmission
        add(zf, "diazdara_late_1004_5005_ps4-dirty-data.ipynb", good, (2026, 10, 18, 17, 0, 0))  # within her extension
        add(
            zf, "evanseli_late_1005_5006_ps4-dirty-data.ipynb", good, (2026, 10, 21, 17, 0, 0)
        )  # 120 h: past the cut-off
        add(zf, "fongfay_1006_5007_ps4-dirty-data.ipynb", b'{"cells": [', (2026, 10, 16, 10, 0, 0))  # damaged
        add(zf, "grangus_1007_5008_my_homework.ipynb", good, (2026, 10, 16, 11, 0, 0))  # another name
        add(zf, "strangerzed_9999_5999_ps4-dirty-data.ipynb", good, (2026, 10, 16, 11, 0, 0))  # not on the roster
    roster = tmp / "canvas-gradebook.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    collected = htcourse(course, "collect", ASSIGNMENT, "--from", "canvas", str(archive), "--roster", str(roster))
    graded = htcourse(course, "grade", ASSIGNMENT, "--jobs", "2")
    return course, roster, collected, graded


def test_canvas_zip_is_collected_and_every_problem_reported(canvas_run):
    course, _, collected, _ = canvas_run
    out = collected.stdout
    assert collected.returncode == 1, out + collected.stderr  # done, with problems listed
    assert sorted(p.name for p in (course / "submitted").iterdir()) == [
        "ana",
        "ben",
        "chen",
        "dara",
        "eli",
        "fay",
        "gus",
    ]
    assert "strangerzed_9999_5999_ps4-dirty-data.ipynb (canvas id 9999" in out
    assert "chen: chenchen_1003_5003_ps4-dirty-data.ipynb (kept aside" in out
    assert "fay: fongfay_1006_5007_ps4-dirty-data.ipynb" in out and "damaged" in out
    assert "gus: my_homework.ipynb (expected ps4-dirty-data.ipynb)" in out
    assert "ben: Canvas marked it late and submitted 2026-10-17 23:00:00 after the due date" in out
    assert "eli:" in out and "hana" in out  # past the cut-off; on the roster with no submission
    # nothing is lost: the zip, the duplicate and the unknown student's file are kept
    run = next((course / "lms" / ASSIGNMENT).glob("collected-*"))
    assert (run / "submissions.zip").is_file()
    assert (run / "duplicates" / "chen" / "chenchen_1003_5003_ps4-dirty-data.ipynb").is_file()
    assert (run / "unknown-students" / "strangerzed_9999_5999_ps4-dirty-data.ipynb").is_file()
    assert (course / "submitted" / "gus" / ASSIGNMENT / "my_homework.ipynb").is_file()
    assert (course / "submitted" / "ben" / ASSIGNMENT / "timestamp.txt").read_text().startswith("2026-10-17 23:00:00")


def test_canvas_grading_applies_the_late_policy_with_the_extension(canvas_run):
    course, _, _, graded = canvas_run
    assert graded.returncode == 1, graded.stdout + graded.stderr  # fay's damaged notebook could not be graded
    assert "extension for dara: due 2026-10-19 17:00 UTC" in graded.stdout
    assert penalties(course) == {"ana": 0.0, "ben": 2.0, "chen": 0.0, "dara": 0.0, "eli": 10.0, "gus": 0.0}


def test_canvas_feedback_zip_keeps_each_students_file_name_prefix(canvas_run):
    course, _, _, graded = canvas_run
    with zipfile.ZipFile(course / "lms" / ASSIGNMENT / "feedback-canvas.zip") as zf:
        names = sorted(zf.namelist())
        page = zf.read("brownben_late_1002_5002_ps4-dirty-data-feedback.html").decode()
    assert names == sorted(
        f"{p}ps4-dirty-data-feedback.html"
        for p in (
            "limaana_1001_5001_",
            "brownben_late_1002_5002_",
            "chenchen_1003_5004_",
            "diazdara_late_1004_5005_",
            "evanseli_late_1005_5006_",
            "grangus_1007_5008_",
        )
    )
    assert "BEGIN HIDDEN TESTS" not in page and "<html" in page
    assert "no feedback (not graded) for: fay" in graded.stdout


def test_canvas_and_moodle_exports_carry_penalties_and_manual_grades(canvas_run, tmp_path):
    from nbgrader.api import Gradebook

    course, roster, _, _ = canvas_run
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        gb.find_grade("q6-answer", ASSIGNMENT, ASSIGNMENT, "ben").manual_score = 3  # as the formgrader stores it
        gb.db.commit()
    out = tmp_path / "grades"
    result = htcourse(course, "export", "canvas", "--roster", str(roster), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    by_login = {r["SIS Login ID"]: r["ps4-dirty-data (777)"] for r in rows(out / "canvas.csv") if r["SIS Login ID"]}
    # ben: 10 autograded + 3 by hand - 2 late; eli: past the cut-off; fay: not graded; hana: never submitted
    assert by_login == {
        "ana": "10",
        "ben": "11",
        "chen": "10",
        "dara": "10",
        "eli": "0",
        "fay": "0",
        "gus": "10",
        "hana": "",
    }
    ben = next(r for r in rows(out / "grades.csv") if r["student_id"] == "ben")
    assert (ben["raw_score"], ben["late_submission_penalty"], ben["score"]) == ("13", "2", "11")
    result = htcourse(course, "export", "moodle", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    moodle = {r["ID number"]: r for r in rows(out / "moodle.csv")}
    assert list(rows(out / "moodle.csv")[0]) == ["First name", "Last name", "ID number", "Email address", ASSIGNMENT]
    assert (
        moodle["ben"][ASSIGNMENT] == "11" and moodle["eli"][ASSIGNMENT] == "0" and moodle["ben"]["Last name"] == "Brown"
    )
    result = htcourse(course, "export", "csv", "--assignment", ASSIGNMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    plain = {r["student_id"]: r for r in rows(course / "grades" / f"{ASSIGNMENT}.csv")}
    assert (plain["eli"]["late_submission_penalty"], plain["eli"]["score"]) == ("10", "0")


def test_the_released_notebook_shows_the_due_date_and_policy(canvas_run):
    course = canvas_run[0]
    first = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, 4).cells[0]
    assert first.cell_type == "markdown"
    assert "Friday 16 October 2026, 17:00 UTC" in first.source
    assert "10% of the score for each started day late; work more than 3 days late scores 0" in first.source
    assert "private" not in first.source


# --- Moodle ---------------------------------------------------------------------------

WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Online text,Last modified (grade),Feedback comments\n"
    'Participant 201,Ana Lima,ana@example.edu,Submitted,,20,Yes,"Friday, 16 October 2026, 4:00 PM",,,\n'
    'Participant 202,Ben Brown,ben@example.edu,Submitted,,20,Yes,"Saturday, 17 October 2026, 11:00 PM",,,\n'
    'Participant 203,Chen Chen,chen@example.edu,Submitted,,20,Yes,"Friday, 16 October 2026, 12:00 PM",,,\n'
    'Participant 206,Fay Fong,fay@example.edu,Submitted,,20,Yes,"Friday, 16 October 2026, 10:00 AM",,,\n'
)


@pytest.fixture(scope="module")
def moodle_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("moodle")
    course = new_course(tmp / "course", POLICY)
    good, blank = as_bytes(fake.correct(course, ASSIGNMENT)), as_bytes(fake.blank(course, ASSIGNMENT))
    archive = tmp / "moodle-submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        add(zf, "Ana Lima_201_assignsubmission_file_/ps4-dirty-data.ipynb", good, (2026, 10, 16, 16, 0, 0))
        add(
            zf,
            "Ana Lima_201_assignsubmission_onlinetext_/onlinetext.html",
            b"<p>my notes</p>",
            (2026, 10, 16, 16, 0, 0),
        )
        add(zf, "Ben Brown_202_assignsubmission_file_/ps4-dirty-data.ipynb", good, (2026, 10, 17, 23, 0, 0))
        add(zf, "Chen Chen_203_assignsubmission_file_/ps4-dirty-data.ipynb", blank, (2026, 10, 15, 9, 0, 0))
        add(zf, "Chen Chen_203_assignsubmission_file_/ps4-dirty-data (1).ipynb", good, (2026, 10, 16, 12, 0, 0))
        add(
            zf,
            "Fay Fong_206_assignsubmission_file_ps4-dirty-data.ipynb",
            b"\x00not a notebook",
            (2026, 10, 16, 10, 0, 0),
        )
        add(zf, "Zed Unknown_299_assignsubmission_file_/ps4-dirty-data.ipynb", good, (2026, 10, 16, 10, 0, 0))
    worksheet = tmp / "grading-worksheet.csv"
    worksheet.write_text(WORKSHEET, encoding="utf-8")
    collected = htcourse(course, "collect", ASSIGNMENT, "--from", "moodle", str(archive), "--roster", str(worksheet))
    graded = htcourse(course, "grade", ASSIGNMENT, "--jobs", "2")
    return course, collected, graded


def test_moodle_zip_is_collected_graded_and_exported(moodle_run, tmp_path):
    course, collected, graded = moodle_run
    out = collected.stdout
    assert collected.returncode == 1, out + collected.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == [
        "ana@example.edu",
        "ben@example.edu",
        "chen@example.edu",
        "fay@example.edu",
    ]
    assert "Zed Unknown_299_assignsubmission_file_/ps4-dirty-data.ipynb (moodle id 299, Zed Unknown)" in out
    assert "chen@example.edu: Chen Chen_203_assignsubmission_file_/ps4-dirty-data.ipynb (kept aside" in out
    assert "fay@example.edu: Fay Fong_206_assignsubmission_file_ps4-dirty-data.ipynb" in out  # damaged (prefix layout)
    assert "ben@example.edu: submitted 2026-10-17 23:00:00 after the due date" in out  # from the worksheet's time
    assert (course / "submitted" / "ana@example.edu" / ASSIGNMENT / "onlinetext.html").is_file()

    assert graded.returncode == 1, graded.stdout + graded.stderr  # the damaged notebook
    assert penalties(course) == {"ana@example.edu": 0.0, "ben@example.edu": 2.0, "chen@example.edu": 0.0}
    with zipfile.ZipFile(course / "lms" / ASSIGNMENT / "feedback-moodle.zip") as zf:
        assert sorted(zf.namelist()) == [
            f"{who}_assignsubmission_file/ps4-dirty-data-feedback.html"
            for who in ("Ana Lima_201", "Ben Brown_202", "Chen Chen_203")
        ]

    result = htcourse(course, "export", "moodle", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    table = {r["Email address"]: r for r in rows(tmp_path / "moodle.csv")}
    assert {k: v[ASSIGNMENT] for k, v in table.items()} == {
        "ana@example.edu": "10",
        "ben@example.edu": "8",
        "chen@example.edu": "10",
        "fay@example.edu": "0",
    }
    assert table["ana@example.edu"]["ID number"] == "" and table["ana@example.edu"]["First name"] == "Ana"


# --- the file-name patterns on their own -------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("limaana_1001_5001_ps4-dirty-data.ipynb", ("limaana", None, "1001", "5001", "ps4-dirty-data.ipynb")),
        ("brownben_late_1002_5002_my_file.ipynb", ("brownben", "late", "1002", "5002", "my_file.ipynb")),
        ("some/folder/oneil_77_88_data.csv", ("oneil", None, "77", "88", "data.csv")),
    ],
)
def test_canvas_names(name, expected):
    found = lms.CanvasFileNames().collect(name)
    assert (found["name"], found["late"], found["student_id"], found["submission_id"], found["file_id"]) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Ana Lima_201_assignsubmission_file_/ps4.ipynb", ("Ana Lima", "201", "assignsubmission_file", "ps4.ipynb")),
        ("Ana Lima_201_assignsubmission_file/ps4.ipynb", ("Ana Lima", "201", "assignsubmission_file", "ps4.ipynb")),
        ("Ana Lima_201_assignsubmission_file_ps4.ipynb", ("Ana Lima", "201", "assignsubmission_file", "ps4.ipynb")),
        (
            "Ana Lima_201_assignsubmission_file_/sub/pic.png",
            ("Ana Lima", "201", "assignsubmission_file", "sub/pic.png"),
        ),
    ],
)
def test_moodle_names(name, expected):
    found = lms.MoodleFileNames().collect(name)
    assert (found["name"], found["student_id"], found["plugin"], found["file_id"]) == expected


def test_names_that_are_not_the_lms_s_do_not_match():
    assert lms.CanvasFileNames().collect("ps4-dirty-data.ipynb") is None
    assert lms.MoodleFileNames().collect("Ana Lima/ps4.ipynb") is None


# --- the instructor guide's quick start is what these tests do ------------------------------

QUICKSTART = REPO_ROOT / "book" / "instructors" / "quickstart.md"


def test_the_quick_start_shows_the_policy_and_commands_tested_here():
    import re
    import shlex

    from htcourse import cli

    text = QUICKSTART.read_text(encoding="utf-8")
    for line in POLICY.strip().splitlines():  # the late policy these tests apply, setting by setting
        setting = line.split("=", 1)[0].strip()
        shown = re.search(rf"^{re.escape(setting)} = (.+?)(?:\s+#.*)?$", text, re.M)
        assert shown and shown.group(1) == line.split("=", 1)[1].strip(), setting
    assert "dara,ps4-dirty-data,2026-10-19 17:00 UTC," in text  # the extension of the Canvas test
    commands = [
        line.split("#")[0].strip() for line in re.findall(r"^(?:sudo )?(?:\.venv/bin/)?(htcourse .+)$", text, re.M)
    ]
    commands += [c.strip() for c in re.findall(r"`(?:sudo )?(?:\.venv/bin/)?(htcourse [^`]+)`", text)]
    used = {shlex.split(c)[1] for c in commands}
    assert {"collect", "grade", "export", "assignments", "validate", "feedback", "serve", "classroom"} <= used
    for command in commands:
        args = shlex.split(command.replace("~", "/home/x"))[1:]
        if "--help" in args:
            continue
        cli.parser().parse_args(args)  # every command shown parses (an error would exit 2 here)


def test_roster_ids_that_cannot_be_folder_names_are_refused(tmp_path):
    canvas_roster = tmp_path / "canvas.csv"
    canvas_roster.write_text('Student,ID,SIS User ID,SIS Login ID,Section\n"A, B",1,S1,../etc,A\n', encoding="utf-8")
    with pytest.raises(lms.CollectError, match="cannot be a folder name"):
        lms.read_canvas_roster(canvas_roster)
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text("Identifier,Full name,Email address\nParticipant 1,A B,a/b@example.edu\n", encoding="utf-8")
    with pytest.raises(lms.CollectError, match="cannot be a folder name"):
        lms.read_moodle_roster(worksheet)
    worksheet.write_text(WORKSHEET, encoding="utf-8")
    roster = lms.read_moodle_roster(worksheet)
    assert roster["202"].student_id == "ben@example.edu" and roster["202"].submitted == "2026-10-17 23:00:00"

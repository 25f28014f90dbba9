"""Grades out to Canvas.

A small gradebook (manual grades, a late penalty, a missing submission) and rosters with mismatches.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from htcourse.grading import canvas

# nbgrader's gradebook code trips SQLAlchemy 2's autoflush warnings; harmless here (see grading/course.py).
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ROSTER_HEADER = "Student,ID,SIS User ID,SIS Login ID,Section,ps1-linking (4101),Current Score\n"
POINTS_ROW = "    Points Possible,,,,,10,(read only)\n"


@pytest.fixture
def gradebook(tmp_path) -> str:
    """ps1 (10 points: 6 autograded + 4 hand-graded) and ps2 (5 points); students ana, ben, chen, dara.

    ana: full marks on ps1 by hand too; ben: the hand-graded answer given 1 point by the
    instructor and a late penalty of 2; chen: submitted ps1 only; dara: submitted nothing.
    """
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for name, cells in (("ps1-linking", {"auto": 6, "essay": 4}), ("ps3-counting", {"auto": 5})):
            gb.add_assignment(name, duedate=datetime(2026, 10, 1))
            gb.update_or_create_notebook("problems", name)
            for cell, points in cells.items():
                gb.update_or_create_grade_cell(cell, "problems", name, max_score=points, cell_type="code")
        for student in ("ana", "ben", "chen", "dara"):
            gb.add_student(student)
        scores = {
            ("ana", "ps1-linking"): {"auto": 6, "essay": 4},
            ("ben", "ps1-linking"): {"auto": 5, "essay": 1},
            ("chen", "ps1-linking"): {"auto": 3, "essay": 2},
            ("ana", "ps3-counting"): {"auto": 5},
            ("ben", "ps3-counting"): {"auto": 4},
        }
        for (student, assignment), cells in scores.items():
            gb.add_submission(assignment, student, timestamp=datetime(2026, 10, 1, 9))
            for cell, points in cells.items():
                grade = gb.find_grade(cell, "problems", assignment, student)
                if cell == "essay":
                    grade.manual_score = points  # as the formgrader stores a hand grade
                else:
                    grade.auto_score = points
        gb.find_submission_notebook("problems", "ps1-linking", "ben").late_submission_penalty = 2
        gb.db.commit()
    return url


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def export(url, roster, out: Path, **kw):
    with Gradebook(url) as gb:
        return canvas.write_exports(gb, roster, out / "canvas.csv", out / "grades.csv", **kw)


def test_canvas_import_has_final_scores_with_manual_grades_and_late_penalties(gradebook, tmp_path):
    roster = write(
        tmp_path / "roster.csv",
        ROSTER_HEADER
        + POINTS_ROW
        + '"Ana, A",11,S001,ana,Sec 1,,90\n'
        + '"Ben, B",12,S002,BEN ,Sec 1,,80\n'  # login matched ignoring case and spaces
        + '"Chen, C",13,chen,c.chen,Sec 2,,70\n'  # matched by SIS User ID
        + '"Dara, D",14,S004,dara,Sec 2,,0\n'
        + '"Eli, E",15,S005,eli,Sec 2,,0\n',
    )  # on the roster, never in the gradebook
    out = tmp_path / "out"
    result = export(gradebook, roster, out)
    rows = read_rows(out / "canvas.csv")
    assert rows[0] == canvas.IDENTITY_COLUMNS + ["ps1-linking (4101)", "ps3-counting"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10", "5"]
    by_login = {r[3]: r[5:] for r in rows[2:]}
    assert by_login == {
        "ana": ["10", "5"],
        "BEN": ["4", "4"],  # 5 auto + 1 by hand - 2 late
        "c.chen": ["5", "0"],  # manual grade counted; no ps2 submission -> 0
        "dara": ["0", "0"],
        "eli": ["", ""],  # unknown to nbgrader: left blank, and reported
    }
    assert [r.values["SIS Login ID"] for r in result.roster_only] == ["eli"]
    assert "eli" in result.report() and "not in the gradebook" in result.report()

    plain = {(r[0], r[5]): r for r in read_rows(out / "grades.csv")[1:] if r[0]}
    header = read_rows(out / "grades.csv")[0]
    ben = dict(zip(header, plain[("ben", "ps1-linking")]))
    assert (ben["raw_score"], ben["late_submission_penalty"], ben["score"], ben["max_score"]) == ("6", "2", "4", "10")
    assert ben["sis_user_id"] == "S002" and ben["matched"] == "yes"
    assert [r for r in read_rows(out / "grades.csv") if r[3] == "eli" and r[-1] == "not in the gradebook"]


def test_gradebook_student_missing_from_the_roster_is_an_error_and_nothing_is_written(gradebook, tmp_path):
    roster = write(
        tmp_path / "roster.csv", ROSTER_HEADER + '"Ana, A",11,S001,ana,Sec 1,,\n"Ben, B",12,S002,ben,Sec 1,,\n'
    )
    out = tmp_path / "out"
    with pytest.raises(canvas.RosterError) as error:
        export(gradebook, roster, out)
    assert "chen" in str(error.value) and "dara" in str(error.value) and "--allow-unmatched" in str(error.value)
    assert not out.exists()
    result = export(gradebook, roster, out, allow_unmatched=True)
    assert result.gradebook_only == ["chen", "dara"]
    plain = read_rows(out / "grades.csv")
    assert {r[0] for r in plain if r[-1] == "not on the roster"} == {"chen", "dara"}, (
        "unmatched students stay in the plain CSV"
    )
    assert {r[3] for r in read_rows(out / "canvas.csv")[2:]} == {"ana", "ben"}


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '"Ana, A",11,S001,ana,Sec 1,,\n"Ana again",19,S009,ana,Sec 1,,\n',
            "duplicate SIS Login ID 'ana' on lines 2 and 3",
        ),
        ('"Ana, A",11,S001,ana,Sec 1,,\n"Ben, B",11,S002,ben,Sec 1,,\n', "duplicate ID '11'"),
        ('"Ana, A",11,,,Sec 1,,\n', "has neither a SIS Login ID nor a SIS User ID"),
        ('"Ana, A",11,ben,ana,Sec 1,,\n"Ben, B",12,S002,ben,Sec 1,,\n', "cannot tell which is theirs"),
    ],
)
def test_ambiguous_rosters_are_clear_errors(gradebook, tmp_path, body, message):
    roster = write(tmp_path / "roster.csv", ROSTER_HEADER + body)
    with pytest.raises(canvas.RosterError, match=message.replace("(", r"\(")):
        export(gradebook, roster, tmp_path / "out", allow_unmatched=True)
    assert not (tmp_path / "out").exists()


def test_not_a_canvas_export_or_missing_roster(gradebook, tmp_path):
    with pytest.raises(canvas.RosterError, match="missing column"):
        export(gradebook, write(tmp_path / "r.csv", "name,email\nAna,a@x\n"), tmp_path / "out")
    with pytest.raises(canvas.RosterError, match="does not exist"):
        export(gradebook, tmp_path / "nope.csv", tmp_path / "out")
    with pytest.raises(canvas.RosterError, match="not in the gradebook"):
        export(gradebook, write(tmp_path / "r2.csv", ROSTER_HEADER), tmp_path / "out", assignments=["ps9"])


def test_nbgrader_export_plugin_and_the_command_line(gradebook, tmp_path):
    """The plugin through nbgrader's own `nbgrader export`, and `python -m htcourse.grading.canvas` exit codes."""
    roster = write(
        tmp_path / "roster.csv",
        ROSTER_HEADER
        + "".join(
            f'"{s.title()}",{i},S{i},{s},Sec 1,,\n' for i, s in enumerate(["ana", "ben", "chen", "dara"], start=1)
        ),
    )
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.db_url = {gradebook!r}\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [
            "nbgrader",
            "export",
            "--exporter=htcourse.grading.canvas.CanvasExportPlugin",
            f"--CanvasExportPlugin.roster={roster}",
            "--to",
            str(tmp_path / "nb" / "canvas.csv"),
        ],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = read_rows(tmp_path / "nb" / "canvas.csv")
    assert rows[2][3:] == ["ana", "Sec 1", "10", "5"]
    assert (tmp_path / "nb" / "grades.csv").is_file()

    cli = [sys.executable, "-m", "htcourse.grading.canvas", "--course", str(course), "--out", str(tmp_path / "cli")]
    ok = subprocess.run(cli + ["--roster", str(roster)], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert read_rows(tmp_path / "cli" / "canvas.csv") == rows
    short = write(tmp_path / "short.csv", ROSTER_HEADER + '"Ana",1,S1,ana,Sec 1,,\n')
    bad = subprocess.run(cli + ["--roster", str(short)], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == canvas.EXIT_MISMATCH
    assert "in the gradebook but not on the roster" in bad.stderr and "ben, chen, dara" in bad.stderr

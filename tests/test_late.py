"""The late policy (htcourse.grading.late): penalties, due dates and the extensions file.

The whole path through nbgrader (due date and extension in the gradebook,
AssignLatePenalties, the exports) is tested in tests/test_lms.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from htcourse.grading import late

HOUR, DAY = 3600, 86400


@pytest.mark.parametrize(
    "seconds, method, fraction, cutoff, expected",
    [
        (0, "per_day", 0.1, 72, 0.0),  # on time
        (1, "per_day", 0.1, 72, 1.0),  # one second late: one started day
        (30 * HOUR, "per_day", 0.1, 72, 2.0),  # 30 hours: two started days
        (3 * DAY, "per_day", 0.1, 72, 3.0),  # exactly at the cut-off: still three days
        (3 * DAY + 1, "per_day", 0.1, 72, 10.0),  # past the cut-off: the whole score
        (5 * HOUR + 1, "per_hour", 0.05, 0, 3.0),  # six started hours at 5%
        (40 * DAY, "per_hour", 0.05, 0, 10.0),  # never more than the score
        (40 * DAY, "none", 0.0, 0, 0.0),  # no policy
        (80 * HOUR, "none", 0.0, 72, 10.0),  # none, but a cut-off
    ],
)
def test_penalty(seconds, method, fraction, cutoff, expected):
    assert late.penalty(10.0, seconds, method, fraction, cutoff) == pytest.approx(expected)


def test_the_nbgrader_plugin_reads_the_course_config():
    config = Config({"LatePolicy": {"method": "per_day", "fraction": 0.25, "cutoff_hours": 48}})
    plugin = late.LatePolicy(config=config)
    assert plugin.late_submission_penalty("ana", 8.0, 25 * HOUR) == 4.0
    assert plugin.late_submission_penalty("ana", 8.0, 49 * HOUR) == 8.0
    assert plugin.describe() == "25% of the score for each started day late; work more than 2 days late scores 0"
    assert late.LatePolicy().describe() == "no penalty for late work"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-10-16 17:00 UTC", datetime(2026, 10, 16, 17)),
        ("2026-10-16T17:00:00Z", datetime(2026, 10, 16, 17)),
        ("2026-10-16 19:00:00+02:00", datetime(2026, 10, 16, 17)),
        ("2026-10-16 17:00", datetime(2026, 10, 16, 17)),  # no zone: UTC
    ],
)
def test_due_dates(text, expected):
    assert late.parse_due(text) == expected


def test_an_unreadable_date_names_the_format():
    with pytest.raises(late.LateError, match="write it as 2026-10-16 17:00 UTC"):
        late.parse_due("next Friday")


def fake_course(tmp_path, text: str):
    (tmp_path / "extensions.csv").write_text(text, encoding="utf-8")
    return SimpleNamespace(root=tmp_path, config=Config())


def test_extensions_are_read_and_the_reason_is_required_as_a_column(tmp_path):
    course = fake_course(tmp_path, "student,assignment,due,reason\nana,ps1,2026-10-20 17:00 UTC,private\n\n")
    assert late.read_extensions(course) == [late.Extension("ana", "ps1", datetime(2026, 10, 20, 17), 2)]
    course = fake_course(tmp_path, "student,assignment,due\nana,ps1,2026-10-20\n")
    with pytest.raises(late.LateError, match="missing column"):
        late.read_extensions(course)


@pytest.mark.parametrize(
    "body, message",
    [
        ("ana,ps1,2026-10-20,x\nana,ps1,2026-10-21,y\n", "two extensions for ps1"),
        ("ana,ps1,soon,x\n", "line 2: cannot read 'soon'"),
        (",ps1,2026-10-20,x\n", "student and assignment are both needed"),
    ],
)
def test_bad_extension_files_are_clear_errors(tmp_path, body, message):
    with pytest.raises(late.LateError, match=message):
        late.read_extensions(fake_course(tmp_path, "student,assignment,due,reason\n" + body))


def test_no_extensions_file_means_no_extensions(tmp_path):
    assert late.read_extensions(SimpleNamespace(root=tmp_path, config=Config())) == []


def _course_with_a_due_date(tmp_path, due_dates: str) -> Path:
    import nbformat
    from nbgrader.api import Gradebook

    root = tmp_path / "course"
    (root / "source" / "ps1").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), str(root / "source" / "ps1" / "ps1.ipynb"))
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'test'\n"
        f"c.LatePolicy.due_dates = {due_dates}\n",
        encoding="utf-8",
    )
    (root / "extensions.csv").write_text("student,assignment,due,reason\nana,ps1,2026-10-19 17:00 UTC,private\n")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "test") as gb:
        gb.add_assignment("ps1")
    return root


def _grade(command: str, root: Path, *extra: str) -> int:
    if command == "htcourse":
        from htcourse.cli import main

        return main(["grade", "ps1", "--unsandboxed", "--course", str(root), *extra])
    from htcourse.grading.__main__ import main

    return main(["--course", str(root), "grade", "ps1", "--unsandboxed", *extra])


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
@pytest.mark.parametrize("command", ["htcourse", "python -m htcourse.grading"])
def test_both_grade_commands_apply_the_due_date_and_extensions(tmp_path, capsys, command):
    from nbgrader.api import Gradebook

    root = _course_with_a_due_date(tmp_path, '{"ps1": "2026-10-16 17:00 UTC"}')
    assert _grade(command, root) == 0  # nothing submitted yet: nothing graded
    out = capsys.readouterr().out
    assert "ps1: due 2026-10-16 17:00 UTC; no penalty for late work" in out
    assert "extension for ana noted (no submission yet)" in out
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "test") as gb:
        assert gb.find_assignment("ps1").duedate == datetime(2026, 10, 16, 17)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
@pytest.mark.parametrize("command", ["htcourse", "python -m htcourse.grading"])
def test_both_grade_commands_refuse_a_bad_late_policy_in_words(tmp_path, capsys, command):
    root = _course_with_a_due_date(tmp_path, '{"ps9": "2026-10-16 17:00 UTC"}')
    assert _grade(command, root) == 2
    assert "LatePolicy.due_dates names unknown assignment(s) ps9" in capsys.readouterr().err

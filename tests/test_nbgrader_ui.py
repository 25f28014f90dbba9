"""The course's formgrader extension (htcourse.nbgrader_ui); on the hub it is tested in tests/test_classroom.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from htcourse import nbgrader_ui as formgrader


def test_the_installed_nbgraders_file_links_get_the_base_url():
    from nbgrader.server_extensions.formgrader import handlers

    original = (Path(handlers.static_path) / "js" / "utils.js").read_text()
    fixed = formgrader.fixed_utils_js(original)
    assert formgrader.LINK_HREF not in fixed and fixed.count(formgrader.LINK_HREF_FIXED) == 1
    assert fixed.replace(formgrader.LINK_HREF_FIXED, formgrader.LINK_HREF) == original  # nothing else changed


def test_a_changed_nbgrader_is_a_clear_error():
    with pytest.raises(RuntimeError, match="check htcourse.nbgrader_ui against the installed nbgrader"):
        formgrader.fixed_utils_js("var linkTo = function () {};")


def test_autograde_runs_the_courses_grader_for_one_student():
    command = formgrader.grade_command("ps4-dirty-data", "ana")
    assert command[1:] == ["-m", "htcourse.cli", "grade", "ps4-dirty-data", "--student", "ana", "--force"]
    assert formgrader._jupyter_server_extension_points() == [{"module": "htcourse.nbgrader_ui"}]


def test_fetch_feedback_says_when_there_is_none_yet():
    def listed(*feedback: bool) -> dict:
        submissions = [{"timestamp": str(i), "has_local_feedback": f} for i, f in enumerate(feedback)]
        entry = {"assignment_id": "ps4-dirty-data", "status": "submitted", "submissions": submissions}
        return {"success": True, "value": [entry]}

    said = formgrader.no_feedback_yet(listed(False), "ps4-dirty-data")
    assert said["success"] is False and "No feedback for ps4-dirty-data yet" in said["value"]
    assert formgrader.no_feedback_yet(listed(False, True), "ps4-dirty-data") is None
    assert formgrader.no_feedback_yet({"success": False, "value": "trace"}, "ps4-dirty-data") is None


def test_the_formgrader_pages_point_to_the_courses_grader():
    from jinja2 import Environment, FileSystemLoader
    from nbgrader.server_extensions.formgrader import handlers

    env = Environment(loader=formgrader.template_loader(FileSystemLoader([handlers.template_path])))
    page = env.get_template("manage_submissions.tpl").render(
        base_url="/user/t", course_dir="/home/t/course", assignment_id="ps4-dirty-data"
    )
    assert 'htcourse grade "ps4-dirty-data"' in page and "Manage Submissions" in page
    assert 'nbgrader autograde "ps4-dirty-data"' not in page
    page = env.get_template("gradebook_assignments.tpl").render(base_url="/user/t")
    assert "Submissions appear here once they are graded" in page and "Manual Grading" in page

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


def test_each_hand_graded_answer_gets_its_rubric_from_the_readme():
    from htcourse.paths import REPO_ROOT

    found = formgrader.rubrics((REPO_ROOT / "assignments" / "README.md").read_text(), "ps4-dirty-data")
    assert sorted(found) == ["q6-answer", "q7-answer", "q8-answer"]
    assert found["q6-answer"].startswith("**Question 6, written reflection (5 points):**")
    assert "| Uses the numbers | 2 |" in found["q6-answer"] and "Question 7" not in found["q6-answer"]
    assert "### Rubric" not in found["q8-answer"] and "ps5" not in found["q8-answer"]
    assert formgrader.rubrics("# nothing here", "ps4-dirty-data") == {}

    # as the formgrader's page has it (nbconvert writes the attributes in its own order)
    box = '<div class="panel-footer">\n<div><textarea class="comment tabbable" id="q6-answer-comment"></textarea></div>'
    page = formgrader.with_rubrics(f"<p>answer</p>{box}", {"q6-answer": found["q6-answer"], "q9-answer": "x"})
    assert page.index('id="q6-answer-rubric"') < page.index('id="q6-answer-comment"')
    assert "<td>Uses the numbers</td>" in page and "q9-answer-rubric" not in page


def test_a_test_cell_worth_no_points_has_no_score_box():
    def box(grade_id, points):
        return (
            '<div class="panel-heading"><span class="nbgrader-label"><code>' + grade_id + "</code></span>"
            '<div class="pull-right"><span><input class="score tabbable" id="' + grade_id + '" style="width: 4em;"'
            ' type="number" /> / ' + points + "</span></div></div>"
        )

    page = formgrader.without_zero_point_boxes(box("q1-visible", "0.0") + box("q1-hidden", "2.0"), ["q1-visible"])
    visible, hidden = page.split('<div class="panel-heading">')[1:]
    assert formgrader.NO_POINTS in visible and 'style="display: none"' in visible and 'id="q1-visible"' in visible
    assert formgrader.NO_POINTS not in hidden and "display: none" not in hidden and "/ 2.0" in hidden

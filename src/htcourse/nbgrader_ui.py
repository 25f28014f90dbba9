"""nbgrader's pages on a hub, fixed where nbgrader 0.9 gets the course wrong.

A Jupyter server extension (``jpserver_extensions: {"htcourse.nbgrader_ui": true}``,
switched on for every user of the classroom by ``classroom/manage.py``). Jupyter
loads extensions in name order, so its handlers come before nbgrader's and take
over three of its routes. In the instructor's formgrader:

* **Autograde** (``/formgrader/api/submission/ASSIGNMENT/STUDENT/autograde``):
  nbgrader's button runs ``nbgrader autograde``, which executes the student's
  code as the instructor, unsandboxed, beside the solutions and the gradebook.
  Here it runs the course's grader instead (``htcourse grade ASSIGNMENT
  --student STUDENT --force`` in the course folder: the sandbox, the hidden
  tests kept out of the kernel, the markup cleaned, the feedback written), and
  the formgrader shows its report.
* **Links to files** (the assignment names and the Preview icons): nbgrader's
  ``utils.js`` makes them ``/tree/PATH``, without the server's base URL, which
  on a hub is ``/user/NAME/``, so they lead to the hub's 404 page. They get the
  base URL.

* **Rubrics beside the answers** (``/formgrader/submissions/ID/``): each
  hand-graded answer ``qN-answer`` gets the rubric of question N, from the
  course's ``README.md`` (``### Rubric: ASSIGNMENT``, ``**Question N, ...``),
  above its comment box; a test cell worth no points (a check the student
  could see) shows "no points" instead of a "/ 0.0" score box.
* **What the pages tell the instructor**: *Manage Submissions* says to grade
  everything at once with ``htcourse grade`` (nbgrader's says ``nbgrader
  autograde``, unsandboxed), and *Manual Grading*, empty until something is
  graded, says why.

In a student's Assignment List:

* **Fetch Feedback** (``/assignments/fetch_feedback``): nbgrader fetches, finds
  nothing, and the list looks the same, so the button seems to do nothing. When
  the assignment has no feedback yet, the list says so.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import sys
from pathlib import Path

#: nbgrader 0.9.x's utils.js: the href of a link opened outside JupyterLab, and the same with the base URL.
LINK_HREF = '.attr("href", prefix + path)'
LINK_HREF_FIXED = '.attr("href", base_url + prefix + path)'
#: How long the Autograde button waits for the course's grader (one submission).
AUTOGRADE_TIMEOUT = 900


#: Formgrader pages replaced or extended (``nbgrader/NAME`` is nbgrader's own page of that name).
TEMPLATES = {
    "manage_submissions.tpl": """{%- extends 'nbgrader/manage_submissions.tpl' -%}
{%- block messages -%}
<div class="alert alert-info" id="htcourse-grade-hint">
  <p><b>Grading:</b> the <b>Autograde</b> icon grades one student's submission with the course's grader, in its
  sandbox. To grade every collected submission at once, open a terminal in JupyterLab
  (<i>File &rarr; New &rarr; Terminal</i>) and run:</p>
<pre>
cd "{{ course_dir }}"
htcourse grade "{{ assignment_id }}"</pre>
  <p>Do not use <code>nbgrader autograde</code>: it runs the students' code as you, with no sandbox.</p>
</div>
{%- endblock -%}
""",
    "gradebook_assignments.tpl": """{%- extends 'nbgrader/gradebook_assignments.tpl' -%}
{%- block messages -%}
<div class="alert alert-info" id="htcourse-manual-grading-hint">
  Submissions appear here once they are graded. After <i>Collect</i> in <i>Manage Assignments</i>, grade them:
  <code>htcourse grade ASSIGNMENT</code> in a terminal (in your course folder), or the <b>Autograde</b> icons
  on the assignment's submissions page. Then the answers to grade by hand are listed here.
</div>
{%- endblock -%}
""",
}


def template_loader(nbgraders):
    """A jinja2 loader that serves :data:`TEMPLATES` first, and nbgrader's pages (also as ``nbgrader/NAME``)."""
    from jinja2 import ChoiceLoader, DictLoader, PrefixLoader

    return ChoiceLoader([DictLoader(TEMPLATES), PrefixLoader({"nbgrader": nbgraders}), nbgraders])


def rubrics(readme: str, assignment: str) -> dict[str, str]:
    """The rubric of each hand-graded question of ``assignment`` in the course's README, in Markdown,
    by answer cell (``q6-answer``: the paragraph from ``**Question 6`` to the next question)."""
    section = re.split(rf"^### Rubric: {re.escape(assignment)}\s*$", readme, maxsplit=1, flags=re.M)
    if len(section) < 2:
        return {}
    body = re.split(r"^#{1,3} ", section[1], maxsplit=1, flags=re.M)[0]
    parts = re.split(r"^(?=\*\*Question \d+)", body, flags=re.M)
    found = {}
    for part in parts:
        number = re.match(r"\*\*Question (\d+)", part)
        if number:
            found[f"q{number.group(1)}-answer"] = part.strip()
    return found


def with_rubrics(page: str, by_cell: dict[str, str]) -> str:
    """The formgrader's grading page with each rubric above its answer's comment box."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for grade_id, text in by_cell.items():
        comment = f'id="{html.escape(grade_id)}-comment"'
        at = page.find(comment)
        start = page.rfind('<div class="panel-footer">', 0, at)
        if at < 0 or start < 0 or page.count(comment) != 1:
            continue
        panel = (
            f'<div class="panel-footer htcourse-rubric" id="{html.escape(grade_id)}-rubric">'
            f"<b>Rubric</b> (the course's README)\n{markdown2html_mistune(text)}</div>\n"
        )
        page = page[:start] + panel + page[start:]
    return page


#: What a test cell worth no points shows in the grading page instead of its score box.
NO_POINTS = '<span class="pull-right text-muted htcourse-no-points">a check the student could see: no points</span>'


def without_zero_point_boxes(page: str, zero_point_cells: list[str]) -> str:
    """The grading page with the score box of each cell worth no points hidden (kept in the page for
    the formgrader's script) and :data:`NO_POINTS` shown instead."""
    for grade_id in zero_point_cells:
        field = f'<input class="score tabbable" id="{html.escape(grade_id)}"'
        at = page.find(field)
        start = page.rfind('<div class="pull-right">', 0, at)
        if at < 0 or start < 0 or page.count(field) != 1:
            continue
        hidden = '<div class="pull-right" style="display: none">'
        page = page[:start] + NO_POINTS + hidden + page[start + len('<div class="pull-right">') :]
    return page


def fixed_utils_js(original: str) -> str:
    """nbgrader's ``utils.js`` with its file links under the server's base URL."""
    if LINK_HREF not in original:
        raise RuntimeError(
            "nbgrader's formgrader utils.js no longer has the link this extension fixes: "
            "check htcourse.nbgrader_ui against the installed nbgrader"
        )
    return original.replace(LINK_HREF, LINK_HREF_FIXED)


def grade_command(assignment: str, student: str) -> list[str]:
    """The course's grader for one submission, as the Autograde button runs it."""
    return [sys.executable, "-m", "htcourse.cli", "grade", assignment, "--student", student, "--force"]


def no_feedback_yet(listed: dict, assignment_id: str) -> dict | None:
    """The Assignment List's answer when ``assignment_id`` has no feedback yet (else None): an error,
    which nbgrader's list shows in words where it would otherwise change nothing."""
    if not listed.get("success"):
        return None
    submitted = [a for a in listed["value"] if a["assignment_id"] == assignment_id and a["status"] == "submitted"]
    if any(s.get("has_local_feedback") for a in submitted for s in a.get("submissions", [])):
        return None
    return {
        "success": False,
        "value": f"No feedback for {assignment_id} yet: your instructor has not returned it. "
        "Try Fetch Feedback again once they say it is out (press the refresh button to see the list again).",
    }


def _handlers():
    from nbgrader.server_extensions.assignment_list.handlers import BaseAssignmentHandler
    from nbgrader.server_extensions.formgrader import handlers as nb_handlers
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, BaseHandler, check_xsrf
    from tornado import web

    class UtilsJsHandler(BaseHandler):
        @web.authenticated
        def get(self):
            if "nbgrader_formgrader" not in self.settings:  # a student's server: no formgrader
                raise web.HTTPError(404)
            original = (Path(nb_handlers.static_path) / "js" / "utils.js").read_text()
            self.set_header("Content-Type", "application/javascript; charset=UTF-8")
            self.set_header("Cache-Control", "no-cache")
            self.write(fixed_utils_js(original))

    class SandboxedAutogradeHandler(BaseApiHandler):
        @web.authenticated
        @check_xsrf
        async def post(self, assignment_id: str, student_id: str):
            if "nbgrader_formgrader" not in self.settings:
                raise web.HTTPError(404)
            course = Path(self.coursedir.root)
            process = await asyncio.create_subprocess_exec(
                *grade_command(assignment_id, student_id),
                cwd=course,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                out, _ = await asyncio.wait_for(process.communicate(), AUTOGRADE_TIMEOUT)
            except TimeoutError:
                process.kill()
                out = b""
            log = out.decode(errors="replace")
            ok = process.returncode == 0
            error = "" if ok else f"htcourse grade exited with {process.returncode}: see the log above"
            self.write(json.dumps({"success": ok, "log": log, "error": error}))

    class OurPages:
        """nbgrader's page handler, rendering :data:`TEMPLATES` where they replace nbgrader's."""

        def prepare(self):
            if "nbgrader_formgrader" not in self.settings:  # a student's server: no formgrader
                raise web.HTTPError(404)
            return super().prepare()

        def render(self, name, **ns):
            env = self.settings["nbgrader_jinja2_env"]
            if not getattr(env, "htcourse_pages", False):
                env.loader = template_loader(env.loader)
                env.htcourse_pages = True
            return super().render(name, **ns)

    class ManageSubmissions(OurPages, nb_handlers.ManageSubmissionsHandler):
        pass

    class GradebookAssignments(OurPages, nb_handlers.GradebookAssignmentsHandler):
        pass

    class Submission(OurPages, nb_handlers.SubmissionHandler):
        def write(self, chunk):
            if isinstance(chunk, str) and "nbgrader_cell" in chunk:
                readme = Path(self.coursedir.root) / "README.md"
                model = self.gradebook.find_submission_notebook_by_id(self.path_args[0])
                if readme.is_file():
                    chunk = with_rubrics(chunk, rubrics(readme.read_text(), model.assignment.assignment.name))
                zero = [cell.name for cell in model.notebook.grade_cells if not cell.max_score]
                chunk = without_zero_point_boxes(chunk, zero)
            return super().write(chunk)

    class FetchFeedbackHandler(BaseAssignmentHandler):
        @web.authenticated
        def post(self):
            try:
                data = {
                    "assignment_id": self.get_argument("assignment_id"),
                    "course_id": self.get_argument("course_id"),
                }
            except web.MissingArgumentError:
                data = self.get_json_body()
            assignment_id, course_id = data["assignment_id"], data["course_id"]
            self.manager.fetch_feedback(course_id, assignment_id)
            listed = self.manager.list_assignments(course_id=course_id)
            self.finish(json.dumps(no_feedback_yet(listed, assignment_id) or listed))

    return [
        (r"/assignments/fetch_feedback", FetchFeedbackHandler),
        (r"/formgrader/static/js/utils.js", UtilsJsHandler),
        (r"/formgrader/manage_submissions/([^/]+)/?", ManageSubmissions),
        (r"/formgrader/gradebook/?", GradebookAssignments),
        (r"/formgrader/submissions/([^/]+)/?", Submission),
        (r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde", SandboxedAutogradeHandler),
    ]


def _jupyter_server_extension_points():
    return [{"module": "htcourse.nbgrader_ui"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    base = serverapp.web_app.settings["base_url"]
    rules = [(url_path_join(base, pattern.lstrip("/")), handler) for pattern, handler in _handlers()]
    serverapp.web_app.add_handlers(".*$", rules)
    serverapp.log.info(
        "htcourse.nbgrader_ui: Autograde runs the course's sandboxed grader; links and Fetch Feedback fixed"
    )

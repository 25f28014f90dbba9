"""The formgrader's Content-Security-Policy (src/htcourse/grading/formgrader_csp.py), on small pages.

The policy on a real formgrader, in Chromium, with a hostile submission:
tests/test_grading.py::test_no_payload_runs_in_the_formgrader_or_the_feedback.
"""

from __future__ import annotations

import base64
import hashlib

from htcourse.grading import formgrader_csp as csp

HEADER_SCRIPT = (
    '\nvar submission_id = "{sid}";\nvar notebook_id = "ps4-dirty-data";\n'
    'var assignment_id = "ps4-dirty-data";\nvar base_url = "/user/htc-teacher/formgrader";\n'
)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _page(head_script: str, notebook: str) -> str:
    return (
        f'<html><head><script src="/formgrader/static/js/formgrade.js"></script>'
        f'<script type="text/javascript">{head_script}</script>'
        f'<script type="text/x-mathjax-config">init_mathjax();</script></head>'
        f'<body><div class="container" {csp.NOTEBOOK_MARKER}>{notebook}</div></body></html>'
    )


def test_the_installed_templates_give_patterns_and_handlers():
    patterns, handlers = csp.template_rules(csp.nbgrader_template_dir())
    assert any(p.fullmatch(HEADER_SCRIPT.format(sid="abc123")) for p in patterns)
    assert _hash("toggle_name(true);") in handlers and _hash("toggle_name(false);") in handlers


def test_only_nbgrader_scripts_before_the_notebook_are_allowed():
    patterns, _ = csp.template_rules(csp.nbgrader_template_dir())
    own = HEADER_SCRIPT.format(sid="abc123")
    # nbgrader's own script, with other values, inside the student's notebook: not allowed
    copy = HEADER_SCRIPT.format(sid="a-classmates-submission")
    page = _page(own, f"<p>answer</p><script>{copy}</script><script>alert(1)</script>")
    assert csp.allowed_hashes(page, patterns) == [_hash(own)]
    # a value that leaves its string literal does not match
    escaped = HEADER_SCRIPT.format(sid='x"; fetch("//evil"); "')
    assert csp.allowed_hashes(_page(escaped, ""), patterns) == []
    # any other script in the head: not allowed
    assert csp.allowed_hashes(_page("window.pwned = 1", ""), patterns) == []


def test_the_header_keeps_the_servers_directives_and_never_allows_inline_script():
    policy = csp.FormgraderCSP("/user/htc-teacher/")
    page = _page(HEADER_SCRIPT.format(sid="abc123"), "")
    header = policy.header("hub.example:8000", page, "frame-ancestors 'none'; report-uri /api/csp-report")
    directives = {d.split()[0]: d.split()[1:] for d in header.split("; ")}
    script = directives["script-src"]
    assert script[0] == "hub.example:8000/user/htc-teacher/formgrader/static/"
    assert _hash(HEADER_SCRIPT.format(sid="abc123")) in script and "'unsafe-hashes'" in script
    assert "'unsafe-inline'" not in script and "'self'" not in script
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["report-uri"] == ["/api/csp-report"]
    # a response that cannot be read (JSON, compressed, streamed): no inline script at all
    bare = policy.header("hub.example:8000", None, None)
    assert "sha256" not in bare and "unsafe-hashes" not in bare


def test_the_submission_view_gets_the_mathjax_stand_in_allowed_by_its_hash():
    policy = csp.FormgraderCSP("/")
    header, page = policy.apply("127.0.0.1:8888", _page(HEADER_SCRIPT.format(sid="abc"), "<p>x</p>"), None)
    assert page.index(csp.MATHJAX_STANDIN) < page.index(csp.NOTEBOOK_MARKER)
    assert _hash(csp.MATHJAX_STANDIN) in header and "127.0.0.1:8888/formgrader/static/" in header
    # a page without a student's notebook is sent as it is
    listing = "<html><head><script>var x = 1;</script></head><body></body></html>"
    assert policy.apply("h", listing, None)[1] == listing

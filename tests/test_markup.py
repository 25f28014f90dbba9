"""Cleaning students' markup (htcourse.grading.markup): active content goes, formatting stays.

The whole path (a hostile submission graded, then opened in the formgrader and
the feedback page in Chromium) is tested in tests/test_grading.py.
"""

from __future__ import annotations

import base64
import re

import nbformat
import pytest

from htcourse.grading import markup

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()

HOSTILE = [
    ("<script>alert(1)</script>", "<script>"),
    ('<img src="x" onerror="alert(1)">', "onerror= handler"),
    ('<svg onload="alert(1)"><rect/></svg>', "<svg>"),
    ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', "<iframe>"),
    ('<a href="javascript:alert(1)">x</a>', "javascript: address"),
    ('<a href=" JaVaScRiPt:alert(1)">x</a>', "javascript: address"),
    ('<details open ontoggle="alert(1)">x</details>', "ontoggle= handler"),
    ('<form action="http://127.0.0.1/"><button>go</button></form>', "<form>"),
    ('<object data="x.swf"></object>', "<object>"),
    ('<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>', "<noscript>"),
]


@pytest.mark.parametrize("html, reported", HOSTILE)
def test_active_html_is_removed_and_named(html, reported):
    cleaned, removed = markup.clean_html(html)
    assert reported in removed, removed
    low = cleaned.lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "ontoggle",
        "javascript:",
        "srcdoc",
        "<iframe",
        "<svg",
        "<form",
        "<object",
    ):
        assert bad not in low, cleaned


@pytest.mark.parametrize("html, reported", HOSTILE)
def test_active_markdown_is_removed_and_the_result_renders_clean(html, reported):
    source, removed = markup.clean_markdown("Some *words* first.\n\n" + html)
    assert reported in removed, removed
    rendered = markup.render_markdown(source)
    assert markup.clean_html(rendered)[1] == [], rendered
    assert "<em>words</em>" in rendered or "words" in rendered


def test_legitimate_formatting_is_left_as_written():
    source = (
        "**Bold** and *emphasis*, `code`, a [link](https://example.org/a?b=1&c=2) and a list:\n\n"
        "1. one\n2. two\n\n> a quote\n\n| year | cases |\n|:---|---:|\n| 2020 | 12 |\n\n"
        "![drawing](attachment:d.png) and ![inline](data:image/png;base64," + PNG + ")\n\n"
        "Less than: 3 < 4 & 5 > 2.\n\n<details><summary>More</summary>Hidden <em>detail</em></details>\n"
    )
    cleaned, removed = markup.clean_markdown(source, {"d.png": {"image/png": PNG}})
    assert removed == [] and cleaned == source


def test_a_pandas_table_keeps_its_table_and_is_not_reported():
    pandas = pytest.importorskip("pandas")
    html = pandas.DataFrame({"year": [2020], "cases": [12]})._repr_html_()
    output = nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "x"})
    assert markup.clean_output(output) == [markup.QUIET]
    kept = output["data"]["text/html"]
    assert "<table" in kept and "<td>12</td>" in kept and "<style" not in kept


def test_script_outputs_are_dropped_and_pictures_kept_as_pictures():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="5" height="5"/></svg>'
    outputs = [
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "<JS>"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": svg}),
        nbformat.v4.new_output(
            "display_data", data={"image/png": PNG}, metadata={"image/png": {"width": "1 onerror=alert(1)"}}
        ),
        nbformat.v4.new_output("display_data", data={"image/png": '" onerror="alert(1)'}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "<img src=x onerror=alert(1)> *fine*"}),
    ]
    removed = [markup.clean_output(o) for o in outputs]
    assert removed[0] == ["an output of type application/javascript"] and list(outputs[0]["data"]) == ["text/plain"]
    assert "text/plain" in outputs[1]["data"] and len(outputs[1]["data"]) == 1
    assert outputs[2]["data"]["text/html"].startswith('<img src="data:image/svg+xml;base64,')
    assert outputs[3]["metadata"] == {} and outputs[3]["data"]["image/png"] == PNG
    assert "image/png" not in outputs[4]["data"]
    assert "onerror" not in outputs[5]["data"]["text/html"] and "<em>fine</em>" in outputs[5]["data"]["text/html"]
    assert "onerror= handler" in removed[5]


def test_the_preprocessor_records_per_cell_and_drops_widget_state():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb.cells = [
        nbformat.v4.new_markdown_cell("<script>alert(1)</script> hi"),
        nbformat.v4.new_markdown_cell("plain"),
        nbformat.v4.new_raw_cell('<img src=x onerror="alert(1)">'),
    ]
    nb, _ = markup.SanitizeMarkup().preprocess(nb, {})
    assert "widgets" not in nb.metadata
    assert markup.removed_in(nb.cells[0]) == ["<script>"] and "<script" not in nb.cells[0].source
    assert markup.removed_in(nb.cells[1]) == [] and nb.cells[1].source == "plain"
    assert markup.removed_in(nb.cells[2]) == ["onerror= handler"]


def test_an_uploaded_picture_becomes_an_attachment_but_a_link_does_not(tmp_path):
    (tmp_path / "piece.png").write_bytes(base64.b64decode(PNG))
    (tmp_path / "secret").write_text("root only")
    (tmp_path / "link.png").symlink_to(tmp_path / "secret")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("![mine](piece.png) ![theirs](link.png) ![gone](../x.png)")]
    problems = markup.inline_uploaded_images(nb, tmp_path, ["piece.png", "link.png"], 100_000)
    assert nb.cells[0].attachments == {"piece.png": {"image/png": PNG}}
    assert "![mine](attachment:piece.png)" in nb.cells[0].source
    assert "![theirs](link.png)" in nb.cells[0].source
    assert len(problems) == 1 and "link.png" in problems[0]


def test_no_id_or_name_of_the_formgraders_own_survives():
    """Student markup cannot take the id of a formgrader element (DOM clobbering): ids are prefixed, names go."""
    own = ["q8-answer", "q8-answer-comment", "q8-answer_extra_credit", "notebook-container", "statusmessage"]
    source = "## q8-answer\n\nSee [the heading](#q8-answer).\n\n" + " ".join(
        f'<span id="{name}">x</span><a name="{name}">y</a><img name="{name}" src="attachment:d.png">' for name in own
    )
    cleaned, _ = markup.clean_markdown(source, {"d.png": {"image/png": PNG}})
    for page in (markup.render_markdown(cleaned, {"d.png": {"image/png": PNG}}), cleaned):
        ids = re.findall(r'\bid="([^"]*)"', page)
        assert ids and all(i.startswith(markup.ID_PREFIX) for i in ids), ids
        assert not set(ids) & set(own) and " name=" not in page, page
        assert 'href="#user-content-q8-answer"' in page  # the link within the answer still finds its heading
    # an output's HTML too
    output = nbformat.v4.new_output("display_data", data={"text/html": '<div id="notebook-container">z</div>'})
    markup.clean_output(output)
    assert 'id="user-content-notebook-container"' in output["data"]["text/html"]
    # cleaning twice changes nothing more
    assert markup.clean_markdown(cleaned, {"d.png": {"image/png": PNG}}) == (cleaned, [])


def test_markup_is_cleaned_once_per_process_with_the_same_result_and_a_fresh_list(monkeypatch):
    """The course's cells come back in every submission: clean_markdown and clean_html remember their results."""
    source = "Some *words*.\n\n" + HOSTILE[0][0] + f"\n\n{id(monkeypatch)}"  # new to this process
    calls = []
    real = markup.render_markdown
    monkeypatch.setattr(markup, "render_markdown", lambda *a: calls.append(a) or real(*a))
    first = markup.clean_markdown(source)
    rendered = len(calls)
    assert rendered >= 1 and first[1] == ["<script>"]
    first[1].append("changed by a caller")
    assert markup.clean_markdown(source) == (first[0], ["<script>"]), "the same result, in a list of its own"
    assert len(calls) == rendered, "the second time, nothing is rendered again"
    assert markup._clean_markdown(source, None) == markup.clean_markdown(source)  # what was remembered is right
    # with attachments, and over the size bound, a cell is cleaned each time
    markup.clean_markdown(source, {"d.png": {"image/png": PNG}})
    markup.clean_markdown(source, {"d.png": {"image/png": PNG}})
    assert len(calls) > rendered + 2
    big = "x" * markup.REMEMBER_MAX_CHARS + "<script>alert(1)</script>"
    before = len(calls)
    assert markup.clean_markdown(big)[1] == ["<script>"] and markup.clean_markdown(big)[1] == ["<script>"]
    assert len(calls) >= before + 2
    html = HOSTILE[1][0] + f"<!-- {id(calls)} -->"
    assert markup.clean_html(html) == markup.clean_html.__wrapped__(html)

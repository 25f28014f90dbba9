"""Unit tests of the feedback steps: hidden tests redacted (htcourse.grading.feedback), output bounded (outputs)."""

from __future__ import annotations

import json

import nbformat


def test_sanitize_hidden_tests_unit():
    from htcourse.grading.feedback import HIDDEN_FAILED, REDACTED, SanitizeHiddenTests
    from htcourse.grading.outputs import LimitOutputSize

    hidden = nbformat.v4.new_code_cell(
        "# hidden test\n### BEGIN HIDDEN TESTS\n# CANARY-x-1\nassert answer == 42, 'secret'\n### END HIDDEN TESTS"
    )
    hidden.outputs = [
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="secret", traceback=["----> 4 assert answer == 42, 'secret'"]
        )
    ]
    spy = nbformat.v4.new_code_cell("print(_ih)")
    spy.outputs = [nbformat.v4.new_output("stream", name="stdout", text="['', \"assert answer == 42, 'secret'\"]")]
    big = nbformat.v4.new_code_cell("print('x' * 10**6)")
    big.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 10**6)]
    nb = nbformat.v4.new_notebook(cells=[hidden, spy, big])
    nb, _ = SanitizeHiddenTests().preprocess(nb, {})
    nb, _ = LimitOutputSize().preprocess(nb, {})
    text = json.dumps(nb)
    assert "CANARY" not in text and "answer == 42" not in text and "secret" not in text
    assert nb.cells[0].source == "# hidden test" and nb.cells[0].outputs[0].evalue == HIDDEN_FAILED
    assert nb.cells[1].outputs[0].text.strip() == REDACTED
    assert len(nb.cells[2].outputs[0].text) < 25_000 and "truncated" in nb.cells[2].outputs[0].text


def test_the_feedback_exporter_skips_nbconverts_second_parse_only_where_it_changes_nothing():
    """Same page as nbconvert's HTMLExporter (once parsed); pictures still get their alternative text."""
    import base64

    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from htcourse.grading.feedback import FeedbackHTMLExporter, with_csp

    png = base64.b64encode(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    ).decode()
    text = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("**Answer**"), nbformat.v4.new_code_cell("1")])
    picture = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()")])
    picture.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})]
    pages = {}
    for name, nb in (("text", text), ("picture", picture)):
        ours, _ = FeedbackHTMLExporter(template_name="classic").from_notebook_node(nb)
        theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
        assert str(BeautifulSoup(ours, "html.parser")) == str(BeautifulSoup(with_csp(theirs), "html.parser"))
        pages[name] = ours, with_csp(theirs)
    assert pages["text"][0] != pages["text"][1], "the page without pictures was not parsed and written again"
    assert pages["picture"][0] == pages["picture"][1]
    assert "No description has been provided for this image" in pages["picture"][0]


def test_code_cells_are_highlighted_once_per_process_as_nbconvert_highlights_them(monkeypatch):
    from nbconvert.filters.highlight import Highlight2HTML

    from htcourse.grading import feedback

    calls = []
    real = Highlight2HTML.__call__
    monkeypatch.setattr(Highlight2HTML, "__call__", lambda self, *a: calls.append(a) or real(self, *a))
    ours = feedback.RememberedHighlight(pygments_lexer="ipython3")
    stock = Highlight2HTML(pygments_lexer="ipython3")
    source = f"x = {id(calls)}  # new to this process\n%time x"
    cases = [
        (source, None, None),
        (source, "python", None),
        (source, None, {"magics_language": "bash"}),
        ("", None, {}),
    ]
    for args in cases:
        assert ours(*args) == real(stock, *args)
    made = len(calls)
    assert made == len(cases), "each distinct cell was highlighted"
    for args in cases:
        assert ours(*args) == real(stock, *args)
    assert len(calls) == made, "and not again"
    assert ours(source, None, {"magics_language": "bash"}) != ours(source)  # the key tells them apart
    wider = feedback.RememberedHighlight(pygments_lexer="ipython3", extra_formatter_options={"linenos": "inline"})
    assert wider(source) == real(Highlight2HTML(extra_formatter_options={"linenos": "inline"}), source)
    assert wider(source) != ours(source)

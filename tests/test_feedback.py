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

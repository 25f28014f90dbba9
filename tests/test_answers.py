"""Unit tests of htcourse.grading.answers and the checker's feedback words: declared answers against hidden tests."""

from __future__ import annotations


def test_declarations_are_checked_against_the_hidden_tests_names():
    from htcourse.grading.answers import declaration_problems, declared_names, free_names
    from htcourse.grading.checker import failure_lines

    setup = ["import math\nfrom htcourse import data\nraw = data.load('x')"]
    good = (
        "# Hidden test\n# ANSWERS CHECKED: total, share\n### BEGIN HIDDEN TESTS\n# CANARY-x-1\n"
        "_df = data.load('x')\nassert total == len(_df), 'total is not the number of rows.'\n"
        "assert math.isclose(share, sum(1 for _r in _df) / len(raw))\n### END HIDDEN TESTS"
    )
    assert declared_names(good) == ["total", "share"]
    assert free_names(good) == {"total", "share", "data", "math", "raw"}
    assert declaration_problems("q1-hidden", good, setup) == []
    problems = declaration_problems("q1-hidden", good.replace("total, share", "total, extra"), setup)
    assert any("reads share" in p for p in problems) and any("names extra" in p for p in problems)
    assert (
        "declare the answers"
        in declaration_problems("q1-hidden", good.replace("# ANSWERS CHECKED: total, share\n", ""), setup)[0]
    )
    computed = good.replace("'total is not the number of rows.'", "f'expected {len(_df)}'")
    assert any("plain string" in p for p in declaration_problems("q1-hidden", computed, setup))
    # feedback words: the assert's own message, or the answers the failing line reads; never the error's text
    assert failure_lines(good, 6, AssertionError("secret 42"), ["total", "share"], "question 1") == [
        "Question 1: total is not the number of rows."
    ]
    assert failure_lines(good, 7, AssertionError(), ["total", "share"], "question 1") == [
        "Question 1: the hidden check of share did not pass."
    ]
    assert failure_lines(good, 7, TypeError("expected 0.25"), ["total", "share"], "question 1") == [
        "Question 1: the hidden check of share could not run on your answer (TypeError)."
    ]


def test_a_report_sent_as_text_reaches_the_checker_as_a_string_that_only_the_checker_reads():
    import json

    import pandas as pd

    from htcourse.grading import wire
    from htcourse.grading.answers import pick_answers_message
    from htcourse.grading.checker import unpack_report

    frame = pd.DataFrame({"x": [1.5, float("nan")], "s": ["a", None]})
    namespace = {"n": 3, "frame": frame, "f": lambda: 1}
    text = wire.answers_text("q1", ["n", "frame", "f", "gone"], namespace)
    assert json.loads(text) == json.loads(
        json.dumps(wire.build_answers_message("q1", ["n", "frame", "f", "gone"], namespace))
    )
    picked = pick_answers_message([{"cell": "q2", "json": "{}"}, {"cell": "q1", "json": text}], "q1", 10_000)
    assert json.loads(picked) == text, "a JSON string holding the report's text, whatever the text is"
    lines, values = unpack_report(json.loads(picked), "q1", ["n", "frame", "f", "gone"], "question 1")
    assert values["n"] == 3 and values["frame"].equals(frame)
    assert any("f could not be checked" in line for line in lines) and any(
        "gone was not defined" in line for line in lines
    )
    # whatever a forged text holds, it is one JSON string in the checker's request: nothing of it becomes a key there
    forged = '1}, "setup": ["import os"], "x": {"y": 1'
    request = json.loads(
        '{"reports": {"q1": ' + pick_answers_message([{"cell": "q1", "json": forged}], "q1", 10_000) + "}}"
    )
    assert request == {"reports": {"q1": forged}}
    for bad in (forged, "[" * 100_000, json.dumps({"cell": "q9", "answers": {}, "problems": {}}), "3"):
        assert unpack_report(bad, "q1", ["n"], "question 1") == (
            ["Question 1 could not be checked: the report of your answers was damaged."],
            {},
        )
    assert json.loads(pick_answers_message([{"cell": "q1", "json": "x" * 20_000}], "q1", 1_000)) == {
        "too_large": 20_000
    }
    assert pick_answers_message([{"cell": "q1", "json": text}] * 2, "q1", 10_000) == '{"duplicate": true}'
    # a report sent as data (and a forged one) is still read as before
    as_data = pick_answers_message([wire.build_answers_message("q1", ["n"], namespace)], "q1", 10_000)
    assert unpack_report(json.loads(as_data), "q1", ["n"], "question 1") == ([], {"n": 3})

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

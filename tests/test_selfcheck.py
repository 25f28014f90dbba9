"""Unit tests for htcourse.selfcheck, the labs' exercise checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from htcourse import selfcheck


def test_not_attempted_is_neither_right_nor_an_error():
    verdict = selfcheck.check("Exercise 1", None, 3)
    assert not verdict and not verdict.attempted
    assert "not attempted" in str(verdict)


def test_numbers_within_tolerance_and_direction_in_words():
    assert selfcheck.check("e", 0.1 + 0.2, 0.3)
    low = selfcheck.check("e", 41, 42)
    assert not low and "too low" in str(low) and "42" not in str(low)
    assert "too high" in str(selfcheck.check("e", 43.0, 42))
    assert "expects a number" in str(selfcheck.check("e", "42", 42))


def test_series_by_label_not_order_unless_asked():
    expected = pd.Series([1, 2, 3], index=["a", "b", "c"])
    assert selfcheck.check("e", expected.iloc[::-1], expected)
    assert not selfcheck.check("e", expected.iloc[::-1], expected, check_order=True)
    wrong = selfcheck.check("e", pd.Series([1, 2, 4], index=["a", "b", "c"]), expected)
    assert not wrong and "1 value of 3 differ" in str(wrong) and "'c'" in str(wrong)
    renamed = selfcheck.check("e", pd.Series([1, 2, 3], index=["a", "b", "d"]), expected)
    assert "missing" in str(renamed)


def test_dataframe_columns_rows_and_values():
    expected = pd.DataFrame({"x": [1.0, np.nan], "y": ["a", "b"]})
    assert selfcheck.check("e", expected.copy(), expected)
    assert "missing column(s) 'y'" in str(selfcheck.check("e", expected[["x"]], expected))
    assert "1 row" in str(selfcheck.check("e", expected.iloc[:1], expected))
    changed = expected.assign(y=["a", "c"])
    assert "Column 'y'" in str(selfcheck.check("e", changed, expected))


def test_sets_sequences_and_mappings():
    assert selfcheck.check("e", ["b", "a"], {"a", "b"})
    assert "1 expected item missing" in str(selfcheck.check("e", ["a"], {"a", "b"}))
    assert not selfcheck.check("e", [2, 1], [1, 2])
    assert selfcheck.check("e", {"a": 1.0}, {"a": 1})
    assert "expects a mapping" in str(selfcheck.check("e", [1], {"a": 1}))


def test_a_missing_reference_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="reference value is None"):
        selfcheck.check("e", 1, None)


# The kinds of answer the labs' exercises ask for: a wrong one is "not yet right", in words,
# without the expected value.


def test_a_dict_of_numbers_like_the_labs_scores():
    expected = {"precision": 0.9042, "recall": 0.7513}
    assert selfcheck.check("e", {"precision": np.float64(0.9042), "recall": 0.7513}, expected)
    wrong = selfcheck.check("e", {"precision": 0.7513, "recall": 0.9042}, expected)
    assert not wrong and wrong.attempted and "not yet right" in str(wrong)
    assert "0.9042" not in str(wrong) and "0.7513" not in str(wrong)
    missing = selfcheck.check("e", {"precision": 0.9042}, expected)
    assert not missing and "missing key(s) 'recall'" in str(missing)
    assert "unexpected key(s) 'f1'" in str(selfcheck.check("e", {**expected, "f1": 0.8}, expected))


def test_numpy_integers_from_scikit_learn_count_as_numbers():
    counts = {"tp": 254, "fp": 2440, "fn": 30, "tn": 27276}
    assert selfcheck.check("e", {k: np.int64(v) for k, v in counts.items()}, counts)
    swapped = selfcheck.check("e", {**counts, "fp": 30, "fn": 2440}, counts)
    assert not swapped and "2 values of 4 differ" in str(swapped)


def test_a_series_with_a_multiindex_by_label():
    index = pd.MultiIndex.from_tuples([("announced", "buyer"), ("unannounced", "supplier")], names=["notice", "payer"])
    expected = pd.Series([0.41, 0.63], index=index)
    assert selfcheck.check("e", expected.iloc[::-1], expected)
    wrong = selfcheck.check("e", pd.Series([0.63, 0.41], index=index), expected)
    assert not wrong and "2 values of 2 differ" in str(wrong) and "0.41" not in str(wrong)
    flat = selfcheck.check("e", expected.reset_index(drop=True), expected)
    assert not flat and "index differs" in str(flat)


def test_a_text_frame_with_missing_values_like_the_cleaning_steps():
    expected = pd.DataFrame({"traffickMonths": ["12", None, "NA"], "ageBroad": [None, "9--17", "18--20"]})
    got = pd.DataFrame({"traffickMonths": ["12", np.nan, "NA"], "ageBroad": [np.nan, "9--17", "18--20"]})
    assert selfcheck.check("e", got, expected), "None and NaN are both missing"
    na_as_missing = got.assign(traffickMonths=["12", np.nan, np.nan])
    verdict = selfcheck.check("e", na_as_missing, expected)
    assert not verdict and "Column 'traffickMonths'" in str(verdict) and "1 value of 3 differ" in str(verdict)


def test_an_ordered_sequence_and_a_wrong_length():
    expected = np.array([21.6, 22.9, 17.8])
    assert selfcheck.check("e", pd.Series([21.6, 22.9, 17.8], index=["2012-01", "2012-02", "2012-03"]), expected)
    assert not selfcheck.check("e", [22.9, 21.6, 17.8], expected)
    short = selfcheck.check("e", [21.6, 22.9], expected)
    assert not short and "2 values" in str(short)


def test_a_verdict_shows_in_a_notebook_as_one_line_of_markdown():
    right = selfcheck.check("Exercise 2", 3, 3)._repr_markdown_()
    wrong = selfcheck.check("Exercise 2", 4, 3)._repr_markdown_()
    pending = selfcheck.check("Exercise 2", None, 3)._repr_markdown_()
    assert right.startswith("✅") and "Exercise 2: right." in right
    assert wrong.startswith("❌") and "Exercise 2: not yet right." in wrong
    assert pending.startswith("✏️") and "not attempted yet" in pending


def test_a_long_text_frame_names_the_first_differing_row_plainly():
    expected = pd.DataFrame({"code": ["-99", "12", "00"] * 2000})
    got = expected.mask(expected.isin(["-99", "00"]))
    verdict = selfcheck.check("e", got, expected)
    assert not verdict and "4,000 values of 6,000 differ (the first at 0)" in str(verdict)
    assert selfcheck.check("e", got.copy(), got)


def test_strict_mode_raises_on_a_wrong_answer_only(monkeypatch):
    """Under STRICT_ENV (set when nbval executes the labs), a wrong solution fails the run; an
    unattempted exercise and a right answer do not."""
    monkeypatch.setenv(selfcheck.STRICT_ENV, "1")
    assert not selfcheck.check("Exercise 1", None, 3).attempted
    assert selfcheck.check("Exercise 1", 3, 3)
    with pytest.raises(selfcheck.SelfCheckFailed, match="Exercise 1: not yet right"):
        selfcheck.check("Exercise 1", 4, 3)
    monkeypatch.setenv(selfcheck.STRICT_ENV, "0")
    assert not selfcheck.check("Exercise 1", 4, 3)

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

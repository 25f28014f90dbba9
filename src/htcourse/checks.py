"""Refusing bad input: one clear error that names the column and the value.

The lab helpers (:mod:`htcourse.audits`, :mod:`htcourse.metrics`,
:mod:`htcourse.imagematch`, :mod:`htcourse.trends`) call these before they
compute anything, so that a misspelt category, a missing number or a hash of
the wrong size stops the analysis with a sentence a student can act on,
instead of quietly giving a rate of 0 or dropping rows::

    >>> check_categories(pd.Series(["pass", "Fail"]), ("pass", "fail"), "result")
    Traceback (most recent call last):
    BadValueError: column 'result' has the value 'Fail' (row 1), which is not one of 'pass', 'fail' ...
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["BadValueError", "check_categories", "check_numbers", "check_hash_bits"]


class BadValueError(ValueError):
    """A value a helper cannot use: an unknown category, a missing number, a hash of the wrong size."""


def _series(values) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))


def _show(value) -> str:
    """``repr`` of a value as the student wrote it: ``-3``, not ``np.int64(-3)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def check_categories(values, allowed, column: str) -> None:
    """Raise :class:`BadValueError` if a value of ``column`` is missing or not one of ``allowed``.

    Comparison is exact (``"Fail"`` and ``" fail"`` are not ``"fail"``); numbers
    compare by value (``1.0`` is ``1``). The message names the column, the first
    bad value, its row and how many rows are bad.
    """
    allowed = tuple(allowed)
    series = _series(values)
    ok = series.isin(allowed) & series.notna()
    if ok.all():
        return
    bad = series[~ok]
    first, row = bad.iloc[0], bad.index[0]
    shown = "a missing value" if _missing(first) else f"the value {_show(first)}"
    choices = ", ".join(_show(a) for a in allowed)
    raise BadValueError(
        f"column {column!r} has {shown} (row {row}), which is not one of {choices}"
        f" ({len(bad)} row{'s' if len(bad) != 1 else ''} in all): correct or remove "
        f"{'it' if len(bad) == 1 else 'them'} first; the spelling and case must match exactly"
    )


def check_numbers(values, column: str, minimum: float | None = None) -> None:
    """Raise :class:`BadValueError` if a value of ``column`` is missing, not a number, or below ``minimum``."""
    series = _series(values)
    missing = series.isna()
    if missing.any():
        raise BadValueError(
            f"column {column!r} has a missing value (row {missing.idxmax()}) where a number is "
            f"needed ({int(missing.sum())} in all): fill it in or drop the row first, and say which "
            "you did"
        )
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.isna().any() or series.dtype == bool:
        row = numeric.isna().idxmax() if numeric.isna().any() else series.index[0]
        raise BadValueError(f"column {column!r} has the value {_show(series[row])} (row {row}), which is not a number")
    if minimum is not None and (numeric < minimum).any():
        row = (numeric < minimum).idxmax()
        raise BadValueError(
            f"column {column!r} has the value {_show(series[row])} (row {row}), below the smallest "
            f"possible value, {minimum!r}"
        )


def check_hash_bits(bits: np.ndarray, expected: int, which) -> None:
    """Raise :class:`BadValueError` if a hash has other than ``expected`` bits."""
    if bits.size != expected:
        raise BadValueError(
            f"hash {which} has {bits.size} bits, not {expected}: hash every image with the same "
            f"method and hash_size (hash_size=8 gives {expected} bits)"
        )

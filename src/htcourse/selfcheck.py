"""Self-checks for the labs' exercises: say in words whether a reader's answer is right.

A lab exercise follows one pattern (see the instructor guide, "Labs: worked example, then
exercises"):

1. a Markdown cell that sets the task;
2. a code cell tagged ``exercise`` where the reader writes the code, starting from
   ``answer = None`` (or a skeleton);
3. a code cell tagged ``self-check`` that calls :func:`check` on the reader's answer and the
   value the lab computed by other means (often the course helper, kept as a reference);
4. a code cell tagged ``solution`` (folded on the site and in JupyterLab) that holds one
   worked solution, so the lab runs top to bottom in the site build and under nbval.

:func:`check` never prints the expected value: it says *what kind* of difference there is
(the shape, the columns, how many values differ, which index labels are missing), so the
reader learns where to look without being handed the answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from numbers import Number

import numpy as np
import pandas as pd

__all__ = ["NOT_ATTEMPTED", "STRICT_ENV", "SelfCheckFailed", "Verdict", "check", "compare"]

#: What a reader's answer holds before they write anything.
NOT_ATTEMPTED = None

#: Set to ``1`` (off by default), a wrong answer raises :class:`SelfCheckFailed` instead of showing
#: a verdict, so that executing a lab with its worked solutions fails when a solution no longer
#: passes its own check. The site build and nbval (the test suite) set it; readers never need it.
STRICT_ENV = "HTCOURSE_SELFCHECK_STRICT"


class SelfCheckFailed(AssertionError):
    """A wrong answer under :data:`STRICT_ENV`: a lab's worked solution fails its own self-check."""


class Verdict:
    """The outcome of one check: ``ok`` and a sentence for the reader."""

    __slots__ = ("label", "message", "ok", "attempted")

    def __init__(self, label: str, ok: bool, message: str, *, attempted: bool = True) -> None:
        self.label = label
        self.ok = ok
        self.message = message
        self.attempted = attempted

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if not self.attempted:
            return f"{self.label}: not attempted yet. {self.message}"
        if self.ok:
            return f"{self.label}: right. {self.message}".rstrip()
        return f"{self.label}: not yet right. {self.message}"

    def __repr__(self) -> str:
        return f"Verdict({self.label!r}, ok={self.ok}, attempted={self.attempted})"

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.ok else ("✏️" if not self.attempted else "❌")
        return f"{mark} {self}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _close(a, b, rtol: float, atol: float) -> bool:
    try:
        if a is None or b is None:
            return a is b
        if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
            return bool(a) == bool(b)
        if isinstance(a, Number) and isinstance(b, Number):
            fa, fb = float(a), float(b)
            if math.isnan(fa) or math.isnan(fb):
                return math.isnan(fa) and math.isnan(fb)
            return math.isclose(fa, fb, rel_tol=rtol, abs_tol=atol)
        if pd.isna(a) is True and pd.isna(b) is True:
            return True
    except (TypeError, ValueError):
        pass
    return a == b


def _compare_series(got: pd.Series, expected: pd.Series, rtol: float, atol: float, check_order: bool) -> str | None:
    if len(got) != len(expected):
        return f"It has {_plural(len(got), 'value')}; the check expects {len(expected):,}."
    missing = expected.index.difference(got.index)
    extra = got.index.difference(expected.index)
    if len(missing) or len(extra):
        parts = []
        if len(missing):
            parts.append(f"{_plural(len(missing), 'expected label')} missing (for example {missing[0]!r})")
        if len(extra):
            parts.append(f"{_plural(len(extra), 'label')} that should not be there (for example {extra[0]!r})")
        return "Its index differs: " + "; ".join(parts) + "."
    if check_order and not got.index.equals(expected.index):
        return "It holds the right labels, but in another order."
    aligned = got.reindex(expected.index)
    if pd.api.types.is_numeric_dtype(expected) and pd.api.types.is_numeric_dtype(aligned):
        e = expected.to_numpy(dtype=float, na_value=np.nan)
        g = aligned.to_numpy(dtype=float, na_value=np.nan)
        same = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    else:
        # Equal or both missing, vectorised; only the remaining cells are compared one by one.
        try:
            same = np.array(aligned.astype(object).eq(expected.astype(object)).to_numpy(), dtype=bool)
        except (TypeError, ValueError):
            same = np.zeros(len(expected), dtype=bool)
        same |= np.asarray(aligned.isna() & expected.isna(), dtype=bool)
        for position in np.flatnonzero(~same):
            same[position] = _close(aligned.iloc[position], expected.iloc[position], rtol, atol)
    wrong = int((~same).sum())
    if wrong:
        first = expected.index[~same][0]
        first = first.item() if isinstance(first, np.generic) else first  # 678, not np.int64(678)
        return f"{_plural(wrong, 'value')} of {len(expected):,} differ (the first at {first!r})."
    return None


def compare(got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, check_order: bool = False) -> str | None:
    """Describe how ``got`` differs from ``expected`` in words, or return None if they match.

    Numbers match within ``rtol``/``atol``; Series and DataFrames are compared by label (and
    by order too when ``check_order``); sets, lists, tuples and mappings element by element.
    The description never contains the expected value itself.
    """
    if isinstance(expected, pd.DataFrame):
        if not isinstance(got, pd.DataFrame):
            return f"The check expects a DataFrame; this is a {type(got).__name__}."
        missing = [c for c in expected.columns if c not in got.columns]
        extra = [c for c in got.columns if c not in expected.columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing[:5]))}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra[:5]))}")
            return "Its columns differ: " + "; ".join(parts) + "."
        if got.shape[0] != expected.shape[0]:
            return f"It has {_plural(got.shape[0], 'row')}; the check expects {expected.shape[0]:,}."
        for column in expected.columns:
            problem = _compare_series(got[column], expected[column], rtol, atol, check_order)
            if problem:
                return f"Column {column!r}: {problem}"
        return None
    if isinstance(expected, pd.Series):
        if isinstance(got, pd.DataFrame) and got.shape[1] == 1:
            got = got.iloc[:, 0]
        if not isinstance(got, pd.Series):
            return f"The check expects a Series; this is a {type(got).__name__}."
        return _compare_series(got, expected, rtol, atol, check_order)
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"The check expects a mapping (a dict); this is a {type(got).__name__}."
        missing = [key for key in expected if key not in got]
        extra = [key for key in got if key not in expected]
        if missing or extra:  # the keys are named in the task, so naming them gives nothing away
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(map(repr, missing[:5]))}")
            if extra:
                parts.append(f"unexpected key(s) {', '.join(map(repr, extra[:5]))}")
            return "Its keys differ: " + "; ".join(parts) + "."
        return _compare_series(
            pd.Series(dict(got), dtype=object), pd.Series(dict(expected), dtype=object), rtol, atol, check_order=False
        )
    if isinstance(expected, (set, frozenset)):
        try:
            got_set = set(got)
        except TypeError:
            return f"The check expects a collection; this is a {type(got).__name__}."
        missing, extra = len(expected - got_set), len(got_set - expected)
        if missing or extra:
            return f"{_plural(missing, 'expected item')} missing and {_plural(extra, 'item')} that should not be there."
        return None
    if isinstance(expected, (list, tuple, np.ndarray)):
        if isinstance(got, (str, bytes)) or not hasattr(got, "__len__"):
            return f"The check expects a sequence; this is a {type(got).__name__}."
        return _compare_series(
            pd.Series(list(got), dtype=object), pd.Series(list(expected), dtype=object), rtol, atol, check_order=True
        )
    if isinstance(expected, Number) and not isinstance(expected, bool):
        if isinstance(got, (pd.Series, pd.DataFrame, np.ndarray)) and np.size(got) == 1:
            got = np.asarray(got).item()
        if not isinstance(got, Number):
            return f"The check expects a number; this is a {type(got).__name__}."
        if _close(got, expected, rtol, atol):
            return None
        low = "too low" if float(got) < float(expected) else "too high"
        return f"The number is {low}."
    if _close(got, expected, rtol, atol):
        return None
    return "It is not the value the check expects."


def check(
    label: str, got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, check_order: bool = False, hint: str = ""
) -> Verdict:
    """Compare a reader's answer with the lab's reference and say so in words.

    ``got`` is the reader's answer; if it is still ``None`` the verdict is "not attempted".
    ``hint`` is added when the answer is wrong (a pointer to the step, never the answer).
    Returns a :class:`Verdict` (truthy when right); in a notebook it displays as one line.
    With :data:`STRICT_ENV` set to ``1``, a wrong answer raises :class:`SelfCheckFailed` instead.
    """
    if expected is None:
        raise ValueError(f"{label}: the reference value is None, so nothing can be checked")
    if got is NOT_ATTEMPTED:
        return Verdict(label, False, "Write your code in the cell above, then run this cell again.", attempted=False)
    problem = compare(got, expected, rtol=rtol, atol=atol, check_order=check_order)
    if problem is None:
        return Verdict(label, True, "")
    verdict = Verdict(label, False, f"{problem} {hint}".strip())
    if os.environ.get(STRICT_ENV) == "1":
        raise SelfCheckFailed(str(verdict))
    return verdict

"""Privacy helpers for the privacy lab: small-cell suppression, k-anonymity and differentially private counts.

Three ways to release counts about people, from the oldest to the newest:

* :func:`suppress_small_cells` hides every count below a threshold (statistical
  offices often use 5 or 10);
* :func:`k_anonymity` measures how many people share each combination of
  quasi-identifiers: a file is *k*-anonymous if every combination is shared by
  at least *k* people;
* :func:`dp_counts` releases counts with the discrete Laplace mechanism of the
  OpenDP library, which is ε-differentially private when each person is in
  exactly one cell: whatever an adversary knows, the release changes the odds
  that any one person is in the data by a factor of at most ``exp(ε)``.

The lab asks the reader to do each step with pandas first; these helpers are
the references its self-checks compare with.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

#: Counts below this are hidden by :func:`suppress_small_cells` (a common rule; some offices use 10).
SUPPRESSION_THRESHOLD = 5


def _check_counts(counts):
    import pandas as pd

    if not isinstance(counts, pd.Series):
        raise TypeError(f"counts must be a pandas Series of whole numbers, got a {type(counts).__name__}")
    bad = counts[~counts.map(lambda v: isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()))]
    if len(bad):
        raise ValueError(f"counts must be whole numbers; {bad.index[0]!r} is {bad.tolist()[0]!r}")
    negative = counts[counts < 0]
    if len(negative):
        raise ValueError(f"counts cannot be negative; {negative.index[0]!r} is {negative.tolist()[0]!r}")
    return counts.astype(int)


def suppress_small_cells(counts, threshold: int = SUPPRESSION_THRESHOLD):
    """``counts`` with every count from 1 to ``threshold - 1`` replaced by a missing value (``pd.NA``).

    Zeros are kept: a published zero is usually not protected. Returns a new
    Series of pandas' nullable integer type.
    """
    counts = _check_counts(counts)
    if not isinstance(threshold, numbers.Integral) or threshold < 1:
        raise ValueError(f"threshold must be a whole number of 1 or more, got {threshold!r}")
    out = counts.astype("Int64")
    out[(counts > 0) & (counts < threshold)] = None
    return out


def k_anonymity(df, quasi_identifiers: Sequence[str]) -> int:
    """The size of the smallest group of rows that share the same values of ``quasi_identifiers``.

    A missing value counts as a value of its own. Raises ``KeyError`` naming a
    column that is not in ``df`` and ``ValueError`` for an empty frame.
    """
    quasi_identifiers = list(quasi_identifiers)
    missing = [c for c in quasi_identifiers if c not in df.columns]
    if missing:
        raise KeyError(f"no column {missing[0]!r}; the columns are {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("the frame has no rows, so k-anonymity is undefined")
    return int(df.groupby(quasi_identifiers, dropna=False).size().min())


def dp_counts(counts, epsilon: float):
    """A differentially private release of ``counts`` with OpenDP's discrete Laplace mechanism.

    Each count gets independent integer noise with scale ``1 / epsilon``. If
    each person contributes to exactly one count (adding or removing a person
    changes the vector by 1 in L1 distance), the release is
    ``epsilon``-differentially private; OpenDP's privacy map checks that.
    Released counts can be negative or not add up: that is the price of the
    guarantee, and rounding or clipping them afterwards costs no privacy.
    The noise is drawn fresh on every call (OpenDP's generator cannot be
    seeded), so two releases differ.
    """
    import opendp.prelude as dp
    import pandas as pd

    counts = _check_counts(counts)
    if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be a positive number, got {epsilon!r}")
    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    measurement = space >> dp.m.then_laplace(scale=1.0 / float(epsilon))
    spent = measurement.map(d_in=1)
    if spent > float(epsilon) * (1 + 1e-9):
        raise RuntimeError(f"OpenDP's privacy map gives epsilon {spent}, above the {epsilon} asked for")
    released = measurement([int(v) for v in counts.to_numpy()])
    return pd.Series(released, index=counts.index, name=counts.name, dtype=int)

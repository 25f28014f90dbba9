"""Population-size estimators for the counting lab.

Two lists (for example police and NGO records) each find some members of a
hidden population. With ``n1`` people on the first list, ``n2`` on the
second and ``m`` on both, and if the lists are independent and everyone is
equally likely to be on each list, the overlap tells how big the whole
population is.

With three or more lists, :func:`capture_histories` counts the people with
each pattern of lists, :func:`loglinear_mse` fits a log-linear (Poisson)
model to those counts and estimates the people on no list, and
:func:`stratified_estimate` does so separately within groups and adds up.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple


class PopulationEstimate(NamedTuple):
    """An estimate of a population's size with a confidence interval."""

    estimate: float
    standard_error: float
    lower: float
    upper: float
    level: float


def _whole_count(label: str, value: object) -> int:
    """``value`` as a non-negative int, or ``ValueError``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        count = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        count = int(value)
    else:
        raise ValueError(f"{label} must be a whole number of people, got {value!r}")
    if count < 0:
        raise ValueError(f"{label} must not be negative, got {value!r}")
    return count


def _check_counts(n1: int, n2: int, m: int) -> tuple[int, int, int]:
    """Validate two-list counts; return them as Python ints."""
    n1, n2, m = _whole_count("n1", n1), _whole_count("n2", n2), _whole_count("m", m)
    if m > n1 or m > n2:
        raise ValueError(f"the overlap m={m} cannot be larger than either list (n1={n1}, n2={n2})")
    return n1, n2, m


def lincoln_petersen(n1: int, n2: int, m: int) -> float:
    """The Lincoln–Petersen estimate of the population size.

    .. math:: \\hat N = \\frac{n_1 n_2}{m}

    ``n1`` and ``n2`` are the sizes of the two lists and ``m`` the number of
    people on both. It is undefined when the lists do not overlap (``m == 0``)
    and biased upwards for small ``m``; :func:`chapman` corrects that.

    Raises ``ValueError`` for negative or non-whole counts, ``m > n1`` or
    ``m > n2``, and ``m == 0``.
    """
    n1, n2, m = _check_counts(n1, n2, m)
    if m == 0:
        raise ValueError("the Lincoln–Petersen estimate is undefined when the lists do not overlap (m == 0)")
    return n1 * n2 / m


def chapman(n1: int, n2: int, m: int) -> float:
    """Chapman's (nearly unbiased) estimate of the population size.

    .. math:: \\hat N_C = \\frac{(n_1 + 1)(n_2 + 1)}{m + 1} - 1

    Defined also when ``m == 0``. Raises ``ValueError`` for negative or
    non-whole counts and for ``m > n1`` or ``m > n2``.
    """
    n1, n2, m = _check_counts(n1, n2, m)
    return (n1 + 1) * (n2 + 1) / (m + 1) - 1


def chapman_variance(n1: int, n2: int, m: int) -> float:
    """Seber's variance of Chapman's estimate.

    .. math:: \\widehat{\\mathrm{Var}}(\\hat N_C) =
              \\frac{(n_1 + 1)(n_2 + 1)(n_1 - m)(n_2 - m)}{(m + 1)^2 (m + 2)}
    """
    n1, n2, m = _check_counts(n1, n2, m)
    return (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))


def chapman_ci(n1: int, n2: int, m: int, level: float = 0.95) -> PopulationEstimate:
    """Chapman's estimate with a normal-approximation confidence interval.

    .. math:: \\hat N_C \\pm z_{(1+\\text{level})/2} \\sqrt{\\widehat{\\mathrm{Var}}(\\hat N_C)}

    with Seber's variance (:func:`chapman_variance`) and ``z`` the standard
    normal quantile (1.96 for a 95% interval). The interval is symmetric and
    not truncated, so with a small overlap its lower end can fall below the
    number of people actually seen (``n1 + n2 - m``).

    Returns a :class:`PopulationEstimate` (estimate, standard_error, lower,
    upper, level).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    estimate = chapman(n1, n2, m)
    standard_error = math.sqrt(chapman_variance(n1, n2, m))
    z = NormalDist().inv_cdf((1 + level) / 2)
    return PopulationEstimate(
        estimate=estimate,
        standard_error=standard_error,
        lower=estimate - z * standard_error,
        upper=estimate + z * standard_error,
        level=level,
    )


# ---------------------------------------------------------------------------
# Two-list helpers for data frames, and Lincoln–Petersen's interval
# ---------------------------------------------------------------------------


def lincoln_petersen_variance(n1: int, n2: int, m: int) -> float:
    """The usual large-sample variance of the Lincoln–Petersen estimate.

    .. math:: \\widehat{\\mathrm{Var}}(\\hat N) = \\frac{n_1 n_2 (n_1 - m)(n_2 - m)}{m^3}

    Raises ``ValueError`` like :func:`lincoln_petersen` (including ``m == 0``).
    """
    n1, n2, m = _check_counts(n1, n2, m)
    if m == 0:
        raise ValueError("the Lincoln–Petersen variance is undefined when the lists do not overlap (m == 0)")
    return n1 * n2 * (n1 - m) * (n2 - m) / m**3


def _normal_interval(estimate: float, standard_error: float, level: float) -> PopulationEstimate:
    z = _z(level)
    return PopulationEstimate(estimate, standard_error, estimate - z * standard_error, estimate + z * standard_error, level)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    return NormalDist().inv_cdf((1 + level) / 2)


def lincoln_petersen_ci(n1: int, n2: int, m: int, level: float = 0.95) -> PopulationEstimate:
    """Lincoln–Petersen's estimate with a normal-approximation confidence interval.

    The interval is ``estimate ± z × sqrt(variance)`` with
    :func:`lincoln_petersen_variance`; like :func:`chapman_ci` it is symmetric
    and not truncated.
    """
    _z(level)  # validate the level before anything else
    estimate = lincoln_petersen(n1, n2, m)
    return _normal_interval(estimate, math.sqrt(lincoln_petersen_variance(n1, n2, m)), level)


def two_list_counts(df, first: str, second: str) -> tuple[int, int, int]:
    """``(n1, n2, m)`` for two 0/1 list columns of a data frame with one row per person.

    ``n1`` and ``n2`` are the numbers of people on ``first`` and ``second``;
    ``m`` the number on both. People on neither list (present when the frame
    holds more lists) do not count.
    """
    a = _membership(df, first)
    b = _membership(df, second)
    return int(a.sum()), int(b.sum()), int((a & b).sum())


def _membership(df, column: str):
    import numpy as np

    if column not in df.columns:
        raise KeyError(f"no list column {column!r}; the columns are {list(df.columns)}")
    values = df[column].to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"list column {column!r} must hold only 0 and 1")
    return values.astype(bool)


# ---------------------------------------------------------------------------
# Multiple lists: capture histories and log-linear models
# ---------------------------------------------------------------------------


def capture_histories(df, lists: Sequence[str]):
    """Count the people with each capture history over ``lists``.

    ``df`` has one row per person and a 0/1 column per list. Returns a data
    frame with one row for each of the ``2**k - 1`` histories that can be
    observed (everyone except those on no list), including histories that
    nobody has (count 0): the list columns (0/1) and ``count``. Rows are in a
    fixed order (binary counting, the first list as the highest digit), so
    ``(1, 0, 0)`` means "on the first list only".

    Rows of ``df`` on no list are ignored (they cannot be in a list-based
    file; a frame that has them gets the same table without them).
    """
    import itertools

    import numpy as np
    import pandas as pd

    lists = _list_names(lists)
    members = np.column_stack([_membership(df, name) for name in lists]).astype(int)
    patterns = [p for p in itertools.product((0, 1), repeat=len(lists)) if any(p)]
    # Encode each history as a binary number to count them in one pass.
    weights = 2 ** np.arange(len(lists) - 1, -1, -1)
    codes = members @ weights
    counts = np.bincount(codes, minlength=2 ** len(lists))
    table = pd.DataFrame(patterns, columns=lists)
    table["count"] = [int(counts[int(np.dot(p, weights))]) for p in patterns]
    return table


def _list_names(lists: Sequence[str]) -> list[str]:
    if isinstance(lists, str):
        raise TypeError("lists must be a sequence of column names, not one string")
    names = list(lists)
    if len(names) < 2:
        raise ValueError(f"need at least two lists, got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"list names repeat: {names}")
    return names


def _interaction_terms(interactions, lists: list[str]) -> list[tuple[str, ...]]:
    """Normalise ``interactions`` ("a:b" strings or tuples) to tuples of list names."""
    if isinstance(interactions, str):
        interactions = [interactions]  # one term given bare: "ngo:hotline"
    interactions = list(interactions)
    if interactions and all(isinstance(x, str) and ":" not in x for x in interactions):
        interactions = [tuple(interactions)]  # one term given bare: ("ngo", "hotline")
    terms: list[tuple[str, ...]] = []
    for term in interactions:
        names = tuple(term.split(":")) if isinstance(term, str) else tuple(term)
        unknown = [n for n in names if n not in lists]
        if unknown:
            raise ValueError(f"interaction {term!r} names lists not in {lists}: {unknown}")
        if len(set(names)) != len(names) or len(names) < 2:
            raise ValueError(f"an interaction needs two or more different lists, got {term!r}")
        if len(names) == len(lists):
            raise ValueError(
                f"the interaction of all {len(lists)} lists cannot be estimated: "
                "nobody's history tells how the unobserved cell would follow it"
            )
        key = tuple(sorted(names, key=lists.index))
        if key not in terms:
            terms.append(key)
    return terms


@dataclass(frozen=True)
class LoglinearEstimate:
    """A log-linear multiple systems estimate (see :func:`loglinear_mse`).

    ``estimate`` = ``observed`` + ``unobserved``; ``lower``/``upper`` is the
    interval at ``level``; ``standard_error`` is the delta-method standard
    error of the estimate given the number observed. ``deviance``,
    ``df_resid`` and ``aic`` describe how well the model fits the observed
    histories; ``terms`` lists the interactions in the model.
    """

    estimate: float
    standard_error: float
    lower: float
    upper: float
    level: float
    observed: int
    unobserved: float
    deviance: float
    df_resid: int
    aic: float
    terms: tuple[str, ...]


def lognormal_interval(observed: int, unobserved: float, variance: float, level: float = 0.95) -> tuple[float, float]:
    """Chao's (1987) log-normal interval for a population size.

    With ``f0`` the estimated number of people on no list and ``variance``
    the estimated variance of the total, the interval is
    ``(observed + f0 / C, observed + f0 * C)`` with
    ``C = exp(z * sqrt(log(1 + variance / f0**2)))``. It is asymmetric
    (longer upwards, like the uncertainty about an unseen count) and never
    falls below the number of people actually observed.
    """
    z = _z(level)
    if unobserved <= 0:
        return float(observed), float(observed)
    c = math.exp(z * math.sqrt(math.log(1 + variance / unobserved**2)))
    return observed + unobserved / c, observed + unobserved * c


def loglinear_mse(df, lists: Sequence[str], interactions=(), level: float = 0.95) -> LoglinearEstimate:
    """Multiple systems estimate of a population from a log-linear (Poisson) model.

    The counts of the ``2**k - 1`` observed capture histories
    (:func:`capture_histories`) are fitted with a Poisson generalised linear
    model (statsmodels):

    .. math:: \\log \\mu_h = \\beta_0 + \\sum_j \\beta_j h_j + \\sum_{(j,l)} \\gamma_{jl} h_j h_l

    with one main effect per list (the *independence* model) and one term
    ``h_j h_l`` per interaction in ``interactions`` (for example
    ``[("ngo", "hotline")]`` or ``["ngo:hotline"]``; longer tuples give
    higher-order terms). The history "on no list" has all ``h_j = 0``, so the
    model's estimate of the people on no list is ``exp(β0)``; the total is the
    number observed plus that.

    **Interval.** The intercept's standard error gives, by the delta method,
    the standard error of the unobserved count (``exp(β0) × se(β0)``),
    treating the number observed as fixed. The interval is Chao's
    log-normal interval built on it (:func:`lognormal_interval`): asymmetric
    and never below the number observed. It is fast (one model fit) but
    approximate; a profile-likelihood interval is usually a little wider for
    small counts. It reflects sampling error only, not the error of choosing
    the wrong model, which is usually larger.

    With two lists and no interaction, the model is saturated and the
    estimate equals Lincoln–Petersen's exactly.
    """
    import warnings

    import numpy as np
    import statsmodels.api as sm

    lists = _list_names(lists)
    terms = _interaction_terms(interactions, lists)
    table = capture_histories(df, lists)
    histories = table[lists].to_numpy(dtype=float)
    columns = [np.ones(len(table)), *histories.T]
    for term in terms:
        columns.append(np.prod(table[list(term)].to_numpy(dtype=float), axis=1))
    design = np.column_stack(columns)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"the model with interactions {terms} has more parameters than the data can identify")
    counts = table["count"].to_numpy(dtype=float)
    observed = int(counts.sum())
    if observed == 0:
        raise ValueError("nobody is on any list: there is nothing to estimate from")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-fit models warn about zero residuals
        fit = sm.GLM(counts, design, family=sm.families.Poisson()).fit()
    intercept, se_intercept = float(fit.params[0]), float(fit.bse[0])
    if not (math.isfinite(intercept) and math.isfinite(se_intercept)) or se_intercept > 20:
        raise ValueError(
            "the model cannot estimate the unobserved cell (a history it relies on has no one in it); "
            "drop an interaction or merge lists"
        )
    unobserved = math.exp(intercept)
    standard_error = unobserved * se_intercept
    lower, upper = lognormal_interval(observed, unobserved, standard_error**2, level)
    return LoglinearEstimate(
        estimate=observed + unobserved,
        standard_error=standard_error,
        lower=lower,
        upper=upper,
        level=level,
        observed=observed,
        unobserved=unobserved,
        deviance=float(fit.deviance),
        df_resid=int(round(fit.df_resid)),
        aic=float(fit.aic),
        terms=tuple(":".join(t) for t in terms),
    )


def stratified_estimate(df, lists: Sequence[str], by: str, interactions=(), level: float = 0.95):
    """Estimate each stratum separately with :func:`loglinear_mse`, then add them up.

    When people differ in how findable they are, and the differences follow a
    known covariate (``by``, for example ``"sector"``), a model fitted within
    each stratum avoids part of the downward bias that pooling causes.

    Returns a data frame with one row per stratum and a last row ``"total"``:
    ``by`` (the stratum), ``observed``, ``estimate``, ``standard_error``,
    ``lower`` and ``upper``. The total's estimate is the sum of the strata's;
    its variance is the sum of their variances (strata are independent); its
    interval is Chao's log-normal interval (:func:`lognormal_interval`) on the
    summed unobserved counts.

    Every stratum needs enough overlap for its own model; with small strata
    the estimates become unstable (or fail with ``ValueError``).
    """
    import pandas as pd

    if by not in df.columns:
        raise KeyError(f"no column {by!r} to stratify by")
    rows = []
    for stratum, part in df.groupby(by, sort=True):
        result = loglinear_mse(part, lists, interactions=interactions, level=level)
        rows.append(
            {
                by: stratum,
                "observed": result.observed,
                "estimate": result.estimate,
                "standard_error": result.standard_error,
                "lower": result.lower,
                "upper": result.upper,
            }
        )
    table = pd.DataFrame(rows)
    observed = int(table["observed"].sum())
    estimate = float(table["estimate"].sum())
    variance = float((table["standard_error"] ** 2).sum())
    lower, upper = lognormal_interval(observed, estimate - observed, variance, level)
    total = {by: "total", "observed": observed, "estimate": estimate,
             "standard_error": math.sqrt(variance), "lower": lower, "upper": upper}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)

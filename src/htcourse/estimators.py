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

Published studies print a *table of counts* (one row per pattern of lists,
and how many people have it), not one row per person.
:func:`loglinear_counts` fits the same models to such a table, with a
profile-likelihood interval that says so when the data cannot bound it;
:func:`compare_models` puts candidate models side by side (AIC, BIC and
their estimates) and :func:`stepwise_mse` chooses two-list interactions the
way the UK 2013 estimate did (Silverman's stepwise rule, as in the R package
``modslavmse``). A model whose parameters the data cannot identify (for
example an interaction between two lists that nobody is on together) raises
:class:`ModelNotIdentifiableError`; it is never fitted quietly.
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
    return PopulationEstimate(
        estimate, standard_error, estimate - z * standard_error, estimate + z * standard_error, level
    )


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
    #: The interval's method: ``"lognormal"`` (Chao's) or ``"profile"`` (profile likelihood).
    interval: str = "lognormal"
    #: ``2 × log-likelihood``-based Bayesian information criterion (see :func:`loglinear_counts`).
    bic: float = math.nan


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


#: The p-value a new two-list interaction must reach to join the model in
#: :func:`stepwise_mse`: 0.02, the default of the stepwise fit in the R package
#: ``SparseMSE`` (Chan, Silverman and Vincent). ``modslavmse``'s ``MSEfit``, whose
#: rule :func:`stepwise_mse` follows, defaults to 0.01. On the five-list UK 2013
#: table, 0.02 (or 0.05) keeps six interactions and 0.01 keeps five; both give
#: estimates inside the published range of 10,000 to 13,000 (tests/test_estimators.py).
STEPWISE_THRESHOLD = 0.02

#: Past this many times the best estimate, an upper profile bound is "not identified".
PROFILE_SEARCH_LIMIT = 1000.0

#: An interaction resting on fewer people than this (people on all of its lists) gets a
#: :class:`SparseDataWarning`: its estimate, and the total's, can move a long way with one person more or less.
SPARSE_OVERLAP = 5


class ModelNotIdentifiableError(ValueError):
    """The data cannot estimate a model's parameters (its maximum likelihood estimate does not exist)."""


class SparseDataWarning(UserWarning):
    """The data are too sparse for part of an answer (for example an interval with no upper bound)."""


def histories_from_counts(table, lists: Sequence[str] | None = None, count: str = "count"):
    """A table of counts by capture history, checked and completed.

    ``table`` has one 0/1 column per list and a ``count`` column (how many
    people have that history), as published studies print it. ``lists``
    names the list columns (default: every column but ``count``). Histories
    that are missing count as 0; a history that appears twice is added up.
    Returns the same shape as :func:`capture_histories`: every one of the
    ``2**k - 1`` observable histories, in binary order, with ``count``.

    Raises ``ValueError`` naming the column and the value for a list value
    other than 0/1, a count that is negative, not whole or missing, or a
    row on no list with a count (nobody can be seen on no list).
    """
    import itertools

    import numpy as np
    import pandas as pd

    if count not in table.columns:
        raise KeyError(f"no count column {count!r}; the columns are {list(table.columns)}")
    lists = _list_names([c for c in table.columns if c != count] if lists is None else lists)
    for name in lists:
        if name not in table.columns:
            raise KeyError(f"no list column {name!r}; the columns are {list(table.columns)}")
        bad = table.loc[~table[name].isin([0, 1]), name]
        if len(bad):
            raise ValueError(f"list column {name!r} must hold only 0 and 1, got {bad.tolist()[0]!r}")
    counts = pd.to_numeric(table[count], errors="coerce")
    bad = table.loc[counts.isna() | (counts < 0) | (counts % 1 != 0), count]
    if len(bad):
        raise ValueError(f"column {count!r} must hold whole numbers of people (0 or more), got {bad.tolist()[0]!r}")
    members = table[lists].to_numpy(dtype=int)
    nobody = (members.sum(axis=1) == 0) & (counts.to_numpy() > 0)
    if nobody.any():
        raise ValueError("a row with a count is on no list: nobody can be observed on no list; drop that row")
    weights = 2 ** np.arange(len(lists) - 1, -1, -1)
    totals = np.bincount(members @ weights, weights=counts.to_numpy(dtype=float), minlength=2 ** len(lists))
    patterns = [p for p in itertools.product((0, 1), repeat=len(lists)) if any(p)]
    out = pd.DataFrame(patterns, columns=lists)
    out["count"] = [int(totals[int(np.dot(p, weights))]) for p in patterns]
    return out


def _design(histories, lists: list[str], terms: list[tuple[str, ...]]):
    """The model matrix: intercept, one column per list, one per interaction (products of list columns)."""

    members = histories[lists].to_numpy(dtype=float)
    return _design_matrix(members, lists, terms)


def _design_matrix(members, lists: list[str], terms: list[tuple[str, ...]]):
    import numpy as np

    columns = [np.ones(len(members)), *members.T]
    for term in terms:
        columns.append(np.prod(members[:, [lists.index(name) for name in term]], axis=1))
    return np.column_stack(columns)


def _check_identifiable(histories, lists: list[str], terms: list[tuple[str, ...]]) -> None:
    """Raise :class:`ModelNotIdentifiableError` for a model the table cannot estimate."""
    import numpy as np

    counts = histories["count"].to_numpy()
    if counts.sum() == 0:
        raise ValueError("nobody is on any list: there is nothing to estimate from")
    for name in lists:
        if counts[histories[name].to_numpy() == 1].sum() == 0:
            raise ModelNotIdentifiableError(f"nobody is on list {name!r}: its main effect is minus infinity; drop it")
    for term in terms:
        together = np.all(histories[list(term)].to_numpy() == 1, axis=1)
        if counts[together].sum() == 0:
            raise ModelNotIdentifiableError(
                f"the interaction {':'.join(term)} cannot be estimated: nobody is on all of {list(term)} "
                "together, so its maximum likelihood estimate is minus infinity and the estimate of the "
                "people on no list does not exist; leave the interaction out (or merge the lists)"
            )
    design = _design(histories, lists, terms)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ModelNotIdentifiableError(
            f"the model with interactions {terms} has more parameters than the data can identify"
        )


def _poisson_fit(counts, design):
    """A statsmodels Poisson GLM fit; :class:`ModelNotIdentifiableError` if it fails or diverges.

    Statsmodels' warnings are recorded, not silenced: a convergence warning
    becomes the error. Its "perfect separation or prediction" warning is not
    enough on its own (a saturated model predicts every count exactly and is
    fine), so divergence is judged on the parameters themselves: any that is
    not finite or runs beyond ±30 on the log scale means the likelihood has
    no maximum, and is an error too.
    """
    import warnings

    import numpy as np
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.GLM(counts, design, family=sm.families.Poisson()).fit()
        except (np.linalg.LinAlgError, ValueError) as error:
            raise ModelNotIdentifiableError(f"the Poisson model could not be fitted: {error}") from None
    serious = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    if serious:
        raise ModelNotIdentifiableError(f"the Poisson model did not converge: {serious[0].message}")
    params = np.asarray(fit.params, dtype=float)
    if not np.all(np.isfinite(params)) or np.max(np.abs(params)) > 30:
        raise ModelNotIdentifiableError(
            "the Poisson model diverged (a parameter ran off towards infinity): a history the model relies on "
            "has no one in it; drop an interaction or merge lists"
        )
    return fit


def _fit_histories(histories, lists: list[str], terms: list[tuple[str, ...]]):
    """Fit the observed histories; return ``(fit, unobserved, standard_error)``.

    ``standard_error`` is that of the estimated total: the delta-method
    variance of ``exp(β0)`` plus the Poisson variance of the unobserved count
    itself (``exp(β0)``).
    """
    _check_identifiable(histories, lists, terms)
    fit = _poisson_fit(histories["count"].to_numpy(dtype=float), _design(histories, lists, terms))
    intercept, se_intercept = float(fit.params[0]), float(fit.bse[0])
    if not (math.isfinite(intercept) and math.isfinite(se_intercept)) or se_intercept > 20:
        raise ModelNotIdentifiableError(
            "the model cannot estimate the unobserved cell (a history it relies on has no one in it); "
            "drop an interaction or merge lists"
        )
    unobserved = math.exp(intercept)
    standard_error = math.sqrt((unobserved * se_intercept) ** 2 + unobserved)
    return fit, unobserved, standard_error


def _profile_loglik(histories, lists, terms, total: float) -> float:
    """Multinomial log-likelihood of population size ``total``, maximised over the model's other parameters."""
    import numpy as np

    members = np.vstack([np.zeros(len(lists)), histories[lists].to_numpy(dtype=float)])
    return _profile_loglik_arrays(
        _design_matrix(members, lists, terms), histories["count"].to_numpy(dtype=float), total
    )


def _profile_loglik_arrays(design, counts, total: float, start=None):
    """:func:`_profile_loglik` on arrays: ``design`` has the no-list row first, ``counts`` the observed cells."""
    import numpy as np

    observed = float(counts.sum())
    y = np.concatenate([[total - observed], counts])
    fit = _poisson_fit(y, design)
    mu = np.asarray(fit.fittedvalues, dtype=float)
    positive = y > 0
    return (
        math.lgamma(total + 1)
        - math.lgamma(total - observed + 1)
        + float(np.sum(y[positive] * np.log(mu[positive] / total)))
    )


def profile_interval(histories, lists, terms, estimate: float, level: float = 0.95) -> tuple[float, float]:
    """Profile-likelihood interval for the population size (as the R package ``Rcapture`` computes it).

    The unobserved cell is treated as a count ``N - n`` and the multinomial
    likelihood of ``N`` is maximised over the other parameters; the interval
    holds every ``N`` whose likelihood-ratio statistic is below the
    chi-squared quantile. If no ``N`` up to :data:`PROFILE_SEARCH_LIMIT`
    times the estimate is excluded, the upper end is ``inf`` and a
    :class:`SparseDataWarning` says that the data do not bound it.
    """
    import warnings

    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import chi2

    _z(level)
    import numpy as np

    counts = histories["count"].to_numpy(dtype=float)
    observed = float(counts.sum())
    cut = chi2.ppf(level, 1) / 2
    members = np.vstack([np.zeros(len(lists)), histories[lists].to_numpy(dtype=float)])
    design = _design_matrix(members, lists, [tuple(t) for t in terms])

    def loglik(total):
        return _profile_loglik_arrays(design, counts, total)

    span = max(estimate - observed, 1.0)
    best = minimize_scalar(
        lambda t: -loglik(t), bounds=(observed, observed + 4 * span + 10), method="bounded", options={"xatol": 0.01}
    )
    n_hat = float(best.x)
    top = max(-float(best.fun), loglik(estimate))

    def excess(total):
        return top - loglik(total) - cut

    lower = observed if excess(observed) <= 0 else brentq(excess, observed, n_hat, xtol=0.01)
    high = n_hat + span
    while excess(high) <= 0:
        if high > PROFILE_SEARCH_LIMIT * max(estimate, observed + 1):
            warnings.warn(
                f"the profile likelihood has no upper bound within {PROFILE_SEARCH_LIMIT:g} times the estimate: "
                "the data are too sparse to say how large the population could be, so the interval's upper "
                "end is infinite",
                SparseDataWarning,
                stacklevel=3,
            )
            return lower, math.inf
        high = n_hat + 2 * (high - n_hat)
    upper = brentq(excess, n_hat, high, xtol=0.01)
    return lower, upper


def _estimate_from_histories(histories, lists, terms, level, interval) -> LoglinearEstimate:
    if interval not in ("lognormal", "profile"):
        raise ValueError(f"interval must be 'lognormal' or 'profile', got {interval!r}")
    import warnings

    import numpy as np

    _z(level)
    fit, unobserved, standard_error = _fit_histories(histories, lists, terms)
    observed = int(histories["count"].sum())
    counts = histories["count"].to_numpy()
    for term in terms:
        together = int(counts[np.all(histories[list(term)].to_numpy() == 1, axis=1)].sum())
        if together < SPARSE_OVERLAP:
            warnings.warn(
                f"the interaction {':'.join(term)} rests on {together} "
                f"{'person' if together == 1 else 'people'} on all of {list(term)}: the data are sparse, and the "
                "estimate can move a long way with one person more or less; compare models and read the interval "
                "with care",
                SparseDataWarning,
                stacklevel=3,
            )
    if interval == "profile":
        lower, upper = profile_interval(histories, lists, terms, observed + unobserved, level)
    else:
        lower, upper = lognormal_interval(observed, unobserved, standard_error**2, level)
    n_params = 1 + len(lists) + len(terms)
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
        interval=interval,
        bic=float(-2 * fit.llf + n_params * math.log(observed)),
    )


def loglinear_mse(
    df, lists: Sequence[str], interactions=(), level: float = 0.95, interval: str = "lognormal"
) -> LoglinearEstimate:
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

    **Standard error.** The variance of the estimated total is the
    delta-method variance of ``exp(β0)`` (``(exp(β0) × se(β0))**2``) plus the
    Poisson variance of the unobserved count itself (``exp(β0)``): the number
    of people on no list is random even when its mean is known. The number
    observed is taken as given.

    **Interval.** ``interval="lognormal"`` (the default, one model fit) is
    Chao's log-normal interval on that variance (:func:`lognormal_interval`):
    asymmetric and never below the number observed. ``interval="profile"``
    is the profile-likelihood interval (:func:`profile_interval`), slower but
    honest when data are sparse: its upper end is ``inf``, with a
    :class:`SparseDataWarning`, when the data cannot bound it. Either reflects
    sampling error only, not the error of choosing the wrong model, which is
    usually larger.

    A model the data cannot identify (for example an interaction between two
    lists that nobody is on together, or a fit that diverges) raises
    :class:`ModelNotIdentifiableError` (a ``ValueError``).

    With two lists and no interaction, the model is saturated and the
    estimate equals Lincoln–Petersen's exactly.
    """
    lists = _list_names(lists)
    terms = _interaction_terms(interactions, lists)
    return _estimate_from_histories(capture_histories(df, lists), lists, terms, level, interval)


def loglinear_counts(
    table,
    lists: Sequence[str] | None = None,
    interactions=(),
    level: float = 0.95,
    interval: str = "profile",
    count: str = "count",
) -> LoglinearEstimate:
    """:func:`loglinear_mse` for a table of counts by capture history, as studies publish them.

    ``table`` has one 0/1 column per list and a ``count`` column
    (:func:`histories_from_counts` checks and completes it; ``lists`` default
    to every other column). The interval defaults to the profile likelihood,
    because published tables are often sparse. ``bic`` in the result is
    ``-2 log L + p log n`` with ``p`` the number of parameters and ``n`` the
    number of people observed; ``aic`` is statsmodels' ``-2 log L + 2p``.
    """
    histories = histories_from_counts(table, lists, count)
    lists = [c for c in histories.columns if c != "count"]
    terms = _interaction_terms(interactions, lists)
    return _estimate_from_histories(histories, lists, terms, level, interval)


def compare_models(table, models, lists: Sequence[str] | None = None, count: str = "count", level: float = 0.95):
    """Fit several models to one table of counts and put them side by side.

    ``models`` is a sequence of interaction sets (each as accepted by
    :func:`loglinear_mse`, ``()`` for independence). Returns a data frame
    sorted by BIC, one row per model: ``terms`` (``"a:b + c:d"``,
    ``"(independence)"``), ``estimate``, ``lower``, ``upper`` (Chao's
    log-normal interval, fast), ``deviance``, ``df_resid``, ``aic``, ``bic``,
    and ``fitted`` (``False`` with ``note`` saying why when the model cannot
    be identified; its figures are then missing, never made up). A model
    with an interaction resting on fewer than :data:`SPARSE_OVERLAP` people
    is fitted, and its ``note`` says "sparse" and names the interaction
    (instead of a :class:`SparseDataWarning` per model).
    """
    import warnings

    import pandas as pd

    histories = histories_from_counts(table, lists, count)
    names = [c for c in histories.columns if c != "count"]
    rows = []
    for model in models:
        terms = _interaction_terms(model, names)
        label = " + ".join(":".join(t) for t in terms) or "(independence)"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SparseDataWarning)
                result = _estimate_from_histories(histories, names, terms, level, "lognormal")
        except ModelNotIdentifiableError as error:
            rows.append({"terms": label, "fitted": False, "note": str(error)})
            continue
        for warning in caught:  # anything other than sparseness is passed on as it came
            if not issubclass(warning.category, SparseDataWarning):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        sparse = "; ".join(
            str(w.message).split(" on all of")[0] for w in caught if issubclass(w.category, SparseDataWarning)
        )
        rows.append(
            {
                "terms": label,
                "estimate": result.estimate,
                "lower": result.lower,
                "upper": result.upper,
                "deviance": result.deviance,
                "df_resid": result.df_resid,
                "aic": result.aic,
                "bic": result.bic,
                "fitted": True,
                "note": f"sparse: {sparse}" if sparse else "",
            }
        )
    columns = ["terms", "estimate", "lower", "upper", "deviance", "df_resid", "aic", "bic", "fitted", "note"]
    return pd.DataFrame(rows, columns=columns).sort_values("bic", na_position="last", ignore_index=True)


@dataclass(frozen=True)
class StepwiseResult:
    """The model :func:`stepwise_mse` chose, its estimate, and every step it took."""

    result: LoglinearEstimate
    steps: object  # a pandas DataFrame: step, added, aic, p_value, kept
    threshold: float


def stepwise_mse(
    table,
    lists: Sequence[str] | None = None,
    threshold: float = STEPWISE_THRESHOLD,
    level: float = 0.95,
    interval: str = "profile",
    count: str = "count",
) -> StepwiseResult:
    """Choose two-list interactions stepwise, as Silverman's UK 2013 estimate did.

    Start from the independence model. At each step, try adding each
    two-list interaction not yet in the model and take the one that lowers
    AIC most; keep it only if AIC went down *and* the new term's Wald p-value
    is below ``threshold`` (default :data:`STEPWISE_THRESHOLD`), else stop.
    This is the rule of ``MSEfit`` in Silverman's R package ``modslavmse``.
    Interactions the data cannot identify (two lists that nobody is on
    together) are never candidates; the steps table says which were skipped.

    Returns a :class:`StepwiseResult`: the chosen model's estimate (with a
    profile-likelihood interval by default), a table of the steps, and the
    threshold used. The interval does not include the uncertainty of the
    choice itself.
    """
    import itertools

    import pandas as pd

    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a p-value between 0 and 1, got {threshold!r}")
    histories = histories_from_counts(table, lists, count)
    names = [c for c in histories.columns if c != "count"]
    chosen: list[tuple[str, ...]] = []
    current, _, _ = _fit_histories(histories, names, chosen)
    steps = [{"step": 0, "added": "(independence)", "aic": float(current.aic), "p_value": math.nan, "kept": True}]
    candidates = [pair for pair in itertools.combinations(names, 2)]
    skipped = []
    for step in itertools.count(1):
        best = None
        for pair in candidates:
            if pair in chosen or pair in skipped:
                continue
            try:
                fit, _, _ = _fit_histories(histories, names, [*chosen, pair])
            except ModelNotIdentifiableError:
                skipped.append(pair)
                continue
            if best is None or fit.aic < best[1].aic:
                best = (pair, fit)
        if best is None or best[1].aic >= current.aic:
            break
        pair, fit = best
        p_value = float(fit.pvalues[-1])
        kept = p_value < threshold
        steps.append({"step": step, "added": ":".join(pair), "aic": float(fit.aic), "p_value": p_value, "kept": kept})
        if not kept:
            break
        chosen.append(pair)
        current = fit
    for pair in skipped:
        steps.append(
            {
                "step": math.nan,
                "added": ":".join(pair) + " (not identifiable: skipped)",
                "aic": math.nan,
                "p_value": math.nan,
                "kept": False,
            }
        )
    result = _estimate_from_histories(histories, names, chosen, level, interval)
    return StepwiseResult(result=result, steps=pd.DataFrame(steps), threshold=threshold)


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
    total = {
        by: "total",
        "observed": observed,
        "estimate": estimate,
        "standard_error": math.sqrt(variance),
        "lower": lower,
        "upper": upper,
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)

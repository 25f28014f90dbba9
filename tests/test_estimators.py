"""Tests of the multiple systems estimators in htcourse.estimators, against hand-computed values.

(The first two-list tests live in tests/test_datasets.py; these add the
Lincoln–Petersen interval, the data-frame helpers and the log-linear models.)
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pandas as pd
import pytest

from htcourse import data, estimators

LISTS = ["police", "ngo", "health", "hotline"]
Z = NormalDist().inv_cdf(0.975)


def people(histories: dict[tuple[int, ...], int], names: list[str]) -> pd.DataFrame:
    """A frame with one row per person from counts of capture histories."""
    rows = [h for h, n in histories.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=names)


# --- Two lists -------------------------------------------------------------
# The module page's example: list A 100 people, list B 80, 20 on both.


def test_lincoln_petersen_by_hand():
    assert estimators.lincoln_petersen(100, 80, 20) == pytest.approx(400.0)
    # Variance n1 n2 (n1 - m)(n2 - m) / m^3 = 100 * 80 * 80 * 60 / 8000 = 4800.
    assert estimators.lincoln_petersen_variance(100, 80, 20) == pytest.approx(4800.0)
    result = estimators.lincoln_petersen_ci(100, 80, 20)
    assert result.standard_error == pytest.approx(math.sqrt(4800))
    assert result.lower == pytest.approx(400 - Z * math.sqrt(4800))
    assert result.upper == pytest.approx(400 + Z * math.sqrt(4800))
    with pytest.raises(ValueError):
        estimators.lincoln_petersen_ci(100, 80, 0)


def test_chapman_correction_by_hand():
    # (101 * 81) / 21 - 1 = 8181 / 21 - 1 = 388.571...
    assert estimators.chapman(100, 80, 20) == pytest.approx(8181 / 21 - 1)
    assert estimators.chapman(100, 80, 20) < estimators.lincoln_petersen(100, 80, 20)


def test_two_list_counts_from_a_frame():
    frame = people({(1, 0, 0): 3, (1, 1, 0): 2, (0, 1, 1): 4, (0, 0, 1): 5}, ["a", "b", "c"])
    assert estimators.two_list_counts(frame, "a", "b") == (5, 6, 2)
    assert estimators.two_list_counts(frame, "b", "c") == (6, 9, 4)
    with pytest.raises(KeyError):
        estimators.two_list_counts(frame, "a", "z")


# --- Capture histories -------------------------------------------------------


def test_capture_histories_counts_every_observable_pattern():
    frame = people({(1, 0, 0): 3, (1, 1, 0): 2, (0, 1, 1): 4, (0, 0, 1): 5}, ["a", "b", "c"])
    table = estimators.capture_histories(frame, ["a", "b", "c"])
    assert len(table) == 7  # 2**3 - 1, zeros included
    assert list(table.columns) == ["a", "b", "c", "count"]
    assert [tuple(r) for r in table[["a", "b", "c"]].to_numpy()] == [
        (0, 0, 1),
        (0, 1, 0),
        (0, 1, 1),
        (1, 0, 0),
        (1, 0, 1),
        (1, 1, 0),
        (1, 1, 1),
    ]
    assert table["count"].tolist() == [5, 0, 4, 3, 0, 2, 0]


# --- Log-linear models --------------------------------------------------------


def test_loglinear_with_two_lists_is_lincoln_petersen():
    # n10 = 80, n01 = 60, n11 = 20: n1 = 100, n2 = 80, m = 20.
    frame = people({(1, 0): 80, (0, 1): 60, (1, 1): 20}, ["a", "b"])
    result = estimators.loglinear_mse(frame, ["a", "b"])
    assert result.estimate == pytest.approx(400.0)
    assert result.unobserved == pytest.approx(80 * 60 / 20)
    assert result.observed == 160
    # The saturated model's intercept has variance 1/n10 + 1/n01 + 1/n11 (delta method: times 240**2);
    # the unseen count's own Poisson variance (240) is added.
    assert result.standard_error == pytest.approx(math.sqrt(240**2 * (1 / 80 + 1 / 60 + 1 / 20) + 240), rel=1e-4)


def test_loglinear_independence_on_three_lists_by_hand():
    # 27 people, each on each of three lists with probability 1/3, independently:
    # expected counts 27 (1/3)^k (2/3)^(3-k) = 8, 4, 2, 1 for k = 0..3 lists.
    # These counts fit the independence model exactly, so it must give 8 unseen, 27 in all.
    histories = {(1, 0, 0): 4, (0, 1, 0): 4, (0, 0, 1): 4, (1, 1, 0): 2, (1, 0, 1): 2, (0, 1, 1): 2, (1, 1, 1): 1}
    result = estimators.loglinear_mse(people(histories, ["a", "b", "c"]), ["a", "b", "c"])
    assert result.observed == 19
    assert result.unobserved == pytest.approx(8.0, rel=1e-6)
    assert result.estimate == pytest.approx(27.0, rel=1e-6)
    assert result.deviance == pytest.approx(0.0, abs=1e-8)
    assert result.df_resid == 3 and result.terms == ()


UNEVEN = {(1, 0, 0): 30, (0, 1, 0): 25, (0, 0, 1): 20, (1, 1, 0): 15, (1, 0, 1): 5, (0, 1, 1): 10, (1, 1, 1): 4}


def test_loglinear_one_interaction_closed_form():
    # Model [ab][c]: list c is independent of (a, b), so among the (a, b) histories
    # other than (0, 0) the odds of "not on c" are the same as for (0, 0):
    # n000 = n001 * (n100 + n010 + n110) / (n101 + n011 + n111) = 20 * 70 / 19.
    frame = people(UNEVEN, ["a", "b", "c"])
    result = estimators.loglinear_mse(frame, ["a", "b", "c"], interactions=[("a", "b")])
    assert result.unobserved == pytest.approx(20 * 70 / 19, rel=1e-6)
    assert result.terms == ("a:b",)
    same = estimators.loglinear_mse(frame, ["a", "b", "c"], interactions="b:a")
    assert same.estimate == pytest.approx(result.estimate)


def test_loglinear_all_pairwise_interactions_closed_form():
    # With every two-list interaction the model is saturated but for the three-way
    # term, and n000 = n111 n100 n010 n001 / (n110 n101 n011) = 4*30*25*20 / (15*5*10).
    frame = people(UNEVEN, ["a", "b", "c"])
    result = estimators.loglinear_mse(frame, ["a", "b", "c"], interactions=["a:b", "a:c", "b:c"])
    assert result.unobserved == pytest.approx(4 * 30 * 25 * 20 / (15 * 5 * 10), rel=1e-6)
    assert result.df_resid == 0


def test_loglinear_interval_is_chaos_lognormal():
    frame = people(UNEVEN, ["a", "b", "c"])
    result = estimators.loglinear_mse(frame, ["a", "b", "c"])
    f0, var = result.unobserved, result.standard_error**2
    c = math.exp(Z * math.sqrt(math.log(1 + var / f0**2)))
    assert result.lower == pytest.approx(result.observed + f0 / c)
    assert result.upper == pytest.approx(result.observed + f0 * c)
    assert result.observed < result.lower < result.estimate < result.upper


def test_loglinear_rejects_models_it_cannot_fit():
    frame = people(UNEVEN, ["a", "b", "c"])
    with pytest.raises(ValueError):
        estimators.loglinear_mse(frame, ["a", "b", "c"], interactions=[("a", "b", "c")])
    with pytest.raises(ValueError):
        estimators.loglinear_mse(frame, ["a", "b", "c"], interactions=["a:z"])
    with pytest.raises(ValueError):
        estimators.loglinear_mse(frame, ["a"])


def test_stratified_estimate_adds_up_the_strata():
    frame = pd.concat(
        [
            people(UNEVEN, ["a", "b", "c"]).assign(group="x"),
            people({k: 2 * v for k, v in UNEVEN.items()}, ["a", "b", "c"]).assign(group="y"),
        ],
        ignore_index=True,
    )
    table = estimators.stratified_estimate(frame, ["a", "b", "c"], by="group").set_index("group")
    single = estimators.loglinear_mse(frame[frame["group"] == "x"], ["a", "b", "c"])
    assert table.loc["x", "estimate"] == pytest.approx(single.estimate)
    # Doubling every count doubles the estimate.
    assert table.loc["y", "estimate"] == pytest.approx(2 * single.estimate, rel=1e-6)
    assert table.loc["total", "estimate"] == pytest.approx(3 * single.estimate, rel=1e-6)
    assert table.loc["total", "observed"] == len(frame)
    assert table.loc["total", "standard_error"] == pytest.approx(
        math.hypot(table.loc["x", "standard_error"], table.loc["y", "standard_error"])
    )
    assert table.loc["total", "lower"] < table.loc["total", "estimate"] < table.loc["total", "upper"]


# --- The committed data: every estimator recovers the independent scenario's truth ---


@pytest.fixture(scope="module")
def truth():
    table = data.load("list_overlap_truth")
    return table.set_index(["scenario", "sector"])["trueTotal"]


@pytest.fixture(scope="module")
def independent():
    return data.load("list_overlap_independent")


@pytest.fixture(scope="module")
def dependent():
    return data.load("list_overlap_dependent")


@pytest.mark.parametrize("pair", [("police", "ngo"), ("health", "hotline"), ("ngo", "hotline")])
def test_two_list_intervals_cover_the_independent_truth(independent, truth, pair):
    counts = estimators.two_list_counts(independent, *pair)
    for result in (estimators.lincoln_petersen_ci(*counts), estimators.chapman_ci(*counts)):
        assert result.lower <= truth[("independent", "all")] <= result.upper, (pair, result)


@pytest.mark.parametrize("interactions", [(), [("ngo", "hotline")]])
def test_loglinear_intervals_cover_the_independent_truth(independent, truth, interactions):
    result = estimators.loglinear_mse(independent, LISTS, interactions)
    assert result.lower <= truth[("independent", "all")] <= result.upper, result


@pytest.mark.parametrize("interactions", [(), [("ngo", "hotline")]])
def test_stratified_intervals_cover_the_independent_truth(independent, truth, interactions):
    table = estimators.stratified_estimate(independent, LISTS, by="sector", interactions=interactions)
    total = table.set_index("sector").loc["total"]
    assert total["lower"] <= truth[("independent", "all")] <= total["upper"], total


def test_dependence_pulls_the_independence_model_down(dependent, truth):
    plain = estimators.loglinear_mse(dependent, LISTS)
    with_referrals = estimators.loglinear_mse(dependent, LISTS, [("ngo", "hotline")])
    assert plain.upper < truth[("dependent", "all")]  # confidently wrong
    assert with_referrals.estimate > plain.estimate
    assert with_referrals.deviance < plain.deviance


# --- Tables of counts, model choice and honest intervals (issue 27; issue 24 item 5) ----------------


def counts_table(histories: dict[tuple[int, ...], int], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame([(*h, n) for h, n in histories.items()], columns=[*names, "count"])


def statsmodels_unobserved(table: pd.DataFrame, formula_terms: str) -> float:
    """exp(intercept) of a Poisson GLM fitted with statsmodels' formula interface: an independent reference."""
    import statsmodels.formula.api as smf

    fit = smf.glm(f"count ~ {formula_terms}", data=table, family=sm_poisson()).fit()
    return math.exp(fit.params["Intercept"])


def sm_poisson():
    import statsmodels.api as sm

    return sm.families.Poisson()


def test_a_table_of_counts_gives_the_same_estimate_as_one_row_per_person():
    table = counts_table(UNEVEN, ["a", "b", "c"])
    for interactions in [(), ["a:b"], ["a:b", "b:c"]]:
        from_people = estimators.loglinear_mse(people(UNEVEN, ["a", "b", "c"]), ["a", "b", "c"], interactions)
        from_counts = estimators.loglinear_counts(table, interactions=interactions, interval="lognormal")
        assert from_counts == from_people


def test_missing_histories_count_as_zero_and_repeats_add_up():
    table = counts_table({(1, 0, 0): 30, (0, 1, 0): 25, (1, 1, 0): 10, (0, 0, 1): 20, (1, 0, 1): 5}, ["a", "b", "c"])
    doubled = pd.concat([table, table.iloc[[0]].assign(count=0)], ignore_index=True)
    histories = estimators.histories_from_counts(doubled)
    assert len(histories) == 7 and histories["count"].sum() == 90
    assert histories.set_index(["a", "b", "c"]).loc[(0, 1, 1), "count"] == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"a": [2, 0, 1]}, "list column 'a'.*got 2"),
        ({"count": [5, -1, 3]}, "column 'count'.*got -1"),
        ({"count": [5, 1.5, 3]}, "column 'count'.*got 1.5"),
        ({"count": [5, None, 3]}, "column 'count'"),
    ],
)
def test_a_bad_table_of_counts_is_refused_naming_the_column_and_value(change, message):
    table = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1], "count": [5, 4, 3]})
    for column, values in change.items():
        table[column] = values
    with pytest.raises(ValueError, match=message):
        estimators.loglinear_counts(table)


def test_a_row_on_no_list_is_refused():
    table = pd.DataFrame({"a": [1, 0, 0], "b": [0, 1, 0], "count": [5, 4, 3]})
    with pytest.raises(ValueError, match="on no list"):
        estimators.loglinear_counts(table)


def test_estimates_match_statsmodels_poisson_glm_on_the_uk_table():
    uk = data.load("mse_uk_2013_5lists")
    complete = estimators.histories_from_counts(uk)
    for interactions, formula in [
        ((), "LA + NG + PFNCA + GO + GP"),
        (["NG:PFNCA", "PFNCA:GO"], "LA + NG + PFNCA + GO + GP + NG:PFNCA + PFNCA:GO"),
    ]:
        ours = estimators.loglinear_counts(uk, interactions=interactions, interval="lognormal")
        assert ours.observed == 2744
        assert ours.unobserved == pytest.approx(statsmodels_unobserved(complete, formula), rel=1e-6)


def test_standard_error_includes_the_poisson_variance_of_the_unseen_count():
    # Two lists, saturated: var(log f0) = 1/n10 + 1/n01 + 1/n11; f0 = 240.
    result = estimators.loglinear_counts(counts_table({(1, 0): 80, (0, 1): 60, (1, 1): 20}, ["a", "b"]))
    f0 = 240.0
    assert result.standard_error == pytest.approx(
        math.sqrt((f0 * math.sqrt(1 / 80 + 1 / 60 + 1 / 20)) ** 2 + f0), rel=1e-4
    )


def test_profile_interval_is_where_the_likelihood_ratio_crosses_the_chi_squared_quantile():
    from scipy.stats import chi2

    table = counts_table(UNEVEN, ["a", "b", "c"])
    result = estimators.loglinear_counts(table, interactions=["a:b"])
    assert result.interval == "profile"
    assert result.observed < result.lower < result.estimate < result.upper < math.inf
    histories = estimators.histories_from_counts(table)
    terms = [("a", "b")]
    grid = [result.observed + 0.25 * k for k in range(1, 4000)]
    top = max(estimators._profile_loglik(histories, ["a", "b", "c"], terms, n) for n in grid)
    cut = chi2.ppf(0.95, 1) / 2
    for bound in (result.lower, result.upper):
        assert top - estimators._profile_loglik(histories, ["a", "b", "c"], terms, bound) == pytest.approx(
            cut, abs=0.02
        )


def test_uk_2013_stepwise_estimate_falls_in_the_published_range():
    """Silverman's stepwise rule on the five-list UK 2013 table, against the published range.

    Published: "between 10 thousand and 13 thousand" potential victims in the UK in 2013, of whom
    2,744 were known (Home Office, 29 November 2014). With the course's threshold (p < 0.02, SparseMSE's
    default) the rule keeps six interactions and estimates 11,313 with a profile-likelihood 95% interval of
    9,889 to 13,063; with modslavmse's default (p < 0.01) it keeps five and estimates 12,262.
    """
    uk = data.load("mse_uk_2013_5lists")
    chosen = estimators.stepwise_mse(uk)
    assert chosen.threshold == estimators.STEPWISE_THRESHOLD == 0.02
    result = chosen.result
    assert result.observed == 2744
    assert 10_000 <= result.estimate <= 13_000, result
    assert result.terms == ("LA:NG", "NG:GP", "PFNCA:GP", "LA:PFNCA", "GO:GP", "NG:GO")
    assert round(result.estimate) == 11_313
    assert (round(result.lower), round(result.upper)) == (9_889, 13_063)
    kept = chosen.steps[chosen.steps["kept"] & (chosen.steps["step"] > 0)]
    assert list(kept["added"]) == list(result.terms)
    assert (kept["p_value"] < 0.02).all()
    assert "LA:GP (not identifiable: skipped)" in set(chosen.steps["added"])  # nobody is on both

    stricter = estimators.stepwise_mse(uk, threshold=0.01, interval="lognormal").result
    assert stricter.terms == result.terms[:5]
    assert round(stricter.estimate) == 12_262 and 10_000 <= stricter.estimate <= 13_000


def test_compare_models_ranks_by_bic_and_reports_unidentifiable_models():
    western = data.load("mse_us_western_5lists")
    table = estimators.compare_models(western, [(), ["A:C"], ["A:B"]])
    assert list(table.columns[:3]) == ["terms", "estimate", "lower"]
    fitted = table[table["fitted"]]
    assert fitted["bic"].is_monotonic_increasing
    refused = table[~table["fitted"]].set_index("terms")
    assert "A:B" in refused.index and "nobody is on all of" in refused.loc["A:B", "note"]
    assert refused["estimate"].isna().all()


def test_an_interaction_between_lists_that_never_overlap_is_an_error_even_with_warnings_silenced():
    import warnings

    western = data.load("mse_us_western_5lists")  # nobody is on both A and B
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(estimators.ModelNotIdentifiableError, match="A:B cannot be estimated"):
            estimators.loglinear_counts(western, interactions=["A:B"])


def test_stepwise_skips_interactions_it_cannot_identify_and_says_so():
    western = data.load("mse_us_western_5lists")
    chosen = estimators.stepwise_mse(western, interval="lognormal")
    skipped = chosen.steps[chosen.steps["added"].str.contains("not identifiable")]
    assert "A:B (not identifiable: skipped)" in set(skipped["added"])


def test_sparse_table_warns_when_an_interaction_rests_on_few_people():
    new_orleans = data.load("mse_new_orleans_8lists")  # 185 people on eight lists; E and H share one person
    with pytest.warns(estimators.SparseDataWarning, match="E:H rests on 1 person"):
        result = estimators.loglinear_counts(new_orleans, interactions=["E:H"])
    # The profile interval is wide and asymmetric: the data say little about how many were never seen.
    assert result.observed == 185
    assert result.upper - result.estimate > 1.5 * (result.estimate - result.lower)


def test_an_upper_bound_the_data_do_not_reach_is_infinite_and_says_so(monkeypatch):
    table = counts_table({(1, 0): 30, (0, 1): 25, (1, 1): 1}, ["a", "b"])
    bounded = estimators.loglinear_counts(table)
    assert math.isfinite(bounded.upper) and bounded.upper > 10 * bounded.estimate  # one person in common
    # With the search stopped well below that bound, the answer is "no upper bound", never a made-up number.
    monkeypatch.setattr(estimators, "PROFILE_SEARCH_LIMIT", 2.0)
    with pytest.warns(estimators.SparseDataWarning, match="no upper bound"):
        unbounded = estimators.loglinear_counts(table)
    assert unbounded.upper == math.inf and unbounded.lower == pytest.approx(bounded.lower)

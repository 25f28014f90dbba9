"""Helpers refuse bad input with one clear error naming the column and the value (issue 24, item 5).

Each test damages one value of a real course table the way a student's
cleaning might (a misspelt or upper-case category, a label other than 0/1, a
missing number, a hash of another size) and checks that the helper stops with
a message naming the column and the value, instead of returning a quietly
wrong number. The undamaged tables still work.
"""

from __future__ import annotations

import imagehash
import numpy as np
import pandas as pd
import pytest

from htcourse import audits, data, imagematch, metrics, trends
from htcourse.checks import BadValueError, check_categories, check_hash_bits, check_numbers


@pytest.fixture(scope="module")
def supply():
    return {name: data.load(f"supply_{name}") for name in ("sites", "truth", "audits", "reports")}


@pytest.fixture(scope="module")
def screening():
    return data.load("ad_screening")


def _damaged(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    out = frame.copy()
    if pd.api.types.is_integer_dtype(out[column]) and not isinstance(value, int):
        out[column] = out[column].astype(float)  # room for a missing value
    elif not pd.api.types.is_numeric_dtype(out[column]):
        out[column] = out[column].astype(object)
    out.loc[out.index[row], column] = value
    return out


# --- the checks themselves ---------------------------------------------------------------


def test_check_categories_names_the_column_value_and_row():
    with pytest.raises(BadValueError, match=r"column 'result' has the value 'Fail' \(row 1\).*'pass', 'fail'.*1 row"):
        check_categories(pd.Series(["pass", "Fail", "fail"]), ("pass", "fail"), "result")
    with pytest.raises(BadValueError, match=r"column 'result' has a missing value \(row 0\)"):
        check_categories(pd.Series([None, "pass"]), ("pass", "fail"), "result")
    check_categories(pd.Series([0.0, 1.0, 1]), (0, 1), "label")  # 1.0 is 1
    check_categories(pd.Series([], dtype=object), ("pass",), "result")


def test_check_numbers_refuses_missing_non_numbers_and_values_below_the_minimum():
    with pytest.raises(BadValueError, match=r"column 'workers' has a missing value \(row 2\) where a number is needed"):
        check_numbers(pd.Series([1.0, 2.0, np.nan]), "workers")
    with pytest.raises(BadValueError, match=r"column 'workers' has the value 'ten' \(row 1\), which is not a number"):
        check_numbers(pd.Series([1, "ten"], dtype=object), "workers")
    with pytest.raises(BadValueError, match=r"column 'count' has the value -3 \(row 0\), below the smallest"):
        check_numbers(pd.Series([-3, 4]), "count", minimum=0)
    check_numbers(pd.Series([0, 1.5, 7]), "count", minimum=0)


def test_check_hash_bits():
    check_hash_bits(np.zeros(64, dtype=bool), 64, "a")
    with pytest.raises(BadValueError, match="hash a has 256 bits, not 64"):
        check_hash_bits(np.zeros(256, dtype=bool), 64, "a")


# --- audits ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Fail", "FAIL", " fail", "failed"])
def test_a_misspelt_audit_result_is_refused_not_counted_as_a_pass(supply, value):
    row = int(np.flatnonzero(supply["audits"]["result"] == "fail")[0])
    bad = _damaged(supply["audits"], row, "result", value)
    with pytest.raises(BadValueError, match=rf"column 'result' has the value {value!r} \(row {row}\)"):
        audits.detection_by_type(bad, supply["truth"])
    with pytest.raises(BadValueError, match="column 'result'"):
        audits.compliance_claim(supply["sites"], supply["truth"], bad)


def test_an_unknown_notice_or_payer_is_refused(supply):
    with pytest.raises(BadValueError, match=r"column 'notice' has the value 'surprise'"):
        audits.detection_by_type(_damaged(supply["audits"], 3, "notice", "surprise"), supply["truth"])
    with pytest.raises(BadValueError, match=r"column 'payer' has the value 'Buyer'"):
        audits.detection_by_type(_damaged(supply["audits"], 3, "payer", "Buyer"), supply["truth"])


def test_a_missing_or_unknown_truth_status_is_refused(supply):
    with pytest.raises(BadValueError, match=r"column 'forcedLabour' has a missing value \(row 5\)"):
        audits.detection_by_type(supply["audits"], _damaged(supply["truth"], 5, "forcedLabour", np.nan))
    with pytest.raises(BadValueError, match=r"column 'forcedLabour' has the value 2"):
        audits.detection_by_type(supply["audits"], _damaged(supply["truth"], 5, "forcedLabour", 2))


def test_a_missing_number_or_unknown_tier_in_the_sites_is_refused(supply):
    with pytest.raises(BadValueError, match=r"column 'workers' has a missing value \(row 4\)"):
        audits.compliance_claim(_damaged(supply["sites"], 4, "workers", np.nan), supply["truth"], supply["audits"])
    with pytest.raises(BadValueError, match=r"column 'migrantShare' has a missing value"):
        audits.who_reports(_damaged(supply["sites"], 0, "migrantShare", np.nan), supply["reports"])
    with pytest.raises(BadValueError, match=r"column 'tier' has the value 4"):
        audits.by_tier(_damaged(supply["sites"], 0, "tier", 4), supply["truth"], supply["audits"])


def test_an_unknown_reporter_group_or_indicator_is_refused(supply):
    with pytest.raises(BadValueError, match=r"column 'reporterGroup' has the value 'Migrant'"):
        audits.who_reports(supply["sites"], _damaged(supply["reports"], 0, "reporterGroup", "Migrant"))
    with pytest.raises(BadValueError, match=r"column 'indicator' has the value 'debt bondage'"):
        audits.channel_detection(
            supply["sites"],
            supply["truth"],
            supply["audits"],
            _damaged(supply["reports"], 0, "indicator", "debt bondage"),
        )


def test_the_clean_supply_chain_tables_still_work(supply):
    table = audits.detection_by_type(supply["audits"], supply["truth"])
    assert table["detection_rate"].between(0, 1).all()
    assert audits.who_reports(supply["sites"], supply["reports"])["reports"] == len(supply["reports"])


# --- the screening tool ---------------------------------------------------------------------


def test_a_label_other_than_0_or_1_is_refused_not_dropped(screening):
    bad = _damaged(screening, 7, "isExploitation", 2)
    with pytest.raises(BadValueError, match=r"column 'isExploitation' has the value 2 \(row 7\)"):
        metrics.binned_counts(bad)
    with pytest.raises(BadValueError, match=r"column 'isExploitation' has the value 2"):
        metrics.rates_by_group(bad, 0.5)
    with pytest.raises(BadValueError, match=r"column 'labels' has the value 2 \(row 1\)"):
        metrics.confusion_at([0.1, 0.9], [0, 2], 0.5)


def test_a_missing_group_or_score_is_refused(screening):
    with pytest.raises(BadValueError, match=r"column 'advertiserGroup' has a missing value \(row 3\)"):
        metrics.binned_counts(_damaged(screening, 3, "advertiserGroup", None))
    with pytest.raises(BadValueError, match=r"column 'score' has a missing value \(row 9\)"):
        metrics.rates_by_group(_damaged(screening, 9, "score", np.nan), 0.5)
    with pytest.raises(BadValueError, match=r"column 'scores' has a missing value"):
        metrics.confusion_at([0.1, np.nan], [0, 1], 0.5)


def test_the_clean_screening_table_still_works(screening):
    binned = metrics.binned_counts(screening)
    assert binned["listings"].sum() == len(screening)


# --- image hashes ---------------------------------------------------------------------------


def test_a_hash_of_another_size_is_refused_not_cut_into_pieces():
    image = imagematch.synthetic_images(2, size=64, seed=1)
    small = [imagehash.phash(item.image) for item in image]
    assert len(imagematch.hash_codes(small)) == 2
    big = imagehash.phash(image[0].image, hash_size=16)  # 256 bits: once silently read as four 64-bit hashes
    with pytest.raises(BadValueError, match="hash number 1 has 256 bits, not 64"):
        imagematch.hash_codes([small[0], big])


# --- the trend model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monthly():
    contacts = data.load("hotline_contacts")
    return contacts.set_index("month")["contactsPhone"]


def test_a_missing_or_negative_count_is_refused_by_the_trend_model(monthly):
    gap = monthly.astype(float).copy()
    gap.iloc[10] = np.nan
    with pytest.raises(BadValueError, match=rf"column 'contactsPhone' has a missing value \(row {gap.index[10]}\)"):
        trends.fit_trend(gap)
    negative = monthly.copy()
    negative.iloc[3] = -1
    with pytest.raises(BadValueError, match="column 'contactsPhone' has the value -1"):
        trends.fit_trend(negative)
    assert trends.fit_trend(monthly).lower < trends.fit_trend(monthly).upper


def test_a_missing_count_is_refused_by_monthly_ratio():
    contacts, truth = data.load("hotline_contacts"), data.load("hotline_truth")
    contacts["contactsTotal"] = contacts["contactsTotal"].astype(float)
    contacts.loc[2, "contactsTotal"] = np.nan
    with pytest.raises(BadValueError, match=r"column 'contactsTotal' has a missing value"):
        trends.monthly_ratio(contacts, truth)


def test_a_trend_model_that_is_not_identifiable_says_so(monthly):
    months = pd.PeriodIndex(monthly.index, freq="M")
    events = pd.DataFrame(
        {
            "eventId": ["a", "b"],
            "startMonth": [str(months[30])] * 2,
            "endMonth": [str(months[40])] * 2,
            "effect": ["test", "test"],
            "channels": ["phone", "phone"],
            "description": ["a", "b"],
        }
    )
    with pytest.raises(ValueError, match="not identifiable"):
        trends.fit_trend(monthly, events)

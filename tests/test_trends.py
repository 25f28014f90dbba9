"""Unit tests for htcourse.trends, on tiny hand-built series."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from htcourse import trends


def month_labels(start: str, n: int) -> list[str]:
    return [str(p) for p in pd.period_range(start, periods=n, freq="M")]


def series(values, start="2020-01") -> pd.Series:
    return pd.Series(values, index=month_labels(start, len(values)), dtype=float)


EVENTS = pd.DataFrame(
    {
        "eventId": ["campaign", "new_number"],
        "startMonth": ["2020-03", "2020-07"],
        "endMonth": ["2020-04", np.nan],
        "effect": ["bump", "step"],
        "channels": ["contactsPhone;contactsWebForm", "contactsPhone"],
        "description": ["A campaign.", "A short number."],
    }
)


def test_to_period_accepts_text_periods_and_timestamps():
    expected = pd.PeriodIndex(["2019-01", "2019-02"], freq="M")
    assert trends.to_period(["2019-01", "2019-02"]).equals(expected)
    assert trends.to_period(pd.to_datetime(["2019-01-15", "2019-02-01"])).equals(expected)
    assert trends.to_period(expected).equals(expected)
    assert trends.to_period("2019-01")[0] == expected[0]
    assert trends.month_start(["2019-02"])[0] == pd.Timestamp("2019-02-01")


def test_monthly_ratio():
    contacts = pd.DataFrame({"month": ["2020-02", "2020-01"], "contactsTotal": [20, 10]})
    truth = pd.DataFrame({"month": ["2020-01", "2020-02"], "trueIncidence": [100, 100]})
    ratio = trends.monthly_ratio(contacts, truth)
    assert list(ratio["month"]) == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")]
    assert list(ratio["ratio"]) == [0.1, 0.2]
    assert list(ratio.columns) == ["month", "contacts", "trueIncidence", "ratio"]


def test_monthly_ratio_refuses_months_that_do_not_match():
    contacts = pd.DataFrame({"month": ["2020-01", "2020-02"], "contactsTotal": [10, 20]})
    with pytest.raises(ValueError, match="without a match"):
        trends.monthly_ratio(contacts, pd.DataFrame({"month": ["2020-01", "2020-03"], "trueIncidence": [1, 1]}))
    with pytest.raises(ValueError, match="once"):
        trends.monthly_ratio(contacts, pd.DataFrame({"month": ["2020-01", "2020-01"], "trueIncidence": [1, 1]}))


def test_before_after_with_a_window():
    values = series([10] * 12 + [20] * 12)
    result = trends.before_after(values, "2021-01", window=12)
    assert (result.before, result.after, result.change, result.ratio) == (10, 20, 10, 2)
    assert (result.months_before, result.months_after) == (12, 12)


def test_before_after_with_an_end_month_and_short_windows():
    values = series([10, 10, 40, 60, 10, 10])
    result = trends.before_after(values, "2020-03", window=12, end="2020-04")
    assert (result.before, result.after) == (10, 50)
    assert (result.months_before, result.months_after) == (2, 2)
    assert trends.before_after(values, pd.Period("2020-05", "M"), window=1).before == 60


def test_before_after_needs_months_on_both_sides():
    with pytest.raises(ValueError):
        trends.before_after(series([1, 2, 3]), "2020-01")
    with pytest.raises(ValueError):
        trends.before_after(series([1, 2, 3]), "2020-02", window=0)


def test_event_table():
    table = trends.event_table(EVENTS)
    assert list(table["label"]) == ["Campaign", "New number"]
    assert table.loc[0, "end"] == pd.Timestamp("2020-05-01"), "a bump is shaded to the end of its last month"
    assert table.loc[1, "end"] == table.loc[1, "start"] == pd.Timestamp("2020-07-01")
    assert table.loc[0, "channels"] == ["contactsPhone", "contactsWebForm"]
    assert table.loc[0, "endMonth"] == "2020-04" and pd.isna(table.loc[1, "endMonth"])


def test_event_table_reads_empty_end_months_as_text_too():
    table = trends.event_table(EVENTS.fillna(""))
    assert table.loc[1, "end"] == pd.Timestamp("2020-07-01")


def test_event_rules_is_a_layer_with_one_label_per_event():
    layer = trends.event_rules(EVENTS)
    assert isinstance(layer, alt.LayerChart)
    spec = layer.to_dict()
    marks = [part["mark"]["type"] if isinstance(part["mark"], dict) else part["mark"] for part in spec["layer"]]
    assert marks.count("rect") == 1 and marks.count("rule") == 1 and marks.count("text") == len(EVENTS)
    assert "A short number." in json.dumps(spec)


def test_yearly_totals():
    contacts = pd.DataFrame({"month": month_labels("2019-11", 4), "contactsPhone": [1, 2, 3, 4]})
    truth = pd.DataFrame({"month": month_labels("2019-11", 4), "trueIncidence": [10, 10, 10, 10]})
    totals = trends.yearly_totals(contacts, truth)
    assert totals.loc[2019, "contactsPhone"] == 3 and totals.loc[2020, "contactsPhone"] == 7
    assert totals.loc[2020, "trueIncidence"] == 20


def test_largest_rise_picks_the_most_flattering_pair():
    rise = trends.largest_rise(pd.Series([10, 5, 20, 15], index=[2012, 2013, 2014, 2015]))
    assert rise == (2013, 2014, 4.0)
    with pytest.raises(ValueError):
        trends.largest_rise(pd.Series([3]))


def test_event_indicators():
    indicators = trends.event_indicators(month_labels("2020-01", 9), EVENTS)
    assert list(indicators["campaign"]) == [0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert list(indicators["new_number"]) == [0, 0, 0, 0, 0, 0, 1, 1, 1]


def test_fit_trend_recovers_a_known_growth_rate():
    months = np.arange(48)
    wobble = 1 + 0.02 * np.where(months % 2, 1, -1)  # a little noise, the same every time
    fit = trends.fit_trend(series(1000 * np.exp(np.log(1.10) * months / 12) * wobble))
    assert fit.annual_change == pytest.approx(10, abs=0.2)
    assert fit.lower <= fit.annual_change <= fit.upper


def test_fit_trend_with_events_explains_a_step():
    values = series([100, 104, 96, 100, 103, 97] * 2 + [150, 156, 144, 150, 154, 146] * 2)
    step = pd.DataFrame(
        {
            "eventId": ["step"],
            "startMonth": ["2021-01"],
            "endMonth": [""],
            "effect": ["step"],
            "channels": ["contactsTotal"],
            "description": ["A step."],
        }
    )
    without = trends.fit_trend(values)
    with_step = trends.fit_trend(values, step)
    assert without.annual_change > 20
    assert abs(with_step.annual_change) < 2
    assert with_step.event_effects["step"] == pytest.approx(50, abs=2)


def test_event_effects():
    contacts = pd.DataFrame({"month": month_labels("2020-01", 10)})
    contacts["contactsPhone"] = [10, 10, 30, 30, 10, 10, 20, 20, 20, 20]
    contacts["contactsWebForm"] = [5] * 10
    truth = pd.DataFrame({"month": contacts["month"], "trueIncidence": [100] * 10})
    effects = trends.event_effects(contacts, truth, EVENTS, window=2).set_index("event")
    assert effects.loc["campaign", "contacts before"] == 15 and effects.loc["campaign", "contacts after"] == 35
    assert effects.loc["new_number", "contacts before"] == 10 and effects.loc["new_number", "contacts after"] == 20
    assert effects.loc["new_number", "contacts change (%)"] == 100
    assert (effects["true incidence change (%)"] == 0).all()


def test_channels_of():
    assert trends.channels_of(["month", "contactsPhone", "contactsTotal", "contactsWebForm"]) == [
        "contactsPhone",
        "contactsWebForm",
    ]

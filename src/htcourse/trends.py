"""Reading a trend in counts of reports: helpers for the hotline lab (Module 8).

A count of hotline contacts moves when reporting changes (a campaign, a new
channel, a new definition, a source that stops reporting) as well as when
the thing reported changes. These helpers put the known reporting events
next to the counts:

* :func:`monthly_ratio`: contacts per true situation, month by month (only
  a synthetic dataset has the truth; real work must argue for a proxy);
* :func:`before_after` and :func:`event_effects`: mean monthly counts
  before and after a dated event;
* :func:`event_table` and :func:`event_rules`: the events as data and as
  Altair rules and labels to layer on a time-series chart;
* :func:`yearly_totals` and :func:`largest_rise`: how a headline such as
  "calls doubled" is made, by picking two years;
* :func:`fit_trend`: a log-linear (Poisson) trend, with or without the
  events, so the part of a rise that the events explain can be seen.

Months are written ``YYYY-MM`` in the files; the helpers accept that text,
pandas ``Period`` or ``Timestamp`` values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from htcourse.checks import check_numbers


def to_period(values) -> pd.PeriodIndex:
    """Months (``"2019-01"``, ``Period`` or ``Timestamp``) as a monthly ``PeriodIndex``."""
    if isinstance(values, (str, pd.Period, pd.Timestamp)):
        values = [values]
    index = pd.Index(values)
    if isinstance(index, pd.PeriodIndex):
        return index.asfreq("M")
    if isinstance(index, pd.DatetimeIndex):
        return index.to_period("M")
    return pd.PeriodIndex(pd.to_datetime(index.astype(str), format="%Y-%m"), freq="M")


def month_start(values) -> pd.DatetimeIndex:
    """Months as the timestamp of their first day (what Altair's temporal axis wants)."""
    return to_period(values).to_timestamp()


def monthly_ratio(contacts: pd.DataFrame, truth: pd.DataFrame, column: str = "contactsTotal") -> pd.DataFrame:
    """Contacts per true situation, month by month.

    ``contacts`` and ``truth`` each have a ``month`` column (one row per
    month, the same months); ``column`` is the count to compare with
    ``truth["trueIncidence"]``. Returns ``month`` (first day of the month),
    ``contacts``, ``trueIncidence`` and ``ratio`` (contacts / true
    incidence). Raises ``ValueError`` if the months do not match one to one.
    """
    left = contacts[["month", column]].rename(columns={column: "contacts"})
    right = truth[["month", "trueIncidence"]]
    if left["month"].duplicated().any() or right["month"].duplicated().any():
        raise ValueError("each month must appear once in contacts and in truth")
    merged = left.merge(right, on="month", how="outer", indicator=True)
    unmatched = merged.loc[merged["_merge"] != "both", "month"]
    if len(unmatched):
        raise ValueError(f"months without a match: {', '.join(map(str, unmatched[:5]))}")
    merged = merged.drop(columns="_merge")
    merged["month"] = month_start(merged["month"])
    merged = merged.sort_values("month").reset_index(drop=True)
    check_numbers(merged["contacts"], column, minimum=0)
    check_numbers(merged["trueIncidence"], "trueIncidence", minimum=0)
    merged["ratio"] = merged["contacts"] / merged["trueIncidence"]
    return merged


def _given(value) -> bool:
    """Whether an optional month is given (not None, empty or missing)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and value != ""


class BeforeAfter(NamedTuple):
    """Mean monthly value before and after an event."""

    before: float
    after: float
    change: float  # after - before
    ratio: float  # after / before
    months_before: int
    months_after: int


def _monthly_series(series: pd.Series) -> pd.Series:
    out = series.copy()
    out.index = to_period(series.index)
    if out.index.duplicated().any():
        raise ValueError("each month must appear once in the series")
    return out.sort_index()


def before_after(series: pd.Series, month, window: int = 12, end=None) -> BeforeAfter:
    """Compare the mean of ``series`` in the ``window`` months before ``month`` with the months from it.

    ``series`` is indexed by month. "After" is ``month`` to ``end``
    (inclusive) if ``end`` is given (a campaign's own months), else the
    ``window`` months from ``month``. Near the ends of the series the
    windows are shorter; raises ``ValueError`` if either side has no month.
    """
    if window < 1:
        raise ValueError("window must be at least one month")
    values = _monthly_series(series)
    start = to_period(month)[0]
    stop = to_period(end)[0] if _given(end) else start + (window - 1)
    if stop < start:
        raise ValueError("end must not be before month")
    before = values[(values.index >= start - window) & (values.index < start)]
    after = values[(values.index >= start) & (values.index <= stop)]
    if before.empty or after.empty:
        raise ValueError(f"no months before or after {start} in the series")
    mean_before, mean_after = float(before.mean()), float(after.mean())
    return BeforeAfter(
        before=mean_before,
        after=mean_after,
        change=mean_after - mean_before,
        ratio=mean_after / mean_before if mean_before else float("nan"),
        months_before=len(before),
        months_after=len(after),
    )


def event_table(events: pd.DataFrame) -> pd.DataFrame:
    """The events as data for charts and tables.

    Returns ``eventId``, ``label`` (the id in words), ``start`` (first day of
    the start month), ``end`` (first day of the month after ``endMonth`` for
    a temporary event, else ``start``), ``effect``, ``channels`` (a list)
    and ``description``, sorted by start.
    """
    table = pd.DataFrame(
        {
            "eventId": events["eventId"].astype(str),
            "label": events["eventId"].astype(str).str.replace("_", " ").str.capitalize(),
            "start": month_start(events["startMonth"]),
            "effect": events["effect"].astype(str),
            "channels": [str(c).split(";") for c in events["channels"]],
            "description": events["description"].astype(str),
        }
    )
    ends = events["endMonth"].fillna("").astype(str)
    table["end"] = [(to_period(e)[0] + 1).to_timestamp() if e else start for e, start in zip(ends, table["start"])]
    table["endMonth"] = [e or None for e in ends]
    return table.sort_values("start").reset_index(drop=True)


def event_rules(events: pd.DataFrame, x_title: str = "Month", label_spacing: int = 14) -> alt.LayerChart:
    """Altair layers marking the events: a dashed rule at each start, shading over temporary events, labels.

    Layer the result on a time-series chart whose x axis is temporal and
    titled ``x_title``: ``alt.layer(line, trends.event_rules(events))``.
    Labels are staggered down from the top of the chart, ``label_spacing``
    pixels apart, so that they do not overlap.
    """
    table = event_table(events)[["label", "start", "end", "effect", "description"]]
    table["start"] = table["start"].dt.strftime("%Y-%m-%d")
    table["end"] = table["end"].dt.strftime("%Y-%m-%d")
    x = alt.X("start:T", title=x_title)
    tooltip = [
        alt.Tooltip("label:N", title="Event"),
        alt.Tooltip("start:T", title="From", format="%B %Y"),
        alt.Tooltip("description:N", title="What changed"),
    ]
    base = alt.Chart(table)
    layers = [base.mark_rule(strokeDash=[4, 3], color="#555").encode(x=x, tooltip=tooltip)]
    if (table["effect"] == "bump").any():
        layers.insert(
            0,
            base.transform_filter(alt.datum.effect == "bump")
            .mark_rect(opacity=0.15, color="#555")
            .encode(x=x, x2="end:T", tooltip=tooltip),
        )
    for i, label in enumerate(table["label"]):
        layers.append(
            base.transform_filter(alt.datum.label == label)
            .mark_text(align="left", baseline="top", dx=3, fontSize=11, color="#222")
            .encode(x=x, y=alt.value(4 + label_spacing * i), text="label:N")
        )
    return alt.layer(*layers)


def yearly_totals(contacts: pd.DataFrame, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sums per calendar year of every count column (and of ``trueIncidence`` if ``truth`` is given)."""
    table = contacts.copy()
    if truth is not None:
        table = table.merge(truth[["month", "trueIncidence"]], on="month", validate="one_to_one")
    table["year"] = to_period(table["month"]).year
    return table.drop(columns="month").groupby("year").sum()


class Rise(NamedTuple):
    """The biggest rise between two points of a series: from ``start`` to ``end``, ``ratio`` = end / start."""

    start: object
    end: object
    ratio: float


def largest_rise(series: pd.Series) -> Rise:
    """The pair of points (earlier, later) with the largest ratio later / earlier.

    This is how a "calls doubled" headline can be built: by choosing the two
    years that make the rise look largest.
    """
    values = series.to_numpy(dtype=float)
    labels = list(series.index)
    if len(values) < 2:
        raise ValueError("need at least two values")
    best = None
    for i in range(len(values) - 1):
        if values[i] <= 0:
            continue
        j = i + 1 + int(np.argmax(values[i + 1 :]))
        ratio = values[j] / values[i]
        if best is None or ratio > best.ratio:
            best = Rise(labels[i], labels[j], float(ratio))
    if best is None:
        raise ValueError("no positive starting value")
    return best


def event_indicators(months, events: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per event: 1 from a lasting event's start on, or during a temporary event's months."""
    periods = to_period(months)
    columns = {}
    for event in event_table(events).itertuples():
        start = to_period(event.start)[0]
        if _given(event.endMonth):
            active = (periods >= start) & (periods <= to_period(event.endMonth)[0])
        else:
            active = periods >= start
        columns[event.eventId] = active.astype(float)
    return pd.DataFrame(columns, index=periods)


class TrendFit(NamedTuple):
    """A log-linear trend: ``annual_change`` (% per year) with a 95% confidence interval."""

    annual_change: float
    lower: float
    upper: float
    fitted: pd.Series
    event_effects: dict[str, float]  # % change in the count from each event


def fit_trend(series: pd.Series, events: pd.DataFrame | None = None) -> TrendFit:
    """Fit log(expected count) = a + b × years (+ one term per event) to a monthly count.

    A Poisson regression (statsmodels GLM) whose standard errors are scaled
    by the Pearson chi-squared, so extra noise widens the interval.
    ``series`` is indexed by month. With ``events``, each event adds a
    level shift (:func:`event_indicators`), so the trend term describes the
    change that the events do not explain. A temporary event is modelled as
    a shift during its months only (its fading afterwards is not).
    """
    import statsmodels.api as sm

    check_numbers(series, series.name if series.name is not None else "the monthly counts", minimum=0)
    values = _monthly_series(series).astype(float)
    periods = values.index
    years = np.array([(p - periods[0]).n for p in periods], dtype=float) / 12
    design = pd.DataFrame({"const": 1.0, "years": years}, index=periods)
    if events is not None and len(events):
        indicators = event_indicators(periods, events)
        indicators = indicators.loc[:, indicators.nunique() > 1]  # an event outside the series explains nothing
        design = design.join(indicators)
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        raise ValueError(
            f"the trend model cannot be fitted: its terms {list(design.columns)} are not identifiable "
            "(an event covers every month of the series, or two events cover the same months)"
        )
    result = sm.GLM(values.to_numpy(), design, family=sm.families.Poisson()).fit(scale="X2")
    if not result.converged:
        raise ValueError("the trend model did not converge: its estimates and intervals cannot be trusted")
    low, high = result.conf_int().loc["years"]
    effects = {name: float(np.expm1(result.params[name]) * 100) for name in design.columns[2:]}
    return TrendFit(
        annual_change=float(np.expm1(result.params["years"]) * 100),
        lower=float(np.expm1(low) * 100),
        upper=float(np.expm1(high) * 100),
        fitted=pd.Series(result.fittedvalues, index=periods),
        event_effects=effects,
    )


def event_effects(contacts: pd.DataFrame, truth: pd.DataFrame, events: pd.DataFrame, window: int = 12) -> pd.DataFrame:
    """For each event, its channels' mean monthly contacts before and after it, next to the true incidence.

    "After" is the event's own months for a temporary event, else the
    ``window`` months from its start (as in the datasheet). Changes are in %.
    A reporting change moves the contacts but not the incidence.
    """
    counts = contacts.set_index("month")
    incidence = truth.set_index("month")["trueIncidence"]
    rows = []
    for event in event_table(events).itertuples():
        affected = counts[list(event.channels)].sum(axis=1)
        seen = before_after(affected, event.start, window, end=event.endMonth)
        real = before_after(incidence, event.start, window, end=event.endMonth)
        rows.append(
            {
                "event": event.eventId,
                "from": event.start.strftime("%Y-%m"),
                "channels": ", ".join(event.channels),
                "contacts before": round(seen.before, 1),
                "contacts after": round(seen.after, 1),
                "contacts change (%)": round((seen.ratio - 1) * 100, 1),
                "true incidence before": round(real.before, 1),
                "true incidence after": round(real.after, 1),
                "true incidence change (%)": round((real.ratio - 1) * 100, 1),
            }
        )
    return pd.DataFrame(rows)


def channels_of(columns: Iterable[str]) -> list[str]:
    """The channel columns among ``columns`` (``contacts*`` except ``contactsTotal``)."""
    return [c for c in columns if c.startswith("contacts") and c != "contactsTotal"]

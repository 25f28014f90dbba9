"""Evaluating a screening tool: confusion matrices, error rates, groups and costs.

A listing is *flagged* when its score is at or above the threshold
(``score >= threshold``). With the true labels (1 = exploitation) every
listing falls in one cell of the confusion matrix:

* flagged, label 1 (exploitation): true positive (``tp``);
* flagged, label 0: false positive (``fp``);
* not flagged, label 1: false negative (``fn``);
* not flagged, label 0: true negative (``tn``).

Precision = tp / (tp + fp), recall = tp / (tp + fn), false-positive rate =
fp / (fp + tn). A rate whose denominator is zero is ``nan`` (undefined).

The threshold explorer on the course site must work without a Python
kernel, so :func:`threshold_chart` computes its numbers in the browser, with
Vega-Lite transforms, from a small table of counts per score bin, label and
group (:func:`binned_counts`). :func:`rates_from_binned` and
:func:`summary_lines` do the same arithmetic in Python (the live ipywidgets
explorer uses them), and the tests check that both give the same text.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd

from htcourse.checks import BadValueError, check_categories, check_numbers

# The ad_screening columns: score, true label (1 = exploitation), advertiser group.
from htcourse.schema import GROUP, LABEL, SCORE

#: The ``name`` of the chart's text marks; Vega draws them in a group whose
#: class includes ``<name>_marks`` (e.g. ``g.threshold_metrics_marks text``).
METRICS_MARK_NAME = "threshold_metrics"
GROUP_MARK_NAME = "threshold_groups"

#: Example costs of each outcome, in arbitrary "harm units": value
#: judgements for students to change, not facts.
DEFAULT_COSTS = {"false_positive": 1.0, "false_negative": 10.0, "true_positive": 0.0, "true_negative": 0.0}


class Confusion(NamedTuple):
    """Counts of the four outcomes at one threshold."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def _check_screening(df: pd.DataFrame, group_col: str, score_col: str, label_col: str) -> None:
    """Refuse a label other than 0/1, a missing group and a missing or non-numeric score, naming the column."""
    for column in (group_col, score_col, label_col):
        if column not in df.columns:
            raise KeyError(f"the table has no column {column!r}; its columns are {list(df.columns)}")
    check_categories(df[label_col], (0, 1), label_col)
    missing_group = df[group_col].isna()
    if missing_group.any():
        raise BadValueError(
            f"column {group_col!r} has a missing value (row {missing_group.idxmax()}): every row "
            "needs a group, or its errors would be counted in no group"
        )
    check_numbers(df[score_col], score_col)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def confusion_at(scores, labels, threshold: float) -> Confusion:
    """The confusion matrix when everything with ``score >= threshold`` is flagged.

    ``scores`` and ``labels`` are equal-length sequences (labels 0/1).
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels differ in length: {scores.shape} and {labels.shape}")
    check_categories(pd.Series(labels), (0, 1), "labels")
    check_numbers(pd.Series(scores), "scores")
    flagged = scores >= threshold
    positive = labels == 1
    return Confusion(
        tp=int((flagged & positive).sum()),
        fp=int((flagged & ~positive).sum()),
        fn=int((~flagged & positive).sum()),
        tn=int((~flagged & ~positive).sum()),
    )


def precision(confusion: Confusion) -> float:
    """Share of flagged items that are true cases: tp / (tp + fp); ``nan`` if nothing is flagged."""
    return _ratio(confusion.tp, confusion.tp + confusion.fp)


def recall(confusion: Confusion) -> float:
    """Share of true cases that are flagged: tp / (tp + fn); ``nan`` if there are no true cases."""
    return _ratio(confusion.tp, confusion.tp + confusion.fn)


def false_positive_rate(confusion: Confusion) -> float:
    """Share of non-cases that are flagged: fp / (fp + tn); ``nan`` if there are no non-cases."""
    return _ratio(confusion.fp, confusion.fp + confusion.tn)


def accuracy(confusion: Confusion) -> float:
    """Share of all items classified correctly: (tp + tn) / total."""
    return _ratio(confusion.tp + confusion.tn, confusion.total)


def _rates_row(confusion: Confusion) -> dict:
    return {
        "listings": confusion.total,
        "exploitation": confusion.positives,
        "flagged": confusion.flagged,
        "tp": confusion.tp,
        "fp": confusion.fp,
        "fn": confusion.fn,
        "tn": confusion.tn,
        "precision": precision(confusion),
        "recall": recall(confusion),
        "false_positive_rate": false_positive_rate(confusion),
    }


def rates_by_group(
    df: pd.DataFrame, threshold: float, group_col: str = GROUP, score_col: str = SCORE, label_col: str = LABEL
) -> pd.DataFrame:
    """Error rates for each group at one threshold, and who bears the false positives.

    One row per group (sorted) and a last row ``"all"``, with the counts
    (``listings``, ``exploitation``, ``flagged``, ``tp``, ``fp``, ``fn``,
    ``tn``), the rates (``precision``, ``recall``, ``false_positive_rate``),
    and each group's ``share_of_listings`` and ``share_of_false_positives``.
    """
    _check_screening(df, group_col, score_col, label_col)
    rows = []
    for group, part in df.groupby(group_col, sort=True):
        rows.append({group_col: group, **_rates_row(confusion_at(part[score_col], part[label_col], threshold))})
    rows.append({group_col: "all", **_rates_row(confusion_at(df[score_col], df[label_col], threshold))})
    table = pd.DataFrame(rows)
    table["share_of_listings"] = table["listings"] / len(df)
    total_fp = table["fp"].iloc[-1]
    table["share_of_false_positives"] = table["fp"] / total_fp if total_fp else math.nan
    return table


# ---------------------------------------------------------------------------
# The binned table and the arithmetic the chart does
# ---------------------------------------------------------------------------


def _bin_index(scores, bins: int) -> np.ndarray:
    # Round before flooring so that, e.g., 0.29 * 100 = 28.999999999999996
    # lands in bin 29: scores have at most a few decimals.
    return np.floor(np.round(np.asarray(scores, dtype=float) * bins, 9)).astype(int)


def binned_counts(
    df: pd.DataFrame, bins: int = 100, group_col: str = GROUP, score_col: str = SCORE, label_col: str = LABEL
) -> pd.DataFrame:
    """Count the listings in each score bin, label and group.

    Bin ``k`` (``0 … bins``) holds scores from ``k / bins`` up to (not
    including) ``(k + 1) / bins``; a score of exactly 1 has bin ``bins``. So
    at any threshold ``k / bins`` the listings flagged (``score >= threshold``)
    are exactly those in bins ``k`` and above, and the table gives the same
    confusion matrix as the raw scores.

    Returns every combination (zeros included) of ``bin``, ``label`` (0/1)
    and ``group``, with ``scoreFrom`` (= ``bin / bins``) and ``listings``
    (the count). Its ``listings`` add up to the number of rows of ``df``.
    """
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive whole number, got {bins!r}")
    _check_screening(df, group_col, score_col, label_col)
    scores = df[score_col].to_numpy(dtype=float)
    if np.isnan(scores).any() or (scores < 0).any() or (scores > 1).any():
        raise ValueError("scores must lie between 0 and 1, with no missing values")
    keys = pd.DataFrame(
        {"bin": _bin_index(scores, bins), "label": df[label_col].to_numpy(), "group": df[group_col].to_numpy()}
    )
    counts = keys.groupby(["bin", "label", "group"]).size()
    grid = pd.MultiIndex.from_product(
        [range(bins + 1), [0, 1], sorted(keys["group"].unique())], names=["bin", "label", "group"]
    )
    table = counts.reindex(grid, fill_value=0).rename("listings").reset_index()
    table["scoreFrom"] = table["bin"] / bins
    table["listings"] = table["listings"].astype(int)
    table["label"] = table["label"].astype(int)
    return table[["bin", "scoreFrom", "label", "group", "listings"]]


def _bins_of(binned: pd.DataFrame) -> int:
    expected = {"bin", "label", "group", "listings"}
    if not expected <= set(binned.columns):
        raise ValueError(f"expected the output of binned_counts, with columns {sorted(expected)}")
    bins = int(binned["bin"].max())
    if set(binned["bin"].unique()) != set(range(bins + 1)):
        raise ValueError("the binned table must hold every bin from 0 up (use binned_counts)")
    return bins


def threshold_bin(threshold: float, bins: int) -> int:
    """The first flagged bin at ``threshold``: ``round(threshold * bins)``.

    Rounds halves up, like JavaScript's ``Math.round`` in the chart, so the
    chart and Python agree; thresholds between bin edges snap to the nearest.
    """
    return math.floor(threshold * bins + 0.5)


def confusion_from_binned(binned: pd.DataFrame, threshold: float, group: str | None = None) -> Confusion:
    """The confusion matrix at ``threshold`` from a :func:`binned_counts` table (optionally one group)."""
    bins = _bins_of(binned)
    part = binned if group is None else binned[binned["group"] == group]
    flagged = part["bin"] >= threshold_bin(threshold, bins)
    positive = part["label"] == 1
    n = part["listings"]
    return Confusion(
        tp=int(n[flagged & positive].sum()),
        fp=int(n[flagged & ~positive].sum()),
        fn=int(n[~flagged & positive].sum()),
        tn=int(n[~flagged & ~positive].sum()),
    )


def rates_from_binned(binned: pd.DataFrame, threshold: float) -> dict:
    """Counts and rates at ``threshold`` from the binned table: the numbers the chart shows."""
    return _rates_row(confusion_from_binned(binned, threshold))


def threshold_table(binned: pd.DataFrame, thresholds=None) -> pd.DataFrame:
    """Counts and rates (plus ``accuracy``) at each threshold (default: every bin edge ``0, 1/bins, … 1``)."""
    bins = _bins_of(binned)
    if thresholds is None:
        thresholds = [k / bins for k in range(bins + 1)]
    rows = []
    for t in thresholds:
        confusion = confusion_from_binned(binned, t)
        rows.append({"threshold": t, **_rates_row(confusion), "accuracy": accuracy(confusion)})
    return pd.DataFrame(rows)


def _fixed(value: float, digits: int) -> str:
    """Format like JavaScript's ``toFixed`` (what Vega's ``format(x, '.2f')`` uses): halves round up."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def summary_lines(binned: pd.DataFrame, threshold: float) -> list[str]:
    """The lines of text the threshold chart shows at ``threshold``, computed in Python.

    For example ``["Threshold: 0.50", "Flagged: 2,694 of 30,000", …,
    "Precision: 0.09", "Recall: 0.89", "False-positive rate: 0.082"]``.
    """
    bins = _bins_of(binned)
    r = rates_from_binned(binned, threshold)
    shown = threshold_bin(threshold, bins) / bins
    digits = max(2, math.ceil(math.log10(bins)))
    return [
        f"Threshold: {_fixed(shown, digits)}",
        f"Flagged: {r['flagged']:,} of {r['listings']:,}",
        f"Exploitation found: {r['tp']:,} of {r['exploitation']:,}",
        f"Flagged but not exploitation: {r['fp']:,}",
        "Precision: " + (_fixed(r["precision"], 2) if r["flagged"] else "n/a (nothing flagged)"),
        "Recall: " + (_fixed(r["recall"], 2) if r["exploitation"] else "n/a (no exploitation)"),
        "False-positive rate: " + (_fixed(r["false_positive_rate"], 3) if r["listings"] - r["exploitation"] else "n/a"),
    ]


def group_lines(binned: pd.DataFrame, threshold: float) -> dict[str, str]:
    """Per group, the label the chart writes beside its bar: false positives and false-positive rate."""
    lines = {}
    for group in sorted(binned["group"].unique()):
        c = confusion_from_binned(binned, threshold, group)
        rate = _fixed(false_positive_rate(c), 3) if c.negatives else "n/a"
        lines[group] = f"{c.fp:,} (rate {rate})"
    return lines


# ---------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------


def threshold_chart(binned: pd.DataFrame, value: float = 0.5, group_title: str = "Advertiser group"):
    """An Altair chart with a threshold slider; all its numbers are computed in the browser.

    Three panels share one parameter, ``threshold`` (a slider named
    "Threshold", step ``1 / bins``):

    * the distribution of scores for each true label, with the flagged region
      shaded;
    * text marks (mark name :data:`METRICS_MARK_NAME`) reading, for example,
      "Precision: 0.42" — the same lines as :func:`summary_lines`;
    * the false positives in each group (bars, with text marks named
      :data:`GROUP_MARK_NAME` — the same labels as :func:`group_lines`).

    The chart embeds only ``binned`` (a :func:`binned_counts` table), so it
    works on the static site without a kernel. Add a ``description`` before
    displaying it (the course renderer requires one).
    """
    import altair as alt

    bins = _bins_of(binned)
    digits = max(2, math.ceil(math.log10(bins)))
    from htcourse.charts import human_label

    data = binned[["bin", "scoreFrom", "label", "group", "listings"]]
    data = data.assign(group=data["group"].astype(str).map(human_label))  # words on the axis, not codes
    threshold = alt.param(
        name="threshold",
        value=value,
        bind=alt.binding_range(min=0, max=1, step=1 / bins, name="Threshold"),
    )
    first_bin = f"round(threshold * {bins})"
    base = alt.Chart(data).transform_calculate(
        flagged=f"datum.bin >= {first_bin} ? 1 : 0",
    )

    # 1. Score distributions by true label, and the flagged region.
    label_names = "datum.label == 1 ? 'Exploitation' : 'Not exploitation'"
    distribution = (
        alt.Chart(data)
        .transform_aggregate(listings="sum(listings)", groupby=["bin", "scoreFrom", "label"])
        .transform_joinaggregate(label_total="sum(listings)", groupby=["label"])
        .transform_calculate(share="datum.listings / datum.label_total", trueLabel=label_names)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("scoreFrom:Q", title="Score", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("share:Q", title="Share of listings with this label", axis=alt.Axis(format="%")),
            color=alt.Color(
                "trueLabel:N",
                title="True label",
                sort=["Not exploitation", "Exploitation"],
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("trueLabel:N", title="True label"),
                alt.Tooltip("scoreFrom:Q", title="Score from", format=f".{digits}f"),
                alt.Tooltip("listings:Q", title="Listings", format=","),
                alt.Tooltip("share:Q", title="Share of label", format=".1%"),
            ],
        )
    )
    flagged_region = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_calculate(start=f"{first_bin} / {bins}", end="1")
        .mark_rect(opacity=0.12, color="#000000")
        .encode(x="start:Q", x2="end:Q")
    )
    rule = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_calculate(start=f"{first_bin} / {bins}")
        .mark_rule(color="#000000", strokeWidth=2)
        .encode(x="start:Q")
    )
    scores = alt.layer(flagged_region, distribution, rule).properties(
        width=560, height=170, title="Scores by true label (shaded: flagged at this threshold)"
    )

    # 2. The headline numbers, as text marks.
    totals = (
        base.transform_calculate(
            tp="datum.flagged && datum.label == 1 ? datum.listings : 0",
            fp="datum.flagged && datum.label == 0 ? datum.listings : 0",
            pos="datum.label == 1 ? datum.listings : 0",
        )
        .transform_aggregate(tp="sum(tp)", fp="sum(fp)", pos="sum(pos)", total="sum(listings)")
        .transform_calculate(
            flaggedCount="datum.tp + datum.fp",
            neg="datum.total - datum.pos",
        )
    )
    lines = {
        "1": f"'Threshold: ' + format({first_bin} / {bins}, '.{digits}f')",
        "2": "'Flagged: ' + format(datum.flaggedCount, ',') + ' of ' + format(datum.total, ',')",
        "3": "'Exploitation found: ' + format(datum.tp, ',') + ' of ' + format(datum.pos, ',')",
        "4": "'Flagged but not exploitation: ' + format(datum.fp, ',')",
        "5": "'Precision: ' + (datum.flaggedCount > 0 ? format(datum.tp / datum.flaggedCount, '.2f')"
        " : 'n/a (nothing flagged)')",
        "6": "'Recall: ' + (datum.pos > 0 ? format(datum.tp / datum.pos, '.2f') : 'n/a (no exploitation)')",
        "7": "'False-positive rate: ' + (datum.neg > 0 ? format(datum.fp / datum.neg, '.3f') : 'n/a')",
    }
    metrics = (
        totals.transform_calculate(**lines)
        .transform_fold(list(lines), as_=["line", "text"])
        .mark_text(align="left", baseline="middle", fontSize=14, color="#222")
        .encode(
            y=alt.Y("line:O", axis=None),
            x=alt.value(0),
            text="text:N",
        )
        .properties(name=METRICS_MARK_NAME, width=230, height=170, title="At this threshold")
    )

    # 3. Who bears the false positives.
    by_group = (
        base.transform_calculate(
            fp="datum.flagged && datum.label == 0 ? datum.listings : 0",
            neg="datum.label == 0 ? datum.listings : 0",
        )
        .transform_aggregate(fp="sum(fp)", neg="sum(neg)", groupby=["group"])
        .transform_calculate(
            rateText="datum.neg > 0 ? format(datum.fp / datum.neg, '.3f') : 'n/a'",
            labelText="format(datum.fp, ',') + ' (rate ' + datum.rateText + ')'",
        )
    )
    bars = (
        by_group.mark_bar(color="#0072B2")
        .encode(
            y=alt.Y("group:N", title=group_title),
            x=alt.X("fp:Q", title="Flagged but not exploitation"),
            tooltip=[
                alt.Tooltip("group:N", title=group_title),
                alt.Tooltip("fp:Q", title="False positives", format=","),
                alt.Tooltip("rateText:N", title="False-positive rate"),
            ],
        )
        .properties(width=170, height=120, title="False positives by group")
    )
    bar_labels = (
        by_group.mark_text(align="left", baseline="middle", fontSize=12, color="#222")
        .encode(y=alt.Y("group:N", axis=None), x=alt.value(0), text="labelText:N")
        .properties(name=GROUP_MARK_NAME, width=130, height=120, title="Count (rate)")
    )
    groups = alt.hconcat(bars, bar_labels, spacing=4)

    return alt.vconcat(scores, alt.hconcat(metrics, groups)).add_params(threshold)


# ---------------------------------------------------------------------------
# Costs of errors
# ---------------------------------------------------------------------------


def _check_costs(costs: dict | None) -> dict:
    merged = dict(DEFAULT_COSTS)
    if costs:
        unknown = set(costs) - set(DEFAULT_COSTS)
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}; use {sorted(DEFAULT_COSTS)}")
        merged.update({k: float(v) for k, v in costs.items()})
    return merged


def error_costs(confusion: Confusion, costs: dict | None = None) -> pd.DataFrame:
    """A table of what each outcome costs at one threshold.

    ``costs`` maps ``false_positive``, ``false_negative``, ``true_positive``
    and ``true_negative`` to a cost per listing (missing ones take
    :data:`DEFAULT_COSTS`). The units are whatever the student decides
    ("harm units"): the costs are value judgements, not measurements.

    Returns one row per outcome (``outcome``, ``listings``, ``cost_each``,
    ``total_cost``) and a last row ``"Total"``.
    """
    costs = _check_costs(costs)
    outcomes = [
        ("Flagged, not exploitation (false positive)", confusion.fp, costs["false_positive"]),
        ("Missed exploitation (false negative)", confusion.fn, costs["false_negative"]),
        ("Flagged exploitation (true positive)", confusion.tp, costs["true_positive"]),
        ("Not flagged, not exploitation (true negative)", confusion.tn, costs["true_negative"]),
    ]
    table = pd.DataFrame(outcomes, columns=["outcome", "listings", "cost_each"])
    table["total_cost"] = table["listings"] * table["cost_each"]
    total = {
        "outcome": "Total",
        "listings": int(table["listings"].sum()),
        "cost_each": math.nan,
        "total_cost": float(table["total_cost"].sum()),
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def costs_by_threshold(binned: pd.DataFrame, costs: dict | None = None, thresholds=None) -> pd.DataFrame:
    """Total cost of errors at each threshold (default: every bin edge), from the binned table.

    Columns: ``threshold``, ``fp``, ``fn``, ``tp``, ``tn`` and ``total_cost``.
    The row with the smallest ``total_cost`` is the cheapest threshold under
    these costs.
    """
    costs = _check_costs(costs)
    table = threshold_table(binned, thresholds)[["threshold", "fp", "fn", "tp", "tn"]].copy()
    table["total_cost"] = (
        table["fp"] * costs["false_positive"]
        + table["fn"] * costs["false_negative"]
        + table["tp"] * costs["true_positive"]
        + table["tn"] * costs["true_negative"]
    )
    return table


# ---------------------------------------------------------------------------
# The live (ipywidgets) explorer
# ---------------------------------------------------------------------------


def threshold_explorer(binned: pd.DataFrame, value: float = 0.5):
    """A Python threshold slider for live notebooks (Jupyter, Colab): same numbers as the chart.

    Returns an ipywidgets ``VBox`` (a "Threshold" ``FloatSlider`` and an
    ``Output``) that prints :func:`summary_lines` and :func:`group_lines` for
    the slider's value; display it by making it a cell's last expression.
    Nothing blocks: the output is filled once at once and again on each move.

    During the site build (``htcourse.charts.SITE_BUILD_ENV`` set) it returns
    ``None`` and creates no widget: the labs hide this explorer on the static
    site (cell tag ``remove-cell``), where it could not run, and a widget
    created anyway would make the page ship widget state and scripts.
    """
    import os

    from htcourse.charts import SITE_BUILD_ENV

    if os.environ.get(SITE_BUILD_ENV) == "1":
        return None
    import ipywidgets as widgets

    bins = _bins_of(binned)
    slider = widgets.FloatSlider(
        value=value,
        min=0,
        max=1,
        step=1 / bins,
        description="Threshold",
        continuous_update=False,
        readout_format=f".{max(2, math.ceil(math.log10(bins)))}f",
    )
    output = widgets.Output()

    def show(change=None) -> None:
        output.clear_output(wait=True)
        with output:
            print("\n".join(summary_lines(binned, slider.value)))
            print("False positives by group (rate):")
            for group, line in group_lines(binned, slider.value).items():
                print(f"  {group}: {line}")

    slider.observe(show, names="value")
    show()
    return widgets.VBox([slider, output])

"""Tests of htcourse.metrics: hand-computed confusion matrices, groups, bins, the chart and costs."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from htcourse import data, metrics

# Six listings, worked by hand at threshold 0.5 (flagged: score >= 0.5):
#   0.9 label 1 -> TP     0.6 label 0 -> FP     0.5 label 1 -> TP (equal to the threshold counts)
#   0.4 label 1 -> FN     0.2 label 0 -> TN     0.1 label 0 -> TN
SCORES = [0.9, 0.6, 0.5, 0.4, 0.2, 0.1]
LABELS = [1, 0, 1, 1, 0, 0]


def test_confusion_and_rates_on_six_rows():
    c = metrics.confusion_at(SCORES, LABELS, 0.5)
    assert c == metrics.Confusion(tp=2, fp=1, fn=1, tn=2)
    assert metrics.precision(c) == pytest.approx(2 / 3)
    assert metrics.recall(c) == pytest.approx(2 / 3)
    assert metrics.false_positive_rate(c) == pytest.approx(1 / 3)
    assert metrics.accuracy(c) == pytest.approx(4 / 6)


def test_rates_move_with_the_threshold():
    strict = metrics.confusion_at(SCORES, LABELS, 0.7)  # only 0.9 flagged
    assert strict == metrics.Confusion(tp=1, fp=0, fn=2, tn=3)
    assert metrics.precision(strict) == 1.0
    assert metrics.recall(strict) == pytest.approx(1 / 3)
    assert metrics.false_positive_rate(strict) == 0.0
    nothing = metrics.confusion_at(SCORES, LABELS, 0.95)
    assert math.isnan(metrics.precision(nothing))  # undefined, not zero
    everything = metrics.confusion_at(SCORES, LABELS, 0.0)
    assert metrics.recall(everything) == 1.0 and metrics.false_positive_rate(everything) == 1.0


def test_confusion_rejects_bad_input():
    with pytest.raises(ValueError):
        metrics.confusion_at([0.1, 0.2], [1], 0.5)
    with pytest.raises(ValueError):
        metrics.confusion_at([0.1, 0.2], [1, 2], 0.5)


TINY = pd.DataFrame(
    {
        "score": SCORES + [0.8, 0.3],
        "isExploitation": LABELS + [0, 1],
        "advertiserGroup": ["a", "a", "b", "b", "b", "a", "b", "a"],
    }
)
# By hand at threshold 0.55:
#   group a: (0.9, 1) TP, (0.6, 0) FP, (0.1, 0) TN, (0.3, 1) FN  -> tp 1, fp 1, fn 1, tn 1
#   group b: (0.5, 1) FN, (0.4, 1) FN, (0.2, 0) TN, (0.8, 0) FP  -> tp 0, fp 1, fn 2, tn 1


def test_rates_by_group_on_a_tiny_frame():
    table = metrics.rates_by_group(TINY, 0.55).set_index("advertiserGroup")
    assert list(table.index) == ["a", "b", "all"]
    a, b, everyone = table.loc["a"], table.loc["b"], table.loc["all"]
    assert (a.tp, a.fp, a.fn, a.tn) == (1, 1, 1, 1)
    assert (b.tp, b.fp, b.fn, b.tn) == (0, 1, 2, 1)
    assert (everyone.tp, everyone.fp, everyone.fn, everyone.tn) == (1, 2, 3, 2)
    assert a.precision == pytest.approx(0.5) and b.precision == 0.0
    assert b.recall == 0.0 and a.recall == pytest.approx(0.5)
    assert b.false_positive_rate == pytest.approx(0.5)
    assert a.share_of_false_positives == pytest.approx(0.5)
    assert everyone.share_of_false_positives == pytest.approx(1.0)
    assert a.share_of_listings == pytest.approx(0.5)


@pytest.fixture(scope="module")
def screening():
    return data.load("ad_screening")


@pytest.fixture(scope="module")
def binned(screening):
    return metrics.binned_counts(screening)


def test_binned_counts_sum_to_the_row_count(screening, binned):
    assert binned["listings"].sum() == len(screening)
    groups = screening["advertiserGroup"].nunique()
    assert len(binned) == 101 * 2 * groups  # every bin, label and group, zeros included
    assert set(binned.columns) == {"bin", "scoreFrom", "label", "group", "listings"}
    per_label = binned.groupby("label")["listings"].sum()
    assert per_label[1] == screening["isExploitation"].sum()


def test_binning_handles_float_edges():
    # 0.29 * 100 is 28.999999999999996 in floating point: it must still be bin 29.
    frame = pd.DataFrame({"score": [0.29, 0.57, 1.0, 0.0], "isExploitation": [1, 0, 0, 1], "advertiserGroup": "g"})
    table = metrics.binned_counts(frame)
    bins = table.loc[table["listings"] > 0, "bin"].tolist()
    assert sorted(bins) == [0, 29, 57, 100]
    assert metrics.confusion_from_binned(table, 0.29) == metrics.confusion_at(
        frame["score"], frame["isExploitation"], 0.29
    )


@pytest.mark.parametrize("threshold", [0.0, 0.07, 0.29, 0.5, 0.57, 0.7, 0.9, 1.0])
def test_binned_table_gives_the_raw_confusion_matrix(screening, binned, threshold):
    raw = metrics.confusion_at(screening["score"], screening["isExploitation"], threshold)
    assert metrics.confusion_from_binned(binned, threshold) == raw


def test_summary_lines_read_like_the_chart(binned, screening):
    lines = metrics.summary_lines(binned, 0.5)
    c = metrics.confusion_at(screening["score"], screening["isExploitation"], 0.5)
    assert lines[0] == "Threshold: 0.50"
    assert f"Precision: {metrics.precision(c):.2f}" in lines
    assert f"Recall: {metrics.recall(c):.2f}" in lines
    assert f"Flagged: {c.flagged:,} of {c.total:,}" in lines
    assert metrics.summary_lines(binned, 1.0)[4].startswith("Precision: n/a")


def test_js_style_rounding():
    # Vega formats with JavaScript's toFixed, which rounds an exact half up; Python's
    # format would give "0.12" for 0.125.
    assert metrics._fixed(0.125, 2) == "0.13"
    assert metrics._fixed(2 / 3, 2) == "0.67"


def _svg_texts(svg: str, mark_name: str) -> list[str]:
    """The text of every text mark in the Vega group whose class names ``mark_name``."""
    root = ET.fromstring(svg)
    texts = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if f"{mark_name}_marks" in (g.get("class") or "").split():
            texts += ["".join(t.itertext()) for t in g.iter("{http://www.w3.org/2000/svg}text")]
    return texts


def test_chart_spec_has_the_slider_and_named_text_marks(binned):
    spec = metrics.threshold_chart(binned).to_dict()
    (param,) = spec["params"]
    assert param["name"] == "threshold" and param["value"] == 0.5
    assert param["bind"] == {"input": "range", "min": 0, "max": 1, "step": 0.01, "name": "Threshold"}
    text = repr(spec)
    assert "'mark': {'type': 'text'" in text
    assert f"'name': '{metrics.METRICS_MARK_NAME}'" in text and f"'name': '{metrics.GROUP_MARK_NAME}'" in text
    assert "'Precision: '" in text


@pytest.mark.parametrize("threshold", [0.07, 0.29, 0.5, 0.83, 1.0])
def test_the_chart_computes_the_same_numbers_as_python(binned, screening, threshold):
    """Render the spec with Vega (vl-convert) at a threshold and read its text marks."""
    vlc = pytest.importorskip("vl_convert")
    spec = metrics.threshold_chart(binned, value=threshold).to_dict()
    svg = vlc.vegalite_to_svg(spec)
    assert _svg_texts(svg, metrics.METRICS_MARK_NAME) == metrics.summary_lines(binned, threshold)
    # ... and the Python lines agree with the raw 30,000 rows.
    c = metrics.confusion_at(screening["score"], screening["isExploitation"], threshold)
    assert f"Flagged but not exploitation: {c.fp:,}" in metrics.summary_lines(binned, threshold)
    groups = metrics.group_lines(binned, threshold)
    assert sorted(_svg_texts(svg, metrics.GROUP_MARK_NAME)) == sorted(groups.values())
    by_group = metrics.rates_by_group(screening, threshold).set_index("advertiserGroup")
    for group, line in groups.items():
        assert line.startswith(f"{by_group.loc[group, 'fp']:,} ")


def test_chart_embeds_little_data(binned):
    import json

    assert len(json.dumps(metrics.threshold_chart(binned).to_dict())) < 300_000


def test_error_costs_by_hand():
    c = metrics.Confusion(tp=2, fp=1, fn=1, tn=2)
    table = metrics.error_costs(c, {"false_positive": 3, "false_negative": 10})
    by = table.set_index("outcome")["total_cost"]
    assert by["Flagged, not exploitation (false positive)"] == 3
    assert by["Missed exploitation (false negative)"] == 10
    assert by["Total"] == 13
    assert table["listings"].iloc[-1] == 6
    with pytest.raises(ValueError):
        metrics.error_costs(c, {"false_alarm": 1})


def test_costs_by_threshold_matches_error_costs(binned, screening):
    costs = {"false_positive": 1, "false_negative": 25, "true_positive": 0.5}
    table = metrics.costs_by_threshold(binned, costs, thresholds=[0.3, 0.6])
    c = metrics.confusion_at(screening["score"], screening["isExploitation"], 0.6)
    expected = metrics.error_costs(c, costs)["total_cost"].iloc[-1]
    assert table["total_cost"].iloc[1] == pytest.approx(expected)


def test_threshold_table_accuracy_at_a_low_base_rate(binned, screening):
    table = metrics.threshold_table(binned)
    assert len(table) == 101
    # Flagging nothing is "accurate" for every listing that is not exploitation.
    base_rate = screening["isExploitation"].mean()
    nothing_flagged = table[table["flagged"] == 0]
    assert not nothing_flagged.empty
    assert nothing_flagged["accuracy"].iloc[0] == pytest.approx(1 - base_rate)
    assert table["flagged"].is_monotonic_decreasing


def test_live_explorer_prints_the_same_lines(binned, capsys, monkeypatch):
    monkeypatch.delenv("HTCOURSE_SITE_BUILD", raising=False)
    box = metrics.threshold_explorer(binned, value=0.5)
    slider = box.children[0]
    assert slider.description == "Threshold" and slider.step == pytest.approx(0.01)
    capsys.readouterr()
    slider.value = 0.83  # outside a kernel, the Output widget lets prints through to stdout
    printed = capsys.readouterr().out
    for line in metrics.summary_lines(binned, 0.83):
        assert line in printed
    monkeypatch.setenv("HTCOURSE_SITE_BUILD", "1")
    assert metrics.threshold_explorer(binned) is None  # no widget state on the static site

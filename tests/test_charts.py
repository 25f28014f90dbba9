"""Tests of htcourse.charts: the rules every course chart must pass (phone-readable specs)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from htcourse import charts


def _spec(chart) -> dict:
    return chart.properties(description="A test chart.").to_dict()


LINES = pd.DataFrame({"year": [1, 2, 1, 2], "version": ["Raw", "Raw", "Clean", "Clean"], "cases": [3, 4, 1, 2]})


def test_a_legend_listed_twice_is_refused_and_the_merged_one_passes():
    order = ["Raw", "Clean"]
    twice = (
        alt.Chart(LINES)
        .mark_line()
        .encode(
            x="year:O",
            y="cases:Q",
            color=alt.Color("version:N", sort=order),
            strokeDash=alt.StrokeDash("version:N", sort=order),
        )
    )
    problems = charts.phone_problems(_spec(twice))
    assert any("two legends" in p for p in problems), problems
    with pytest.raises(charts.ChartError, match="two legends"):
        charts.check_spec(_spec(twice))
    once = (
        alt.Chart(LINES)
        .mark_line()
        .encode(
            x="year:O",
            y="cases:Q",
            color=alt.Color("version:N", scale=alt.Scale(domain=order)),
            strokeDash=alt.StrokeDash("version:N", scale=alt.Scale(domain=order)),
        )
    )
    assert charts.phone_problems(_spec(once)) == []


def test_small_text_and_code_names_are_refused():
    small = alt.Chart(LINES).mark_text(fontSize=9).encode(x="year:O", y="cases:Q", text="cases:Q")
    assert any("9px" in p for p in charts.phone_problems(_spec(small)))
    coded = LINES.assign(version=["ngo_case_management"] * 2 + ["police"] * 2)
    chart = alt.Chart(coded).mark_line().encode(x="year:O", y="cases:Q", color="version:N")
    problems = charts.phone_problems(_spec(chart))
    assert any("ngo_case_management" in p for p in problems), problems
    # The same chart in words passes; so does a layered one whose data sits on the parent.
    worded = coded.assign(version=coded["version"].map(charts.human_label))
    assert (
        charts.phone_problems(_spec(alt.Chart(worded).mark_line().encode(x="year:O", y="cases:Q", color="version:N")))
        == []
    )
    layered = alt.layer(alt.Chart().mark_line().encode(x="year:O", y="cases:Q", color="version:N"), data=coded)
    assert any("code names" in p for p in charts.phone_problems(_spec(layered)))


def test_human_labels_and_count_phrases():
    assert charts.human_label("ngo_case_management") == "NGO case management"
    assert charts.human_label("assistance_programme") == "Assistance programme"
    assert charts.human_label("independent_adult") == "Independent adult"
    assert charts.human_label("Police") == "Police"
    assert charts.count_phrase(0, "case") == "no cases"
    assert charts.count_phrase(1, "case") == "1 case"
    assert charts.count_phrase(2, "case") == "2 cases"
    assert charts.count_phrase(1200, "person", "people") == "1,200 people"


def test_the_course_theme_draws_no_text_under_the_minimum_even_in_facet_headers():
    """Vega-Lite draws facet headers at 10 px unless told; the course theme sets every text it draws."""
    import re

    import vl_convert

    charts.enable()
    faceted = (
        alt.Chart(LINES)
        .mark_line()
        .encode(x="year:O", y="cases:Q")
        .properties(width=100, height=80)
        .facet(column=alt.Column("version:N", title="Version"))
        .properties(title="Cases", description="A test chart.")
    )
    svg = vl_convert.vegalite_to_svg(faceted.to_dict())
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)(?:px)?"', svg)]
    assert sizes and min(sizes) >= charts.MIN_FONT_PX, sorted(set(sizes))

"""Unit tests for htcourse.cleaning, on small hand-built examples (and one run on the committed data)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from htcourse import cleaning


def text_frame(rows: list[dict]) -> pd.DataFrame:
    """A frame as read_raw_export returns it: text, empty cells missing."""
    return pd.DataFrame(rows).astype("str").replace({"": np.nan, "nan": np.nan})


def case(**values) -> dict:
    """One case record as text with sensible defaults."""
    row = {
        "caseId": "POL-00001",
        "reportingSource": "police",
        "registrationDate": "2019-03-04",
        "yearOfRegistration": "2019",
        "givenName": "Lovun",
        "familyName": "Dumoza",
        "birthYear": "1990",
        "gender": "Woman",
        "ageBroad": "27--29",
        "citizenship": "NA",
        "CountryOfExploitation": "ZA",
        "traffickMonths": "6",
        "meansDebtBondageEarnings": "0",
        "meansThreats": "1",
        "isForcedLabour": "1",
        "isSexualExploit": "0",
        "isOtherExploit": "0",
    }
    row.update(values)
    return row


# ---------------------------------------------------------------- import


def test_read_raw_export_keeps_namibia_and_codes():
    csv = "caseId,citizenship,traffickMonths,ageBroad\nA,NA,-99,00\nB,,12,9--17\nC,N/A,,null\n"
    frame = cleaning.read_raw_export(io.StringIO(csv))
    assert list(frame["citizenship"].fillna("<missing>")) == ["NA", "<missing>", "N/A"]
    assert list(frame["traffickMonths"].fillna("<missing>")) == ["-99", "12", "<missing>"]
    assert frame.loc[2, "ageBroad"] == "null"
    assert all(pd.api.types.is_string_dtype(frame[c]) for c in frame.columns)


# ---------------------------------------------------------------- text


def test_canonical_casing_uses_the_most_frequent_spelling():
    series = pd.Series(["Woman", "WOMAN", "Woman", "woman", np.nan, "Man", "MAN", "MAN"])
    result = cleaning.canonical_casing(series)
    assert list(result.fillna("?")) == ["Woman", "Woman", "Woman", "Woman", "?", "MAN", "MAN", "MAN"]


def test_canonical_casing_breaks_ties_alphabetically():
    assert list(cleaning.canonical_casing(pd.Series(["police", "Police"]))) == ["Police", "Police"]


def test_tidy_text_strips_spaces_and_harmonises_categories_but_not_names():
    raw = text_frame(
        [
            {"reportingSource": " police", "gender": "Woman", "givenName": "LOVUN", "citizenship": "  NA"},
            {"reportingSource": "police", "gender": "WOMAN ", "givenName": "Lovun", "citizenship": "   "},
            {"reportingSource": "Police", "gender": "Woman", "givenName": "Zivil", "citizenship": "ZA"},
        ]
    )
    tidy = cleaning.tidy_text(raw)
    assert list(tidy["reportingSource"]) == ["police"] * 3
    assert list(tidy["gender"]) == ["Woman"] * 3
    assert list(tidy["givenName"]) == ["LOVUN", "Lovun", "Zivil"]
    assert tidy.loc[0, "citizenship"] == "NA" and pd.isna(tidy.loc[1, "citizenship"])
    assert raw.loc[0, "reportingSource"] == " police", "the input must not change"


def test_replace_missing_codes_leaves_namibia_alone():
    raw = text_frame(
        [
            {"traffickMonths": "-99", "ageBroad": "00", "citizenship": "NA"},
            {"traffickMonths": "-990", "ageBroad": "9--17", "citizenship": "00"},
        ]
    )
    clean = cleaning.replace_missing_codes(raw)
    assert pd.isna(clean.loc[0, "traffickMonths"]) and pd.isna(clean.loc[0, "ageBroad"])
    assert clean.loc[0, "citizenship"] == "NA"
    assert clean.loc[1, "traffickMonths"] == "-990"
    assert pd.isna(clean.loc[1, "citizenship"])
    assert raw.loc[0, "traffickMonths"] == "-99"


# ---------------------------------------------------------------- countries


@pytest.mark.parametrize(
    "written, code",
    [
        ("Namibia", "NA"),
        ("NAM", "NA"),
        ("NA", "NA"),
        ("na", "NA"),
        (" ZA ", "ZA"),
        ("ZAF", "ZA"),
        ("Viet Nam", "VN"),
        ("Moldova, Republic of", "MD"),
        ("United Kingdom", "GB"),
        ("Nambia", "NA"),
        ("Phillipines", "PH"),
        ("Untied States", "US"),
        ("Zamiba", "ZM"),
    ],
)
def test_normalise_country(written, code):
    assert cleaning.normalise_country(written) == code


@pytest.mark.parametrize("written", ["Narnia", "Nigera", "", "   ", None, np.nan, "XX"])
def test_normalise_country_refuses_what_it_cannot_tell(written):
    assert cleaning.normalise_country(written) is None


def test_match_country_reports_how_it_matched():
    assert cleaning.match_country("NAM").method == "alpha_3"
    assert cleaning.match_country("Namibia").method == "name"
    fuzzy = cleaning.match_country("Nambia")
    assert (fuzzy.method, fuzzy.matched) == ("fuzzy", "namibia") and fuzzy.score >= 0.8
    assert cleaning.match_country("Nigera").method == "ambiguous"
    assert cleaning.match_country("Narnia").method == "no match"
    assert cleaning.match_country(np.nan).method == "missing"


def test_normalise_countries_keeps_index_and_missing_values():
    series = pd.Series(["Namibia", np.nan, "NAM", "ZA"], index=[10, 11, 12, 13])
    result = cleaning.normalise_countries(series)
    assert list(result.index) == [10, 11, 12, 13]
    assert list(result.fillna("?")) == ["NA", "?", "NA", "ZA"]


def test_country_matches_is_a_decision_log():
    log = cleaning.country_matches(pd.Series(["NA", "NA", "Nambia", np.nan]))
    assert list(log["value"]) == ["NA", "Nambia"]
    assert list(log["rows"]) == [2, 1]
    assert list(log["method"]) == ["alpha_2", "fuzzy"]


# ---------------------------------------------------------------- age bands


@pytest.mark.parametrize(
    "written, band",
    [
        ("09--17", "9--17"),
        ("9-17", "9--17"),
        ("9\u201317", "9--17"),
        ("9 -- 17", "9--17"),
        ("30--38.", "30--38"),
        ("0 -- 8", "0--8"),
        ("48 +", "48+"),
        ("48 plus", "48+"),
        ("48+ years", "48+"),
        ("24--26", "24--26"),
    ],
)
def test_fix_age_band(written, band):
    assert cleaning.fix_age_band(written) == band


@pytest.mark.parametrize("written", ["10--17", "00", "adult", "", np.nan, "17--9"])
def test_fix_age_band_rejects_values_that_are_not_bands(written):
    assert cleaning.fix_age_band(written) is None


def test_fix_age_bands_on_a_column():
    result = cleaning.fix_age_bands(pd.Series(["09--17", np.nan, "48 +", "10--17"]))
    assert list(result.fillna("?")) == ["9--17", "?", "48+", "?"]


# ---------------------------------------------------------------- dates


def test_parse_dates_reads_each_format_and_refuses_impossible_dates():
    written = pd.Series(["2019-03-04", "04/03/2019", "4 March 2019", "2019-02-30", "2019-13-04", np.nan, "30/04/2023"])
    parsed = cleaning.parse_dates(written)
    assert list(parsed[:3]) == [pd.Timestamp("2019-03-04")] * 3
    assert parsed[3:6].isna().all()
    assert parsed[6] == pd.Timestamp("2023-04-30")


def test_date_formats_names_the_format_that_reads_each_value():
    formats = cleaning.date_formats(pd.Series(["2019-03-04", "04/03/2019", "4 March 2019", "2019-02-30"]))
    assert list(formats.fillna("none")) == ["%Y-%m-%d", "%d/%m/%Y", "%d %B %Y", "none"]


# ---------------------------------------------------------------- units and flags


def test_convert_weeks_to_months_only_in_the_named_source():
    frame = text_frame(
        [
            {"reportingSource": "ngo", "traffickMonths": "26"},
            {"reportingSource": "police", "traffickMonths": "26"},
            {"reportingSource": "ngo", "traffickMonths": ""},
        ]
    )
    result = cleaning.convert_weeks_to_months(frame, source="ngo")
    assert result.loc[0, "traffickMonths"] == 6
    assert result.loc[1, "traffickMonths"] == 26
    assert pd.isna(result.loc[2, "traffickMonths"])
    assert frame.loc[0, "traffickMonths"] == "26"


def test_weeks_to_months_undoes_months_to_weeks_exactly():
    months = list(range(1, 121))
    weeks = [str(round(m * 52 / 12)) for m in months]
    frame = pd.DataFrame({"reportingSource": ["ngo"] * len(weeks), "traffickMonths": weeks})
    assert list(cleaning.convert_weeks_to_months(frame, source="ngo")["traffickMonths"]) == months


def test_resolve_blank_flags_fills_only_filled_in_forms_of_the_source():
    columns = ["meansThreats", "meansWithholdDocs"]
    frame = text_frame(
        [
            {"reportingSource": "hotline", "meansThreats": "1", "meansWithholdDocs": ""},
            {"reportingSource": "hotline", "meansThreats": "", "meansWithholdDocs": ""},
            {"reportingSource": "police", "meansThreats": "1", "meansWithholdDocs": ""},
        ]
    )
    result = cleaning.resolve_blank_flags(frame, source="hotline", columns=columns)
    assert result.loc[0, "meansWithholdDocs"] == "0"
    assert result.loc[1, columns].isna().all(), "an all-blank form may never have been asked"
    assert pd.isna(result.loc[2, "meansWithholdDocs"]), "other sources are untouched"


def test_flag_answers_finds_the_source_that_never_says_no():
    frame = text_frame(
        [
            {"reportingSource": "hotline", "meansThreats": "1"},
            {"reportingSource": "hotline", "meansThreats": ""},
            {"reportingSource": "police", "meansThreats": "0"},
            {"reportingSource": "police", "meansThreats": "1"},
        ]
    )
    table = cleaning.flag_answers(frame, columns=["meansThreats"])
    assert table.loc["hotline", "no (0)"] == 0 and table.loc["hotline", "blank"] == 0.5
    assert table.loc["police", "no (0)"] == 0.5


# ---------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    "a, b, distance",
    [
        ("Lovun", "Lovun", 0),
        ("Lovun", "LOVUN", 0),
        ("Lovun", "Lovuun", 1),
        ("Lovun", "Lovn", 1),
        ("Lovun", "Lvoun", 1),
        ("Lovun", "Lovan", 1),
        ("Lovun", "Lvon", 2),
        ("abc", "xyz", 3),
    ],
)
def test_name_distance(a, b, distance):
    assert cleaning.name_distance(a, b) == distance


def test_find_duplicates_collapses_a_pair_and_keeps_the_first_report():
    frame = text_frame(
        [
            case(
                caseId="NGO-00007",
                reportingSource="ngo",
                registrationDate="2019-04-20",
                givenName="LOVUN",
                familyName="Dumozza",
            ),
            case(caseId="POL-00001"),  # the first report
            case(caseId="POL-00002", givenName="Zivil", familyName="Mafezin"),  # someone else
        ]
    )
    frame["registrationDate"] = cleaning.parse_dates(frame["registrationDate"])
    pairs = cleaning.find_duplicates(frame)
    assert list(zip(pairs["caseId"], pairs["duplicateOf"])) == [("NGO-00007", "POL-00001")]
    assert list(cleaning.deduplicate(frame)["caseId"]) == ["POL-00001", "POL-00002"]


@pytest.mark.parametrize(
    "second",
    [
        {"reportingSource": "police", "caseId": "POL-00009"},  # same source: two people with similar names
        {"registrationDate": "2019-12-30"},  # more than 120 days later
        {"birthYear": "1991"},  # another birth year
        {"givenName": "Lvon"},  # two edits away
    ],
)
def test_find_duplicates_needs_every_condition(second):
    first = case()
    other = case(**{"caseId": "NGO-00001", "reportingSource": "ngo", "registrationDate": "2019-04-01", **second})
    assert cleaning.find_duplicates(text_frame([first, other])).empty


def test_find_duplicates_groups_chains_of_reports():
    frame = text_frame(
        [
            case(caseId="POL-00001", registrationDate="2019-03-04"),
            case(caseId="NGO-00001", reportingSource="ngo", registrationDate="2019-04-04", givenName="Lovuun"),
            case(caseId="HTL-00001", reportingSource="hotline", registrationDate="2019-05-04", givenName="Lovuuun"),
        ]
    )
    pairs = cleaning.find_duplicates(frame)
    assert sorted(pairs["caseId"]) == ["HTL-00001", "NGO-00001"]
    assert set(pairs["duplicateOf"]) == {"POL-00001"}


def test_find_duplicates_counts_an_unknown_date_as_later():
    frame = text_frame(
        [
            case(caseId="HTL-00001", reportingSource="hotline", registrationDate="2019-02-30"),
            case(caseId="POL-00001", registrationDate="2019-05-01", givenName="Lovuun"),
        ]
    )
    pairs = cleaning.find_duplicates(frame)
    assert list(zip(pairs["caseId"], pairs["duplicateOf"])) == [("HTL-00001", "POL-00001")]


# ---------------------------------------------------------------- format


def test_format_types_gives_each_column_its_type():
    frame = text_frame([case(), case(caseId="POL-00002", ageBroad="", traffickMonths="", meansThreats="")])
    typed = cleaning.format_types(frame)
    assert pd.api.types.is_datetime64_any_dtype(typed["registrationDate"])
    assert str(typed["yearOfRegistration"].dtype) == "Int64" and str(typed["traffickMonths"].dtype) == "Int64"
    assert str(typed["meansThreats"].dtype) == "Int8" and pd.isna(typed.loc[1, "meansThreats"])
    assert typed["ageBroad"].cat.ordered and list(typed["ageBroad"].cat.categories) == list(cleaning.AGE_BANDS)
    assert typed.loc[0, "citizenship"] == "NA"


def test_flag_columns():
    columns = [
        "caseId",
        "isForcedLabour",
        "island",
        "meansThreats",
        "sectorOfSexPornography",
        "recruiterRelationFriend",
        "isSexualExploit",
    ]
    assert cleaning.flag_columns(pd.DataFrame(columns=columns)) == [
        "isForcedLabour",
        "meansThreats",
        "sectorOfSexPornography",
        "recruiterRelationFriend",
        "isSexualExploit",
    ]


def test_as_text_round_trips_typed_values():
    typed = cleaning.format_types(text_frame([case(traffickMonths="")]))
    text = cleaning.as_text(typed)
    assert text.loc[0, "registrationDate"] == "2019-03-04"
    assert text.loc[0, "yearOfRegistration"] == "2019"
    assert text.loc[0, "traffickMonths"] == ""
    assert text.loc[0, "citizenship"] == "NA"


# ---------------------------------------------------------------- headline figures


def tiny_cases() -> pd.DataFrame:
    return text_frame(
        [
            case(
                caseId="A",
                yearOfRegistration="2019",
                ageBroad="9--17",
                traffickMonths="4",
                isForcedLabour="1",
                meansDebtBondageEarnings="1",
            ),
            case(
                caseId="B",
                yearOfRegistration="2019",
                ageBroad="30--38",
                traffickMonths="8",
                isForcedLabour="0",
                isSexualExploit="1",
                meansDebtBondageEarnings="0",
            ),
            case(
                caseId="C",
                yearOfRegistration="2020",
                ageBroad="",
                traffickMonths="",
                isForcedLabour="1",
                isSexualExploit="1",
                meansDebtBondageEarnings="",
                citizenship="",
            ),
            case(
                caseId="D",
                yearOfRegistration="2020",
                ageBroad="0--8",
                traffickMonths="12",
                isForcedLabour="0",
                isOtherExploit="1",
                meansDebtBondageEarnings="0",
                citizenship="ZA",
            ),
        ]
    )


def test_headline_figures():
    figures = cleaning.headline_figures(tiny_cases())
    assert figures.cases == 4
    assert figures.type_shares == {"isForcedLabour": 0.5, "isSexualExploit": 0.5, "isOtherExploit": 0.25}
    assert figures.cases_by_year == {2019: 2, 2020: 2}
    assert figures.mean_months == pytest.approx(8)
    assert figures.minor_share == pytest.approx(2 / 3)
    assert figures.debt_bondage_share == pytest.approx(1 / 3)
    assert figures.citizenship_recorded == 0.75
    assert figures.citizenships == 2


def test_headline_figures_read_codes_as_careless_code_would():
    frame = tiny_cases()
    frame.loc[2, "traffickMonths"] = "-99"
    assert cleaning.headline_figures(frame).mean_months == pytest.approx((4 + 8 - 99 + 12) / 4)


def test_headline_errors_and_step_log():
    truth = tiny_cases()
    doubled = pd.concat([truth, truth.iloc[[0]]], ignore_index=True)
    errors = cleaning.headline_errors(cleaning.headline_figures(doubled), cleaning.headline_figures(truth))
    assert list(errors) == list(cleaning.FIGURE_LABELS)
    assert errors["Cases"] == pytest.approx(25)
    assert errors["Cases by year"] == pytest.approx(25)  # 2019 is 50% off, 2020 right
    assert errors["Sexual exploitation"] == pytest.approx((1 / 5 * 2 - 0.5) / 0.5 * 100)

    log = cleaning.StepLog(truth)
    log.record("raw", doubled)
    table = log.record("clean", truth)
    assert list(table.index) == ["raw", "clean"]
    assert (table.loc["clean"] == 0).all() and table.loc["raw", "Cases"] == 25
    assert list(log.figures().index) == ["raw", "clean", "Ground truth"]
    assert set(log.long().columns) >= {"Step", "Figure", "Error", "Absolute error", "Step number"}


def test_headline_table():
    truth = tiny_cases()
    table = cleaning.headline_table({"same": truth, "fewer": truth.iloc[:2]}, truth)
    assert table.loc["same", "Cases"] == 0 and table.loc["fewer", "Cases"] == -50


# ---------------------------------------------------------------- definition change


def test_share_by_and_largest_shift_find_the_source_that_changed():
    rows = []
    for year in range(2015, 2024):
        for source, share in (("police", 0.9 if year >= 2019 else 0.5), ("ngo", 0.5)):
            yes = int(share * 10)
            rows += [{"reportingSource": source, "yearOfRegistration": str(year), "isForcedLabour": "1"}] * yes
            rows += [{"reportingSource": source, "yearOfRegistration": str(year), "isForcedLabour": "0"}] * (10 - yes)
    table = cleaning.share_by(pd.DataFrame(rows))
    assert len(table) == 18 and (table["cases"] == 10).all()
    shifts = cleaning.largest_shift(table)
    assert shifts.loc[0, "reportingSource"] == "police" and shifts.loc[0, "from"] == "2019"
    assert shifts.loc[0, "shift"] == pytest.approx(0.4)
    assert shifts.loc[1, "shift"] == pytest.approx(0)


# ---------------------------------------------------------------- what remains


def test_compare_with_truth_and_manifest_scores():
    truth = text_frame([case(caseId="A"), case(caseId="B", ageBroad="9--17")])
    raw = text_frame(
        [
            case(caseId="A", ageBroad="09--17"),
            case(caseId="B", ageBroad="9--17"),
            case(caseId="C", givenName="LOVUN", registrationDate="2019-03-20"),
        ]
    )
    raw.loc[0, "ageBroad"] = "27--29."
    manifest = pd.DataFrame(
        [
            {
                "rawRow": 0,
                "caseId": "A",
                "column": "ageBroad",
                "defect": "age_band_typo",
                "cleanValue": "27--29",
                "dirtyValue": "27--29.",
                "duplicateOf": "",
            },
            {
                "rawRow": 1,
                "caseId": "B",
                "column": "citizenship",
                "defect": "country_name",
                "cleanValue": "NA",
                "dirtyValue": "Namibia",
                "duplicateOf": "",
            },
            {
                "rawRow": 2,
                "caseId": "C",
                "column": "",
                "defect": "duplicate",
                "cleanValue": "",
                "dirtyValue": "",
                "duplicateOf": "A",
            },
            {
                "rawRow": 2,
                "caseId": "C",
                "column": "givenName",
                "defect": "name_variant",
                "cleanValue": "Lovun",
                "dirtyValue": "LOVUN",
                "duplicateOf": "",
            },
        ]
    )
    cleaned = raw.assign(ageBroad=cleaning.fix_age_bands(raw["ageBroad"]))
    cleaned.loc[1, "citizenship"] = "ZA"  # a wrong fix

    scores = cleaning.score_against_manifest(cleaned, manifest, kept=["A", "B"]).set_index("defect")
    assert scores.loc["age_band_typo", "fixed"] == 1
    assert scores.loc["country_name", "remaining"] == 1
    assert scores.loc["duplicate", "fixed"] == 1 and scores.loc["duplicate", "wrongly_dropped"] == 0
    assert scores.loc["name_variant", "dropped"] == 1

    agreement = cleaning.compare_with_truth(cleaned[cleaned["caseId"] != "C"], truth).set_index("column")
    assert agreement.loc["ageBroad", "share"] == 1
    assert agreement.loc["citizenship", "agree"] == 1
    assert agreement.attrs == {"missing": 0, "extra": 0}


# ---------------------------------------------------------------- the whole pipeline on the committed data


def test_pipeline_recovers_the_ground_truth_from_the_committed_export():
    from htcourse import data

    raw = cleaning.read_raw_export(data.path("case_records_raw"))
    truth = cleaning.read_raw_export(data.path("case_records_clean"))
    step = cleaning.replace_missing_codes(cleaning.tidy_text(raw))
    step = cleaning.normalise_country_columns(step)
    step = step.assign(
        ageBroad=cleaning.fix_age_bands(step["ageBroad"]),
        registrationDate=cleaning.parse_dates(step["registrationDate"]),
    )
    medians = pd.to_numeric(step["traffickMonths"]).groupby(step["reportingSource"]).median()
    step = cleaning.convert_weeks_to_months(step, source=medians.idxmax())
    answers = cleaning.flag_answers(step)
    step = cleaning.resolve_blank_flags(step, source=answers["no (0)"].idxmin())
    cleaned = cleaning.format_types(cleaning.deduplicate(step))

    assert abs(len(cleaned) - len(truth)) <= 0.005 * len(truth)
    agreement = cleaning.compare_with_truth(cleaned, cleaning.format_types(truth)).set_index("column")
    assert (agreement.drop(index="isForcedLabour")["share"] > 0.98).all(), agreement

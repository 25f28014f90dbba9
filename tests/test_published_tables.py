"""Tests of htcourse.datasets.published_tables: the real multiple-systems tables, committed as published.

Each table's total is checked against the number the study published; each
file's SHA-256 against the checksum declared once in the package (and written
into datapackage.json), so that changing a published file fails here and in
``frictionless validate``.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import frictionless
import pandas as pd
import pytest

from htcourse import data, schema
from htcourse.datasets import DATAPACKAGE_FILE, published_tables
from htcourse.datasets.writing import OutputError
from htcourse.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "datasets"

#: The totals the studies published: people (Kosovo: killings) on at least one list.
PUBLISHED_TOTALS = {
    "mse_uk_2013_6lists.csv": 2744,  # the NCA's 2013 strategic assessment (Silverman 2014)
    "mse_uk_2013_5lists.csv": 2744,
    "mse_netherlands_6lists.csv": 8234,
    "mse_us_western_5lists.csv": 345,
    "mse_new_orleans_8lists.csv": 185,
    "mse_kosovo_4lists.csv": 4400,  # "n = 4400 observed killings" (LCMCR documentation)
}
SECTIONS = (
    "## Motivation",
    "## Composition",
    "## Collection",
    "## Known defects",
    "## Intended uses and misuses",
    "## Licence and terms",
    "## Published estimate",
    "## Maintenance",
)


def test_every_table_is_declared_and_has_a_published_total():
    assert [t.filename for t in published_tables.TABLES] == list(PUBLISHED_TOTALS)


@pytest.mark.parametrize("table", published_tables.TABLES, ids=lambda t: t.filename)
def test_table_loads_with_its_columns_and_published_total(table):
    frame = data.load(table.filename.removesuffix(".csv"))
    assert tuple(frame.columns) == schema.COLUMNS[table.filename]
    lists = list(table.lists)
    assert lists == list(frame.columns[:-1])
    assert frame[lists].isin([0, 1]).all().all()
    assert (frame[lists].sum(axis=1) >= 1).all(), "a row on no list"
    assert not frame.duplicated(lists).any()
    assert (frame["count"] > 0).all()
    assert frame["count"].sum() == PUBLISHED_TOTALS[table.filename] == table.observed


@pytest.mark.parametrize("table", published_tables.TABLES, ids=lambda t: t.filename)
def test_committed_file_has_the_declared_checksum(table):
    digest = hashlib.sha256((COMMITTED / table.filename).read_bytes()).hexdigest()
    assert digest == table.sha256


def test_the_five_list_uk_table_is_the_six_list_table_with_police_and_nca_merged():
    six = data.load("mse_uk_2013_6lists")
    six["PFNCA"] = six["PF"] | six["NCA"]
    merged = six.groupby(["LA", "NG", "PFNCA", "GO", "GP"], as_index=False)["count"].sum()
    five = data.load("mse_uk_2013_5lists")
    key = ["LA", "NG", "PFNCA", "GO", "GP"]
    pd.testing.assert_frame_equal(merged.sort_values(key, ignore_index=True), five.sort_values(key, ignore_index=True))


def test_datapackage_carries_each_checksum_source_and_licence():
    package = json.loads((COMMITTED / DATAPACKAGE_FILE).read_text(encoding="utf-8"))
    resources = {r["path"]: r for r in package["resources"]}
    for table in published_tables.TABLES:
        resource = resources[table.filename]
        assert resource["hash"] == f"sha256:{table.sha256}"
        assert resource["sources"][0]["title"] == table.source
        assert resource["licenses"] and all(lic["name"] for lic in resource["licenses"])
        assert "NOT synthetic" in resource["description"]


def test_frictionless_validate_passes_and_fails_when_a_published_file_changes(tmp_path):
    report = frictionless.validate(str(COMMITTED / DATAPACKAGE_FILE))
    assert report.valid, [(t.name, e.type, e.note) for t in report.tasks for e in t.errors[:3]]
    shutil.copy(COMMITTED / DATAPACKAGE_FILE, tmp_path / DATAPACKAGE_FILE)
    name = published_tables.UK_5.filename
    text = (COMMITTED / name).read_text(encoding="utf-8")
    (tmp_path / name).write_text(text.replace(",54\n", ",55\n"), encoding="utf-8")  # one count changed
    resource = frictionless.Package(str(tmp_path / DATAPACKAGE_FILE)).get_resource(name.removesuffix(".csv"))
    report = resource.validate()
    assert not report.valid
    assert "hash-count" in {e.type for t in report.tasks for e in t.errors}


def test_a_changed_published_file_is_refused_when_copied(tmp_path):
    for name in published_tables.FILES:
        shutil.copy(COMMITTED / name, tmp_path / name)
    assert set(published_tables.files(tmp_path)) == set(published_tables.FILES)
    name = published_tables.KOSOVO.filename
    (tmp_path / name).write_text((tmp_path / name).read_text(encoding="utf-8") + "0,0,0,1,1\n", encoding="utf-8")
    with pytest.raises(OutputError, match="has changed"):
        published_tables.files(tmp_path)
    (tmp_path / name).unlink()
    with pytest.raises(OutputError, match="published data"):
        published_tables.files(tmp_path)


@pytest.mark.parametrize("datasheet", sorted({t.datasheet for t in published_tables.TABLES}))
def test_datasheet_says_source_terms_and_published_estimate(datasheet):
    text = (COMMITTED / datasheet).read_text(encoding="utf-8")
    assert text.startswith("# Datasheet:")
    assert "**not synthetic**" in text.split("\n\n")[1]
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions), dict(zip(SECTIONS, positions))
    tables = [t for t in published_tables.TABLES if t.datasheet == datasheet]
    for table in tables:
        assert f"`{table.filename}`" in text
        assert f"{table.observed:,}" in text, "the datasheet states the table's total"
        for column in table.lists:
            assert f"`{column}`" in text or "`A` to" in text
    terms = text.split("## Licence and terms", 1)[1].split("\n## ", 1)[0]
    assert "GPL" in terms and "redistribut" in terms
    assert "CTDC" not in text or "not" in text  # CTDC's files are never shipped


def test_uk_datasheet_states_the_published_range():
    text = (COMMITTED / "mse_uk.md").read_text(encoding="utf-8")
    assert "between 10 thousand and 13 thousand" in text and "10,000 and 13,000" in text
    assert "Open Government Licence v3.0" in text


# --- The National Referral Mechanism's quarterly referrals ------------------------------------------------


def test_nrm_series_matches_the_published_2023_totals():
    """Home Office, end-of-year summary 2023 (7 March 2024): 17,004 referrals, 7,432 of them children."""
    nrm = data.load("nrm_referrals_quarterly")
    assert tuple(nrm.columns) == schema.COLUMNS["nrm_referrals_quarterly.csv"]
    by_year = nrm.groupby("year")["referrals"].sum()
    assert by_year[2023] == 17_004
    assert nrm.query("year == 2023 and ageGroup == 'child'")["referrals"].sum() == 7_432
    # the highest since the NRM began in 2009 (2023 is the last year in the file)
    assert by_year.idxmax() == 2023 and by_year.index.min() == 2009
    quarters = nrm[["year", "quarter"]].drop_duplicates()
    assert len(quarters) == 59 and tuple(quarters.iloc[0]) == (2009, 2) and tuple(quarters.iloc[-1]) == (2023, 4)
    assert len(nrm) == 59 * 3 * 4 and (nrm["referrals"] >= 0).all()


# --- The NRM's referrals by first responder, exploitation type and age (2022 Q2 to 2023 Q4) ----------------

#: Published quarterly totals, each from the Home Office bulletin for that quarter (first publication).
NRM_PUBLISHED_QUARTERS = {
    (2023, 1): 4_746,  # bulletin for January to March 2023, published 4 May 2023 ("4,746 potential victims")
    (2023, 4): 4_142,  # bulletin for October to December 2023, published 7 March 2024 ("4,142 potential victims")
}


def test_nrm_by_type_loads_and_matches_the_published_quarterly_totals():
    frame = data.load("nrm_referrals_by_type")
    assert tuple(frame.columns) == schema.COLUMNS["nrm_referrals_by_type.csv"]
    key = ["year", "quarter", "responderType", "exploitationType", "ageGroup"]
    assert not frame.duplicated(key).any() and (frame["referrals"] > 0).all()
    assert set(frame["responderType"]) == set(published_tables.RESPONDER_TYPES)
    quarters = frame.groupby(["year", "quarter"])["referrals"].sum()
    assert list(quarters.index) == [(2022, 2), (2022, 3), (2022, 4), (2023, 1), (2023, 2), (2023, 3), (2023, 4)]
    assert quarters[2023, 1] == NRM_PUBLISHED_QUARTERS[2023, 1]
    # The October to December 2023 release's four first-responder tables hold one referral fewer than its
    # bulletin (the datasheet says so): a child referred for criminal exploitation only. The bulletin's
    # 1,172 referrals for criminal exploitation only, 844 of them children, were read in Southwell and
    # Partners' summary of that bulletin.
    assert NRM_PUBLISHED_QUARTERS[2023, 4] - quarters[2023, 4] == 1
    q4 = frame.query("year == 2023 and quarter == 4 and exploitationType == 'Criminal'")
    assert (q4["referrals"].sum(), q4.query("ageGroup == 'child'")["referrals"].sum()) == (1_172 - 1, 844 - 1)


def test_nrm_by_type_agrees_with_the_quarterly_series_up_to_later_revisions():
    """Each quarter here is its own release's first view; the quarterly series is one later release's view."""
    by_type = data.load("nrm_referrals_by_type").groupby(["year", "quarter", "ageGroup"])["referrals"].sum()
    series = data.load("nrm_referrals_quarterly").groupby(["year", "quarter", "ageGroup"])["referrals"].sum()
    difference = (by_type - series.loc[by_type.index]).abs()
    assert 0 < difference.max() <= 10, difference.max()  # revisions are small but real
    assert series.loc[2023].sum() == 17_004 and by_type.loc[2023].sum() == 17_023  # see the datasheet


#: Figures each series' datasheet must state (from the Home Office publications cited in the tests above).
DATASHEET_FIGURES = {
    published_tables.NRM.filename: ("17,004", "7,432"),
    published_tables.NRM_BY_TYPE.filename: ("4,746", "4,142"),
}


@pytest.mark.parametrize("series", published_tables.SERIES, ids=lambda s: s.filename)
def test_series_file_has_its_checksum_ogl_licence_and_published_figures(series):
    assert hashlib.sha256((COMMITTED / series.filename).read_bytes()).hexdigest() == series.sha256
    package = json.loads((COMMITTED / DATAPACKAGE_FILE).read_text(encoding="utf-8"))
    resource = {r["path"]: r for r in package["resources"]}[series.filename]
    assert resource["hash"] == f"sha256:{series.sha256}"
    assert resource["licenses"][0]["name"] == "OGL-UK-3.0" and "NOT synthetic" in resource["description"]
    text = (COMMITTED / series.datasheet).read_text(encoding="utf-8")  # its licence: the test below
    for figure in DATASHEET_FIGURES[series.filename]:
        assert figure in text, figure


@pytest.mark.parametrize("series", published_tables.SERIES, ids=lambda s: s.filename)
def test_series_datasheet_has_the_sections_licence_and_published_figures(series):
    text = (COMMITTED / series.datasheet).read_text(encoding="utf-8")
    assert text.startswith("# Datasheet:") and f"`{series.filename}`" in text
    assert "**not synthetic**" in text.split("\n\n")[1]
    sections = [s.replace("## Published estimate", "## Published figures") for s in SECTIONS]
    positions = [text.find(section) for section in sections]
    assert -1 not in positions and positions == sorted(positions), dict(zip(sections, positions))
    assert "Open Government Licence v3.0" in text
    for column in schema.COLUMNS[series.filename]:
        assert f"`{column}`" in text, column

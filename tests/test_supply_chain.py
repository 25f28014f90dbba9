"""The supply-chain dataset (htcourse.datasets.supply_chain) and the lab helpers (htcourse.audits).

The byte-for-byte, datasheet-structure and Data Package checks of every
dataset are in tests/test_datasets.py; here are the properties that belong to
this dataset, checked for the default seed and another seed, the datasheet's
figures recomputed from the CSV files with independent pandas code, and unit
tests of the helpers on tables small enough to count by hand.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from htcourse import audits
from htcourse.datasets import DATASETS, DEFAULT_SEED, supply_chain
from htcourse.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "datasets"
OTHER_SEED = 7


@pytest.fixture(scope="module", params=[DEFAULT_SEED, OTHER_SEED], ids=["default_seed", "other_seed"])
def generated(request):
    return supply_chain.generate(request.param)


def tables(generated):
    return (
        generated.tables[supply_chain.SITES_FILE],
        generated.tables[supply_chain.TRUTH_FILE],
        generated.tables[supply_chain.AUDITS_FILE],
        generated.tables[supply_chain.REPORTS_FILE],
    )


def md_rows(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def pct(cell: str) -> float:
    return float(cell.rstrip("%")) / 100


# --------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------


def test_registered_and_committed_files_reproduce():
    assert DATASETS["supply_chain"] is supply_chain
    fresh = supply_chain.generate(DEFAULT_SEED)
    for name, text in fresh.files.items():
        assert (COMMITTED / name).read_text(encoding="utf-8") == text, f"{name}: run `make datasets`"


def test_another_seed_changes_every_file():
    a, b = supply_chain.generate(DEFAULT_SEED), supply_chain.generate(OTHER_SEED)
    for name in supply_chain.CSV_FILES:
        assert a.files[name] != b.files[name], name
    assert supply_chain.generate(OTHER_SEED).files == b.files  # and the same seed gives the same bytes


def test_columns_ids_and_ranges(generated):
    sites, truth, audit_table, reports = tables(generated)
    assert tuple(sites.columns) == supply_chain.SITE_COLUMNS
    assert tuple(truth.columns) == supply_chain.TRUTH_COLUMNS
    assert tuple(audit_table.columns) == supply_chain.AUDIT_COLUMNS
    assert tuple(reports.columns) == supply_chain.REPORT_COLUMNS
    assert list(sites["siteId"]) == list(truth["siteId"]) and sites["siteId"].is_unique
    assert audit_table["auditId"].is_unique and reports["reportId"].is_unique
    assert set(audit_table["siteId"]) <= set(sites["siteId"]) and set(reports["siteId"]) <= set(sites["siteId"])
    assert sites["migrantShare"].between(0, 1).all() and (sites["workers"] >= 1).all()
    for column in (*supply_chain.INDICATOR_COLUMNS, "forcedLabour"):
        assert set(truth[column]) <= {0, 1}, column
    assert set(reports["indicator"]) <= set(supply_chain.INDICATOR_COLUMNS)
    assert len(supply_chain.INDICATORS) == 11


def test_tiers_visibility_and_audits_as_designed(generated):
    sites, truth, audit_table, _ = tables(generated)
    for tier, (sector, n, _visible_share, _, _) in supply_chain.TIER_SETUP.items():
        part = sites[sites["tier"] == tier]
        assert len(part) == n and set(part["sector"]) == {sector}
    assert (sites.loc[sites["tier"] == 1, "visibleToBuyer"] == 1).all()
    assert sites.loc[sites["tier"] == 3, "visibleToBuyer"].mean() < 0.15
    # One audit a year of every visible site, and of no other site.
    visible = set(sites.loc[sites["visibleToBuyer"] == 1, "siteId"])
    per_site = audit_table.groupby("siteId")["year"].agg(sorted)
    assert set(per_site.index) == visible
    assert all(years == list(supply_chain.YEARS) for years in per_site)
    # The result follows the zero-tolerance rule exactly.
    fails = audit_table[list(supply_chain.ZERO_TOLERANCE)].any(axis=1)
    assert (audit_table["result"] == np.where(fails, "fail", "pass")).all()


def test_truth_is_coherent_and_deeper_tiers_are_worse(generated):
    sites, truth, _, _ = tables(generated)
    forced = truth["forcedLabour"] == 1
    # Every site in forced labour shows a zero-tolerance indicator; one indicator alone is not forced labour.
    assert truth.loc[forced, list(supply_chain.ZERO_TOLERANCE)].any(axis=1).all()
    others = truth[~forced]
    assert (others[list(supply_chain.INDICATOR_COLUMNS)].sum(axis=1) >= 1).mean() > 0.2
    prevalence = truth.groupby(sites["tier"])["forcedLabour"].mean()
    assert prevalence[1] < prevalence[3] and prevalence[2] < prevalence[3]
    # Most sites in forced labour are invisible to the buyer.
    assert (sites.loc[forced, "visibleToBuyer"] == 0).mean() > 0.6


def test_audits_detect_present_indicators_far_more_often_than_absent_ones(generated):
    _, truth, audit_table, _ = tables(generated)
    by_site = truth.set_index("siteId")
    present = np.column_stack([audit_table["siteId"].map(by_site[c]) for c in supply_chain.INDICATOR_COLUMNS]) == 1
    recorded = audit_table[list(supply_chain.INDICATOR_COLUMNS)].to_numpy() == 1
    assert recorded[present].mean() > 10 * recorded[~present].mean()
    assert recorded[~present].mean() < 0.01
    # No single audit type detects every site in forced labour, and the headline overstates compliance.
    table = audits.detection_by_type(audit_table, truth)
    assert (table["detection_rate"] < 1).all()


def test_worker_reports_under_represent_migrants(generated):
    sites, truth, _, reports = tables(generated)
    shares = audits.who_reports(sites, reports)
    assert shares["migrant_share_of_reports"] < 0.6 * shares["migrant_share_of_workers"]
    # Reports come only from sites where the channel runs, mostly about indicators that are present.
    assert set(reports["siteId"]) <= set(sites.loc[sites["workerVoice"] == 1, "siteId"])
    by_site = truth.set_index("siteId")
    true_report = [by_site.at[s, i] == 1 for s, i in zip(reports["siteId"], reports["indicator"])]
    assert np.mean(true_report) > 0.65  # some reports are mistaken, and the datasheet says how many
    stated = re.search(
        r"([\d,]+) of the ([\d,]+) reports \(", generated.files[supply_chain.DATASHEET_FILE].replace("\n", " ")
    )
    assert (int(stated.group(1).replace(",", "")), int(stated.group(2).replace(",", ""))) == (
        len(reports) - sum(true_report),
        len(reports),
    )


def test_datasheet_figures_match_the_files(generated):
    sites, truth, audit_table, reports = tables(generated)
    text = generated.files[supply_chain.DATASHEET_FILE]
    assert "not findings about real audits" in text.replace("\n", " ")
    merged = sites.merge(truth, on="siteId")
    for row in md_rows(text, "Tier"):
        part = merged[merged["tier"] == int(row[0])]
        assert int(row[2].replace(",", "")) == len(part)
        assert int(row[3].replace(",", "")) == part["visibleToBuyer"].sum()
        assert int(row[5].replace(",", "")) == part["forcedLabour"].sum()
        assert int(row[7].replace(",", "")) == part.loc[part["forcedLabour"] == 1, "visibleToBuyer"].sum()
    status = truth.set_index("siteId")["forcedLabour"]
    with_status = audit_table.assign(forced=audit_table["siteId"].map(status))
    for notice, payer, n, failed, rate, n_other, false_alarms in md_rows(text, "Notice"):
        part = with_status[(with_status["notice"] == notice) & (with_status["payer"] == payer)]
        at_forced = part[part["forced"] == 1]
        assert int(n) == len(at_forced) and int(failed) == (at_forced["result"] == "fail").sum()
        assert math.isclose(pct(rate), (at_forced["result"] == "fail").mean(), abs_tol=0.0005)
        other = part[part["forced"] == 0]
        assert int(n_other) == len(other) and int(false_alarms) == (other["result"] == "fail").sum()
    latest = audit_table.sort_values("year").groupby("siteId")["result"].last()
    claim = re.search(r"could report that ([\d.]+%) of its audited", text.replace("\n", " "))
    assert math.isclose(pct(claim.group(1)), (latest == "pass").mean(), abs_tol=0.0005)


# --------------------------------------------------------------------------
# The helpers, on tables counted by hand
# --------------------------------------------------------------------------


def _tiny():
    sites = pd.DataFrame(
        {
            "siteId": ["S1", "S2", "S3", "S4"],
            "tier": [1, 1, 2, 3],
            "visibleToBuyer": [1, 1, 1, 0],
            "workerVoice": [1, 0, 1, 1],
            "workers": [100, 100, 50, 50],
            "migrantShare": [0.5, 0.0, 0.2, 0.6],
        }
    )
    truth = pd.DataFrame({"siteId": ["S1", "S2", "S3", "S4"], "forcedLabour": [1, 0, 1, 1]})
    for column in supply_chain.INDICATOR_COLUMNS:
        truth[column] = 0
    truth.loc[[0, 2, 3], "debtBondage"] = 1
    rows = [  # site, year, notice, payer, recorded debt bondage
        ("S1", 2023, "announced", "supplier", 0),
        ("S1", 2024, "unannounced", "buyer", 1),
        ("S2", 2023, "announced", "supplier", 0),
        ("S2", 2024, "announced", "supplier", 1),  # a false alarm
        ("S3", 2023, "announced", "supplier", 0),
        ("S3", 2024, "announced", "supplier", 0),
    ]
    audit_table = pd.DataFrame(rows, columns=["siteId", "year", "notice", "payer", "debtBondage"])
    for column in supply_chain.INDICATOR_COLUMNS:
        if column != "debtBondage":
            audit_table[column] = 0
    audit_table["result"] = np.where(audit_table["debtBondage"] == 1, "fail", "pass")
    reports = pd.DataFrame(
        {
            "siteId": ["S4", "S1", "S1"],
            "indicator": ["debtBondage", "excessiveOvertime", "debtBondage"],
            "reporterGroup": ["local", "migrant", "local"],
        }
    )
    return sites, truth, audit_table, reports


def test_detection_by_type_by_hand():
    sites, truth, audit_table, _ = _tiny()
    table = audits.detection_by_type(audit_table, truth).set_index("audit_type")
    announced = table.loc["announced, paid by supplier"]
    assert (announced.audits_at_forced, announced.detected, announced.audits_at_other, announced.false_alarms) == (
        3,
        0,
        2,
        1,
    )
    assert announced.detection_rate == 0 and announced.false_alarm_rate == 0.5
    unannounced = table.loc["unannounced, paid by buyer"]
    assert (unannounced.audits_at_forced, unannounced.detected, unannounced.detection_rate) == (1, 1, 1.0)
    assert math.isnan(table.loc["unannounced, paid by supplier"].detection_rate)  # no such audits: undefined


def test_compliance_claim_and_tiers_by_hand():
    sites, truth, audit_table, _ = _tiny()
    claim = audits.compliance_claim(sites, truth, audit_table)
    # Latest audits: S1 fail, S2 fail, S3 pass -> 1 of 3 passing; 1 of 3 audited sites and 1 of 4 sites free.
    assert math.isclose(claim["share_passing"], 1 / 3)
    assert math.isclose(claim["share_free_audited"], 1 / 3) and claim["share_free_all"] == 0.25
    assert (claim["forced_passing"], claim["forced_audited"]) == (1, 2)
    tiers = audits.by_tier(sites, truth, audit_table).set_index("tier")
    assert tiers.loc[3, ["sites", "visible", "forced", "forced_visible", "forced_detected"]].tolist() == [1, 0, 1, 0, 0]
    assert tiers.loc[1, ["forced", "forced_visible", "forced_detected"]].tolist() == [1, 1, 1]


def test_channel_detection_and_who_reports_by_hand():
    sites, truth, audit_table, reports = _tiny()
    found = audits.channel_detection(sites, truth, audit_table, reports)
    counts = {(row.found_by, row.visible): row.sites for row in found.itertuples()}
    # S1: failed an audit and reported (both); S3: neither; S4: invisible, reported (channel only).
    assert counts == {("both", "visible"): 1, ("neither", "visible"): 1, ("channel only", "not visible"): 1}
    shares = audits.who_reports(sites, reports)
    # Channel sites S1, S3, S4: 200 workers, 50 + 10 + 30 = 90 migrants.
    assert math.isclose(shares["migrant_share_of_workers"], 90 / 200)
    assert math.isclose(shares["migrant_share_of_reports"], 1 / 3)
    assert math.isclose(shares["raw_gap"], 90 / 200 - 1 / 3)
    # Within sites: the reports come from S4 (60% migrants) and twice from S1 (50%), so a channel where migrants
    # reported like everyone else would get (0.6 + 0.5 + 0.5) / 3 of its reports from migrants, not 1/3.
    assert math.isclose(shares["migrant_share_expected"], 1.6 / 3)
    assert math.isclose(shares["within_site_gap"], 1.6 / 3 - 1 / 3)
    assert shares["within_site_gap"] > shares["raw_gap"]  # here the site mix hides part of the gap


def test_who_reports_compares_within_sites_not_across_them():
    """Two sites where migrants report exactly as often as locals: no gap within sites, although the raw gap,
    driven by which site reports most, says otherwise."""
    sites = pd.DataFrame(
        {"siteId": ["A", "B"], "workerVoice": [1, 1], "workers": [100, 100], "migrantShare": [0.5, 0.0]}
    )
    reports = pd.DataFrame({"siteId": ["A", "A"] + ["B"] * 8, "reporterGroup": ["migrant", "local"] + ["local"] * 8})
    shares = audits.who_reports(sites, reports)
    assert math.isclose(shares["raw_gap"], 0.25 - 0.1)
    assert math.isclose(shares["within_site_gap"], 0.0, abs_tol=1e-12)
    with pytest.raises(audits.SupplyChainDataError, match="not channel sites"):
        audits.who_reports(sites.assign(workerVoice=[1, 0]), reports)
    with pytest.raises(audits.SupplyChainDataError, match="siteId"):
        audits.who_reports(sites, reports.drop(columns="siteId"))


def test_indicator_detection_by_hand():
    _, truth, audit_table, _ = _tiny()
    row = audits.indicator_detection(audit_table, truth).set_index("column").loc["debtBondage"]
    assert (row.audits_where_present, row.recorded, row.indicator) == (4, 1, "Debt bondage")
    assert row.recorded_share == 0.25 and row.zero_tolerance


def test_helpers_reject_the_wrong_table():
    sites, truth, audit_table, _ = _tiny()
    with pytest.raises(audits.SupplyChainDataError, match="no column 'forcedLabour'"):
        audits.detection_by_type(audit_table, sites)
    with pytest.raises(audits.SupplyChainDataError, match="not in the truth table"):
        audits.detection_by_type(audit_table, truth[truth["siteId"] != "S1"])


def test_charts_carry_only_small_tables():
    sites, truth, audit_table, _ = _tiny()
    spec = audits.detection_chart(audits.detection_by_type(audit_table, truth)).to_dict()
    assert len(spec["datasets"][next(iter(spec["datasets"]))]) == 4
    spec = audits.tier_chart(audits.by_tier(sites, truth, audit_table)).to_dict()
    assert len(spec["datasets"][next(iter(spec["datasets"]))]) == 9

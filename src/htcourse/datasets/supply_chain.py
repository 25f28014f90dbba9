"""Synthetic supplier sites, social audits and worker reports, for the supply-chain audit lab.

A fictional clothing brand buys from supplier sites in three tiers: tier 1
assembles garments and is known to the brand; tier 2 (fabric and yarn mills)
and tier 3 (cotton farms and gins) are mostly unknown to it. The generator
draws each site's *true* conditions on the ILO's eleven indicators of forced
labour and whether it is in forced labour, then what the brand's social
audits record and what workers report through a worker-voice channel.

Everything here is invented for teaching. The detection and reporting rates
are assumptions chosen to be plausible, not estimates of how real audits or
real channels perform; the datasheet says so.

Files: ``supply_sites.csv`` (one row per site), ``supply_truth.csv`` (the
true conditions, which no real buyer has), ``supply_audits.csv`` (one row per
audit, with its findings and result) and ``supply_reports.csv`` (one row per
worker report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from htcourse.schema import (
    INDICATOR_COLUMNS,
    INDICATORS,
    NOTICES,
    PAYERS,
    TIERS,
    ZERO_TOLERANCE,
)
from htcourse.schema import SUPPLY_AUDITS_COLUMNS as AUDIT_COLUMNS
from htcourse.schema import SUPPLY_REPORTS_COLUMNS as REPORT_COLUMNS
from htcourse.schema import SUPPLY_SITES_COLUMNS as SITE_COLUMNS
from htcourse.schema import SUPPLY_TRUTH_COLUMNS as TRUTH_COLUMNS

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_num, fmt_pct, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "supply_chain"
SUMMARY = "Supplier sites in three tiers, their true conditions, social audits and worker reports"
SITES_FILE = "supply_sites.csv"
TRUTH_FILE = "supply_truth.csv"
AUDITS_FILE = "supply_audits.csv"
REPORTS_FILE = "supply_reports.csv"
DATASHEET_FILE = "supply_chain.md"
CSV_FILES = (SITES_FILE, TRUTH_FILE, AUDITS_FILE, REPORTS_FILE)

BUYER_NAME = "Larkfield Apparel"
YEARS = (2020, 2021, 2022, 2023, 2024)


#: tier -> (sector, number of sites, share visible to the buyer, mean workers, share of sites with the channel)
TIER_SETUP = {
    1: ("garment_assembly", 150, 1.00, 420, 1.00),
    2: ("fabric_and_yarn", 300, 0.35, 180, 0.40),
    3: ("cotton_farm_and_gin", 600, 0.05, 35, 0.20),
}
#: Invented share of sites in forced labour per tier, before the migrant-share factor.
FORCED_LABOUR_BASE = {1: 0.05, 2: 0.10, 3: 0.20}

#: Invented chance that a site in forced labour shows each indicator.
INDICATOR_RATE_FORCED = {
    "abuseOfVulnerability": 0.70,
    "deception": 0.50,
    "restrictionOfMovement": 0.30,
    "isolation": 0.25,
    "physicalAndSexualViolence": 0.10,
    "intimidationAndThreats": 0.50,
    "retentionOfIdentityDocuments": 0.45,
    "withholdingOfWages": 0.45,
    "debtBondage": 0.40,
    "abusiveWorkingAndLivingConditions": 0.60,
    "excessiveOvertime": 0.70,
}
#: Invented chance that a site *not* in forced labour shows each indicator (one indicator is not forced labour).
INDICATOR_RATE_OTHER = {
    "abuseOfVulnerability": 0.03,
    "deception": 0.03,
    "withholdingOfWages": 0.03,
    "abusiveWorkingAndLivingConditions": 0.15,
    "excessiveOvertime": 0.30,
}

SHARE_UNANNOUNCED = 0.25
SHARE_BUYER_PAID = 0.40
#: Invented chance that an announced audit paid for by the supplier records an indicator that is present.
AUDIT_DETECTION_BASE = {
    "abuseOfVulnerability": 0.05,
    "deception": 0.06,
    "restrictionOfMovement": 0.15,
    "isolation": 0.10,
    "physicalAndSexualViolence": 0.04,
    "intimidationAndThreats": 0.08,
    "retentionOfIdentityDocuments": 0.30,
    "withholdingOfWages": 0.25,
    "debtBondage": 0.10,
    "abusiveWorkingAndLivingConditions": 0.45,
    "excessiveOvertime": 0.35,
}
#: Invented multipliers of that chance, and its cap.
UNANNOUNCED_FACTOR = 1.7
BUYER_PAID_FACTOR = 1.4
DETECTION_CAP = 0.95
#: Invented chance that an audit records an indicator that is not present.
AUDIT_FALSE_FINDING = 0.003

#: Worker reports: expected reports a year about one present indicator at a site of
#: REPORT_SCALE_WORKERS workers who can all report safely (invented). The rate grows with
#: the square root of the number of workers (many workers report the same problem).
REPORT_RATE = 0.50
REPORT_SCALE_WORKERS = 150
#: How much less often a migrant worker reports than a local worker (invented).
MIGRANT_REPORT_FACTOR = 0.25
#: Indicators that cut workers off from the channel when present (invented factor).
CUT_OFF = ("isolation", "restrictionOfMovement", "retentionOfIdentityDocuments")
CUT_OFF_FACTOR = 0.35
#: Expected reports a year, per indicator that is absent, at a site of REPORT_SCALE_WORKERS workers.
MISTAKEN_REPORT_RATE = 0.01

#: Migrant share at or above which a site counts as "high" in the datasheet.
HIGH_MIGRANT_SHARE = 0.40


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


def draw_sites(rng: np.random.Generator) -> pd.DataFrame:
    """One row per site, tier by tier."""
    rows = []
    for tier in TIERS:
        sector, n, visible_share, mean_workers, voice_share = TIER_SETUP[tier]
        visible = rng.random(n) < visible_share
        workers = np.maximum(5, np.round(rng.lognormal(np.log(mean_workers) - 0.18, 0.6, n))).astype(np.int64)
        migrant = np.round(rng.beta(2.0, 5.0, n), 2)
        voice = rng.random(n) < voice_share
        for i in range(n):
            rows.append(
                {
                    "tier": tier,
                    "sector": sector,
                    "visibleToBuyer": int(visible[i]),
                    "workers": int(workers[i]),
                    "migrantShare": float(migrant[i]),
                    "workerVoice": int(voice[i]),
                }
            )
    sites = pd.DataFrame(rows)
    sites.insert(0, "siteId", [f"S{i + 1:04d}" for i in range(len(sites))])
    return sites.astype({"tier": np.int64, "visibleToBuyer": np.int64, "workers": np.int64, "workerVoice": np.int64})


def forced_labour_probability(tier: int, migrant_share: float) -> float:
    """The invented chance that a site is in forced labour: higher in deeper tiers and with more migrants."""
    return float(min(0.9, FORCED_LABOUR_BASE[tier] * (0.5 + 2.0 * migrant_share)))


def draw_truth(rng: np.random.Generator, sites: pd.DataFrame) -> pd.DataFrame:
    """Each site's true status and indicators."""
    p = np.array([forced_labour_probability(t, m) for t, m in zip(sites["tier"], sites["migrantShare"])])
    forced = rng.random(len(sites)) < p
    present = {}
    for column in INDICATOR_COLUMNS:
        rate = np.where(forced, INDICATOR_RATE_FORCED[column], INDICATOR_RATE_OTHER.get(column, 0.0))
        present[column] = rng.random(len(sites)) < rate
    # A site in forced labour shows at least one zero-tolerance indicator; draw one if it has none.
    menace = np.column_stack([present[c] for c in ZERO_TOLERANCE])
    lacking = np.flatnonzero(forced & ~menace.any(axis=1))
    weights = np.array([INDICATOR_RATE_FORCED[c] for c in ZERO_TOLERANCE])
    picks = rng.choice(len(ZERO_TOLERANCE), size=len(lacking), p=weights / weights.sum())
    for site, pick in zip(lacking, picks):
        present[ZERO_TOLERANCE[pick]][site] = True
    # Outside forced labour, withheld wages stand for late pay: one indicator alone is not
    # forced labour, but an audit that records it still fails the site (a false alarm).
    truth = pd.DataFrame({"siteId": sites["siteId"]})
    for column in INDICATOR_COLUMNS:
        truth[column] = present[column].astype(np.int64)
    truth["forcedLabour"] = forced.astype(np.int64)
    return truth


def detection_probability(indicator: str, notice: str, payer: str) -> float:
    """The invented chance that one audit records an indicator that is present."""
    p = AUDIT_DETECTION_BASE[indicator]
    if notice == "unannounced":
        p *= UNANNOUNCED_FACTOR
    if payer == "buyer":
        p *= BUYER_PAID_FACTOR
    return min(DETECTION_CAP, p)


def draw_audits(rng: np.random.Generator, sites: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One audit a year of every site the buyer knows about."""
    known = sites.index[sites["visibleToBuyer"] == 1]
    rows = []
    for year in YEARS:
        for site in known:
            notice = NOTICES[int(rng.random() < SHARE_UNANNOUNCED)]
            payer = PAYERS[int(rng.random() < SHARE_BUYER_PAID)]
            row = {"siteId": sites.at[site, "siteId"], "year": year, "notice": notice, "payer": payer}
            draws = rng.random(len(INDICATOR_COLUMNS))
            for draw, column in zip(draws, INDICATOR_COLUMNS):
                if truth.at[site, column]:
                    row[column] = int(draw < detection_probability(column, notice, payer))
                else:
                    row[column] = int(draw < AUDIT_FALSE_FINDING)
            row["result"] = "fail" if any(row[c] for c in ZERO_TOLERANCE) else "pass"
            rows.append(row)
    audits = pd.DataFrame(rows)
    audits.insert(0, "auditId", [f"A{i + 1:04d}" for i in range(len(audits))])
    audits = audits.astype({"year": np.int64, **{c: np.int64 for c in INDICATOR_COLUMNS}})
    return audits[list(AUDIT_COLUMNS)]


def report_safety(migrant_share: float, cut_off: bool) -> float:
    """How freely a site's workers can use the channel, between 0 and 1 (invented)."""
    safety = (1.0 - migrant_share) + migrant_share * MIGRANT_REPORT_FACTOR
    return safety * (CUT_OFF_FACTOR if cut_off else 1.0)


def draw_reports(rng: np.random.Generator, sites: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Reports through the worker-voice channel, at the sites where it runs."""
    rows = []
    for year in YEARS:
        for site in sites.index[sites["workerVoice"] == 1]:
            migrant = float(sites.at[site, "migrantShare"])
            cut_off = bool(truth.loc[site, list(CUT_OFF)].any())
            safety = report_safety(migrant, cut_off)
            size = float(np.sqrt(sites.at[site, "workers"] / REPORT_SCALE_WORKERS))
            migrant_weight = migrant * MIGRANT_REPORT_FACTOR
            share_migrant = migrant_weight / ((1.0 - migrant) + migrant_weight)
            for column in INDICATOR_COLUMNS:
                rate = REPORT_RATE if truth.at[site, column] else MISTAKEN_REPORT_RATE
                for _ in range(int(rng.poisson(rate * size * safety))):
                    group = "migrant" if rng.random() < share_migrant else "local"
                    rows.append(
                        {"siteId": sites.at[site, "siteId"], "year": year, "indicator": column, "reporterGroup": group}
                    )
    reports = pd.DataFrame(rows, columns=["siteId", "year", "indicator", "reporterGroup"])
    reports.insert(0, "reportId", [f"R{i + 1:05d}" for i in range(len(reports))])
    return reports.astype({"year": np.int64})


# --------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------


def _site_flags(sites: pd.DataFrame, truth: pd.DataFrame, audits: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Per site: tier, visibility, truth, any failed audit, latest result, any zero-tolerance report."""
    flags = sites.set_index("siteId")[["tier", "visibleToBuyer", "workerVoice", "migrantShare"]].copy()
    flags["forcedLabour"] = truth.set_index("siteId")["forcedLabour"]
    failed = audits.groupby("siteId")["result"].agg(lambda r: int((r == "fail").any()))
    flags["everFailed"] = failed.reindex(flags.index).fillna(0).astype(int)
    latest = audits.sort_values("year").groupby("siteId")["result"].last()
    flags["latestResult"] = latest.reindex(flags.index)
    serious = reports[reports["indicator"].isin(ZERO_TOLERANCE)]["siteId"].unique()
    flags["reported"] = flags.index.isin(serious).astype(int)
    return flags


def _figures(sites, truth, audits, reports) -> dict[str, str]:
    flags = _site_flags(sites, truth, audits, reports)
    forced = truth.set_index("siteId")["forcedLabour"]

    tier_rows = []
    for tier in TIERS:
        in_tier = flags[flags["tier"] == tier]
        fl = in_tier[in_tier["forcedLabour"] == 1]
        tier_rows.append(
            [
                str(tier),
                TIER_SETUP[tier][0].replace("_", " "),
                fmt_int(len(in_tier)),
                fmt_int(in_tier["visibleToBuyer"].sum()),
                fmt_int(int(sites.loc[sites["tier"] == tier, "workers"].sum())),
                fmt_int(len(fl)),
                fmt_pct(len(fl) / len(in_tier)),
                fmt_int(fl["visibleToBuyer"].sum()),
            ]
        )

    audited = flags[flags["visibleToBuyer"] == 1]
    at_forced = audits[audits["siteId"].map(forced) == 1]
    at_other = audits[audits["siteId"].map(forced) == 0]
    type_rows = []
    for notice in NOTICES:
        for payer in PAYERS:
            part = at_forced[(at_forced["notice"] == notice) & (at_forced["payer"] == payer)]
            other = at_other[(at_other["notice"] == notice) & (at_other["payer"] == payer)]
            type_rows.append(
                [
                    notice,
                    payer,
                    fmt_int(len(part)),
                    fmt_int((part["result"] == "fail").sum()),
                    fmt_pct((part["result"] == "fail").mean() if len(part) else float("nan")),
                    fmt_int(len(other)),
                    fmt_int((other["result"] == "fail").sum()),
                ]
            )

    truth_by_site = truth.set_index("siteId")
    audit_site = audits["siteId"]
    indicator_rows = []
    for column, official in INDICATORS.items():
        present_sites = truth_by_site.index[truth_by_site[column] == 1]
        is_present = audit_site.isin(present_sites)
        indicator_rows.append(
            [
                official,
                fmt_int(len(present_sites)),
                fmt_int(int(is_present.sum())),
                fmt_int(int(audits.loc[is_present, column].sum())),
                fmt_int(int(audits.loc[~is_present, column].sum())),
                fmt_int(int((reports["indicator"] == column).sum())),
            ]
        )

    voice = flags[flags["workerVoice"] == 1]
    voice_rows = []
    for label, part in (
        ("below", voice[voice["migrantShare"] < HIGH_MIGRANT_SHARE]),
        ("at or above", voice[voice["migrantShare"] >= HIGH_MIGRANT_SHARE]),
    ):
        fl = part[part["forcedLabour"] == 1]
        voice_rows.append(
            [
                f"{label} {HIGH_MIGRANT_SHARE:.2f}",
                fmt_int(len(part)),
                fmt_int(len(fl)),
                fmt_int(fl["reported"].sum()),
                fmt_pct(fl["reported"].mean() if len(fl) else float("nan")),
            ]
        )

    passing = audited["latestResult"] == "pass"
    channel_sites = sites[sites["workerVoice"] == 1]
    migrant_workers = (channel_sites["workers"] * channel_sites["migrantShare"]).sum() / channel_sites["workers"].sum()
    by_site = truth.set_index("siteId")
    mistaken = sum(by_site.at[site, column] == 0 for site, column in zip(reports["siteId"], reports["indicator"]))
    return {
        "n_mistaken": fmt_int(mistaken),
        "share_mistaken": fmt_pct(mistaken / len(reports) if len(reports) else float("nan")),
        "migrant_workers": fmt_pct(migrant_workers),
        "migrant_reports": fmt_pct((reports["reporterGroup"] == "migrant").mean()),
        "buyer": BUYER_NAME,
        "first_year": str(YEARS[0]),
        "last_year": str(YEARS[-1]),
        "n_years": str(len(YEARS)),
        "n_sites": fmt_int(len(sites)),
        "n_visible": fmt_int(int(sites["visibleToBuyer"].sum())),
        "n_audits": fmt_int(len(audits)),
        "n_reports": fmt_int(len(reports)),
        "n_voice_sites": fmt_int(int(sites["workerVoice"].sum())),
        "n_forced": fmt_int(int(forced.sum())),
        "share_forced": fmt_pct(forced.mean()),
        "headline_pass": fmt_pct(passing.mean()),
        "audited_free": fmt_pct(1 - audited["forcedLabour"].mean()),
        "all_free": fmt_pct(1 - flags["forcedLabour"].mean()),
        "forced_passing_latest": fmt_int(int((passing & (audited["forcedLabour"] == 1)).sum())),
        "forced_audited": fmt_int(int(audited["forcedLabour"].sum())),
        "tier_table": markdown_table(
            [
                "Tier",
                "Sector",
                "Sites",
                "Visible to the buyer",
                "Workers",
                "Sites in forced labour",
                "Share in forced labour",
                "Of them visible",
            ],
            tier_rows,
        ),
        "type_table": markdown_table(
            [
                "Notice",
                "Paid by",
                "Audits at sites in forced labour",
                "Of them failed",
                "Detection rate",
                "Audits at other sites",
                "Of them failed (false alarms)",
            ],
            type_rows,
        ),
        "indicator_table": markdown_table(
            [
                "Indicator",
                "Sites where present",
                "Audits where present",
                "Recorded when present",
                "Recorded when absent",
                "Worker reports",
            ],
            indicator_rows,
        ),
        "voice_table": markdown_table(
            [
                "Migrant share",
                "Sites with the channel",
                "Of them in forced labour",
                "Reported (zero-tolerance indicator)",
                "Share reported",
            ],
            voice_rows,
        ),
        "unannounced": fmt_pct(SHARE_UNANNOUNCED, 0),
        "buyer_paid": fmt_pct(SHARE_BUYER_PAID, 0),
        "unannounced_factor": fmt_num(UNANNOUNCED_FACTOR),
        "buyer_paid_factor": fmt_num(BUYER_PAID_FACTOR),
        "cap": fmt_pct(DETECTION_CAP, 0),
        "false_finding": fmt_pct(AUDIT_FALSE_FINDING),
        "base_rates": ", ".join(f"{INDICATORS[c].lower()} {fmt_pct(p, 0)}" for c, p in AUDIT_DETECTION_BASE.items()),
        "report_rate": fmt_num(REPORT_RATE, 2),
        "report_scale": str(REPORT_SCALE_WORKERS),
        "migrant_factor": fmt_num(MIGRANT_REPORT_FACTOR, 2),
        "cut_off": ", ".join(INDICATORS[c].lower() for c in CUT_OFF),
        "cut_off_factor": fmt_num(CUT_OFF_FACTOR, 2),
        "mistaken_rate": fmt_num(MISTAKEN_REPORT_RATE, 2),
        "zero_tolerance": ", ".join(INDICATORS[c].lower() for c in ZERO_TOLERANCE),
        "fl_base": ", ".join(f"tier {t} {fmt_pct(p, 0)}" for t, p in FORCED_LABOUR_BASE.items()),
    }


def resources() -> list[dict]:
    """Data Package resource descriptors for this dataset's CSV files."""
    site_id = dict(required=True, pattern=r"S\d{4}")
    flag = dict(required=True, enum=[0, 1])
    site_fields = [
        schema_field("siteId", "string", "Supplier site identifier.", unique=True, **site_id),
        schema_field("tier", "integer", "Supply-chain tier (1 = direct supplier).", required=True, enum=list(TIERS)),
        schema_field(
            "sector", "string", "What the site does.", required=True, enum=[setup[0] for setup in TIER_SETUP.values()]
        ),
        schema_field("visibleToBuyer", "integer", "1 if the buyer knows the site (and audits it).", **flag),
        schema_field("workers", "integer", "Number of workers.", required=True, minimum=1),
        schema_field(
            "migrantShare", "number", "Share of the workers who are migrants.", required=True, minimum=0, maximum=1
        ),
        schema_field("workerVoice", "integer", "1 if the worker-voice channel runs at the site.", **flag),
    ]
    indicator_fields = [
        schema_field(column, "integer", f"ILO indicator: {official} (1 = present).", **flag)
        for column, official in INDICATORS.items()
    ]
    truth_fields = [
        schema_field("siteId", "string", "Supplier site identifier.", unique=True, **site_id),
        *indicator_fields,
        schema_field("forcedLabour", "integer", "True status: 1 if the site is in forced labour.", **flag),
    ]
    audit_fields = [
        schema_field("auditId", "string", "Audit identifier.", required=True, unique=True, pattern=r"A\d{4}"),
        schema_field("siteId", "string", "The audited site.", **site_id),
        schema_field("year", "integer", "Year of the audit.", required=True, enum=list(YEARS)),
        schema_field("notice", "string", "Whether the site knew the date.", required=True, enum=list(NOTICES)),
        schema_field("payer", "string", "Who paid for the audit.", required=True, enum=list(PAYERS)),
        *[
            schema_field(column, "integer", f"Audit recorded: {official} (1 = recorded).", **flag)
            for column, official in INDICATORS.items()
        ],
        schema_field(
            "result", "string", "fail if a zero-tolerance indicator was recorded.", required=True, enum=["pass", "fail"]
        ),
    ]
    report_fields = [
        schema_field("reportId", "string", "Report identifier.", required=True, unique=True, pattern=r"R\d{5}"),
        schema_field("siteId", "string", "The site the report is about.", **site_id),
        schema_field("year", "integer", "Year of the report.", required=True, enum=list(YEARS)),
        schema_field(
            "indicator", "string", "The indicator the report describes.", required=True, enum=list(INDICATOR_COLUMNS)
        ),
        schema_field("reporterGroup", "string", "local or migrant worker.", required=True, enum=["local", "migrant"]),
    ]
    return [
        csv_resource(
            SITES_FILE,
            f"{BUYER_NAME} (fictional): supplier sites",
            "Supplier sites in three tiers, their size, migrant share and visibility.",
            site_fields,
            primary_key=["siteId"],
        ),
        csv_resource(
            TRUTH_FILE,
            f"{BUYER_NAME} (fictional): true conditions",
            "The ILO's eleven indicators of forced labour and the true status of every site.",
            truth_fields,
            primary_key=["siteId"],
        ),
        csv_resource(
            AUDITS_FILE,
            f"{BUYER_NAME} (fictional): social audits",
            "One audit a year of every known site: notice, payer, findings and result.",
            audit_fields,
            primary_key=["auditId"],
        ),
        csv_resource(
            REPORTS_FILE,
            f"{BUYER_NAME} (fictional): worker reports",
            "Reports made through the worker-voice channel.",
            report_fields,
            primary_key=["reportId"],
        ),
    ]


def generate(seed: int) -> GeneratedDataset:
    """Draw the sites, their truth, the audits and the reports, and build the files and datasheet."""
    rng = rng_for(seed, NAME)
    sites = draw_sites(rng)
    truth = draw_truth(rng, sites)
    audits = draw_audits(rng, sites, truth)
    reports = draw_reports(rng, sites, truth)
    tables = {
        SITES_FILE: sites[list(SITE_COLUMNS)],
        TRUTH_FILE: truth[list(TRUTH_COLUMNS)],
        AUDITS_FILE: audits,
        REPORTS_FILE: reports[list(REPORT_COLUMNS)],
    }
    files = {name: csv_text(table, float_decimals={"migrantShare": 2}) for name, table in tables.items()}
    files[DATASHEET_FILE] = render_datasheet(
        _figures(sites, truth, audits, reports), name=NAME, module=__name__, seed=seed
    )
    return GeneratedDataset(name=NAME, seed=seed, files=files, tables=tables)

"""Measuring what social audits and worker reports detect, against a known truth.

The supply-chain lab compares a buyer's view of its suppliers (its audits,
and the reports of a worker-voice channel) with the true conditions of every
site, which only synthetic data can give. The tables this module builds:

* :func:`detection_by_type`: for each kind of audit (announced or not, paid
  for by the supplier or by the buyer), how many audits took place at sites
  in forced labour and what share of them failed (the *detection rate*), and
  how many audits at other sites failed (*false alarms*).
* :func:`compliance_claim`: the buyer's headline, the share of audited sites
  whose latest audit passed, beside the true share free of forced labour
  among the audited sites and among all sites.
* :func:`by_tier`: per tier, the sites, how many the buyer sees, how many are
  in forced labour and how many of those it sees and detects.
* :func:`indicator_detection`: per ILO indicator, how often an audit records
  it when it is present.
* :func:`channel_detection`: per site, whether audits and the worker-voice
  channel flagged it; :func:`who_reports` compares who reports with who works.

A site is *detected by audits* when at least one of its audits failed, and
*reported* when the channel received at least one report of a zero-tolerance
indicator about it. Rates with a zero denominator are ``nan``.

Inputs are the dataset's tables as :func:`htcourse.data.load` returns them
(``supply_sites``, ``supply_truth``, ``supply_audits``, ``supply_reports``).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from htcourse.checks import check_categories, check_numbers
from htcourse.schema import INDICATORS, NOTICES, PAYERS, REPORTER_GROUPS, RESULTS, TIERS, ZERO_TOLERANCE

__all__ = [
    "INDICATORS",
    "ZERO_TOLERANCE",
    "by_tier",
    "channel_detection",
    "compliance_claim",
    "detection_by_type",
    "detection_chart",
    "indicator_detection",
    "site_view",
    "tier_chart",
    "who_reports",
]


class SupplyChainDataError(ValueError):
    """A table is missing a column the analysis needs."""


def _need(frame: pd.DataFrame, columns, name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SupplyChainDataError(
            f"{name} has no column {missing[0]!r}: pass the {name} table of the supply_chain dataset"
        )


def _rate(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else float("nan")


def _status(truth: pd.DataFrame) -> pd.Series:
    _need(truth, ["siteId", "forcedLabour"], "truth")
    check_categories(truth["forcedLabour"], (0, 1), "forcedLabour")
    return truth.set_index("siteId")["forcedLabour"].astype(int)


def _check_audits(audits: pd.DataFrame) -> None:
    """Refuse a result, notice or payer the analysis does not know: a misspelt "Fail" would count as a pass."""
    for column, allowed in (("result", RESULTS), ("notice", NOTICES), ("payer", PAYERS)):
        if column in audits.columns:
            check_categories(audits[column], allowed, column)


def detection_by_type(audits: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per audit type (notice x payer): detection rate at sites in forced labour, false alarms elsewhere."""
    _need(audits, ["siteId", "notice", "payer", "result"], "audits")
    _check_audits(audits)
    status = _status(truth)
    forced = audits["siteId"].map(status)
    if forced.isna().any():
        raise SupplyChainDataError("audits name a site that is not in the truth table")
    failed = audits["result"] == "fail"
    rows = []
    for notice in NOTICES:
        for payer in PAYERS:
            kind = (audits["notice"] == notice) & (audits["payer"] == payer)
            at_forced = kind & (forced == 1)
            at_other = kind & (forced == 0)
            rows.append(
                {
                    "notice": notice,
                    "payer": payer,
                    "audit_type": f"{notice}, paid by {payer}",
                    "audits_at_forced": int(at_forced.sum()),
                    "detected": int((at_forced & failed).sum()),
                    "detection_rate": _rate((at_forced & failed).sum(), at_forced.sum()),
                    "audits_at_other": int(at_other.sum()),
                    "false_alarms": int((at_other & failed).sum()),
                    "false_alarm_rate": _rate((at_other & failed).sum(), at_other.sum()),
                }
            )
    return pd.DataFrame(rows)


def site_view(
    sites: pd.DataFrame, truth: pd.DataFrame, audits: pd.DataFrame, reports: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per site: tier, visibility, channel, truth, audit outcomes and (if given) reports."""
    _need(sites, ["siteId", "tier", "visibleToBuyer", "workerVoice", "workers", "migrantShare"], "sites")
    _need(audits, ["siteId", "year", "result"], "audits")
    _check_audits(audits)
    check_categories(sites["tier"], TIERS, "tier")
    for column in ("visibleToBuyer", "workerVoice"):
        check_categories(sites[column], (0, 1), column)
    check_numbers(sites["workers"], "workers", minimum=0)
    check_numbers(sites["migrantShare"], "migrantShare", minimum=0)
    view = sites.set_index("siteId")[["tier", "visibleToBuyer", "workerVoice", "workers", "migrantShare"]].copy()
    view["forcedLabour"] = _status(truth).reindex(view.index)
    if view["forcedLabour"].isna().any():
        raise SupplyChainDataError("a site has no row in the truth table")
    view["forcedLabour"] = view["forcedLabour"].astype(int)
    counted = audits.groupby("siteId")["result"]
    view["audits"] = counted.size().reindex(view.index).fillna(0).astype(int)
    view["failedAudits"] = counted.agg(lambda r: int((r == "fail").sum())).reindex(view.index).fillna(0).astype(int)
    latest = audits.sort_values(["siteId", "year"]).groupby("siteId")["result"].last()
    view["latestResult"] = latest.reindex(view.index)  # NaN: never audited
    view["detectedByAudit"] = (view["failedAudits"] > 0).astype(int)
    if reports is not None:
        _need(reports, ["siteId", "indicator"], "reports")
        check_categories(reports["indicator"], tuple(INDICATORS), "indicator")
        serious = reports[reports["indicator"].isin(ZERO_TOLERANCE)]
        view["seriousReports"] = serious.groupby("siteId").size().reindex(view.index).fillna(0).astype(int)
        view["reported"] = (view["seriousReports"] > 0).astype(int)
    return view


def compliance_claim(sites: pd.DataFrame, truth: pd.DataFrame, audits: pd.DataFrame) -> dict:
    """The headline "share passing audit" and what the truth says.

    Returns ``share_passing`` (audited sites whose latest audit passed),
    ``share_free_audited`` (audited sites not in forced labour),
    ``share_free_all`` (all sites not in forced labour), ``forced_passing``
    (audited sites in forced labour whose latest audit passed) and
    ``forced_audited``.
    """
    view = site_view(sites, truth, audits)
    audited = view[view["audits"] > 0]
    passing = audited["latestResult"] == "pass"
    return {
        "share_passing": _rate(passing.sum(), len(audited)),
        "share_free_audited": _rate((audited["forcedLabour"] == 0).sum(), len(audited)),
        "share_free_all": _rate((view["forcedLabour"] == 0).sum(), len(view)),
        "forced_passing": int((passing & (audited["forcedLabour"] == 1)).sum()),
        "forced_audited": int(audited["forcedLabour"].sum()),
    }


def by_tier(sites: pd.DataFrame, truth: pd.DataFrame, audits: pd.DataFrame) -> pd.DataFrame:
    """Per tier: sites, visible sites, sites in forced labour, and how many of those the buyer sees and detects."""
    view = site_view(sites, truth, audits)
    rows = []
    for tier in TIERS:
        part = view[view["tier"] == tier]
        forced = part[part["forcedLabour"] == 1]
        rows.append(
            {
                "tier": tier,
                "sites": len(part),
                "visible": int(part["visibleToBuyer"].sum()),
                "forced": len(forced),
                "prevalence": _rate(len(forced), len(part)),
                "forced_visible": int(forced["visibleToBuyer"].sum()),
                "forced_detected": int(forced["detectedByAudit"].sum()),
            }
        )
    return pd.DataFrame(rows)


def indicator_detection(audits: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per ILO indicator: audits at sites where it is present, how many recorded it, and the share."""
    truth_by_site = truth.set_index("siteId")
    rows = []
    for column, official in INDICATORS.items():
        _need(audits, [column], "audits")
        present = audits["siteId"].map(truth_by_site[column]) == 1
        recorded = int(audits.loc[present, column].sum())
        rows.append(
            {
                "indicator": official,
                "column": column,
                "zero_tolerance": column in ZERO_TOLERANCE,
                "audits_where_present": int(present.sum()),
                "recorded": recorded,
                "recorded_share": _rate(recorded, present.sum()),
            }
        )
    return pd.DataFrame(rows)


def channel_detection(
    sites: pd.DataFrame, truth: pd.DataFrame, audits: pd.DataFrame, reports: pd.DataFrame
) -> pd.DataFrame:
    """Sites in forced labour, grouped by what found them: audits, the channel, both or neither."""
    view = site_view(sites, truth, audits, reports)
    forced = view[view["forcedLabour"] == 1]
    found_by = pd.Series("neither", index=forced.index)
    found_by[(forced["detectedByAudit"] == 1) & (forced["reported"] == 0)] = "audits only"
    found_by[(forced["detectedByAudit"] == 0) & (forced["reported"] == 1)] = "channel only"
    found_by[(forced["detectedByAudit"] == 1) & (forced["reported"] == 1)] = "both"
    table = (
        pd.DataFrame({"found_by": found_by, "visible": forced["visibleToBuyer"].map({1: "visible", 0: "not visible"})})
        .value_counts()
        .rename("sites")
        .reset_index()
    )
    order = {"audits only": 0, "both": 1, "channel only": 2, "neither": 3}
    return table.sort_values(
        ["found_by", "visible"], key=lambda s: s.map(order) if s.name == "found_by" else s, ignore_index=True
    )


def who_reports(sites: pd.DataFrame, reports: pd.DataFrame) -> dict:
    """Whether migrant workers report through the channel as often as local workers, compared like with like.

    Returns the migrant share of the workers at the channel's sites (``workerVoice`` 1, each site weighted by its
    ``workers``) and the migrant share of the reports; their difference, ``raw_gap``, mixes two things: how often
    migrants report, and *which sites* report most (a site with many reports and few migrants lowers the migrant
    share of the reports even if everyone there reports alike). So the comparison is also made within sites:
    ``migrant_share_expected`` is the migrant share the reports would have if, at every site, migrants reported as
    often as local workers (each report weighted by its own site's ``migrantShare``, an indirect standardisation by
    site), and ``within_site_gap`` = ``migrant_share_expected`` - ``migrant_share_of_reports``, a weighted mean of
    the gaps inside each site. Positive gaps mean that migrants report less than their share.

    Raises :class:`SupplyChainDataError` for a missing column, an unknown ``reporterGroup`` or ``workerVoice``, a
    bad number, or a report from a site that is not a channel site in ``sites``.
    """
    _need(reports, ["siteId", "reporterGroup"], "reports")
    check_categories(reports["reporterGroup"], REPORTER_GROUPS, "reporterGroup")
    _need(sites, ["siteId", "workerVoice", "workers", "migrantShare"], "sites")
    check_categories(sites["workerVoice"], (0, 1), "workerVoice")
    check_numbers(sites["workers"], "workers", minimum=0)
    check_numbers(sites["migrantShare"], "migrantShare", minimum=0)
    channel = sites[sites["workerVoice"] == 1]
    share_at_site = channel.set_index("siteId")["migrantShare"]
    outside = sorted(set(reports["siteId"]) - set(share_at_site.index))
    if outside:
        raise SupplyChainDataError(
            f"reports name site(s) that are not channel sites (workerVoice 1) in the sites table: {outside[:3]}"
        )
    of_workers = _rate((channel["workers"] * channel["migrantShare"]).sum(), channel["workers"].sum())
    of_reports = _rate((reports["reporterGroup"] == "migrant").sum(), len(reports))
    expected = _rate(reports["siteId"].map(share_at_site).sum(), len(reports))
    return {
        "migrant_share_of_workers": of_workers,
        "migrant_share_of_reports": of_reports,
        "migrant_share_expected": expected,
        "raw_gap": of_workers - of_reports,
        "within_site_gap": expected - of_reports,
        "reports": len(reports),
    }


# --------------------------------------------------------------------------
# Charts (small aggregated tables only)
# --------------------------------------------------------------------------


def detection_chart(table: pd.DataFrame) -> alt.Chart:
    """Horizontal bars: detection rate by audit type, from :func:`detection_by_type`."""
    data = table[["audit_type", "detection_rate", "audits_at_forced", "detected"]]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "detection_rate:Q",
                title="Share of audits at sites in forced labour that failed",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("audit_type:N", title="Audit type", sort=list(data["audit_type"])),
            tooltip=["audit_type", "audits_at_forced", "detected", alt.Tooltip("detection_rate:Q", format=".0%")],
        )
        .properties(width=420, height=160)
    )


def tier_chart(table: pd.DataFrame) -> alt.Chart:
    """Grouped bars: sites in forced labour per tier, all of them, those the buyer sees and those audits detect."""
    long = table[["tier", "forced", "forced_visible", "forced_detected"]].melt(
        id_vars="tier", var_name="measure", value_name="count"
    )
    labels = {
        "forced": "In forced labour",
        "forced_visible": "Visible to the buyer",
        "forced_detected": "Detected by an audit",
    }
    long["measure"] = long["measure"].map(labels)
    long["tier"] = "Tier " + long["tier"].astype(str)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("tier:N", title=None),
            xOffset=alt.XOffset("measure:N", sort=list(labels.values())),
            y=alt.Y("count:Q", title="Sites in forced labour"),
            color=alt.Color("measure:N", title=None, sort=list(labels.values())),
            tooltip=["tier", "measure", "count"],
        )
        .properties(width=420, height=240)
    )

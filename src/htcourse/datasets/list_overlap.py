"""Synthetic list overlap for the counting lab (multiple systems estimation).

A hidden population of known size is drawn; four organisations' lists
(``police``, ``ngo``, ``health``, ``hotline``) each capture some of its
people. Only the people on at least one list are written out, one row each,
with their capture history (one 0/1 column per list) and two covariates.

Two scenarios:

``dependent``
    Three sectors with different capture probabilities (heterogeneity), a
    region that changes the police's reach, and referrals: a person on the
    hotline list is often referred to the NGO, so being on one list raises
    the chance of being on the other (positive dependence).
``independent``
    Every person has the same capture probability on a given list, and the
    lists are drawn independently: the textbook assumptions hold.

The true totals go to ``list_overlap_truth.csv``; the generator also returns
the whole hidden population (observed or not) in ``hidden["population"]`` so
tests can check the files against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from htcourse import schema

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_pct, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "list_overlap"
SUMMARY = "Capture histories on four lists from a hidden population of known size"
DEPENDENT_FILE = "list_overlap_dependent.csv"
INDEPENDENT_FILE = "list_overlap_independent.csv"
TRUTH_FILE = "list_overlap_truth.csv"
DATASHEET_FILE = "list_overlap.md"
CSV_FILES = (DEPENDENT_FILE, INDEPENDENT_FILE, TRUTH_FILE)

LISTS = schema.OVERLAP_LISTS
SECTORS = ("sexual_exploitation", "forced_labour", "domestic_work")
REGIONS = ("north", "south")
OBSERVED_COLUMNS = schema.LIST_OVERLAP_COLUMNS
TRUTH_COLUMNS = schema.LIST_OVERLAP_TRUTH_COLUMNS
ALL_SECTORS = "all"


@dataclass(frozen=True)
class Referral:
    """People on ``from_list`` join ``to_list`` with extra ``probability``."""

    from_list: str
    to_list: str
    probability: float


@dataclass(frozen=True)
class Scenario:
    """How one hidden population is drawn and captured."""

    name: str
    filename: str
    id_prefix: str
    population_size: int
    sector_shares: tuple[float, ...]
    region_shares: tuple[float, ...]
    #: list -> capture probability for each sector (in SECTORS order).
    capture_probability: dict[str, tuple[float, ...]]
    #: list -> multiplier of the capture probability for each region.
    region_factor: dict[str, tuple[float, ...]]
    referral: Referral | None


DEPENDENT = Scenario(
    name="dependent",
    filename=DEPENDENT_FILE,
    id_prefix="D",
    population_size=3000,
    sector_shares=(0.40, 0.45, 0.15),
    region_shares=(0.55, 0.45),
    capture_probability={
        "police": (0.25, 0.10, 0.04),
        "ngo": (0.20, 0.15, 0.10),
        "health": (0.10, 0.06, 0.05),
        "hotline": (0.12, 0.08, 0.10),
    },
    region_factor={
        "police": (1.0, 0.6),
        "ngo": (1.0, 1.0),
        "health": (1.0, 1.0),
        "hotline": (1.0, 1.0),
    },
    referral=Referral(from_list="hotline", to_list="ngo", probability=0.50),
)

INDEPENDENT = Scenario(
    name="independent",
    filename=INDEPENDENT_FILE,
    id_prefix="I",
    population_size=2500,
    sector_shares=(0.40, 0.45, 0.15),
    region_shares=(0.55, 0.45),
    capture_probability={
        "police": (0.30, 0.30, 0.30),
        "ngo": (0.25, 0.25, 0.25),
        "health": (0.20, 0.20, 0.20),
        "hotline": (0.15, 0.15, 0.15),
    },
    region_factor={name: (1.0, 1.0) for name in LISTS},
    referral=None,
)

SCENARIOS = (DEPENDENT, INDEPENDENT)

#: The pair of lists the datasheet suggests for a first two-list estimate.
SUGGESTED_PAIR = ("police", "ngo")


def draw_population(rng: np.random.Generator, scenario: Scenario) -> pd.DataFrame:
    """The hidden population: one row per person, observed or not.

    Columns: ``sector``, ``region``, one 0/1 column per list, ``observed``
    (on at least one list) and ``personId`` (empty for people on no list).
    """
    n = scenario.population_size
    sector_index = rng.choice(len(SECTORS), size=n, p=scenario.sector_shares)
    region_index = rng.choice(len(REGIONS), size=n, p=scenario.region_shares)
    captured = {}
    for list_name in LISTS:
        by_sector = np.asarray(scenario.capture_probability[list_name])[sector_index]
        by_region = np.asarray(scenario.region_factor[list_name])[region_index]
        captured[list_name] = rng.random(n) < by_sector * by_region
    if scenario.referral is not None:
        referral = scenario.referral
        referred = captured[referral.from_list] & (rng.random(n) < referral.probability)
        captured[referral.to_list] = captured[referral.to_list] | referred

    population = pd.DataFrame(
        {
            "sector": np.asarray(SECTORS, dtype=object)[sector_index],
            "region": np.asarray(REGIONS, dtype=object)[region_index],
            **{name: captured[name].astype(np.int64) for name in LISTS},
        }
    )
    observed = population[list(LISTS)].sum(axis=1) > 0
    population["observed"] = observed.astype(np.int64)
    # Number the observed people in random order, so the id says nothing
    # about sector, region or capture history.
    person_ids = np.full(n, "", dtype=object)
    observed_positions = np.flatnonzero(observed.to_numpy())
    order = rng.permutation(len(observed_positions))
    width = len(str(n))
    for number, position in enumerate(observed_positions[order], start=1):
        person_ids[position] = f"{scenario.id_prefix}{number:0{width}d}"
    population["personId"] = person_ids
    return population


def observed_table(population: pd.DataFrame) -> pd.DataFrame:
    """The rows a researcher sees: observed people only, sorted by personId."""
    seen = population[population["observed"] == 1]
    return seen.sort_values("personId")[list(OBSERVED_COLUMNS)].reset_index(drop=True)


def truth_table(populations: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """True and observed totals per scenario, overall and per sector."""
    rows = []
    for scenario in SCENARIOS:
        population = populations[scenario.name]
        rows.append([scenario.name, ALL_SECTORS, len(population), int(population["observed"].sum())])
        for sector in SECTORS:
            in_sector = population[population["sector"] == sector]
            rows.append([scenario.name, sector, len(in_sector), int(in_sector["observed"].sum())])
    truth = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))
    return truth.astype({"trueTotal": np.int64, "observedTotal": np.int64})


# --------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------


def _figures(observed: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict[str, str]:
    figures: dict[str, str] = {}
    list_rows = []
    for scenario in SCENARIOS:
        table = observed[scenario.name]
        total = truth[(truth["scenario"] == scenario.name) & (truth["sector"] == ALL_SECTORS)]
        true_total = int(total["trueTotal"].iloc[0])
        list_rows.append(
            [f"`{scenario.name}`", fmt_int(true_total), fmt_int(len(table)), fmt_pct(len(table) / true_total)]
            + [fmt_int(table[name].sum()) for name in LISTS]
        )
    figures["list_table"] = markdown_table(
        ["Scenario", "True total", "Observed (rows)", "Share observed"] + [f"On `{n}`" for n in LISTS],
        list_rows,
    )
    figures["truth_table"] = markdown_table(
        ["Scenario", "Sector", "True total", "Observed"],
        [
            [f"`{r.scenario}`", f"`{r.sector}`", fmt_int(r.trueTotal), fmt_int(r.observedTotal)]
            for r in truth.itertuples()
        ],
    )
    figures["dependent_design_table"] = markdown_table(
        ["List"] + [f"`{s}`" for s in SECTORS] + [f"factor in `{r}`" for r in REGIONS],
        [
            [f"`{name}`"]
            + [f"{p:.2f}" for p in DEPENDENT.capture_probability[name]]
            + [f"{f:.1f}" for f in DEPENDENT.region_factor[name]]
            for name in LISTS
        ],
    )
    referral = DEPENDENT.referral
    figures["referral_from"] = referral.from_list
    figures["referral_to"] = referral.to_list
    figures["referral_probability"] = fmt_pct(referral.probability, 0)
    figures["independent_probabilities"] = ", ".join(
        f"`{name}` {INDEPENDENT.capture_probability[name][0]:.2f}" for name in LISTS
    )
    figures["dependent_size"] = fmt_int(DEPENDENT.population_size)
    figures["independent_size"] = fmt_int(INDEPENDENT.population_size)
    figures["sector_shares"] = ", ".join(
        f"`{s}` {fmt_pct(p, 0)}" for s, p in zip(SECTORS, DEPENDENT.sector_shares, strict=True)
    )
    figures["region_shares"] = ", ".join(
        f"`{r}` {fmt_pct(p, 0)}" for r, p in zip(REGIONS, DEPENDENT.region_shares, strict=True)
    )
    figures["pair_a"], figures["pair_b"] = SUGGESTED_PAIR
    return figures


# --------------------------------------------------------------------------
# Table Schemas for datapackage.json
# --------------------------------------------------------------------------


def _observed_fields(scenario: Scenario) -> list[dict]:
    width = len(str(scenario.population_size))
    return [
        schema_field(
            "personId",
            "string",
            "Random identifier of an observed person.",
            required=True,
            unique=True,
            pattern=rf"{scenario.id_prefix}\d{{{width}}}",
        ),
        *[
            schema_field(name, "integer", f"1 if the person is on the {name} list, else 0.", required=True, enum=[0, 1])
            for name in LISTS
        ],
        schema_field("sector", "string", "Sector of exploitation.", required=True, enum=list(SECTORS)),
        schema_field("region", "string", "Region.", required=True, enum=list(REGIONS)),
    ]


def resources() -> list[dict]:
    """Data Package resource descriptors for this dataset's CSV files."""
    truth_fields = [
        schema_field("scenario", "string", "Scenario.", required=True, enum=[s.name for s in SCENARIOS]),
        schema_field(
            "sector",
            "string",
            "Sector, or 'all' for the whole population.",
            required=True,
            enum=[ALL_SECTORS, *SECTORS],
        ),
        schema_field("trueTotal", "integer", "True size of the hidden population.", required=True, minimum=0),
        schema_field("observedTotal", "integer", "People on at least one list.", required=True, minimum=0),
    ]
    return [
        csv_resource(
            DEPENDENT_FILE,
            "List overlap: dependent, heterogeneous lists",
            "Capture histories of the observed people; lists are positively "
            "dependent and capture probabilities differ by sector and region.",
            _observed_fields(DEPENDENT),
            primary_key=["personId"],
        ),
        csv_resource(
            INDEPENDENT_FILE,
            "List overlap: independent, homogeneous lists",
            "Capture histories of the observed people; lists are independent and everyone is equally catchable.",
            _observed_fields(INDEPENDENT),
            primary_key=["personId"],
        ),
        csv_resource(
            TRUTH_FILE,
            "List overlap: true totals",
            "True population size per scenario and sector (the answer key).",
            truth_fields,
            primary_key=["scenario", "sector"],
        ),
    ]


def generate(seed: int) -> GeneratedDataset:
    """Draw both hidden populations and build the files."""
    rng = rng_for(seed, NAME)
    populations = {scenario.name: draw_population(rng, scenario) for scenario in SCENARIOS}
    observed = {name: observed_table(population) for name, population in populations.items()}
    truth = truth_table(populations)

    tables = {scenario.filename: observed[scenario.name] for scenario in SCENARIOS}
    tables[TRUTH_FILE] = truth
    files = {name: csv_text(table) for name, table in tables.items()}
    files[DATASHEET_FILE] = render_datasheet(_figures(observed, truth), name=NAME, module=__name__, seed=seed)
    return GeneratedDataset(name=NAME, seed=seed, files=files, tables=tables, hidden={"population": populations})

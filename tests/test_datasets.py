"""Tests of the synthetic datasets, their datasheets, loader and estimators.

The datasets are generated once per module, with the default seed (compared
byte for byte with the committed ``datasets/`` folder) and with another seed
(which must keep every documented property). Figures in the datasheets are
parsed back out of their Markdown tables and recomputed here from the CSV
files with independent code.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import frictionless
import numpy as np
import pandas as pd
import pycountry
import pytest

from htcourse import data, estimators
from htcourse.datasets import (
    DATAPACKAGE_FILE,
    DATASETS,
    DEFAULT_SEED,
    GeneratedDataset,
    ad_screening,
    case_records,
    csv_files,
    generate_all,
    handwritten_tables,
    hotline,
    list_overlap,
    output_files,
    published_tables,
)
from htcourse.datasets.__main__ import main as cli_main
from htcourse.datasets.writing import write_files_atomically
from htcourse.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "datasets"
OTHER_SEED = 7
DATASHEET_SECTIONS = (
    "## Motivation",
    "## Composition",
    "## Collection / how it was generated",
    "## Known defects",
    "## Intended uses and misuses",
    "## Licence",
    "## Maintenance",
)


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@dataclass
class Run:
    """One generation: the in-memory results and the folder they were written to."""

    seed: int
    generated: dict[str, GeneratedDataset]
    folder: Path

    def text(self, filename: str) -> str:
        return (self.folder / filename).read_text(encoding="utf-8")

    def cells(self, filename: str) -> pd.DataFrame:
        """Every cell as its exact text ("" for an empty cell)."""
        return pd.read_csv(self.folder / filename, dtype=str, keep_default_na=False)

    def table(self, filename: str) -> pd.DataFrame:
        """Typed, with only the empty cell as missing (so Namibia stays NA)."""
        return pd.read_csv(self.folder / filename, keep_default_na=False, na_values=[""])


def _make_run(seed: int, folder: Path) -> Run:
    generated = generate_all(seed)
    write_files_atomically(output_files(generated), folder)
    return Run(seed, generated, folder)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Run:
    return _make_run(DEFAULT_SEED, tmp_path_factory.mktemp(f"seed{DEFAULT_SEED}"))


@pytest.fixture(scope="module")
def other_run(tmp_path_factory) -> Run:
    return _make_run(OTHER_SEED, tmp_path_factory.mktemp(f"seed{OTHER_SEED}"))


@pytest.fixture(params=["default_seed", "other_seed"])
def run(request, default_run, other_run) -> Run:
    """Each documented property is checked for both seeds."""
    return default_run if request.param == "default_seed" else other_run


def md_table(text: str, headers: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of the Markdown table whose header row is exactly ``headers``.

    Backticks are stripped from every cell.
    """

    def cells(line: str) -> list[str]:
        return [cell.strip().replace("`", "") for cell in line.strip().strip("|").split("|")]

    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and tuple(cells(line)) == headers:
            rows = []
            for row_line in lines[i + 2 :]:
                if not row_line.startswith("|"):
                    break
                rows.append(dict(zip(headers, cells(row_line), strict=True)))
            assert rows, f"table {headers} has no rows"
            return rows
    raise AssertionError(f"no table with headers {headers} in the datasheet")


def count(cell: str) -> int:
    return int(cell.replace(",", ""))


def assert_pct(cell: str, fraction: float, decimals: int = 1) -> None:
    """``cell`` ("12.3%") shows ``fraction`` rounded to ``decimals``."""
    if math.isnan(fraction):
        assert cell == "n/a"
        return
    assert cell.endswith("%"), cell
    assert abs(float(cell[:-1]) - 100 * fraction) <= 0.5 * 10**-decimals + 1e-9, (cell, fraction)


def assert_num(cell: str, value: float, decimals: int = 1) -> None:
    assert abs(float(cell.replace(",", "")) - value) <= 0.5 * 10**-decimals + 1e-9, (cell, value)


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------


def test_default_seed_reproduces_committed_files_byte_for_byte(default_run):
    produced = sorted(output_files(default_run.generated))
    assert DATAPACKAGE_FILE in produced and len(produced) == 1 + len(handwritten_tables.FILES) + len(
        published_tables.FILES
    ) + sum(len(m.CSV_FILES) + 1 for m in DATASETS.values())
    different = [
        name
        for name in produced
        if not (COMMITTED / name).is_file()
        or (COMMITTED / name).read_bytes() != (default_run.folder / name).read_bytes()
    ]
    assert not different, f"committed files differ from the generator's output: {different}; run `make datasets`"


def test_only_one_dataset_gives_the_same_files_as_a_full_run(default_run, tmp_path):
    assert cli_main(["generate", "--only", "hotline", "list_overlap", "--out", str(tmp_path)]) == 0
    expected = {
        *hotline.CSV_FILES,
        hotline.DATASHEET_FILE,
        *list_overlap.CSV_FILES,
        list_overlap.DATASHEET_FILE,
        *handwritten_tables.FILES,
        *published_tables.FILES,
        DATAPACKAGE_FILE,
    }
    assert {p.name for p in tmp_path.iterdir()} == expected  # no staging folder left behind
    for name in expected:
        assert (tmp_path / name).read_bytes() == (default_run.folder / name).read_bytes(), name


def test_another_seed_changes_the_data(default_run, other_run):
    for name in csv_files():
        same = (default_run.folder / name).read_bytes() == (other_run.folder / name).read_bytes()
        # The events are fixed facts of the scenario, not random draws.
        assert same == (name == hotline.EVENTS_FILE), name
    # The schemas do not depend on the seed.
    assert default_run.text(DATAPACKAGE_FILE) == other_run.text(DATAPACKAGE_FILE)


def test_files_are_utf8_with_unix_line_endings_and_small(run):
    total = 0
    for name in output_files(run.generated):
        raw_bytes = (run.folder / name).read_bytes()
        raw_bytes.decode("utf-8")
        assert b"\r" not in raw_bytes, name
        assert raw_bytes.endswith(b"\n"), name
        total += len(raw_bytes)
    assert total <= 5 * 1024 * 1024


# --------------------------------------------------------------------------
# datapackage.json
# --------------------------------------------------------------------------


def test_frictionless_validation_passes(run):
    report = frictionless.validate(str(run.folder / DATAPACKAGE_FILE))
    errors = [(task.name, e.type, e.note) for task in report.tasks for e in task.errors[:3]]
    assert report.valid, errors


def test_frictionless_validation_catches_a_bad_value(default_run, tmp_path):
    """The schemas really constrain the values (so the test above can fail)."""
    for name in (DATAPACKAGE_FILE, list_overlap.TRUTH_FILE):
        shutil.copy(default_run.folder / name, tmp_path / name)
    truth = (tmp_path / list_overlap.TRUTH_FILE).read_text(encoding="utf-8")
    (tmp_path / list_overlap.TRUTH_FILE).write_text(truth.replace(",all,", ",everyone,", 1), encoding="utf-8")
    resource = frictionless.Package(str(tmp_path / DATAPACKAGE_FILE)).get_resource("list_overlap_truth")
    assert not resource.validate().valid


def test_datapackage_describes_every_csv_with_its_columns(run):
    import json

    package = json.loads(run.text(DATAPACKAGE_FILE))
    resources = {resource["path"]: resource for resource in package["resources"]}
    # every CSV file in the folder, generated or written by hand
    assert sorted(resources) == sorted(p.name for p in run.folder.glob("*.csv"))
    published = {table.filename for table in (*published_tables.TABLES, *published_tables.SERIES)}
    assert set(csv_files()) | {
        handwritten_tables.GLOBAL_ESTIMATES_FILE,
        handwritten_tables.IMAGES_FILE,
    } | published == set(resources)
    for path, resource in resources.items():
        header = run.cells(path).columns.tolist()
        assert [field["name"] for field in resource["schema"]["fields"]] == header, path
        # Only the empty cell is missing: NA is Namibia.
        assert resource["schema"]["missingValues"] == [""]


# --------------------------------------------------------------------------
# Datasheets
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASETS))
def test_datasheet_structure(run, name):
    module = DATASETS[name]
    text = run.text(module.DATASHEET_FILE)
    first_line = text.splitlines()[0]
    assert "synthetic" in first_line and "no row is a real person" in first_line
    positions = [text.find(section + "\n") for section in DATASHEET_SECTIONS]
    assert -1 not in positions and positions == sorted(positions), positions
    assert f"seed {run.seed}" in text
    assert f"`{module.__name__}`" in text
    assert "make datasets" in text and "python -m htcourse.datasets generate" in text
    assert "CC BY 4.0" in text


@pytest.mark.parametrize("name", list(DATASETS))
def test_datasheet_cites_only_the_allowed_sources(default_run, name):
    text = default_run.text(DATASETS[name].DATASHEET_FILE)
    references = text.split("## References\n", 1)[1]
    items = [line for line in references.splitlines() if line.startswith("- ")]
    assert len(items) == 3
    assert "doi:10.1145/3458723" in references and "Datasheets for Datasets" in references
    assert "arXiv:2005.05688" in references and "Counter Trafficking Data Collaborative" in references
    links = re.findall(r"https?://[^\s>)]+", text)
    assert set(links) <= {"https://creativecommons.org/licenses/by/4.0/"}, links


# --------------------------------------------------------------------------
# Case records
# --------------------------------------------------------------------------


@pytest.fixture
def case_files(run):
    return (
        run.cells(case_records.CLEAN_FILE),
        run.cells(case_records.RAW_FILE),
        run.cells(case_records.DEFECTS_FILE).astype({"rawRow": int}),
    )


def test_case_records_columns(run, case_files):
    clean, raw, manifest = case_files
    assert tuple(clean.columns) == case_records.COLUMNS
    assert tuple(raw.columns) == case_records.COLUMNS
    assert tuple(manifest.columns) == case_records.MANIFEST_COLUMNS
    assert 2000 <= len(clean) <= 5000


def test_defect_manifest_is_exact(case_files):
    clean, raw, manifest = case_files
    cell_defects = manifest[manifest["column"] != ""]
    duplicates = manifest[manifest["defect"] == "duplicate"]
    assert (duplicates["column"] == "").all() and len(cell_defects) + len(duplicates) == len(manifest)
    assert not cell_defects.duplicated(["rawRow", "column"]).any(), "a cell with two defects"

    fixed = raw.copy()
    for entry in cell_defects.itertuples():
        assert raw.at[entry.rawRow, "caseId"] == entry.caseId
        assert raw.at[entry.rawRow, entry.column] == entry.dirtyValue, entry
        assert entry.cleanValue != entry.dirtyValue
        fixed.at[entry.rawRow, entry.column] = entry.cleanValue
    assert (raw.loc[duplicates["rawRow"], "caseId"].to_numpy() == duplicates["caseId"].to_numpy()).all()

    # The documented de-duplication: drop the second reports.
    deduplicated = fixed.drop(index=duplicates["rawRow"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(deduplicated, clean)

    # A second report, once fixed, is its first report with another caseId, source and date.
    first_reports = clean.set_index("caseId")
    own_fields = ["caseId", "reportingSource", "registrationDate"]
    for entry in duplicates.itertuples():
        second = fixed.loc[entry.rawRow]
        first = first_reports.loc[entry.duplicateOf]
        person = [c for c in case_records.COLUMNS if c not in own_fields]
        assert (second[person] == first[person]).all(), entry.caseId
        assert second["reportingSource"] != first["reportingSource"]
        first_date = dt.date.fromisoformat(first["registrationDate"])
        second_date = dt.date.fromisoformat(second["registrationDate"])
        assert 0 <= (second_date - first_date).days <= case_records.DUPLICATE_MAX_DELAY_DAYS


def test_every_defect_kind_occurs_at_the_stated_rate(run, case_files):
    clean, raw, manifest = case_files
    headers = ("Defect", "Column(s)", "Cells", "Raw rows", "Share of raw rows", "What it is")
    rows = md_table(run.text(case_records.DATASHEET_FILE), headers)
    assert [row["Defect"] for row in rows] == list(case_records.DEFECT_KINDS)
    for row in rows:
        entries = manifest[manifest["defect"] == row["Defect"]]
        assert len(entries) > 0, row["Defect"]
        assert count(row["Cells"]) == len(entries)
        assert count(row["Raw rows"]) == entries["rawRow"].nunique()
        assert_pct(row["Share of raw rows"], entries["rawRow"].nunique() / len(raw))


def test_each_source_habit_is_confined_to_its_source(case_files):
    clean, raw, manifest = case_files
    source_of_row = raw["reportingSource"].str.strip().str.lower()
    habits = {
        "definition_change": case_records.DEFINITION_CHANGE_SOURCE,
        "duration_in_weeks": case_records.WEEKS_SOURCE,
        "missing_code_-99": case_records.MINUS_99_SOURCE,
        "missing_code_00": case_records.AGE_00_SOURCE,
        "blank_for_no": case_records.BLANK_FOR_NO_SOURCE,
        "date_day_month_year": case_records.DAY_MONTH_YEAR_SOURCE,
        "date_written_out": case_records.WRITTEN_DATE_SOURCE,
    }
    for kind, source in habits.items():
        rows = manifest.loc[manifest["defect"] == kind, "rawRow"]
        assert (source_of_row[rows] == source).all(), kind
    change = manifest.loc[manifest["defect"] == "definition_change", "rawRow"]
    assert (raw.loc[change, "yearOfRegistration"].astype(int) >= case_records.DEFINITION_CHANGE_YEAR).all()
    # -99 and 00 stand for missing values, weeks for months.
    for entry in manifest[manifest["defect"].isin(["missing_code_-99", "missing_code_00"])].itertuples():
        assert entry.cleanValue == ""
    weeks = manifest[manifest["defect"] == "duration_in_weeks"]
    assert (weeks["dirtyValue"].astype(int) == (weeks["cleanValue"].astype(int) * 52 / 12).round()).all()


def test_headline_figures_match_and_differ_from_a_naive_reading(run):
    clean = run.table(case_records.CLEAN_FILE)
    naive = pd.read_csv(run.folder / case_records.RAW_FILE)  # default options, no cleaning
    rows = {
        row["Figure"]: row
        for row in md_table(
            run.text(case_records.DATASHEET_FILE), ("Figure", "Clean file", "Naive reading of the raw file")
        )
    }
    assert count(rows["Rows (cases)"]["Clean file"]) == len(clean)
    assert count(rows["Rows (cases)"]["Naive reading of the raw file"]) == len(naive)
    for column in case_records.TYPE_COLUMNS:
        row = rows[f"Share with {column} = 1"]
        assert_pct(row["Clean file"], clean[column].mean())
        assert_pct(row["Naive reading of the raw file"], naive[column].mean())
    row = rows["Mean traffickMonths"]
    assert_num(row["Clean file"], clean["traffickMonths"].mean())
    assert_num(row["Naive reading of the raw file"], naive["traffickMonths"].mean())

    # The naive reading is visibly wrong.
    assert len(naive) >= 1.05 * len(clean)
    assert naive["isForcedLabour"].mean() - clean["isForcedLabour"].mean() >= 0.03
    assert abs(naive["traffickMonths"].mean() - clean["traffickMonths"].mean()) >= 1.0


def test_trend_by_year_matches_and_is_distorted_in_the_raw_file(run):
    clean = run.table(case_records.CLEAN_FILE)
    raw = run.table(case_records.RAW_FILE)
    headers = ("Year", "Clean cases", "Raw rows", "Forced labour share (clean)", "Forced labour share (raw)")
    rows = md_table(run.text(case_records.DATASHEET_FILE), headers)
    assert [int(row["Year"]) for row in rows] == list(case_records.YEARS)
    ratios = []
    for row in rows:
        year = int(row["Year"])
        clean_year = clean[clean["yearOfRegistration"] == year]
        raw_year = raw[raw["yearOfRegistration"] == year]
        assert count(row["Clean cases"]) == len(clean_year)
        assert count(row["Raw rows"]) == len(raw_year)
        assert_pct(row["Forced labour share (clean)"], clean_year["isForcedLabour"].mean())
        assert_pct(row["Forced labour share (raw)"], raw_year["isForcedLabour"].mean())
        ratios.append(len(raw_year) / len(clean_year))
        gap = raw_year["isForcedLabour"].mean() - clean_year["isForcedLabour"].mean()
        if year >= case_records.DEFINITION_CHANGE_YEAR:
            assert gap >= 0.05, year
        else:
            assert abs(gap) < 0.03, year
    # The true count is flat; duplicates make the raw count grow.
    per_year = clean["yearOfRegistration"].value_counts()
    assert per_year.max() <= 1.4 * per_year.min()
    assert ratios[-1] - ratios[0] >= 0.08


def test_definition_change_shows_only_in_one_source(run):
    clean = run.table(case_records.CLEAN_FILE)
    raw = run.table(case_records.RAW_FILE)
    raw["reportingSource"] = raw["reportingSource"].str.strip().str.lower()
    year = case_records.DEFINITION_CHANGE_YEAR
    first, last = case_records.YEARS[0], case_records.YEARS[-1]
    headers = (
        "Source",
        f"Clean {first}–{year - 1}",
        f"Clean {year}–{last}",
        f"Raw {first}–{year - 1}",
        f"Raw {year}–{last}",
    )
    rows = md_table(run.text(case_records.DATASHEET_FILE), headers)
    assert [row["Source"] for row in rows] == list(case_records.SOURCES)
    for row in rows:
        change = {}
        for label, frame in (("Clean", clean), ("Raw", raw)):
            own = frame[frame["reportingSource"] == row["Source"]]
            before = own.loc[own["yearOfRegistration"] < year, "isForcedLabour"].mean()
            after = own.loc[own["yearOfRegistration"] >= year, "isForcedLabour"].mean()
            assert_pct(row[f"{label} {first}–{year - 1}"], before)
            assert_pct(row[f"{label} {year}–{last}"], after)
            change[label] = after - before
        # How much more the raw share moves than the true share did.
        spurious = change["Raw"] - change["Clean"]
        if row["Source"] == case_records.DEFINITION_CHANGE_SOURCE:
            assert spurious >= 0.25, row["Source"]
        else:
            assert abs(spurious) < 0.05, row["Source"]


def test_namibia_na_trap(run, monkeypatch):
    clean = run.cells(case_records.CLEAN_FILE)
    raw = run.cells(case_records.RAW_FILE)
    rows = {
        row["Column"]: row
        for row in md_table(
            run.text(case_records.DATASHEET_FILE),
            ("Column", "Clean rows with NA", "Share of clean rows", "Raw rows with NA", "Share of raw rows"),
        )
    }
    for column in ("citizenship", "CountryOfExploitation"):
        in_clean = (clean[column] == "NA").sum()
        in_raw = (raw[column] == "NA").sum()
        assert in_clean >= 0.05 * len(clean), column
        assert count(rows[column]["Clean rows with NA"]) == in_clean
        assert_pct(rows[column]["Share of clean rows"], in_clean / len(clean))
        assert count(rows[column]["Raw rows with NA"]) == in_raw
        assert_pct(rows[column]["Share of raw rows"], in_raw / len(raw))

    # data.load passes the trap on untouched, and passes options through.
    monkeypatch.setenv("HTCOURSE_DATASETS", str(run.folder))
    default = data.load("case_records_clean")
    assert default["citizenship"].isna().sum() == ((clean["citizenship"] == "NA") | (clean["citizenship"] == "")).sum()
    careful = data.load("case_records_clean", keep_default_na=False, na_values=[""])
    assert (careful["citizenship"] == "NA").sum() == (clean["citizenship"] == "NA").sum()
    assert data.path("case_records_raw.csv") == run.folder / "case_records_raw.csv"


def test_clean_case_records_are_consistent(run):
    clean = run.cells(case_records.CLEAN_FILE)
    assert clean["caseId"].is_unique
    assert not clean.duplicated(["givenName", "familyName"]).any()
    dates = pd.to_datetime(clean["registrationDate"], format="%Y-%m-%d")
    assert (dates.dt.year.astype(str) == clean["yearOfRegistration"]).all()
    known_age = clean["birthYear"] != ""
    assert (known_age == (clean["ageBroad"] != "")).all()
    ages = clean.loc[known_age, "yearOfRegistration"].astype(int) - clean.loc[known_age, "birthYear"].astype(int)
    for age, band in zip(ages, clean.loc[known_age, "ageBroad"], strict=True):
        low, _, high = band.partition("--")
        if band == "48+":
            assert age >= 48
        else:
            assert int(low) <= age <= int(high), (age, band)
    for column in case_records.FLAG_COLUMNS:
        assert set(clean[column]) <= {"0", "1", ""}, column
    types = clean[list(case_records.TYPE_COLUMNS)]
    assert (types != "").all().all() and (types.astype(int).sum(axis=1) >= 1).all()
    assert set(clean["citizenship"]) <= set(case_records.ISO2_CODES) | {""}
    assert set(clean["gender"]) <= set(case_records.GENDERS)


def test_country_spellings_are_real_codes_and_names():
    for country in case_records.COUNTRIES:
        record = pycountry.countries.get(alpha_2=country.iso2)
        assert record is not None and record.alpha_3 == country.iso3
        assert country.name == record.name
        assert country.misspelling not in (record.name, getattr(record, "common_name", None))


# --------------------------------------------------------------------------
# List overlap
# --------------------------------------------------------------------------


def test_list_overlap_truth_equals_the_hidden_population(run):
    populations = run.generated["list_overlap"].hidden["population"]
    truth = run.table(list_overlap.TRUTH_FILE).set_index(["scenario", "sector"])
    assert len(truth) == len(list_overlap.SCENARIOS) * (1 + len(list_overlap.SECTORS))
    for scenario in list_overlap.SCENARIOS:
        population = populations[scenario.name]
        assert len(population) == scenario.population_size
        assert truth.loc[(scenario.name, "all"), "trueTotal"] == len(population)
        assert truth.loc[(scenario.name, "all"), "observedTotal"] == population["observed"].sum()
        for sector in list_overlap.SECTORS:
            in_sector = population[population["sector"] == sector]
            assert truth.loc[(scenario.name, sector), "trueTotal"] == len(in_sector)
            assert truth.loc[(scenario.name, sector), "observedTotal"] == in_sector["observed"].sum()

        observed = run.table(scenario.filename)
        assert tuple(observed.columns) == list_overlap.OBSERVED_COLUMNS
        assert (observed[list(list_overlap.LISTS)].sum(axis=1) >= 1).all()
        seen = population[population["observed"] == 1].set_index("personId").sort_index()
        assert (population.loc[population["observed"] == 0, "personId"] == "").all()
        pd.testing.assert_frame_equal(
            observed.set_index("personId").sort_index(),
            seen[list(list_overlap.OBSERVED_COLUMNS[1:])],
            check_dtype=False,
        )


def test_chapman_covers_the_truth_when_lists_are_independent(run):
    """A 95% interval misses the truth for about one seed in twenty, by design
    of any such interval; it covers it for the two seeds tested here."""
    truth = run.table(list_overlap.TRUTH_FILE).set_index(["scenario", "sector"])["trueTotal"]
    independent = run.table(list_overlap.INDEPENDENT_FILE)
    a, b = list_overlap.SUGGESTED_PAIR
    n1, n2 = int(independent[a].sum()), int(independent[b].sum())
    m = int((independent[a] & independent[b]).sum())
    result = estimators.chapman_ci(n1, n2, m)
    assert result.lower <= truth[("independent", "all")] <= result.upper, result

    # The referral-linked lists of the dependent scenario badly undercount.
    dependent = run.table(list_overlap.DEPENDENT_FILE)
    referral = list_overlap.DEPENDENT.referral
    x, y = dependent[referral.from_list], dependent[referral.to_list]
    estimate = estimators.chapman(int(x.sum()), int(y.sum()), int((x & y).sum()))
    assert estimate < 0.6 * truth[("dependent", "all")]


def _odds_ratio(a: pd.Series, b: pd.Series) -> float:
    both, only_a, only_b = (a & b).sum(), (a & ~b).sum(), (~a & b).sum()
    neither = (~a & ~b).sum()
    return (both * neither) / (only_a * only_b)


def test_dependence_and_heterogeneity_are_as_designed(run):
    populations = run.generated["list_overlap"].hidden["population"]
    dependent, independent = populations["dependent"], populations["independent"]
    as_bool = lambda frame, column: frame[column].astype(bool)  # noqa: E731
    assert _odds_ratio(as_bool(dependent, "hotline"), as_bool(dependent, "ngo")) > 2
    assert 0.67 < _odds_ratio(as_bool(independent, "hotline"), as_bool(independent, "ngo")) < 1.5
    for frame, heterogeneous in ((dependent, True), (independent, False)):
        police_rate = frame.groupby("sector")["police"].mean()
        spread = police_rate.max() / police_rate.min()
        assert (spread > 3) if heterogeneous else (spread < 1.6)


def test_list_overlap_datasheet_figures(run):
    text = run.text(list_overlap.DATASHEET_FILE)
    truth = run.table(list_overlap.TRUTH_FILE)
    rows = md_table(text, ("Scenario", "Sector", "True total", "Observed"))
    assert len(rows) == len(truth)
    for row, expected in zip(rows, truth.itertuples(), strict=True):
        assert (row["Scenario"], row["Sector"]) == (expected.scenario, expected.sector)
        assert count(row["True total"]) == expected.trueTotal
        assert count(row["Observed"]) == expected.observedTotal
    headers = ("Scenario", "True total", "Observed (rows)", "Share observed") + tuple(
        f"On {name}" for name in list_overlap.LISTS
    )
    for row in md_table(text, headers):
        scenario = next(s for s in list_overlap.SCENARIOS if s.name == row["Scenario"])
        observed = run.table(scenario.filename)
        true_total = truth.query("scenario == @scenario.name and sector == 'all'")["trueTotal"].item()
        assert count(row["True total"]) == true_total
        assert count(row["Observed (rows)"]) == len(observed)
        assert_pct(row["Share observed"], len(observed) / true_total)
        for name in list_overlap.LISTS:
            assert count(row[f"On {name}"]) == observed[name].sum()


# --------------------------------------------------------------------------
# Ad screening
# --------------------------------------------------------------------------


def test_ad_screening_base_rate_and_error_rates_match_the_datasheet(run):
    listings = run.table(ad_screening.LISTINGS_FILE)
    text = run.text(ad_screening.DATASHEET_FILE)
    assert tuple(listings.columns) == ad_screening.COLUMNS
    positives = listings["isExploitation"] == 1
    base_rate = positives.mean()
    assert 0.007 <= base_rate <= 0.013
    stated = re.search(r"The base rate is ([\d.]+%) \(([\d,]+) of ([\d,]+) listings\)", text)
    assert stated, "base rate sentence missing"
    assert_pct(stated.group(1), base_rate, 2)
    assert count(stated.group(2)) == positives.sum() and count(stated.group(3)) == len(listings)

    headers = ("Threshold", "Group", "Flagged", "False positives", "False-positive rate", "Recall", "Precision")
    rows = md_table(text, headers)
    assert len(rows) == len(ad_screening.THRESHOLDS) * (1 + len(ad_screening.GROUPS))
    for row in rows:
        threshold = float(row["Threshold"])
        assert threshold in ad_screening.THRESHOLDS
        subset = listings if row["Group"] == "all" else listings[listings["advertiserGroup"] == row["Group"]]
        flagged = subset["score"] >= threshold
        positive = subset["isExploitation"] == 1
        assert count(row["Flagged"]) == flagged.sum()
        assert count(row["False positives"]) == (flagged & ~positive).sum()
        assert_pct(row["False-positive rate"], (flagged & ~positive).sum() / (~positive).sum(), 2)
        assert_pct(row["Recall"], (flagged & positive).sum() / positive.sum())
        precision = (flagged & positive).sum() / flagged.sum() if flagged.any() else float("nan")
        assert_pct(row["Precision"], precision)


def test_false_positives_fall_disproportionately_on_independent_adults(run):
    listings = run.table(ad_screening.LISTINGS_FILE)
    negatives = listings[listings["isExploitation"] == 0]
    share_of_listings = (listings["advertiserGroup"] == "independent_adult").mean()
    for threshold in ad_screening.THRESHOLDS:
        false_positive = negatives["score"] >= threshold
        rate = false_positive.groupby(negatives["advertiserGroup"]).mean()
        assert rate["independent_adult"] > rate["agency"] and rate["independent_adult"] > rate["other"], threshold
        on_independent = (negatives.loc[false_positive, "advertiserGroup"] == "independent_adult").mean()
        assert on_independent >= share_of_listings + 0.10, threshold
    assert listings["score"].between(0, 1).all()
    assert (listings["score"].round(3) == listings["score"]).all()


# --------------------------------------------------------------------------
# Hotline
# --------------------------------------------------------------------------


def test_hotline_true_incidence_is_flat_and_contacts_add_up(run):
    truth = run.table(hotline.TRUTH_FILE)
    contacts = run.table(hotline.CONTACTS_FILE)
    assert list(truth["month"]) == list(contacts["month"]) == hotline.months()
    incidence = truth["trueIncidence"].to_numpy(dtype=float)
    slope = np.polyfit(np.arange(len(incidence)), incidence, 1)[0]
    assert abs(slope * (len(incidence) - 1)) < 0.05 * incidence.mean()
    channels = [c for c in hotline.CONTACT_COLUMNS if c not in ("month", "contactsTotal")]
    assert (contacts[channels].sum(axis=1) == contacts["contactsTotal"]).all()
    yearly = contacts.groupby(contacts["month"].str[:4])["contactsTotal"].sum()
    assert yearly.max() >= 1.3 * yearly.min()  # reporting is not flat


def _windows(months: list[str], start: str, end: str | float) -> tuple[list[str], list[str]]:
    """Independent reimplementation of the windows the datasheet describes."""
    i = months.index(start)
    stop = months.index(end) + 1 if isinstance(end, str) and end else i + 12
    return months[max(0, i - 12) : i], months[i:stop]


def test_hotline_events_move_contacts_but_not_incidence(run):
    contacts = run.table(hotline.CONTACTS_FILE).set_index("month")
    truth = run.table(hotline.TRUTH_FILE).set_index("month")["trueIncidence"]
    events = run.table(hotline.EVENTS_FILE)
    assert list(events["eventId"]) == [e.event_id for e in hotline.EVENTS]
    months = list(contacts.index)
    expected_change = {
        "awareness_campaign": (1.3, None),
        "short_number": (1.3, None),
        "definition_change": (1.15, None),
        "platforms_offshore": (None, 0.5),
    }
    rows = md_table(
        run.text(hotline.DATASHEET_FILE),
        (
            "Event",
            "Month(s)",
            "Channels",
            "Contacts per month before",
            "Contacts per month after",
            "True incidence per month before",
            "True incidence per month after",
        ),
    )
    for event, row in zip(events.itertuples(), rows, strict=True):
        before, after = _windows(months, event.startMonth, event.endMonth)
        affected = contacts[event.channels.split(";")].sum(axis=1)
        ratio = affected[after].mean() / affected[before].mean()
        at_least, at_most = expected_change[event.eventId]
        assert (at_least is None or ratio >= at_least) and (at_most is None or ratio <= at_most), event.eventId
        assert 0.9 < truth[after].mean() / truth[before].mean() < 1.1
        assert row["Event"] == event.eventId
        assert_num(row["Contacts per month before"], affected[before].mean())
        assert_num(row["Contacts per month after"], affected[after].mean())
        assert_num(row["True incidence per month before"], truth[before].mean())
        assert_num(row["True incidence per month after"], truth[after].mean())
    # The campaign's bump is temporary: a year after it, phone contacts are back near their old level.
    campaign = events.set_index("eventId").loc["awareness_campaign"]
    before, _ = _windows(months, campaign.startMonth, campaign.endMonth)
    end = months.index(campaign.endMonth)
    later = months[end + 7 : end + 19]
    assert contacts.loc[later, "contactsPhone"].mean() < 1.25 * contacts.loc[before, "contactsPhone"].mean()


def test_hotline_yearly_totals_match_the_datasheet(run):
    contacts = run.table(hotline.CONTACTS_FILE)
    truth = run.table(hotline.TRUTH_FILE)
    headers = ("Year", "True incidence", "Phone", "Web form", "Platform tips", "All contacts")
    rows = md_table(run.text(hotline.DATASHEET_FILE), headers)
    columns = ("contactsPhone", "contactsWebForm", "contactsPlatformTip", "contactsTotal")
    assert len(rows) == len(contacts) // 12
    for row in rows:
        in_year = contacts["month"].str.startswith(row["Year"] + "-")
        assert count(row["True incidence"]) == truth.loc[in_year, "trueIncidence"].sum()
        for header, column in zip(headers[2:], columns, strict=True):
            assert count(row[header]) == contacts.loc[in_year, column].sum()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "htcourse.datasets", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--only", "no_such_dataset"],
        ["--seed", "-1"],
        ["--seed=-1"],
        ["--seed", "abc"],
        ["--seed", "1.5"],
    ],
    ids=["unknown-name", "negative-seed", "negative-seed-equals", "text-seed", "decimal-seed"],
)
def test_cli_rejects_bad_input_and_writes_nothing(tmp_path, args):
    out = tmp_path / "out"
    result = _run_cli("generate", "--out", str(out), *args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "error" in lines[0], result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    result = _run_cli("generate", "--only", "hotline", "--out", str(blocker / "datasets"))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0], result.stderr
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_cli_writes_nothing_when_one_target_cannot_be_replaced(tmp_path, capsys):
    (tmp_path / hotline.DATASHEET_FILE).mkdir()  # a folder where a file must go
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["generate", "--only", "hotline", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == [hotline.DATASHEET_FILE]


def test_a_new_folder_is_complete_and_the_course_can_use_it(other_run, monkeypatch):
    """--out copies the hand-made tables, so HTCOURSE_DATASETS can point at the new folder."""
    for name in handwritten_tables.FILES:
        assert (other_run.folder / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    monkeypatch.setenv("HTCOURSE_DATASETS", str(other_run.folder))
    assert len(data.load("global_estimates")) == 12
    assert data.path("case_records_raw") == other_run.folder / case_records.RAW_FILE


def test_a_missing_hand_made_table_is_a_clear_error_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    source = tmp_path / "source"
    source.mkdir()
    for name in handwritten_tables.FILES:
        if name != handwritten_tables.GLOBAL_ESTIMATES_FILE:
            shutil.copy(COMMITTED / name, source / name)
    monkeypatch.setenv("HTCOURSE_DATASETS", str(source))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["generate", "--only", "hotline", "--out", str(out)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1 and "global_estimates.csv" in error and "by hand" in error, error
    assert not out.exists()


def test_cli_list_names_every_dataset():
    result = _run_cli("list")
    assert result.returncode == 0
    for name, module in DATASETS.items():
        assert any(
            line.startswith(f"{name}:") and all(f in line for f in module.CSV_FILES)
            for line in result.stdout.splitlines()
        ), name


# --------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------


def test_load_missing_file_says_how_to_recreate_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HTCOURSE_DATASETS", str(tmp_path))
    with pytest.raises(data.DatasetMissingError) as error_info:
        data.load("case_records_raw")
    assert isinstance(error_info.value, FileNotFoundError)
    message = str(error_info.value)
    assert "make datasets" in message and "case_records_raw.csv" in message
    assert "python -m htcourse.datasets generate" in message
    assert f"HTCOURSE_DATASETS is set ({tmp_path})" in message and "unset it" in message


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------


def test_lincoln_petersen_and_chapman_by_hand():
    assert estimators.lincoln_petersen(50, 40, 10) == pytest.approx(200.0)
    assert estimators.chapman(50, 40, 10) == pytest.approx(51 * 41 / 11 - 1)
    assert estimators.chapman(50, 40, 10) == pytest.approx(189.0909, abs=1e-4)
    assert estimators.chapman(10, 10, 0) == pytest.approx(120.0)
    assert estimators.lincoln_petersen(np.int64(30), 20.0, 6) == pytest.approx(100.0)


def test_chapman_ci_by_hand():
    result = estimators.chapman_ci(50, 40, 10)
    variance = 51 * 41 * 40 * 30 / (11**2 * 12)  # Seber: (n1+1)(n2+1)(n1-m)(n2-m) / ((m+1)^2 (m+2))
    assert result.standard_error == pytest.approx(math.sqrt(variance))
    assert result.estimate == pytest.approx(189.0909, abs=1e-4)
    assert result.lower == pytest.approx(result.estimate - 1.959964 * math.sqrt(variance), abs=1e-4)
    assert result.upper == pytest.approx(result.estimate + 1.959964 * math.sqrt(variance), abs=1e-4)
    narrower = estimators.chapman_ci(50, 40, 10, level=0.90)
    assert narrower.upper - narrower.lower == pytest.approx(2 * 1.644854 * math.sqrt(variance), abs=1e-4)


@pytest.mark.parametrize(
    "function, counts",
    [
        (estimators.lincoln_petersen, (10, 20, 11)),  # m > n1
        (estimators.chapman, (20, 10, 11)),  # m > n2
        (estimators.chapman, (-1, 10, 0)),
        (estimators.chapman_ci, (10, -5, 0)),
        (estimators.lincoln_petersen, (10, 20, 0)),  # no overlap
        (estimators.chapman, (10.5, 20, 3)),
    ],
)
def test_estimators_reject_impossible_counts(function, counts):
    with pytest.raises(ValueError):
        function(*counts)


def test_writer_moves_nothing_into_place_when_a_file_fails(tmp_path):
    files = {"first.csv": "a\n1\n", "second.csv": "b\n\ud800\n"}  # a lone surrogate cannot be UTF-8
    with pytest.raises(UnicodeEncodeError):
        write_files_atomically(files, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# Listings (linking lab)
# --------------------------------------------------------------------------

from htcourse.datasets import listings as listings_dataset  # noqa: E402


def _listings_with_truth(run: Run) -> pd.DataFrame:
    listings = run.cells(listings_dataset.LISTINGS_FILE)
    truth = run.cells(listings_dataset.TRUTH_FILE)
    assert list(listings["listingId"]) == list(truth["listingId"])
    return listings.merge(truth, on="listingId", validate="one_to_one")


def test_listings_is_registered_and_covered_by_the_byte_for_byte_test(default_run):
    assert DATASETS["listings"] is listings_dataset
    produced = output_files(default_run.generated)
    assert set(listings_dataset.CSV_FILES) <= set(csv_files())
    for name in (*listings_dataset.CSV_FILES, listings_dataset.DATASHEET_FILE):
        assert name in produced and (COMMITTED / name).is_file()


def test_listings_files_and_truth_match_what_the_generator_drew(run):
    generated = run.generated["listings"]
    for name, table in generated.tables.items():
        # Cell by cell as text: an empty email is "" in memory and on disk.
        pd.testing.assert_frame_equal(run.cells(name), table.astype(str), check_dtype=False)
    assert tuple(run.cells(listings_dataset.LISTINGS_FILE).columns) == listings_dataset.COLUMNS
    assert tuple(run.cells(listings_dataset.TRUTH_FILE).columns) == listings_dataset.TRUTH_COLUMNS

    # The truth file gives every advertiser drawn exactly the listings drawn for it.
    advertisers = generated.hidden["advertisers"].set_index("operationId")
    truth = run.cells(listings_dataset.TRUTH_FILE)
    per_advertiser = truth.groupby("operationId").agg(listings=("listingId", "size"), kind=("advertiserType", "first"))
    assert sorted(per_advertiser.index) == sorted(advertisers.index)
    assert (per_advertiser["listings"] == advertisers.loc[per_advertiser.index, "listings"]).all()
    assert (per_advertiser["kind"] == advertisers.loc[per_advertiser.index, "advertiserType"]).all()
    assert (truth.groupby("operationId")["advertiserType"].nunique() == 1).all()
    kinds = advertisers["advertiserType"].value_counts()
    assert kinds[listings_dataset.OPERATION] == listings_dataset.N_OPERATIONS
    assert kinds[listings_dataset.INDEPENDENT] == listings_dataset.N_INDEPENDENT
    prefix = {listings_dataset.OPERATION: "operation-", listings_dataset.INDEPENDENT: "independent-"}
    assert all(i.startswith(prefix[k]) for i, k in per_advertiser["kind"].items())


def test_listings_tokens_are_synthetic_and_well_formed(run):
    merged = _listings_with_truth(run)
    assert 2000 <= len(merged) <= 5000
    assert merged["listingId"].is_unique
    assert merged["phone"].str.fullmatch(r"P\d{4}").all()
    assert merged["photoHash"].str.fullmatch(r"H\d{5}").all()
    assert merged["email"].str.fullmatch(r"(E\d{4})?").all()
    assert 0.2 <= (merged["email"] == "").mean() <= 0.6
    assert merged["postedWeek"].astype(int).between(1, listings_dataset.WEEKS).all()
    assert (merged["postedWeek"].astype(int).diff().dropna() >= 0).all()  # ids follow the week of posting
    assert set(merged["city"]) <= set(listings_dataset.CITIES)
    assert set(merged["platform"]) <= set(listings_dataset.PLATFORMS)
    # No cell looks like a real phone number or email address.
    text = run.text(listings_dataset.LISTINGS_FILE) + run.text(listings_dataset.TRUTH_FILE)
    assert "@" not in text and not re.search(r"\d{6,}", text)


def test_listings_false_links_are_exactly_the_planted_ones(run):
    merged = _listings_with_truth(run)
    advertisers = run.generated["listings"].hidden["advertisers"].set_index("operationId")
    links = run.generated["listings"].hidden["false_links"]
    kinds = [link.kind for link in links]
    assert kinds == (
        ["booking_line"] * listings_dataset.N_BOOKING_LINES
        + ["stock_photo"] * listings_dataset.N_STOCK_PHOTOS
        + ["recycled_phone"] * listings_dataset.N_RECYCLED_PHONES
    )

    # Every value shown by two or more true advertisers is a planted false link, and vice versa.
    shared = set()
    for attribute in listings_dataset.LINK_ATTRIBUTES:
        shown = merged[merged[attribute] != ""]
        owners = shown.groupby(attribute)["operationId"].nunique()
        shared |= {(attribute, value) for value in owners.index[owners >= 2]}
    assert shared == {(link.attribute, link.token) for link in links}

    involved = [advertiser for link in links for advertiser in link.operation_ids]
    assert len(involved) == len(set(involved)), "an advertiser takes part in two false links"
    for index, link in enumerate(links):
        carrying = merged[merged[link.attribute] == link.token]
        owners = sorted(carrying["operationId"].unique())
        assert tuple(owners) == link.operation_ids, link
        types = advertisers.loc[owners, "advertiserType"]
        if link.kind == "booking_line":
            low, high = listings_dataset.BOOKING_LINE_CLIENTS
            assert low <= len(owners) <= high
            assert (types == listings_dataset.INDEPENDENT).all()
            assert advertisers.loc[owners, "homeCity"].nunique() == 1
        elif link.kind == "stock_photo":
            low, high = listings_dataset.STOCK_PHOTO_LISTINGS
            assert low <= len(carrying) <= high and len(carrying) == len(owners)
            assert (types == listings_dataset.OPERATION).sum() == 1
        else:
            assert len(owners) == 2
            weeks = carrying.assign(week=carrying["postedWeek"].astype(int)).groupby("operationId")["week"]
            old_owner, new_owner = weeks.max().sort_values().index  # the old owner stopped first
            assert advertisers.loc[old_owner, "advertiserType"] == listings_dataset.INDEPENDENT
            assert weeks.min()[new_owner] - weeks.max()[old_owner] >= listings_dataset.RECYCLE_GAP_WEEKS[0]
            # The old owner used the number on every listing; the new owner alternates in kind.
            assert (merged.loc[merged["operationId"] == old_owner, "phone"] == link.token).all()
            alternate = (listings_dataset.INDEPENDENT, listings_dataset.OPERATION)
            expected_new = alternate[(index - kinds.index("recycled_phone")) % 2]
            assert advertisers.loc[new_owner, "advertiserType"] == expected_new


def test_listings_datasheet_figures(run):
    merged = _listings_with_truth(run)
    text = run.text(listings_dataset.DATASHEET_FILE)
    headers = ("Advertiser type", "Advertisers", "Listings", "Share of listings", "Fewest listings", "Most listings")
    rows = md_table(text, headers)
    assert [row["Advertiser type"] for row in rows] == list(listings_dataset.ADVERTISER_TYPES)
    for row in rows:
        part = merged[merged["advertiserType"] == row["Advertiser type"]]
        sizes = part.groupby("operationId").size()
        assert count(row["Advertisers"]) == len(sizes)
        assert count(row["Listings"]) == len(part)
        assert_pct(row["Share of listings"], len(part) / len(merged))
        assert (count(row["Fewest listings"]), count(row["Most listings"])) == (sizes.min(), sizes.max())

    headers = (
        "Attribute",
        "Listings with a value",
        "Distinct values",
        "Values on 2+ listings",
        "Values on 2+ true advertisers",
    )
    rows = md_table(text, headers)
    assert [row["Attribute"] for row in rows] == list(listings_dataset.LINK_ATTRIBUTES)
    for row in rows:
        shown = merged[merged[row["Attribute"]] != ""]
        per_value = shown.groupby(row["Attribute"]).agg(n=("listingId", "size"), owners=("operationId", "nunique"))
        assert count(row["Listings with a value"]) == len(shown)
        assert count(row["Distinct values"]) == len(per_value)
        assert count(row["Values on 2+ listings"]) == (per_value["n"] >= 2).sum()
        assert count(row["Values on 2+ true advertisers"]) == (per_value["owners"] >= 2).sum()

    headers = ("Kind", "Attribute", "Value", "Listings", "True advertisers", "Operations", "Independent adults")
    rows = md_table(text, headers)
    links = run.generated["listings"].hidden["false_links"]
    assert [(row["Kind"], row["Value"]) for row in rows] == [(link.kind, link.token) for link in links]
    for row in rows:
        carrying = merged[merged[row["Attribute"]] == row["Value"]]
        owners = carrying.drop_duplicates("operationId")
        assert count(row["Listings"]) == len(carrying)
        assert count(row["True advertisers"]) == len(owners)
        assert count(row["Operations"]) == (owners["advertiserType"] == listings_dataset.OPERATION).sum()
        assert count(row["Independent adults"]) == (owners["advertiserType"] == listings_dataset.INDEPENDENT).sum()

    # Operation listings that share no value with another listing of their operation.
    operations = merged[merged["advertiserType"] == listings_dataset.OPERATION]
    alone = []
    for listing in operations.itertuples():
        own = operations["operationId"] == listing.operationId
        others = operations[own & (operations["listingId"] != listing.listingId)]
        alone.append(
            not any(
                getattr(listing, column) != "" and (others[column] == getattr(listing, column)).any()
                for column in listings_dataset.LINK_ATTRIBUTES
            )
        )
    stated = re.search(r"Of the\s+([\d,]+) operation listings, ([\d,]+) \(([\d.]+%)\)", text)
    assert stated, "unlinkable-listings sentence missing"
    assert count(stated.group(1)) == len(operations) and count(stated.group(2)) == sum(alone)
    assert 0 < sum(alone) < 0.1 * len(operations)
    stated = re.search(r"`email` is empty when the listing shows none \(([\d.]+%) of\s+listings\)", text)
    assert stated, "missing-email sentence missing"
    assert_pct(stated.group(1), (merged["email"] == "").mean())

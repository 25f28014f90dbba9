"""Synthetic case records for the dirty-data lab.

Three files:

``case_records_clean.csv``
    The ground truth: one row per (synthetic) person, every value in one
    canonical form.
``case_records_raw.csv``
    The messy merged export a student receives: the same people, some
    reported twice by different sources, with the defects listed below.
``case_records_defects.csv``
    The manifest of every injected defect, one row per changed cell (and one
    row per duplicate report), with the clean and the dirty value.

Column names follow the CTDC synthetic data schema where one exists
(``yearOfRegistration``, ``gender``, ``ageBroad``, ``citizenship``,
``CountryOfExploitation``, ``traffickMonths`` and the ``means*``, ``is*``,
``sectorOf*`` and ``recruiterRelation*`` flags); ``caseId``,
``reportingSource``, ``registrationDate``, ``givenName``, ``familyName`` and
``birthYear`` are added so that students can de-duplicate.

How the raw file is made: every raw row starts as an exact copy of its clean
row (a second report starts as a copy of the person's first report, with its
own caseId, source and date). Defects are then applied one cell at a time
through :class:`DefectLog`, which records the clean and the dirty value. No
cell receives two defects, so applying the manifest's clean values and then
dropping the rows it marks as duplicates gives back the clean file exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from htcourse import schema
from htcourse.schema import (
    AGE_BROAD,
    BIRTH_YEAR,
    CASE_ID,
    CITIZENSHIP,
    COUNTRY_OF_EXPLOITATION,
    FAMILY_NAME,
    FLAG_COLUMNS,
    GENDER,
    GIVEN_NAME,
    LABOUR_SECTOR_COLUMNS,
    MEANS_COLUMNS,
    RECRUITER_COLUMNS,
    REGISTRATION_DATE,
    REPORTING_SOURCE,
    SECTOR_COLUMNS,
    SEX_SECTOR_COLUMNS,
    TRAFFICK_MONTHS,
    TYPE_COLUMNS,
    YEAR_OF_REGISTRATION,
)

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_num, fmt_pct, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "case_records"
SUMMARY = "Case records with a clean ground truth, a dirty merged export and a defect manifest"
CLEAN_FILE = "case_records_clean.csv"
RAW_FILE = "case_records_raw.csv"
DEFECTS_FILE = "case_records_defects.csv"
DATASHEET_FILE = "case_records.md"
CSV_FILES = (CLEAN_FILE, RAW_FILE, DEFECTS_FILE)

N_PEOPLE = 3000
YEARS = tuple(range(2015, 2024))

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

SOURCE_SHARES = {
    "police": 0.35,
    "ngo_case_management": 0.30,
    "hotline": 0.15,
    "assistance_programme": 0.20,
}
SOURCES = tuple(SOURCE_SHARES)
CASE_ID_PREFIX = {
    "police": "POL",
    "ngo_case_management": "NGO",
    "hotline": "HTL",
    "assistance_programme": "AST",
}

GENDERS = ("Man", "Woman", "Trans/Transgender/NonConforming")

AGE_BAND_LABELS = schema.AGE_BANDS
#: (label, youngest age, oldest age) for each band of the schema; ``None`` means no upper bound.
AGE_BANDS = tuple(
    (label, youngest, oldest)
    for label, (youngest, oldest) in zip(
        AGE_BAND_LABELS,
        ((0, 8), (9, 17), (18, 20), (21, 23), (24, 26), (27, 29), (30, 38), (39, 47), (48, None)),
        strict=True,
    )
)


@dataclass(frozen=True)
class Country:
    """A country as the different sources write it."""

    iso2: str
    iso3: str
    name: str
    misspelling: str


COUNTRIES = (
    Country("NA", "NAM", "Namibia", "Nambia"),
    Country("ZA", "ZAF", "South Africa", "South Afica"),
    Country("BW", "BWA", "Botswana", "Botswanna"),
    Country("ZM", "ZMB", "Zambia", "Zamiba"),
    Country("AO", "AGO", "Angola", "Angloa"),
    Country("PH", "PHL", "Philippines", "Phillipines"),
    Country("ID", "IDN", "Indonesia", "Indonesa"),
    Country("VN", "VNM", "Viet Nam", "Veit Nam"),
    Country("TH", "THA", "Thailand", "Thailnd"),
    Country("UA", "UKR", "Ukraine", "Ukriane"),
    Country("MD", "MDA", "Moldova, Republic of", "Moldava"),
    Country("RO", "ROU", "Romania", "Romainia"),
    Country("GT", "GTM", "Guatemala", "Guatamala"),
    Country("MX", "MEX", "Mexico", "Mexcio"),
    Country("US", "USA", "United States", "Untied States"),
    Country("GB", "GBR", "United Kingdom", "United Kingdon"),
)
COUNTRY_BY_ISO2 = {country.iso2: country for country in COUNTRIES}
ISO2_CODES = tuple(country.iso2 for country in COUNTRIES)
#: Relative frequencies. Invented for teaching; they describe no real pattern.
CITIZENSHIP_WEIGHTS = (10, 6, 4, 5, 5, 9, 8, 6, 5, 8, 6, 6, 7, 7, 3, 2)
EXPLOITATION_WEIGHTS = (12, 10, 4, 3, 3, 5, 5, 4, 8, 4, 3, 5, 4, 8, 12, 10)
SAME_COUNTRY_SHARE = 0.45

# The columns are declared in htcourse.schema (names and order); these names
# are the generator's own short aliases for them.
COLUMNS = schema.CASE_RECORDS_COLUMNS
MANIFEST_COLUMNS = schema.CASE_RECORDS_DEFECTS_COLUMNS

# --------------------------------------------------------------------------
# How the people are drawn (all invented for teaching)
# --------------------------------------------------------------------------

#: Exploitation type combinations: (isForcedLabour, isSexualExploit, isOtherExploit).
TYPE_MIX = {(1, 0, 0): 0.47, (0, 1, 0): 0.38, (1, 1, 0): 0.05, (0, 0, 1): 0.10}
GENDER_MIX_BY_TYPE = {
    "sexual": (0.11, 0.85, 0.04),
    "labour": (0.60, 0.39, 0.01),
    "other": (0.49, 0.50, 0.01),
}
LABOUR_SECTOR_MIX = (0.30, 0.25, 0.25, 0.20)
SEX_SECTOR_MIX = (0.85, 0.15)
SECTOR_RECORDED_SHARE = 0.85
SECTOR_OUTSIDE_LIST_SHARE = 0.15
MEANS_RECORDED_SHARE = 0.90
MEANS_PROBABILITY = {
    "meansDebtBondageEarnings": 0.35,
    "meansThreats": 0.45,
    "meansAbusePsyPhySex": 0.40,
    "meansFalsePromises": 0.50,
    "meansDrugsAlcohol": 0.10,
    "meansDenyBasicNeeds": 0.30,
    "meansExcessiveWorkHours": 0.35,
    "meansWithholdDocs": 0.35,
}
EXCESSIVE_HOURS_PROBABILITY_IN_FORCED_LABOUR = 0.60
RECRUITER_RECORDED_SHARE = 0.65
AGE_RECORDED_SHARE = 0.92
CITIZENSHIP_RECORDED_SHARE = 0.97
EXPLOITATION_COUNTRY_RECORDED_SHARE = 0.98
DURATION_RECORDED_SHARE = 0.75

# --------------------------------------------------------------------------
# The documented quirks of the merged export
# --------------------------------------------------------------------------

DEFINITION_CHANGE_SOURCE = "police"
DEFINITION_CHANGE_YEAR = 2019
WEEKS_SOURCE = "ngo_case_management"
MINUS_99_SOURCE = "hotline"
AGE_00_SOURCE = "hotline"
BLANK_FOR_NO_SOURCE = "assistance_programme"
DAY_MONTH_YEAR_SOURCE = "police"
WRITTEN_DATE_SOURCE = "assistance_programme"
ISO_DATE_SOURCES = ("ngo_case_management", "hotline")

#: Share of people, by year of first registration, whom a second source
#: reported again. It grows as the organisations refer more people to each other.
DUPLICATE_SHARE_FIRST_YEAR = 0.02
DUPLICATE_SHARE_LAST_YEAR = 0.20
DUPLICATE_EXACT_NAME_SHARE = 0.15
DUPLICATE_MAX_DELAY_DAYS = 120

COUNTRY_NAME_RATE = 0.05
COUNTRY_ISO3_RATE = 0.025
COUNTRY_MISSPELLING_RATE = 0.015
AGE_BAND_TYPO_RATE = 0.03
IMPOSSIBLE_DATE_RATE = 0.015
STRAY_WHITESPACE_RATE = 0.02
CASING_RATE = 0.02
WHITESPACE_COLUMNS = (REPORTING_SOURCE, GENDER, CITIZENSHIP, COUNTRY_OF_EXPLOITATION)
CASING_COLUMNS = (REPORTING_SOURCE, GENDER)

#: Defect kinds in the manifest, with the columns they touch and what they are.
DEFECT_KINDS = {
    "duplicate": (
        "(whole row)",
        "A second report of a person already in the file, from another source; "
        "`duplicateOf` names the caseId of the first report.",
    ),
    "name_variant": (
        "givenName, familyName",
        "In a second report, the name is spelled differently (a letter doubled, "
        "dropped, swapped or changed, or the name in capitals).",
    ),
    "definition_change": (
        "isForcedLabour",
        f"From {DEFINITION_CHANGE_YEAR}, the `{DEFINITION_CHANGE_SOURCE}` source also "
        "flags every sexual exploitation case as forced labour.",
    ),
    "duration_in_weeks": (
        TRAFFICK_MONTHS,
        f"The `{WEEKS_SOURCE}` source records the duration in weeks, not months.",
    ),
    "missing_code_-99": (
        TRAFFICK_MONTHS,
        f"The `{MINUS_99_SOURCE}` source writes an unknown duration as `-99`.",
    ),
    "missing_code_00": (
        AGE_BROAD,
        f"The `{AGE_00_SOURCE}` source writes an unknown age band as `00`.",
    ),
    "blank_for_no": (
        "means* flags",
        f"The `{BLANK_FOR_NO_SOURCE}` source leaves a means-of-control box empty "
        "when the answer is no, so an empty cell means either no or unknown.",
    ),
    "date_day_month_year": (
        REGISTRATION_DATE,
        f"The `{DAY_MONTH_YEAR_SOURCE}` source writes dates as day/month/year (`04/03/2019`).",
    ),
    "date_written_out": (
        REGISTRATION_DATE,
        f"The `{WRITTEN_DATE_SOURCE}` source writes dates out in words (`4 March 2019`).",
    ),
    "date_impossible": (
        REGISTRATION_DATE,
        "A date that cannot exist: month above 12 or day past the end of the month (`2019-13-04`, `2019-02-30`).",
    ),
    "country_name": (
        "citizenship, CountryOfExploitation",
        "The country's English name instead of its ISO 3166-1 alpha-2 code.",
    ),
    "country_iso3": (
        "citizenship, CountryOfExploitation",
        "The three-letter ISO 3166-1 alpha-3 code instead of the alpha-2 code.",
    ),
    "country_misspelling": (
        "citizenship, CountryOfExploitation",
        "A misspelled country name.",
    ),
    "age_band_typo": (
        AGE_BROAD,
        "An age band typed differently (`09--17`, `9-17`, `9\u201317`, `9 -- 17`, `48 +`).",
    ),
    "stray_whitespace": (
        ", ".join(WHITESPACE_COLUMNS),
        "Spaces before or after the value.",
    ),
    "inconsistent_casing": (
        ", ".join(CASING_COLUMNS),
        "The value in other capitals (`WOMAN`, `woman`, `Police`).",
    ),
}

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --------------------------------------------------------------------------
# Drawing the people
# --------------------------------------------------------------------------

_NAME_CONSONANTS = "bdfklmnrstvz"
_NAME_VOWELS = "aeiou"
#: Random syllables can spell a slur or a crude word; names containing one of
#: these fragments are drawn again.
_BLOCKED_NAME_FRAGMENTS = ("nazi", "kike", "fuk", "fak", "dik", "kil", "tit", "sod", "nud")


def _acceptable_name(name: str) -> bool:
    return not any(fragment in name.lower() for fragment in _BLOCKED_NAME_FRAGMENTS)


def _pick(rng: np.random.Generator, options, weights) -> object:
    """One of ``options``, drawn with probabilities proportional to ``weights``."""
    weights = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))]


def _syllable_name(rng: np.random.Generator, syllables: int, endings: str) -> str:
    """An obviously invented name built from consonant-vowel syllables."""
    letters = []
    for _ in range(syllables):
        letters.append(_NAME_CONSONANTS[rng.integers(len(_NAME_CONSONANTS))])
        letters.append(_NAME_VOWELS[rng.integers(len(_NAME_VOWELS))])
    ending = rng.integers(len(endings) + 1)
    if ending < len(endings):
        letters.append(endings[ending])
    return "".join(letters).capitalize()


def _age_band(age: int) -> str:
    for label, youngest, oldest in AGE_BANDS:
        if age >= youngest and (oldest is None or age <= oldest):
            return label
    raise ValueError(f"no age band for age {age}")


def _draw_age(rng: np.random.Generator, is_sexual: bool) -> int:
    """An age at registration: about one person in five is a child."""
    child_share = 0.25 if is_sexual else 0.15
    if rng.random() < child_share:
        return int(rng.integers(4, 18))
    return int(min(75, 18 + rng.gamma(2.0, 6.5)))


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _draw_person(rng: np.random.Generator) -> dict[str, str]:
    """One person's clean record (without caseId), every value as text."""
    year = int(rng.choice(YEARS))
    day = int(rng.integers(0, 366 if year % 4 == 0 else 365))
    date = dt.date(year, 1, 1) + dt.timedelta(days=day)
    source = str(_pick(rng, SOURCES, tuple(SOURCE_SHARES.values())))

    forced, sexual, other = _pick(rng, tuple(TYPE_MIX), tuple(TYPE_MIX.values()))
    kind = "sexual" if sexual else ("labour" if forced else "other")
    gender = str(_pick(rng, GENDERS, GENDER_MIX_BY_TYPE[kind]))

    record: dict[str, str] = {
        CASE_ID: "",
        REPORTING_SOURCE: source,
        REGISTRATION_DATE: date.isoformat(),
        YEAR_OF_REGISTRATION: str(year),
        GIVEN_NAME: "",
        FAMILY_NAME: "",
        BIRTH_YEAR: "",
        GENDER: gender,
        AGE_BROAD: "",
        CITIZENSHIP: "",
        COUNTRY_OF_EXPLOITATION: "",
        TRAFFICK_MONTHS: "",
    }
    if rng.random() < AGE_RECORDED_SHARE:
        age = _draw_age(rng, bool(sexual))
        record[BIRTH_YEAR] = str(year - age)
        record[AGE_BROAD] = _age_band(age)

    citizenship = str(_pick(rng, ISO2_CODES, CITIZENSHIP_WEIGHTS))
    if rng.random() < SAME_COUNTRY_SHARE:
        exploitation_country = citizenship
    else:
        exploitation_country = str(_pick(rng, ISO2_CODES, EXPLOITATION_WEIGHTS))
    if rng.random() < CITIZENSHIP_RECORDED_SHARE:
        record[CITIZENSHIP] = citizenship
    if rng.random() < EXPLOITATION_COUNTRY_RECORDED_SHARE:
        record[COUNTRY_OF_EXPLOITATION] = exploitation_country
    if rng.random() < DURATION_RECORDED_SHARE:
        months = int(np.clip(round(rng.lognormal(np.log(6.0), 1.0)), 1, 120))
        record[TRAFFICK_MONTHS] = str(months)

    if rng.random() < MEANS_RECORDED_SHARE:
        for column, probability in MEANS_PROBABILITY.items():
            if column == "meansExcessiveWorkHours" and forced:
                probability = EXCESSIVE_HOURS_PROBABILITY_IN_FORCED_LABOUR
            record[column] = _flag(rng.random() < probability)
    else:
        record.update({column: "" for column in MEANS_COLUMNS})

    record.update({"isForcedLabour": _flag(forced), "isSexualExploit": _flag(sexual), "isOtherExploit": _flag(other)})

    sectors = dict.fromkeys(SECTOR_COLUMNS, "0")
    if rng.random() < SECTOR_RECORDED_SHARE:
        if forced and rng.random() > SECTOR_OUTSIDE_LIST_SHARE:
            sectors[str(_pick(rng, LABOUR_SECTOR_COLUMNS, LABOUR_SECTOR_MIX))] = "1"
        if sexual:
            sectors[str(_pick(rng, SEX_SECTOR_COLUMNS, SEX_SECTOR_MIX))] = "1"
    else:
        sectors = dict.fromkeys(SECTOR_COLUMNS, "")
    record.update(sectors)

    recruiters = dict.fromkeys(RECRUITER_COLUMNS, "")
    if rng.random() < RECRUITER_RECORDED_SHARE:
        partner_share = 0.25 if sexual else 0.05
        recruiter = str(_pick(rng, RECRUITER_COLUMNS, (partner_share, 0.30, 0.25, 0.45 - partner_share)))
        recruiters = {column: _flag(column == recruiter) for column in RECRUITER_COLUMNS}
    record.update(recruiters)
    return record


def _draw_people(rng: np.random.Generator, n_people: int) -> list[dict[str, str]]:
    """``n_people`` clean records with distinct (givenName, familyName) pairs."""
    people = [_draw_person(rng) for _ in range(n_people)]
    used_names: set[tuple[str, str]] = set()
    for person in people:
        while True:
            name = (_syllable_name(rng, 2, "nlr"), _syllable_name(rng, 3, "ns"))
            if name not in used_names and all(_acceptable_name(part) for part in name):
                break
        used_names.add(name)
        person[GIVEN_NAME], person[FAMILY_NAME] = name
    return people


def _duplicate_share(year: int) -> float:
    step = (DUPLICATE_SHARE_LAST_YEAR - DUPLICATE_SHARE_FIRST_YEAR) / (YEARS[-1] - YEARS[0])
    return DUPLICATE_SHARE_FIRST_YEAR + step * (year - YEARS[0])


def _draw_second_reports(rng: np.random.Generator, people: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    """Second reports: (index of the person, clean form of the second report).

    A second report comes from another source, later in the same year, and
    starts as a copy of the first report; its spelling variants are applied
    later, as recorded defects.
    """
    reports = []
    for index, person in enumerate(people):
        year = int(person[YEAR_OF_REGISTRATION])
        if rng.random() >= _duplicate_share(year):
            continue
        others = [source for source in SOURCES if source != person[REPORTING_SOURCE]]
        source = str(_pick(rng, others, [SOURCE_SHARES[s] for s in others]))
        first_date = dt.date.fromisoformat(person[REGISTRATION_DATE])
        days_left = (dt.date(year, 12, 31) - first_date).days
        delay = min(int(rng.integers(7, DUPLICATE_MAX_DELAY_DAYS + 1)), days_left)
        report = dict(person)
        report[REPORTING_SOURCE] = source
        report[REGISTRATION_DATE] = (first_date + dt.timedelta(days=delay)).isoformat()
        reports.append((index, report))
    return reports


def _assign_case_ids(records: list[dict[str, str]]) -> None:
    """Number each source's records in date order: POL-00001, POL-00002, ..."""
    for source in SOURCES:
        own = [i for i, record in enumerate(records) if record[REPORTING_SOURCE] == source]
        own.sort(key=lambda i: (records[i][REGISTRATION_DATE], i))
        for number, i in enumerate(own, start=1):
            records[i][CASE_ID] = f"{CASE_ID_PREFIX[source]}-{number:05d}"


# --------------------------------------------------------------------------
# Injecting defects
# --------------------------------------------------------------------------


class DefectLog:
    """Applies defects to raw rows and records each one in the manifest.

    ``rows`` are the raw rows, still in clean form. Every change goes
    through :meth:`corrupt`, which refuses a change that is no change and a
    second defect in the same cell, so the manifest stays exact.
    """

    def __init__(self, rows: list[dict[str, str]]):
        self.rows = rows
        self.entries: list[dict[str, object]] = []
        self._touched: set[tuple[int, str]] = set()

    def is_untouched(self, row: int, column: str) -> bool:
        return (row, column) not in self._touched

    def corrupt(self, row: int, column: str, dirty: str, kind: str) -> None:
        clean = self.rows[row][column]
        if dirty == clean:
            raise ValueError(f"defect {kind} leaves row {row} {column} unchanged")
        if not self.is_untouched(row, column):
            raise ValueError(f"row {row} {column} already has a defect")
        self._touched.add((row, column))
        self.rows[row][column] = dirty
        self._record(row, column, kind, clean, dirty, "")

    def mark_duplicate(self, row: int, first_case_id: str) -> None:
        self._record(row, "", "duplicate", "", "", first_case_id)

    def _record(self, row, column, kind, clean, dirty, duplicate_of) -> None:
        if kind not in DEFECT_KINDS:
            raise ValueError(f"undocumented defect kind {kind!r}")
        self.entries.append(
            {
                "rawRow": row,
                CASE_ID: self.rows[row][CASE_ID],
                "column": column,
                "defect": kind,
                "cleanValue": clean,
                "dirtyValue": dirty,
                "duplicateOf": duplicate_of,
            }
        )

    def manifest(self) -> pd.DataFrame:
        """The manifest, ordered by raw row and then column order."""
        column_order = {column: i for i, column in enumerate(("",) + COLUMNS)}
        entries = sorted(self.entries, key=lambda e: (e["rawRow"], column_order[e["column"]]))
        return pd.DataFrame(entries, columns=MANIFEST_COLUMNS)


def _name_variant(rng: np.random.Generator, name: str) -> str:
    """A spelling variant of ``name`` that differs from it."""
    while True:
        operation = int(rng.integers(5))
        letters = list(name)
        position = int(rng.integers(1, len(letters)))
        if operation == 0:  # double a letter
            letters.insert(position, letters[position])
        elif operation == 1 and len(letters) > 3:  # drop a letter
            del letters[position]
        elif operation == 2 and position < len(letters) - 1:  # swap two letters
            letters[position], letters[position + 1] = letters[position + 1], letters[position]
        elif operation == 3 and letters[position] in _NAME_VOWELS:  # change a vowel
            letters[position] = _NAME_VOWELS[int(rng.integers(len(_NAME_VOWELS)))]
        elif operation == 4:  # capitals
            letters = list(name.upper())
        variant = "".join(letters)
        if variant != name and _acceptable_name(variant):
            return variant


def _age_band_typo(rng: np.random.Generator, band: str) -> str:
    if band == "48+":
        variants = ["48 +", "48 plus", "48+ years"]
    else:
        low, high = band.split("--")
        variants = [f"{low}-{high}", f"{low}\u2013{high}", f"{low} -- {high}", f"{low}--{high}."]
        if len(low) == 1:
            variants.append(f"0{low}--{high}")
    return variants[int(rng.integers(len(variants)))]


def _impossible_date(rng: np.random.Generator, date: dt.date) -> str:
    """An ISO-looking date that cannot exist, e.g. 2019-13-45 or 2019-02-30."""
    if date.day > 12 and rng.random() < 0.5:  # day and month swapped
        return f"{date.year}-{date.day:02d}-{date.month:02d}"
    if rng.random() < 0.5:  # a day past the end of the month
        next_month = dt.date(date.year + date.month // 12, date.month % 12 + 1, 1)
        last_day = (next_month - dt.timedelta(days=1)).day
        return f"{date.year}-{date.month:02d}-{int(rng.integers(last_day + 1, 46)):02d}"
    return f"{date.year}-{int(rng.integers(13, 20)):02d}-{date.day:02d}"


def _with_stray_whitespace(rng: np.random.Generator, value: str) -> str:
    return (f" {value}", f"{value} ", f"  {value}", f" {value} ")[int(rng.integers(4))]


def _with_other_casing(rng: np.random.Generator, value: str) -> str:
    variants = [v for v in (value.upper(), value.lower(), value.title()) if v != value]
    return variants[int(rng.integers(len(variants)))]


def _inject_defects(rng: np.random.Generator, rows: list[dict[str, str]], first_report_of: dict[int, str]) -> DefectLog:
    """Apply every documented defect to ``rows`` (raw order) and log it.

    ``first_report_of`` maps the raw row of each second report to the caseId
    of the person's first report.
    """
    log = DefectLog(rows)

    # Second reports, with spelling variants of the name.
    for row in sorted(first_report_of):
        log.mark_duplicate(row, first_report_of[row])
        if rng.random() >= DUPLICATE_EXACT_NAME_SHARE:
            changed = (GIVEN_NAME, FAMILY_NAME, "both")[int(rng.integers(3))]
            for column in (GIVEN_NAME, FAMILY_NAME):
                if changed in (column, "both"):
                    log.corrupt(row, column, _name_variant(rng, rows[row][column]), "name_variant")

    # Habits of one source each.
    for row, record in enumerate(rows):
        source = record[REPORTING_SOURCE]
        year = int(record[YEAR_OF_REGISTRATION])
        date = dt.date.fromisoformat(record[REGISTRATION_DATE])
        if (
            source == DEFINITION_CHANGE_SOURCE
            and year >= DEFINITION_CHANGE_YEAR
            and record["isSexualExploit"] == "1"
            and record["isForcedLabour"] == "0"
        ):
            log.corrupt(row, "isForcedLabour", "1", "definition_change")
        if source == WEEKS_SOURCE and record[TRAFFICK_MONTHS]:
            weeks = round(int(record[TRAFFICK_MONTHS]) * 52 / 12)
            log.corrupt(row, TRAFFICK_MONTHS, str(weeks), "duration_in_weeks")
        if source == MINUS_99_SOURCE and not record[TRAFFICK_MONTHS]:
            log.corrupt(row, TRAFFICK_MONTHS, "-99", "missing_code_-99")
        if source == AGE_00_SOURCE and not record[AGE_BROAD]:
            log.corrupt(row, AGE_BROAD, "00", "missing_code_00")
        if source == BLANK_FOR_NO_SOURCE:
            for column in MEANS_COLUMNS:
                if record[column] == "0":
                    log.corrupt(row, column, "", "blank_for_no")
        if source == DAY_MONTH_YEAR_SOURCE:
            log.corrupt(row, REGISTRATION_DATE, date.strftime("%d/%m/%Y"), "date_day_month_year")
        if source == WRITTEN_DATE_SOURCE:
            written = f"{date.day} {MONTH_NAMES[date.month - 1]} {date.year}"
            log.corrupt(row, REGISTRATION_DATE, written, "date_written_out")

    # Slips that can happen in any source, drawn cell by cell.
    for row, record in enumerate(rows):
        if record[REPORTING_SOURCE] in ISO_DATE_SOURCES and rng.random() < IMPOSSIBLE_DATE_RATE:
            date = dt.date.fromisoformat(record[REGISTRATION_DATE])
            log.corrupt(row, REGISTRATION_DATE, _impossible_date(rng, date), "date_impossible")
        for column in (CITIZENSHIP, COUNTRY_OF_EXPLOITATION):
            code, draw = record[column], rng.random()
            if not code or not log.is_untouched(row, column):
                continue
            country = COUNTRY_BY_ISO2[code]
            if draw < COUNTRY_NAME_RATE:
                log.corrupt(row, column, country.name, "country_name")
            elif draw < COUNTRY_NAME_RATE + COUNTRY_ISO3_RATE:
                log.corrupt(row, column, country.iso3, "country_iso3")
            elif draw < COUNTRY_NAME_RATE + COUNTRY_ISO3_RATE + COUNTRY_MISSPELLING_RATE:
                log.corrupt(row, column, country.misspelling, "country_misspelling")
        draw = rng.random()
        if record[AGE_BROAD] in AGE_BAND_LABELS and draw < AGE_BAND_TYPO_RATE:
            log.corrupt(row, AGE_BROAD, _age_band_typo(rng, record[AGE_BROAD]), "age_band_typo")
        for column in WHITESPACE_COLUMNS:
            draw = rng.random()
            if record[column] and log.is_untouched(row, column) and draw < STRAY_WHITESPACE_RATE:
                log.corrupt(row, column, _with_stray_whitespace(rng, record[column]), "stray_whitespace")
        for column in CASING_COLUMNS:
            draw = rng.random()
            if log.is_untouched(row, column) and draw < CASING_RATE:
                log.corrupt(row, column, _with_other_casing(rng, record[column]), "inconsistent_casing")
    return log


# --------------------------------------------------------------------------
# Figures for the datasheet (computed from the tables as written)
# --------------------------------------------------------------------------


def _share(values: pd.Series, flag: str = "1") -> float:
    """Share of cells equal to ``flag`` (NaN for no cells)."""
    return float((values == flag).mean()) if len(values) else float("nan")


def _naive_mean(values: pd.Series) -> float:
    """The mean pandas reports for a column of numbers read with default options."""
    return float(pd.to_numeric(values.replace("", np.nan)).mean())


def _defect_table(manifest: pd.DataFrame, n_raw: int) -> str:
    rows = []
    for kind, (columns, description) in DEFECT_KINDS.items():
        entries = manifest[manifest["defect"] == kind]
        rows_hit = entries["rawRow"].nunique()
        rows.append(
            [f"`{kind}`", columns, fmt_int(len(entries)), fmt_int(rows_hit), fmt_pct(rows_hit / n_raw), description]
        )
    headers = ["Defect", "Column(s)", "Cells", "Raw rows", "Share of raw rows", "What it is"]
    return markdown_table(headers, rows)


def _namibia_table(clean: pd.DataFrame, raw: pd.DataFrame) -> str:
    rows = []
    for column in (CITIZENSHIP, COUNTRY_OF_EXPLOITATION):
        in_clean, in_raw = int((clean[column] == "NA").sum()), int((raw[column] == "NA").sum())
        clean_share, raw_share = fmt_pct(in_clean / len(clean)), fmt_pct(in_raw / len(raw))
        rows.append([f"`{column}`", fmt_int(in_clean), clean_share, fmt_int(in_raw), raw_share])
    headers = ["Column", "Clean rows with NA", "Share of clean rows", "Raw rows with NA", "Share of raw rows"]
    return markdown_table(headers, rows)


def _headline_table(clean: pd.DataFrame, raw: pd.DataFrame) -> str:
    rows = [["Rows (cases)", fmt_int(len(clean)), fmt_int(len(raw))]]
    for column in TYPE_COLUMNS:
        rows.append([f"Share with `{column}` = 1", fmt_pct(_share(clean[column])), fmt_pct(_share(raw[column]))])
    rows.append(
        [
            "Mean `traffickMonths`",
            fmt_num(_naive_mean(clean[TRAFFICK_MONTHS])),
            fmt_num(_naive_mean(raw[TRAFFICK_MONTHS])),
        ]
    )
    return markdown_table(["Figure", "Clean file", "Naive reading of the raw file"], rows)


def _year_table(clean: pd.DataFrame, raw: pd.DataFrame) -> str:
    rows = []
    for year in YEARS:
        clean_rows = clean[clean[YEAR_OF_REGISTRATION] == str(year)]
        raw_rows = raw[raw[YEAR_OF_REGISTRATION] == str(year)]
        rows.append(
            [
                str(year),
                fmt_int(len(clean_rows)),
                fmt_int(len(raw_rows)),
                fmt_pct(_share(clean_rows["isForcedLabour"])),
                fmt_pct(_share(raw_rows["isForcedLabour"])),
            ]
        )
    headers = ["Year", "Clean cases", "Raw rows", "Forced labour share (clean)", "Forced labour share (raw)"]
    return markdown_table(headers, rows)


def _source_table(clean: pd.DataFrame, raw: pd.DataFrame) -> str:
    """Forced labour share by source, before and after the definition change.

    Raw source names are stripped and lower-cased first (casing and
    whitespace defects would otherwise split them).
    """
    periods = {
        f"{YEARS[0]}–{DEFINITION_CHANGE_YEAR - 1}": lambda years: years < DEFINITION_CHANGE_YEAR,
        f"{DEFINITION_CHANGE_YEAR}–{YEARS[-1]}": lambda years: years >= DEFINITION_CHANGE_YEAR,
    }
    frames = {
        "Clean": (clean, clean[REPORTING_SOURCE]),
        "Raw": (raw, raw[REPORTING_SOURCE].str.strip().str.lower()),
    }
    rows = []
    for source in SOURCES:
        cells = [f"`{source}`"]
        for frame, sources in frames.values():
            years = frame[YEAR_OF_REGISTRATION].astype(int)
            for in_period in periods.values():
                selected = (sources == source) & in_period(years)
                cells.append(fmt_pct(_share(frame.loc[selected, "isForcedLabour"])))
        rows.append(cells)
    headers = ["Source"] + [f"{label} {period}" for label in frames for period in periods]
    return markdown_table(headers, rows)


def _figures(clean: pd.DataFrame, raw: pd.DataFrame, manifest: pd.DataFrame) -> dict[str, str]:
    """Every figure the datasheet template needs, computed from the tables."""
    return {
        "n_clean": fmt_int(len(clean)),
        "n_raw": fmt_int(len(raw)),
        "n_manifest": fmt_int(len(manifest)),
        "n_duplicates": fmt_int((manifest["defect"] == "duplicate").sum()),
        "first_year": str(YEARS[0]),
        "last_year": str(YEARS[-1]),
        "n_countries": str(len(COUNTRIES)),
        "max_delay": str(DUPLICATE_MAX_DELAY_DAYS),
        "duplicate_share_first": fmt_pct(DUPLICATE_SHARE_FIRST_YEAR, 0),
        "duplicate_share_last": fmt_pct(DUPLICATE_SHARE_LAST_YEAR, 0),
        "definition_change_source": DEFINITION_CHANGE_SOURCE,
        "definition_change_year": str(DEFINITION_CHANGE_YEAR),
        "weeks_source": WEEKS_SOURCE,
        "blank_for_no_source": BLANK_FOR_NO_SOURCE,
        "columns_table": markdown_table(
            ["Column", "Type (clean file)", "Description"],
            [[f"`{f['name']}`", f["type"], f["description"]] for f in _schema_fields(raw=False)],
        ),
        "defect_table": _defect_table(manifest, len(raw)),
        "namibia_table": _namibia_table(clean, raw),
        "headline_table": _headline_table(clean, raw),
        "year_table": _year_table(clean, raw),
        "source_table": _source_table(clean, raw),
    }


# --------------------------------------------------------------------------
# Table Schemas for datapackage.json
# --------------------------------------------------------------------------

#: Columns whose raw values need not fit the clean file's type or constraints.
RAW_LOOSE_COLUMNS = (
    REPORTING_SOURCE,
    REGISTRATION_DATE,
    GIVEN_NAME,
    FAMILY_NAME,
    GENDER,
    AGE_BROAD,
    CITIZENSHIP,
    COUNTRY_OF_EXPLOITATION,
    TRAFFICK_MONTHS,
)

_FLAG_DESCRIPTIONS = {
    "meansDebtBondageEarnings": "Means of control: debt bondage or withheld earnings.",
    "meansThreats": "Means of control: threats.",
    "meansAbusePsyPhySex": "Means of control: psychological, physical or sexual abuse.",
    "meansFalsePromises": "Means of control: false promises.",
    "meansDrugsAlcohol": "Means of control: drugs or alcohol.",
    "meansDenyBasicNeeds": "Means of control: denial of basic needs.",
    "meansExcessiveWorkHours": "Means of control: excessive working hours.",
    "meansWithholdDocs": "Means of control: identity documents withheld.",
    "isForcedLabour": "Type of exploitation: forced labour.",
    "isSexualExploit": "Type of exploitation: sexual exploitation.",
    "isOtherExploit": "Type of exploitation: another type.",
    "sectorOfLabourAgriculture": "Sector: agriculture.",
    "sectorOfLabourConstruction": "Sector: construction.",
    "sectorOfLabourDomesticWork": "Sector: domestic work.",
    "sectorOfLabourHospitality": "Sector: hospitality.",
    "sectorOfSexProstitution": "Sector of sexual exploitation: prostitution.",
    "sectorOfSexPornography": "Sector of sexual exploitation: pornography.",
    "recruiterRelationIntimatePartner": "Recruiter was an intimate partner.",
    "recruiterRelationFriend": "Recruiter was a friend.",
    "recruiterRelationFamily": "Recruiter was a family member.",
    "recruiterRelationOther": "Recruiter had another relation.",
}


def _schema_fields(raw: bool) -> list[dict]:
    """Table Schema fields for the clean file or (``raw=True``) the raw file.

    In the raw file, the columns that carry defects keep no constraints, and
    those whose dirty values are not of the clean type become strings, so
    that the raw file validates with its defects.
    """
    fields = [
        schema_field(
            CASE_ID,
            "string",
            "Case identifier: source prefix and number.",
            required=True,
            unique=True,
            pattern=r"(POL|NGO|HTL|AST)-\d{5}",
        ),
        schema_field(
            REPORTING_SOURCE, "string", "Organisation that reported the case.", required=True, enum=list(SOURCES)
        ),
        schema_field(REGISTRATION_DATE, "date", "Date the case was registered (YYYY-MM-DD).", required=True),
        schema_field(
            YEAR_OF_REGISTRATION,
            "integer",
            "Year the case was registered.",
            required=True,
            minimum=YEARS[0],
            maximum=YEARS[-1],
        ),
        schema_field(
            GIVEN_NAME, "string", "Synthetic given name (random syllables).", required=True, pattern="[A-Z][a-z]+"
        ),
        schema_field(
            FAMILY_NAME, "string", "Synthetic family name (random syllables).", required=True, pattern="[A-Z][a-z]+"
        ),
        schema_field(
            BIRTH_YEAR, "integer", "Year of birth; empty if not recorded.", minimum=YEARS[0] - 80, maximum=YEARS[-1]
        ),
        schema_field(GENDER, "string", "Gender as recorded.", enum=list(GENDERS)),
        schema_field(
            AGE_BROAD, "string", "Age band at registration; empty if not recorded.", enum=list(AGE_BAND_LABELS)
        ),
        schema_field(CITIZENSHIP, "string", "Citizenship, ISO 3166-1 alpha-2 (NA is Namibia).", enum=list(ISO2_CODES)),
        schema_field(
            COUNTRY_OF_EXPLOITATION,
            "string",
            "Country of exploitation, ISO 3166-1 alpha-2 (NA is Namibia).",
            enum=list(ISO2_CODES),
        ),
        schema_field(TRAFFICK_MONTHS, "integer", "Duration of the exploitation in months.", minimum=1),
    ]
    fields += [schema_field(column, "integer", _FLAG_DESCRIPTIONS[column], enum=[0, 1]) for column in FLAG_COLUMNS]
    if raw:
        for field in fields:
            if field["name"] in RAW_LOOSE_COLUMNS:
                field.pop("constraints", None)
                if field["type"] == "date":
                    field["type"] = "string"
                    field["description"] = "Date the case was registered, in the source's own format."
    return fields


def resources() -> list[dict]:
    """Data Package resource descriptors for this dataset's CSV files."""
    manifest_fields = [
        schema_field("rawRow", "integer", "0-based row number in case_records_raw.csv.", required=True, minimum=0),
        schema_field(CASE_ID, "string", "caseId of that raw row.", required=True),
        schema_field("column", "string", "Changed column; empty for a duplicate row.", enum=list(COLUMNS)),
        schema_field("defect", "string", "Kind of defect.", required=True, enum=list(DEFECT_KINDS)),
        schema_field("cleanValue", "string", "The cell's text in clean form (empty: missing)."),
        schema_field("dirtyValue", "string", "The cell's text in the raw file (empty: blank)."),
        schema_field("duplicateOf", "string", "For a duplicate row, caseId of the first report."),
    ]
    return [
        csv_resource(
            CLEAN_FILE,
            "Case records (clean ground truth)",
            "One row per synthetic person; the ground truth for the dirty-data lab.",
            _schema_fields(raw=False),
            primary_key=[CASE_ID],
        ),
        csv_resource(
            RAW_FILE,
            "Case records (raw merged export)",
            "The same synthetic people as a messy merged export with duplicates and injected defects.",
            _schema_fields(raw=True),
            primary_key=[CASE_ID],
        ),
        csv_resource(
            DEFECTS_FILE,
            "Case records: defect manifest",
            "Every defect injected into the raw file, with clean and dirty values.",
            manifest_fields,
        ),
    ]


# --------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------


def generate(seed: int) -> GeneratedDataset:
    """Draw the people, build the three tables and render the datasheet."""
    rng = rng_for(seed, NAME)
    people = _draw_people(rng, N_PEOPLE)
    second_reports = _draw_second_reports(rng, people)

    records = [dict(person) for person in people] + [report for _, report in second_reports]
    _assign_case_ids(records)
    first_case_id = {
        len(people) + k: records[person_index][CASE_ID] for k, (person_index, _) in enumerate(second_reports)
    }

    raw_order = sorted(range(len(records)), key=lambda i: records[i][CASE_ID])
    raw_rows = [dict(records[i]) for i in raw_order]
    raw_row_of = {record_index: row for row, record_index in enumerate(raw_order)}
    first_report_of = {raw_row_of[i]: case_id for i, case_id in first_case_id.items()}
    log = _inject_defects(rng, raw_rows, first_report_of)

    clean_rows = sorted(records[: len(people)], key=lambda record: record[CASE_ID])
    clean = pd.DataFrame(clean_rows, columns=list(COLUMNS), dtype=object)
    raw = pd.DataFrame(raw_rows, columns=list(COLUMNS), dtype=object)
    manifest = log.manifest()

    figures = _figures(clean, raw, manifest)
    datasheet = render_datasheet(figures, name=NAME, module=__name__, seed=seed)
    tables = {CLEAN_FILE: clean, RAW_FILE: raw, DEFECTS_FILE: manifest}
    files = {name: csv_text(table) for name, table in tables.items()}
    files[DATASHEET_FILE] = datasheet
    return GeneratedDataset(name=NAME, seed=seed, files=files, tables=tables)

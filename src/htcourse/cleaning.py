"""Cleaning steps for the dirty-data lab (Module 6), as small pure functions.

The lab follows the three stages that human-rights statisticians such as
HRDAG keep apart, so that every decision can be seen, re-run and reversed:

1. **Import** (:func:`read_raw_export`): read the export as text, changing
   nothing, so that Namibia's code ``NA`` stays Namibia and ``-99`` stays
   visible.
2. **Clean**: one decision per function. :func:`tidy_text`,
   :func:`replace_missing_codes`, :func:`normalise_country_columns`,
   :func:`fix_age_bands`, :func:`parse_dates`,
   :func:`convert_weeks_to_months`, :func:`resolve_blank_flags` and
   :func:`deduplicate`. Each takes a DataFrame (or Series) and returns a new
   one; none changes its input.
3. **Format** (:func:`format_types`): give every column its type.

:func:`country_matches`, :func:`date_formats` and :func:`flag_answers` show
the evidence behind a decision before it is applied.
:func:`headline_figures` computes the figures a report would quote, and
:class:`StepLog` shows how far each step moves them from a ground truth.
:func:`compare_with_truth` and :func:`score_against_manifest` measure what
the cleaning did not fix. Nothing here is specific to one seed of the
synthetic data: the decisions follow the datasheet
(``datasets/case_records.md``), not the generator's code.

    from htcourse import cleaning, data
    raw = cleaning.read_raw_export(data.path("case_records_raw"))
    step = cleaning.tidy_text(raw)
    step = cleaning.replace_missing_codes(step)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pycountry
from networkx.utils import UnionFind
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

# The columns (CTDC names; see the datasheet) come from htcourse.schema, the
# one place they are declared; they stay importable from here for the labs.
from htcourse.schema import (
    AGE_BANDS,
    AGE_BROAD,
    BIRTH_YEAR,
    CASE_ID,
    CITIZENSHIP,
    COUNTRY_COLUMNS,
    COUNTRY_OF_EXPLOITATION,
    FAMILY_NAME,
    GENDER,
    GIVEN_NAME,
    MEANS_COLUMNS,
    REGISTRATION_DATE,
    REPORTING_SOURCE,
    TRAFFICK_MONTHS,
    TYPE_COLUMNS,
    YEAR_OF_REGISTRATION,
)

# --------------------------------------------------------------------------
# The lab's decisions about those columns
# --------------------------------------------------------------------------

#: Categorical text columns whose spelling should not depend on capitals.
CATEGORY_COLUMNS = (REPORTING_SOURCE, GENDER)
INTEGER_COLUMNS = (YEAR_OF_REGISTRATION, BIRTH_YEAR, TRAFFICK_MONTHS)
#: The age bands of children (under 18).
MINOR_BANDS = AGE_BANDS[:2]
#: Codes that CTDC-style exports use for "not recorded".
MISSING_CODES = ("-99", "00")
#: Date formats tried in turn: ISO, day/month/year, and written out in English.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %B %Y")
WEEKS_PER_MONTH = 52 / 12

#: Labels of the figures in :func:`Headline.as_dict`, in display order.
FIGURE_LABELS = (
    "Cases",
    "Cases by year",
    "Forced labour",
    "Sexual exploitation",
    "Other exploitation",
    "Mean months",
    "Minors",
    "Debt bondage",
    "Citizenship recorded",
    "Citizenships",
)


def flag_columns(df: pd.DataFrame) -> list[str]:
    """The 0/1 flag columns of ``df`` (``means*``, ``is*``, ``sectorOf*``, ``recruiterRelation*``)."""
    pattern = re.compile(r"^(?:means|is|sectorOf|recruiterRelation)[A-Z]")
    return [column for column in df.columns if pattern.match(column)]


def _is_missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object]


def _map_distinct(series: pd.Series, function) -> pd.Series:
    """Apply ``function`` once per distinct non-missing value (fast, and keeps missing as missing)."""
    values = series.dropna().unique()
    mapping = {value: function(value) for value in values}
    result = series.map(mapping)
    return result.astype("str") if all(isinstance(v, str) or v is None for v in mapping.values()) else result


# --------------------------------------------------------------------------
# 1. Import
# --------------------------------------------------------------------------


def read_raw_export(path: str | Path | IO[str]) -> pd.DataFrame:
    """Read a CSV export exactly as delivered: every column as text.

    Only an empty cell becomes missing (``NaN``); pandas' other "missing"
    strings (``NA``, ``N/A``, ``null``, ...) stay text, so Namibia's ISO code
    ``NA`` survives, and so do codes such as ``-99`` and ``00`` that a later,
    explicit step decides about.
    """
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


# --------------------------------------------------------------------------
# 2. Clean
# --------------------------------------------------------------------------


def canonical_casing(series: pd.Series) -> pd.Series:
    """Spell values that differ only in capitals the way they are most often spelled.

    ``["Woman", "WOMAN", "Woman", "woman"]`` becomes ``["Woman"] * 4``. The
    canonical form is chosen from the data (the most frequent spelling; ties
    go to the alphabetically first), not typed in by hand.
    """
    counts = series.dropna().value_counts()
    canonical: dict[str, str] = {}
    for value, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        canonical.setdefault(value.casefold(), value)
    return _map_distinct(series, lambda value: canonical[value.casefold()])


def tidy_text(df: pd.DataFrame, case_columns: Iterable[str] = CATEGORY_COLUMNS) -> pd.DataFrame:
    """Strip spaces around every text value and harmonise capitals in ``case_columns``.

    A value that is only spaces becomes missing. Capitals are harmonised
    with :func:`canonical_casing` (names are left alone: a name in capitals
    is still the same person, which :func:`deduplicate` handles).
    """
    out = df.copy()
    for column in _text_columns(out):
        stripped = out[column].str.strip()
        out[column] = stripped.where(stripped != "")
    for column in case_columns:
        if column in out.columns:
            out[column] = canonical_casing(out[column])
    return out


def replace_missing_codes(
    df: pd.DataFrame, codes: Iterable[str] = MISSING_CODES, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Turn the export's codes for "not recorded" (``-99``, ``00``) into missing values.

    Only exact matches change, and only in text columns (``columns`` limits
    it further). ``NA`` is not a code for missing in this schema: it is
    Namibia, and it is left alone.
    """
    codes = list(codes)
    out = df.copy()
    for column in columns if columns is not None else _text_columns(out):
        out[column] = out[column].where(~out[column].isin(codes))
    return out


@dataclass(frozen=True)
class CountryMatch:
    """How one written country value was matched to an ISO 3166-1 alpha-2 code."""

    value: str
    code: str | None
    method: str  # "alpha_2", "alpha_3", "name", "fuzzy", "ambiguous", "no match" or "missing"
    matched: str | None = None  # the pycountry name a fuzzy match chose
    score: float | None = None  # similarity of a fuzzy match (0 to 1; see match_country)


@functools.lru_cache(maxsize=1)
def _country_names() -> tuple[tuple[str, str], ...]:
    """Every country name pycountry knows (name, official and common name), casefolded, with its alpha-2."""
    names = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                names.setdefault(name.casefold(), country.alpha_2)
    return tuple(sorted(names.items()))


@functools.lru_cache(maxsize=4096)
def _match_country_text(text: str, cutoff: float, margin: float) -> CountryMatch:
    if len(text) == 2 and text.isalpha():
        country = pycountry.countries.get(alpha_2=text.upper())
        if country:
            return CountryMatch(text, country.alpha_2, "alpha_2")
    if len(text) == 3 and text.isalpha():
        country = pycountry.countries.get(alpha_3=text.upper())
        if country:
            return CountryMatch(text, country.alpha_2, "alpha_3")
    try:
        return CountryMatch(text, pycountry.countries.lookup(text).alpha_2, "name")
    except LookupError:
        pass
    # Approximate matching against pycountry's own names: no hand-typed table.
    names = _country_names()
    wanted = text.casefold()
    matches = process.extract(wanted, [name for name, _ in names], scorer=Indel.normalized_similarity, limit=None)
    scored = sorted(((score, *names[index]) for _, score, index in matches), reverse=True)
    best_score, best_name, best_code = scored[0]
    runner_up = next((score for score, _, code in scored if code != best_code), 0.0)
    if best_score < cutoff:
        return CountryMatch(text, None, "no match", best_name, round(best_score, 3))
    if best_score - runner_up < margin:
        return CountryMatch(text, None, "ambiguous", best_name, round(best_score, 3))
    return CountryMatch(text, best_code, "fuzzy", best_name, round(best_score, 3))


def match_country(value: object, cutoff: float = 0.8, margin: float = 0.05) -> CountryMatch:
    """Match a written country (ISO alpha-2, alpha-3, English name or misspelling) with pycountry.

    In order: an ISO 3166-1 alpha-2 code (``"NA"`` is Namibia), an alpha-3
    code (``"NAM"``), any name pycountry's ``countries.lookup`` knows
    (``"Namibia"``, ``"Viet Nam"``), and last an approximate match: the
    similarity of the casefolded text to every name pycountry knows, as
    RapidFuzz's ``Indel.normalized_similarity`` (2 × letters in common, in
    order, / total length; ``fuzz.ratio`` / 100). pycountry's own
    ``countries.search_fuzzy`` only finds names that *contain* the text, so
    it misses misspellings such as ``"Nambia"``. A fuzzy match is accepted
    only if its similarity is at least ``cutoff`` and beats the best other
    country by at least ``margin`` (``"Nigera"`` scores 0.91 against Niger and
    0.92 against Nigeria, so it is left unmatched, method ``"ambiguous"``). Results are
    cached.
    """
    if _is_missing(value):
        return CountryMatch("", None, "missing")
    text = " ".join(str(value).split())
    if not text:
        return CountryMatch(str(value), None, "missing")
    return _match_country_text(text, cutoff, margin)


def normalise_country(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code of a written country, or ``None`` (see :func:`match_country`)."""
    return match_country(value).code


def normalise_countries(series: pd.Series) -> pd.Series:
    """:func:`normalise_country` applied to a column (each distinct value looked up once)."""
    return _map_distinct(series, normalise_country)


def country_matches(series: pd.Series) -> pd.DataFrame:
    """A decision log for a country column: each distinct value, how often it occurs and how it was matched."""
    counts = series.dropna().value_counts()
    rows = [{**asdict(match_country(value)), "rows": int(n)} for value, n in counts.items()]
    columns = ["value", "rows", "code", "method", "matched", "score"]
    return pd.DataFrame(rows, columns=columns)


def normalise_country_columns(df: pd.DataFrame, columns: Iterable[str] = COUNTRY_COLUMNS) -> pd.DataFrame:
    """:func:`normalise_countries` on every country column."""
    out = df.copy()
    for column in columns:
        out[column] = normalise_countries(out[column])
    return out


_AGE_RANGE = re.compile(r"^(\d+)\s*(?:-+|\u2013|\u2014|to)\s*(\d+)\s*\.?$", re.IGNORECASE)
_AGE_OPEN = re.compile(r"^(\d+)\s*(?:\+|plus)\s*(?:years?)?\s*\.?$", re.IGNORECASE)


def fix_age_band(value: object, bands: Iterable[str] = AGE_BANDS) -> str | None:
    """The canonical spelling of an age band, or ``None`` if it is not one.

    ``"09--17"``, ``"9-17"``, ``"9–17"``, ``"9 -- 17"`` and ``"9--17."`` all
    become ``"9--17"``; ``"48 +"``, ``"48 plus"`` and ``"48+ years"`` become
    ``"48+"``. The result must be one of ``bands``: a value such as ``"10--17"``
    that reads as a band but is not one of the schema's bands gives ``None``.
    """
    if _is_missing(value):
        return None
    bands = tuple(bands)
    text = str(value).strip()
    if text in bands:
        return text
    if match := _AGE_RANGE.match(text):
        candidate = f"{int(match.group(1))}--{int(match.group(2))}"
    elif match := _AGE_OPEN.match(text):
        candidate = f"{int(match.group(1))}+"
    else:
        return None
    return candidate if candidate in bands else None


def fix_age_bands(series: pd.Series) -> pd.Series:
    """:func:`fix_age_band` applied to a column; values that are not bands become missing."""
    return _map_distinct(series, fix_age_band)


def parse_dates(series: pd.Series, formats: Iterable[str] = DATE_FORMATS) -> pd.Series:
    """Parse dates written in several formats; a date that cannot exist becomes ``NaT``.

    Each format is tried in turn with an explicit ``format`` (never guessed),
    so ``04/03/2019`` is read day first as the datasheet documents, and
    ``2019-02-30`` or ``2019-13-04`` fail instead of being silently moved.
    """
    text = series.astype("str").str.strip()
    result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    for date_format in formats:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        result = result.fillna(parsed.astype("datetime64[us]"))
    return result


def date_formats(series: pd.Series, formats: Iterable[str] = DATE_FORMATS) -> pd.Series:
    """For each value, the first of ``formats`` that reads it as a real date (missing if none does).

    Evidence for :func:`parse_dates`: a crosstab of this against the
    reporting source shows each source's habit.
    """
    text = series.astype("str").str.strip()
    result = pd.Series(np.nan, index=series.index, dtype=object)
    for date_format in formats:
        readable = pd.to_datetime(text, format=date_format, errors="coerce").notna()
        result = result.where(result.notna() | ~readable, date_format)
    return result


def convert_weeks_to_months(
    df: pd.DataFrame,
    *,
    source: str,
    column: str = TRAFFICK_MONTHS,
    source_column: str = REPORTING_SOURCE,
) -> pd.DataFrame:
    """Convert ``column`` from weeks to months in the rows of one reporting ``source``.

    months = weeks × 12 / 52, rounded to a whole month. The column becomes
    numbers (``Int64``) for every row; text that is not a number becomes
    missing, so run :func:`replace_missing_codes` first.
    """
    out = df.copy()
    values = pd.to_numeric(out[column], errors="coerce").astype("Float64")
    in_weeks = out[source_column].eq(source).fillna(False) & values.notna()
    values = values.where(~in_weeks, (values / WEEKS_PER_MONTH).round())
    out[column] = values.round().astype("Int64")
    return out


def resolve_blank_flags(
    df: pd.DataFrame,
    *,
    source: str,
    columns: Iterable[str] = MEANS_COLUMNS,
    source_column: str = REPORTING_SOURCE,
) -> pd.DataFrame:
    """Read a blank flag as "no" in the rows of a ``source`` that leaves "no" blank.

    The rule, for that source only: if a row has at least one of ``columns``
    filled in, the form was filled in, so its blank boxes mean no (0). If
    every box is blank, the question may never have been asked, so the row
    stays missing (a row whose true answers were all "no" cannot be told
    apart, and stays missing too).
    """
    columns = list(columns)
    out = df.copy()
    rows = out[source_column].eq(source).fillna(False) & out[columns].notna().any(axis=1)
    for column in columns:
        no = 0 if pd.api.types.is_numeric_dtype(out[column]) else "0"
        out.loc[rows & out[column].isna(), column] = no
    return out


def flag_answers(df: pd.DataFrame, columns: Iterable[str] = MEANS_COLUMNS, by: str = REPORTING_SOURCE) -> pd.DataFrame:
    """Share of ``columns`` cells that are blank, "no" (0) and "yes" (1), in each group of ``by``.

    Evidence for :func:`resolve_blank_flags`: a source whose boxes never say
    "no" leaves them blank instead.
    """
    cells = df[list(columns)].apply(_numbers)
    groups = df[by]
    table = pd.DataFrame(
        {
            "blank": cells.isna().groupby(groups).mean().mean(axis=1),
            "no (0)": cells.eq(0).fillna(False).groupby(groups).mean().mean(axis=1),
            "yes (1)": cells.eq(1).fillna(False).groupby(groups).mean().mean(axis=1),
        }
    )
    table.index.name = by
    return table


def name_distance(a: str, b: str) -> int:
    """Edits between two names, ignoring capitals (optimal string alignment distance, RapidFuzz's ``OSA``).

    An edit is one letter inserted, dropped or changed, or two neighbouring
    letters swapped: ``name_distance("Lovun", "LOVUUN") == 1``.
    """
    return OSA.distance(a.casefold(), b.casefold())


#: Fields a second report copies from the first (once cleaned): records are compared only within these blocks.
DUPLICATE_BLOCK = (YEAR_OF_REGISTRATION, GENDER, BIRTH_YEAR, CITIZENSHIP, COUNTRY_OF_EXPLOITATION)


def find_duplicates(
    df: pd.DataFrame,
    *,
    block_on: Iterable[str] = DUPLICATE_BLOCK,
    max_name_edits: int = 1,
    max_days: int = 120,
    other_source_only: bool = True,
) -> pd.DataFrame:
    """Pairs of rows that look like two reports of the same person.

    Two rows match if they agree on every column of ``block_on`` (two
    missing values agree), their given names and their family names are
    each at most ``max_name_edits`` apart (:func:`name_distance`), their
    registration dates are at most ``max_days`` apart (unknown dates do not
    rule a match out) and, with ``other_source_only``, they come from
    different reporting sources. Matches are grouped (if A matches B and B
    matches C, all three are one person) and in each group the earliest
    report is kept as the first; a report with an unknown date counts as
    later than any known one, and ties go to the smaller ``caseId``.

    Returns one row per later report: ``caseId``, ``duplicateOf`` (the
    caseId of the first report) and both names of each.
    """
    block_on = list(block_on)
    dates = df[REGISTRATION_DATE]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = parse_dates(dates)
    order = pd.DataFrame(
        {"date": dates.to_numpy(), "unknown": dates.isna().to_numpy(), CASE_ID: df[CASE_ID].to_numpy()},
        index=df.index,
    ).sort_values(["unknown", "date", CASE_ID])
    rank = pd.Series(np.arange(len(order)), index=order.index)

    groups = UnionFind(df.index)
    keys = df[block_on].astype("str").fillna("\u2205")
    given = df[GIVEN_NAME].astype("str").fillna("")
    family = df[FAMILY_NAME].astype("str").fillna("")
    sources = df[REPORTING_SOURCE] if REPORTING_SOURCE in df else pd.Series("", index=df.index)
    for _, group in keys.groupby(block_on, sort=False, dropna=False):
        if len(group) < 2:
            continue
        members = list(group.index)
        for position, i in enumerate(members):
            for j in members[position + 1 :]:
                if other_source_only and sources[i] == sources[j]:
                    continue
                if pd.notna(dates[i]) and pd.notna(dates[j]) and abs((dates[i] - dates[j]).days) > max_days:
                    continue
                if name_distance(given[i], given[j]) > max_name_edits:
                    continue
                if name_distance(family[i], family[j]) > max_name_edits:
                    continue
                groups.union(i, j)

    first_of = {}
    for members in groups.to_sets():
        first = min(members, key=rank.__getitem__)
        first_of.update(dict.fromkeys(members, first))
    rows = []
    for index in df.index:
        first = first_of[index]
        if first != index:
            rows.append(
                {
                    CASE_ID: df.at[index, CASE_ID],
                    "duplicateOf": df.at[first, CASE_ID],
                    "name": f"{given[index]} {family[index]}",
                    "firstName": f"{given[first]} {family[first]}",
                }
            )
    return pd.DataFrame(rows, columns=[CASE_ID, "duplicateOf", "name", "firstName"])


def deduplicate(df: pd.DataFrame, **options) -> pd.DataFrame:
    """``df`` without the later reports that :func:`find_duplicates` finds (options are passed on)."""
    later = set(find_duplicates(df, **options)[CASE_ID])
    return df[~df[CASE_ID].isin(later)].copy()


# --------------------------------------------------------------------------
# 3. Format
# --------------------------------------------------------------------------


def format_types(df: pd.DataFrame) -> pd.DataFrame:
    """Give every column of a cleaned frame its type.

    Dates become ``datetime64``; years, birth years and months ``Int64``;
    flags ``Int8`` (0, 1 or missing); ``ageBroad`` an ordered category with
    the CTDC bands; source and gender categories; everything else a string.
    Works on the clean ground-truth file read with :func:`read_raw_export` too.
    """
    out = df.copy()
    flags = flag_columns(out)
    for column in out.columns:
        values = out[column]
        if column == REGISTRATION_DATE:
            out[column] = values if pd.api.types.is_datetime64_any_dtype(values) else parse_dates(values)
        elif column in INTEGER_COLUMNS:
            out[column] = pd.to_numeric(values, errors="coerce").astype("Float64").round().astype("Int64")
        elif column in flags:
            out[column] = pd.to_numeric(values, errors="coerce").astype("Float64").round().astype("Int8")
        elif column == AGE_BROAD:
            out[column] = pd.Categorical(values, categories=AGE_BANDS, ordered=True)
        elif column in CATEGORY_COLUMNS:
            out[column] = values.astype("category")
        else:
            out[column] = values.astype("string")
    return out


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every value as canonical text ("" for missing): dates as YYYY-MM-DD, whole numbers without ".0".

    Used to compare a cleaned frame, whatever its types, with the ground
    truth or the defect manifest cell by cell.
    """

    def text(value: object) -> str:
        if _is_missing(value):
            return ""
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d")
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return str(int(value))
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return pd.DataFrame({column: [text(v) for v in df[column]] for column in df.columns}, index=df.index)


# --------------------------------------------------------------------------
# Headline figures and how far they are from the truth
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The figures a report on the case records would quote.

    The three headline figures are ``cases`` (number of rows), ``type_shares``
    (share of rows with each exploitation-type flag = 1) and
    ``cases_by_year``. The others show what particular cleaning steps move.
    """

    cases: int
    type_shares: dict[str, float]
    cases_by_year: dict[int, int]
    mean_months: float
    minor_share: float
    debt_bondage_share: float
    citizenship_recorded: float
    citizenships: int

    def as_dict(self) -> dict[str, float]:
        """The scalar figures, labelled as in :data:`FIGURE_LABELS` (without "Cases by year").

        Cases: rows. Forced labour, Sexual exploitation, Other exploitation:
        share of rows with that type flag = 1. Mean months: mean duration.
        Minors: share of rows with an age band that are 0--8 or 9--17. Debt
        bondage: share of rows answering the debt-bondage flag that say yes.
        Citizenship recorded: share of rows with a citizenship. Citizenships:
        number of distinct values written in the citizenship column.
        """
        return {
            "Cases": self.cases,
            "Forced labour": self.type_shares["isForcedLabour"],
            "Sexual exploitation": self.type_shares["isSexualExploit"],
            "Other exploitation": self.type_shares["isOtherExploit"],
            "Mean months": self.mean_months,
            "Minors": self.minor_share,
            "Debt bondage": self.debt_bondage_share,
            "Citizenship recorded": self.citizenship_recorded,
            "Citizenships": self.citizenships,
        }


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else float("nan")


def headline_figures(df: pd.DataFrame) -> Headline:
    """The headline figures of a case-records frame, at any stage of cleaning.

    Works on text (as imported), on pandas' default reading and on typed
    frames: flags count as "yes" only where they read as the number 1;
    durations are averaged over whatever reads as a number (so an
    uncleaned ``-99`` pulls the mean down, as it would in a careless
    report); minors are a share of the rows whose age band is filled in, and
    debt bondage a share of the rows where that flag reads 0 or 1.
    """
    n = len(df)
    years = _numbers(df[YEAR_OF_REGISTRATION]).dropna().astype(int)
    ages = df[AGE_BROAD]
    debt = _numbers(df["meansDebtBondageEarnings"])
    citizenship = df[CITIZENSHIP]
    return Headline(
        cases=n,
        type_shares={c: _ratio((_numbers(df[c]) == 1).sum(), n) for c in TYPE_COLUMNS},
        cases_by_year={int(y): int(k) for y, k in years.value_counts().sort_index().items()},
        mean_months=float(_numbers(df[TRAFFICK_MONTHS]).mean()),
        minor_share=_ratio(ages.isin(MINOR_BANDS).sum(), ages.notna().sum()),
        debt_bondage_share=_ratio((debt == 1).sum(), debt.isin([0, 1]).sum()),
        citizenship_recorded=_ratio(citizenship.notna().sum(), n),
        citizenships=int(citizenship.dropna().nunique()),
    )


def _relative_error(value: float, truth: float) -> float:
    return 100 * (value - truth) / truth if truth else float("nan")


def headline_errors(figures: Headline, truth: Headline) -> dict[str, float]:
    """How far each figure is from the truth, in % of the true value (signed).

    "Cases by year" is the mean absolute error over the years, in % of each
    year's true count (a year missing on one side counts as 0 cases there).
    """
    errors = {label: _relative_error(value, truth.as_dict()[label]) for label, value in figures.as_dict().items()}
    years = sorted(set(figures.cases_by_year) | set(truth.cases_by_year))
    per_year = [
        abs(_relative_error(figures.cases_by_year.get(y, 0), truth.cases_by_year[y]))
        if truth.cases_by_year.get(y)
        else 100.0
        for y in years
    ]
    errors["Cases by year"] = float(np.mean(per_year)) if per_year else float("nan")
    return {label: errors[label] for label in FIGURE_LABELS}


def headline_table(frames: Mapping[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """Errors (% of the true value) of several frames' headline figures: one row per frame."""
    truth_figures = headline_figures(truth)
    rows = {label: headline_errors(headline_figures(frame), truth_figures) for label, frame in frames.items()}
    return pd.DataFrame.from_dict(rows, orient="index").round(1) + 0.0


class StepLog:
    """A table that grows by one row per cleaning step: how far the headline figures are from the truth.

    log = StepLog(truth)
    log.record("Imported as text", raw)   # returns the table so far
    """

    def __init__(self, truth: pd.DataFrame):
        self.truth = headline_figures(truth)
        self._figures: dict[str, Headline] = {}

    def record(self, step: str, df: pd.DataFrame) -> pd.DataFrame:
        """Add (or replace) the row for ``step`` and return the error table so far."""
        self._figures[step] = headline_figures(df)
        return self.errors()

    @property
    def steps(self) -> list[str]:
        return list(self._figures)

    def errors(self) -> pd.DataFrame:
        """Signed errors in % of the true value; one row per step, one column per figure."""
        rows = {step: headline_errors(figures, self.truth) for step, figures in self._figures.items()}
        table = pd.DataFrame.from_dict(rows, orient="index", columns=list(FIGURE_LABELS))
        table.index.name = "Step"
        return table.round(1) + 0.0  # + 0.0 turns -0.0 into 0.0

    def figures(self) -> pd.DataFrame:
        """The figures themselves, one row per step, with the ground truth as the last row."""
        rows = {step: figures.as_dict() for step, figures in self._figures.items()}
        rows["Ground truth"] = self.truth.as_dict()
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "Step"
        return table

    def long(self) -> pd.DataFrame:
        """The error table in long form (step, step number, figure, error, absolute error) for charting."""
        table = self.errors().reset_index().melt(id_vars="Step", var_name="Figure", value_name="Error")
        table["Step number"] = table["Step"].map({step: i for i, step in enumerate(self.steps)})
        table["Absolute error"] = table["Error"].abs()
        return table


# --------------------------------------------------------------------------
# Spotting a definition change
# --------------------------------------------------------------------------


def share_by(
    df: pd.DataFrame, flag: str = "isForcedLabour", by: Iterable[str] = (REPORTING_SOURCE, YEAR_OF_REGISTRATION)
) -> pd.DataFrame:
    """Number of rows and share with ``flag`` = 1 in each group of ``by``."""
    by = list(by)
    frame = df[by].copy()
    frame["yes"] = (_numbers(df[flag]) == 1).astype(int)
    table = frame.groupby(by, observed=True, dropna=False)["yes"].agg(cases="size", share="mean").reset_index()
    return table


def largest_shift(
    table: pd.DataFrame,
    group: str = REPORTING_SOURCE,
    time: str = YEAR_OF_REGISTRATION,
    value: str = "share",
    min_periods: int = 2,
) -> pd.DataFrame:
    """For each group, the split in time where ``value`` changes most.

    For every time ``t`` with at least ``min_periods`` periods on each side,
    compares the mean of ``value`` from ``t`` on with its mean before ``t``.
    Returns one row per group (largest absolute shift first): ``group``,
    ``from`` (the first period after the split), ``before``, ``after`` and
    ``shift`` (after − before). A definition change in one source shows up
    as one group with a shift far larger than the others'.
    """
    rows = []
    for name, part in table.sort_values(time).groupby(group, observed=True):
        times = list(part[time])
        values = part[value].to_numpy(dtype=float)
        best = None
        for k in range(min_periods, len(times) - min_periods + 1):
            before, after = values[:k].mean(), values[k:].mean()
            if best is None or abs(after - before) > abs(best[3] - best[2]):
                best = (name, times[k], before, after)
        if best is not None:
            rows.append(
                {group: best[0], "from": best[1], "before": best[2], "after": best[3], "shift": best[3] - best[2]}
            )
    result = pd.DataFrame(rows, columns=[group, "from", "before", "after", "shift"])
    return result.reindex(result["shift"].abs().sort_values(ascending=False).index).reset_index(drop=True)


# --------------------------------------------------------------------------
# Measuring what remains
# --------------------------------------------------------------------------


def compare_with_truth(result: pd.DataFrame, truth: pd.DataFrame, key: str = CASE_ID) -> pd.DataFrame:
    """Cell-by-cell agreement of a cleaned frame with the ground truth, per column.

    Rows are matched on ``key``; values are compared as :func:`as_text`.
    Returns, per column, the number of matched rows, how many agree and the
    share that agree. The numbers of cases missing from ``result`` and of
    extra cases in it are in the ``attrs`` ``"missing"`` and ``"extra"``.
    """
    ours = as_text(result).set_index(key)
    theirs = as_text(truth).set_index(key)
    common = ours.index.intersection(theirs.index)
    rows = []
    for column in theirs.columns:
        if column not in ours.columns:
            continue
        agree = int((ours.loc[common, column] == theirs.loc[common, column]).sum())
        rows.append({"column": column, "matched": len(common), "agree": agree, "share": _ratio(agree, len(common))})
    table = pd.DataFrame(rows)
    table.attrs["missing"] = len(theirs.index.difference(ours.index))
    table.attrs["extra"] = len(ours.index.difference(theirs.index))
    return table


def score_against_manifest(
    cleaned: pd.DataFrame, manifest: pd.DataFrame, kept: Iterable[str] | None = None
) -> pd.DataFrame:
    """For each kind of injected defect, how many cells the cleaning fixed.

    ``cleaned`` holds every raw row (before de-duplication) with its
    ``caseId``; ``kept`` is the caseIds that de-duplication kept (default:
    all). ``manifest`` is ``case_records_defects.csv`` read as text. A
    defect in a cell counts as *fixed* if the cleaned cell equals the
    manifest's clean value (compared as :func:`as_text`), and as *dropped*
    if it sits in a second report that de-duplication correctly removed.
    For the ``duplicate`` defect, *fixed* counts second reports removed;
    ``wrongly_dropped`` counts rows removed that were not second reports.
    """
    text = as_text(cleaned).set_index(CASE_ID)
    kept = set(text.index if kept is None else kept)
    manifest = manifest.fillna("")
    second_reports = set(manifest.loc[manifest["defect"] == "duplicate", CASE_ID])
    dropped = set(text.index) - kept
    rows = []
    for defect, entries in manifest.groupby("defect", sort=False):
        if defect == "duplicate":
            fixed = len(second_reports & dropped)
            row = {
                "cells": len(entries),
                "fixed": fixed,
                "dropped": 0,
                "wrongly_dropped": len(dropped - second_reports),
            }
        else:
            in_dropped = entries[CASE_ID].isin(second_reports & dropped)
            live = entries[~in_dropped]
            values = pd.Series([text.at[c, col] for c, col in zip(live[CASE_ID], live["column"])], index=live.index)
            row = {
                "cells": len(entries),
                "fixed": int((values == live["cleanValue"]).sum()),
                "dropped": int(in_dropped.sum()),
                "wrongly_dropped": 0,
            }
        row["remaining"] = row["cells"] - row["fixed"] - row["dropped"]
        rows.append({"defect": defect, **row})
    table = pd.DataFrame(rows)
    table["share remaining"] = (table["remaining"] / table["cells"]).round(3)
    return table

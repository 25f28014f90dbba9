"""Published data: real multiple-systems tables and the UK's referral statistics, committed as published.

These files are **not synthetic** and not generated. Each is a table of
counts by capture history (one 0/1 column per list and ``count``) copied
unchanged from the R packages that distribute the studies' tables; each
study has a datasheet beside its files saying where the counts come from,
how the lists were formed, the terms found and the published estimate.

The SHA-256 checksum of every file is declared here, once, and written into
``datapackage.json`` (the resource's ``hash``), so that ``frictionless
validate`` and the tests fail if a published file changes. Like
:mod:`.handwritten_tables`, :func:`files` copies them into any folder that
``python -m htcourse.datasets generate --out DIR`` writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .datapackage import csv_resource, schema_field
from .writing import OutputError


@dataclass(frozen=True)
class PublishedTable:
    """One published table: its file, lists, datasheet, checksum and where it comes from."""

    filename: str
    title: str
    lists: dict[str, str]  # column -> what the list is
    datasheet: str
    sha256: str
    observed: int  # the number of people (or killings) in the table, as published
    source: str
    licence: dict


GPL = {
    "name": "GPL-2.0-or-later",
    "title": "GNU General Public License, version 2 or later "
    "(the licence of the R package the counts were copied from)",
    "path": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
}
OGL = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0 (Home Office publication on gov.uk)",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
SPARSEMSE = "R package SparseMSE 2.0.1 (Chan, Silverman and Vincent; CRAN, 2019)"

UK_6 = PublishedTable(
    "mse_uk_2013_6lists.csv",
    "UK 2013 strategic assessment: six lists",
    {
        "LA": "local authorities",
        "NG": "non-government organisations",
        "PF": "police forces",
        "GO": "government organisations",
        "GP": "the general public",
        "NCA": "the National Crime Agency",
    },
    "mse_uk.md",
    "fc362c81fa15e648f14971a8287eea209dcef0c898e7b93594f3ecc344ef8f06",
    2744,
    f"Home Office (2014), Modern Slavery: an application of multiple systems estimation; via {SPARSEMSE}",
    OGL,
)
UK_5 = PublishedTable(
    "mse_uk_2013_5lists.csv",
    "UK 2013 strategic assessment: five lists (police forces and NCA merged)",
    {
        "LA": "local authorities",
        "NG": "non-government organisations",
        "PFNCA": "police forces and the National Crime Agency",
        "GO": "government organisations",
        "GP": "the general public",
    },
    "mse_uk.md",
    "8ec8b8bf0e0830ecb78dc8a3adc0868d0de3f7453db6bdb1c61872cc98f434be",
    2744,
    f"Home Office (2014), Modern Slavery: an application of multiple systems estimation; via {SPARSEMSE}",
    OGL,
)
NETHERLANDS = PublishedTable(
    "mse_netherlands_6lists.csv",
    "Netherlands 2010-2015: six lists of presumed trafficking victims",
    {
        "I": "the Inspectorate SZW",
        "K": "the Royal Netherlands Marechaussee (border police)",
        "O": "residential treatment centres and shelters",
        "P": "the national police",
        "R": "regional coordinators",
        "Z": "others",
    },
    "mse_netherlands.md",
    "e38da7cf98959c4d06bfa1773a099aebc8b605e0fb951a59df4266e734a98feb",
    8234,
    f"van Dijk, Cruyff, van der Heijden and Kragten-Heerdink (2017), UNODC research brief; via {SPARSEMSE}",
    GPL,
)
US_WESTERN = PublishedTable(
    "mse_us_western_5lists.csv",
    "A US Western site: five anonymised lists of sex-trafficking victims",
    {name: f"anonymised list {name}" for name in "ABCDE"},
    "mse_us_western.md",
    "6198f00c93ee5ae3c079671855580f0a5e4c07051537f30c9244ceabc253acfd",
    345,
    f"Farrell et al. (2019), Capturing Human Trafficking Victimization Through Crime Reporting, NIJ; via {SPARSEMSE}",
    GPL,
)
NEW_ORLEANS = PublishedTable(
    "mse_new_orleans_8lists.csv",
    "Greater New Orleans: eight anonymised lists",
    {name: f"anonymised list {name}" for name in "ABCDEFGH"},
    "mse_new_orleans.md",
    "8386f57ad20d22abbefdafe7139474f7b67b2451bb87db1e46d08aa7a0e03518",
    185,
    f"Bales, Murphy and Silverman (2019), Journal of Human Trafficking; via {SPARSEMSE}",
    GPL,
)
KOSOVO = PublishedTable(
    "mse_kosovo_4lists.csv",
    "Kosovo 1999: killings documented by four sources",
    {
        "EXH": "exhumations",
        "ABA": "American Bar Association CEELI interviews",
        "OSCE": "Organization for Security and Co-operation in Europe",
        "HRW": "Human Rights Watch",
    },
    "mse_kosovo.md",
    "a96b0078f7d7261b070c6311879153624a938a63a9664a525a1bcbb396298026",
    4400,
    "Ball, Betts, Scheuren, Dudukovich and Asher (2002), report to the ICTY; via R package LCMCR 0.4.14 "
    "(Manrique-Vallier; CRAN, 2023)",
    GPL,
)

#: Every published multiple-systems table, in the order the course introduces them.
TABLES: tuple[PublishedTable, ...] = (UK_6, UK_5, NETHERLANDS, US_WESTERN, NEW_ORLEANS, KOSOVO)


@dataclass(frozen=True)
class PublishedSeries:
    """A published statistical series (not a table of list counts): file, datasheet, checksum, source."""

    filename: str
    title: str
    datasheet: str
    sha256: str
    source: str
    licence: dict


NRM = PublishedSeries(
    "nrm_referrals_quarterly.csv",
    "UK National Referral Mechanism: referrals by quarter, age group and location of exploitation, 2009-2023",
    "nrm_referrals.md",
    "cae0d4aa01531289905c2a168b41a3d0a547f97d2ea05a4831897552d32aa715",
    "Home Office, Modern Slavery: National Referral Mechanism and Duty to Notify statistics UK, October to "
    "December 2023, Table 2; tidied in the R package asylum (British Red Cross, MIT)",
    OGL,
)
NRM_BY_TYPE = PublishedSeries(
    "nrm_referrals_by_type.csv",
    "UK National Referral Mechanism: referrals by quarter, first-responder type, exploitation type and age group, "
    "2022 Q2 to 2023 Q4",
    "nrm_referrals_by_type.md",
    "e854bf4599efed746f8f2b1a5eafaf6bb3fa8fbaafea9c34810182288d081696",
    "Home Office, Modern Slavery: National Referral Mechanism and Duty to Notify statistics UK, quarterly releases "
    "from April to June 2022 to October to December 2023, the tables of referrals by first responder, exploitation "
    "type, age at exploitation, gender and nationality; tidied in the R package asylum (British Red Cross, MIT)",
    OGL,
)
#: The first-responder types of :data:`NRM_BY_TYPE`, as the Home Office's four tables divide them.
RESPONDER_TYPES = ("government agency", "local authority", "NGO or third sector", "police")
#: Every published series.
SERIES: tuple[PublishedSeries, ...] = (NRM, NRM_BY_TYPE)
#: Every file: the tables and their datasheets (a datasheet may cover two tables).
FILES: tuple[str, ...] = tuple(dict.fromkeys(name for t in (*TABLES, *SERIES) for name in (t.filename, t.datasheet)))


def sha256(text: str) -> str:
    """The SHA-256 hex digest of a file's text as UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files(source: Path) -> dict[str, str]:
    """The published files' text, read from ``source``.

    Raises :class:`OutputError` if one is missing or if a table's checksum is
    not the one declared here: a published table is never silently altered.
    """
    texts = {}
    for name in FILES:
        path = Path(source) / name
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                texts[name] = handle.read()
        except OSError as error:
            raise OutputError(
                f"cannot read {path} ({error.strerror or error}): it is published data, not generated, and "
                "is copied from the course's datasets folder (restore it with `git checkout -- datasets`)"
            ) from None
    for table in (*TABLES, *SERIES):
        digest = sha256(texts[table.filename])
        if digest != table.sha256:
            raise OutputError(
                f"{table.filename} has changed: its SHA-256 is {digest}, not the published file's "
                f"{table.sha256} (restore it with `git checkout -- datasets/{table.filename}`)"
            )
    return texts


def _year_quarter_fields(first_year: int) -> list[dict]:
    """The ``year`` and ``quarter`` fields that both NRM series begin with; ``first_year`` is the series' first."""
    return [
        schema_field("year", "integer", "Calendar year of the referral.", required=True, minimum=first_year),
        schema_field(
            "quarter", "integer", "Calendar quarter (1 = January to March).", required=True, enum=[1, 2, 3, 4]
        ),
    ]


def resources() -> list[dict]:
    """Data Package resource descriptors, with each file's checksum, source and licence."""
    out = []
    for table in TABLES:
        fields = [
            schema_field(name, "integer", f"1 if on the list of {meaning}, else 0.", required=True, enum=[0, 1])
            for name, meaning in table.lists.items()
        ]
        fields.append(
            schema_field(
                "count",
                "integer",
                "Number of people (for Kosovo, killings) on exactly this combination of lists.",
                required=True,
                minimum=0,
            )
        )
        resource = csv_resource(
            table.filename,
            table.title,
            f"NOT synthetic: published aggregate counts by combination of lists ({table.observed} in all), "
            f"copied unchanged; see {table.datasheet}.",
            fields,
            primary_key=list(table.lists),
        )
        resource["hash"] = f"sha256:{table.sha256}"
        resource["licenses"] = [dict(table.licence)] if table.licence is GPL else [dict(table.licence), dict(GPL)]
        resource["sources"] = [{"title": table.source}]
        out.append(resource)
    nrm = csv_resource(
        NRM.filename,
        NRM.title,
        "NOT synthetic: official statistics (Open Government Licence v3.0), copied unchanged but for "
        f"names and the dropped Total rows; see {NRM.datasheet}.",
        [
            *_year_quarter_fields(first_year=2009),
            schema_field(
                "ageGroup", "string", "Age at exploitation.", required=True, enum=["adult", "child", "unknown"]
            ),
            schema_field(
                "location",
                "string",
                "Where the exploitation took place.",
                required=True,
                enum=["UK", "overseas", "UK and overseas", "unknown"],
            ),
            schema_field("referrals", "integer", "Potential victims referred to the NRM.", required=True, minimum=0),
        ],
        primary_key=["year", "quarter", "ageGroup", "location"],
    )
    by_type = csv_resource(
        NRM_BY_TYPE.filename,
        NRM_BY_TYPE.title,
        "NOT synthetic: official statistics (Open Government Licence v3.0), each quarter as its own release first "
        f"published it, summed over gender and nationality; see {NRM_BY_TYPE.datasheet}.",
        [
            *_year_quarter_fields(first_year=2022),
            schema_field(
                "responderType",
                "string",
                "The kind of first responder organisation that made the referral.",
                required=True,
                enum=list(RESPONDER_TYPES),
            ),
            schema_field(
                "exploitationType",
                "string",
                "The exploitation type or combination recorded, as the Home Office labels it "
                "(for example 'Criminal' or 'Labour & Criminal').",
                required=True,
            ),
            schema_field(
                "ageGroup", "string", "Age at exploitation.", required=True, enum=["adult", "child", "unknown"]
            ),
            schema_field("referrals", "integer", "Potential victims referred to the NRM.", required=True, minimum=1),
        ],
        primary_key=["year", "quarter", "responderType", "exploitationType", "ageGroup"],
    )
    for series, resource in ((NRM, nrm), (NRM_BY_TYPE, by_type)):
        resource["hash"] = f"sha256:{series.sha256}"
        resource["licenses"] = [dict(series.licence)]
        resource["sources"] = [{"title": series.source}]
        out.append(resource)
    return out

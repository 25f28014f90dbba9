"""The two tables in ``datasets/`` that no generator makes.

* ``global_estimates.csv``: the published global estimates of modern
  slavery (2016 and 2021), copied by hand from the two reports. Not
  synthetic: aggregate figures, no person in them.
* ``images_licences.csv``: the licence of every image the image-matching
  lab uses.

Each has a datasheet beside it. :func:`files` reads them from the course's
datasets folder so that ``python -m htcourse.datasets generate --out DIR``
gives a folder the course can use as it is (``HTCOURSE_DATASETS=DIR``), and
:func:`resources` describes them in ``datapackage.json``.
"""

from __future__ import annotations

from pathlib import Path

from .datapackage import csv_resource, schema_field
from .writing import OutputError

GLOBAL_ESTIMATES_FILE = "global_estimates.csv"
IMAGES_FILE = "images_licences.csv"
#: Every hand-made file: the tables and their datasheets.
FILES = (GLOBAL_ESTIMATES_FILE, "global_estimates.md", IMAGES_FILE, "images.md")


def files(source: Path) -> dict[str, str]:
    """The hand-made files' text, read from ``source``; :class:`OutputError` if one is missing."""
    texts = {}
    for name in FILES:
        path = Path(source) / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except OSError as error:
            raise OutputError(
                f"cannot read {path} ({error.strerror or error}): it is written by hand, not generated, "
                "and is copied from the course's datasets folder (set HTCOURSE_DATASETS to the folder "
                "that has it)"
            ) from None
    return texts


def resources() -> list[dict]:
    """Data Package resource descriptors for the two hand-made tables."""
    estimates = csv_resource(
        GLOBAL_ESTIMATES_FILE,
        "Global estimates of modern slavery (published figures)",
        "NOT synthetic: the headline figures of the 2017 and 2022 global estimates "
        "(ILO, Walk Free and IOM), copied by hand; see global_estimates.md.",
        [
            schema_field("estimate_year", "integer", "Year the estimate refers to.", required=True),
            schema_field("published_year", "integer", "Year the report was published.", required=True),
            schema_field("measure", "string", "What was estimated.", required=True),
            schema_field("part_of", "string", "The measure this one is part of; empty for the total."),
            schema_field(
                "people_millions",
                "number",
                "The published figure, in millions of people, as printed (rounded).",
                required=True,
                minimum=0,
            ),
            schema_field("source", "string", "The report (see the course's references).", required=True),
        ],
        primary_key=["estimate_year", "measure"],
    )
    estimates["sources"] = [
        {"title": "ILO and Walk Free Foundation with IOM (2017)"},
        {"title": "ILO, Walk Free and IOM (2022)"},
    ]
    images = csv_resource(
        IMAGES_FILE,
        "Licences of the images in the image-matching lab",
        "One row per image the lab may use: where it comes from, its licence and how the "
        "licence was checked; see images.md.",
        [
            schema_field("image", "string", "Image name as the lab refers to it.", required=True, unique=True),
            schema_field("source", "string", "Where the image comes from.", required=True),
            schema_field("licence", "string", "Its licence.", required=True),
            schema_field("verified", "string", "How the licence was checked.", required=True),
        ],
        primary_key=["image"],
    )
    return [estimates, images]

"""Frictionless Data descriptors for ``datapackage.json``: fields, resources and the licence.

Every resource's fields are checked against :mod:`htcourse.schema`, the one
declaration of each file's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htcourse.schema import check_columns

LICENCE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}


def schema_field(name: str, type_: str, description: str, **constraints: Any) -> dict:
    """One Table Schema field descriptor.

    Keyword arguments become ``constraints`` (e.g. ``minimum=0``,
    ``enum=[...]``, ``required=True``); ``format`` is passed as the field's
    format instead.
    """
    descriptor: dict[str, Any] = {"name": name, "type": type_, "description": description}
    if "format" in constraints:
        descriptor["format"] = constraints.pop("format")
    if constraints:
        descriptor["constraints"] = constraints
    return descriptor


def csv_resource(
    filename: str,
    title: str,
    description: str,
    fields: Sequence[dict],
    *,
    primary_key: Sequence[str] | None = None,
) -> dict:
    """A Data Package resource descriptor for one CSV file.

    Only the empty cell counts as missing: ``NA`` is Namibia's ISO code and
    must stay a value. The fields must be the file's columns as
    :mod:`htcourse.schema` declares them (:class:`~htcourse.schema.SchemaMismatchError`
    otherwise).
    """
    check_columns(filename, [field["name"] for field in fields])
    schema: dict[str, Any] = {"fields": list(fields), "missingValues": [""]}
    if primary_key:
        schema["primaryKey"] = list(primary_key)
    return {
        "name": filename.removesuffix(".csv"),
        "path": filename,
        "title": title,
        "description": description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "licenses": [dict(LICENCE)],
        "schema": schema,
    }

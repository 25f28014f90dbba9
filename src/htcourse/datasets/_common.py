"""Helpers shared by the dataset generators.

Everything here exists so that the generator modules stay short and so that
their output is *deterministic*: the same seed gives the same bytes on every
machine, whatever the locale, the clock, the dict ordering or the hash seed.

* :func:`rng_for` gives each dataset its own random stream derived from the
  seed, so ``--only NAME`` produces exactly the files a full run produces.
* :func:`csv_text` turns a DataFrame into CSV text with fixed number
  formatting, ``"\\n"`` line endings and empty cells for missing values.
* :func:`render_datasheet` fills a datasheet template with figures that the
  generator computed from the very tables it writes, so a regenerated dataset
  never ships with a stale datasheet.
* :func:`write_files_atomically` writes into a temporary folder first and
  moves the files into place only when everything succeeded.
"""

from __future__ import annotations

import math
import os
import shutil
import string
import tempfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htcourse.schema import check_columns

#: The seed that produced the committed files in ``datasets/``.
DEFAULT_SEED = 2024

#: How a reader regenerates the committed files.
REGENERATE_COMMAND = "make datasets"
REGENERATE_PYTHON_COMMAND = "python -m htcourse.datasets generate"

LICENCE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}


# --------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------


def rng_for(seed: int, dataset_name: str) -> np.random.Generator:
    """A NumPy random generator for one dataset, derived from ``seed``.

    The stream is ``default_rng([seed, crc32(dataset_name)])``. CRC-32 is a
    fixed function (unlike Python's ``hash``, which is randomised per
    process), so the stream depends on nothing but the seed and the name.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng([seed, zlib.crc32(dataset_name.encode("utf-8"))])


# --------------------------------------------------------------------------
# What a generator returns
# --------------------------------------------------------------------------


@dataclass
class GeneratedDataset:
    """Everything one generator produced, still in memory.

    Attributes:
        name: the dataset's registry name, e.g. ``"case_records"``.
        seed: the seed it was generated with.
        files: file name -> exact text to write (CSV files and the datasheet).
        tables: CSV file name -> the DataFrame that was written to it.
        hidden: objects the generator drew but did not write, such as the
            hidden population behind the list-overlap data. Tests compare the
            written files with them.
    """

    name: str
    seed: int
    files: dict[str, str]
    tables: dict[str, pd.DataFrame]
    hidden: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# CSV writing
# --------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _format_float(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    # "-0.000" and "0.000" are the same number; write it one way only.
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def csv_text(frame: pd.DataFrame, float_decimals: Mapping[str, int] | None = None) -> str:
    """The CSV text for ``frame``, formatted the same way on every machine.

    * Missing values become empty cells.
    * Integer columns (NumPy or nullable ``Int64``) are written as integers.
    * Float columns must appear in ``float_decimals`` and are written with
      exactly that many decimals, so no float repr quirk reaches the file.
    * Booleans are refused: the course writes flags as 0/1.
    * Everything else is written with ``str``, unchanged (stray whitespace
      in the dirty data is deliberate and must survive).

    Line endings are ``"\\n"``; the caller writes the text as UTF-8.
    """
    float_decimals = dict(float_decimals or {})
    columns: dict[str, list[str]] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            raise TypeError(f"column {name!r} is boolean; write flags as 0/1 integers")
        if pd.api.types.is_float_dtype(series):
            if name not in float_decimals:
                raise ValueError(f"float column {name!r} needs an entry in float_decimals")
            decimals = float_decimals[name]
            columns[name] = [
                "" if _is_missing(v) else _format_float(float(v), decimals) for v in series
            ]
        elif pd.api.types.is_integer_dtype(series):
            columns[name] = ["" if _is_missing(v) else str(int(v)) for v in series]
        else:
            columns[name] = ["" if _is_missing(v) else str(v) for v in series]
    text_frame = pd.DataFrame(columns, columns=list(frame.columns), dtype=object)
    return text_frame.to_csv(index=False, lineterminator="\n")


# --------------------------------------------------------------------------
# Datasheets: figures and templates
# --------------------------------------------------------------------------


def fmt_int(value: int) -> str:
    """An integer with thousands separators, e.g. ``3,012``."""
    return f"{int(value):,}"


def fmt_pct(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage, e.g. ``0.1234`` -> ``12.3%``."""
    if _is_missing(fraction):
        return "n/a"
    return f"{_format_float(100.0 * fraction, decimals)}%"


def fmt_num(value: float, decimals: int = 1) -> str:
    """A number with a fixed number of decimals and thousands separators."""
    if _is_missing(value):
        return "n/a"
    text = f"{value:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0.0:
        text = text[1:]
    return text


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (no trailing newline)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    for row in rows:
        cells = [str(cell) for cell in row]
        if len(cells) != len(headers):
            raise ValueError(f"table row {cells} does not have {len(headers)} cells")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SYNTHETIC_NOTICE = (
    "**This dataset is synthetic: a computer program generated every value, "
    "and no row is a real person.**"
)

#: Closing sections that every datasheet shares. ``$name`` and ``$seed`` are
#: filled in by :func:`render_datasheet`.
COMMON_CLOSING_SECTIONS = """\
## Licence

The data files and this datasheet are released under the Creative Commons
Attribution 4.0 International licence (CC BY 4.0,
<https://creativecommons.org/licenses/by/4.0/>).

## Maintenance

The course team maintains this dataset in the course repository. The files
are never edited by hand: change the generator module
(`$module`) and regenerate them with `make datasets`
(which runs `python -m htcourse.datasets generate`; this dataset alone:
`python -m htcourse.datasets generate --seed $seed --only $name`). The same
seed always gives byte-identical files, and the course's tests fail if the
committed files, this datasheet or `datapackage.json` differ from what the
generator produces. Please report problems through the repository's issue
tracker.

## References

- Gebru, T. et al. (2021). Datasheets for Datasets. *Communications of the
  ACM* 64(12): 86–92. doi:10.1145/3458723. (The structure of this datasheet.)
- Counter Trafficking Data Collaborative (CTDC), International Organization
  for Migration (IOM). Public synthetic datasets and data schema.
- Edge, D. et al. (2020). Design of a Privacy-Preserving Data Platform for
  Collaboration Against Human Trafficking. arXiv:2005.05688.
"""


def render_datasheet(
    template: str,
    figures: Mapping[str, str],
    *,
    name: str,
    module: str,
    seed: int,
) -> str:
    """Fill a datasheet template and append the shared closing sections.

    ``template`` uses ``$placeholder`` syntax (:class:`string.Template`), so
    Markdown's braces and asterisks need no escaping. Every placeholder must
    have a figure; a missing one raises ``KeyError`` rather than leaving a
    hole in the datasheet. The result starts with the synthetic-data notice.
    """
    values = {"name": name, "module": module, "seed": str(seed), **figures}
    body = string.Template(template).substitute(values)
    closing = string.Template(COMMON_CLOSING_SECTIONS).substitute(values)
    text = f"{SYNTHETIC_NOTICE}\n\n{body.strip()}\n\n{closing}"
    return text.rstrip("\n") + "\n"


# --------------------------------------------------------------------------
# Frictionless Table Schema helpers
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Writing files all-or-nothing
# --------------------------------------------------------------------------


class OutputError(Exception):
    """The output folder cannot be written. Nothing was written."""


def _missing_ancestors(folder: Path) -> list[Path]:
    """The folders (outermost first) that ``mkdir(parents=True)`` would create."""
    missing = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def write_files_atomically(files: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Write ``files`` (name -> text) into ``out_dir`` as UTF-8, all or nothing.

    The texts go to a temporary folder inside ``out_dir`` first; only when
    every file is written are they moved into place with :func:`os.replace`.
    If anything fails before the move, the temporary folder and any folders
    this call created are removed and :class:`OutputError` is raised.
    """
    out_dir = Path(out_dir)
    created = _missing_ancestors(out_dir)
    staging: Path | None = None
    succeeded = False
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            if (out_dir / name).is_dir():
                raise OutputError(f"cannot write {out_dir / name}: it is a folder")
        staging = Path(tempfile.mkdtemp(prefix=".htcourse-datasets-", dir=out_dir))
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        written = []
        for name in files:
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
        succeeded = True
        return written
    except OSError as error:
        reason = error.strerror or str(error)
        where = error.filename or out_dir
        raise OutputError(f"cannot write to {where}: {reason}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not succeeded:
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:
                    pass

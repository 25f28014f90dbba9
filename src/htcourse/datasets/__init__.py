"""The course's synthetic datasets: registry, generation and writing.

Each dataset has a generator module with the same small interface:

``NAME``, ``SUMMARY``
    Registry name and a one-line description.
``CSV_FILES``, ``DATASHEET_FILE``
    The files it writes into ``datasets/``.
``generate(seed) -> GeneratedDataset``
    Draws the data in memory (nothing is written) and renders the datasheet.
``resources() -> list[dict]``
    Frictionless Data resource descriptors (with Table Schemas) for its CSV
    files; they do not depend on the seed.

What the generators share, one job a module: :mod:`.generated` (the seed,
each dataset's random stream, the result type), :mod:`.writing` (CSV text
and all-or-nothing writes), :mod:`.datasheets` (figures and the Markdown
templates in ``datasheet_templates/``), :mod:`.datapackage` (Table Schema
descriptors, checked against :mod:`htcourse.schema`). The two tables
written by hand are described in :mod:`.handwritten_tables`.

Use :func:`generate` for one dataset in memory, :func:`write_datasets` to
write files, or the command line::

    python -m htcourse.datasets generate [--seed N] [--out DIR] [--only NAME ...]
    python -m htcourse.datasets list
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

from htcourse.paths import datasets_dir
from htcourse.schema import check_columns

from . import (
    ad_screening,
    case_records,
    handwritten_tables,
    hotline,
    list_overlap,
    listings,
    published_tables,
    supply_chain,
)
from .datapackage import LICENCE
from .generated import DEFAULT_SEED, GeneratedDataset
from .writing import write_files_atomically

__all__ = [
    "DATASETS",
    "DATAPACKAGE_FILE",
    "DEFAULT_SEED",
    "GeneratedDataset",
    "csv_files",
    "datapackage_text",
    "generate",
    "generate_all",
    "output_files",
    "write_datasets",
]

#: Registry: dataset name -> generator module, in a fixed order.
DATASETS: dict[str, ModuleType] = {
    module.NAME: module for module in (case_records, list_overlap, ad_screening, hotline, listings, supply_chain)
}

DATAPACKAGE_FILE = "datapackage.json"


class UnknownDatasetError(KeyError):
    """A dataset name that is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0])


def _check_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [name for name in names if name not in DATASETS]
    if unknown:
        known = ", ".join(DATASETS)
        raise UnknownDatasetError(f"unknown dataset {unknown[0]!r} (known: {known})")
    # Registry order, each name once, so the output never depends on the
    # order of the command-line arguments.
    return [name for name in DATASETS if name in names]


def csv_files() -> list[str]:
    """The names of every CSV file the generators write."""
    return [filename for module in DATASETS.values() for filename in module.CSV_FILES]


def _generate_checked(name: str, seed: int) -> GeneratedDataset:
    """Run one generator and check that every table it made has the columns :mod:`htcourse.schema` declares."""
    dataset = DATASETS[name].generate(seed)
    for filename, table in dataset.tables.items():
        check_columns(filename, table.columns)
    return dataset


def generate(name: str, seed: int = DEFAULT_SEED) -> GeneratedDataset:
    """Generate one dataset in memory."""
    (name,) = _check_names([name])
    return _generate_checked(name, seed)


def generate_all(seed: int = DEFAULT_SEED, names: Sequence[str] | None = None) -> dict[str, GeneratedDataset]:
    """Generate several datasets (all by default) in memory, in registry order."""
    selected = _check_names(DATASETS if names is None else names)
    return {name: _generate_checked(name, seed) for name in selected}


def datapackage_text() -> str:
    """``datapackage.json`` describing every CSV file of every dataset, and the two hand-made tables.

    It holds only the files' schemas, which do not depend on the seed, so it
    is the same whichever datasets a run regenerates.
    """
    package = {
        "name": "htcourse-synthetic-datasets",
        "title": "Datasets for the course 'Human Trafficking and Modern-Day "
        "Slavery: Technology, Data and Power': synthetic data, and published aggregate figures",
        "description": "Synthetic data: a program generated every value and no row is a "
        "real person. Each dataset has a datasheet (<name>.md) beside its files. "
        "Regenerate with 'make datasets' (python -m htcourse.datasets generate). "
        "Only an empty cell is a missing value: NA is Namibia's ISO code. "
        "Two tables are not generated but written by hand, and say so: the published "
        "global estimates (global_estimates.csv) and the image licences (images_licences.csv). "
        "The mse_*.csv and nrm_*.csv files are not synthetic either: published multiple-systems tables and "
        "official statistics of real aggregate counts, each with its source, licence and SHA-256 hash in its resource.",
        "licenses": [dict(LICENCE)],
        "resources": [resource for module in DATASETS.values() for resource in module.resources()]
        + handwritten_tables.resources()
        + published_tables.resources(),
    }
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def output_files(generated: dict[str, GeneratedDataset], source: Path | None = None) -> dict[str, str]:
    """Every file a run writes: the datasets' files, the hand-made files and ``datapackage.json``.

    The hand-made files (:mod:`.handwritten_tables`) are copied as they are from
    ``source`` (default: the course's datasets folder), so that the output
    folder is a complete datasets folder.
    """
    files: dict[str, str] = {}
    for dataset in generated.values():
        files.update(dataset.files)
    files.update(handwritten_tables.files(datasets_dir() if source is None else source))
    files.update(published_tables.files(datasets_dir() if source is None else source))
    files[DATAPACKAGE_FILE] = datapackage_text()
    return files


def write_datasets(out_dir: Path, seed: int = DEFAULT_SEED, names: Sequence[str] | None = None) -> list[Path]:
    """Generate datasets and write them to ``out_dir``, all or nothing.

    Raises :class:`UnknownDatasetError` for an unknown name and
    :class:`htcourse.datasets.writing.OutputError` when ``out_dir`` cannot be
    written; in both cases nothing is written.
    """
    generated = generate_all(seed, names)
    return write_files_atomically(output_files(generated), Path(out_dir))

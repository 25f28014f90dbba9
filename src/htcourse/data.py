"""Load the course datasets for the lab notebooks.

    from htcourse import data
    raw = data.load("case_records_raw", keep_default_na=False, na_values=[""])

Files are read from the checkout's ``datasets/``, from the copy installed
with the package (``pip install .``), or from ``$HTCOURSE_DATASETS`` (see
:func:`htcourse.paths.datasets_dir`). :func:`load` passes its keyword
arguments to :func:`pandas.read_csv` unchanged and never "fixes" the data:
the dirty-data lab depends on students meeting the raw file as it is (for
example, pandas reads Namibia's ISO code ``NA`` as a missing value unless
told otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from htcourse.paths import datasets_dir, in_checkout

REGENERATE_HINT = (
    "Recreate it with `make datasets` (or `python -m htcourse.datasets generate`) from the repository root."
)
INSTALLED_HINT = (
    "This htcourse is installed without its datasets: reinstall it from the repository "
    "(`pip install .` or `pip install git+URL`), or point HTCOURSE_DATASETS at a datasets folder."
)


class DatasetMissingError(FileNotFoundError):
    """A dataset file is missing; the message names it and says how to recreate it."""

    def __init__(self, message: str, filename: str):
        super().__init__(message)
        self.filename = filename

    def __str__(self) -> str:
        return self.args[0]


def _file_name(name: str) -> str:
    """``"case_records_raw"`` or ``"case_records_raw.csv"`` -> ``"case_records_raw.csv"``."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"expected a dataset name such as 'case_records_raw', got {name!r}")
    return name if name.endswith(".csv") else f"{name}.csv"


def _generated_files() -> set[str]:
    from htcourse.datasets import csv_files  # imported here: the generators are heavier

    return set(csv_files())


def path(name: str) -> Path:
    """The path of dataset ``name`` (a CSV file stem such as ``case_records_raw``).

    Raises :class:`DatasetMissingError` if the file does not exist.
    """
    file_name = _file_name(name)
    file = datasets_dir() / file_name
    if not file.is_file():
        override = os.environ.get("HTCOURSE_DATASETS")
        if not override and not in_checkout():
            hint = INSTALLED_HINT
        elif file_name in _generated_files():
            hint = REGENERATE_HINT
        else:
            hint = "It is not generated: restore it from the repository (e.g. `git checkout -- datasets`)."
        if override:
            hint += (
                f" HTCOURSE_DATASETS is set ({override}): point it at a folder of the course's datasets "
                "(`htcourse datasets --out FOLDER` writes one), or unset it to read the course's own."
            )
        raise DatasetMissingError(f"Dataset file {file} is missing. {hint}", str(file))
    return file


def load(name: str, **read_csv_kwargs) -> pd.DataFrame:
    """Read dataset ``name`` with :func:`pandas.read_csv`.

    Keyword arguments go to ``read_csv`` unchanged; nothing is cleaned or
    converted. Raises :class:`DatasetMissingError` if the file is missing.
    """
    return pd.read_csv(path(name), **read_csv_kwargs)

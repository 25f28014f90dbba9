"""Writing the generated files: CSV text formatted the same everywhere, and all-or-nothing writes.

* :func:`csv_text` turns a DataFrame into CSV text with fixed number
  formatting, ``"\\n"`` line endings and empty cells for missing values.
* :func:`write_files_atomically` writes into a temporary folder first and
  moves the files into place only when everything succeeded.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_float(value: float, decimals: int) -> str:
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
            columns[name] = ["" if is_missing(v) else format_float(float(v), decimals) for v in series]
        elif pd.api.types.is_integer_dtype(series):
            columns[name] = ["" if is_missing(v) else str(int(v)) for v in series]
        else:
            columns[name] = ["" if is_missing(v) else str(v) for v in series]
    text_frame = pd.DataFrame(columns, columns=list(frame.columns), dtype=object)
    return text_frame.to_csv(index=False, lineterminator="\n")


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

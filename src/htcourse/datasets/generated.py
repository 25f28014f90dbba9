"""What every generator shares: the default seed, its own random stream, and what it returns.

Generation is *deterministic*: the same seed gives the same bytes on every
machine, whatever the locale, the clock, the dict ordering or the hash seed.
:func:`rng_for` gives each dataset its own random stream derived from the
seed, so ``--only NAME`` produces exactly the files a full run produces.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: The seed that produced the committed files in ``datasets/``.
DEFAULT_SEED = 2024


def rng_for(seed: int, dataset_name: str) -> np.random.Generator:
    """A NumPy random generator for one dataset, derived from ``seed``.

    The stream is ``default_rng([seed, crc32(dataset_name)])``. CRC-32 is a
    fixed function (unlike Python's ``hash``, which is randomised per
    process), so the stream depends on nothing but the seed and the name.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng([seed, zlib.crc32(dataset_name.encode("utf-8"))])


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

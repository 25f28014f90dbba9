"""Where the course's files live.

Everything is found relative to the repository, so a fork works wherever it
is cloned. ``HTCOURSE_DATASETS`` overrides the datasets folder (the tests use
it to run the labs on a dataset generated with another seed).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def datasets_dir() -> Path:
    """The folder the labs read their CSV files from."""
    override = os.environ.get("HTCOURSE_DATASETS")
    return Path(override).resolve() if override else REPO_ROOT / "datasets"

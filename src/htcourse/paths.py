"""Where the course's files live.

Two layouts are supported:

* **a checkout** (a clone of the repository, with the package installed
  editable by ``make setup``): everything is found relative to the
  repository, so a fork works wherever it is cloned, and the labs read the
  checkout's own ``datasets/``;
* **an installed package** (``pip install .``, ``pip install git+URL``, a
  wheel; what Binder, Colab and a JupyterHub image use): the datasets travel
  inside the package as ``htcourse/_datasets/`` (copied there by ``setup.py``
  at build time), so the labs and assignments run from any folder.

``HTCOURSE_DATASETS`` overrides the datasets folder in both layouts (the tests
use it to run the labs on a dataset generated with another seed).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root when running from a checkout (``src/htcourse/..``).
#: In an installed package this is just two folders up (e.g. ``lib/python3.11``):
#: use :func:`in_checkout` before relying on it.
REPO_ROOT = PACKAGE_DIR.parents[1]
#: Where a non-editable install keeps the datasets.
PACKAGED_DATASETS = PACKAGE_DIR / "_datasets"


def in_checkout() -> bool:
    """True if this package runs from a repository checkout (``src/htcourse`` next to ``datasets/``)."""
    return (
        PACKAGE_DIR.parent.name == "src"
        and (REPO_ROOT / "pyproject.toml").is_file()
        and (REPO_ROOT / "datasets").is_dir()
    )


def datasets_dir() -> Path:
    """The folder the labs read their CSV files from.

    ``$HTCOURSE_DATASETS`` if set; else the checkout's ``datasets/``; else the
    datasets installed with the package.
    """
    override = os.environ.get("HTCOURSE_DATASETS")
    if override:
        return Path(override).resolve()
    if in_checkout() or not PACKAGED_DATASETS.is_dir():
        return REPO_ROOT / "datasets"
    return PACKAGED_DATASETS

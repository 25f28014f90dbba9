"""Build step that puts the course datasets into the package.

Everything else is declared in pyproject.toml. The datasets live at the top of
the repository (``datasets/``), where the book and the generators expect them,
so setuptools' package-data cannot see them. A non-editable build (``pip
install .``, ``pip install git+URL``, ``pip wheel .``) copies that folder into
the built package as ``htcourse/_datasets/``; :func:`htcourse.paths.datasets_dir`
finds it there when the package is not running from a checkout. An editable
install (``make setup``) copies nothing: it reads the checkout's ``datasets/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATASETS = HERE / "datasets"
PACKAGED = Path("htcourse") / "_datasets"


def dataset_files() -> list[Path]:
    """Every file under datasets/ (relative to it), without hidden files or caches."""
    if not DATASETS.is_dir():
        raise SystemExit(f"cannot build htcourse: {DATASETS} is missing (build from a full checkout or sdist)")
    files = []
    for path in sorted(DATASETS.rglob("*")):
        rel = path.relative_to(DATASETS)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            files.append(rel)
    return files


class build_py_with_datasets(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED
        for rel in dataset_files():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(DATASETS / rel, target / rel)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / PACKAGED / rel) for rel in dataset_files()]


setup(cmdclass={"build_py": build_py_with_datasets})

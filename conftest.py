"""The repository's root conftest: how nbval runs the notebooks under book/.

nbval (pyproject.toml's addopts) executes every notebook under book/. The site build has just
run them on the committed datasets, so nbval runs them on datasets generated with another seed
(nothing in a lab may depend on one seed's numbers), with charts checked as in the site build,
and with strict self-checks: a worked solution that no longer passes its own check fails.
It sits at the root because a conftest's per-item hooks reach only the items below it; the
other shared fixtures are in tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent

OTHER_SEED = 12345

#: The test files that take longest, longest first (measured with --durations). They run first, so that
#: with several workers (make test: pytest-xdist, one file to a worker) the last to finish is a short file.
#: Every other file keeps its place after them.
LONGEST_FIRST = (
    "tests/test_assignments.py",
    "tests/test_site_pages.py",
    "tests/test_grading.py",
    "tests/test_site.py",
    "tests/test_classroom.py",
    "tests/test_lms.py",
    "tests/test_cli.py",
    "tests/test_ps7.py",
    "tests/test_reader.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def generate_other_seed_datasets(folder: Path) -> Path:
    """Every dataset generated with OTHER_SEED into ``folder``; the published tables (not generated) copied."""
    result = subprocess.run(
        [sys.executable, "-m", "htcourse.datasets", "generate", "--seed", str(OTHER_SEED), "--out", str(folder)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"generating the datasets with seed {OTHER_SEED} failed:\n{result.stderr}")
    for committed in (REPO_ROOT / "datasets").glob("*.csv"):
        if not (folder / committed.name).exists():
            shutil.copy(committed, folder / committed.name)
    return folder


def nbval_environment(folder: Path, generate: bool = True) -> dict[str, str]:
    """The variables the notebooks' kernel gets under nbval, with the datasets generated into ``folder``
    (or already there: ``generate=False``)."""
    from htcourse.charts import SITE_BUILD_ENV
    from htcourse.selfcheck import STRICT_ENV

    return {
        "HTCOURSE_DATASETS": str(generate_other_seed_datasets(folder) if generate else folder),
        SITE_BUILD_ENV: "1",
        STRICT_ENV: "1",
    }


_NBVAL_ENV = pytest.StashKey[dict]()


def _made_once(tmp_path_factory, name, make):
    """tests/once.py's made_once (the datasets are generated once for every pytest-xdist worker)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("htcourse_tests_once", REPO_ROOT / "tests" / "once.py")
    once = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(once)
    return once.made_once(tmp_path_factory, name, make)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while its first cell is set up: give it nbval_environment."""
    from nbval.plugin import IPyNbCell

    if not isinstance(item, IPyNbCell):
        yield
        return
    if _NBVAL_ENV not in item.config.stash:
        folder = _made_once(
            item.config._tmp_path_factory, f"nbval-datasets-seed-{OTHER_SEED}", generate_other_seed_datasets
        )
        item.config.stash[_NBVAL_ENV] = nbval_environment(folder, generate=False)
    env = item.config.stash[_NBVAL_ENV]
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

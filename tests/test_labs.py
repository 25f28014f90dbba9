"""Every lab notebook (book/modules/*/lab-*.ipynb) runs on data from another seed, has no outputs, and has its parts.

A lab must stay coherent when its datasets are regenerated with another
seed: nothing in it may depend on one seed's numbers. This module generates
every dataset once per session with seed 12345 into a temporary folder,
points the kernel at it with ``HTCOURSE_DATASETS`` and executes the labs with
nbclient, several at a time. Labs are found by glob, so a new lab is tested
without editing this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from htcourse.paths import REPO_ROOT

LABS = sorted(REPO_ROOT.glob("book/modules/*/lab-*.ipynb"))
OTHER_SEED = 12345
CELL_TIMEOUT = 120  # seconds, as in _config.yml


def lab_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT / "book" / "modules"))


def markdown(nb) -> str:
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


@pytest.fixture(scope="session")
def other_seed_datasets(tmp_path_factory) -> Path:
    """Every dataset generated with another seed; hand-made CSVs (not generated) are copied as they are."""
    folder = tmp_path_factory.mktemp(f"datasets-seed-{OTHER_SEED}")
    result = subprocess.run(
        [sys.executable, "-m", "htcourse.datasets", "generate", "--seed", str(OTHER_SEED), "--out", str(folder)],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"generating the datasets with seed {OTHER_SEED} failed:\n{result.stderr}")
    for committed in (REPO_ROOT / "datasets").glob("*.csv"):
        if not (folder / committed.name).exists():
            shutil.copy(committed, folder / committed.name)
    return folder


def execute(lab: Path, datasets: Path) -> str | None:
    """Run ``lab`` top to bottom; return None, or the error as text."""
    from nbclient import NotebookClient

    nb = nbformat.read(lab, as_version=4)
    # HTCOURSE_SITE_BUILD makes charts render as the site build renders them
    # (checked description and size, static SVG). Altair 6's own mimetype
    # ("application/vnd.vegalite.v6.json") does not pass nbformat's output
    # validation, which nbclient applies to every output.
    env = dict(os.environ, HTCOURSE_DATASETS=str(datasets), HTCOURSE_SITE_BUILD="1")
    client = NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(lab.parent)}}
    )
    try:
        client.execute(env=env)
    except Exception as error:  # CellExecutionError carries the cell's traceback
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="session")
def executed_labs(request, other_seed_datasets) -> dict[Path, tuple[str | None, float]]:
    """Execute the selected labs once per session, in parallel threads: {lab: (error or None, seconds)}."""
    wanted = {
        item.callspec.params["lab"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_lab_runs_on_data_from_another_seed"
    } or set(LABS)

    def run(lab: Path):
        start = time.perf_counter()
        error = execute(lab, other_seed_datasets)
        return lab, (error, time.perf_counter() - start)

    workers = max(1, min(len(wanted), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(run, sorted(wanted)))


def test_labs_are_found():
    assert LABS, "no lab notebooks match book/modules/*/lab-*.ipynb"


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_runs_on_data_from_another_seed(lab, executed_labs):
    error, seconds = executed_labs[lab]
    assert error is None, f"{lab_id(lab)} fails on datasets generated with seed {OTHER_SEED}:\n{error}"


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_has_no_outputs_committed(lab):
    nb = nbformat.read(lab, as_version=4)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))]
    assert not dirty, f"{lab_id(lab)}: strip the outputs of cells {dirty} (jupyter nbconvert --clear-output --inplace)"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "the kernelspec name must be python3"


CONTENT_NOTE = re.compile(r"^(```|:::)\{admonition\}\s*Content note", re.M | re.I)
OBJECTIVES = re.compile(r"learning objectives[^\n]*\n((?:[-*] [^\n]+\n?)+)", re.I)
DATASHEET = re.compile(r"\{doc\}`[^`]*</?datasets/[a-z_]+>?`")
CHECK = re.compile(r"^#+\s*Check your understanding\s*$", re.M | re.I)
DROPDOWN = re.compile(r"(```|:::)\{admonition\}[^\n]*\n:class:\s*dropdown", re.I)


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_has_the_required_parts(lab):
    text = markdown(nbformat.read(lab, as_version=4))
    problems = []
    if not CONTENT_NOTE.search(text):
        problems.append("a content note (an admonition titled 'Content note')")
    objectives = OBJECTIVES.search(text)
    if not objectives or not 3 <= len(objectives.group(1).strip().splitlines()) <= 5:
        problems.append("learning objectives: 3 to 5 list items after 'Learning objectives'")
    if not DATASHEET.search(text):
        problems.append("a link to a datasheet ({doc}`datasheet </datasets/NAME>`)")
    check = CHECK.search(text)
    if not check:
        problems.append("a 'Check your understanding' heading")
    elif not DROPDOWN.search(text[check.end():]):
        problems.append("at least one answer in a dropdown admonition after 'Check your understanding'")
    assert not problems, f"{lab_id(lab)} is missing: " + "; ".join(problems)

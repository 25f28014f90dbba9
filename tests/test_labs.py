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
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"generating the datasets with seed {OTHER_SEED} failed:\n{result.stderr}")
    for committed in (REPO_ROOT / "datasets").glob("*.csv"):
        if not (folder / committed.name).exists():
            shutil.copy(committed, folder / committed.name)
    return folder


def execute(lab: Path, datasets: Path):
    """Run ``lab`` top to bottom; return (None or the error as text, the executed notebook)."""
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
        return f"{type(error).__name__}: {error}", nb
    return None, nb


EXECUTING_TESTS = {"test_lab_runs_on_data_from_another_seed", "test_lab_solutions_pass_their_self_checks"}


@pytest.fixture(scope="session")
def executed_labs(request, other_seed_datasets) -> dict[Path, tuple[str | None, float, object]]:
    """Execute the selected labs once per session, in parallel threads: {lab: (error or None, seconds, notebook)}."""
    wanted = {
        item.callspec.params["lab"]
        for item in request.session.items
        if getattr(item, "originalname", "") in EXECUTING_TESTS
    } or set(LABS)

    def run(lab: Path):
        start = time.perf_counter()
        error, notebook = execute(lab, other_seed_datasets)
        return lab, (error, time.perf_counter() - start, notebook)

    workers = max(1, min(len(wanted), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(run, sorted(wanted)))


def test_labs_are_found():
    assert LABS, "no lab notebooks match book/modules/*/lab-*.ipynb"


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_runs_on_data_from_another_seed(lab, executed_labs):
    error, seconds, _ = executed_labs[lab]
    assert error is None, f"{lab_id(lab)} fails on datasets generated with seed {OTHER_SEED}:\n{error}"


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_has_no_outputs_committed(lab):
    nb = nbformat.read(lab, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
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
    elif not DROPDOWN.search(text[check.end() :]):
        problems.append("at least one answer in a dropdown admonition after 'Check your understanding'")
    assert not problems, f"{lab_id(lab)} is missing: " + "; ".join(problems)


# --------------------------------------------------------------------------------------------
# Worked example, then exercises: the pattern in the instructor guide ("Labs: worked example,
# then exercises") and in htcourse.selfcheck.
# --------------------------------------------------------------------------------------------

MIN_EXERCISES = 3
EXERCISE_TITLE = re.compile(r"^(```|:::)\{admonition\}\s*Exercise (\d+):\s*\S", re.M)
CHECK_CALL = re.compile(r'selfcheck\.check\(\s*"Exercise (\d+)",\s*([A-Za-z_]\w*)\s*,')


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercises(nb) -> list[dict]:
    """Every exercise of a lab: its number, the name it asks for and its four cells, or a problem."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "exercise" not in tags(cell):
            continue
        task = nb.cells[i - 1] if i else None
        check, solution = (nb.cells[i + k] if i + k < len(nb.cells) else None for k in (1, 2))
        entry = {"index": i, "problems": []}
        title = EXERCISE_TITLE.search(task.source) if task is not None and task.cell_type == "markdown" else None
        if not title:
            entry["problems"].append("the cell before is not a Markdown '{admonition} Exercise N: ...'")
        call = CHECK_CALL.search(check.source) if check is not None and "self-check" in tags(check) else None
        if not call:
            entry["problems"].append(
                'the cell after is not tagged self-check with selfcheck.check("Exercise N", name, ...)'
            )
            found.append(entry)
            continue
        number, name = int(call.group(1)), call.group(2)
        entry.update(number=number, name=name, check=check, solution=solution)
        if title and int(title.group(2)) != number:
            entry["problems"].append(f"the task says Exercise {title.group(2)}, the self-check Exercise {number}")
        if not re.search(rf"^{name}\s*=\s*None\b", cell.source, re.M):
            entry["problems"].append(f"the exercise cell does not leave `{name} = None` for the reader")
        if solution is None or not {"solution", "hide-input"} <= set(tags(solution)):
            entry["problems"].append("the next cell is not tagged solution and hide-input")
        else:
            if solution.get("metadata", {}).get("jupyter", {}).get("source_hidden") is not True:
                entry["problems"].append("the solution is not folded in JupyterLab (jupyter.source_hidden)")
            if not re.search(rf"^{name}\s*=(?!\s*None\b)", solution.source, re.M):
                entry["problems"].append(f"the solution does not assign `{name}`")
            if not solution.source.rstrip().endswith(check.source.strip()):
                entry["problems"].append("the solution does not end with the same self-check")
        found.append(entry)
    return found


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_has_exercises_in_the_pattern(lab):
    """Each lab: at least three exercises, each a task, a cell for the reader, a self-check and a folded solution."""
    found = exercises(nbformat.read(lab, as_version=4))
    problems = [f"cell {e['index']}: {p}" for e in found for p in e["problems"]]
    assert not problems, f"{lab_id(lab)}: " + "; ".join(problems)
    assert len(found) >= MIN_EXERCISES, f"{lab_id(lab)} has {len(found)} exercises; at least {MIN_EXERCISES} are needed"
    numbers = [e["number"] for e in found]
    assert numbers == list(range(1, len(found) + 1)), f"{lab_id(lab)}: exercises numbered {numbers}"
    names = [e["name"] for e in found]
    assert len(set(names)) == len(names), f"{lab_id(lab)}: two exercises store their answer in the same name: {names}"


def verdicts(cell) -> str:
    """The self-check verdicts a cell displayed (their Markdown), as one text."""
    return "\n".join(
        str(output.get("data", {}).get("text/markdown", ""))
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("execute_result", "display_data")
    )


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_solutions_pass_their_self_checks(lab, executed_labs):
    """Executed with its solutions (on data from another seed), every self-check says the reader's cell is not
    attempted yet, and every solution's self-check says right."""
    error, _, nb = executed_labs[lab]
    assert error is None, f"{lab_id(lab)} did not run: {error}"
    found = exercises(nb)
    assert len(found) >= MIN_EXERCISES
    wrong = []
    for e in found:
        label = f"Exercise {e['number']}"
        if f"{label}: not attempted yet." not in verdicts(e["check"]):
            wrong.append(f"{label}'s self-check before the solution says {verdicts(e['check'])!r}")
        if f"✅ {label}: right." not in verdicts(e["solution"]):
            wrong.append(f"{label}'s solution gives {verdicts(e['solution'])!r}")
    assert not wrong, f"{lab_id(lab)}: " + "; ".join(wrong)


def test_the_pattern_check_catches_a_broken_exercise():
    nb = nbformat.read(LABS[0], as_version=4)
    first = exercises(nb)[0]
    solution = nb.cells[first["index"] + 2]
    assert not first["problems"]
    solution.metadata["tags"] = ["solution"]  # no longer folded on the site
    solution.metadata.pop("jupyter", None)
    nb.cells[first["index"]].source = nb.cells[first["index"]].source.replace(" = None", " = 0")
    problems = " ".join(exercises(nb)[0]["problems"])
    assert "hide-input" in problems and f"`{first['name']} = None`" in problems

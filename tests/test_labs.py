"""Every lab notebook (book/modules/*/lab-*.ipynb) runs on data from another seed, has no outputs, and has its parts.

A lab must stay coherent when its datasets are regenerated with another
seed: nothing in it may depend on one seed's numbers. The labs are executed
once by the site build (on the committed datasets) and once by nbval, whose
kernel conftest.py points at datasets generated with another seed, with
self-checks that raise when a worked solution is wrong. This module checks
their parts. Labs are found by glob, so a new lab is tested without editing
this file.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from htcourse.paths import REPO_ROOT

LABS = sorted(REPO_ROOT.glob("book/modules/*/lab-*.ipynb"))


def lab_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT / "book" / "modules"))


def markdown(nb) -> str:
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def test_labs_are_found():
    assert LABS, "no lab notebooks match book/modules/*/lab-*.ipynb"


def test_nbval_runs_every_lab_on_another_seed_with_strict_self_checks(tmp_path_factory):
    """nbval executes every notebook under book/ (pyproject.toml), and conftest gives its kernel data
    from another seed, the site build's chart checks, and self-checks that raise on a wrong answer:
    so a lab that depends on one seed's numbers, or whose worked solution fails its own check, fails."""
    spec = importlib.util.spec_from_file_location("htcourse_root_conftest", REPO_ROOT / "conftest.py")
    root = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root)
    from htcourse.charts import SITE_BUILD_ENV
    from htcourse.selfcheck import STRICT_ENV

    options = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "book" in options["testpaths"] and "--nbval-lax" in options["addopts"]
    # the folder nbval's kernels read (made once per run, by whichever comes first)
    folder = root._made_once(
        tmp_path_factory, f"nbval-datasets-seed-{root.OTHER_SEED}", root.generate_other_seed_datasets
    )
    env = root.nbval_environment(folder, generate=False)
    assert env[STRICT_ENV] == "1" and env[SITE_BUILD_ENV] == "1"
    folder = Path(env["HTCOURSE_DATASETS"])
    committed = REPO_ROOT / "datasets"
    assert (folder / "listings.csv").read_bytes() != (committed / "listings.csv").read_bytes(), root.OTHER_SEED
    for published in committed.glob("mse_*.csv"):  # real tables are copied, never regenerated
        assert (folder / published.name).read_bytes() == published.read_bytes()


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

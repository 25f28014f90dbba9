"""ps7-supply-chains: exact scores, answers that follow the data, and hidden tests that can move out of the kernel.

tests/test_assignments.py grades ps7's correct, blank and partial fake
students with every other assignment. This module checks what is particular
to ps7, on its own small copy of the course:

- graded on datasets generated with another seed, the solutions still earn
  every point, a student who typed in the committed data's numbers loses
  those points, and the answers really differ between the seeds;
- a student with answers of the right type but the wrong value passes the
  visible tests and gets 0;
- every hidden test follows the authoring rules of /work/wt/HIDDEN_TESTS.md
  (issue 14) as far as they can be checked here: it declares the answers it
  checks (``# ANSWERS CHECKED: ...``) and those are exactly the names it reads
  that no setup cell defines, it reads no student function, and every assert
  has a plain string message.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from htcourse.paths import REPO_ROOT

A = "ps7-supply-chains"
SOURCE = REPO_ROOT / "assignments" / "source" / A / f"{A}.ipynb"
OTHER_SEED = 7

_spec = importlib.util.spec_from_file_location(
    "htcourse_fake_students_ps7", Path(__file__).parent / "fixtures" / "submissions" / "fake_students.py"
)
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def _hidden_code(cell) -> str:
    text = cell.source
    return text.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]


def _setup_names(nb) -> set[str]:
    names = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, ast.alias):
                    names.add((node.asname or node.name).split(".")[0])
    return names


def _free_names(code: str) -> set[str]:
    tree = ast.parse(code)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    stored |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.alias) for a in [n]}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - stored - set(dir(builtins))


def test_hidden_tests_follow_the_out_of_kernel_authoring_rules():
    nb = nbformat.read(SOURCE, as_version=4)
    setup = _setup_names(nb)
    answers = {}  # answer cell -> names it defines
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            tree = ast.parse(fake.solution_text(cell))
            answers[_gid(cell)] = {
                n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    hidden = [c for c in nb.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert [_gid(c) for c in hidden] == ["q1-hidden", "q2-hidden", "q3-hidden", "q4-hidden", "q5-hidden"]
    for cell in hidden:
        declared_lines = [line for line in cell.source.splitlines() if line.startswith("# ANSWERS CHECKED:")]
        assert len(declared_lines) == 1, _gid(cell)
        declared = {name.strip() for name in declared_lines[0].split(":", 1)[1].split(",")}
        code = _hidden_code(cell)
        assert _free_names(code) - setup == declared, _gid(cell)
        question = _gid(cell).split("-")[0]
        assert declared <= answers[f"{question}-answer"], _gid(cell)  # answers of this question only
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                assert isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str), (
                    _gid(cell),
                    ast.unparse(node),
                )
                assert node.msg.value.endswith("."), node.msg.value
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in declared, f"{_gid(cell)} calls a student's answer"
        assert all(
            name.startswith("_")
            for name in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        )
        assert "data.load(" in code  # expected values come from the data, not from other answers


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course with ps7 only, its student version generated."""
    from htcourse.grading import Course
    from htcourse.grading.prepare import generate

    root = tmp_path_factory.mktemp("ps7") / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(SOURCE.parent, root / "source" / A)
    lines = []
    assert generate(Course(root), [A], echo=lines.append) == 0, "\n".join(lines)
    return root


@pytest.fixture(scope="module")
def other_seed_data(tmp_path_factory) -> Path:
    # a folder the generator creates (mktemp's are 0700: the sandboxed kernel's user could not read them)
    folder = tmp_path_factory.mktemp(f"seed{OTHER_SEED}") / "datasets"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "htcourse.datasets",
            "generate",
            "--seed",
            str(OTHER_SEED),
            "--only",
            "supply_chain",
            "--out",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )
    return folder


@functools.cache  # each seed's answers are worked out once for the tests below
def _answers(datasets: Path) -> dict:
    """Run the source's setup and solutions on ``datasets`` and return the answers."""
    nb = nbformat.read(SOURCE, as_version=4)
    env = dict(os.environ, HTCOURSE_DATASETS=str(datasets))
    script = "\n".join(
        fake.solution_text(c) if c.metadata["nbgrader"].get("solution") else c.source
        for c in nb.cells
        if c.cell_type == "code" and not c.metadata["nbgrader"].get("grade")
    )
    script = script.replace("audit_log.head()", "")
    names = [
        "detection_announced_supplier",
        "detection_unannounced_buyer",
        "share_passing",
        "share_free_all",
        "forced_passing",
        "share_forced_invisible",
        "n_channel_only",
        "migrant_report_gap",
        "migrant_gap_within_sites",
        "detection_low",
        "detection_high",
        "audits_needed",
        "n_audit_list",
        "n_channel_list",
        "n_both",
        "chapman_sites",
        "true_covered",
    ]
    script += (
        f"\nimport json\nprint('ANSWERS' + json.dumps({{n: globals()[n] for n in {names!r}}} | "
        "{'prevalence_by_tier': prevalence_by_tier.tolist()}))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    import json

    return json.loads(out.rsplit("ANSWERS", 1)[1])


def test_another_seed_changes_the_answers(other_seed_data):
    committed, other = _answers(REPO_ROOT / "datasets"), _answers(other_seed_data)
    changed = [name for name in committed if committed[name] != other[name]]
    assert len(changed) == len(committed), f"answers that did not change with the seed: {set(committed) - set(changed)}"
    # the lesson holds for both seeds: the headline overstates compliance, and migrants report less
    for answers in (committed, other):
        assert answers["share_passing"] > answers["share_free_all"]
        assert answers["migrant_report_gap"] > 0 and answers["share_forced_invisible"] > 0.5
        assert answers["migrant_gap_within_sites"] > 0  # migrants report less even within their own sites


def test_scores_are_exact_and_follow_the_data(course, other_seed_data, monkeypatch):
    """The graded answers follow the data. (That ps7's solutions pass on seed 7 is checked with every other
    assignment's, by ``make validate`` in test_assignments.py's rekey test.)"""
    from htcourse.grading import Course, grade_one

    committed = _answers(REPO_ROOT / "datasets")
    fake.write_submission(course, "correct", A, fake.correct(course, A))
    fake.write_submission(course, "wrong", A, fake.wrong(course, A))
    # q2 typed in with the committed data's numbers after the right code: right on seed 2024, wrong on seed 7
    nb = fake.correct(course, A)
    fake.set_answer(
        nb,
        "q2-answer",
        fake.cell(nb, "q2-answer").source
        + f"\nshare_passing = {committed['share_passing']!r}\nshare_free_all = {committed['share_free_all']!r}"
        + f"\nforced_passing = {committed['forced_passing']!r}",
    )
    fake.write_submission(course, "hardcoded", A, nb)

    c = Course(course)
    assert grade_one("wrong", A, c).auto_score == 0  # right types: visible tests pass, hidden tests fail
    monkeypatch.setenv("HTCOURSE_DATASETS", str(other_seed_data))
    assert grade_one("correct", A, c).auto_score == 13
    assert grade_one("hardcoded", A, c).auto_score == 13 - 3
    assert not math.isclose(committed["share_passing"], _answers(other_seed_data)["share_passing"])

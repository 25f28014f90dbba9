"""The graded assignments: nbgrader course in assignments/, grader in htcourse.grading.

Each scenario works on its own copy of the course in a temporary folder (the
real assignments/ folder is never touched). The slow grading runs start in
background processes as soon as the first test of this module runs, and
the tests that need them wait for them:

- ``dirty_data_batch``: the class of troublesome fake students of
  tests/fixtures/submissions/fake_students.py, graded with the command line
  (``python -m htcourse.grading grade``);
- ``other_batches``: correct, blank and partial students of every other
  assignment, graded by another process into the *same* gradebook at the
  same time as ps4-dirty-data (two writers on one SQLite file).
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import COURSE_SRC, cli_env, fake_students

from htcourse.paths import REPO_ROOT

PYTHON = sys.executable
ASSIGNMENTS = [
    "capstone-design-review",
    "ps4-dirty-data",
    "ps3-counting",
    "ps5-evaluation",
    "ps6-trends",
    "ps2-image-matching",
    "ps1-linking",
    "ps7-supply-chains",
]
PROBLEM_SETS = [
    "ps4-dirty-data",
    "ps3-counting",
    "ps5-evaluation",
    "ps6-trends",
    "ps2-image-matching",
    "ps1-linking",
    "ps7-supply-chains",
]
AUTO_POINTS = {
    "capstone-design-review": 0,
    "ps4-dirty-data": 10,
    "ps3-counting": 10,
    "ps5-evaluation": 13,
    "ps6-trends": 13,
    "ps2-image-matching": 10,
    "ps1-linking": 13,
    "ps7-supply-chains": 13,
}
#: Hand-graded points: a written reflection (5) and a prose-or-art response (5) in every problem set, plus
#: the questions on boyd's points 1-3 and 6, AMBER Alerts and face matching, and European law (issue 15).
HAND_POINTS = {
    "capstone-design-review": 50,
    "ps4-dirty-data": 13,
    "ps3-counting": 13,
    "ps5-evaluation": 17,
    "ps6-trends": 13,
    "ps2-image-matching": 13,
    "ps1-linking": 13,
    "ps7-supply-chains": 10,
}
#: The partial students of the other problem sets: the answer cells they get right, and their score (of 10).
PARTIAL = {
    "ps3-counting": (["q1-answer", "q2-answer"], 4),  # 2 + 2
    "ps5-evaluation": (["q1-answer", "q9-answer"], 6),  # 3 + 3 (q9: precision from a sample, the curve)
    "ps6-trends": (["q1-answer", "q5-answer"], 5),  # 2 + 3 (q5: the trend model)
    "ps2-image-matching": (["q1-answer", "q2-answer"], 5),  # 2 + 3
    "ps1-linking": (["q1-answer", "q2-answer"], 5),  # 2 + 3; q5 links exact names only: below LINK_QUALITY
    "ps7-supply-chains": (["q1-answer", "q5-answer"], 5),  # 2 + 3 (q5: audit planning, two lists)
}
BATCH_TIMEOUT = 8  # seconds per cell in the dirty-data batch (the infinite loops cost this much)

fake = fake_students()


# --- helpers -----------------------------------------------------------------------


def env(**extra) -> dict:
    """conftest.cli_env, without a course folder set outside the tests (each test names its own)."""
    e = cli_env(**{k: str(v) for k, v in extra.items()})
    e.pop("HTCOURSE_COURSE_DIR", None)
    return e


def grade_cli(course: Path, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "htcourse.grading", "--course", str(course), *args], cwd=course, text=True, **popen
    )


def scores(course: Path, assignment: str, student: str) -> dict[str, float]:
    """grade_id -> score for one submission, read from the course's gradebook ({} if none)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}


def auto_total(course: Path, assignment: str, student: str) -> float:
    src = fake.source(course, assignment)
    code_cells = {
        c.metadata["nbgrader"]["grade_id"]
        for c in src.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }
    return sum(s or 0 for gid, s in scores(course, assignment, student).items() if gid in code_cells)


def html_text(raw: str) -> str:
    """The text of an HTML page: styles and scripts dropped, tags removed, entities decoded."""
    raw = re.sub(r"<(style|script)\b.*?</\1>", "", raw, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


# --- the course, generated once -------------------------------------------------------


def clone(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


class Background:
    def __init__(self, proc: subprocess.Popen, out: Path, course: Path):
        self.proc, self.out, self.course = proc, out, course

    def wait(self, timeout: float = 600) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        return code, self.out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def background(course_template, tmp_path_factory):
    """Start the two slow grading runs in the background, in one shared course."""
    base = tmp_path_factory.mktemp("graded")
    course = clone(course_template, base / "course")
    fake.write_batch(course, "ps4-dirty-data")
    # a picture pasted into the partial student's creative answer (kept inside the notebook)
    partial_nb = json.loads((course / "submitted/partial/ps4-dirty-data/ps4-dirty-data.ipynb").read_text())
    import base64

    for c in partial_nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "q7-answer":
            c["source"] = "![my drawing](attachment:drawing.png)\n\n" + fake.STUDENT_PROSE
            c["attachments"] = {"drawing.png": {"image/png": base64.b64encode(fake.tiny_png(6, 6)).decode()}}
    (course / "submitted/partial/ps4-dirty-data/ps4-dirty-data.ipynb").write_text(json.dumps(partial_nb))

    for a in ASSIGNMENTS:
        if a == "ps4-dirty-data":
            continue
        fake.write_submission(course, "correct", a, fake.correct(course, a))
        fake.write_submission(course, "blank", a, fake.blank(course, a))
        if a in PARTIAL:
            fake.write_submission(course, "partial", a, fake.partial(course, a, PARTIAL[a][0]))

    out1 = base / "dirty-data.out"
    p1 = grade_cli(
        course,
        "grade",
        "ps4-dirty-data",
        stdout=open(out1, "w"),
        stderr=subprocess.STDOUT,
        env=env(HTCOURSE_CELL_TIMEOUT=BATCH_TIMEOUT),
    )
    out2 = base / "others.out"
    driver = (
        "import sys; from htcourse.grading import Course, grade_all; c = Course(sys.argv[1]); "
        "sys.exit(max(grade_all(a, c).exit_code for a in sys.argv[2:]))"
    )
    p2 = subprocess.Popen(
        [PYTHON, "-c", driver, str(course)] + [a for a in ASSIGNMENTS if a != "ps4-dirty-data"],
        cwd=base,
        text=True,
        stdout=open(out2, "w"),
        stderr=subprocess.STDOUT,
        env=env(),
    )
    runs = {"dirty-data": Background(p1, out1, course), "others": Background(p2, out2, course)}
    yield runs
    for run in runs.values():
        if run.proc.poll() is None:
            run.proc.kill()


@pytest.fixture(scope="module")
def dirty_data_batch(background):
    code, out = background["dirty-data"].wait()
    return background["dirty-data"].course, code, out


@pytest.fixture(scope="module")
def other_batches(background):
    code, out = background["others"].wait()
    return background["others"].course, code, out


# --- fast checks first (the background runs go on meanwhile) -----------------------------


def test_every_assignment_states_points_and_time(background):
    for a in ASSIGNMENTS:
        nb = nbformat.read(COURSE_SRC / "source" / a / f"{a}.ipynb", as_version=4)
        header = nb.cells[0].source
        total = sum(
            c.metadata["nbgrader"].get("points", 0) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
        )
        assert f"| **Points** | {total:g} in all" in header, a
        assert "**Estimated time**" in header, a
        auto = sum(
            c.metadata["nbgrader"]["points"]
            for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
        )
        assert (auto, total - auto) == (AUTO_POINTS[a], HAND_POINTS[a]), a
        # every question says its points and whether it is auto- or hand-graded
        for c in nb.cells:
            if c.cell_type == "markdown" and re.match(r"#+ (Question|Part|Point)", c.source):
                assert re.search(r"\(\d+ points?, (autograded|hand-graded)", c.source), c.source[:80]


def test_problem_sets_have_reflection_and_creative_answers(background):
    for a in PROBLEM_SETS:
        text = COURSE_SRC.joinpath("source", a, f"{a}.ipynb").read_text()
        nb = nbformat.reads(text, as_version=4)
        written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
        assert len(written) >= 2, a
        assert "Written reflection" in text and "Prose or art" in text, a
        assert "does not mean that your answer is right" in text, a


def test_source_notebooks_are_committed_without_outputs_and_valid(background):
    for a in ASSIGNMENTS:
        nb = nbformat.read(COURSE_SRC / "source" / a / f"{a}.ipynb", as_version=4)
        nbformat.validate(nb)
        for c in nb.cells:
            assert not c.get("outputs") and not c.get("execution_count"), a


def test_authoring_rules_catch_a_missing_canary():
    from htcourse.grading.prepare import _authoring_problems

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("| **Points** | 1 in all |\n| **Estimated time** | 1 hour |"),
            nbformat.v4.new_code_cell(
                "### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                metadata={
                    "nbgrader": {
                        "grade": False,
                        "solution": True,
                        "locked": False,
                        "grade_id": "a",
                        "schema_version": 3,
                    }
                },
            ),
            nbformat.v4.new_code_cell(
                "assert x\n### BEGIN HIDDEN TESTS\n# CANARY-demo-1\nassert x == 1\n### END HIDDEN TESTS",
                metadata={
                    "nbgrader": {
                        "grade": True,
                        "solution": False,
                        "locked": True,
                        "points": 1,
                        "grade_id": "t",
                        "schema_version": 3,
                    }
                },
            ),
        ]
    )
    problems = _authoring_problems("demo", nb)
    assert any("a: the solution region has no canary" in p for p in problems)
    assert any("t: put visible tests in their own cell" in p for p in problems)


#: The course's analysis helpers. A graded answer is computed by the student with pandas and the field's
#: libraries, so no model solution may call one of these (issue 24); loading data (`htcourse.data`) is plumbing.
ANALYSIS_HELPERS = {"linking", "cleaning", "metrics", "estimators", "trends", "audits", "imagematch"}


def _helper_uses(code: str) -> list[str]:
    """Every place where ``code`` reaches a course analysis helper: a name, an import, or an attribute of htcourse."""
    uses = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and node.id in ANALYSIS_HELPERS:
            uses.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in ANALYSIS_HELPERS:
            uses.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [f"{node.module}.{a.name}" for a in node.names]
            )
            uses += [
                f"line {node.lineno}: import {m}"
                for m in modules
                if set(m.split(".")) & ANALYSIS_HELPERS and m.split(".")[0] == "htcourse"
            ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            uses += [f"line {node.lineno}: {node.value!r}" for h in ANALYSIS_HELPERS if f"htcourse.{h}" in node.value]
    return uses


def test_helper_rule_catches_every_way_of_calling_a_helper():
    assert _helper_uses("x = linking.suspected_networks(listings, ['phone'])")
    assert _helper_uses("from htcourse import audits as a\nx = a.detection_by_type(log, truth)")
    assert _helper_uses("from htcourse.metrics import confusion\n")
    assert _helper_uses("import htcourse.trends\n")
    assert _helper_uses("import htcourse\nf = htcourse.cleaning.tidy_text")
    assert _helper_uses("import importlib\nm = importlib.import_module('htcourse.estimators')")
    assert not _helper_uses("import networkx as nx\nfrom htcourse import data\nx = data.load('listings')")


def test_no_model_solution_calls_a_course_analysis_helper():
    """Issue 24: every autograded answer is the student's own pandas, networkx, imagehash, statsmodels..."""
    checked, found = 0, []
    for path in sorted(COURSE_SRC.glob("source/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"):
                checked += 1
                found += [
                    f"{path.stem} {c.metadata['nbgrader']['grade_id']} {use}"
                    for use in _helper_uses(fake.solution_text(c))
                ]
    assert checked >= 28, checked
    assert not found, "model solutions that call a course helper:\n" + "\n".join(found)


def test_rubric_corrections_of_issue_24():
    """The capstone's and ps2's rubric errors and ps4 q2's naming stay fixed (issues 24 and 26)."""
    readme = (COURSE_SRC / "README.md").read_text(encoding="utf-8")
    capstone = nbformat.read(COURSE_SRC / "source/capstone-design-review/capstone-design-review.ipynb", as_version=4)
    notes = {c.metadata["nbgrader"]["grade_id"]: c.source for c in capstone.cells}
    everything = readme + "\n".join(notes.values())
    # accuracy of a flag-nothing tool is 1 - prevalence, not 1 - the alert rate
    assert not re.search(r"99\.75%[^.]*(accurate|accuracy)[^.]*\(1 − 625/250,000\)", everything)
    assert "625/250,000 = 0.25% is the alert rate" in notes["c-answer"] and "alert rate, not the prevalence" in readme
    # module 9 introduces worker-driven social responsibility, not the Fair Food Program's complaint system
    assert "Fair Food Program's complaint system (module 9)" not in everything
    # Part B fits whichever case was chosen; Part D grades no position, CheckInSafe included
    for n in range(1, 11):
        assert "specifically to CheckInSafe" not in notes[f"point{n}-answer"], n
        assert "the case the student chose" in notes[f"point{n}-answer"], n
    assert "telegraphed" not in everything
    assert "no decision earns or loses points" in notes["d-answer"] and "no decision earns or loses\npoints" in readme
    # ps4 q2: the mean without the -99 code is not a corrected mean
    ps4 = (COURSE_SRC / "source/ps4-dirty-data/ps4-dirty-data.ipynb").read_text(encoding="utf-8")
    assert "mean_months_fixed" not in ps4 and "mean_months_without_code" in ps4
    assert "further from the truth" in ps4
    # ps2 q5 grades reasoning about the toy experiment's limits, not an uncited generalisation
    ps2_rubric = readme[readme.index("### Rubric: ps2-image-matching") : readme.index("### Rubric: ps3-counting")]
    assert "The experiment's limits" in ps2_rubric and "No credit for asserting" in ps2_rubric
    assert "almost every innocent upload matches something" not in ps2_rubric


def test_release_is_a_valid_notebook_for_jupyterlab_and_notebook7(course_template):
    from jupyter_client.kernelspec import KernelSpecManager

    for a in ASSIGNMENTS:
        nb = fake.release(course_template, a)
        nbformat.validate(nb)
        assert (nb.nbformat, nb.nbformat_minor) >= (4, 5) and all("id" in c for c in nb.cells)
        KernelSpecManager().get_kernel_spec(nb.metadata.kernelspec.name)  # the kernel exists
        for c in nb.cells:
            meta = c.metadata["nbgrader"]
            if meta.get("solution"):
                assert c.metadata.get("editable", True) is True, "answer cells must be editable"
                assert "YOUR CODE HERE" in c.source or "YOUR ANSWER HERE" in c.source
            else:
                assert c.metadata.get("editable") is False and c.metadata.get("deletable") is False


def test_blank_release_raises_not_implemented_only_in_answer_cells(course_template):
    """Run each student version top to bottom: setup and test cells work, answer cells raise NotImplementedError."""
    from concurrent.futures import ThreadPoolExecutor

    from nbclient import NotebookClient

    def run(a):
        nb = fake.release(course_template, a)
        NotebookClient(
            nb,
            timeout=60,
            allow_errors=True,
            kernel_name="python3",
            resources={"metadata": {"path": str(course_template / "release" / a)}},
        ).execute()
        return a, nb

    # Three kernels at a time (each notebook mostly waits for its kernel).
    with ThreadPoolExecutor(3) as pool:
        executed = list(pool.map(run, PROBLEM_SETS))
    assert [a for a, _ in executed] == list(PROBLEM_SETS)
    for a, nb in executed:
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            meta = c.metadata["nbgrader"]
            errors = [o for o in c.outputs if o.output_type == "error"]
            if meta.get("solution"):
                assert [e.ename for e in errors] == ["NotImplementedError"], (a, meta["grade_id"])
            elif meta.get("grade") and meta.get("points") == 0:  # visible tests: a plain-language failure
                assert [e.ename for e in errors] == ["AssertionError"], (a, meta["grade_id"])
                assert "is not defined yet" in errors[0].evalue, (a, meta["grade_id"])
            else:  # setup, data and hidden-test placeholders
                assert not errors, (a, meta["grade_id"], errors)


def test_solutions_rekey_on_a_regenerated_dataset(course_template, tmp_path, monkeypatch):
    """Answers are computed from the data at grading time: another seed, other answers.

    This is also ``make validate`` (nbgrader validate on every source, plus canaries and points), run on
    the other seed's data; on the committed data, every correct fake student scoring full marks in the
    batches below shows the same of each solution."""
    from htcourse.grading import Course, grade_one
    from htcourse.grading.prepare import validate

    data = tmp_path / "seed7"
    subprocess.run(
        [PYTHON, "-m", "htcourse.datasets", "generate", "--seed", "7", "--out", str(data)],
        check=True,
        capture_output=True,
        env=env(),
    )
    course = clone(course_template, tmp_path / "course")
    # q1 and q5 hard-coded with the values of the committed data (seed 2024)
    committed = REPO_ROOT / "datasets"
    import pandas as pd

    from htcourse import linking

    naive = pd.read_csv(committed / "case_records_raw.csv")
    careful = pd.read_csv(committed / "case_records_raw.csv", keep_default_na=False, na_values=[""])
    lost = int(naive["citizenship"].isna().sum() - careful["citizenship"].isna().sum())
    pol = careful[careful["reportingSource"].str.strip().str.lower() == "police"]
    jump = float(
        pol.loc[pol.yearOfRegistration >= 2019, "isForcedLabour"].mean()
        - pol.loc[pol.yearOfRegistration <= 2018, "isForcedLabour"].mean()
    )
    nb = fake.correct(course, "ps4-dirty-data")
    fake.set_answer(nb, "q1-answer", f"n_namibia_lost = {lost}")
    fake.set_answer(nb, "q5-answer", f"police_jump = {jump!r}")
    fake.write_submission(course, "hardcoded", "ps4-dirty-data", nb)
    fake.write_submission(course, "correct", "ps4-dirty-data", fake.correct(course, "ps4-dirty-data"))
    # ps1-linking: q1 hard-coded with the values of the committed listings, the rest computed
    by_phone = pd.read_csv(committed / "listings.csv")["phone"].value_counts()
    nb = fake.correct(course, "ps1-linking")
    fake.set_answer(
        nb,
        "q1-answer",
        fake.cell(nb, "q1-answer").source
        + f"\nn_networks_phone = {int((by_phone >= 2).sum())}\nlargest_phone = {int(by_phone.max())}",
    )
    # and q5 (linkage) with the committed data's true pairs as the links, scored as perfect
    records = pd.read_csv(committed / "case_records_raw.csv", keep_default_na=False, na_values=[""])
    manifest = pd.read_csv(committed / "case_records_defects.csv", keep_default_na=False, na_values=[""])
    pairs = sorted(linking.true_record_pairs(records, manifest))
    fake.set_answer(
        nb,
        "q5-answer",
        f"links = pd.DataFrame({pairs!r}, columns=['unique_id_l', 'unique_id_r']).assign(match_probability=1.0)\n"
        "link_precision = link_recall = 1.0",
    )
    fake.write_submission(course, "hardcoded", "ps1-linking", nb)

    monkeypatch.setenv("HTCOURSE_DATASETS", str(data))
    c = Course(course)
    lines = []
    assert validate(c, echo=lines.append) == 0, "\n".join(lines)  # every solution passes on seed 7
    assert len([l for l in lines if ": valid" in l]) == len(ASSIGNMENTS)
    assert grade_one("correct", "ps4-dirty-data", c).auto_score == 10
    assert grade_one("hardcoded", "ps4-dirty-data", c).auto_score == 10 - 2 - 1
    assert grade_one("hardcoded", "ps1-linking", c).auto_score == 13 - 2 - 3


def test_exchange_workflow_with_a_temporary_exchange(course_template, tmp_path):
    """release_assignment -> fetch_assignment -> submit -> collect -> grade -> release_feedback -> fetch_feedback.

    The student renamed the notebook before submitting it (as a second download does), and still fetches
    its feedback. The same cycle with the name as released runs through the hub in test_classroom.py.
    """
    renamed = True
    from nbgrader.utils import get_username

    course = clone(course_template, tmp_path / "course")
    exchange, home, jcfg = tmp_path / "exchange", tmp_path / "student", tmp_path / "jupyter-config"
    home.mkdir()
    jcfg.mkdir()
    e = env(HTCOURSE_EXCHANGE=exchange, JUPYTER_CONFIG_DIR=jcfg)
    student = ["--course", "htcourse", f"--Exchange.root={exchange}"]

    def nbgrader(cwd, *args):
        proc = subprocess.run(["nbgrader", *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    a = "ps3-counting"
    nbgrader(course, "release_assignment", a)
    nbgrader(home, "fetch_assignment", a, *student)
    fetched = home / a / f"{a}.ipynb"
    nb = nbformat.read(fetched, as_version=4)
    src = fake.source(course, a)
    for gid in fake.answer_ids(nb):
        fake.set_answer(nb, gid, fake.solution_text(fake.cell(src, gid)))
    nbformat.write(nb, fetched)
    submitted_name = f"{a} (1)" if renamed else a
    fetched.rename(fetched.with_name(f"{submitted_name}.ipynb"))
    nbgrader(home, "submit", a, *student)
    nbgrader(course, "collect", a)
    user = get_username()
    assert (course / "submitted" / user / a / f"{submitted_name}.ipynb").is_file()

    proc = grade_cli(course, "grade", a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert re.search(rf"\[1/1\] {user}\s+graded\s+autograded 10/10", out), out

    nbgrader(course, "release_feedback", a)
    nbgrader(home, "fetch_feedback", a, *student)
    feedback = list((home / a / "feedback").rglob(f"{submitted_name}.html"))
    assert len(feedback) == 1, sorted((home / a).rglob("*"))
    page = feedback[0].read_text(encoding="utf-8")
    assert "Score: 10.0" in html_text(page) or "(Score: 10.0 / 20.0)" in html_text(page)
    for path in list(exchange.rglob("*.ipynb")) + list(exchange.rglob("*.html")) + feedback:
        assert "CANARY-" not in path.read_text(encoding="utf-8"), path


def test_interrupted_run_loses_nothing(course_template, tmp_path):
    """Kill a grading run midway (SIGKILL, kernels and all), run it again: every grade is there and right."""
    course = clone(course_template, tmp_path / "course")
    a = "ps3-counting"
    fake.write_submission(course, "s1", a, fake.correct(course, a))
    slow = fake.partial(course, a, PARTIAL[a][0])
    # a cell the student added, so that s2 is still being graded when the run is killed
    slow.cells.append(nbformat.v4.new_code_cell("import time; time.sleep(6)"))
    fake.write_submission(course, "s2", a, slow)
    fake.write_submission(course, "s3", a, fake.correct(course, a))
    out = tmp_path / "run1.out"
    scratch = tmp_path / "tmp"  # the killed run's staging folder is left here, not in /tmp
    scratch.mkdir()
    with open(out, "w") as fh:
        # one worker, so that s1 is done and s2 is under way when the run is killed
        proc = grade_cli(
            course,
            "grade",
            a,
            "--jobs",
            "1",
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env(TMPDIR=scratch),
            start_new_session=True,
        )
        deadline = time.monotonic() + 240
        while "[1/3]" not in out.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        # s2 is being graded now: kill once its staging folder and its kernel's working copy exist
        # (waiting a fixed second was too short on a loaded machine)
        while time.monotonic() < deadline and proc.poll() is None:
            if list(scratch.glob("htcourse-grading-*")) and list(scratch.glob("htc-work-*")):
                break
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # the next run removes what the killed one left in flight: staging, the kernel's working copy (unmounted)
    from htcourse.grading import batch

    removed = batch._remove_stale_staging(tmpdir=scratch)
    assert any(p.name.startswith("htcourse-grading-") for p in removed), removed
    assert not list(scratch.glob("htcourse-grading-*")) and not list(scratch.glob("htc-work-*"))
    first = out.read_text()
    assert re.search(r"\[1/3\] s1\s+graded", first) and "Summary" not in first, first
    con = sqlite3.connect(course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # meanwhile the instructor hand-grades s1's reflection in the formgrader
    from nbgrader.api import Gradebook

    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db, "htcourse") as gb:
        gb.find_grade("q4-answer", a, a, "s1").manual_score = 4
        gb.db.commit()

    proc = grade_cli(course, "grade", a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env())
    second, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, second
    # progress lines come in the order submissions finish (workers run in parallel)
    assert re.search(r"/3\] s1\s+unchanged", second), second  # kept, not graded again
    assert re.search(r"/3\] s2\s+graded", second) and re.search(r"/3\] s3\s+graded", second), second
    assert [auto_total(course, a, s) for s in ("s1", "s2", "s3")] == [10, PARTIAL[a][1], 10]
    rows = (course / "grades" / f"{a}.csv").read_text().splitlines()
    assert len(rows) == 4 and all(",graded," in r or "waiting for hand grading" in r for r in rows[1:])
    assert scores(course, a, "s1")["q4-answer"] == 4
    # grading s1 again from scratch keeps the hand grade too
    from htcourse.grading import Course, grade_one

    assert grade_one("s1", a, Course(course), force=True).status == "graded"
    assert scores(course, a, "s1")["q4-answer"] == 4 and auto_total(course, a, "s1") == 10


# --- the batch of troublesome students (ps4-dirty-data) ----------------------------------------------


def test_batch_exit_status_progress_and_summary(dirty_data_batch):
    course, code, out = dirty_data_batch
    assert code == 1, out  # 1: some submissions could not be graded
    students = list(fake.BATCH_EXPECTED) + list(fake.BATCH_BROKEN)
    n = len(students)
    for s in students:
        assert re.search(rf"^[#.]* ?\[\s*\d+/{n}\] {s}\s", out, re.M), f"no progress line for {s}:\n{out}"
    summary = out[out.index("Summary for ps4-dirty-data") :]
    assert f"graded: {len(fake.BATCH_EXPECTED)}" in summary
    assert f"could not be graded: {len(fake.BATCH_BROKEN)}" in summary
    for s, why in fake.BATCH_BROKEN.items():
        assert re.search(rf"^\s+{s}: .*{why}", summary, re.M), summary
    flagged = summary[summary.index("flagged for a look by hand") : summary.index("answers waiting")]
    for s in ("loop", "stubborn", "tampered", "deleted", "huge"):
        assert re.search(rf"^\s+{s}: ", flagged, re.M), flagged
    for s in ("correct", "blank", "wrong", "partial"):
        assert not re.search(rf"^\s+{s}: ", flagged, re.M), flagged
    assert "Exit status 1" in summary


def test_batch_scores_are_exact(dirty_data_batch):
    course, _, out = dirty_data_batch
    for student, expected in fake.BATCH_EXPECTED.items():
        assert auto_total(course, "ps4-dirty-data", student) == expected, (student, out)
    for student in fake.BATCH_BROKEN:
        assert scores(course, "ps4-dirty-data", student) == {}
        assert not (course / "autograded" / student).exists()


def test_batch_tampered_and_deleted_tests_are_restored_and_graded(dirty_data_batch):
    course, _, _ = dirty_data_batch
    src = fake.source(course, "ps4-dirty-data")
    tampered = fake.read_notebook(course / "autograded/tampered/ps4-dirty-data/ps4-dirty-data.ipynb")
    for gid in ("q1-hidden", "q2-visible"):
        assert fake.cell(tampered, gid).source == fake.cell(src, gid).source
    assert scores(course, "ps4-dirty-data", "tampered")["q1-hidden"] == 0
    deleted = fake.read_notebook(course / "autograded/deleted/ps4-dirty-data/ps4-dirty-data.ipynb")
    assert "BEGIN HIDDEN TESTS" in fake.cell(deleted, "q1-hidden").source
    s = scores(course, "ps4-dirty-data", "deleted")
    assert (s["q1-hidden"], s["q2-hidden"]) == (2, 0)  # graded, not merely flagged
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:  # the tampered points did not stick
        assert gb.find_graded_cell("q1-hidden", "ps4-dirty-data", "ps4-dirty-data").max_score == 2


def test_batch_timeouts_and_huge_output(dirty_data_batch):
    course, _, _ = dirty_data_batch
    loop = fake.read_notebook(course / "autograded/loop/ps4-dirty-data/ps4-dirty-data.ipynb")
    assert any(o.get("ename") == "CellTimeoutError" for o in fake.cell(loop, "q3-answer").outputs)
    s = scores(course, "ps4-dirty-data", "loop")
    assert (s["q3-hidden"], s["q4-hidden"], s["q5-hidden"]) == (0, 2, 1)  # later cells still graded
    for folder in ("autograded", "feedback"):
        for f in (course / folder / "huge" / "ps4-dirty-data").iterdir():
            assert f.stat().st_size < 1_000_000, f


def test_batch_grades_csv(dirty_data_batch):
    import csv

    course, _, _ = dirty_data_batch
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades" / "ps4-dirty-data.csv"))}
    assert set(rows) == set(fake.BATCH_EXPECTED) | set(fake.BATCH_BROKEN)
    for s, expected in fake.BATCH_EXPECTED.items():
        assert float(rows[s]["auto_score"]) == expected and rows[s]["max_auto_score"] == "10"
    assert rows["corrupt"]["status"] == "not graded" and "not valid JSON" in rows["corrupt"]["flags_or_reason"]
    assert rows["correct"]["status"] == "waiting for hand grading" and rows["correct"]["hand_grading_needed"] == "3"
    assert (course / "grades" / ".gitignore").read_text().strip().endswith("*")


def test_feedback_embeds_uploaded_and_pasted_pictures(dirty_data_batch):
    course, _, _ = dirty_data_batch
    for student in ("correct", "partial"):
        page = (course / "feedback" / student / "ps4-dirty-data" / "ps4-dirty-data.html").read_text()
        assert "data:image/png;base64," in page, student


def test_rerun_is_quick_and_changes_nothing(dirty_data_batch):
    course, _, _ = dirty_data_batch
    before = {s: auto_total(course, "ps4-dirty-data", s) for s in fake.BATCH_EXPECTED}
    proc = grade_cli(course, "grade", "ps4-dirty-data", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env())
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert len(re.findall(r"^[#.]* ?\[\s*\d+/\d+\] \S+\s+unchanged ", out, re.M)) == len(fake.BATCH_EXPECTED), out
    assert before == {s: auto_total(course, "ps4-dirty-data", s) for s in fake.BATCH_EXPECTED}


# --- every other assignment: solution full marks, blank zero, partial as stated ------------


def test_other_assignments_scores_are_exact(other_batches):
    course, code, out = other_batches
    assert code == 0, out
    for a in ASSIGNMENTS:
        if a == "ps4-dirty-data":
            continue
        assert auto_total(course, a, "correct") == AUTO_POINTS[a], (a, out)
        assert auto_total(course, a, "blank") == 0, (a, out)
        if a in PARTIAL:
            assert auto_total(course, a, "partial") == PARTIAL[a][1], (a, out)
    # the capstone is hand-graded only: every written answer of the complete review awaits the formgrader
    assert re.search(r"\[\d/2\] correct\s+graded\s+autograded 0/0\s+13 to hand-grade", out), out


# --- nothing leaks ---------------------------------------------------------------------


def _secrets(course: Path):
    """Canary tokens, hidden-test lines and solution lines of every source notebook."""
    canaries, hidden, solution = set(), set(), set()
    public = set()
    for a in ASSIGNMENTS:
        nb = fake.source(course, a)
        for c in nb.cells:
            canaries |= set(re.findall(r"CANARY-[a-z0-9-]+-\d+", c.source))
            meta = c.metadata.get("nbgrader", {})
            inside = None
            for line in c.source.splitlines():
                text = line.strip()
                if "BEGIN HIDDEN TESTS" in text:
                    inside = hidden
                elif "BEGIN SOLUTION" in text:
                    inside = solution
                elif "END HIDDEN TESTS" in text or "END SOLUTION" in text:
                    inside = None
                elif inside is not None:
                    inside.add(text)
                elif meta.get("solution") and c.cell_type == "markdown":
                    solution.add(text)
                else:
                    public.add(text)

    # A line the labs teach in the open (a library idiom such as a statsmodels import) is not a
    # secret of a problem set, even where a solution uses it too.
    for lab in REPO_ROOT.glob("book/**/*.ipynb"):
        for c in nbformat.read(lab, as_version=4).cells:
            public.update(line.strip() for line in c.source.splitlines())
    public_text = "\n".join(public)

    def distinctive(lines):
        return {
            t for t in lines if len(t) >= 20 and not t.startswith("#") and "CANARY" not in t and t not in public_text
        }

    return canaries, distinctive(hidden), distinctive(solution)


def _leaks(path: Path, canaries, hidden, solution) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    texts = [raw, html_text(raw)] if path.suffix in (".html", ".htm", ".xml", ".svg") else [raw]
    if path.suffix == ".ipynb":
        nb = json.loads(raw)
        texts.append("\n".join("".join(c.get("source", "")) for c in nb.get("cells", [])))
    found = []
    for text in texts:
        found += [f"canary {c}" for c in set(re.findall(r"CANARY-[a-z0-9-]+-\d+", text))]  # ours or any other
        found += [f"hidden test line {h!r}" for h in hidden if h in text]
        found += [f"solution line {s!r}" for s in solution if s in text]
    return sorted(set(found))


def test_no_leaks_in_release_feedback_or_site(dirty_data_batch, site_dir):
    course, _, _ = dirty_data_batch
    canaries, hidden, solution = _secrets(course)
    assert len(canaries) >= 50 and len(hidden) >= 30 and len(solution) >= 15  # the check has teeth
    assert any(line.startswith("assert ") for line in hidden)

    problems = {}
    everything = [p for p in (course / "release").rglob("*") if p.is_file()]
    everything += [p for p in (course / "feedback").rglob("*") if p.is_file()]
    everything += [
        p
        for p in site_dir.rglob("*")
        if p.is_file() and p.suffix in (".html", ".js", ".json", ".txt", ".ipynb", ".md", ".xml", ".svg", ".py")
    ]
    for path in everything:
        # students who typed (part of) the solution legitimately see it in their own feedback
        wrote_solution = "feedback" in path.parts and path.parts[path.parts.index("feedback") + 1] not in (
            "wrong",
            "blank",
        )
        found = _leaks(path, canaries, hidden, set() if wrote_solution else solution)
        if found:
            problems[str(path)] = found
    assert not problems, json.dumps(problems, indent=1)[:5000]
    # the failing hidden tests say in words which check failed, never their traceback
    wrong = (course / "feedback/wrong/ps4-dirty-data/ps4-dirty-data.html").read_text()
    text = html_text(wrong)
    # in words: the check's own message where it has one (ps4 question 3), else which answer it read
    said = re.findall(
        r"Question ([1-5]): (?:the hidden check of [\w, ]+ did not pass|[a-z_]+ (?:is|does) not [^.]+)\.", text
    )
    assert sorted(set(said)) == ["1", "2", "3", "4", "5"], said
    assert "n_links is not the number of candidate pairs" in text
    assert "AssertionError" not in html_text(wrong) and "Traceback" not in html_text(wrong)


# --- commands and docs ------------------------------------------------------------------


def test_make_targets_exist():
    proc = subprocess.run(
        ["make", "-n", "assignments", "validate", "grade", "ASSIGNMENT=ps4-dirty-data"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "htcourse assignments" in proc.stdout and "htcourse validate" in proc.stdout
    assert "htcourse grade ps4-dirty-data" in proc.stdout
    proc = subprocess.run(["make", "-n", "grade"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert "make grade ASSIGNMENT=" in proc.stdout  # the usage message when ASSIGNMENT is missing


def test_usage_errors_exit_2(course_template, tmp_path, capsys):
    from htcourse.grading.__main__ import main

    assert main(["--course", str(course_template), "grade", "no-such-assignment"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
    fresh = tmp_path / "fresh"  # sources, but nothing generated yet
    fresh.mkdir()
    shutil.copy2(COURSE_SRC / "nbgrader_config.py", fresh)
    shutil.copytree(COURSE_SRC / "source", fresh / "source")
    assert main(["--course", str(fresh), "grade", "ps4-dirty-data"]) == 2
    assert "make assignments" in capsys.readouterr().err
    empty = clone(course_template, tmp_path / "empty")  # generated, no submissions: nothing to do
    assert main(["--course", str(empty), "grade", "ps3-counting"]) == 0
    assert "No submissions" in capsys.readouterr().out


def test_readme_walks_through_a_full_cycle():
    text = (COURSE_SRC / "README.md").read_text(encoding="utf-8")
    for command in [
        "make assignments",
        "make validate",
        "make grade ASSIGNMENT=ps4-dirty-data",
        "nbgrader release_assignment",
        "nbgrader fetch_assignment",
        "nbgrader submit",
        "nbgrader collect",
        "Formgrader",
        "nbgrader release_feedback",
        "nbgrader fetch_feedback",
        "HTCOURSE_EXCHANGE",
        "JupyterHub",
    ]:
        assert command in text, command
    for a in ASSIGNMENTS:
        assert f"### Rubric: {a}" in text or f"Rubric: {a}" in text, a
    assert "Exit status" in text or "exit status" in text

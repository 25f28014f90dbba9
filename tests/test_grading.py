"""Grading a class: in parallel worker processes, and with student code inside the sandbox.

Builds a small nbgrader course in a temporary folder from the committed
sources, writes fake submissions derived from the release (see
tests/fixtures/submissions/fake_students.py), and grades them with the real
command line, as `make grade` does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from htcourse.paths import REPO_ROOT

PYTHON = sys.executable
ASSIGNMENT = "ps1-dirty-data"

_spec = importlib.util.spec_from_file_location(
    "htcourse_fake_students_grading", Path(__file__).parent / "fixtures" / "submissions" / "fake_students.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)


def run_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               HTCOURSE_CELL_TIMEOUT="8")
    env.pop("HTCOURSE_UNSANDBOXED", None)
    return subprocess.run([PYTHON, "-m", "htcourse.grading", "--course", str(course), *args],
                          cwd=course, env=env, capture_output=True, text=True, timeout=900)


def new_course(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(REPO_ROOT / "assignments" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    result = run_cli(root, "generate", ASSIGNMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def auto_scores(course: Path) -> dict[str, float]:
    """student -> autograded points, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        return {s.student.id: s.code_score for s in gb.assignment_submissions(ASSIGNMENT)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- sandbox: attacks graded beside a correct submission ---------------------------

def attacks(course: Path) -> dict[str, str]:
    source_nb = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return {
        "read-solutions": f"print(open({str(source_nb)!r}).read()[:200])",
        "list-students": f"import os; print(os.listdir({str(course / 'submitted')!r}))",
        "write-gradebook": f"open({str(course / 'gradebook.db')!r}, 'ab').write(b'STUDENT-WAS-HERE')",
        "connect-localhost": "import socket; socket.create_connection(('127.0.0.1', 8888), timeout=3)",
        "connect-remote": "import socket; socket.create_connection(('192.0.2.10', 443), timeout=3)",
        "allocate": "hog = bytearray(16 * 1024**3)",
        "fork": ("import os, time\n"
                 "for _ in range(5000):\n"
                 "    if os.fork() == 0:\n"
                 "        time.sleep(5); os._exit(0)"),
        "write-outside": f"open({str(REPO_ROOT / 'src' / 'htcourse' / 'planted.py')!r}, 'w').write('x')",
    }


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("sandbox") / "course")
    fake.write_submission(course, "correct", ASSIGNMENT, fake.correct(course, ASSIGNMENT))
    for name, code in attacks(course).items():
        # The attempt comes after the answers: a fork bomb exhausts its own
        # sandbox's process limit for a while, which would also stop its own
        # later cells; what matters is that it reaches nothing outside.
        nb = fake.correct(course, ASSIGNMENT)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        fake.write_submission(course, f"attack-{name}", ASSIGNMENT, nb)
    protected = [course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", course / "nbgrader_config.py"]
    before = {p: digest(p) for p in protected}
    result = run_cli(course, "grade", ASSIGNMENT, "--jobs", "2")
    return course, result, before


def test_every_attack_fails_and_every_submission_scores_what_its_answers_earn(attacked):
    course, result, _ = attacked
    assert result.returncode == 0, result.stdout + result.stderr
    scores = auto_scores(course)
    assert set(scores) == {"correct", *(f"attack-{n}" for n in attacks(course))}
    assert all(score == 10 for score in scores.values()), scores
    for name in attacks(course):
        graded = nbformat.read(course / "autograded" / f"attack-{name}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        outputs = graded.cells[-1].outputs
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert errors, f"the {name} attempt did not fail inside the sandbox: {outputs}"
        printed = "".join(o.get("text", "") for o in outputs)
        assert "BEGIN SOLUTION" not in printed and "attack-" not in printed


def test_protected_files_are_untouched(attacked):
    course, _, before = attacked
    assert {p: digest(p) for p in before} == before
    assert not (REPO_ROOT / "src" / "htcourse" / "planted.py").exists()
    assert not (course / "gradebook.db").read_bytes().endswith(b"STUDENT-WAS-HERE")
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_grading_refuses_without_bubblewrap_unless_told(tmp_path, monkeypatch):
    """No bwrap on PATH: a clear refusal (exit 2) that names UNSANDBOXED=1; with it, grading goes on."""
    course = new_course(tmp_path / "course")
    fake.write_submission(course, "correct", ASSIGNMENT, fake.correct(course, ASSIGNMENT))
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    for tool in ("setpriv", "prlimit", "jupyter", "alembic"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), no_bwrap / tool)
    env = dict(os.environ, PATH=f"{no_bwrap}{os.pathsep}/usr/bin/X11-none", HTCOURSE_CELL_TIMEOUT="8")
    env.pop("HTCOURSE_UNSANDBOXED", None)
    cmd = [PYTHON, "-m", "htcourse.grading", "--course", str(course), "grade", ASSIGNMENT, "--jobs", "1"]
    refused = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "bubblewrap" in refused.stderr and "UNSANDBOXED=1" in refused.stderr
    assert not (course / "autograded").exists()
    allowed = subprocess.run(cmd + ["--unsandboxed"], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "WITHOUT the sandbox" in allowed.stderr
    assert auto_scores(course) == {"correct": 10}


# --- parallel grading gives the same scores as serial grading -----------------------

def test_parallel_and_serial_grading_agree(tmp_path):
    students = {
        "correct": fake.correct, "blank": fake.blank, "wrong": fake.wrong,
        "partial": lambda c, a: fake.partial(c, a, ["q1-answer", "q2-answer"]),
    }
    results = {}
    for jobs in ("1", "2"):
        course = new_course(tmp_path / f"jobs{jobs}")
        for name, make in students.items():
            fake.write_submission(course, name, ASSIGNMENT, make(course, ASSIGNMENT))
        result = run_cli(course, "grade", ASSIGNMENT, "--jobs", jobs)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count(f"/{len(students)}]") == len(students), "one progress line per submission"
        results[jobs] = auto_scores(course)
    assert results["1"] == results["2"] == {"correct": 10, "blank": 0, "wrong": 0, "partial": 4}

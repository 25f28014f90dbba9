"""Grading a class: in parallel worker processes, and with student code inside the sandbox.

Builds a small nbgrader course in a temporary folder from the committed
sources, writes fake submissions derived from the release (see
tests/fixtures/submissions/fake_students.py), and grades them with the real
command line, as `make grade` does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import cli_env, fake_students
from once import made_once

from htcourse.paths import REPO_ROOT

PYTHON = sys.executable
ASSIGNMENT = "ps4-dirty-data"

fake = fake_students()


def run_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = cli_env(HTCOURSE_CELL_TIMEOUT="8")
    return subprocess.run(
        [PYTHON, "-m", "htcourse.grading", "--course", str(course), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def source_course(root: Path, assignment: str = ASSIGNMENT) -> Path:
    """A course folder at ``root`` with the course's nbgrader_config.py and one assignment's source."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(REPO_ROOT / "assignments" / "source" / assignment, root / "source" / assignment)
    return root


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """A course with ASSIGNMENT only, generated once per run (``htcourse.grading generate``); copied by new_course."""

    def make(root: Path) -> None:
        source_course(root)
        result = run_cli(root, "generate", ASSIGNMENT)
        assert result.returncode == 0, result.stdout + result.stderr

    return made_once(tmp_path_factory, f"generated-{ASSIGNMENT}", make)


def new_course(root: Path, generated: Path) -> Path:
    """A course of its own at ``root``: a copy of the generated one."""
    shutil.copytree(generated, root)
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
        "fork": ("import os, time\nfor _ in range(5000):\n    if os.fork() == 0:\n        time.sleep(5); os._exit(0)"),
        "write-outside": f"open({str(REPO_ROOT / 'src' / 'htcourse' / 'planted.py')!r}, 'w').write('x')",
    }


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, generated):
    course = new_course(tmp_path_factory.mktemp("sandbox") / "course", generated)
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


def test_each_graded_submission_records_where_its_time_went(attacked):
    """Every stage of make bench's table is measured for a graded notebook, from the resources nbgrader carried."""
    from htcourse.grading.sandbox import bounds
    from htcourse.grading.stages import STAGES

    course, _, _ = attacked
    marker = json.loads((course / "autograded" / "correct" / ASSIGNMENT / ".htcourse-graded.json").read_text())
    stages = marker["stages"]
    assert set(stages) == set(STAGES), stages
    assert all(wall > 0 and min(cpus) >= 0 for wall, *cpus in stages.values()), stages
    assert stages["check"][2] > 0, "the checker's CPU comes back with the check"
    if bounds.counts_cpu():  # the machine counts a sandbox's CPU: the kernel's start and its cells both cost some
        assert stages["kernel start"][3] > 0 and stages["execution"][3] > 0, stages


def test_grading_refuses_without_bubblewrap_unless_told(tmp_path, monkeypatch, generated):
    """No bwrap on PATH: a clear refusal (exit 2) that names UNSANDBOXED=1; with it, grading goes on."""
    course = new_course(tmp_path / "course", generated)
    fake.write_submission(course, "correct", ASSIGNMENT, fake.correct(course, ASSIGNMENT))
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    for tool in ("setpriv", "prlimit", "jupyter", "alembic"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), no_bwrap / tool)
    env = dict(os.environ, PATH=f"{no_bwrap}{os.pathsep}/usr/bin/X11-none", HTCOURSE_CELL_TIMEOUT="8")
    cmd = [PYTHON, "-m", "htcourse.grading", "--course", str(course), "grade", ASSIGNMENT, "--jobs", "1"]
    refused = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "bubblewrap" in refused.stderr and "UNSANDBOXED=1" in refused.stderr
    assert not (course / "autograded").exists()
    allowed = subprocess.run(cmd + ["--unsandboxed"], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "WITHOUT the sandbox" in allowed.stderr
    assert auto_scores(course) == {"correct": 10}


def test_grading_refuses_at_once_when_the_assignments_datasets_are_missing(tmp_path, monkeypatch):
    """A course whose datasets are not there fails before any submission runs, naming the missing file and the fix."""
    from htcourse.grading.batch import check_datasets, datasets_read, grade_all
    from htcourse.grading.course import Course, CourseError

    root = source_course(tmp_path / "course")
    course = Course(root)
    assert datasets_read(course, ASSIGNMENT) == ["case_records_raw.csv", "case_records_defects.csv"]
    check_datasets(course, ASSIGNMENT)  # the committed datasets are all there
    monkeypatch.setenv("HTCOURSE_DATASETS", str(tmp_path / "empty"))
    with pytest.raises(CourseError) as refused:
        grade_all(ASSIGNMENT, course)  # before the gradebook is even opened (it does not exist here)
    message = str(refused.value)
    assert "case_records_raw.csv is missing" in message and "1 more of the datasets" in message
    assert f"HTCOURSE_DATASETS is set ({tmp_path / 'empty'})" in message and "make datasets" in message
    assert not (root / "gradebook.db").exists() and not (root / "autograded").exists()


def test_a_dataset_read_through_a_course_helper_is_checked_too(tmp_path, monkeypatch):
    """ps2 reads no dataset by name, but imagematch checks every image against its licence manifest: a course
    without the manifest is refused before grading, as one without a dataset read by name is."""
    from htcourse import imagematch
    from htcourse.grading.batch import HELPERS_READ, check_datasets, datasets_read
    from htcourse.grading.course import Course, CourseError

    assert HELPERS_READ["imagematch"] == imagematch.MANIFEST
    ps2 = "ps2-image-matching"
    course = Course(source_course(tmp_path / "course", ps2))
    assert datasets_read(course, ps2) == [f"{imagematch.MANIFEST}.csv"]
    check_datasets(course, ps2)  # the committed manifest is there
    monkeypatch.setenv("HTCOURSE_DATASETS", str(tmp_path / "empty"))
    with pytest.raises(CourseError, match=rf"cannot grade {ps2}: .*{imagematch.MANIFEST}\.csv is missing"):
        check_datasets(course, ps2)


# --- parallel grading gives the same scores as serial grading -----------------------


def test_serial_grading_gives_the_parallel_batchs_scores(tmp_path, generated):
    """One worker (--jobs 1) gives each student the score the parallel batch gives them
    (test_assignments.py::test_batch_scores_are_exact grades the same students with several workers)."""
    students = {
        "correct": fake.correct,
        "blank": fake.blank,
        "wrong": fake.wrong,
        "partial": lambda c, a: fake.partial(c, a, ["q1-answer", "q2-answer"]),
    }
    course = new_course(tmp_path / "jobs1", generated)
    for name, make in students.items():
        fake.write_submission(course, name, ASSIGNMENT, make(course, ASSIGNMENT))
    result = run_cli(course, "grade", ASSIGNMENT, "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(f"/{len(students)}]") == len(students), "one progress line per submission"
    assert auto_scores(course) == {name: fake.BATCH_EXPECTED[name] for name in students}


# --- hidden tests run outside the student's kernel: a determined student --------------

REPORT_MIME = "application/vnd.htcourse.answers+json"

#: Each is one cell a student adds after the setup cell ("early", so that it also acts on every
#: later cell), after the last answer cell ("late", so that it cannot change the answers it
#: leaves alone: patching builtins early would also change what the student's own answers
#: compute), or after the answer cell named.
GAMES = {
    "patch-modules": (
        "early",
        "import math, numbers, htcourse.data\n"
        "math.isclose = lambda *a, **k: True\n"
        "numbers.Integral.register(object)\n"
        "htcourse.data.load = lambda *a, **k: raw",
    ),
    "patch-builtins": (
        "late",
        "import builtins\n"
        "class _Yes:\n"
        "    __eq__ = lambda self, other: True\n"
        "    __hash__ = object.__hash__\n"
        "builtins.sorted = lambda *a, **k: _Yes()\n"
        "builtins.all = lambda *a, **k: True",
    ),
    "custom-eq": (
        "q3-answer",
        "class Always(int):\n"
        "    def __eq__(self, other): return True\n"
        "    __hash__ = int.__hash__\n"
        "class Lenient(type(deduped)):\n"
        "    def __getitem__(self, key): return Always(0)\n"
        "n_people = Always(0)\n"
        "deduped = Lenient(deduped)",
    ),
    "custom-float": (
        "late",
        "import sys\n"
        "class Peek(float):\n"
        "    # answers math.isclose with whatever the caller expects\n"
        "    def __float__(self):\n"
        "        f = sys._getframe(1)\n"
        "        return float(next((v for k, v in f.f_globals.items() if k.startswith('_jump')), 0.0))\n"
        "    def __eq__(self, other): return True\n"
        "    __hash__ = float.__hash__\n"
        "police_jump = Peek(0.5)",
    ),
    "hooks-and-tracers": (
        "early",
        "import sys, json\n"
        "from IPython.display import display\n"
        "ip = get_ipython()\n"
        "ip.events.register('pre_run_cell', lambda info: print('SRC:' + info.raw_cell.encode().hex()))\n"
        "def forge(result=None):\n"
        "    for q in ('q3-hidden', 'q4-hidden', 'q5-hidden'):\n"
        f"        display({{{REPORT_MIME!r}: {{'cell': q, "
        "'answers': {'n_people': 0, 'police_jump': 0.1}, 'problems': {}}}, raw=True)\n"
        "ip.events.register('post_run_cell', forge)\n"
        "def tracer(frame, event, arg):\n"
        "    if event == 'call' and 'hidden' in frame.f_code.co_filename:\n"
        "        print('TRACE', frame.f_code.co_filename)\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"
        "import codecs\n"
        "ip.input_transformers_cleanup.append("
        "lambda lines: [print(codecs.encode(''.join(lines), 'rot13')) or l for l in lines])",
    ),
    "read-other-cells": (
        "late",
        "import base64, codecs, glob, zlib, json\n"
        "for path in glob.glob('*.ipynb'):\n"
        "    try:\n"
        "        data = open(path, 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    print(base64.b64encode(zlib.compress(data)).decode())\n"
        "    print(codecs.encode(data.decode(errors='replace')[-4000:], 'rot13'))\n"
        "print(base64.b64encode('\\n'.join(In).encode()).decode())\n"
        "print(codecs.encode(json.dumps(get_ipython().user_ns.get('_ih', [])), 'rot13'))",
    ),
}


def _with_cell(nb, code: str, where: str):
    anchor = {"early": "setup", "late": "q5-answer"}.get(where, where)
    position = 1 + max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == anchor)
    nb.cells.insert(position, nbformat.v4.new_code_cell(code))
    return nb


@pytest.fixture(scope="module")
def gamed(tmp_path_factory, generated):
    course = new_course(tmp_path_factory.mktemp("gamed") / "course", generated)
    honest = ["q1-answer", "q2-answer"]
    fake.write_submission(course, "correct", ASSIGNMENT, fake.correct(course, ASSIGNMENT))
    fake.write_submission(course, "partial", ASSIGNMENT, fake.partial(course, ASSIGNMENT, honest))
    for name, (where, code) in GAMES.items():
        fake.write_submission(
            course, f"game-{name}", ASSIGNMENT, _with_cell(fake.partial(course, ASSIGNMENT, honest), code, where)
        )
    # The issue's own attack: a blank notebook and one added cell.
    one_cell = "\n".join(code for _, code in GAMES.values() if "deduped" not in code)
    fake.write_submission(
        course, "blank-plus-one-cell", ASSIGNMENT, _with_cell(fake.blank(course, ASSIGNMENT), one_cell, "early")
    )
    result = run_cli(course, "grade", ASSIGNMENT, "--jobs", "2")
    return course, result


def test_every_game_earns_exactly_what_its_honest_answers_earn(gamed):
    course, result = gamed
    assert result.returncode == 0, result.stdout + result.stderr
    scores = auto_scores(course)
    expected = {"correct": 10, "partial": 4, "blank-plus-one-cell": 0, **{f"game-{n}": 4 for n in GAMES}}
    assert scores == expected
    assert "Traceback" not in result.stdout + result.stderr


def _hidden_lines(course: Path) -> set[str]:
    from htcourse.grading.feedback import split_hidden

    nb = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    released = "\n".join(
        c.source for c in nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4).cells
    )
    lines = set()
    for cell in nb.cells:
        for line in split_hidden(cell.source)[1]:
            # a line that is also part of what students received (the setup's own data.load) is no secret
            if len(line.strip()) >= 12 and line.strip() not in released:
                lines.add(line.strip())
    assert len(lines) >= 20
    return lines


def _decodings(text: str) -> list[str]:
    """The text, and everything in it that decodes from base64, hex, zlib or rot13."""
    import base64
    import binascii
    import codecs
    import re
    import zlib

    out = [text, codecs.decode(text, "rot13")]
    blobs = []
    for token in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        try:
            blobs.append(base64.b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError):
            pass
    for token in re.findall(r"(?:[0-9a-fA-F]{2}){8,}", text):
        blobs.append(bytes.fromhex(token))
    for blob in blobs:
        for data in (blob,):
            try:
                data = zlib.decompress(data)
            except zlib.error:
                pass
            decoded = data.decode("utf-8", errors="replace")
            out += [decoded, codecs.decode(decoded, "rot13")]
    return out


def test_no_hidden_test_line_in_any_feedback_even_decoded(gamed):
    import html

    course, _ = gamed
    hidden = _hidden_lines(course)
    found = []
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) == 2 + len(GAMES) + 1
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        for decoded in _decodings(text):
            found += [f"{page.parent.parent.name}: {line}" for line in hidden if line in decoded]
    assert not found, found[:5]
    # The scan does find what a kernel-side hidden test used to give away.
    import base64

    sample = next(iter(hidden))
    assert any(sample in d for d in _decodings("x " + base64.b64encode(sample.encode()).decode() + " y"))


def test_feedback_says_in_words_what_failed(gamed):
    import html
    import re

    course, _ = gamed
    page = course / "feedback" / "blank-plus-one-cell" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))))
    assert "n_namibia_lost was not defined when question 1 was checked." in text
    for game, line in [
        ("custom-eq", "n_people could not be checked for question 3: it is a __main__.Always"),
        ("custom-float", "police_jump could not be checked for question 5: it is a __main__.Peek"),
    ]:
        page = course / "feedback" / f"game-{game}" / ASSIGNMENT / f"{ASSIGNMENT}.html"
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))))
        assert line in text


def test_checker_prepares_a_setup_ahead_and_answers_in_order():
    """prepare() does not wait; a later check gets its own reply, and a failed setup is reported by the check."""
    from htcourse.grading import checker, wire

    tests = [{"id": "q1", "label": "question 1", "names": ["a"], "source": "assert a == base + 1, 'a is off by some'"}]
    good = {"q1": json.dumps(wire.build_answers_message("q1", ["a"], {"a": 42}))}
    bad = {"q1": json.dumps(wire.build_answers_message("q1", ["a"], {"a": 7}))}
    from htcourse.grading.answers import CheckAnswers
    from htcourse.grading.limits import configured

    limits = [configured(None, CheckAnswers, name) for name in ("timeout", "setup_timeout")]
    c = checker.Checker()
    try:
        c.prepare(["base = 41"], tests)
        c.prepare(["base = 41"], tests)  # twice: both replies are read before the check's
        # prepare() only sends: it has not even read the checker's first line, let alone a reply
        assert (c.started, c.pending) == (False, 2), "prepare waited for the checker"
        assert c.check(["base = 41"], tests, good, *limits)["q1"]["passed"] is True
        assert 0 < c.last_cpu_seconds < 5, "the checker reports the CPU a check cost (make bench)"
        result = c.check(["base = 41"], tests, bad, *limits)["q1"]
        assert result["passed"] is False and result["lines"] == ["Question 1: a is off by some"]
        c.prepare(["base = 1 / 0"], tests)
        with pytest.raises(checker.CheckerError, match="setup cell 1 failed in the checker: ZeroDivisionError"):
            c.check(["base = 1 / 0"], tests, good, *limits)
        assert c.check(["base = 41"], tests, good, *limits)["q1"]["passed"] is True  # still in step
    finally:
        c.close()


def test_submission_size_limits_are_the_course_config(tmp_path):
    """One limit per kind, from nbgrader_config.py: CourseDirectory.max_file_size and max_dir_size."""
    from htcourse.grading.course import Course
    from htcourse.grading.preflight import SubmissionError, check_submission

    course = Course(REPO_ROOT / "assignments")
    assert course.max_file_size_kb == 20_000
    folder = tmp_path / "sub"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(folder / "ps.ipynb"))
    (folder / "big.png").write_bytes(b"x" * 3000)
    checked = check_submission(folder, ["ps"], [], max_file_size_kb=2, max_dir_size_kb=10)
    assert [str(p) for p in checked.other_files] == [] and "big.png is over the course's limit" in checked.flags[0]
    assert "max_file_size" in checked.flags[0]
    with pytest.raises(SubmissionError, match=r"over the course's limit of 0.002 MB \(c.CourseDirectory.max_dir_size"):
        check_submission(folder, ["ps"], [], max_file_size_kb=2, max_dir_size_kb=2)
    (folder / "big.png").unlink()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x" * 3000)]), str(folder / "ps.ipynb"))
    with pytest.raises(SubmissionError, match=r"ps.ipynb is .* over the course's limit of 0.002 MB per file"):
        check_submission(folder, ["ps"], [], max_file_size_kb=2)


def test_the_grader_checks_a_notebook_once_per_pass_unless_the_course_config_says_otherwise(tmp_path):
    """GRADER_DEFAULTS lie under the config files: optimistic validation, which still refuses a broken notebook."""
    from nbconvert.exporters import NotebookExporter
    from nbconvert.preprocessors import Preprocessor

    from htcourse.grading.course import Course

    course = Course(REPO_ROOT / "assignments")
    exporter = NotebookExporter(config=course.config)
    assert exporter.optimistic_validation is True

    class Breaks(Preprocessor):
        def preprocess(self, nb, resources):
            nb.cells[0]["cell_type"] = "no such type"
            return nb, resources

    exporter.register_preprocessor(Breaks(), enabled=True)
    with pytest.raises(Exception, match="no such type|not valid"):
        exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    own = tmp_path / "course"
    own.mkdir()
    (own / "nbgrader_config.py").write_text("c = get_config()\nc.Exporter.optimistic_validation = False\n")
    assert NotebookExporter(config=Course(own).config).optimistic_validation is False
    from htcourse.grading.course import GRADER_DEFAULTS

    assert GRADER_DEFAULTS["Exporter"]["optimistic_validation"] is True  # a course's file changes its own copy only


# --- hostile submissions: links out of the sandbox, script for the instructor -------------


_spec = importlib.util.spec_from_file_location(
    "htcourse_hostile_markup", Path(__file__).parent / "fixtures" / "submissions" / "hostile_markup.py"
)
hostile_markup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile_markup)
_Listener, hostile_markdown, hostile_code = (
    hostile_markup.Listener,
    hostile_markup.hostile_markdown,
    hostile_markup.hostile_code,
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, generated):
    """A class with an honest student, one whose code leaves links, and one whose answers carry script."""
    base = tmp_path_factory.mktemp("hostile")
    course = new_course(base / "course", generated)
    listener = _Listener()
    outside = base / "root-only"
    outside.mkdir(mode=0o700)
    targets = {
        "secret": outside / "secret.txt",
        "chmod": outside / "keep-mode.txt",
        "overwrite": outside / "keep-content.txt",
    }
    for name, path in targets.items():
        path.write_text(f"ROOT-ONLY-{name.upper()}-" + "7f3a9c" * 8)
        path.chmod(0o600)
    before = {name: (digest(p), p.stat().st_mode) for name, p in targets.items()}

    fake.write_submission(course, "honest", ASSIGNMENT, fake.correct(course, ASSIGNMENT))

    nb = fake.correct(course, ASSIGNMENT)
    fake.set_answer(nb, "q7-answer", "![my piece](picture.png)\n\n" + fake.STUDENT_PROSE)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "\n".join(
                [
                    "import os",
                    f"os.symlink({str(targets['secret'])!r}, 'picture.png')",
                    f"os.symlink({str(targets['chmod'])!r}, 'notes.txt')",
                    f"os.remove({ASSIGNMENT + '.ipynb'!r})",
                    f"os.symlink({str(targets['overwrite'])!r}, {ASSIGNMENT + '.ipynb'!r})",
                    f"os.symlink({str(outside)!r}, 'outside')",
                ]
            )
        )
    )
    fake.write_submission(course, "links", ASSIGNMENT, nb)

    nb = fake.correct(course, ASSIGNMENT)
    answer = fake.cell(nb, "q7-answer")
    answer.source = hostile_markdown(listener.port)
    answer["attachments"] = {"drawing.png": {"image/png": __import__("base64").b64encode(fake.tiny_png(6, 6)).decode()}}
    nb.cells.append(nbformat.v4.new_code_cell(hostile_code(listener.port)))
    fake.write_submission(course, "markup", ASSIGNMENT, nb)

    result = run_cli(course, "grade", ASSIGNMENT, "--jobs", "2")
    yield course, result, targets, before, listener
    listener.server.shutdown()


def _feedback(course: Path, student: str) -> str:
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_links_left_by_student_code_reach_nothing(hostile):
    """Links to a root-only file, to a file to chmod and in place of the notebook: all untouched, none followed."""
    import base64

    course, result, targets, before, _ = hostile
    assert result.returncode == 0, result.stdout + result.stderr
    assert {name: (digest(p), p.stat().st_mode) for name, p in targets.items()} == before
    assert auto_scores(course) == {"honest": 10, "links": 10, "markup": 10}
    graded = course / "autograded" / "links" / ASSIGNMENT
    assert not any(p.is_symlink() for p in graded.rglob("*")), list(graded.rglob("*"))
    assert (graded / f"{ASSIGNMENT}.ipynb").is_file()
    nbformat.read(graded / f"{ASSIGNMENT}.ipynb", 4)  # the graded notebook itself, not a link's target
    feedback_dir = course / "feedback" / "links" / ASSIGNMENT
    assert not any(p.is_symlink() for p in feedback_dir.rglob("*"))
    secret = targets["secret"].read_bytes()
    for page in feedback_dir.rglob("*"):
        if page.is_file():
            data = page.read_bytes()
            assert b"ROOT-ONLY" not in data and base64.b64encode(secret)[:40] not in data, page
    # and the instructor is told
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("links:"))
    assert "left links" in line and "picture.png" in line and f"{ASSIGNMENT}.ipynb" in line, line


def test_hostile_markup_is_removed_and_reported(hostile):
    course, result, _, _, _ = hostile
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("markup:"))
    for what in ("<script>", "onerror= handler", "<svg>", "<iframe>", "javascript: address", "application/javascript"):
        assert what in line, (what, line)
    assert not any(line.strip().startswith("honest:") for line in result.stdout.splitlines()), result.stdout
    graded = nbformat.read(course / "autograded" / "markup" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    shown = [c.source for c in graded.cells if c.cell_type == "markdown"]
    shown += [
        json.dumps(o.get("data", {})) + json.dumps(o.get("metadata", {}))
        for c in graded.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    ]
    for text in shown:
        bad = ("<script", "onerror", "onload", "javascript:", "srcdoc")
        assert "__pwned" not in text or not any(b in text.lower() for b in bad), text[:500]
    page = _feedback(course, "markup")
    assert 'http-equiv="Content-Security-Policy"' in page[: page.index("<script") if "<script" in page else len(page)]


def _students_payloads_ran(page, listener) -> list:
    page.wait_for_timeout(1500)
    marked = page.evaluate("() => window.__pwned || []")
    return list(marked) + list(listener.hits)


def _legit_formatting_shows(page) -> None:
    assert page.locator("strong", has_text="Bold words").count() >= 1
    assert page.locator("em", has_text="emphasis").count() >= 1
    assert page.locator('a[href="https://example.org/report"]').count() >= 1
    assert page.locator("li", has_text="second point").count() >= 1
    assert page.locator("td", has_text="2020").count() >= 1
    drawn = page.locator('img[src^="data:image/png"]')
    assert drawn.count() >= 1
    assert page.locator('a[href^="javascript:"]').count() == 0


def _formgrader_has_its_policy_and_still_works(page, response, base: str, course: Path, student: str) -> None:
    """The formgrader's Content-Security-Policy (htcourse.grading.formgrader_csp): no injected script runs,
    nbgrader's own do (the grade boxes fill in and save, the name toggle answers, other pages render)."""
    from nbgrader.api import Gradebook

    policy = response.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("object-src") == ["'none'"] and directives.get("base-uri") == ["'none'"], policy
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "'self'" not in scripts, policy
    assert sum(s.startswith("'sha256-") for s in scripts) >= 3, policy  # nbgrader's own inline scripts
    assert "frame-ancestors" in directives, policy  # the server's own directive kept
    # A script put into the page now (as a payload the cleaner missed would be) does not run.
    ran = page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__injected = 1';
                   document.body.appendChild(s); return window.__injected || 0; }"""
    )
    assert ran == 0
    # nbgrader's own scripts ran: its variables are set, the name toggle answers, the grade boxes work.
    assert page.evaluate("() => typeof submission_id === 'string' && typeof toggle_name === 'function'")
    page.locator(".name-hidden.glyphicon").click()
    assert page.locator("a.name-shown").is_visible()
    # the grade boxes fill in from the formgrader's API (an autograded answer shows its points) ...
    page.wait_for_function("() => (document.getElementById('q1-hidden') || {}).placeholder === '2'", timeout=15_000)
    assert page.evaluate("() => formgrader.loaded === true")  # its set-up ran to the end (keyboard shortcuts)
    # ... and a hand grade typed into one is saved
    grade_id = "q8-answer"  # a hand-graded answer: the autograded scores stay as they are
    box = page.locator(f"input.score#{grade_id}")
    box.fill("3")
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        box.press("Tab")
    assert saved.value.ok, (saved.value.status, saved.value.text()[:500])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        for _ in range(50):
            grade = gb.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, student)
            if grade.manual_score == 3:
                break
            gb.db.expire_all()
            time.sleep(0.2)
        assert grade.manual_score == 3, (grade_id, grade.manual_score)
    listing = page.goto(f"{base}/formgrader/manage_assignments", wait_until="load")
    assert "script-src" in listing.headers.get("content-security-policy", "")
    page.locator("#main-table tr", has_text=ASSIGNMENT).first.wait_for(timeout=15_000)


def test_no_payload_runs_in_the_formgrader_or_the_feedback(hostile, browser):
    """The instructor opens the hostile submission in the formgrader, and the feedback page: nothing runs."""
    import socket
    import urllib.request

    from nbgrader.api import Gradebook

    course, _, _, _, listener = hostile
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        submission_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "markup").id
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = cli_env(JUPYTER_CONFIG_DIR=str(course / ".jupyter-config"))
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "jupyter"),
            "server",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--allow-root",
            "--ServerApp.token=instructor-token",
            f"--ServerApp.root_dir={course}",
        ],
        cwd=course,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/api/status?token=instructor-token", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        context = browser.new_context()
        page = context.new_page()
        # logged in as a person would be (a token in the address alone does not reach the formgrader's API)
        page.goto(f"{base}/login", wait_until="load")
        page.fill("#password_input", "instructor-token")
        page.click("#login_submit")
        page.wait_for_load_state()
        url = f"{base}/formgrader/submissions/{submission_id}/?index=0"
        response = page.goto(url, wait_until="load")
        assert page.locator("#notebook-container").count() >= 1, page.content()[:2000]
        assert _students_payloads_ran(page, listener) == []
        _legit_formatting_shows(page)
        assert page.locator("b", has_text="bold output").count() >= 1
        _formgrader_has_its_policy_and_still_works(page, response, base, course, "markup")
        page.goto((course / "feedback" / "markup" / ASSIGNMENT / f"{ASSIGNMENT}.html").as_uri(), wait_until="load")
        assert _students_payloads_ran(page, listener) == []
        _legit_formatting_shows(page)
        context.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- bounded per submission: memory of all processes, working folder, /tmp, output -------

#: Small bounds for the test, so that each hostile submission reaches its bound in seconds.
SMALL_BOUNDS = """
c.SandboxKernelManager.sandbox_memory_bytes = 400 * 1024**2
c.SandboxKernelManager.workdir_bytes = 16 * 1024**2
c.SandboxKernelManager.tmp_bytes = 16 * 1024**2
c.BoundedExecute.max_output_chars_read = 50_000
"""

RESOURCE_ATTACKS = {
    # four children of 150 MB each: under the per-process limit, over the sandbox's 400 MB together
    "memory": (
        "import os, time\n"
        "children = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        hog = bytearray(150 * 1024**2)\n"
        "        for i in range(0, len(hog), 4096): hog[i] = 1\n"
        "        time.sleep(2); os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children: os.waitpid(pid, 0)"
    ),
    # a file larger than the working folder, the error caught so that nothing shows in the output
    "disk": (
        "try:\n"
        "    with open('big.bin', 'wb') as f:\n"
        "        for _ in range(40): f.write(b'0' * 1024**2)\n"
        "except OSError:\n"
        "    pass"
    ),
    "tmp": ("with open('/tmp/fill', 'wb') as f:\n    for _ in range(40): f.write(b'0' * 1024**2)"),
    "print": "while True:\n    print('x' * 1000)",
}


@pytest.fixture(scope="module")
def bounded(tmp_path_factory, generated):
    course = new_course(tmp_path_factory.mktemp("bounded") / "course", generated)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(SMALL_BOUNDS)
    fake.write_submission(course, "honest", ASSIGNMENT, fake.correct(course, ASSIGNMENT))
    for name, code in RESOURCE_ATTACKS.items():
        nb = fake.correct(course, ASSIGNMENT)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        fake.write_submission(course, name, ASSIGNMENT, nb)
    result = run_cli(course, "grade", ASSIGNMENT, "--jobs", "2")
    return course, result


def _summary_line(result, student: str) -> str:
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith(f"{student}:")]
    return lines[-1] if lines else ""


def test_each_bound_is_flagged_with_its_reason_and_honest_scores_stay(bounded):
    from htcourse.grading.sandbox import bounds

    course, result = bounded
    assert result.returncode == 0, result.stdout + result.stderr
    assert auto_scores(course) == {"honest": 10, **{name: 10 for name in RESOURCE_ATTACKS}}, result.stdout
    assert not _summary_line(result, "honest"), result.stdout
    if bounds._own_cgroup() is not None:
        assert "memory bound of the sandbox" in _summary_line(result, "memory"), result.stdout
    else:  # the documented bound, said once
        assert "No memory cgroup" in result.stdout + result.stderr
    assert "filled its working folder" in _summary_line(result, "disk"), result.stdout
    assert "ran out of disk space" in _summary_line(result, "tmp"), result.stdout
    assert "was cut" in _summary_line(result, "print"), result.stdout
    graded = nbformat.read(course / "autograded" / "print" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    kept = sum(len(o.get("text", "")) for o in graded.cells[-1].outputs)
    assert kept < 60_000 and "the rest was not kept" in json.dumps(graded.cells[-1].outputs), kept


def test_no_large_file_reaches_the_feedback_or_the_disk(bounded):
    course, _ = bounded
    for folder in ("autograded", "feedback"):
        sizes = {p: p.stat().st_size for p in (course / folder).rglob("*") if p.is_file()}
        assert not [p for p in sizes if p.name in ("big.bin", "fill")], sizes
        assert max(sizes.values()) < 5 * 1024**2, max(sizes.items(), key=lambda kv: kv[1])


def test_an_interrupted_run_leaves_nothing_the_next_run_keeps(tmp_path):
    """Folders named for a grading process that has ended are removed by the next run."""
    import tempfile

    from htcourse.grading import batch
    from htcourse.grading.grader import STAGING_PREFIX
    from htcourse.grading.sandbox import workdir

    dead = subprocess.Popen(["true"])
    dead.wait()
    tmp = Path(tempfile.gettempdir())
    left = [
        tmp / f"{STAGING_PREFIX}{dead.pid}-abc",
        tmp / f"{workdir.SCRATCH_PREFIX}{dead.pid}-abc",
        tmp / f"{workdir.RUNDIR_PREFIX}{dead.pid}-abc",
    ]
    alive = tmp / f"{STAGING_PREFIX}{os.getpid()}-abc"
    for folder in [*left, alive]:
        (folder / "student" / "ps").mkdir(parents=True)
        (folder / "student" / "ps" / "in-flight.ipynb").write_text("{}")
    try:
        removed = batch._remove_stale_staging()
        assert set(left) <= set(removed) and not any(p.exists() for p in left)
        assert alive.exists()
    finally:
        for folder in [*left, alive]:
            shutil.rmtree(folder, ignore_errors=True)

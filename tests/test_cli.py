"""The `htcourse` command: every subcommand's help, and one run of each that proves its wiring.

What each run is (honestly): `datasets`, `serve`, `zip`, `assignments`,
`validate`, `feedback` and `classroom status` are real runs on small inputs;
`build` and `reader` are argument-validation runs here (a missing site or
repository gives exit 2 and names the fix), because the real ones take
minutes and are covered by `make book` and tests/test_reader.py; `collect`,
`grade` and `export` run for real in tests/test_lms.py. `classroom up` and
`down` are not run through this command in the suite: `classroom status` here
proves the wiring to classroom/manage.py, whose `up` and `down`
tests/test_classroom.py runs directly.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import cli_env

from htcourse import cli
from htcourse.paths import REPO_ROOT

PYTHON = sys.executable
ASSIGNMENT = "ps4-dirty-data"
COMMANDS = [
    "build",
    "serve",
    "reader",
    "zip",
    "datasets",
    "assignments",
    "validate",
    "collect",
    "grade",
    "feedback",
    "export",
    "classroom",
]


def htcourse(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = cli_env()
    return subprocess.run(
        [str(Path(PYTHON).parent / "htcourse"), *args],
        cwd=cwd or REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def inproc(capsys, *args: str) -> tuple[int, str, str]:
    """The command run in this process (as the console script runs it), for the quick checks of errors."""
    capsys.readouterr()
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_console_script_is_declared_and_installed():
    import tomllib

    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"htcourse": "htcourse.cli:main"}
    result = htcourse("--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f"\n    {command}" in result.stdout, command
    assert "Exit status" in result.stdout and "130" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: htcourse {command}" in text
    assert "examples:" in text and f"htcourse {command}" in text.split("examples:")[1]
    assert "(Wraps " in text


def test_unknown_commands_and_missing_arguments_are_usage_errors():
    assert htcourse("publish").returncode == 2
    missing = htcourse("collect", ASSIGNMENT)
    assert missing.returncode == 2 and "--from" in missing.stderr


def test_build_and_reader_name_the_fix_when_there_is_nothing_to_work_on(tmp_path, capsys):
    code, _, err = inproc(capsys, "build", "--path", str(tmp_path))
    assert code == 2 and "has no _config.yml" in err
    for command in ("reader", "zip", "serve"):
        code, _, err = inproc(capsys, command, "--site", str(tmp_path / "nothing"))
        assert code == 2 and "run `htcourse build` first" in err, (command, err)


@pytest.fixture
def tiny_site(tmp_path) -> Path:
    site = tmp_path / "html"
    (site / "_static").mkdir(parents=True)
    (site / "index.html").write_text(
        "<!doctype html><title>Course</title><p>hello from the tiny site</p>", encoding="utf-8"
    )
    (site / "_static" / "x.css").write_text("p{}", encoding="utf-8")
    return site


def test_zip_packs_a_built_site(tiny_site, tmp_path):
    result = htcourse("zip", "--site", str(tiny_site), "--out", str(tmp_path / "site.zip"))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "site.zip") as zf:
        assert sorted(zf.namelist()) == ["ht-course-site/_static/x.css", "ht-course-site/index.html"]


def test_serve_serves_the_site_on_this_computer(tiny_site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = cli_env()
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "htcourse"), "serve", "--site", str(tiny_site), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        deadline = time.monotonic() + 120
        while body is None and time.monotonic() < deadline and server.poll() is None:
            try:
                body = direct.open(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            except OSError:
                time.sleep(0.2)
        assert body and "hello from the tiny site" in body, server.poll()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_datasets_lists_and_writes_a_variant(tmp_path):
    listed = htcourse("datasets", "--list")
    assert listed.returncode == 0 and "ad_screening:" in listed.stdout
    made = htcourse("datasets", "--only", "ad_screening", "--seed", "2027", "--out", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "ad_screening.csv").stat().st_size > 0 and "seed 2027" in made.stdout


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "course"
    root.mkdir()
    shutil.copy(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(REPO_ROOT / "assignments" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    result = htcourse("assignments", ASSIGNMENT, "--course", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_assignments_generates_the_release_without_a_due_date_note_when_none_is_set(course):
    assert "released to" in htcourse("assignments", ASSIGNMENT, "--course", str(course)).stdout
    nb = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    assert not any("htcourse_due_date" in c.metadata for c in nb.cells)
    unknown = htcourse("assignments", "ps99", "--course", str(course))
    assert unknown.returncode != 0 and "ps99" in unknown.stdout + unknown.stderr


def test_validate_checks_the_source(course):
    result = htcourse("validate", ASSIGNMENT, "--course", str(course), timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ASSIGNMENT in result.stdout


def test_validate_refuses_no_workers(course, capsys):
    code, _, err = inproc(capsys, "validate", ASSIGNMENT, "--jobs", "0", "--course", str(course))
    assert code == 2 and "--jobs must be at least 1" in err, err


def test_grade_and_feedback_refuse_an_unknown_assignment_and_name_the_fix(course, capsys):
    for command in ("grade", "feedback"):
        code, _, err = inproc(capsys, command, "ps99", "--course", str(course))
        assert code == 2 and "unknown assignment 'ps99'" in err, err


def test_feedback_runs_on_a_course_with_nothing_graded(course):
    result = htcourse("feedback", ASSIGNMENT, "--course", str(course))
    assert result.returncode == 0, result.stdout + result.stderr


def test_collect_refuses_a_missing_zip_and_a_wrong_roster(course, tmp_path, capsys):
    code, _, err = inproc(
        capsys,
        "collect",
        ASSIGNMENT,
        "--from",
        "canvas",
        str(tmp_path / "none.zip"),
        "--roster",
        str(tmp_path / "r.csv"),
        "--course",
        str(course),
    )
    assert code == 2 and "download the submissions zip from Canvas" in err
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x_1_2_ps4-dirty-data.ipynb", "{}")
    (tmp_path / "r.csv").write_text("name,email\n", encoding="utf-8")
    code, _, err = inproc(
        capsys,
        "collect",
        ASSIGNMENT,
        "--from",
        "moodle",
        str(archive),
        "--roster",
        str(tmp_path / "r.csv"),
        "--course",
        str(course),
    )
    assert code == 2 and "not a Moodle grading worksheet" in err
    assert not (course / "submitted").exists()


def test_export_csv_needs_an_assignment_and_canvas_a_roster(course, capsys):
    assert inproc(capsys, "export", "csv", "--course", str(course))[::2] == (
        2,
        "error: htcourse export csv needs --assignment NAME (one file per assignment)\n",
    )
    code, _, err = inproc(capsys, "export", "canvas", "--course", str(course))
    assert code == 2 and "needs --roster" in err


def test_classroom_status_reports_a_classroom_that_is_not_there(tmp_path):
    result = htcourse("classroom", "status", "--state", str(tmp_path / "none"))
    assert result.returncode == 1
    assert f"no classroom is set up in {tmp_path / 'none'}" in result.stdout

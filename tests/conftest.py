"""Shared fixtures: the repository layout, the built site, a local web server and Chromium."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from browser import CHROMIUM, launch
from once import made_once

from htcourse.paths import REPO_ROOT

SITE_DIR = REPO_ROOT / "_build" / "html"
COURSE_SRC = REPO_ROOT / "assignments"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE_DIR / "index.html").exists():
        pytest.fail("The site is not built: run `make book` (make test does it first).")
    return SITE_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output readable
        pass


def serve_directory(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port); returns (base_url, server)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="session")
def site_url(site_dir):
    url, server = serve_directory(site_dir)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium for one test file. Not for the session: Playwright's sync API keeps its event loop
    running in this thread while it is open, so a later file that starts Playwright itself (test_classroom.py,
    in the same pytest-xdist worker) would fail with "Sync API inside the asyncio loop"."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM} (`apt-get install chromium`).")
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for running the course's commands in a subprocess: this one's, with this Python's
    bin folder (where ``htcourse``, ``jupyter`` and nbgrader's commands are) first on PATH, and ``extra``."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def fake_students():
    """The fake students of tests/fixtures/submissions/fake_students.py, as a module."""
    spec = importlib.util.spec_from_file_location(
        "htcourse_fake_students", Path(__file__).parent / "fixtures" / "submissions" / "fake_students.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def course_template(tmp_path_factory) -> Path:
    """A copy of assignments/ (config and sources only), with every assignment generated."""
    from htcourse.grading import Course
    from htcourse.grading.prepare import generate

    def make(folder: Path) -> None:
        root = folder / "template"
        root.mkdir()
        shutil.copy2(COURSE_SRC / "nbgrader_config.py", root)
        shutil.copytree(COURSE_SRC / "source", root / "source")
        lines = []
        assert generate(Course(root), echo=lines.append) == 0, "\n".join(lines)

    # made once per test run, for every worker (tests/once.py): the tests copy it before changing it
    return made_once(tmp_path_factory, "course", make) / "template"


def run_coroutine(coroutine):
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the rest of the session, where ``asyncio.run`` is refused."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

"""Something the tests need made once per test run, shared by every pytest-xdist worker.

``make test`` runs the test files in several workers (pytest-xdist), each with its own session
fixtures. What is costly to make and only read afterwards (the generated course, datasets of
another seed) is made by the first worker that needs it, under a file lock in the folder all the
workers' temporary folders share, and read by the others.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def made_once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run (every worker gets the same).

    The folder must only be read by the tests: copy it before changing anything in it.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's temporary folder sits in the run's
        base = base.parent
    folder = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / f"{name}.done"
        if not done.exists():
            if folder.exists():  # a worker that failed half-way left it
                shutil.rmtree(folder)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder

"""Process helpers shared by the fork server and the grader's trusted checker (Linux ``prctl``)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _die_with_parent() -> None:
    """Have the kernel send this process SIGKILL when its parent dies (a ``preexec_fn``)."""
    _check(_libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")


def end_helper(process: subprocess.Popen, timeout: float) -> None:
    """End a helper process that serves requests on its stdin: close the pipe, wait, then kill.

    Used for the fork server (:mod:`.forkserver`) and for the grader's trusted
    checker (:mod:`htcourse.grading.checker`).
    """
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def owner_gone(name: str, prefix: str) -> bool:
    """Whether the process whose id follows ``prefix`` in ``name`` (``<prefix><pid>-...``) has ended."""
    rest = name[len(prefix) :].split("-", 1)[0]
    if not rest.isdigit():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False

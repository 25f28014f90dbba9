"""Helper processes of the grader: the fork server's and the trusted checker's shared client code.

:class:`Helper` is the grader's end of either helper (start, send a line,
read a line within a timeout, close); :class:`Helpers` keeps one per key and
process. The rest are Linux process helpers (``prctl``) used on both ends.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time

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


class Helper:
    """The grader's end of a helper process: ``python -m <module>``, one request line in, reply lines out.

    The fork server (:mod:`.forkserver`) and the trusted checker
    (:mod:`htcourse.grading.checker`) are both such helpers. This class
    starts one (with the grader's environment or ``env``, in ``/``, dying
    with its parent), sends a request line, reads a reply line within a
    timeout, and closes it; a subclass holds :attr:`lock` around a request
    and its reply, and raises its own :attr:`error`.
    """

    #: The exception a subclass raises when its helper cannot be reached.
    error: type[Exception] = RuntimeError
    #: What the helper is called in error messages.
    name = "helper process"
    #: Seconds to wait for the helper to end once its input is closed.
    close_timeout: float = 5

    def __init__(self, module: str, args: tuple[str, ...] = (), env: dict | None = None):
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self._unread = bytearray()  # what the pipe gave beyond the last line read
        if env is None:
            env = dict(os.environ)
            env.pop("PYTHONSTARTUP", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
            preexec_fn=_die_with_parent,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def read_line(self, timeout: float) -> bytes:
        """One reply line (with its newline), or ``b""`` if none came within ``timeout`` or the helper ended.

        Lines are split here from what the pipe gives, not by a buffered file: ``select`` on a buffered
        file cannot see a second line that its buffer already holds (two replies that arrived at once),
        and would wait out the whole timeout for it.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        fd = self.process.stdout.fileno()
        while (end := self._unread.find(b"\n")) < 0:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return b""
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # the helper ended; a line it did not finish is no reply
                return b""
            self._unread += chunk
        line = bytes(self._unread[: end + 1])
        del self._unread[: end + 1]
        return line

    def send(self, line: str) -> None:
        """Send one request line; raise :attr:`error` if the helper cannot be reached."""
        try:
            self.process.stdin.write(line.encode())
            self.process.stdin.flush()
        except OSError as exc:
            raise self.error(f"cannot reach the {self.name}: {exc}") from None

    def close(self) -> None:
        end_helper(self.process, timeout=self.close_timeout)


class Helpers:
    """This process's helpers, one per key, started on first use and again if one stopped.

    A forked grading worker never uses its parent's helper (or its pipes): a
    helper belongs to the process that started it.
    """

    def __init__(self, start):
        self._start = start
        self._helpers: dict = {}
        self._lock = threading.Lock()

    def get(self, key, *args) -> Helper:
        """The helper for ``key``, started with ``start(*args)`` if there is none alive of this process."""
        with self._lock:
            helper = self._helpers.get(key)
            if helper is None or helper.owner != os.getpid() or not helper.alive:
                helper = self._helpers[key] = self._start(*args)
            return helper

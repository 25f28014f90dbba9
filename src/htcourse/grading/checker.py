"""The trusted checker: runs hidden tests in a process of the grader's own, never in the student's kernel.

``python -m htcourse.grading.checker`` is started once per grading process
(:func:`get`). It reads one request per line on stdin and answers one line
on its own copy of stdout (what setup or test code prints goes to
``/dev/null``). A request holds only what the grader took from the
gradebook, the assignment's read-only setup cells and its hidden-test cells,
plus the answers the student's kernel reported, as data (:mod:`.wire`):

1. The checker runs the setup cells (imports, datasets) once per distinct
   setup and keeps their namespace. Setup and tests are the instructor's
   code; no code of the student's is ever run here.
2. For each request it forks a child, which decodes the answers (a forged
   or damaged report can only fail), and, for each hidden-test cell, binds
   the cell's declared answers over a copy of the setup's namespace and
   runs the test. A test that changes a setup object changes only the
   child's copy.
3. The child sends back, for each cell, whether it passed and the lines
   for the feedback (:func:`htcourse.grading.answers.failure_lines`); it
   is killed if it runs longer than the request's timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback

#: Seconds all the hidden tests of one notebook may take in the checker.
DEFAULT_TIMEOUT = 120


class CheckerError(RuntimeError):
    """The checker could not check a notebook (a problem of the grader or the assignment, not the student)."""


# --- in the checker process ---------------------------------------------------------

def _run_tests(setup_ns: dict, request: dict) -> list[dict]:
    from htcourse.grading import answers

    results = []
    for test in request["tests"]:
        cell_id, label, names = test["id"], test["label"], test["names"]
        report = request["reports"].get(cell_id)
        lines, values = answers.unpack_report(report, cell_id, names, label)
        if lines:
            results.append({"id": cell_id, "passed": False, "lines": lines})
            continue
        namespace = dict(setup_ns)
        namespace.update(values)
        filename = f"<hidden test {cell_id}>"
        try:
            exec(compile(test["source"], filename, "exec"), namespace)  # noqa: S102 - the instructor's test
        except BaseException as exc:  # noqa: BLE001 - any failure of the test is a fail
            lineno = None
            for frame, line in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename == filename:
                    lineno = line
            results.append({"id": cell_id, "passed": False,
                            "lines": answers.failure_lines(test["source"], lineno, exc, names, label)})
        else:
            results.append({"id": cell_id, "passed": True, "lines": []})
    return results


def _check_in_child(setup_ns: dict, request: dict, timeout: float) -> dict:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.close(read_end)
            reply = {"results": _run_tests(setup_ns, request)}
        except BaseException as exc:  # noqa: BLE001
            reply = {"error": f"the checker failed: {type(exc).__name__}: {exc}"}
            code = 1
        data = json.dumps(reply).encode()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(0.0, left))
            if not ready:
                os.kill(child, signal.SIGKILL)
                return {"timeout": True}
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(child, 0)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return {"error": "the checker stopped before it answered"}


def _setup_key(sources: list[str]) -> str:
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def serve(requests, reply_fd: int) -> None:
    """Answer each request line from ``requests`` on ``reply_fd`` until the input ends."""
    from htcourse.grading import answers  # noqa: F401 - imported once, before the children fork

    setups: dict[str, dict] = {}
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            key = _setup_key(request["setup"])
            if key not in setups:
                namespace: dict = {"__name__": "__main__"}
                for i, source in enumerate(request["setup"]):
                    try:
                        exec(compile(source, f"<setup cell {i + 1}>", "exec"), namespace)  # noqa: S102
                    except BaseException as exc:  # noqa: BLE001
                        raise CheckerError(f"the assignment's setup cell {i + 1} failed in the checker: "
                                           f"{type(exc).__name__}: {exc}") from None
                setups[key] = namespace
            reply = _check_in_child(setups[key], request, float(request.get("timeout", DEFAULT_TIMEOUT)))
        except CheckerError as exc:
            reply = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"bad request to the checker: {type(exc).__name__}: {exc}"}
        data = (json.dumps(reply) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(reply_fd, view):]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the grader, which stops us
    reply_fd = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # whatever setup or test code prints goes nowhere
    sys.stdout = open(os.devnull, "w")
    os.write(reply_fd, b"ready\n")
    serve(sys.stdin, reply_fd)


# --- in the grader ------------------------------------------------------------------

class Checker:
    """The grader's handle on its checker process."""

    def __init__(self, timeout: float = 120):
        from htcourse.zygote import _die_with_parent

        self.owner = os.getpid()
        self._lock = threading.Lock()
        env = dict(os.environ)
        env.pop("PYTHONSTARTUP", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "htcourse.grading.checker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, cwd="/", preexec_fn=_die_with_parent,
        )
        if self._read_line(timeout) != b"ready\n":
            self.close()
            raise CheckerError("the trusted checker did not start")

    def _read_line(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if ready else b""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self, setup: list[str], tests: list[dict], reports: dict, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """``{cell id: {"passed", "lines"}}`` for ``tests`` (each ``{"id", "label", "names", "source"}``)."""
        request = {"setup": setup, "tests": tests, "reports": reports, "timeout": timeout}
        with self._lock:
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                self.process.stdin.flush()
            except OSError as exc:
                raise CheckerError(f"cannot reach the trusted checker: {exc}") from None
            # The first request of a setup runs it (datasets, images): allow for that.
            line = self._read_line(timeout + 300)
        if not line:
            self.close()
            raise CheckerError("the trusted checker did not answer")
        reply = json.loads(line)
        if reply.get("error"):
            raise CheckerError(reply["error"])
        if reply.get("timeout"):
            return {t["id"]: {"passed": False, "lines": [
                f"{t['label'].capitalize()} could not be checked: its hidden test took longer than {timeout:g} s."]}
                for t in tests}
        return {r["id"]: r for r in reply["results"]}

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_checkers: dict[tuple, Checker] = {}
_checker_lock = threading.Lock()


def get() -> Checker:
    """This process's checker for its current environment, started on first use (and again if it stopped).

    Keyed by the environment: the datasets a setup cell loads depend on it
    (``HTCOURSE_DATASETS``), and the checker keeps each setup's results.
    """
    key = tuple(sorted(os.environ.items()))
    with _checker_lock:
        checker = _checkers.get(key)
        # A forked grading worker must not share its parent's checker (or its pipes).
        if checker is None or checker.owner != os.getpid() or not checker.alive:
            checker = _checkers[key] = Checker()
        return checker


if __name__ == "__main__":
    main()

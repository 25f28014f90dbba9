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
   for the feedback (:func:`failure_lines`); it
   is killed if it runs longer than the request's timeout.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import select
import signal
import sys
import time
import traceback

from htcourse.grading import wire
from htcourse.grading.sandbox.processes import Helper, Helpers


class CheckerError(RuntimeError):
    """The checker could not check a notebook (a problem of the grader or the assignment, not the student)."""


# --- words for the feedback (in the checker's children) ---------------------------------


def problem_line(name: str, why: str, detail: str, label: str) -> str:
    if why == wire.UNDEFINED:
        return f"{name} was not defined when {label} was checked."
    if why == wire.TOO_LARGE:
        limit = wire.MAX_ANSWERS_BYTES // 1_000_000
        return f"{name} was too large to be checked when {label} was checked (its answer must fit in {limit} MB)."
    kind = re.sub(r"[^\w.\[\] ]", "", str(detail))[:60] or "unknown"
    return (
        f"{name} could not be checked for {label}: it is a {kind}, and the grader reads only numbers, "
        "text, lists, dicts, numpy values and pandas tables."
    )


def unpack_report(report, grade_id: str, names: list[str], label: str) -> tuple[list[str], dict]:
    """(feedback lines if the answers cannot be used, else [], the decoded answers)."""
    cap = label[:1].upper() + label[1:]
    if isinstance(report, str):  # sent as text (wire.send_answers): read as data here, in the checker's child
        try:
            report = json.loads(report)
        except (ValueError, RecursionError):
            return [f"{cap} could not be checked: the report of your answers was damaged."], {}
        if not isinstance(report, dict) or report.get("cell") != grade_id:
            return [f"{cap} could not be checked: the report of your answers was damaged."], {}
    if not isinstance(report, dict) or report.get("missing"):
        return [
            f"{cap} could not be checked: the cell that reports your answers to the grader did not run "
            "or did not report them (it may have been stopped by an earlier error or time limit)."
        ], {}
    if report.get("duplicate"):
        return [f"{cap} could not be checked: your answers were reported more than once."], {}
    if report.get("too_large"):
        return [f"{cap} could not be checked: the report of your answers was too large."], {}
    answers, problems = report.get("answers"), report.get("problems")
    if not isinstance(answers, dict) or not isinstance(problems, dict):
        return [f"{cap} could not be checked: the report of your answers was damaged."], {}
    lines, values = [], {}
    for name in names:
        if name in problems:
            why = problems[name]
            why, detail = (why + ["", ""])[:2] if isinstance(why, list) else ("", "")
            lines.append(problem_line(name, str(why), str(detail), label))
        elif name in answers:
            try:
                values[name] = wire.decode(answers[name])
            except (wire.BadReport, ValueError, TypeError, OverflowError, RecursionError):
                lines.append(f"{name} could not be read when {label} was checked (its report was damaged).")
        else:
            lines.append(f"{name} was not reported when {label} was checked.")
    return lines, values


def failure_lines(source: str, lineno: int | None, exc: BaseException, names: list[str], label: str) -> list[str]:
    """Words for a failed hidden test: its assert's own message, or the answers it was checking.

    Never the exception's text (it could quote an expected value) or the code.
    """
    cap = label[:1].upper() + label[1:]
    tree = ast.parse(source)
    statement = None
    if lineno is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
                if statement is None or node.lineno >= statement.lineno:
                    statement = node
    checked = sorted({n.id for n in ast.walk(statement) if isinstance(n, ast.Name)} & set(names)) if statement else []
    what = f"the hidden check of {', '.join(checked)}" if checked else "a hidden check"
    if isinstance(exc, AssertionError):
        if (
            isinstance(statement, ast.Assert)
            and isinstance(statement.msg, ast.Constant)
            and isinstance(statement.msg.value, str)
        ):
            return [f"{cap}: {statement.msg.value}"]
        return [f"{cap}: {what} did not pass."]
    return [f"{cap}: {what} could not run on your answer ({type(exc).__name__})."]


# --- in the checker process ---------------------------------------------------------


def _run_tests(setup_ns: dict, request: dict) -> list[dict]:
    results = []
    for test in request["tests"]:
        cell_id, label, names = test["id"], test["label"], test["names"]
        report = request["reports"].get(cell_id)
        lines, values = unpack_report(report, cell_id, names, label)
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
            results.append(
                {"id": cell_id, "passed": False, "lines": failure_lines(test["source"], lineno, exc, names, label)}
            )
        else:
            results.append({"id": cell_id, "passed": True, "lines": []})
    return results


#: CPU seconds of each child, in the checker process (read by :func:`serve`).
CHILD_CPU_SECONDS: list[float] = []


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
                view = view[os.write(write_end, view) :]
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
        _, _, usage = os.wait4(child, 0)
        CHILD_CPU_SECONDS.append(usage.ru_utime + usage.ru_stime)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return {"error": "the checker stopped before it answered"}


def _remember_datasets() -> None:
    """Read each dataset once per checker: ``htcourse.data.load`` returns a copy of the first read.

    Hidden tests load their datasets again for every notebook; the files do
    not change while a class is graded, and each caller gets its own copy.
    """
    from htcourse import data

    global _remembered_load
    if _remembered_load is not None and data.load is _remembered_load:
        return
    load, cache = data.load, {}

    def remembered_load(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in cache:
            cache[key] = load(*args, **kwargs)
        value = cache[key]
        return value.copy(deep=True) if hasattr(value, "copy") else value

    remembered_load.__doc__ = load.__doc__
    data.load = _remembered_load = remembered_load


_remembered_load = None


def _warm_up(setup_ns: dict, tests: list[dict]) -> None:
    """Run each hidden test once without answers, so that what it loads is read before the children fork."""
    for test in tests:
        try:
            exec(compile(test["source"], "<warm-up>", "exec"), dict(setup_ns))  # noqa: S102 - the instructor's test
        except BaseException:  # noqa: BLE001 - it stops at the first answer it reads (not defined here)
            pass


def _setup_key(sources: list[str]) -> str:
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def _setup_namespace(setups: dict[str, dict], request: dict) -> dict:
    """The namespace of the request's setup, run (and warmed up) the first time that setup is seen."""
    key = _setup_key(request["setup"])
    if key not in setups:
        namespace: dict = {"__name__": "__main__"}
        for i, source in enumerate(request["setup"]):
            try:
                exec(compile(source, f"<setup cell {i + 1}>", "exec"), namespace)  # noqa: S102
            except BaseException as exc:  # noqa: BLE001
                raise CheckerError(
                    f"the assignment's setup cell {i + 1} failed in the checker: {type(exc).__name__}: {exc}"
                ) from None
        _warm_up(namespace, request["tests"])
        setups[key] = namespace
    return setups[key]


def serve(requests, reply_fd: int) -> None:
    """Answer each request line from ``requests`` on ``reply_fd`` until the input ends.

    A request with ``"prepare": true`` only runs its setup (so that it is
    ready before the notebook's answers arrive) and is answered
    ``{"prepared": true}``; any other request is a check.
    """
    _remember_datasets()
    setups: dict[str, dict] = {}
    for line in requests:
        if not line.strip():
            continue
        cpu_started, children_before = time.process_time(), len(CHILD_CPU_SECONDS)
        try:
            request = json.loads(line)
            namespace = _setup_namespace(setups, request)
            if request.get("prepare"):
                reply = {"prepared": True}
            else:
                reply = _check_in_child(namespace, request, float(request["timeout"]))
                # CPU spent on this check, here and in the child (make bench reports it)
                reply["cpu_seconds"] = time.process_time() - cpu_started + sum(CHILD_CPU_SECONDS[children_before:])
        except CheckerError as exc:
            reply = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"bad request to the checker: {type(exc).__name__}: {exc}"}
        data = (json.dumps(reply) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(reply_fd, view) :]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the grader, which stops us
    reply_fd = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    # Whatever setup or test code prints, warnings included, goes nowhere: the
    # instructor's output is the grader's summary. Failures come back as replies.
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = open(os.devnull, "w")
    os.write(reply_fd, b"ready\n")
    serve(sys.stdin, reply_fd)


# --- in the grader ------------------------------------------------------------------


class Checker(Helper):
    """The grader's handle on its checker process.

    Neither starting it nor :meth:`prepare` waits for it: the checker's
    interpreter starts, and runs an assignment's setup, while the student's
    kernel runs the notebook. Its first line says it has started; then the
    replies come in the order of the requests, and ``pending`` counts the
    ``prepare`` replies not read yet.
    """

    error = CheckerError
    name = "trusted checker"

    def __init__(self):
        super().__init__("htcourse.grading.checker")
        self.started = False  # its first line ("ready") has been read
        self.pending = 0
        self.last_cpu_seconds = 0.0  # CPU the checker spent on the last check

    def _wait_started(self, timeout: float) -> None:
        """Read the checker's first line (the lock held), which says it has started."""
        if not self.started:
            if self.read_line(timeout) != b"ready\n":
                self.close()
                raise CheckerError("the trusted checker did not start")
            self.started = True

    def prepare(self, setup: list[str], tests: list[dict]) -> None:
        """Have the checker run ``setup`` now, without waiting for it (a check later waits)."""
        line = json.dumps({"prepare": True, "setup": setup, "tests": tests}) + "\n"
        with self.lock:
            self.send(line)
            self.pending += 1

    def check(
        self, setup: list[str], tests: list[dict], reports: dict[str, str], timeout: float, setup_timeout: float
    ) -> dict:
        """``{cell id: {"passed", "lines"}}`` for ``tests`` (each ``{"id", "label", "names", "source"}``).

        ``reports`` maps a cell id to its report as JSON (:func:`htcourse.grading.answers.pick_answers_message`:
        the report's data, a marker, or a JSON string of the report's text, which :func:`unpack_report` reads).
        The tests may run ``timeout`` seconds (``c.CheckAnswers.timeout``), after the checker's start
        and the setup, which may take ``setup_timeout`` (``c.CheckAnswers.setup_timeout``).
        """
        # ``reports`` are JSON texts already (answers.pick_answers_message measured them): put them in as they are.
        body = ", ".join(f"{json.dumps(k)}: {v}" for k, v in reports.items())
        line = (
            f'{{"setup": {json.dumps(setup)}, "tests": {json.dumps(tests)}, "timeout": {float(timeout)!r}, '
            f'"reports": {{{body}}}}}\n'
        )
        with self.lock:
            # By now (after the notebook ran) the checker has long started; a check
            # can be large, so it is sent only to a checker that reads.
            self._wait_started(setup_timeout)
            self.send(line)
            # The first request of a setup runs it (datasets, images): allow for that.
            # Replies to earlier prepare requests come first; a failed setup is
            # reported again by this check, which runs it again.
            while True:
                line = self.read_line(timeout + setup_timeout)
                if not line or not self.pending:
                    break
                self.pending -= 1
        if not line:
            self.close()
            raise CheckerError("the trusted checker did not answer")
        reply = json.loads(line)
        self.last_cpu_seconds = float(reply.get("cpu_seconds", 0.0))
        if reply.get("error"):
            raise CheckerError(reply["error"])
        if reply.get("timeout"):
            return {
                t["id"]: {
                    "passed": False,
                    "lines": [
                        f"{t['label'].capitalize()} could not be checked: "
                        f"its hidden test took longer than {timeout:g} s."
                    ],
                }
                for t in tests
            }
        return {r["id"]: r for r in reply["results"]}


_checkers = Helpers(Checker)


def get() -> Checker:
    """This process's checker for its current environment, started on first use (and again if it stopped).

    Keyed by the environment: the datasets a setup cell loads depend on it
    (``HTCOURSE_DATASETS``), and the checker keeps each setup's results.
    """
    return _checkers.get(tuple(sorted(os.environ.items())))


if __name__ == "__main__":
    main()

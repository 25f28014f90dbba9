"""Run a submission's cells with bounds on the total time, not only per cell.

nbgrader's ``Execute`` interrupts a cell after ``Execute.timeout`` seconds
and goes on with the next one, so an ordinary infinite loop costs one
timeout and later cells are still graded. But code that ignores the
interrupt keeps the kernel busy: nbclient then gives up waiting for the
kernel's output and raises, and stock nbgrader fails the whole submission
(or, if it went on, every later cell would wait for its own full timeout).
:class:`BoundedExecute` records the timeout on the cell and stops running
cells once the kernel is unresponsive, once ``max_cell_timeouts`` cells
have run over time, or once the notebook has run for ``max_seconds`` in
all; the cells it skips get an error output (so their tests score zero)
that says why.

What each sandbox showed once its kernel had ended (the bounds it reached,
the links its code left; ``SandboxKernelManager.findings``) goes into the
notebook's ``resources``, as the stage timings do (:data:`.stages.FINDINGS_KEY`).
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from htcourse.grading import stages
from htcourse.grading.cells import OUTPUT_TOO_LARGE_ENAME, SKIPPED_ENAME, TIMEOUT_ENAME
from htcourse.grading.outputs import TRUNCATION_MARK
from htcourse.grading.wire import MAX_ANSWERS_BYTES, MIME


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[message])


class BoundedExecute(Execute):
    # nbgrader's and nbclient's time limits, with the course's defaults (see htcourse.grading.limits)
    timeout = Integer(
        30,
        allow_none=True,
        help=(
            "Seconds one cell may run before its kernel is interrupted; later cells still run "
            "(HTCOURSE_CELL_TIMEOUT sets it for a run)."
        ),
    ).tag(config=True)
    startup_timeout = Integer(
        120, help="Seconds a student's kernel may take to start (in its sandbox) before grading gives up."
    ).tag(config=True)
    iopub_timeout = Integer(
        30,
        help=(
            "Seconds to wait, after a cell has finished, for the rest of its output (which carries the report "
            "of its answers to the hidden tests; nbclient's own default of 4 s is too short on a busy machine)."
        ),
    ).tag(config=True)
    max_cell_timeouts = Integer(
        2, help="After this many cells have run over the time limit, the remaining cells are not run."
    ).tag(config=True)
    max_seconds = Integer(
        600, help="After the notebook has run this long in all, the remaining cells are not run."
    ).tag(config=True)
    max_output_chars_read = Integer(
        400_000,
        help=(
            "Characters of output the grader keeps from one cell while it runs (text and base64 "
            "data together); the rest is dropped as it arrives, so an endless print cannot grow the "
            "grader's own memory. LimitOutputSize then cuts what was kept to a readable size."
        ),
    ).tag(config=True)
    max_outputs_read = Integer(
        2_000, help="Outputs (separate prints, pictures ...) the grader keeps from one cell while it runs."
    ).tag(config=True)
    sandbox = Bool(
        True,
        help=(
            "Run the student's kernel inside bubblewrap (see htcourse.grading.sandbox); "
            "limits from c.SandboxKernelManager."
        ),
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from htcourse.grading.sandbox.kernel import NoPauseKernelManager

        self._managers: list = []  # the kernel managers of the notebook being run
        self.kernel_manager_class = NoPauseKernelManager
        if self.sandbox:
            # nbgrader's Execute fixes its kernel manager class in __init__,
            # so it cannot be set from config: replace it here.
            from htcourse.grading.sandbox.bwrap import find_tools
            from htcourse.grading.sandbox.kernel import SandboxKernelManager

            find_tools()  # a clear SandboxUnavailable error if bubblewrap is missing
            self.kernel_manager_class = SandboxKernelManager

    def preprocess(self, nb, resources=None, km=None):
        self._timeouts = 0
        self._skip_reason = ""
        self._started = time.monotonic()
        # make bench's stages: the kernel's start (until its first cell) and stop, and the cells between
        start = self._cells_ended = (time.perf_counter(), time.process_time(), 0.0)
        self._cells_began = None
        self._managers = []
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            # their kernels have ended: what did their sandboxes show, and what CPU did they use in all?
            kernel_cpu = 0.0
            for manager in self._managers:
                if resources is not None and hasattr(manager, "findings"):
                    stages.add_findings(resources, manager.findings)
                kernel_cpu += getattr(manager, "kernel_cpu_seconds", 0.0)
            end = (time.perf_counter(), time.process_time(), kernel_cpu)
            began, ended = self._cells_began or end, self._cells_ended if self._cells_began else end
            if resources is not None:
                cells = [ended[i] - began[i] for i in range(3)]
                stages.record(resources, "execution", cells[0], cells[1], 0.0, cells[2])
                rest = [end[i] - start[i] - cells[i] for i in range(3)]  # before the first cell, after the last
                stages.record(resources, "kernel start", rest[0], rest[1], 0.0, rest[2])

    def create_kernel_manager(self):
        manager = super().create_kernel_manager()
        self._managers.append(manager)
        return manager

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's handling of one output, keeping at most a bounded amount of each cell's output."""
        if msg.get("msg_type") not in ("stream", "display_data", "execute_result", "error"):
            return super().output(outs, msg, display_id, cell_index)
        read = getattr(self, "_read", None)
        if read is None or read[0] != cell_index or (outs is not read[3]):
            read = self._read = [cell_index, 0, 0, outs, False, 0]
        content = msg.get("content", {})
        if MIME in content.get("data", {}):
            # the report of a hidden-test cell's answers (answers.py), bounded by its own limit
            read[5] = read[5] + 1 if len(read) > 5 else 1
            report = content["data"][MIME]
            if read[5] <= 2 and len(str(report)) <= 1.1 * MAX_ANSWERS_BYTES + 10_000:
                # nbclient makes a notebook node of every dict and list in an output and validates it:
                # for a report of a table, about a tenth of a second. The report only goes on to the
                # checker as data (answers.take_answers_messages), so it is put in as it came, after nbclient
                # has handled the output with an empty report in its place.
                empty = dict(msg, content=dict(content, data=dict(content["data"], **{MIME: {}})))
                out = super().output(outs, empty, display_id, cell_index)
                if out is not None:
                    dict.__setitem__(out["data"], MIME, report)
                return out
            return None
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        size += sum(len(line) for line in content.get("traceback", []))
        read[1] += size
        read[2] += 1
        if read[1] > self.max_output_chars_read or read[2] > self.max_outputs_read:
            if not read[4]:
                read[4] = True
                outs.append(
                    NotebookNode(
                        output_type="stream",
                        name="stdout",
                        text=(
                            f"\n{TRUNCATION_MARK} this cell printed more than "
                            f"{self.max_output_chars_read:,} characters "
                            f"or {self.max_outputs_read:,} outputs; the rest was not kept]\n"
                        ),
                    )
                )
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _reason_to_skip(self) -> str:
        if getattr(self, "_skip_reason", ""):
            return self._skip_reason
        if getattr(self, "_timeouts", 0) >= self.max_cell_timeouts:
            return f"earlier cells ran longer than {self.timeout} s"
        if time.monotonic() - getattr(self, "_started", time.monotonic()) > self.max_seconds:
            return f"the notebook had already run for more than {self.max_seconds} s"
        return ""

    def _now(self) -> tuple[float, float, float]:
        """(wall, the worker's CPU, the sandbox's CPU so far: 0 where it is not counted)."""
        sandbox = getattr(self.km, "sandbox_cpu_seconds", None)
        return time.perf_counter(), time.process_time(), (sandbox() or 0.0) if sandbox else 0.0

    def preprocess_cell(self, cell, resources, index):
        if getattr(self, "_cells_began", 0) is None:
            self._cells_began = self._now()
        try:
            return self._preprocess_cell(cell, resources, index)
        finally:
            self._cells_ended = self._now()

    def _preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            reason = self._reason_to_skip()
            if reason:
                cell.outputs = [_error(SKIPPED_ENAME, f"This cell was not run when your work was graded: {reason}.")]
                cell.execution_count = None
                return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            if self._note_unread_output(cell):  # nbclient waited for output that was never to come
                return cell, resources
            # The kernel did not even report that it had stopped (it ignored the
            # interrupt): nothing more can run in it. Stock nbgrader fails the whole
            # submission here; record the timeout and skip the remaining cells.
            cell.setdefault("outputs", []).append(
                _error(TIMEOUT_ENAME, f"This cell ran longer than {self.timeout} s and did not stop when interrupted.")
            )
            self._timeouts = getattr(self, "_timeouts", 0) + 1
            self._skip_reason = f"an earlier cell ran longer than {self.timeout} s and did not stop when interrupted"
            return cell, resources
        if any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME for o in cell.get("outputs", [])):
            self._timeouts = getattr(self, "_timeouts", 0) + 1
        self._note_unread_output(cell)
        return cell, resources

    def _note_unread_output(self, cell) -> bool:
        """After a cell sent one message over the client's max_message_bytes: say so; run no more."""
        lost = getattr(self.kc, "iopub_lost", None)
        if cell.cell_type != "code" or lost is None or getattr(self, "_skip_reason", "") or not lost():
            return False
        limit = self.kc.max_message_bytes
        cell.setdefault("outputs", []).append(
            _error(
                OUTPUT_TOO_LARGE_ENAME,
                f"This cell sent one output larger than {limit:,} bytes, which the grader does not read.",
            )
        )
        self._skip_reason = f"an earlier cell sent one output larger than {limit:,} bytes"
        return True

"""Where grading one submission spends its time, stage by stage (``make bench`` prints the table).

Each step measures itself and writes its figures where nbgrader carries a
notebook's state: the ``resources`` dict that every preprocessor receives
and returns. :func:`record` adds one stage's wall and CPU seconds there;
:class:`StagedAutograde` (nbgrader's ``Autograde``) gathers them from the
resources of each notebook it writes, and times its sanitising pass. The
grader adds the steps around nbgrader (:mod:`.grader`), keeps the total in
``Result.stages`` and the completion marker (:mod:`.markers`), and the bench
reads the markers (:mod:`htcourse.bench.grading`).

The same way, :class:`~htcourse.grading.execute.BoundedExecute` puts what
each sandbox showed once its kernel had ended (bounds reached, links left)
under :data:`FINDINGS_KEY`; the grader turns them into flags.

Wall seconds are what a worker waited; CPU seconds are the worker's own
(``time.process_time``) and, apart, those of its helper processes (for the
check, the trusted checker's and its child's) and of the sandbox's
processes, the kernel's and its children's (for the kernel's start and the
execution; counted by the sandbox's cgroup, :class:`.sandbox.bounds.CpuAccount`,
where the machine keeps one; the sandbox's own setting up is in its start).
"""

from __future__ import annotations

import time

#: The key of the stage figures in nbgrader's ``resources``:
#: ``{stage: [wall s, the worker's CPU s, CPU s in helper processes, CPU s in the sandbox]}``.
KEY = "htcourse_stages"

#: The stages in the order a submission passes them, with what each covers (the bench's table).
STAGES = {
    "working copy": "preflight checks, rebuilding the notebook around the assignment's cells, the staging folder",
    "converter": "making nbgrader's autograde converter, its student and submission rows in the gradebook",
    "sanitise": "nbgrader's sanitising pass (ClearOutput ... SendAnswers), reading and writing the notebook",
    "kernel start": "starting the sandboxed kernel until it answers, and shutting it down (kernel CPU: "
    "the sandbox's processes, before the first cell and after the last)",
    "execution": "running the notebook's cells in the kernel (kernel CPU: the sandbox's processes meanwhile)",
    "check": "the hidden tests in the trusted checker (CPU: worker, checker and its child)",
    "autograde rest": "the autograde pass's other steps (limits, markup, SaveAutoGrades, late penalties), "
    "writing and reading the graded notebook",
    "feedback": "nbgrader generate_feedback: the feedback page (HTML) without hidden tests",
    "gradebook": "reading the scores back, the completion marker",
}

#: The key, in nbgrader's ``resources``, of what the sandboxes showed once their kernels had ended
#: (``BoundedExecute`` puts it there): ``{"reached": [bounds reached, in words], "left_behind": [links
#: and special files the kernel left in its working folder]}``. Not timings, but they travel the same way.
FINDINGS_KEY = "htcourse_sandbox"


class Findings(dict):
    """The findings of one converter's sandboxes, shared by every copy of the resources they are put in.

    nbconvert deep-copies a notebook's resources before its preprocessors run,
    and keeps nothing of them when one raises; the grader still needs to know
    which bound a failed notebook reached. A deep copy of a ``Findings`` is
    the same ``Findings``.
    """

    def __init__(self):
        super().__init__(reached=[], left_behind=[])

    def __deepcopy__(self, memo):
        return self


def add_findings(resources: dict, findings: dict[str, list[str]]) -> None:
    """Add one sandbox's findings to a notebook's ``resources`` (see :data:`FINDINGS_KEY`)."""
    into = resources.setdefault(FINDINGS_KEY, {})
    for kind, items in findings.items():
        into.setdefault(kind, []).extend(items)


def record(
    resources: dict, stage: str, wall: float, cpu: float = 0.0, helper_cpu: float = 0.0, kernel_cpu: float = 0.0
) -> None:
    """Add seconds to ``stage`` in a notebook's ``resources`` (wall; the worker's CPU; helpers'; the sandbox's)."""
    into(resources.setdefault(KEY, {}), stage, wall, cpu, helper_cpu, kernel_cpu)


def into(
    stages: dict, stage: str, wall: float, cpu: float = 0.0, helper_cpu: float = 0.0, kernel_cpu: float = 0.0
) -> None:
    """Add seconds to ``stage`` in ``stages`` (``{stage: [wall, CPU, helpers' CPU, the sandbox's CPU]}``)."""
    figures = stages.setdefault(stage, [0.0, 0.0, 0.0, 0.0])
    figures.extend([0.0] * (4 - len(figures)))
    for i, seconds in enumerate((wall, cpu, helper_cpu, kernel_cpu)):
        figures[i] += seconds


def merge(stages: dict, more: dict) -> None:
    for stage, figures in more.items():
        into(stages, stage, *figures)


class Clock:
    """Laps of one submission's grading: each :meth:`lap` adds the time since the last to a stage."""

    def __init__(self, stages: dict):
        self.stages = stages
        self._last = (time.perf_counter(), time.process_time())

    def lap(self, stage: str, within: dict | None = None) -> None:
        """Add the time since the last lap to ``stage``; ``within``: stages measured inside it, moved out."""
        now = (time.perf_counter(), time.process_time())
        into(self.stages, stage, now[0] - self._last[0], now[1] - self._last[1])
        for inner, figures in (within or {}).items():
            into(self.stages, stage, -figures[0], -figures[1])
            into(self.stages, inner, *figures)
        self._last = now


def staged_autograde():
    """nbgrader's ``Autograde`` converter, keeping the stage figures of every notebook it grades."""
    from nbgrader.converters import Autograde

    class StagedAutograde(Autograde):
        """``Autograde`` whose ``stages`` hold the figures its preprocessors put in ``resources``.

        Its ``findings`` hold what the sandboxes showed (:data:`FINDINGS_KEY`),
        even from a notebook whose conversion failed: each notebook's resources
        are given this very :class:`Findings`.
        """

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stages: dict = {}
            self.findings = Findings()

        # Autograde converts each notebook in two passes (sanitise, then autograde), each from
        # init_single_notebook_resources to write_single_notebook with resources of its own.

        def init_single_notebook_resources(self, notebook_filename):
            self._pass = (time.perf_counter(), time.process_time())
            resources = super().init_single_notebook_resources(notebook_filename)
            resources[FINDINGS_KEY] = self.findings
            return resources

        def write_single_notebook(self, output, resources):
            super().write_single_notebook(output, resources)
            figures = resources.get(KEY, {})
            merge(self.stages, figures)
            wall = time.perf_counter() - self._pass[0] - sum(f[0] for f in figures.values())
            cpu = time.process_time() - self._pass[1] - sum(f[1] for f in figures.values())
            into(self.stages, "sanitise" if self._sanitizing else "autograde rest", wall, cpu)

    return StagedAutograde

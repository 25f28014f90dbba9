"""Before grading: generate the student versions and validate the sources.

``generate`` is ``nbgrader generate_assignment --force`` for every
assignment, run in one process. ``validate`` runs ``nbgrader validate`` on
every source notebook (the solutions must pass every test), then checks the
course's own authoring rules:

- every ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` region and every
  hand-graded answer cell carries a canary token ``CANARY-<assignment>-<n>``
  (the leak test in tests/test_assignments.py looks for these tokens in
  everything students and the public can see);
- every autograded question's hidden tests sit in their own cell, so that
  feedback can hide them whole;
- the points stated in the header match the points in the cells;
- every hidden-test cell declares the answers it checks (``# ANSWERS
  CHECKED: ...``), and the declaration matches the names its code reads
  (:func:`htcourse.grading.answers.declaration_problems`);
- the solutions pass every hidden test through the path used for grading:
  the notebook runs with each hidden-test cell replaced by its report, and
  the trusted checker runs the hidden tests on the reported answers
  (:func:`check_solutions`), so an answer that cannot be reported fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nbformat

from htcourse.grading import cells
from htcourse.grading.cells import BEGIN_HIDDEN, BEGIN_SOLUTION, END_SOLUTION, split_hidden
from htcourse.grading.course import Course

CANARY = re.compile(r"CANARY-(?P<assignment>[a-z0-9-]+?)-(?P<n>\d+)\b")


def generate(course: Course, assignments: list[str] | None = None, echo: Callable[[str], None] = print) -> int:
    """Generate the release version of each assignment (and record it in the gradebook)."""
    from nbgrader.converters import GenerateAssignment

    from htcourse.grading import nbgrader_steps

    status = 0
    for name in assignments or course.assignments():
        app = GenerateAssignment(
            coursedir=course.coursedir(assignment_id=name, notebook_id="*"),
            config=course.config,
            log=nbgrader_steps.log,
        )
        app.force = True
        app.create_assignment = True
        try:
            nbgrader_steps.run(app)
        except nbgrader_steps.GradingError as exc:
            status = 1
            echo(f"{name}: FAILED {exc}")
            if exc.log:
                echo(exc.log)
        else:
            echo(f"{name}: released to {course.release_dir / name}")
    return status


def _authoring_problems(assignment: str, nb) -> list[str]:
    out = []
    seen: dict[str, str] = {}
    for cell in nb.cells:
        gid = cells.grade_id(cell) or "?"
        regions = []
        if cells.is_solution(cell):
            if BEGIN_SOLUTION in cell.source or cell.cell_type == "markdown":
                regions.append("solution")
        if BEGIN_HIDDEN in cell.source:
            regions.append("hidden tests")
            visible, hidden = split_hidden(cell.source)
            code_lines = [line for line in visible.splitlines() if line.strip() and not line.strip().startswith("#")]
            if code_lines:
                out.append(f"{gid}: put visible tests in their own cell; this hidden-test cell also runs visible code")
            if not cells.is_grade(cell):
                out.append(f"{gid}: hidden tests must be in an autograder test cell")
        for region in regions:
            tokens = [m for m in CANARY.finditer(cell.source)]
            if not tokens:
                out.append(f"{gid}: the {region} region has no canary token (add a comment CANARY-{assignment}-<n>)")
            for m in tokens:
                if m.group("assignment") != assignment:
                    out.append(f"{gid}: canary {m.group(0)} names another assignment")
                if m.group(0) in seen and seen[m.group(0)] != gid:
                    out.append(f"{gid}: canary {m.group(0)} is also used in {seen[m.group(0)]}")
                seen[m.group(0)] = gid
        if cells.is_solution(cell) and cell.cell_type == "code" and BEGIN_SOLUTION in cell.source:
            text = cell.source
            begin, end = text.find(BEGIN_SOLUTION), text.find(END_SOLUTION)
            if end != -1 and not CANARY.search(text[begin:end]):
                out.append(f"{gid}: the canary must be inside the solution region")
    from htcourse.grading import answers

    setup, hidden = answers.setup_and_hidden(nb)
    for gid, source in hidden.items():
        out += answers.declaration_problems(gid, source, setup)
    # points in the header table
    total = sum(cells.points(c) for c in nb.cells)
    header = nb.cells[0].source if nb.cells else ""
    m = re.search(r"\*\*Points\*\*\s*\|\s*(\d+)", header)
    if not m:
        out.append("the first cell should state the points (| **Points** | N ... |) and the estimated time")
    elif float(m.group(1)) != total:
        out.append(f"the header says {m.group(1)} points but the cells add up to {total:g}")
    if "**Estimated time**" not in header:
        out.append("the first cell should state the estimated time (| **Estimated time** | ... |)")
    return out


def check_solutions(path, timeout: float | None = None) -> list[str]:
    """Run a source notebook (with its solutions) as it is graded, hidden tests in the trusted checker.

    ``timeout`` bounds each cell and the hidden tests (default: ``c.CheckAnswers.timeout``'s default).
    """
    from nbclient import NotebookClient

    from htcourse.grading import answers
    from htcourse.grading.checker import CheckerError
    from htcourse.grading.limits import configured
    from htcourse.grading.sandbox.kernel import NoPauseKernelManager

    if timeout is None:
        timeout = configured(None, answers.CheckAnswers, "timeout")

    nb = nbformat.read(str(path), as_version=4)
    setup, hidden = answers.setup_and_hidden(nb)
    if not hidden:
        return []
    for cell in nb.cells:
        gid = cells.grade_id(cell)
        if gid in hidden:
            cell.source = answers.send_answers_source(hidden[gid], gid, answers.declared_names(hidden[gid]) or [])
    client = NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=True,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        kernel_manager_class=NoPauseKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    try:
        setup_timeout = configured(None, answers.CheckAnswers, "setup_timeout")
        results = answers.check_executed(nb, hidden, setup, timeout=timeout, setup_timeout=setup_timeout)
    except CheckerError as exc:
        return [f"the trusted checker could not check the solutions: {exc}"]
    return [
        f"{gid}: the solution fails its hidden test when graded outside the kernel: {' '.join(r['lines'])}"
        for gid, r in results.items()
        if not r["passed"]
    ]


def _notebook_problems(root: str, overrides: dict, name: str, nb_name: str) -> list[str]:
    """What is wrong with one source notebook (nothing: it is valid). Runs in a worker process of :func:`validate`."""
    from nbgrader.validator import Validator

    from htcourse.grading.answers import CheckAnswers
    from htcourse.grading.limits import configured
    from htcourse.grading.nbgrader_steps import log

    course = Course(root, overrides)
    path = course.source_notebook(name, nb_name)
    # nbgrader's Validator changes the process's working folder while it runs: one notebook per process.
    results = Validator(config=course.config, log=log).validate(str(path))
    problems = []
    for cell in results.get("failed", []):
        first = cell["source"].splitlines()[0] if cell["source"] else ""
        error = cell["raw_error"].strip()
        last_line = error.splitlines()[-1] if error else ""
        problems.append(f"a test fails on the solution: {first}\n      {last_line}")
    for cell in results.get("type_changed", []):
        problems.append(f"a cell changed type: {cell['source'][:60]}")
    problems += _authoring_problems(name, nbformat.read(str(path), as_version=4))
    if not problems:
        problems += check_solutions(path, configured(course.config, CheckAnswers, "timeout"))
    return problems


def validate(
    course: Course,
    assignments: list[str] | None = None,
    echo: Callable[[str], None] = print,
    jobs: int | None = None,
) -> int:
    """``nbgrader validate`` on each source notebook, plus the course's authoring rules.

    ``jobs`` notebooks are checked at once, each in a process of its own (default: as many as the grader's
    workers, :func:`htcourse.grading.batch.default_jobs`); the results are echoed in name order.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from htcourse.grading.batch import default_jobs

    todo = [(name, nb_name) for name in assignments or course.assignments() for nb_name in course.notebooks(name)]
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    # spawn, not fork: the caller may have threads (a test runner's, a server's) that a fork would copy mid-step.
    with ProcessPoolExecutor(min(jobs, len(todo) or 1), mp_context=multiprocessing.get_context("spawn")) as pool:
        found = [pool.submit(_notebook_problems, str(course.root), course.overrides, *item) for item in todo]
        status = 0
        for (name, nb_name), future in zip(todo, found):
            problems = future.result()
            if problems:
                status = 1
                echo(f"{name}/{nb_name}.ipynb: {len(problems)} problem(s)")
                for p in problems:
                    echo(f"    {p}")
            else:
                echo(
                    f"{name}/{nb_name}.ipynb: valid (the solution passes every test, also with the hidden tests "
                    "run outside the kernel; canaries and answer declarations in place)"
                )
    return status

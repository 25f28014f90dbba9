"""Hidden tests that run outside the student's kernel.

Authoring stays nbgrader's (``### BEGIN HIDDEN TESTS`` in ``source/``); a
hidden-test cell also declares, on a visible comment line, the answers its
test reads::

    # ANSWERS CHECKED: n_police, n_ngo

When a submission is graded (``c.Autograde`` in ``assignments/nbgrader_config.py``):

- :class:`SendAnswers`, the last of nbgrader's sanitising steps, replaces
  each hidden-test cell by a cell that only *reports* the declared answers
  (:func:`htcourse.grading.wire.send_answers`). nbgrader writes the sanitised copy
  into the folder the kernel runs in, so from then on no hidden test is in
  the kernel's folder, and none is ever sent to the kernel.
- :class:`CheckAnswers`, right after the notebook ran, reads the reports,
  has the trusted checker (:mod:`.checker`) run the setup cells and each
  hidden test from the gradebook's copy, and turns each cell's outputs into
  nothing (passed) or one error output saying in words what failed. Then
  nbgrader's ``SaveAutoGrades`` writes the points, as for any test cell.

:func:`declaration_problems` (run by ``make validate``) checks a declaration
against the names the test's code really uses (free-name analysis of its
syntax tree), so the list is explicit and checked, never guessed.
"""

from __future__ import annotations

import ast
import builtins
import json
import re

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer

from htcourse.grading import cells as nbcells
from htcourse.grading import wire
from htcourse.grading.cells import BEGIN_HIDDEN, has_hidden_tests, split_hidden

DECLARATION = re.compile(r"^[ \t]*#[ \t]*ANSWERS CHECKED:[ \t]*(?P<names>.*?)[ \t]*$", re.MULTILINE)
_BUILTINS = frozenset(dir(builtins))
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --- reading a hidden-test cell --------------------------------------------------------


def declared_names(source: str) -> list[str] | None:
    """The names on the cell's visible ``# ANSWERS CHECKED:`` line, or None if it has none."""
    visible = split_hidden(source)[0]
    found = DECLARATION.findall(visible)
    if not found:
        return None
    names = [n.strip() for n in ",".join(found).split(",") if n.strip()]
    return list(dict.fromkeys(names))


def question_label(grade_id: str) -> str:
    """``q3-hidden`` -> ``question 3``; any other id as it is."""
    m = re.match(r"^q(\d+)\b", grade_id)
    return f"question {int(m.group(1))}" if m else grade_id


class _Names(ast.NodeVisitor):
    def __init__(self):
        self.loaded: set[str] = set()
        self.bound: set[str] = set()

    def visit_Name(self, node):
        (self.loaded if isinstance(node.ctx, ast.Load) else self.bound).add(node.id)

    def visit_alias(self, node):
        if node.name != "*":
            self.bound.add((node.asname or node.name).split(".")[0])

    def _define(self, node):
        self.bound.add(node.name)
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _define

    def visit_arg(self, node):
        self.bound.add(node.arg)

    def visit_ExceptHandler(self, node):
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)


def names_of(source: str) -> tuple[set[str], set[str]]:
    """(names the code reads, names it binds anywhere), from its syntax tree."""
    visitor = _Names()
    visitor.visit(ast.parse(source))
    return visitor.loaded, visitor.bound


def free_names(source: str) -> set[str]:
    """Names the code reads but never binds itself, builtins left out."""
    loaded, bound = names_of(source)
    return loaded - bound - _BUILTINS


def setup_names(setup_sources: list[str]) -> set[str]:
    names: set[str] = set()
    for source in setup_sources:
        names |= names_of(source)[1]
    return names


def _hidden_asserts(source: str) -> list[ast.Assert]:
    return [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert)]


def declaration_problems(grade_id: str, source: str, setup_sources: list[str]) -> list[str]:
    """What is wrong with a hidden-test cell for the grader (an empty list if nothing)."""
    try:
        free = free_names(source)
    except SyntaxError as exc:
        return [f"{grade_id}: the hidden test is not valid Python ({exc.msg}, line {exc.lineno})"]
    declared = declared_names(source)
    if declared is None:
        return [
            f"{grade_id}: declare the answers the hidden test checks on a visible comment line, "
            f"e.g. '# ANSWERS CHECKED: {', '.join(sorted(free - setup_names(setup_sources))) or 'name'}'"
        ]
    out = []
    bad = [n for n in declared if not _IDENTIFIER.match(n)]
    if bad:
        out.append(f"{grade_id}: not a Python name on its ANSWERS CHECKED line: {', '.join(bad)}")
    undeclared = sorted(free - set(declared) - setup_names(setup_sources))
    if undeclared:
        out.append(
            f"{grade_id}: the hidden test reads {', '.join(undeclared)}, which is neither declared on its "
            "ANSWERS CHECKED line nor defined by a read-only setup cell"
        )
    unused = sorted(set(declared) - free - set(bad))
    if unused:
        out.append(f"{grade_id}: ANSWERS CHECKED names {', '.join(unused)}, which the hidden test never reads")
    for node in _hidden_asserts(source):
        if node.msg is not None and not (isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str)):
            out.append(
                f"{grade_id}: the message of the assert on line {node.lineno} must be a plain string "
                "(it is shown to students; a computed message could reveal an expected value)"
            )
    return out


# --- the report cell (runs in the student's kernel) ----------------------------------------


def send_answers_source(source: str, grade_id: str, names: list[str], max_bytes: int = wire.MAX_ANSWERS_BYTES) -> str:
    """What runs in the kernel instead of a hidden-test cell: its visible comments and a report."""
    visible = "\n".join(line for line in split_hidden(source)[0].splitlines() if line.strip())
    call = (
        f"__import__('htcourse.grading.wire', fromlist=['send_answers']).send_answers("
        f"{grade_id!r}, {list(names)!r}, globals(), {int(max_bytes)})"
    )
    return (visible + "\n" if visible else "") + (
        "# When graded, this cell only reports your answers; the hidden test runs outside your notebook.\n" + call
    )


def take_answers_messages(cell: NotebookNode) -> list:
    """Remove every report output from ``cell`` and return their payloads."""
    kept, found = [], []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if wire.MIME in data:
            found.append(data[wire.MIME])
        else:
            kept.append(output)
    if "outputs" in cell:
        cell.outputs = kept
    return found


def pick_answers_message(payloads: list, grade_id: str, max_bytes: int) -> str:
    """The one report of a cell as JSON, or a marker of why there is none (also JSON).

    A report sent as text (``{"cell", "json": text}``, :func:`htcourse.grading.wire.send_answers`)
    becomes a JSON string holding that text, which only the checker reads as data
    (:func:`htcourse.grading.checker.unpack_report`); a report sent as data becomes its JSON.
    """
    mine = [p for p in payloads if isinstance(p, dict) and p.get("cell") == grade_id]
    if not mine:
        return '{"missing": true}'
    if len(mine) > 1:
        return '{"duplicate": true}'
    text = mine[0].get("json")
    as_text = isinstance(text, str) and len(mine[0]) == 2
    if not as_text:
        text = json.dumps(mine[0])  # a NotebookNode is a dict: no conversion needed
    if len(text) > max_bytes * 1.05 + 10_000:
        return json.dumps({"too_large": len(text)})
    return json.dumps(text) if as_text else text


# --- the preprocessors ---------------------------------------------------------------------


def failed_output(lines: list[str]) -> NotebookNode:
    text = "\n".join(lines)
    return NotebookNode(output_type="error", ename=nbcells.HIDDEN_FAILED_ENAME, evalue=text, traceback=list(lines))


class SendAnswers(NbGraderPreprocessor):
    """Replace each hidden-test cell by a cell that reports its declared answers (autograde, sanitising)."""

    max_answers_bytes = Integer(
        wire.MAX_ANSWERS_BYTES,
        help="Largest message of the answers of one hidden-test cell to the checker (bytes of JSON).",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = nbcells.nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and has_hidden_tests(cell.source):
            names = declared_names(cell.source)
            if names is None:
                raise ValueError(
                    f"the hidden-test cell {meta.get('grade_id')} declares no answers "
                    "(# ANSWERS CHECKED: ...): run make validate"
                )
            cell.source = send_answers_source(cell.source, meta.get("grade_id", ""), names, self.max_answers_bytes)
        return cell, resources

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        # Let the trusted checker run the assignment's setup while the kernel runs
        # the notebook. Only a head start: the check itself reports any failure.
        from htcourse.grading import checker

        setup, hidden = from_gradebook(nb, resources)
        if hidden:
            try:
                checker.get().prepare(setup, hidden_tests(hidden))
            except checker.CheckerError:
                pass
        return nb, resources


def hidden_tests(hidden_sources: dict[str, str]) -> list[dict]:
    """The checker's description of each hidden-test cell: id, label, declared answers, source."""
    return [
        {"id": gid, "label": question_label(gid), "names": declared_names(source) or [], "source": source}
        for gid, source in hidden_sources.items()
    ]


def check_executed(
    nb: NotebookNode,
    hidden_sources: dict[str, str],
    setup: list[str],
    *,
    timeout: float,
    setup_timeout: float,
    max_answers_bytes: int = wire.MAX_ANSWERS_BYTES,
    resources: dict | None = None,
) -> dict[str, dict]:
    """Judge every hidden-test cell of an executed notebook in the trusted checker.

    ``hidden_sources`` maps the grade id of each hidden-test cell to its full
    source (hidden tests included); ``setup`` is the read-only setup cells'
    source in order. Each such cell gets back its full source and, if it
    failed, one error output with the words for the feedback. Returns
    ``{grade id: {"passed", "lines"}}``. The time it took (the stage "check",
    :mod:`.stages`) is added to ``resources`` if given.
    """
    import time

    from htcourse.grading import checker, stages

    started, cpu_started = time.perf_counter(), time.process_time()
    reports, cells = {}, {}
    for cell in nb.cells:
        payloads = take_answers_messages(cell) if cell.cell_type == "code" else []
        gid = nbcells.grade_id(cell)
        if gid in hidden_sources and cell.cell_type == "code":
            reports[gid] = pick_answers_message(payloads, gid, max_answers_bytes)
            cells[gid] = cell
    tests = hidden_tests({gid: hidden_sources[gid] for gid in cells})
    if not tests:
        return {}
    trusted = checker.get()
    results = trusted.check(setup, tests, reports, timeout, setup_timeout)
    checker_cpu = trusted.last_cpu_seconds
    for gid, cell in cells.items():
        result = results[gid]
        cell.source = hidden_sources[gid]
        if result["passed"]:
            cell.outputs = []
        else:
            from htcourse.grading.execute import SKIPPED_ENAME, TIMEOUT_ENAME

            kept = [o for o in cell.get("outputs", []) if o.get("ename") in (SKIPPED_ENAME, TIMEOUT_ENAME)]
            cell.outputs = kept + [failed_output(result["lines"])]
    if resources is not None:
        stages.record(resources, "check", time.perf_counter() - started, time.process_time() - cpu_started, checker_cpu)
    return results


class CheckAnswers(SendAnswers):
    """Run the hidden tests in the trusted checker and record pass or fail in each cell (autograde)."""

    timeout = Float(120, help="Seconds the hidden tests of one notebook may run in the trusted checker.").tag(
        config=True
    )
    setup_timeout = Float(
        300,
        help=(
            "Seconds the trusted checker may take to start and to run an assignment's setup cells (imports, "
            "datasets) before it checks a notebook; the hidden tests then have c.CheckAnswers.timeout."
        ),
    ).tag(config=True)

    def preprocess(self, nb, resources):
        setup, hidden = from_gradebook(nb, resources)
        check_executed(
            nb,
            hidden,
            setup,
            timeout=self.timeout,
            setup_timeout=self.setup_timeout,
            max_answers_bytes=self.max_answers_bytes,
            resources=resources,
        )
        return nb, resources


def from_gradebook(nb: NotebookNode, resources: dict) -> tuple[list[str], dict[str, str]]:
    """The read-only setup cells (in the notebook's order) and the hidden-test cells, as the gradebook has them."""
    from nbgrader.api import Gradebook

    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gb:
        record = gb.find_notebook(info["notebook"], info["assignment"])
        sources = {c.name: c for c in record.source_cells}
        grades = {c.name for c in record.grade_cells}
        solutions = {c.name for c in record.solution_cells}
        hidden = {
            name: c.source
            for name, c in sources.items()
            if name in grades and c.cell_type == "code" and BEGIN_HIDDEN in c.source
        }
        setup = []
        for cell in nb.cells:
            gid = nbcells.grade_id(cell)
            sc = sources.get(gid)
            if sc is not None and sc.locked and sc.cell_type == "code" and gid not in grades | solutions:
                setup.append(sc.source)
    return setup, hidden


def setup_and_hidden(nb: NotebookNode) -> tuple[list[str], dict[str, str]]:
    """The read-only setup cells and the hidden-test cells of a source notebook."""
    setup, hidden = [], {}
    for cell in nb.cells:
        meta = nbcells.nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and has_hidden_tests(cell.source):
            hidden[meta["grade_id"]] = cell.source
        elif meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            setup.append(cell.source)
    return setup, hidden

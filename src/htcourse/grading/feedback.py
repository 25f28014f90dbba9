"""Feedback that never shows a hidden test.

Stock ``nbgrader generate_feedback`` renders the autograded notebook as it
is: hidden tests are printed word for word, and even with nbgrader's
``ClearHiddenTests`` a failing hidden test's traceback quotes its ``assert``
lines. :class:`SanitizeHiddenTests` runs first in the feedback pipeline
(``c.GenerateFeedback.preprocessors`` in ``assignments/nbgrader_config.py``):

- it removes every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``
  region from the cell source;
- it keeps, in every cell that held hidden tests, only the grader's own
  words for a failed check (written by :mod:`.answers`, which ran the test
  outside the student's kernel) and the note that a cell was not run;
  any other output there becomes one plain message, "A hidden test did not
  pass.", when the cell failed, and nothing when it passed;
- it removes any output of any other cell that quotes a line of a hidden
  test (a student can print the kernel's input history, for example).
"""

from __future__ import annotations

import re

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from htcourse.grading.cells import (  # noqa: F401 (BEGIN_HIDDEN: answers.py still imports it from here)
    BEGIN_HIDDEN,
    END_HIDDEN,
    GRADER_ENAMES,
    HIDDEN_FAILED_ENAME,
    error_names,
    has_hidden_tests,
    split_hidden,
)

HIDDEN_FAILED = "A hidden test did not pass."
REDACTED = "[This output was removed from your feedback because it contained hidden test code.]"

#: What nbconvert's pass over a rendered page changes: pictures and JupyterLab-style cells (FeedbackHTMLExporter).
_NEEDS_SOUP = re.compile(r"<img\b|jp-Notebook", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _signatures(lines: list[str]) -> set[str]:
    """Lines of hidden tests that are distinctive enough to look for in outputs."""
    out = set()
    for line in lines:
        text = line.strip()
        if len(text) >= 12 or "CANARY" in text:
            out.add(text)
    return out


def _output_text(output: NotebookNode) -> str:
    parts = [output.get("text", ""), output.get("evalue", "")]
    parts += list(output.get("traceback", []))
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else str(value))
    text = "".join(p if isinstance(p, str) else "".join(p) for p in parts)
    return _ANSI.sub("", text)


class SanitizeHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests and every trace of them from a notebook before it becomes feedback."""

    begin_test_delimeter = Unicode(BEGIN_HIDDEN, help="Marks the start of a hidden test region.").tag(config=True)
    end_test_delimeter = Unicode(END_HIDDEN, help="Marks the end of a hidden test region.").tag(config=True)
    failed_message = Unicode(HIDDEN_FAILED, help="Shown instead of the output of a failed hidden test cell.").tag(
        config=True
    )
    redacted_message = Unicode(REDACTED, help="Shown instead of an output that quotes hidden test code.").tag(
        config=True
    )

    def preprocess(self, nb: NotebookNode, resources):
        signatures: set[str] = set()
        for cell in nb.cells:
            if has_hidden_tests(cell.source, self.begin_test_delimeter):
                signatures |= _signatures(
                    split_hidden(cell.source, self.begin_test_delimeter, self.end_test_delimeter)[1]
                )
        signatures.add(self.begin_test_delimeter)
        signatures.add(self.end_test_delimeter)
        self._signatures = signatures
        nb, resources = super().preprocess(nb, resources)
        nb.metadata.pop("celltoolbar", None)
        return nb, resources

    def _failed_output(self) -> NotebookNode:
        return NotebookNode(
            output_type="error",
            ename=HIDDEN_FAILED_ENAME,
            evalue=self.failed_message,
            traceback=[self.failed_message],
        )

    def preprocess_cell(self, cell, resources, cell_index):
        if has_hidden_tests(cell.source, self.begin_test_delimeter):
            cell.source = split_hidden(cell.source, self.begin_test_delimeter, self.end_test_delimeter)[0].rstrip()
            if cell.cell_type == "code":
                outputs = cell.get("outputs", [])
                ours = [o for o in outputs if o.get("output_type") == "error" and o.get("ename") in GRADER_ENAMES]
                if ours:
                    cell.outputs = ours
                else:
                    cell.outputs = [self._failed_output()] if error_names(cell) else []
            return cell, resources
        if cell.cell_type == "code":
            outputs = []
            for output in cell.get("outputs", []):
                text = _output_text(output)
                if any(sig in text for sig in self._signatures):
                    outputs.append(NotebookNode(output_type="stream", name="stdout", text=self.redacted_message + "\n"))
                else:
                    outputs.append(output)
            cell.outputs = outputs
        return cell, resources


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for the life of the process (checked against their source)."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CACHE = _MemoryBytecodeCache()


#: No script, no frame, no form, no fetch: only the page's own styles and pictures inside it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'"
)


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, compiling its templates once per process.

    nbgrader makes a new exporter each time it writes feedback, and the course's
    grader writes feedback one student at a time: without a shared cache every
    student's page would compile the same Jinja templates again (about a fifth
    of a second each). Jinja checks each cached template against its source.
    """

    content_security_policy = Unicode(
        CONTENT_SECURITY_POLICY,
        help="Written as a <meta> tag at the top of every feedback page: no script runs, nothing is fetched.",
    ).tag(config=True)

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATE_CACHE
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = self._render(nb, resources, **kw)
        return with_csp(output, self.content_security_policy), resources

    def _render(self, nb, resources=None, **kw):
        """``HTMLExporter.from_notebook_node`` (nbconvert 7), parsing the page again only where that changes it.

        nbconvert parses every page it has rendered with BeautifulSoup, to give
        pictures without one an alternative text and to make JupyterLab-style
        cells focusable, and writes it out again: half the CPU of a feedback
        page. The feedback template has no such cells, so the page is parsed
        only when it has a picture (or a student's output brought such a cell).
        """
        from bs4 import BeautifulSoup
        from nbconvert.exporters import TemplateExporter
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", RememberedHighlight(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if not _NEEDS_SOUP.search(html):
            return html, resources
        soup = BeautifulSoup(html, features="html.parser")
        missing_alt = 0
        for elem in soup.select("img:not([alt])"):
            elem.attrs["alt"] = "No description has been provided for this image"
            missing_alt += 1
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
            elem.attrs["tabindex"] = "0"
        for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
            elem.attrs["tabindex"] = "0"
        return str(soup), resources


#: Code cells highlighted in this process, by what their HTML depends on (:class:`RememberedHighlight`).
_HIGHLIGHTED: dict[tuple, str] = {}
_HIGHLIGHTED_MAX = 4096


class RememberedHighlight(Highlight2HTML):
    """nbconvert's ``highlight_code`` filter, highlighting each distinct cell once per process.

    Pygments' part of a feedback page is about a third of its CPU, and most
    code cells (the setup, the visible tests, many answers) are the same in
    every submission. The HTML depends only on the source, the language, a
    cell's ``magics_language`` and the formatter's options, which make the key.
    """

    def __call__(self, source, language=None, metadata=None):
        language = language or self.pygments_lexer
        magic = metadata.get("magics_language") if metadata else None
        options = tuple(sorted((str(k), repr(v)) for k, v in self.extra_formatter_options.items()))
        key = (source, language, magic, options)
        page = _HIGHLIGHTED.get(key)
        if page is None:
            page = super().__call__(source, language, metadata)
            if len(_HIGHLIGHTED) >= _HIGHLIGHTED_MAX:
                _HIGHLIGHTED.clear()
            _HIGHLIGHTED[key] = page
        return page


def with_csp(page: str, policy: str = CONTENT_SECURITY_POLICY) -> str:
    """``page`` with a Content-Security-Policy <meta> tag as the first thing in its <head>."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    match = re.search(r"<head[^>]*>", page, flags=re.IGNORECASE)
    if match:
        return page[: match.end()] + "\n" + meta + page[match.end() :]
    return meta + "\n" + page

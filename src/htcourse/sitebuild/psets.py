"""The problem-set page: what each graded notebook covers, its points, and how to get it.

``book/problem-sets.md`` holds one ``{problem-sets}`` directive. It writes a
section per assignment in ``assignments/source/`` (anchor: the assignment's
name, e.g. ``problem-sets.html#ps4-dirty-data``), made from the notebook's own
header cell (title, points, time, module, data, what it asks), so the page
cannot drift from the notebooks. Each section says how to get the student
notebook:

* on a course hub, from *Nbgrader → Assignment List* once the instructor has
  released it;
* otherwise (self-learners, or a class that hands out files), as the
  student version the build makes with nbgrader's own preprocessors (solutions,
  hidden tests and mark schemes removed; the visible checks kept), shipped
  with the site under ``_static/problem-sets/``.

Every mention of a problem set in the book links to its section; the site
tests check that.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from htcourse.paths import REPO_ROOT

SOURCE = REPO_ROOT / "assignments" / "source"
#: The page that describes every problem set (a docname, as in _toc.yml).
PAGE = "book/problem-sets"
#: Where the student versions go in the built site.
STATIC_FOLDER = "problem-sets"
#: An assignment's name, as the book mentions it.
NAME = re.compile(r"\b(?:ps[1-9]-[a-z]+(?:-[a-z]+)*|capstone-design-review)\b")
#: Stands for the student notebook's address while the header is parsed.
DOWNLOAD_MARKER = "https://htc-download.invalid/"
CANARY = re.compile(r"CANARY-[a-z0-9-]+-\d+")


def assignments(source: Path = SOURCE) -> list[str]:
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def student_version(path: Path) -> nbformat.NotebookNode:
    """The notebook a student gets: nbgrader's release preprocessors, without the gradebook.

    Solutions become stubs, hidden tests and mark schemes are removed, outputs
    cleared; visible tests stay. Refuses to return a notebook that still holds
    a canary token (a region the preprocessors did not recognise).
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearOutput, ClearSolutions

    nb = nbformat.read(str(path), as_version=4)
    resources: dict = {}
    for step in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme(), ClearOutput()):
        nb, resources = step.preprocess(nb, resources)
    leaked = {token for cell in nb.cells for token in CANARY.findall(cell.source)}
    if leaked:
        raise ValueError(f"{path}: the student version would still hold {sorted(leaked)}")
    return nb


def write_student_versions(outdir: Path, source: Path = SOURCE) -> list[Path]:
    folder = outdir / "_static" / STATIC_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in assignments(source):
        target = folder / f"{name}.ipynb"
        nbformat.write(student_version(source / name / f"{name}.ipynb"), str(target))
        written.append(target)
    return written


def header(path: Path) -> tuple[str, str]:
    """(title, the rest of the header cell) of an assignment notebook."""
    nb = nbformat.read(str(path), as_version=4)
    text = nb.cells[0].source if nb.cells else ""
    first, _, rest = text.partition("\n")
    # The header's own sub-sections (e.g. "How this notebook works") are for the notebook.
    rest = re.split(r"^#+ ", rest, maxsplit=1, flags=re.M)[0]
    return first.lstrip("# ").strip(), rest.strip()


HOW_TO_GET = """**How to get it.** In a class with a course hub: once your instructor has released it, open
*Nbgrader → Assignment List* in JupyterLab, fetch `{name}` and open the notebook from the folder it makes;
submit it from the same list. In a class that hands out files, your instructor sends you the notebook.
On your own: download the student notebook, [{name}.ipynb]({marker}{name}), and run it
where the course package is installed (the repository's README says how). It holds the visible checks,
which say whether an answer has the right form; the hidden tests that check the values, and the worked
answers, are kept for grading."""


class ProblemSets(SphinxDirective):
    """``{problem-sets}``: a section for every assignment in ``assignments/source/``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out = []
        for name in assignments():
            path = SOURCE / name / f"{name}.ipynb"
            self.env.note_dependency(str(path))
            title, body = header(path)
            section = nodes.section(ids=[name], names=[nodes.fully_normalize_name(name)])
            section += nodes.title(text=f"{title} ({name})")
            text = body + "\n\n" + HOW_TO_GET.format(name=name, marker=DOWNLOAD_MARKER)
            self.state.nested_parse(self._lines(text), self.content_offset, section)
            # The student version is written into the built site (build-finished): link it as a file.
            up = "../" * self.env.docname.count("/")
            for ref in section.findall(nodes.reference):
                if ref.get("refuri", "").startswith(DOWNLOAD_MARKER):
                    ref["refuri"] = f"{up}_static/{STATIC_FOLDER}/{ref['refuri'][len(DOWNLOAD_MARKER) :]}.ipynb"
                    ref["classes"].append("htc-download")
            out.append(section)
        return out

    def _lines(self, text: str):
        from docutils.statemachine import StringList

        return StringList(text.splitlines(), source=self.env.doc2path(self.env.docname))


#: Where a mention is left as it is: code, headings, links (handled apart), raw HTML.
SKIP = (
    nodes.literal_block,
    nodes.title,
    nodes.reference,
    nodes.raw,
    nodes.comment,
    nodes.target,
    nodes.FixedTextElement,
    nodes.rubric,
)


def _inside(node: nodes.Node, kinds) -> bool:
    while node is not None:
        if isinstance(node, kinds):
            return True
        node = node.parent
    return False


def link_mentions(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Make every mention of a problem set in prose a link to its section of the problem-set page.

    A name in running text (or an inline code span that is just the name)
    becomes a link; an existing link whose text names a problem set is pointed
    at the section. Code blocks, headings and the problem-set page itself are
    left alone.
    """
    if docname == PAGE or app.builder.format != "html":
        return
    names = set(assignments())
    page = app.builder.get_relative_uri(docname, PAGE)

    def target(name: str) -> str:
        return f"{page}#{name}"

    for ref in list(doctree.findall(nodes.reference)):
        match = NAME.match(ref.astext().strip())
        if match and match[0] in names and not _inside(ref.parent, (nodes.title,)):
            ref["refuri"] = target(match[0])
            ref.attributes.pop("refid", None)
            ref["internal"] = True
    for literal in list(doctree.findall(nodes.literal)):
        text = literal.astext().strip()
        if text in names and not _inside(literal.parent, SKIP):
            link = nodes.reference("", "", internal=True, refuri=target(text))
            literal.replace_self(link)
            link += literal
    for text_node in list(doctree.findall(nodes.Text)):
        parent = text_node.parent
        if parent is None or isinstance(parent, nodes.literal) or _inside(parent, SKIP):
            continue
        value = str(text_node)
        pieces, last = [], 0
        for match in NAME.finditer(value):
            if match[0] not in names:
                continue
            pieces.append(nodes.Text(value[last : match.start()]))
            pieces.append(nodes.reference(match[0], match[0], internal=True, refuri=target(match[0])))
            last = match.end()
        if pieces:
            pieces.append(nodes.Text(value[last:]))
            parent.replace(text_node, [p for p in pieces if not (isinstance(p, nodes.Text) and not str(p))])


def _on_build_finished(app: Sphinx, exception) -> None:
    if exception is None and app.builder.format == "html":
        write_student_versions(Path(app.outdir))


def setup(app: Sphinx) -> dict:
    app.add_directive("problem-sets", ProblemSets)
    app.connect("doctree-resolved", link_mentions)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""No student markup runs where an instructor or another student looks.

A graded notebook is shown in three places: the formgrader's submission view
(as the instructor, inside their Jupyter session), the feedback page (opened
as a file) and the autograded notebook itself. nbgrader 0.9.6 renders Markdown
cells in the formgrader with ``cell.source | markdown2html`` and nothing
else, and nbconvert puts ``text/html``, ``text/markdown`` and SVG outputs into
the page as they are, so a ``<script>``, an ``onerror=`` or an SVG ``onload``
in a student's answer would run as the instructor.

:class:`SanitizeMarkup` runs during autograding, after the student's code, on
the notebook that the formgrader and the feedback are both made from:

- a Markdown or raw cell is rendered the way nbconvert renders it and cleaned
  with nh3 (the Rust sanitiser ammonia) under :data:`POLICY`; if the cleaning
  changed anything, the cell's source becomes the cleaned HTML (so text,
  emphasis, lists, links, tables and pictures still show), and a cell that
  would still not render cleanly becomes its plain text;
- ``text/html`` and ``text/markdown`` outputs are cleaned the same way; SVG
  outputs become pictures (``<img>`` of a ``data:`` URI, in which no script
  runs); JavaScript, widget and every other output kind that is not on
  :data:`KEPT_MIMETYPES` is dropped; image data must be base64 and image sizes
  numbers (nbconvert writes ``width=...`` unquoted);
- the notebook's widget state (which would load the widget scripts) is dropped.

What was removed is written into the cell's metadata
(``htcourse.removed_markup``) and the grader flags the submission with it.
Pictures are kept only from the notebook itself: a cell's attachments and
``data:`` URIs. The grader turns a picture the student uploaded beside the
notebook into an attachment before any student code runs
(:func:`inline_uploaded_images`), so nothing is read from the working folder
later.
"""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import nh3
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from htcourse.grading import cells

#: Where the grader records, per cell, what it removed.
METADATA_KEY = "htcourse"
REMOVED_KEY = "removed_markup"

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir", "id"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "align", "valign", "style"},  # style: text-align only (a Markdown table's)
    "th": {"colspan", "rowspan", "align", "valign", "style"},
    "col": {"span"},
    "ol": {"start", "type"},
}
#: Every id in a student's markup starts with this (as GitHub does), and links within the page follow:
#: no heading or element of a student's can take the id of one of the formgrader's own elements
#: (its grade boxes are ``id="<grade id>"``), which scripts would then find first (DOM clobbering).
#: ``name`` is not allowed at all.
ID_PREFIX = "user-content-"
#: Links may go to the web, to an e-mail address or within the page.
LINK_SCHEMES = ("http:", "https:", "mailto:", "#")
#: Pictures only from the notebook itself.
IMAGE_PREFIXES = (
    "data:image/png;",
    "data:image/jpeg;",
    "data:image/gif;",
    "data:image/webp;",
    "data:image/svg+xml;",
    "attachment:",
)

#: Output kinds kept (each cleaned where it is markup); every other kind is dropped.
KEPT_MIMETYPES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
)
_BASE64_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")

#: Recorded (in the cell's metadata, not in the grading summary) for markup that was only formatting
#: outside the policy: the ``<style>`` block of every pandas table, say.
QUIET = "formatting outside the course's policy"

#: What the instructor is told about: markup that can run or load something.
ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "link",
    "meta",
    "base",
    "template",
    "noscript",
    "style",
    "portal",
    "video",
    "audio",
    "source",
    "track",
}

_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_ATTACHMENT_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(\s+\"[^\"\n]*\")?\s*\)")
_IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def _own_id(name: str) -> str:
    return name if name.startswith(ID_PREFIX) else ID_PREFIX + name


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    text = value.strip()
    low = re.sub(r"[\x00-\x20]", "", text).lower()
    if element == "a" and attribute == "href":
        if low.startswith("#"):  # a link within the page, to the student's own (prefixed) ids
            return "#" + _own_id(text[1:])
        return text if low.startswith(LINK_SCHEMES) else None
    if element == "img" and attribute == "src":
        return text if low.startswith(IMAGE_PREFIXES) else None
    if attribute in ("width", "height", "colspan", "rowspan", "span", "start", "border"):
        return text if re.fullmatch(r"\d{1,5}(%|px)?", text) else None
    if attribute == "id":
        return _own_id(text) if re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", text) else None
    return value


def clean(markup: str) -> str:
    """``markup`` with only the tags, attributes and addresses of the course's policy."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "data", "attachment"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        filter_style_properties={"text-align"},
    )


class _Tokens(HTMLParser):
    """A comparable list of what a browser would build from some HTML (tags, attributes, text)."""

    VOID = {"br", "hr", "img", "col", "input", "meta", "link", "source", "track", "wbr", "area", "base", "embed"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple] = []
        self.found: list[str] = []  # active content, in words

    def _note(self, tag: str, attrs) -> None:
        if tag in ACTIVE_TAGS - {"style"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            name = name.lower()
            low = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on"):
                self.found.append(f"{name}= handler")
            elif name in ("srcdoc", "formaction", "xlink:href", "action"):
                self.found.append(f"{name}= attribute")
            elif low.startswith(("javascript:", "vbscript:", "data:text/html", "data:application")):
                self.found.append(f"{low.split(':', 1)[0]}: address")

    def handle_starttag(self, tag, attrs):
        self._note(tag, attrs)
        rel = [
            (n, re.sub(r"\s+", "", v or "").rstrip(";").lower() if n == "style" else v or "")
            for n, v in attrs
            if n != "rel"
        ]
        self.tokens.append(("start", tag, tuple(sorted(rel))))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.tokens.append(("end", tag))

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.tokens.append(("end", tag))

    def handle_data(self, data):
        if self.tokens and self.tokens[-1][0] == "data":
            self.tokens[-1] = ("data", self.tokens[-1][1] + data)
        else:
            self.tokens.append(("data", data))

    def handle_comment(self, data):
        self.tokens.append(("comment", data))

    def handle_decl(self, decl):
        self.tokens.append(("decl", decl))

    def handle_pi(self, data):
        self.tokens.append(("pi", data))

    def unknown_decl(self, data):
        self.tokens.append(("decl", data))


def _tokens(markup: str) -> _Tokens:
    parser = _Tokens()
    parser.feed(markup)
    parser.close()
    # whitespace between blocks is not content
    parser.tokens = [t for t in parser.tokens if not (t[0] == "data" and not t[1].strip())]
    return parser


#: Markup up to this many characters is cleaned once per grading process: the course's own Markdown cells
#: and outputs come back in every submission (see :func:`_remembered`).
REMEMBER_MAX_CHARS = 100_000
_REMEMBER_ENTRIES = 2048


def _remembered(function):
    """``function`` of strings, each result kept for the life of the process (a bounded number of them).

    Only for functions whose result depends on their arguments alone; a result
    is a tuple of a string and a tuple, handed out as ``(str, list)`` (a new
    list each time). Arguments over :data:`REMEMBER_MAX_CHARS` are not kept.
    """
    import functools

    cached = functools.lru_cache(maxsize=_REMEMBER_ENTRIES)(lambda *args: _frozen(function(*args)))

    @functools.wraps(function)
    def remembered(*args):
        if sum(len(a) for a in args) > REMEMBER_MAX_CHARS:
            return function(*args)
        text, items = cached(*args)
        return text, list(items)

    remembered.cache_clear = cached.cache_clear
    return remembered


def _frozen(result: tuple[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    return result[0], tuple(result[1])


@_remembered
def clean_html(markup: str) -> tuple[str, list[str]]:
    """``(markup, [])`` if it is already clean; otherwise ``(cleaned, what was removed)``."""
    cleaned = clean(markup)
    before = _tokens(markup)
    if before.tokens == _tokens(cleaned).tokens:
        return markup, []
    found = sorted(set(before.found))
    return cleaned, found or [QUIET]


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """A Markdown cell as nbconvert (and so the formgrader and the feedback page) renders it."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, embed_images=False)
    return MarkdownWithMath(renderer=renderer).render(source)


def _plain(text: str) -> str:
    """Text that Markdown shows as it is: one ``<pre>`` block, escaped, that nothing inside can end."""
    return "<pre>" + html.escape(text) + "</pre>"


def clean_markdown(source: str, attachments: dict | None = None) -> tuple[str, list[str]]:
    """``(source, [])`` if the cell renders cleanly; otherwise a safe source and what was removed."""
    if not attachments:
        return _clean_plain_markdown(source)
    return _clean_markdown(source, attachments)


@_remembered
def _clean_plain_markdown(source: str) -> tuple[str, list[str]]:
    """:func:`clean_markdown` of a cell without attachments (the course's own cells come back in each submission)."""
    return _clean_markdown(source, None)


def _clean_markdown(source: str, attachments: dict | None) -> tuple[str, list[str]]:
    rendered = render_markdown(source, attachments)
    cleaned, removed = clean_html(rendered)
    if not removed:
        return source, []
    if attachments:  # the cleaned HTML has the attachments inlined; keep them as references
        for name, bundle in attachments.items():
            for mime, data in bundle.items():
                cleaned = cleaned.replace(f"data:{mime};base64,{data}", f"attachment:{name}")
    again = render_markdown(cleaned, attachments)
    if clean_html(again)[1]:  # Markdown made something of the cleaned HTML again: keep only the text
        text = "".join(t[1] for t in _tokens(clean(rendered)).tokens if t[0] == "data")
        cleaned = _plain(text)
    return cleaned, removed


def _b64ok(value) -> bool:
    text = "".join(value) if isinstance(value, list) else str(value)
    return bool(_BASE64.match(text))


def _clean_metadata(metadata: dict) -> dict:
    """Only what nbconvert needs of an output's metadata, with sizes that are numbers."""
    kept = {}
    for key, value in (metadata or {}).items():
        if key in ("width", "height") and isinstance(value, int) and not isinstance(value, bool):
            kept[key] = value
        elif key in KEPT_MIMETYPES and isinstance(value, dict):
            inner = {
                k: v
                for k, v in value.items()
                if (k in ("width", "height") and isinstance(v, int) and not isinstance(v, bool))
                or (k == "unconfined" and isinstance(v, bool))
                or (k == "alt" and isinstance(v, str))
            }
            if inner:
                kept[key] = inner
    return kept


def clean_output(output: NotebookNode) -> list[str]:
    """Clean one output in place; return what was removed."""
    if output.get("output_type") not in ("display_data", "execute_result", "update_display_data"):
        return []
    removed: list[str] = []
    data = output.get("data", {})
    for mime in list(data):
        if mime not in KEPT_MIMETYPES:
            removed.append(f"an output of type {mime}")
            del data[mime]
    for mime in _BASE64_IMAGES:
        if mime in data and not _b64ok(data[mime]):
            removed.append(f"a {mime} output that was not a picture")
            del data[mime]
    if "image/svg+xml" in data:
        svg = data.pop("image/svg+xml")
        svg = "".join(svg) if isinstance(svg, list) else str(svg)
        if not any(k in data for k in _BASE64_IMAGES):
            encoded = base64.b64encode(svg.encode("utf-8", "replace")).decode()
            data.setdefault("text/html", f'<img src="data:image/svg+xml;base64,{encoded}" alt="a picture (SVG)">')
    if "text/markdown" in data:
        md = data.pop("text/markdown")
        md = "".join(md) if isinstance(md, list) else str(md)
        cleaned, found = clean_html(render_markdown(md))
        removed += found
        data.setdefault("text/html", cleaned if found else render_markdown(md))
    if "text/html" in data:
        value = data["text/html"]
        value = "".join(value) if isinstance(value, list) else str(value)
        cleaned, found = clean_html(value)
        removed += found
        data["text/html"] = cleaned
    if not data:
        data["text/plain"] = "[an output was removed by the grader]"
    metadata = _clean_metadata(output.get("metadata", {}))
    output["metadata"] = metadata
    return removed


def clean_cell(cell: NotebookNode) -> list[str]:
    """Clean one cell in place; return what was removed (in words, each once)."""
    removed: list[str] = []
    if cell.cell_type == "markdown":
        attachments = {}
        for name, bundle in (cell.get("attachments") or {}).items():
            good = {m: v for m, v in bundle.items() if m in _BASE64_IMAGES and _b64ok(v)}
            if good:
                attachments[name] = good
            else:
                removed.append(f"attachment {name!r} that was not a picture")
        if attachments or "attachments" in cell:
            cell["attachments"] = attachments
            if not attachments:
                del cell["attachments"]
        source, found = clean_markdown(cell.source, attachments)
        cell.source = source
        removed += found
    elif cell.cell_type == "raw":
        source, found = clean_html(cell.source)
        cell.source = source
        removed += found
    elif cell.cell_type == "code":
        for output in cell.get("outputs", []):
            removed += clean_output(output)
    seen: list[str] = []
    for item in removed:
        if item not in seen:
            seen.append(item)
    if seen:
        cell.metadata.setdefault(METADATA_KEY, {})[REMOVED_KEY] = seen
    return seen


def removed_in(cell: NotebookNode, quiet: bool = False) -> list[str]:
    """What :class:`SanitizeMarkup` removed from ``cell`` (read back from its metadata).

    Formatting only (:data:`QUIET`) is left out unless ``quiet``.
    """
    removed = cell.get("metadata", {}).get(METADATA_KEY, {}).get(REMOVED_KEY, [])
    return [item for item in removed if quiet or item != QUIET]


class SanitizeMarkup(NbGraderPreprocessor):
    """Clean every cell's markup and outputs (see the module's docstring); record what was removed."""

    enabled = Bool(True, help="Clean students' Markdown, HTML and other rich outputs while autograding.").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            clean_cell(cell)
        return nb, resources


# --- pictures the student saved beside the notebook ---------------------------------


def inline_uploaded_images(nb: NotebookNode, folder: Path, files, max_bytes: int | None) -> list[str]:
    """Turn ``![text](my-piece.png)`` of a picture submitted beside the notebook into an attachment.

    Read from the checked submission before any student code runs, by file
    descriptor without following links; ``files`` are the submission's files
    that passed the checks (relative paths); ``max_bytes`` is the course's
    limit per file (None: none). Returns the pictures that could
    not be used, in words (a picture that is not among ``files`` is left as it
    is: the sanitiser later shows nothing for it).
    """
    import os
    import stat

    available = {str(Path(f)) for f in files}
    problems: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or cells.is_locked(cell):
            continue  # the instructions are the course's own

        def replace(match: re.Match, cell: NotebookNode = cell) -> str:
            alt, target, title = match.group(1), match.group(2), match.group(3) or ""
            rel = str(Path(target))
            mime = _IMAGE_SUFFIXES.get(Path(target).suffix.lower())
            if target.startswith(("attachment:", "data:", "http:", "https:")) or mime is None:
                return match.group(0)
            if rel not in available or ".." in Path(rel).parts:
                return match.group(0)  # not submitted (an example in the instructions, say): shown as nothing
            try:
                fd = os.open(folder / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                problems.append(f"the picture {target} could not be read")
                return match.group(0)
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or (max_bytes is not None and info.st_size > max_bytes):
                    problems.append(f"the picture {target} is not a file within the course's size limit")
                    return match.group(0)
                data = handle.read(info.st_size if max_bytes is None else max_bytes)
            name = Path(rel).name
            cell.setdefault("attachments", {})[name] = {mime: base64.b64encode(data).decode()}
            return f"![{alt}](attachment:{name}{title})"

        cell.source = _ATTACHMENT_IMAGE.sub(replace, cell.source)
    return problems

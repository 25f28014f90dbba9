"""A Content-Security-Policy on nbgrader's formgrader pages.

The formgrader shows a student's notebook to the instructor, logged in, on
the instructor's own server. The grader cleans every Markdown cell and rich
output before it gets there (:mod:`.markup`); this policy is the second wall:
should any student script reach a formgrader page, the browser refuses to
run it.

nbgrader's pages (0.9.6) need inline scripts of their own: the submission
view sets ``submission_id``, ``notebook_id`` and ``base_url`` in one, defines
``toggle_name`` in another, and has two ``onclick`` handlers. A plain
``script-src 'self'`` would break them, and ``'unsafe-inline'`` would let any
injected script run. So the policy allows exactly nbgrader's own:

- at start, every inline script in the installed formgrader templates is
  turned into a pattern: its text word for word, each ``{{ … }}`` in it
  standing for a short run of name characters (so a value cannot leave its
  string literal);
- each formgrader response is read before it is sent; an inline script that
  matches one of those patterns, and stands *before* the student's notebook
  (``id="notebook-container"``), is allowed by its SHA-256 hash. Nothing
  inside the notebook is ever allowed, not even a copy of nbgrader's own
  script with other values (which could point the grade boxes at another
  submission);
- the templates' fixed ``onclick`` handlers are allowed by hash
  (``'unsafe-hashes'``);
- script files only from the formgrader's own static folder, not from the
  whole server (which also serves collected submissions under ``/files/``);
- no plugins, no ``<base>``, no frames, fetches only to the server itself.

MathJax, which nbgrader's template loads from a CDN, is refused, so a
formula shows as its TeX source in the formgrader; a small stand-in
(:data:`MATHJAX_STANDIN`) keeps formgrade.js, which calls it, working.

The policy is added by a tornado output transform, as a Jupyter server
extension enabled by ``etc/jupyter/jupyter_server_config.d/htcourse.json``
(installed with the package, as nbgrader enables its own). Responses outside
``<base_url>formgrader`` are left as they are.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from tornado.web import OutputTransform
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

#: Where the student's notebook starts on the submission view (formgrade/index.html.j2).
NOTEBOOK_MARKER = 'id="notebook-container"'

#: MathJax comes from a CDN, which the policy refuses (and an offline machine cannot reach), and
#: formgrade.js calls it while it sets up its keyboard shortcuts: without it those stop half-way.
#: This stand-in, put at the end of the submission view's <head> and allowed by its hash, lets them
#: finish; a formula shows as its TeX source.
MATHJAX_STANDIN = (
    "window.MathJax = window.MathJax || {Hub: {Startup: {signal: {Interest: function () {}}}, "
    "Queue: function () {}, Typeset: function () {}}};"
)

#: What a ``{{ … }}`` inside one of nbgrader's inline scripts may stand for: ids, names, paths.
_VALUE = r"[\w.\-/ +:]{0,200}"

#: Script types a browser runs (the others, JSON or MathJax config, are data).
_JS_TYPES = {"", "text/javascript", "application/javascript", "module"}

_TEMPLATE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
_TEMPLATE_HANDLER = re.compile(r"""\son[a-z]+="(?P<code>[^"{}]*)\"""", re.IGNORECASE)
_TEMPLATE_EXPR = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _script_type(attrs: str) -> str | None:
    """The type of a template's <script> tag, or None if it loads a file."""
    if re.search(r"\ssrc\s*=", attrs, re.IGNORECASE):
        return None
    match = re.search(r"""\stype\s*=\s*["']?([^"'\s>]*)""", attrs, re.IGNORECASE)
    return (match.group(1) if match else "").strip().lower()


def template_rules(template_dir: Path) -> tuple[list[re.Pattern], list[str]]:
    """(patterns of the inline scripts, hashes of the fixed event handlers) in ``template_dir``'s templates."""
    patterns: list[re.Pattern] = []
    handlers: set[str] = set()
    for path in sorted(template_dir.rglob("*")):
        if path.suffix not in (".tpl", ".j2") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for match in _TEMPLATE_SCRIPT.finditer(text):
            if _script_type(match.group("attrs")) not in _JS_TYPES:
                continue
            body = match.group("body")
            if "{%" in body or "{#" in body:  # control flow inside a script: never allowed
                continue
            parts = _TEMPLATE_EXPR.split(body)
            patterns.append(re.compile(_VALUE.join(re.escape(p) for p in parts), re.DOTALL))
        handlers.update(_sha256(m.group("code")) for m in _TEMPLATE_HANDLER.finditer(text))
    return patterns, sorted(handlers)


def nbgrader_template_dir() -> Path:
    from nbgrader.server_extensions import formgrader

    return Path(formgrader.__file__).parent / "templates"


class _InlineScripts(HTMLParser):
    """The text of every inline script a browser would run, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag != "script":
            return
        values = dict(attrs)
        runs = "src" not in values and (values.get("type") or "").strip().lower() in _JS_TYPES
        self._current = [] if runs else None

    def handle_data(self, data):
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            if self._current is not None:
                self.scripts.append("".join(self._current))
            self._current = None


def allowed_hashes(page: str, patterns: list[re.Pattern]) -> list[str]:
    """Hashes of the inline scripts in ``page`` that are nbgrader's own and stand before the student's notebook."""
    cut = page.find(NOTEBOOK_MARKER)
    parser = _InlineScripts()
    parser.feed(page if cut < 0 else page[:cut])
    parser.close()
    return sorted({_sha256(s) for s in parser.scripts if any(p.fullmatch(s) for p in patterns)})


class FormgraderCSP(LoggingConfigurable):
    """The Content-Security-Policy header on every formgrader response."""

    policy = Unicode(
        "default-src 'self'; script-src {static} {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-src 'none'; worker-src 'none'",
        help=(
            "The policy on formgrader pages. {static} becomes the formgrader's static folder on this server "
            "(where its script files are), {hashes} the hashes of nbgrader's own inline scripts on that page "
            "and of its fixed onclick handlers ('unsafe-hashes'). Directives the server already sends "
            "(frame-ancestors, report-uri) are kept."
        ),
    ).tag(config=True)

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.prefix = "/" + base_url.strip("/") + "/formgrader" if base_url.strip("/") else "/formgrader"
        self.patterns, self.handler_hashes = template_rules(nbgrader_template_dir())

    def apply(self, host: str, page: str | None, existing: str | None) -> tuple[str, str | None]:
        """(the header, the page to send): on the submission view, with the MathJax stand-in."""
        if page is not None and NOTEBOOK_MARKER in page:
            head_end = page.lower().find("</head>")
            if 0 <= head_end < page.find(NOTEBOOK_MARKER):
                page = page[:head_end] + f"<script>{MATHJAX_STANDIN}</script>" + page[head_end:]
        return self.header(host, page, existing), page

    def header(self, host: str, page: str | None, existing: str | None) -> str:
        hashes = allowed_hashes(page, self.patterns) if page else []
        if page and MATHJAX_STANDIN in page:
            hashes.append(_sha256(MATHJAX_STANDIN))
        sources = hashes + (["'unsafe-hashes'", *self.handler_hashes] if hashes else [])
        ours = self.policy.format(static=f"{host}{self.prefix}/static/", hashes=" ".join(sources))
        ours = re.sub(r"  +", " ", ours)
        names = {d.split()[0].lower() for d in ours.split(";") if d.strip()}
        kept = [d.strip() for d in (existing or "").split(";") if d.strip() and d.split()[0].lower() not in names]
        return "; ".join([*(d.strip() for d in ours.split(";") if d.strip()), *kept])


def _transform_for(csp: FormgraderCSP) -> type[OutputTransform]:
    class FormgraderCSPTransform(OutputTransform):
        def __init__(self, request):
            self.request = request

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            path = self.request.path
            if path == csp.prefix or path.startswith(csp.prefix + "/"):
                page = None
                html = "html" in headers.get("Content-Type", "")
                if html and finishing and not headers.get("Content-Encoding"):  # the whole page, readable
                    try:
                        page = chunk.decode("utf-8")
                    except UnicodeDecodeError:
                        page = None
                policy, sent = csp.apply(self.request.host, page, headers.get("Content-Security-Policy"))
                headers["Content-Security-Policy"] = policy
                if sent is not None and sent != page:
                    chunk = sent.encode("utf-8")
                    headers["Content-Length"] = str(len(chunk))
            return status_code, headers, chunk

    return FormgraderCSPTransform


def _jupyter_server_extension_points():
    return [{"module": "htcourse.grading.formgrader_csp"}]


def _load_jupyter_server_extension(serverapp):
    csp = FormgraderCSP(serverapp.base_url, parent=serverapp)
    serverapp.web_app.add_transform(_transform_for(csp))
    serverapp.log.info("htcourse: Content-Security-Policy on %s/ (nbgrader's own inline scripts only)", csp.prefix)

"""Lighter pages: what the build changes in the written HTML and theme files.

Run once the whole site is written (``build-finished``), so it applies to
every page, whatever its content:

* the theme's ``fontawesome.js`` (1.5 MB, which swaps icon tags for SVG) is
  not loaded; icons are drawn from the theme's own Font Awesome web fonts,
  subset to the glyphs the site's pages and stylesheets use, and the icon
  rules for unused glyphs are cut from the theme stylesheet;
* the search scripts and the search index load only on the search page
  (the search button opens a form that submits to it);
* the remaining head scripts are deferred, in their order, so they no longer
  block the first paint (inline ones after them become deferred ``data:``
  scripts so the order is kept);
* icon elements are hidden from assistive technology (their buttons carry
  the name), and two theme markup problems that axe reports are repaired;
* the menu buttons work on phones (see :func:`fix_sidebar_toggles`).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

#: Small repairs to the theme's HTML that axe-core reports as serious or critical.
ACCESSIBILITY_FIXES = [
    # The sidebar's expand/collapse toggles are <summary> elements with only an
    # icon inside: give them an accessible name (axe rule summary-name).
    (
        '<summary><span class="toctree-toggle" role="presentation">',
        '<summary aria-label="Show or hide the pages in this section">'
        '<span class="toctree-toggle" role="presentation">',
    ),
    # sphinxcontrib-bibtex marks the bibliography as role="list" although its
    # entries are not list items (axe rule aria-required-children).
    ('<div role="list" class="citation-list">', '<div class="citation-list">'),
]

FONTAWESOME_JS = re.compile(
    r"\s*<!-- So that users can add custom icons -->\s*"
    r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)
SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)
ICON = re.compile(r'<i class="(?P<cls>(?:fa|fa-[a-z]+|fas|fab|far)\b[^"]*)"(?![^>]*aria-hidden)')
# An inline script that only declares a setting (e.g. sphinx-togglebutton's
# `var togglebuttonSelector = '...';`) reads nothing, so it runs in place: the
# deferred scripts that read it then find it defined.
DECLARATION = re.compile(
    r"""\s*(?:let|var|const)\s+[A-Za-z_$][\w$]*\s*=\s*(?:'[^'\\]*'|"[^"\\]*"|true|false|-?\d+(?:\.\d+)?)\s*;?\s*$"""
)
HEAD = re.compile(r"<head>.*?</head>", re.S)
SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
ICON_RULE = re.compile(r'(?P<sels>(?:\.fa-[a-z0-9-]+:before,)*\.fa-[a-z0-9-]+:before)\{content:"(?:\\.|[^"\\])*"\}')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
THEME_CSS = "_static/styles/pydata-sphinx-theme.css"
WEBFONTS = "_static/vendor/fontawesome/webfonts"
PRIVATE_USE = re.compile(r"\\([ef][0-9a-f]{3})\b|([\ue000-\uf8ff])", re.I)


# pydata-sphinx-theme 0.17 adds its own "Site navigation" and "On this page"
# buttons to its top navbar, which sphinx-book-theme hides (it shows its own
# buttons, with the same classes, in the article header). Both themes' scripts
# bind only the first `.primary-toggle` / `.secondary-toggle` in the page, the
# hidden ones, so on a phone the visible menu buttons do nothing and on a
# desktop the sidebar toggle does not collapse the sidebar:
# https://github.com/pydata/pydata-sphinx-theme/issues/2451 (open; the same
# with sphinx-book-theme 1.3.0 on a bare site). Pinning does not help:
# sphinx-book-theme 1.3.0 requires exactly pydata-sphinx-theme 0.17.1, and the
# releases before it (on 0.16) open the sidebar as a pop-up instead of hiding it
# on a desktop (pydata/pydata-sphinx-theme#2067). Dropping the hidden duplicates
# makes the visible buttons the ones the scripts bind. Remove this, and
# test_site's phone-menu test will say whether it is still needed, once the
# theme is fixed.
PST_HEADER = re.compile(r'<header id="pst-header".*?</header>', re.S)
HIDDEN_TOGGLE = re.compile(
    r'\s*<button class="pst-navbar-icon sidebar-toggle (?:primary|secondary)-toggle"[^>]*>.*?</button>', re.S
)


def fix_sidebar_toggles(html_text: str) -> str:
    """Drop the theme's hidden duplicate sidebar buttons from the top navbar (idempotent)."""
    return PST_HEADER.sub(lambda m: HIDDEN_TOGGLE.sub("", m[0]), html_text, count=1)


# sphinx-book-theme shows the launch buttons behind a bare rocket icon: say what it is.
LAUNCH_TOGGLE = re.compile(r'(aria-label="Run this notebook">\s*<i class="fas fa-rocket"[^>]*></i>)(\s*</button>)')


def label_launch_menu(html_text: str) -> str:
    """Give the launch-button menu a visible name (idempotent)."""
    return LAUNCH_TOGGLE.sub(r'\1<span class="htc-launch-label">Run</span>\2', html_text)


def fix_page_accessibility(html_text: str) -> str:
    """Apply :data:`ACCESSIBILITY_FIXES` to one built page (idempotent)."""
    for old, new in ACCESSIBILITY_FIXES:
        html_text = html_text.replace(old, new)
    return html_text


def defer_head_scripts(html_text: str) -> str:
    """Defer every classic script in ``<head>`` from the first external one on, keeping their order."""
    head = HEAD.search(html_text)
    if not head:
        return html_text
    deferring = False

    def change(m: re.Match) -> str:
        nonlocal deferring
        attrs, body = m["attrs"], m["body"]
        kind = re.search(r'\btype="([^"]*)"', attrs)
        if kind and kind[1] not in ("text/javascript", "module"):
            return m[0]  # data blocks (JSON, widget state) are not run
        if "data-cfasync" in attrs:  # the theme's colour-mode script must run before paint
            return m[0]
        if "src=" in attrs:
            deferring = True
            if re.search(r"\b(defer|async)\b", attrs) or (kind and kind[1] == "module"):
                return m[0]
            return f"<script defer{attrs}>{body}</script>"
        if deferring and body.strip() and not DECLARATION.match(body):
            data = base64.b64encode(body.encode()).decode()
            return f'<script defer{attrs} src="data:text/javascript;base64,{data}"></script>'
        return m[0]

    new_head = SCRIPT.sub(change, head[0])
    return html_text[: head.start()] + new_head + html_text[head.end() :]


def lighten_page(html_text: str, *, is_search_page: bool) -> str:
    """Every per-page change of this module (idempotent)."""
    html_text = fix_page_accessibility(html_text)
    html_text = fix_sidebar_toggles(html_text)
    html_text = label_launch_menu(html_text)
    html_text = FONTAWESOME_JS.sub("", html_text)
    if not is_search_page:
        html_text = SEARCH_SCRIPTS.sub("", html_text)
    html_text = ICON.sub(lambda m: f'<i class="{m["cls"]}" aria-hidden="true"', html_text)
    return defer_head_scripts(html_text)


def used_icon_classes(pages: list[str], scripts: list[str]) -> set[str]:
    """Font Awesome class names that the pages or the site's scripts mention."""
    found = set()
    for text in pages:
        for cls in re.findall(r'class="([^"]*)"', text):
            found.update(ICON_CLASS.findall(cls))
    for text in scripts:
        found.update(ICON_CLASS.findall(text))
    return found


def trim_icon_rules(css: str, used: set[str]) -> str:
    """Drop the theme stylesheet's ``.fa-NAME:before`` rules for icons no page uses."""

    def keep(m: re.Match) -> str:
        selectors = [s for s in m["sels"].split(",") if s[1:].split(":")[0] in used]
        if not selectors:
            return ""
        return ",".join(selectors) + m[0][len(m["sels"]) :]

    return ICON_RULE.sub(keep, css)


def glyphs_in(css: str) -> set[int]:
    """Private-use code points (icon glyphs) a stylesheet refers to."""
    points = set()
    for escaped, literal in PRIVATE_USE.findall(css):
        points.add(int(escaped, 16) if escaped else ord(literal))
    return points


def subset_fonts(folder: Path, glyphs: set[int]) -> dict[str, tuple[int, int]]:
    """Subset each Font Awesome font in ``folder`` to ``glyphs``; name -> (bytes before, after)."""
    from fontTools import subset

    sizes = {}
    for font_file in sorted(folder.glob("fa-*")):
        if font_file.suffix not in (".woff2", ".ttf"):
            continue
        before = font_file.stat().st_size
        options = subset.Options()
        options.flavor = "woff2" if font_file.suffix == ".woff2" else None
        options.layout_features = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(font_file), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(glyphs))
        subsetter.subset(font)
        subset.save_font(font, str(font_file), options)
        sizes[font_file.name] = (before, font_file.stat().st_size)
    return sizes


def _theme_static() -> Path:
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"


def _restore_theme_files(outdir: Path) -> None:
    """Start from the theme's own stylesheet and fonts, so an incremental build that adds an icon
    trims and subsets from the full set again, not from the previous build's cut."""
    import shutil

    static = _theme_static()
    pairs = [(static / "styles" / "pydata-sphinx-theme.css", outdir / THEME_CSS)]
    pairs += [
        (font, outdir / WEBFONTS / font.name) for font in (static / "vendor" / "fontawesome" / "webfonts").glob("fa-*")
    ]
    for source, target in pairs:
        if source.exists() and target.parent.is_dir():
            shutil.copyfile(source, target)


def lighten_site(outdir: Path) -> None:
    """Apply every change of this module to the site written in ``outdir``."""
    _restore_theme_files(outdir)
    pages = sorted(p for p in outdir.rglob("*.html") if "_static" not in p.parts)
    texts = {}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = lighten_page(text, is_search_page=page.relative_to(outdir).as_posix() == "search.html")
        if new != text:
            page.write_text(new, encoding="utf-8")
        texts[page] = new
    # The theme's and extensions' scripts may name icons; the libraries the
    # course ships (vega, the widget manager) carry Font Awesome's whole list.
    from htcourse.sitebuild.vendor import VENDOR_DIR

    shipped = {p.name for p in VENDOR_DIR.iterdir()} if VENDOR_DIR.is_dir() else set()
    scripts = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (outdir / "_static").rglob("*.js")
        if p.name not in shipped and not p.name.startswith("fontawesome")
    ]
    used = used_icon_classes(list(texts.values()), scripts)
    theme_css = outdir / THEME_CSS
    if theme_css.exists():
        css = theme_css.read_text(encoding="utf-8")
        trimmed = trim_icon_rules(css, used)
        if trimmed != css:
            theme_css.write_text(trimmed, encoding="utf-8")
    glyphs = set()
    for css_file in (outdir / "_static").rglob("*.css"):
        glyphs |= glyphs_in(css_file.read_text(encoding="utf-8", errors="replace"))
    fonts = outdir / WEBFONTS
    if fonts.is_dir() and glyphs:
        subset_fonts(fonts, glyphs)
    for unused in (outdir / "_static" / "scripts").glob("fontawesome.js*"):
        unused.unlink()

"""Changes to each page as Sphinx writes it (the ``html-page-context`` event).

* sphinx-thebe's scripts and stylesheet are dropped (they point at a CDN; the
  course launches notebooks through launch buttons instead);
* each chart's build-time SVG becomes a cached file shown with ``<img>``;
* pages with charts or widgets get one small deferred script,
  ``htcourse-interactive.js``, which loads vega (charts) or require.js and the
  widget manager (widgets) only when a reader scrolls to a chart or widget or
  interacts with it; until then the build-time SVG is what they see;
* pages Sphinx generates without a document (search, index) get the same
  description and Open Graph tags that sphinxext-opengraph gives every
  other page (it skips pages without a doctree).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from pathlib import Path

from sphinx.application import Sphinx

from htcourse import charts
from htcourse.sitebuild.vendor import VEGA_BUNDLE, VEGA_SHIM

INTERACTIVE_JS = "htcourse-interactive.js"  # ours, in book/_assets
#: The widget manager's files, in load order (copied by :mod:`htcourse.sitebuild.vendor`).
WIDGET_JS = ("require.js", "embed-amd.js")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _is_thebe(asset) -> bool:
    name = str(getattr(asset, "filename", "") or asset or "")
    body = (getattr(asset, "attributes", None) or {}).get("body", "")
    return "sphinx-thebe" in name or "THEBE_JS_URL" in body or "thebe@" in name


def _has_widgets(body: str, scripts) -> bool:
    if WIDGET_VIEW in body:
        return True
    return any((getattr(s, "attributes", None) or {}).get("type") == WIDGET_STATE for s in scripts or [])


STATIC_CHART = re.compile(
    r'<div class="htc-chart-view" role="img" aria-label="(?P<label>[^"]*)">(?P<svg><svg\b.*?</svg>)</div>', re.S
)
SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="(?P<w>[\d.]+)"[^>]*?\bheight="(?P<h>[\d.]+)"')


def externalise_static_charts(body: str, outdir: Path, pathto) -> str:
    """Move each chart's build-time SVG into ``_static/htc-charts/`` and show it with ``<img>``.

    The page then carries only the chart's spec; the picture arrives as a
    cached file and appears without script. Its width and height are set so
    the page does not shift when it arrives or when the live chart replaces it.
    """
    folder = outdir / "_static" / "htc-charts"

    def replace(match: re.Match) -> str:
        svg = match.group("svg")
        name = hashlib.sha256(svg.encode()).hexdigest()[:16] + ".svg"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if not target.exists():
            target.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + _with_svg_namespace(svg), encoding="utf-8")
        src = pathto(f"_static/htc-charts/{name}", 1)
        size = SVG_SIZE.search(svg)
        dims = f' width="{round(float(size["w"]))}" height="{round(float(size["h"]))}"' if size else ""
        return (
            f'<div class="htc-chart-view"><img class="htc-chart-static" src="{src}"{dims} '
            f'alt="{match.group("label")}" decoding="async" /></div>'
        )

    return STATIC_CHART.sub(replace, body)


def _with_svg_namespace(svg: str) -> str:
    if "xmlns=" in svg.split(">", 1)[0]:
        return svg
    return svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)


def fallback_social_metadata(app: Sphinx, context: dict) -> str:
    """Description and Open Graph tags for a page without a document (search, genindex)."""
    site = app.config.html_title or app.config.project
    title = re.sub(r"<[^>]+>", "", context.get("title") or site)
    tags = {
        ("name", "description"): f"{title}: {site}" if title != site else site,
        ("property", "og:title"): title,
        ("property", "og:description"): f"{title}: {site}" if title != site else site,
        ("property", "og:type"): app.config.ogp_type,
        ("property", "og:site_name"): site,
    }
    return "".join(
        f'<meta {attr}="{key}" content="{html_lib.escape(value, quote=True)}" />\n'
        for (attr, key), value in tags.items()
    )


def on_html_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts is not None:
        scripts[:] = [s for s in scripts if not _is_thebe(s)]
    styles = context.get("css_files")
    if styles is not None:
        styles[:] = [s for s in styles if not _is_thebe(s)]
    body = context.get("body", "")
    has_chart = charts.CHART_CLASS in body
    if has_chart and "pathto" in context:
        body = context["body"] = externalise_static_charts(body, Path(app.outdir), context["pathto"])
    if doctree is None:
        context["metatags"] = context.get("metatags", "") + fallback_social_metadata(app, context)
    widgets = _has_widgets(body, scripts)
    if has_chart or widgets:
        libraries = {}
        if has_chart:
            libraries["data-charts"] = f"{VEGA_SHIM} {VEGA_BUNDLE}"
        if widgets:
            libraries["data-widgets"] = " ".join(WIDGET_JS)
        app.add_js_file(INTERACTIVE_JS, priority=302, loading_method="defer", **libraries)

"""The course's Sphinx extension (``sphinx.extra_extensions`` in ``_config.yml``).

A site that works with no internet and stays light on phones and slow links:

* :mod:`~htcourse.sitebuild.vendor` ships vega, require.js and the widget
  manager with the site (no CDN);
* :mod:`~htcourse.sitebuild.pages` adjusts each page as it is written: charts
  as cached SVG files, and the chart and widget libraries loaded only when a
  reader reaches or uses a chart or widget;
* :mod:`~htcourse.sitebuild.lighten` trims the written site: no
  ``fontawesome.js``, subset icon fonts, the search index only on the search
  page, deferred head scripts, a few accessibility repairs;
* :mod:`~htcourse.sitebuild.bibstyle` is the bibliography style without the
  maintainers' ``note`` field;
* :mod:`~htcourse.sitebuild.psets` writes the problem-set page, links every
  mention of a problem set to it, and ships the student notebooks;
* the launch buttons are left out while ``repository.url`` is the
  placeholder, and named by what they do once it is set
  (:mod:`~htcourse.sitebuild.launch`).

Beside the extension: :mod:`~htcourse.sitebuild.reader` writes the printable
course reader and the offline zip (``make reader``), and
:mod:`~htcourse.sitebuild.serve` serves the built site with gzip, as GitHub
Pages does (``make bench`` and the page-weight tests use it).
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.console import colorize

from htcourse import charts, selfcheck
from htcourse.sitebuild import launch
from htcourse.sitebuild.bibstyle import register_bibliography_style
from htcourse.sitebuild.lighten import lighten_site
from htcourse.sitebuild.pages import on_html_page_context
from htcourse.sitebuild.vendor import VENDOR_DIR, build_vendor_assets

logger = logging.getLogger(__name__)


def _leave_out_launch_buttons_until_the_repository_is_set(config) -> None:
    """No Binder, Colab, JupyterHub or repository button while ``repository.url`` is the placeholder.

    They would all lead to a repository that does not exist. The build says so
    (as a notice, not a Sphinx warning, so that ``make book``'s ``-W`` still
    passes on a fresh clone).
    """
    options = config.html_theme_options
    if not launch.is_placeholder(options.get("repository_url")):
        return
    options["launch_buttons"] = {}
    options["use_repository_button"] = False
    logger.info(
        colorize(
            "red",
            (
                f"htcourse: launch buttons left out: repository.url in _config.yml is still {launch.PLACEHOLDER_URL}. "
                "Set it to your fork's address, run `make launch-cells`, and build again."
            ),
        )
    )


def relabel_launch_buttons(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Name each launch button by what it does ("Open in Colab"), after sphinx-book-theme adds them."""
    for group in context.get("header_buttons") or []:
        if group.get("label") != "launch-buttons":
            continue
        group["tooltip"] = "Run this notebook"
        for button in group.get("buttons", []):
            name = button.get("text")
            if name in launch.BUTTON_LABELS:
                button["text"] = launch.BUTTON_LABELS[name]
                button["tooltip"] = f"{launch.BUTTON_LABELS[name]} (opens in a new tab)"


def _on_config_inited(app: Sphinx, config) -> None:
    _leave_out_launch_buttons_until_the_repository_is_set(config)
    # Notebooks executed by this build render charts for the site (static SVG
    # plus a spec the page script makes interactive); see htcourse.charts.
    os.environ[charts.SITE_BUILD_ENV] = "1"
    # A worked solution that fails its own self-check stops the build (allow_errors is false)
    # rather than showing "not yet right" under a folded solution; see htcourse.selfcheck.
    os.environ[selfcheck.STRICT_ENV] = "1"
    # myst-nb would add require.js and the widget manager to every page with
    # widget state; htcourse-interactive.js loads them on demand instead.
    config.nb_ipywidgets_js = {}
    # Jupyter Book leaves pydata-sphinx-theme's default colour mode empty, which
    # the theme reports as a console error on every page before falling back
    # to "auto"; say "auto" (the same behaviour) so the console stays clean.
    # (pydata-sphinx-theme reads it from html_context.)
    config.html_context = {**config.html_context, "default_mode": config.html_context.get("default_mode") or "auto"}
    # sphinxext-opengraph names the site after Sphinx's `project`, which Jupyter
    # Book leaves unset ("Project name not set"); the book's title is the name.
    if not config.ogp_site_name:
        config.ogp_site_name = config.html_title or config.project
    # Sphinx checks static paths before builder-inited fills this folder.
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    static = list(config.html_static_path)
    if str(VENDOR_DIR) not in static and "book/_vendor" not in static:
        static.append(str(VENDOR_DIR))
    config.html_static_path = static


def _on_builder_inited(app: Sphinx) -> None:
    if app.builder.format == "html":
        build_vendor_assets()


def _on_build_finished(app: Sphinx, exception) -> None:
    if exception is None and app.builder.format == "html":
        lighten_site(Path(app.outdir))


def setup(app: Sphinx) -> dict:
    register_bibliography_style()
    app.setup_extension("sphinxext.opengraph")
    app.setup_extension("htcourse.sitebuild.psets")
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    # The notebooks Sphinx is about to read, executed side by side into myst-nb's cache (ahead.py).
    app.setup_extension("htcourse.sitebuild.ahead")
    app.connect("html-page-context", on_html_page_context)
    # Wide tables and charts show that they scroll sideways (every page: Markdown tables too).
    app.add_js_file("htcourse-scroll.js", priority=900, loading_method="defer")
    # After sphinx-book-theme's add_launch_buttons (priority 501).
    app.connect("html-page-context", relabel_launch_buttons, priority=600)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "3"}

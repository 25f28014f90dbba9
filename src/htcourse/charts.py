"""Charts for the course: Altair with accessible defaults, rendered for an offline site.

Call :func:`enable` once at the top of a notebook. Then every Altair chart
the notebook displays

* must carry a text description (``chart.properties(description=...)``), which
  becomes the chart's caption and its accessible name, so a screen-reader
  user gets the finding;
* must embed at most :data:`MAX_SPEC_BYTES` of data (aggregate before charting);
* in Jupyter, Colab or nbval, renders with Altair's HTML renderer;
* during the site build (``htcourse.sitebuild`` sets :data:`SITE_BUILD_ENV`), renders
  as a ``<figure class="htc-chart">`` holding a static SVG drawn at build time
  (visible at once, without script) and the chart's spec, which the page's
  script turns into an interactive chart with the vega libraries shipped with
  the site. No CDN is referenced.
"""

from __future__ import annotations

import hashlib
import html
import json
import os

import altair as alt
from altair.vegalite.v6.display import html_renderer

SITE_BUILD_ENV = "HTCOURSE_SITE_BUILD"
CHART_CLASS = "htc-chart"
RENDERER_NAME = "htcourse"
MAX_SPEC_BYTES = 300_000

#: Okabe–Ito colours: distinguishable with the common forms of colour blindness.
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow (use for fills only, never text)
    "#000000",
]


class ChartError(ValueError):
    """A chart breaks one of the course's chart rules."""


def _course_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "range": {"category": OKABE_ITO},
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": "#222", "titleColor": "#222"},
            "legend": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": "#222", "titleColor": "#222"},
            "title": {"fontSize": 15, "color": "#222", "anchor": "start"},
            "view": {"stroke": None},
        }
    }


def check_spec(spec: dict) -> str:
    """Return the spec's description, or raise :class:`ChartError` if it breaks a rule."""
    description = (spec.get("description") or "").strip()
    if not description:
        raise ChartError(
            "Every course chart needs a text description: add "
            ".properties(description='What the chart shows and its main finding.')"
        )
    size = len(json.dumps(spec))
    if size > MAX_SPEC_BYTES:
        raise ChartError(
            f"This chart embeds {size:,} bytes of data (limit {MAX_SPEC_BYTES:,}). "
            "Aggregate the data before charting so the chart holds only what it draws."
        )
    return description


def chart_html(spec: dict) -> str:
    """The site's HTML for one chart: static SVG, caption, and the spec as inert JSON."""
    import vl_convert as vlc

    description = check_spec(spec)
    spec_json = json.dumps(spec, sort_keys=True)
    chart_id = "htc-" + hashlib.sha256(spec_json.encode()).hexdigest()[:12]
    svg = vlc.vegalite_to_svg(spec, vl_version="v" + ".".join(alt.VEGALITE_VERSION.split(".")[:2]))
    # The spec sits in a JSON script block (never executed); escape "</" so it
    # cannot close the block early.
    safe_json = spec_json.replace("</", "<\\/")
    caption = html.escape(description)
    return (
        f'<figure class="{CHART_CLASS}" id="{chart_id}" aria-describedby="{chart_id}-desc">'
        f'<div class="htc-chart-view" role="img" aria-label="{caption}">{svg}</div>'
        f'<figcaption id="{chart_id}-desc" class="htc-chart-description">'
        f"<strong>Chart description:</strong> {caption}</figcaption>"
        f'<script type="application/json" class="htc-chart-spec">{safe_json}</script>'
        "</figure>"
    )


def _renderer(spec: dict, **metadata) -> dict:
    if os.environ.get(SITE_BUILD_ENV) == "1":
        return {"text/html": chart_html(spec)}
    check_spec(spec)
    # In a live Jupyter, Colab or VS Code session: Altair's HTML output, which
    # every front end displays. (Altair 6's own default bundle uses the
    # mimetype application/vnd.vegalite.v6.json, which nbformat rejects when
    # a notebook is saved after execution, e.g. by nbgrader or nbconvert.)
    return html_renderer(spec, **metadata)


def enable() -> None:
    """Use the course's chart theme and renderer in this notebook."""
    alt.theme.register("htcourse", enable=True)(_course_theme)
    alt.renderers.register(RENDERER_NAME, _renderer)
    alt.renderers.enable(RENDERER_NAME)

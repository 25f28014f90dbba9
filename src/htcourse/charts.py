"""Charts for the course: Altair with accessible defaults, rendered for an offline site.

Call :func:`enable` once at the top of a notebook. Then every Altair chart
the notebook displays

* must carry a text description (``chart.properties(description=...)``), which
  becomes the chart's caption and its accessible name, so a screen-reader
  user gets the finding;
* must embed at most :data:`MAX_SPEC_BYTES` of data (aggregate before charting);
* must read on a phone (:func:`phone_problems`): no text smaller than
  :data:`MIN_FONT_PX` (the site shows charts at their drawn size on a phone and
  lets a wide one scroll sideways, so drawn size is read size), no legend
  listed twice, no code names (``assistance_programme``) where a reader sees
  categories: :func:`human_label` turns a code into words;
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
import re

import altair as alt
from altair.vegalite.v6.display import html_renderer

SITE_BUILD_ENV = "HTCOURSE_SITE_BUILD"
CHART_CLASS = "htc-chart"
RENDERER_NAME = "htcourse"
MAX_SPEC_BYTES = 300_000
#: The smallest text a chart may draw, in pixels.
MIN_FONT_PX = 11
#: Channels that draw a legend.
LEGEND_CHANNELS = ("color", "fill", "stroke", "strokeDash", "shape", "size", "opacity")
#: Channels whose categories a reader sees as legend entries or axis labels.
LABELLED_CHANNELS = LEGEND_CHANNELS + ("x", "y", "row", "column", "facet")
CODE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
#: Words :func:`human_label` writes in capitals.
ACRONYMS = {"ngo": "NGO", "ilo": "ILO", "iom": "IOM", "un": "UN", "us": "US", "uk": "UK", "eu": "EU"}

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
            # facet headers (alt.Column, alt.Row, alt.Facet) default to 10 px: under MIN_FONT_PX
            "header": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": "#222", "titleColor": "#222"},
            "title": {"fontSize": 15, "color": "#222", "anchor": "start"},
            "view": {"stroke": None},
        }
    }


def human_label(code: str) -> str:
    """A code name as words: ``"ngo_case_management"`` -> ``"NGO case management"``."""
    words = str(code).replace("_", " ").split()
    words = [ACRONYMS.get(w.lower(), w) for w in words]
    if words and words[0] not in ACRONYMS.values():
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def count_phrase(n: float, singular: str, plural: str | None = None, *, none: str = "no") -> str:
    """``0 -> "no cases"``, ``1 -> "1 case"``, ``2 -> "2 cases"`` (for chart descriptions)."""
    if n == 0:
        return f"{none} {plural or singular + 's'}"
    shown = f"{n:,.0f}" if float(n).is_integer() else f"{n:,}"
    return f"{shown} {singular if n == 1 else plural or singular + 's'}"


def _views(spec: dict, data: dict | None = None):
    """Every (sub)view of a spec, with the data it draws (inherited from its parent when it has none)."""
    data = spec.get("data") or data or {}
    yield spec, data
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []) or []:
            yield from _views(sub, data)
    if isinstance(spec.get("spec"), dict):
        yield from _views(spec["spec"], data)


def _rows(spec: dict, data: dict) -> list:
    if "values" in data:
        return data["values"]
    return (spec.get("datasets") or {}).get(data.get("name"), [])


def phone_problems(spec: dict) -> list[str]:
    """What keeps a chart from reading on a phone: small text, a legend twice, code names."""
    problems = []
    for view, data in _views(spec):
        mark = view.get("mark")
        size = mark.get("fontSize") if isinstance(mark, dict) else None
        encoding = view.get("encoding") or {}
        if isinstance(size, (int, float)) and size < MIN_FONT_PX:
            problems.append(f"text drawn at {size}px: use at least {MIN_FONT_PX}px")
        by_field: dict = {}
        for channel in LEGEND_CHANNELS:
            enc = encoding.get(channel)
            if isinstance(enc, dict) and enc.get("field") and enc.get("legend", {}) is not None:
                by_field.setdefault(enc["field"], []).append((channel, enc))
        for field, uses in by_field.items():
            if len(uses) > 1 and any("sort" in enc for _, enc in uses):
                problems.append(
                    f"{' and '.join(c for c, _ in uses)} both show {field!r} with a sort, so Vega-Lite "
                    "draws two legends: give the order as scale=alt.Scale(domain=[...]) on each instead"
                )
        rows = _rows(spec, data)
        for channel in LABELLED_CHANNELS:
            enc = encoding.get(channel)
            if not (isinstance(enc, dict) and enc.get("field") and enc.get("type") in ("nominal", "ordinal")):
                continue
            codes = sorted(
                {
                    str(r.get(enc["field"]))
                    for r in rows
                    if isinstance(r, dict) and CODE_NAME.match(str(r.get(enc["field"], "")))
                }
            )
            if codes:
                problems.append(
                    f"{channel} shows code names {codes[:3]}: map them to words first "
                    "(e.g. df[col].map(charts.human_label))"
                )
    return problems


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
    problems = phone_problems(spec)
    if problems:
        raise ChartError("This chart would not read on a phone: " + "; ".join(problems))
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

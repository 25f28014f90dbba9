"""The built site: offline assets, no CDN, charts that render in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bs4 import BeautifulSoup

from browser import open_offline

# Attributes through which a page makes the browser fetch something.
FETCHING = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "audio": "src", "video": "src", "embed": "src", "object": "data"}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
CDN_HINT = re.compile(r"https?://(cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com)")


def built_pages(site_dir: Path) -> list[Path]:
    return sorted(p for p in site_dir.rglob("*.html") if "_static" not in p.parts)


def remote_references(html_text: str) -> list[str]:
    """Every script, stylesheet, font, image or frame the page loads from another host."""
    soup = BeautifulSoup(html_text, "html.parser")
    found = []
    for tag, attr in FETCHING.items():
        for el in soup.find_all(tag):
            if tag == "link" and not set(el.get("rel") or []) & {"stylesheet", "preload", "icon", "modulepreload", "prefetch", "manifest"}:
                continue
            value = el.get(attr)
            if value and urlparse(value).netloc:
                found.append(f"<{tag} {attr}={value}>")
    for style in soup.find_all("style"):
        found += [u for u in CSS_URL.findall(style.get_text()) if urlparse(u).netloc]
    for script in soup.find_all("script"):
        if not script.get("src"):
            found += CDN_HINT.findall(script.get_text())
    return found


def test_every_built_page_loads_nothing_from_another_host(site_dir):
    pages = built_pages(site_dir)
    assert len(pages) >= 10, f"expected the whole book, found {len(pages)} pages"
    offenders = {str(p.relative_to(site_dir)): refs for p in pages if (refs := remote_references(p.read_text(encoding="utf-8")))}
    assert not offenders, f"pages that load from another host: {offenders}"


def test_stylesheets_load_no_remote_fonts_or_images(site_dir):
    offenders = {}
    for css in (site_dir / "_static").rglob("*.css"):
        remote = [u for u in CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")) if urlparse(u).netloc]
        if remote:
            offenders[str(css.relative_to(site_dir))] = remote
    assert not offenders, offenders


def test_the_checker_catches_a_cdn_script():
    page = '<html><head><script src="https://cdn.jsdelivr.net/npm/vega@6"></script></head><body></body></html>'
    assert remote_references(page), "the offline check must flag a script from a CDN"
    assert not remote_references('<script src="_static/vega-bundle.js"></script>')


def test_vega_ships_with_the_site_and_matches_altair(site_dir):
    import json

    import altair as alt

    static = site_dir / "_static"
    bundle = static / "vega-bundle.js"
    assert bundle.stat().st_size > 100_000, "the vega bundle is missing or truncated"
    assert "window.vegaEmbed" in bundle.read_text(encoding="utf-8")
    shim = (static / "vega-shim.js").read_text(encoding="utf-8")
    versions = json.loads(shim.split("Object.assign(window.VEGA_DEBUG || {}, ")[1].rsplit(");", 1)[0])
    assert versions == {
        "vega_version": alt.VEGA_VERSION,
        "vegalite_version": alt.VEGALITE_VERSION,
        "vegaembed_version": alt.VEGAEMBED_VERSION,
    }
    for name in ("require.js", "embed-amd.js"):
        assert (static / name).stat().st_size > 10_000, f"{name} was not shipped"


def test_chart_libraries_load_only_on_chart_pages(site_dir):
    for page in built_pages(site_dir):
        text = page.read_text(encoding="utf-8")
        has_chart = 'class="htc-chart"' in text
        loads_vega = "vega-bundle.js" in text
        assert has_chart == loads_vega, f"{page.relative_to(site_dir)}: chart={has_chart}, vega loaded={loads_vega}"


def test_global_estimates_chart_renders_offline(browser, site_url):
    visit = open_offline(browser, f"{site_url}/book/modules/05-counting/global-estimates.html")
    page = visit.page
    page.wait_for_selector("figure.htc-chart.htc-chart-live .htc-chart-view svg", timeout=15_000)
    marks = page.locator("figure.htc-chart.htc-chart-live svg path, figure.htc-chart.htc-chart-live svg rect")
    assert marks.count() > 0, "the live chart drew nothing"
    caption = page.locator("figure.htc-chart figcaption").inner_text()
    assert "million" in caption
    assert visit.errors == [], visit.errors
    assert visit.blocked == [], f"requests to other hosts: {visit.blocked}"
    assert visit.failed == [], visit.failed
    page.context.close()


@pytest.fixture(scope="module")
def all_page_paths(site_dir):
    return [str(p.relative_to(site_dir)) for p in built_pages(site_dir) if p.name not in ("genindex.html",)]


def test_every_page_opens_offline_without_errors(browser, site_url, all_page_paths):
    problems = {}
    for rel in all_page_paths:
        visit = open_offline(browser, f"{site_url}/{rel}")
        visit.page.wait_for_timeout(100)
        if visit.errors or visit.blocked or visit.failed:
            problems[rel] = {"errors": visit.errors, "blocked": visit.blocked, "failed": visit.failed}
        visit.page.context.close()
    assert not problems, problems

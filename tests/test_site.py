"""The built site: offline assets, no CDN, charts that render in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser import built_pages, check_page, in_browsers, is_redirect, open_offline, page_paths
from bs4 import BeautifulSoup
from conftest import serve_directory

# Attributes through which a page makes the browser fetch something.
FETCHING = {
    "script": "src",
    "link": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "embed": "src",
    "object": "data",
}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
CDN_HINT = re.compile(
    r"https?://(cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com)"
)


def remote_references(html_text: str) -> list[str]:
    """Every script, stylesheet, font, image or frame the page loads from another host."""
    soup = BeautifulSoup(html_text, "html.parser")
    found = []
    for tag, attr in FETCHING.items():
        for el in soup.find_all(tag):
            if tag == "link" and not set(el.get("rel") or []) & {
                "stylesheet",
                "preload",
                "icon",
                "modulepreload",
                "prefetch",
                "manifest",
            }:
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
    offenders = {
        str(p.relative_to(site_dir)): refs for p in pages if (refs := remote_references(p.read_text(encoding="utf-8")))
    }
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
    for figure in page.locator("figure.htc-chart").all():  # charts go live when reached
        figure.scroll_into_view_if_needed()
    page.wait_for_selector("figure.htc-chart.htc-chart-live .htc-chart-view svg", timeout=15_000)
    marks = page.locator("figure.htc-chart.htc-chart-live svg path, figure.htc-chart.htc-chart-live svg rect")
    assert marks.count() > 0, "the live chart drew nothing"
    caption = page.locator("figure.htc-chart figcaption").inner_text()
    assert "million" in caption
    assert visit.errors == [], visit.errors
    assert visit.blocked == [], f"requests to other hosts: {visit.blocked}"
    assert visit.failed == [], visit.failed
    page.context.close()


def test_the_browser_checks_fail_a_broken_page(browser, tmp_path):
    """A page with an image without alt text and a chart script from a CDN fails the same checks."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><title>Broken</title>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@6"></script></head>'
        '<body><main><h1>Broken</h1><img src="chart.png"></main></body></html>',
        encoding="utf-8",
    )
    (tmp_path / "chart.png").write_bytes(b"")
    url, server = serve_directory(tmp_path)
    try:
        problems = check_page(browser, f"{url}/index.html")
    finally:
        server.shutdown()
    assert any("image-alt" in p for p in problems.get("axe", [])), problems
    assert any("cdn.jsdelivr.net" in u for u in problems.get("blocked", [])), problems
    assert remote_references((tmp_path / "index.html").read_text(encoding="utf-8"))


def test_keyboard_focus_reaches_main_content(browser, site_url):
    visit = open_offline(browser, f"{site_url}/book/intro.html")
    page = visit.page
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href') || ''")
    assert focused.endswith("#main-content"), f"the first Tab stop should skip to the main content, got {focused!r}"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    inside_main = page.evaluate(
        "() => { const m = document.querySelector('#main-content'); return !!m && m.contains(document.activeElement); }"
    )
    assert inside_main, "after the skip link, keyboard focus should move into the main content"
    page.context.close()


def test_search_finds_a_course_term(browser, site_url):
    visit = open_offline(browser, f"{site_url}/search.html?q=Palermo")
    page = visit.page
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    assert page.locator("#search-results ul.search li").count() >= 1
    assert visit.errors == [] and visit.blocked == []
    page.context.close()


def test_internal_links_and_anchors_resolve(site_dir, repo_root):
    import json
    import subprocess

    lychee = repo_root / ".venv" / "bin" / "lychee"
    result = subprocess.run(
        [
            str(lychee),
            "--offline",
            "--include-fragments",
            "--no-progress",
            "--format",
            "json",
            "--exclude-path",
            str(site_dir / "_static"),
            str(site_dir) + "/**/*.html",
        ],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    assert report["total"] > 100, "lychee checked suspiciously few links"
    assert report["errors"] == 0 and result.returncode == 0, report["error_map"]


def test_link_checker_catches_a_broken_anchor(tmp_path, repo_root):
    import subprocess

    (tmp_path / "a.html").write_text('<a href="b.html#missing">x</a><a href="nowhere.html">y</a>', encoding="utf-8")
    (tmp_path / "b.html").write_text('<h1 id="present">B</h1>', encoding="utf-8")
    result = subprocess.run(
        [
            str(repo_root / ".venv" / "bin" / "lychee"),
            "--offline",
            "--include-fragments",
            "--no-progress",
            str(tmp_path / "a.html"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_every_page_is_light(site_dir):
    heavy = {rel: size for rel in page_paths(site_dir) if (size := (site_dir / rel).stat().st_size) > 300_000}
    assert not heavy, f"pages over the 300 KB HTML budget: {heavy}"


def test_pages_have_titles_favicon_and_social_metadata(site_dir):
    for rel in page_paths(site_dir):
        if is_redirect(site_dir / rel):
            target = re.search(r'url=([^"]+)"', (site_dir / rel).read_text(encoding="utf-8")).group(1)
            assert (site_dir / rel).parent.joinpath(target).exists(), f"{rel} redirects to a missing page"
            continue
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        assert soup.html.get("lang") == "en", rel
        assert soup.title and soup.title.get_text(strip=True), f"{rel} has no <title>"
        assert soup.find("link", rel="icon"), f"{rel} has no favicon"
        for prop in ("og:title", "og:description", "og:type"):
            tag = soup.find("meta", property=prop)
            assert tag and tag.get("content"), f"{rel} lacks {prop}"
        assert soup.find("meta", attrs={"name": "description"}), f"{rel} lacks a meta description"
        site_name = soup.find("meta", property="og:site_name")
        assert site_name and "not set" not in site_name.get("content", ""), f"{rel}: og:site_name {site_name}"


def test_launch_buttons_point_at_existing_notebooks(site_dir, repo_root):
    """Every notebook page has a button per configured service, naming its own notebook, once a fork
    has set its address; none at all while the address is the placeholder."""
    import yaml

    from htcourse.sitebuild import launch

    config = yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))
    repo_url = config["repository"]["url"].rstrip("/")
    owner_repo = urlparse(repo_url).path.strip("/")
    notebook_pages = [rel for rel in page_paths(site_dir) if (repo_root / rel).with_suffix(".ipynb").exists()]
    assert notebook_pages, "no notebook pages were built"
    configured = {
        urlparse(config["launch_buttons"][key]).netloc
        for key in ("binderhub_url", "colab_url", "jupyterhub_url")
        if config["launch_buttons"].get(key)
    }
    expected_hosts = set() if launch.is_placeholder(repo_url) else configured
    for rel in notebook_pages:
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        links = [a["href"] for a in soup.select("a[href]") if urlparse(a["href"]).netloc in configured]
        hosts = {urlparse(link).netloc for link in links}
        assert hosts == expected_hosts, f"{rel}: launch buttons for {hosts}, expected {expected_hosts}"
        notebook = str(Path(rel).with_suffix(".ipynb"))
        for link in links:
            assert notebook in link, f"{rel}: launch link does not name its notebook: {link}"
            assert owner_repo.split("/")[-1] in link, f"{rel}: launch link does not name the repository: {link}"


def test_threshold_slider_changes_precision_offline(browser, site_url):
    """The screening lab's threshold chart works on the static site: no kernel, no network."""
    visit = open_offline(browser, f"{site_url}/book/modules/07-evaluation-accountability/lab-screening.html")
    page = visit.page
    for figure in page.locator("figure.htc-chart").all():  # charts go live when reached
        figure.scroll_into_view_if_needed()
    slider = page.locator("figure.htc-chart-live input[type=range]").first
    slider.wait_for(timeout=15_000)

    def precision_text() -> str:
        texts = page.locator("figure.htc-chart-live svg text").evaluate_all("(els) => els.map(e => e.textContent)")
        found = [t for t in texts if t.startswith("Precision")]
        assert found, f"no precision label among {texts[:20]}"
        return found[0]

    before = precision_text()
    slider.evaluate("(el) => { el.value = '0.9'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(
        "(old) => [...document.querySelectorAll('figure.htc-chart-live svg text')]"
        ".some(t => t.textContent.startsWith('Precision') && t.textContent !== old)",
        arg=before,
        timeout=10_000,
    )
    after = precision_text()
    assert after != before, f"moving the slider left the precision at {before!r}"
    assert visit.errors == [] and visit.blocked == [], (visit.errors, visit.blocked)
    page.context.close()


# --- Light pages (issue 19) -------------------------------------------------


def _built(site_dir: Path, rel: str) -> str:
    return (site_dir / rel).read_text(encoding="utf-8")


def test_no_page_loads_fontawesome_js_and_only_search_loads_the_index(site_dir):
    for rel in page_paths(site_dir):
        if is_redirect(site_dir / rel):
            continue
        soup = BeautifulSoup(_built(site_dir, rel), "html.parser")
        sources = [s.get("src", "") for s in soup.find_all("script")]
        assert not any("fontawesome" in src for src in sources), f"{rel} loads fontawesome.js"
        loads_index = any(src.endswith("searchindex.js") for src in sources)
        assert loads_index == (rel == "search.html"), f"{rel}: loads the search index = {loads_index}"
        blocking = [
            s["src"]
            for s in soup.head.find_all("script", src=True)
            if not (s.has_attr("defer") or s.has_attr("async") or s.get("type") == "module")
        ]
        assert not blocking, f"{rel} has render-blocking scripts: {blocking}"


def test_icon_fonts_are_subset_and_hold_every_icon_the_css_uses(site_dir):
    from fontTools.ttLib import TTFont

    from htcourse.sitebuild.lighten import glyphs_in

    wanted = set()
    for css in (site_dir / "_static").rglob("*.css"):
        wanted |= glyphs_in(css.read_text(encoding="utf-8", errors="replace"))
    assert 5 < len(wanted) < 200, f"{len(wanted)} icon glyphs named by the stylesheets"
    fonts = site_dir / "_static" / "vendor" / "fontawesome" / "webfonts"
    held = set()
    for woff2 in fonts.glob("*.woff2"):
        assert woff2.stat().st_size < 30_000, f"{woff2.name} is {woff2.stat().st_size} bytes: not subset"
        held |= set(TTFont(woff2).getBestCmap())
    solid = set(TTFont(fonts / "fa-solid-900.woff2").getBestCmap())
    # Every icon tag on the landing page has its glyph (solid is the theme's default style).
    soup = BeautifulSoup(_built(site_dir, "book/intro.html"), "html.parser")
    css = (site_dir / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    for icon in soup.select("i.fa-solid, i.fas"):
        name = next(c for c in icon["class"] if c.startswith("fa-") and c not in ("fa-solid", "fa-lg"))
        rule = re.search(r"\." + re.escape(name) + r':before[^{]*\{content:"\\([0-9a-f]+)"', css)
        assert rule, f"no glyph rule left for {name}"
        assert int(rule[1], 16) in solid, f"the subset solid font lacks {name}"
    assert wanted <= held | {c for c in wanted if c < 0xE000}, "glyphs the CSS names are missing from the fonts"


def test_one_search_box(browser, site_url):
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        visit = open_offline(browser, f"{site_url}/book/intro.html", viewport=viewport)
        page = visit.page
        controls = page.locator(".search-button, .search-button-field, input[type=search], form.bd-search")
        visible = [i for i in range(controls.count()) if controls.nth(i).is_visible()]
        assert len(visible) == 1, f"{viewport['width']}px wide: {len(visible)} search controls visible"
        # It still works from the keyboard: open it, type, submit, get results.
        controls.nth(visible[0]).focus()
        page.keyboard.press("Enter")
        page.locator("#pst-search-dialog input[type=search]").fill("Palermo")
        page.keyboard.press("Enter")
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        assert visit.errors == [] and visit.blocked == [], (visit.errors, visit.blocked)
        page.context.close()


def _lab_with_chart(site_dir: Path) -> str:
    from htcourse.bench.lighthouse import page_types

    return page_types(site_dir)["lab with charts"]


def test_lab_chart_is_visible_before_vega_loads_and_interactive_after(browser, site_url, site_dir):
    """The build-time picture shows with no chart script run; reaching the chart makes it live."""
    rel = _lab_with_chart(site_dir)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    held, released = [], []

    def hold_vega(route):
        if released:
            route.continue_()
        else:
            held.append(route)  # answered only later: until then no vega script can have run

    context.route("**/_static/vega-*.js*", hold_vega)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site_url}/{rel}", wait_until="load")
    figure = page.locator("figure.htc-chart").first
    figure.scroll_into_view_if_needed()
    picture = figure.locator("img.htc-chart-static")
    picture.wait_for(state="visible", timeout=10_000)
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle(), timeout=10_000
    )
    box = picture.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50, box
    assert page.evaluate("typeof window.vegaEmbed") == "undefined", "vega ran before it was released"
    assert figure.locator("figcaption").inner_text().strip(), "the chart has no text description"
    # Reaching the chart asked for vega; let it through and the chart goes live.
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "scrolling to the chart did not ask for the chart libraries"
    released.append(True)
    for route in held:
        route.continue_()
    figure.hover()
    page.wait_for_selector("figure.htc-chart.htc-chart-live .htc-chart-view svg", timeout=20_000)
    assert not figure.locator("img.htc-chart-static").count(), "the live chart did not replace the picture"
    assert errors == [], errors
    context.close()


def test_chart_libraries_wait_until_a_chart_is_reached(browser, site_url, site_dir):
    """On load, with no chart near the screen, no vega script is fetched; scrolling to one fetches it."""
    rel = _lab_with_chart(site_dir)
    context = browser.new_context(viewport={"width": 390, "height": 300})
    page = context.new_page()
    fetched = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(f"{site_url}/{rel}", wait_until="networkidle")
    first_top = page.evaluate("document.querySelector('figure.htc-chart').getBoundingClientRect().top")
    assert first_top > 300 + 200, f"the first chart of {rel} starts {first_top}px down: too close to test laziness"
    assert not [u for u in fetched if "vega-" in u], "vega was fetched before any chart was reached"
    page.locator("figure.htc-chart").first.scroll_into_view_if_needed()
    page.wait_for_selector("figure.htc-chart.htc-chart-live", timeout=20_000)
    assert [u for u in fetched if "vega-bundle.js" in u]
    context.close()


def _transferred(browser, base: str, rel: str) -> int:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    done = []
    page.on("requestfinished", lambda req: done.append(req))
    page.goto(f"{base}/{rel}", wait_until="networkidle")
    total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in done)
    context.close()
    return total


MODULE_BUDGET = 400 * 1024
LAB_BUDGET = 700 * 1024


def test_page_weight_budgets_with_gzip(site_dir):
    """Loading a module page transfers at most 400 KB, a lab page at most 700 KB (gzip, as GitHub Pages)."""
    from htcourse.sitebuild.serve import serve_gzip

    modules = [r for r in page_paths(site_dir) if r.startswith("book/modules/") and r.endswith("/index.html")]
    labs = [r for r in page_paths(site_dir) if Path(r).name.startswith("lab-")]
    assert modules and labs
    base, server = serve_gzip(site_dir)
    try:
        sizes = in_browsers(lambda browser, rel: _transferred(browser, base, rel), modules + labs)
    finally:
        server.shutdown()
    print({rel: f"{size / 1024:.0f} KB" for rel, size in sizes.items()})
    over = {
        rel: size
        for rel, size in sizes.items()
        if size > (LAB_BUDGET if Path(rel).name.startswith("lab-") else MODULE_BUDGET)
    }
    assert not over, f"pages over their transfer budget: {over}"
    assert all(size > 20_000 for size in sizes.values()), "suspiciously small transfers: was gzip measured?"


def test_gzip_server_compresses_like_github_pages(site_dir):
    import gzip
    import urllib.request

    from htcourse.sitebuild.serve import serve_gzip

    base, server = serve_gzip(site_dir)
    try:
        req = urllib.request.Request(f"{base}/book/intro.html", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            body = gzip.decompress(resp.read())
        with urllib.request.urlopen(f"{base}/book/intro.html") as resp:
            assert resp.headers.get("Content-Encoding") is None
            assert resp.read() == body == (site_dir / "book" / "intro.html").read_bytes()
    finally:
        server.shutdown()


def test_widgets_load_their_manager_only_when_reached(browser, site_dir, tmp_path):
    """A page with Jupyter widget state (as myst-nb writes it) gets require.js and the widget
    manager only when the widget is scrolled to; then the widget renders, offline."""
    import json
    import shutil

    import ipywidgets
    from ipywidgets.embed import embed_data

    from htcourse.sitebuild.pages import INTERACTIVE_JS, WIDGET_JS, WIDGET_STATE, WIDGET_VIEW

    for name in (INTERACTIVE_JS, *WIDGET_JS):
        shutil.copy(site_dir / "_static" / name, tmp_path / name)
    data = embed_data(views=[ipywidgets.IntSlider(value=3, description="Threshold")])
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><title>Widget</title>'
        f'<script type="{WIDGET_STATE}">{json.dumps(data["manager_state"])}</script>'
        f'<script defer src="{INTERACTIVE_JS}" data-widgets="{" ".join(WIDGET_JS)}"></script></head>'
        '<body><main><h1>Widget</h1><div style="height:3000px">Text</div>'
        f'<div class="cell_output"><script type="{WIDGET_VIEW}">{json.dumps(data["view_specs"][0])}</script></div>'
        "</main></body></html>",
        encoding="utf-8",
    )
    url, server = serve_directory(tmp_path)
    try:
        visit = open_offline(browser, f"{url}/index.html", viewport={"width": 800, "height": 600})
        page = visit.page
        fetched = []
        page.on("request", lambda req: fetched.append(req.url))
        page.wait_for_timeout(1000)
        assert page.evaluate("typeof window.requirejs") == "undefined", (
            "require.js loaded before the widget was reached"
        )
        page.locator(".cell_output").scroll_into_view_if_needed()
        page.wait_for_selector(".cell_output .widget-slider", timeout=20_000)
        assert any(u.endswith("embed-amd.js") for u in fetched)
        assert visit.errors == [] and visit.blocked == [], (visit.errors, visit.blocked)
        page.context.close()
    finally:
        server.shutdown()


# --- What users meet first (issue 31) ----------------------------------------

PHONE = {"width": 390, "height": 844}


def _visible(page, selector: str):
    found = [el for el in page.locator(selector).all() if el.is_visible()]
    assert len(found) == 1, f"{len(found)} visible {selector!r}"
    return found[0]


def _search_reachable(page) -> None:
    """The search button is on screen, nothing (a left-over tooltip) covers it, and it opens the search."""
    button = _visible(page, ".search-button, .search-button-field")
    box = button.bounding_box()
    centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
    try:  # a panel fading out may cover it for a moment; a tooltip left behind stays
        page.wait_for_function(
            "([x, y]) => { const el = document.elementFromPoint(x, y); "
            "return !!el && !!el.closest('.search-button, .search-button-field'); }",
            arg=centre,
            timeout=3_000,
        )
    except Exception:  # noqa: BLE001 - reported below with what covers it
        on_top = page.evaluate("([x, y]) => (document.elementFromPoint(x, y) || {}).outerHTML", centre)
        raise AssertionError(f"something covers the search button: {str(on_top)[:300]}") from None
    button.tap()
    page.locator("#pst-search-dialog input[type=search]").wait_for(state="visible", timeout=5_000)
    gap = page.evaluate("""() => { const f = document.querySelector('#pst-search-dialog form');
        const icon = f.querySelector('i').getBoundingClientRect(), box = f.querySelector('input');
        return box.getBoundingClientRect().x + parseFloat(getComputedStyle(box).paddingLeft) - icon.right; }""")
    assert gap >= 0, f"the search icon overlaps the typed text by {-gap:.0f} px"
    page.keyboard.press("Escape")
    page.locator("#pst-search-dialog input[type=search]").wait_for(state="hidden", timeout=5_000)


def test_phone_menus_open_and_close(browser, site_url):
    """At 390 x 844, the menu and "On this page" buttons each open their panel, which closes again;
    the search stays reachable (pydata/pydata-sphinx-theme#2451, worked around in sitebuild.lighten)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site_url}/book/modules/06-clean-data/lab-dirty-data.html", wait_until="load")
    for toggle, dialog, inside, beside in (
        (".primary-toggle", "#pst-primary-sidebar-modal", "a[href*='syllabus']", PHONE["width"] - 5),
        (".secondary-toggle", "#pst-secondary-sidebar-modal", "a[href^='#']", 5),
    ):
        for close in ("Escape", "backdrop"):
            _visible(page, toggle).tap()
            panel = page.locator(dialog)
            page.wait_for_function("(sel) => document.querySelector(sel).open", arg=dialog, timeout=5_000)
            links = panel.locator(inside)
            assert links.count() and links.first.is_visible(), f"{dialog} opened without its links"
            if close == "Escape":
                page.keyboard.press("Escape")
            else:  # a tap beside the panel, on the dimmed page
                page.mouse.click(beside, PHONE["height"] // 2)
            page.wait_for_function("(sel) => !document.querySelector(sel).open", arg=dialog, timeout=5_000)
            assert not panel.locator(inside).first.is_visible(), f"{dialog} closed but its links still show"
            _search_reachable(page)
    assert errors == [], errors
    context.close()


def test_desktop_sidebar_toggle_hides_the_sidebar(browser, site_url):
    visit = open_offline(browser, f"{site_url}/book/syllabus.html")
    page = visit.page
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    _visible(page, ".primary-toggle").click()
    page.wait_for_function(
        "() => !document.querySelector('#pst-primary-sidebar').checkVisibility({visibilityProperty: true})",
        timeout=5_000,
    )
    assert not page.evaluate("document.getElementById('pst-primary-sidebar-modal').open"), "it opened a pop-up instead"
    _visible(page, ".primary-toggle").click()
    page.wait_for_function(
        "() => document.querySelector('#pst-primary-sidebar').checkVisibility({visibilityProperty: true})",
        timeout=5_000,
    )
    page.context.close()


def test_hidden_sidebar_buttons_are_dropped_only_from_the_top_navbar():
    from htcourse.sitebuild.lighten import fix_sidebar_toggles

    page = (
        '<header id="pst-header">'
        '<button class="pst-navbar-icon sidebar-toggle primary-toggle" aria-label="Site navigation">'
        "<span></span></button>"
        '<button class="pst-navbar-icon sidebar-toggle secondary-toggle" aria-label="On this page">'
        '</button></header><div class="header-article-item"><button class="sidebar-toggle primary-toggle btn btn-sm">'
        '</button></div><button class="sidebar-toggle secondary-toggle btn btn-sm pst-navbar-icon"></button>'
    )
    fixed = fix_sidebar_toggles(page)
    assert fixed.count("primary-toggle") == 1 and fixed.count("secondary-toggle") == 1
    assert 'id="pst-header"></header>' in fixed
    assert fix_sidebar_toggles(fixed) == fixed


def test_no_launch_or_repository_buttons_while_the_repository_is_the_placeholder(site_dir, repo_root):
    import yaml

    from htcourse.sitebuild import launch

    config = yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))
    if not launch.is_placeholder(config["repository"]["url"]):
        pytest.skip("this fork has set its repository address (test_fork_launch_buttons covers it)")
    hosts = {urlparse(config["launch_buttons"][key]).netloc for key in ("binderhub_url", "colab_url")} | {"github.com"}
    for rel in page_paths(site_dir):
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        assert not soup.select(".dropdown-launch-buttons, .btn-source-repository-button"), f"{rel} has launch buttons"
        leads_nowhere = [
            a["href"]
            for a in soup.select("a[href]")
            if launch.PLACEHOLDER_URL.split("//")[1] in a["href"]
            or (urlparse(a["href"]).netloc in hosts and "example-org" in a["href"])
        ]
        assert not leads_nowhere, f"{rel} links to the placeholder repository: {leads_nowhere}"


def test_the_build_says_why_the_launch_buttons_are_left_out(caplog):
    from types import SimpleNamespace

    from htcourse.sitebuild import _leave_out_launch_buttons_until_the_repository_is_set as leave_out
    from htcourse.sitebuild import launch

    options = {
        "repository_url": launch.PLACEHOLDER_URL,
        "launch_buttons": {"colab_url": "https://colab.research.google.com"},
        "use_repository_button": True,
    }
    with caplog.at_level("INFO"):
        leave_out(SimpleNamespace(html_theme_options=options))
    assert options["launch_buttons"] == {} and options["use_repository_button"] is False
    assert "launch buttons left out" in caplog.text and "make launch-cells" in caplog.text
    fork = {"repository_url": "https://github.com/a-school/ht-course", "launch_buttons": {"colab_url": "x"}}
    caplog.clear()
    leave_out(SimpleNamespace(html_theme_options=fork))
    assert fork["launch_buttons"] == {"colab_url": "x"} and "left out" not in caplog.text


FORK = "https://github.com/a-school/ht-course"
FORK_HUB = "https://hub.a-school.example"
LAUNCH_PAGE = "book/modules/06-clean-data/lab-dirty-data"


@pytest.fixture(scope="module")
def fork_site(tmp_path_factory, repo_root):
    """A one-notebook book built with a fork's address and a hub address set (not executed)."""
    import shutil
    import subprocess

    import yaml

    book = tmp_path_factory.mktemp("fork")
    config = yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))
    config["repository"]["url"] = FORK
    config["launch_buttons"]["jupyterhub_url"] = FORK_HUB
    config["execute"] = {"execute_notebooks": "off"}
    config.pop("bibtex_bibfiles", None)
    config["sphinx"]["config"] = {
        key: value for key, value in config["sphinx"]["config"].items() if not key.startswith("bibtex")
    }
    config["sphinx"]["extra_extensions"] = ["htcourse.sitebuild"]
    config["sphinx"]["config"]["html_static_path"] = [str(repo_root / "book" / "_assets")]
    config["html"]["favicon"] = str(repo_root / "book" / "_assets" / "favicon.svg")
    (book / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (book / "_toc.yml").write_text(
        f"format: jb-book\nroot: index\nchapters:\n  - file: {LAUNCH_PAGE}\n", encoding="utf-8"
    )
    (book / "index.md").write_text("# A fork\n\nOne lab.\n", encoding="utf-8")
    target = book / f"{LAUNCH_PAGE}.ipynb"
    target.parent.mkdir(parents=True)
    shutil.copy(repo_root / f"{LAUNCH_PAGE}.ipynb", target)
    result = subprocess.run(
        [str(repo_root / ".venv" / "bin" / "jupyter-book"), "build", "--quiet", str(book)],
        capture_output=True,
        text=True,
        cwd=book,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "launch buttons left out" not in result.stdout + result.stderr
    return book / "_build" / "html"


def test_fork_launch_buttons_are_labelled_and_lead_to_the_notebook(fork_site, repo_root):
    from urllib.parse import parse_qs

    from htcourse.sitebuild import launch

    soup = BeautifulSoup((fork_site / f"{LAUNCH_PAGE}.html").read_text(encoding="utf-8"), "html.parser")
    menu = soup.select_one(".dropdown-launch-buttons")
    assert menu is not None, "no launch buttons on the notebook page"
    assert menu.select_one("button .htc-launch-label").get_text(strip=True) == "Run"
    buttons = {a.get_text(" ", strip=True): a["href"] for a in menu.select("a.dropdown-item")}
    assert set(buttons) == {"Open in Binder", "Open in Colab", "Open on the course hub"}, buttons
    notebook = f"{LAUNCH_PAGE}.ipynb"
    assert (repo_root / notebook).is_file()
    binder = urlparse(buttons["Open in Binder"])
    assert (binder.netloc, binder.path) == ("mybinder.org", "/v2/gh/a-school/ht-course/main")
    assert parse_qs(binder.query) == {"urlpath": [f"lab/tree/{notebook}"]}
    assert (
        buttons["Open in Colab"] == f"https://colab.research.google.com/github/a-school/ht-course/blob/main/{notebook}"
    )
    assert buttons["Open on the course hub"] == launch.nbgitpuller_link(FORK_HUB, FORK, "main", notebook)
    repo_button = soup.select_one("a.btn-source-repository-button")
    assert repo_button is not None and repo_button["href"] == FORK


def test_no_hub_button_without_a_hub_address(site_dir, repo_root):
    import yaml

    config = yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))
    if config["launch_buttons"].get("jupyterhub_url"):
        pytest.skip("a hub address is configured")
    for rel in page_paths(site_dir):
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        hub_links = [a["href"] for a in soup.select("a[href]") if "/hub/user-redirect/git-pull" in a["href"]]
        assert not hub_links and "Open on the course hub" not in soup.get_text(), rel


def test_every_problem_set_mention_links_to_its_section(site_dir):
    """Outside code blocks and headings, each mention of a problem set is a link to its section of the
    problem-set page, and that section exists."""
    from htcourse.sitebuild.psets import NAME, assignments

    names = set(assignments())
    page = BeautifulSoup(_built(site_dir, "book/problem-sets.html"), "html.parser")
    for name in names:
        section = page.find(id=name)
        assert section is not None, f"the problem-set page has no section {name}"
        text = section.get_text(" ", strip=True)
        assert "Points" in text and "Assignment List" in text, f"{name}: the section lacks its points or how to get it"
    checked, unlinked = 0, []
    for rel in page_paths(site_dir):
        if rel == "book/problem-sets.html" or is_redirect(site_dir / rel):
            continue
        soup = BeautifulSoup(_built(site_dir, rel), "html.parser")
        main = soup.select_one("article.bd-article") or soup.select_one("main")
        if main is None:
            continue
        for text in main.find_all(string=NAME):
            if text.find_parent(["pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style"]):
                continue
            for name in NAME.findall(text):
                if name not in names:
                    continue
                checked += 1
                link = text.find_parent("a")
                href = link.get("href", "") if link else ""
                if not href.endswith(f"problem-sets.html#{name}"):
                    code = text.find_parent("code")
                    if code is not None and code.get_text().strip() != name:
                        continue  # a command that names it (`make grade ASSIGNMENT=...`)
                    unlinked.append(f"{rel}: {name} -> {href or 'no link'}")
    assert checked > 30, f"only {checked} mentions found: is the check looking in the right place?"
    assert not unlinked, unlinked


def test_student_versions_ship_with_the_site_without_answers(site_dir):
    import nbformat

    from htcourse.sitebuild.psets import assignments

    for name in assignments():
        path = site_dir / "_static" / "problem-sets" / f"{name}.ipynb"
        assert path.is_file(), f"no student version of {name}"
        text = path.read_text(encoding="utf-8")
        assert "CANARY-" not in text and "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} has outputs"
        if name.startswith("ps"):
            visible = [
                c
                for c in nb.cells
                if c.cell_type == "code" and "assert" in c.source and c.metadata.get("nbgrader", {}).get("grade")
            ]
            assert visible, f"{name}: the student version lost its visible checks"


def _chart_pages(site_dir: Path) -> list[str]:
    return [rel for rel in page_paths(site_dir) if 'class="htc-chart"' in _built(site_dir, rel)]


def test_every_chart_on_the_site_passes_the_phone_rules(site_dir):
    """The specs the site embeds: no text under 11 px, no legend twice, no code names (htcourse.charts)."""
    import json

    from htcourse import charts

    found = 0
    for rel in _chart_pages(site_dir):
        soup = BeautifulSoup(_built(site_dir, rel), "html.parser")
        for node in soup.select("script.htc-chart-spec"):
            found += 1
            problems = charts.phone_problems(json.loads(node.string.replace("<\\/", "</")))
            assert not problems, f"{rel}: {problems}"
    assert found >= 10, f"only {found} charts found"


def test_charts_and_tables_read_at_phone_width(browser, site_url, site_dir):
    """At 390 px: each chart's static SVG is shown at the size it was drawn (so its text, at least 11 px
    there, stays at least 11 px) and scrolls sideways when wider than the screen; wide tables scroll
    sideways with a shadow on the side where more is hidden, and keep their row names in view."""
    import re

    small = []
    for rel in _chart_pages(site_dir):
        for img in BeautifulSoup(_built(site_dir, rel), "html.parser").select("img.htc-chart-static"):
            svg = (site_dir / rel).parent.joinpath(img["src"]).resolve().read_text(encoding="utf-8")
            sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)(?:px)?"', svg)]
            assert sizes, f"{rel}: no text found in {img['src']}"
            if min(sizes) < 11:
                small.append((rel, img["src"], min(sizes)))
    assert not small, f"chart text under 11 px as drawn: {small}"

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    rel = "book/modules/06-clean-data/lab-dirty-data.html"
    page.goto(f"{site_url}/{rel}", wait_until="load")
    shown = page.evaluate("""() => [...document.querySelectorAll('img.htc-chart-static')].map(img => {
        const box = img.closest('.htc-chart-view');
        return {drawn: img.naturalWidth, shown: img.getBoundingClientRect().width,
                scrolls: box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX === 'auto'};
    })""")
    assert shown, "no static chart on the dirty-data lab"
    for chart in shown:
        assert abs(chart["shown"] - chart["drawn"]) <= 1, (
            f"a chart drawn {chart['drawn']} px wide is shown at {chart['shown']} px"
        )
        assert chart["scrolls"] or chart["drawn"] <= PHONE["width"], chart
    tables = page.locator(".htc-scroll-frame > .output.text_html")
    assert tables.count() >= 3, "the lab's data tables are not in scroll frames"
    wide = page.evaluate("""() => [...document.querySelectorAll('.htc-scroll-frame > .output.text_html')]
        .filter(b => b.scrollWidth > b.clientWidth + 50).length""")
    assert wide >= 1, "no wide table to test on"
    box = (
        page.locator(".htc-scroll-frame > .output.text_html")
        .filter(has=page.locator("table.dataframe tbody th"))
        .nth(0)
    )
    box.scroll_into_view_if_needed()
    frame_class = lambda: box.evaluate("b => b.parentElement.className")  # noqa: E731
    after = lambda: box.evaluate("b => getComputedStyle(b.parentElement, '::after').opacity")  # noqa: E731
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    assert "htc-more-right" in frame_class() and after() == "1", "no cue that the table scrolls"
    row_name = box.locator("table.dataframe tbody th").first
    left_before = row_name.bounding_box()["x"]
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    page.wait_for_function("(b) => b.parentElement.classList.contains('htc-more-left')", arg=box.element_handle())
    assert "htc-more-right" not in frame_class(), "the cue stays after scrolling to the end"
    assert abs(row_name.bounding_box()["x"] - left_before) < 2, "the row names scrolled out of view"
    # A Markdown table on the syllabus scrolls in the same frame.
    page.goto(f"{site_url}/book/syllabus.html", wait_until="load")
    assert page.locator(".htc-scroll-frame > .pst-scrollable-table-container").count() >= 3
    context.close()


def test_search_finds_capture_recapture(browser, site_url):
    """The field's other name for multiple systems estimation finds it."""
    visit = open_offline(browser, f"{site_url}/search.html?q=capture+recapture")
    page = visit.page
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    assert page.locator("#search-results ul.search li a[href*='glossary']").count() >= 1
    page.context.close()

"""The built site: offline assets, no CDN, charts that render in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bs4 import BeautifulSoup

from browser import check_page, open_offline
from conftest import serve_directory

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


def page_paths(site_dir: Path) -> list[str]:
    return [str(p.relative_to(site_dir)) for p in built_pages(site_dir)]


def is_redirect(page: Path) -> bool:
    """Jupyter Book's root index.html only redirects (meta refresh) to the landing page."""
    return page.read_text(encoding="utf-8").startswith('<meta http-equiv="Refresh"')


def test_every_page_passes_the_browser_checks(browser, site_url, site_dir):
    """Visit every built page: no errors, no other hosts, charts live, no serious axe violation."""
    # A redirect page navigates away at once (its target is visited in its own right).
    paths = [rel for rel in page_paths(site_dir) if not is_redirect(site_dir / rel)]
    problems = {rel: found for rel in paths if (found := check_page(browser, f"{site_url}/{rel}"))}
    print(f"visited {len(paths)} pages; axe found no serious or critical violation on {len(paths) - len(problems)}")
    assert not problems, problems


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
        [str(lychee), "--offline", "--include-fragments", "--no-progress", "--format", "json",
         "--exclude-path", str(site_dir / "_static"), str(site_dir) + "/**/*.html"],
        capture_output=True, text=True,
    )
    report = json.loads(result.stdout)
    assert report["total"] > 100, "lychee checked suspiciously few links"
    assert report["errors"] == 0 and result.returncode == 0, report["error_map"]


def test_link_checker_catches_a_broken_anchor(tmp_path, repo_root):
    import subprocess

    (tmp_path / "a.html").write_text('<a href="b.html#missing">x</a><a href="nowhere.html">y</a>', encoding="utf-8")
    (tmp_path / "b.html").write_text('<h1 id="present">B</h1>', encoding="utf-8")
    result = subprocess.run(
        [str(repo_root / ".venv" / "bin" / "lychee"), "--offline", "--include-fragments", "--no-progress", str(tmp_path / "a.html")],
        capture_output=True, text=True,
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


def test_launch_buttons_point_at_existing_notebooks(site_dir, repo_root):
    import yaml

    config = yaml.safe_load((repo_root / "_config.yml").read_text(encoding="utf-8"))
    repo_url = config["repository"]["url"].rstrip("/")
    owner_repo = urlparse(repo_url).path.strip("/")
    notebook_pages = [rel for rel in page_paths(site_dir) if (repo_root / rel).with_suffix(".ipynb").exists()]
    assert notebook_pages, "no notebook pages were built"
    expected_hosts = {
        urlparse(config["launch_buttons"][key]).netloc
        for key in ("binderhub_url", "colab_url", "jupyterhub_url")
    }
    for rel in notebook_pages:
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        links = [a["href"] for a in soup.select("a[href]") if urlparse(a["href"]).netloc in expected_hosts]
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

"""Open a page in Chromium with every other host blocked, and record what went wrong."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Debian's chromium as every browser test starts it (never a downloaded browser): no background
#: connections, which this machine's closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """Debian's chromium, started by ``playwright`` (a sync_playwright instance)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class PageVisit:
    page: object
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def open_offline(browser, url: str, *, viewport=None) -> PageVisit:
    """Load ``url`` allowing only requests to its own host; collect errors and blocked requests."""
    host = urlparse(url).netloc
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    visit = PageVisit(page)

    def block(r):
        visit.blocked.append(r.request.url)
        r.abort()

    # Only requests to another host are routed here: a pattern is matched in Playwright's driver, so the
    # page's own requests never wait for this process (routing every request here cost about 1 s a page).
    own = re.escape(f"{urlparse(url).scheme}://{host}/")
    context.route(re.compile(rf"^(?!{own})(?!data:)(?!blob:)"), block)
    page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
    page.on(
        "requestfailed",
        lambda req: visit.failed.append(req.url) if urlparse(req.url).netloc == host else None,
    )
    page.on(
        "response",
        lambda resp: visit.failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None,
    )
    page.goto(url, wait_until="load")
    return visit


SERIOUS = ("serious", "critical")


def check_page(browser, url: str) -> dict:
    """Every browser check the site must pass on one page; returns the problems found (empty if none).

    Checks: no page errors; no request to another host; no failed request;
    every course chart becomes interactive once scrolled to; axe-core finds no serious or
    critical violation.
    """
    from axe_playwright_python.sync_playwright import Axe

    visit = open_offline(browser, url)
    page = visit.page
    problems: dict = {}
    charts = page.locator("figure.htc-chart")
    if charts.count():
        # Charts load their libraries when a reader reaches them: go to each.
        for i in range(charts.count()):
            charts.nth(i).scroll_into_view_if_needed()
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('figure.htc-chart')]"
                ".every(f => f.classList.contains('htc-chart-live') && f.querySelector('svg'))",
                timeout=15_000,
            )
        except Exception:  # noqa: BLE001 - reported as a problem below
            problems["charts"] = "not every chart became interactive"
    # Snapshot what the page itself did before axe runs: axe's own stylesheet
    # preload re-fetches @import rules against the page URL (e.g. /basic.css).
    page_errors, blocked, failed = list(visit.errors), list(visit.blocked), list(visit.failed)
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    if serious:
        problems["axe"] = serious
    if page_errors:
        problems["errors"] = page_errors
    if blocked:
        problems["blocked"] = blocked
    if failed:
        problems["failed"] = failed
    page.context.close()
    return problems


def in_browsers(visit: Callable[[object, str], object], items: list[str], browsers: int = 3) -> dict[str, object]:
    """``visit(browser, item)`` for every one of ``items``, in ``browsers`` browsers side by side; results by item.

    Most of a page's visit is Chromium working while this process waits: a few browsers at once finish
    the site in about half the time. Each runs in a thread of its own, with its own Playwright
    (Playwright's sync API belongs to the thread that started it).
    """
    from playwright.sync_api import sync_playwright

    def visit_share(share: list[str]) -> dict[str, object]:
        found = {}
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                for item in share:
                    found[item] = visit(browser, item)
            finally:
                browser.close()
        return found

    shares = [items[i::browsers] for i in range(browsers) if items[i::browsers]]
    results: dict[str, object] = {}
    with ThreadPoolExecutor(max_workers=len(shares) or 1) as pool:
        for found in pool.map(visit_share, shares):
            results.update(found)
    return results


def check_pages(urls: list[str], browsers: int = 3) -> dict[str, dict]:
    """:func:`check_page` on every one of ``urls`` (axe-core and the rest), side by side; the problems by URL."""
    return in_browsers(check_page, urls, browsers)


# --- the built site's pages -------------------------------------------------------


def built_pages(site_dir: Path) -> list[Path]:
    return sorted(p for p in site_dir.rglob("*.html") if "_static" not in p.parts)


def page_paths(site_dir: Path) -> list[str]:
    return [str(p.relative_to(site_dir)) for p in built_pages(site_dir)]


def is_redirect(page: Path) -> bool:
    """Jupyter Book's root index.html only redirects (meta refresh) to the landing page."""
    return page.read_text(encoding="utf-8").startswith('<meta http-equiv="Refresh"')

"""Open a page in Chromium with every other host blocked, and record what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse


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

    def route(r):
        target = urlparse(r.request.url)
        if target.scheme in ("data", "blob") or target.netloc == host:
            r.continue_()
        else:
            visit.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
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

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

"""Lighthouse figures for each kind of page, as ``make bench`` reports them.

Lighthouse 12 (npm, pinned in ``package.json``) runs against Debian's
chromium (``CHROME_PATH``) with its defaults: the mobile profile and
simulated throttling (slow 4G, a 4x slower CPU). The built site is served
with gzip as GitHub Pages serves it (:mod:`htcourse.sitebuild.serve`).

The pages are chosen from ``_toc.yml`` and the built HTML, not named, so the
benchmark follows the book as pages are added: the landing page (the toc's
root), the first module page, the first lab page with a chart, the first
datasheet, and the search page with a query.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from htcourse.paths import REPO_ROOT
from htcourse.sitebuild.serve import serve_gzip
from htcourse.sitebuild.toc import toc_pages

LIGHTHOUSE = REPO_ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices")
METRICS = {
    "first-contentful-paint": "fcp_ms",
    "largest-contentful-paint": "lcp_ms",
    "total-blocking-time": "tbt_ms",
    "cumulative-layout-shift": "cls",
    "speed-index": "speed_index_ms",
    "total-byte-weight": "transfer_bytes",
}
SEARCH_QUERY = "consent"


def page_types(site: Path) -> dict[str, str]:
    """Kind of page -> its URL path inside the built site."""
    pages = [p.html for p in toc_pages() if (site / p.html).exists()]
    if not pages:
        raise FileNotFoundError(f"No page of _toc.yml is built in {site}: run `make book` first.")

    def first(test, kind):
        for rel in pages:
            if test(rel):
                return rel
        raise LookupError(f"No {kind} page found among the built pages of _toc.yml.")

    def has_chart(rel):
        return 'class="htc-chart"' in (site / rel).read_text(encoding="utf-8")

    return {
        "landing": pages[0],
        "module": first(lambda r: r.startswith("book/modules/") and r.endswith("/index.html"), "module"),
        "lab with charts": first(lambda r: Path(r).name.startswith("lab-") and has_chart(r), "lab with charts"),
        "datasheet": first(lambda r: r.startswith("datasets/"), "datasheet"),
        "search": f"search.html?q={SEARCH_QUERY}",
    }


def run_lighthouse(url: str) -> dict:
    """One Lighthouse run on ``url``: category scores and the main metrics."""
    if not LIGHTHOUSE.exists():
        raise FileNotFoundError(f"{LIGHTHOUSE} is missing: run `make bench`, which installs it (npm ci --include=dev).")
    chromium = os.environ.get("CHROME_PATH") or os.environ.get("CHROMIUM", "/usr/bin/chromium")
    proc = subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--output=json",
            "--output-path=stdout",
            "--quiet",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CHROME_PATH": chromium},
        timeout=600,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"Lighthouse failed on {url}: {proc.stderr.strip()[-2000:]}")
    report = json.loads(proc.stdout)
    if report.get("runtimeError"):
        raise RuntimeError(f"Lighthouse could not load {url}: {report['runtimeError']}")
    result = {cat: report["categories"][cat]["score"] for cat in CATEGORIES}
    for audit, key in METRICS.items():
        value = report["audits"][audit].get("numericValue")
        result[key] = round(value, 3 if key == "cls" else None) if value is not None else None
    failing = [
        a
        for cat in ("accessibility", "best-practices")
        for a in report["categories"][cat]["auditRefs"]
        if a["weight"]
        and (report["audits"][a["id"]].get("score") is not None)
        and report["audits"][a["id"]]["score"] < 1
    ]
    result["failing_audits"] = sorted({a["id"] for a in failing})
    return result


def bench_lighthouse(site: Path) -> dict:
    """Lighthouse on each page type of the built ``site``; kind -> figures."""
    url, server = serve_gzip(site)
    try:
        return {kind: {"page": rel, **run_lighthouse(f"{url}/{rel}")} for kind, rel in page_types(site).items()}
    finally:
        server.shutdown()


def table_lines(results: dict) -> list[str]:
    head = (
        f"{'page type':<16} {'perf':>5} {'a11y':>5} {'bp':>5} "
        f"{'FCP s':>6} {'LCP s':>6} {'TBT ms':>7} {'CLS':>6} {'transfer KB':>12}"
    )
    lines = [head]
    for kind, r in results.items():
        lines.append(
            f"{kind:<16} {r['performance']:>5.2f} {r['accessibility']:>5.2f} {r['best-practices']:>5.2f} "
            f"{r['fcp_ms'] / 1000:>6.2f} {r['lcp_ms'] / 1000:>6.2f} {r['tbt_ms']:>7.0f} {r['cls']:>6.3f} "
            f"{r['transfer_bytes'] / 1024:>12.1f}"
        )
    for kind, r in results.items():
        lines.append(
            f"  {kind}: {r['page']}"
            + (f"  (audits below 1: {', '.join(r['failing_audits'])})" if r["failing_audits"] else "")
        )
    return lines


if __name__ == "__main__":  # python -m htcourse.bench.lighthouse [SITE]: only this part
    import sys

    site = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "_build" / "html"
    res = bench_lighthouse(site)
    print(json.dumps(res, indent=2))
    print("\n".join(table_lines(res)))

"""Build, notebook-execution and page-weight figures for ``make bench``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from htcourse.paths import REPO_ROOT

BIN = Path(sys.executable).parent


def _run(cmd: list[str], **kwargs) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
    )
    return time.perf_counter() - start


def bench_build(out: Path) -> dict:
    """Cold build, no-change rebuild and one-page rebuild of the whole book into ``out``."""
    build = [str(BIN / "jupyter-book"), "build", "-W", "-n", "--keep-going", "--path-output", str(out), "."]
    cold = _run(build)
    unchanged = _run(build)
    page = REPO_ROOT / "book" / "at-a-glance.md"
    stat = page.stat()
    try:
        os.utime(page, None)  # touch: new modification time, same content
        one_page = _run(build)
    finally:
        os.utime(page, (stat.st_atime, stat.st_mtime))
    return {
        "cold_build_s": round(cold, 2),
        "no_change_rebuild_s": round(unchanged, 2),
        "one_page_rebuild_s": round(one_page, 2),
        "no_change_ratio": round(unchanged / cold, 3),
        "one_page_ratio": round(one_page / cold, 3),
    }


def notebooks() -> list[Path]:
    found = sorted((REPO_ROOT / "book").rglob("*.ipynb"))
    found += sorted((REPO_ROOT / "assignments" / "source").rglob("*.ipynb"))
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def bench_notebooks() -> dict:
    """Seconds to execute each notebook top to bottom (kernel start included)."""
    import nbformat
    from nbclient import NotebookClient

    times = {}
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        times[str(path.relative_to(REPO_ROOT))] = round(time.perf_counter() - start, 2)
    return times


def bench_site_weight(site: Path) -> dict:
    """Per-page HTML bytes, and bytes transferred for the heaviest page in Chromium."""
    pages = {str(p.relative_to(site)): p.stat().st_size for p in site.rglob("*.html") if "_static" not in p.parts}
    heaviest = max(pages, key=pages.get)
    transfer = _transferred_bytes(site, heaviest)
    return {
        "page_html_bytes": dict(sorted(pages.items())),
        "largest_page": heaviest,
        "largest_page_html_bytes": pages[heaviest],
        "largest_page_transferred_bytes": transfer,
    }


def _transferred_bytes(site: Path, page: str) -> int | None:
    """Bytes Chromium transfers to load ``page`` (headers and gzip bodies), or None without chromium."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return None
    return page_transfer(site, page, chromium)["total"]


def page_transfer(site: Path, page: str, chromium: str = "/usr/bin/chromium") -> dict:
    """What loading ``page`` from ``site`` (served with gzip) transfers: total bytes and per URL.

    The page is loaded in a fresh browser (empty cache) until the network is
    idle; nothing is scrolled or clicked, so what loads only on interaction is
    not counted.
    """
    from playwright.sync_api import sync_playwright

    from htcourse.sitebuild.serve import serve_gzip

    url, server = serve_gzip(site)
    requests = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            pg = browser.new_page()
            pg.on("requestfinished", lambda req: requests.append(req))
            pg.goto(f"{url}/{page}", wait_until="networkidle")
            sizes = {}
            for req in requests:
                s = req.sizes()
                sizes[req.url.removeprefix(url + "/")] = s["responseBodySize"] + s["responseHeadersSize"]
            browser.close()
    finally:
        server.shutdown()
    return {"total": sum(sizes.values()), "by_url": sizes}


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

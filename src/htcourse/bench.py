"""Benchmark the course's real work: ``make bench`` (``python -m htcourse.bench``).

Prints one JSON document and a readable table, measured in one run on this
machine. Nothing here is a test: targets are reported, never asserted.

* site build: cold build of the full book (fresh output folder, no execution
  cache), a rebuild with no change, a rebuild after touching one page;
* notebook execution seconds, each notebook run top to bottom with nbclient;
* class grading (when the nbgrader course is present): see ``--students``;
* site weight: each page's own HTML bytes, and the bytes a browser transfers
  for the heaviest page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from htcourse.paths import REPO_ROOT

BIN = Path(sys.executable).parent


def _run(cmd: list[str], **kwargs) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
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
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
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
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return None
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    total = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            pg = browser.new_page()
            sizes = []
            def record(response):
                try:
                    sizes.append(len(response.body()))
                except Exception:  # noqa: BLE001 - redirects have no body
                    pass

            pg.on("response", record)
            pg.goto(f"http://127.0.0.1:{server.server_address[1]}/{page}", wait_until="networkidle")
            total = sum(sizes)
            browser.close()
    finally:
        server.shutdown()
    return total


def table(results: dict) -> str:
    lines = ["", "Benchmark (this machine, one run)", "-" * 60]
    for key, value in results.get("build", {}).items():
        lines.append(f"{key:<40} {value}")
    for name, seconds in results.get("notebooks", {}).items():
        lines.append(f"{'execute ' + name:<60.60} {seconds:>6} s")
    for key, value in results.get("grading", {}).items():
        lines.append(f"{key:<40} {value}")
    weight = results.get("site_weight", {})
    if weight:
        lines.append(f"{'largest page':<40} {weight['largest_page']}")
        lines.append(f"{'  its HTML bytes':<40} {weight['largest_page_html_bytes']:,}")
        if weight["largest_page_transferred_bytes"] is not None:
            lines.append(f"{'  bytes transferred to load it':<40} {weight['largest_page_transferred_bytes']:,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m htcourse.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--skip", action="append", default=[], choices=["build", "notebooks", "grading", "site"], help="leave out a part")
    parser.add_argument("--students", type=int, default=100, help="synthetic submissions for the grading benchmark")
    args = parser.parse_args(argv)

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="htcourse-bench-") as tmp:
        out = Path(tmp) / "book"
        if "build" not in args.skip:
            results["build"] = bench_build(out)
        if "notebooks" not in args.skip:
            results["notebooks"] = bench_notebooks()
        if "grading" not in args.skip:
            try:
                from htcourse.grading import bench as grading_bench
            except ImportError:
                results["grading"] = {"skipped": "the parallel class grader is not in this package yet"}
            else:
                results["grading"] = grading_bench.run(args.students, Path(tmp) / "grading")
        if "site" not in args.skip:
            site = out / "_build" / "html" if (out / "_build" / "html").exists() else REPO_ROOT / "_build" / "html"
            if not (site / "index.html").exists():
                shutil.rmtree(out, ignore_errors=True)
                _run([str(BIN / "jupyter-book"), "build", "--path-output", str(out), "."])
                site = out / "_build" / "html"
            results["site_weight"] = bench_site_weight(site)
    print(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m htcourse.bench``: run every benchmark, print JSON then a table."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from htcourse.bench import grading as grading_bench
from htcourse.bench import lighthouse
from htcourse.bench.build import BIN, _run, bench_build, bench_notebooks, bench_site_weight
from htcourse.paths import REPO_ROOT


def table(results: dict) -> str:
    lines = ["", "Benchmark (this machine, one run)", "-" * 60]
    for key, value in results.get("build", {}).items():
        lines.append(f"{key:<40} {value}")
    for name, seconds in results.get("notebooks", {}).items():
        lines.append(f"{'execute ' + name:<60.60} {seconds:>6} s")
    for key, value in results.get("grading", {}).items():
        if key != "stages":
            lines.append(f"{key:<40} {value}")
    if results.get("grading", {}).get("stages"):
        lines += ["", "Where a sandboxed notebook's grading time goes (htcourse.grading.stages)"]
        lines += grading_bench.stage_lines(results["grading"]["stages"])
    weight = results.get("site_weight", {})
    if weight:
        lines.append(f"{'largest page':<40} {weight['largest_page']}")
        lines.append(f"{'  its HTML bytes':<40} {weight['largest_page_html_bytes']:,}")
        if weight["largest_page_transferred_bytes"] is not None:
            lines.append(f"{'  bytes transferred to load it (gzip)':<40} {weight['largest_page_transferred_bytes']:,}")
    if results.get("lighthouse"):
        lines += ["", "Lighthouse 12, mobile, simulated throttling (noisy on a busy machine)"]
        lines += lighthouse.table_lines(results["lighthouse"])
    return "\n".join(lines)


def site_for_pages(out: Path) -> Path:
    """The site the page figures measure: this run's build, else the repository's, else a new build."""
    for site in (out / "_build" / "html", REPO_ROOT / "_build" / "html"):
        if (site / "index.html").exists():
            return site
    shutil.rmtree(out, ignore_errors=True)
    _run([str(BIN / "jupyter-book"), "build", "--path-output", str(out), "."])
    return out / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m htcourse.bench",
        description="Benchmark the course: build, notebooks, grading, page weight, Lighthouse.",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["build", "notebooks", "grading", "site", "lighthouse"],
        help="leave out a part",
    )
    parser.add_argument("--students", type=int, default=100, help="synthetic submissions for the grading benchmark")
    args = parser.parse_args(argv)

    if "grading" not in args.skip:
        from htcourse.grading.course import CourseError

        try:
            grading_bench.check_ready()  # before the build: minutes, then a failure, otherwise
        except CourseError as exc:
            print(f"python -m htcourse.bench: the grading benchmark cannot run: {exc}", file=sys.stderr)
            return 2
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="htcourse-bench-") as tmp:
        out = Path(tmp) / "book"
        if "build" not in args.skip:
            results["build"] = bench_build(out)
        if "notebooks" not in args.skip:
            results["notebooks"] = bench_notebooks()
        if "grading" not in args.skip:
            results["grading"] = grading_bench.run(args.students, Path(tmp) / "grading")
        if "site" not in args.skip:
            site = site_for_pages(out)
            results["site_weight"] = bench_site_weight(site)
        if "lighthouse" not in args.skip:
            results["lighthouse"] = lighthouse.bench_lighthouse(site_for_pages(out))
    print(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The course reader: the whole built site as one PDF, and the site as an offline zip.

``make reader`` (``python -m htcourse.sitebuild.reader``) prints every page of
``_toc.yml``, in order, with Debian's chromium (Playwright's print-to-PDF, no
browser download) and merges them with pypdf:

* a contents page whose entries link to their pages, and the same structure
  as PDF bookmarks;
* page numbers on every page;
* the pages in print style, without the site's navigation (``course.css``
  hides it in print), charts as the vector SVG drawn at build time with their
  text descriptions;
* links between course pages point inside the PDF; links to other parts of
  the local site that the reader does not hold are removed.

The PDF is written into the built site (``course-reader.pdf``) and the landing
page gets a link to it. ``make zip`` then packs the built site into
``_build/course-site.zip`` for reading offline.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import os
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from htcourse.paths import REPO_ROOT
from htcourse.sitebuild.serve import serve_gzip
from htcourse.sitebuild.toc import TocPage, toc_pages

SITE = REPO_ROOT / "_build" / "html"
READER_NAME = "course-reader.pdf"
ZIP_PATH = REPO_ROOT / "_build" / "course-site.zip"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Placeholder links in the contents page, turned into links to PDF pages after merging.
TOC_LINK = "https://reader.invalid/page/"
LINK_MARK = "htc-reader-link"
PDF_OPTIONS = {
    "format": "A4",
    "margin": {"top": "18mm", "bottom": "20mm", "left": "16mm", "right": "16mm"},
    "tagged": True,
}


class ReaderError(RuntimeError):
    """The reader cannot be made (site not built, browser missing, ...)."""


@dataclass
class PrintedPage:
    toc: TocPage
    title: str
    pdf: bytes
    first_page: int = 0  # index in the merged PDF
    page_count: int = 0


def _chromium() -> str:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        raise ReaderError(
            f"The reader needs Debian's chromium at {path} (`apt-get install chromium`, or set CHROMIUM)."
        )
    return path


#: Pages printed at once, each in a tab of its own (Chromium renders each tab in a process of its own).
#: The reader's 49 pages on 2 CPUs, the other busy: 44 s in one tab, 27 s in three, 22.5 s in four.
PRINT_TABS = 4


async def _print_page(tab, url: str) -> tuple[str, bytes]:
    await tab.goto(url, wait_until="load")
    await tab.emulate_media(media="print")
    # Lazy images (charts further down) must be loaded before printing.
    await tab.evaluate("""() => Promise.all([...document.images].map(img => {
        img.loading = 'eager';
        return img.complete ? null : new Promise(ok => { img.onload = img.onerror = ok; });
    }))""")
    title = await tab.evaluate("() => (document.querySelector('main h1') || {}).textContent || document.title")
    return re.sub(r"\s+", " ", title.replace("#", "")).strip(), await tab.pdf(**PDF_OPTIONS)


async def _markup_pdf(browser, markup: str, margin: bool = True) -> bytes:
    tab = await browser.new_page()
    await tab.set_content(markup, wait_until="load")
    options = PDF_OPTIONS if margin else {**PDF_OPTIONS, "margin": {k: "0" for k in PDF_OPTIONS["margin"]}}
    pdf = await tab.pdf(**options)
    await tab.close()
    return pdf


@dataclass
class PrintedReader:
    pages: list[PrintedPage]
    base: str  # the address the site was served at while printing
    contents: bytes  # the contents page(s)
    numbers: bytes  # one page per page of the reader, with its number at the foot


async def _print_reader(site: Path, pages: list[TocPage], book_title: str, tabs: int) -> PrintedReader:
    """Every page of ``pages`` (``tabs`` at once), then the contents and the page numbers, in one Chromium."""
    from playwright.async_api import async_playwright
    from pypdf import PdfReader

    base, server = serve_gzip(site)
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            context = await browser.new_context()
            # The reader is the static site: no other host, and no chart or widget library (the build-time
            # SVG is what gets printed). Only those requests reach Python, to be refused: the pattern is
            # matched in Playwright's driver.
            await context.route(
                re.compile(rf"^(?!{re.escape(base)}/)(?!data:)(?!blob:)|vega-"), lambda route: route.abort()
            )
            todo = list(enumerate(pages))
            printed: list[PrintedPage | None] = [None] * len(pages)

            async def one_tab():
                tab = await context.new_page()
                while todo:
                    i, toc = todo.pop(0)
                    title, pdf = await _print_page(tab, f"{base}/{toc.html}")
                    printed[i] = PrintedPage(toc, title, pdf)
                await tab.close()

            await asyncio.gather(*(one_tab() for _ in range(max(1, min(tabs, len(pages))))))
            done = [page for page in printed if page is not None]
            start = 0
            for page in done:
                page.page_count = len(PdfReader(io.BytesIO(page.pdf)).pages)
                page.first_page = start
                start += page.page_count
            # The contents page's own length decides the numbers it shows: print it twice.
            contents = await _markup_pdf(browser, _contents_html(book_title, done, 0))
            offset = len(PdfReader(io.BytesIO(contents)).pages)
            contents = await _markup_pdf(browser, _contents_html(book_title, done, offset))
            if len(PdfReader(io.BytesIO(contents)).pages) != offset:
                raise ReaderError("The contents page changed length between passes.")
            numbers = await _markup_pdf(browser, _numbers_html(offset + start), margin=False)
            await browser.close()
    finally:
        server.shutdown()
    return PrintedReader(done, base, contents, numbers)


def _contents_html(book_title: str, printed: list[PrintedPage], offset: int) -> str:
    rows, part = [], None
    for i, page in enumerate(printed):
        if page.toc.part != part and page.toc.part:
            part = page.toc.part
            rows.append(f'<li class="part">{html.escape(part)}</li>')
        number = page.first_page + offset + 1 if page.page_count else "?"
        rows.append(
            f'<li style="margin-left:{1.5 * page.toc.depth}em"><a href="{TOC_LINK}{i}">'
            f'<span class="t">{html.escape(page.title)}</span><span class="n">{number}</span></a></li>'
        )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Contents</title><style>
body {{ font-family: sans-serif; font-size: 11pt; color: #222; }}
h1 {{ font-size: 20pt; margin: 0 0 .3em; }} p.sub {{ color: #444; margin: 0 0 1.5em; }}
ol {{ list-style: none; padding: 0; margin: 0; }}
li {{ margin: .25em 0; break-inside: avoid; }} li.part {{ font-weight: bold; margin-top: 1em; }}
a {{ color: inherit; text-decoration: none; display: flex; gap: .5em; }}
a .t {{ flex: 1; border-bottom: 1px dotted #999; }}
</style></head><body><h1>{html.escape(book_title)}</h1>
<p class="sub">Course reader: every page of the course site, in order. Contents:</p>
<ol>{"".join(rows)}</ol></body></html>"""


def _numbers_html(count: int) -> str:
    """``count`` blank A4 pages, each with its number at the foot (merged over the reader's pages)."""
    pages = "".join(f'<div class="p"><span>{i}</span></div>' for i in range(1, count + 1))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "@page { size: A4; margin: 0; } html, body { margin: 0; }"
        ".p { height: 296.9mm; position: relative; break-after: page; }"
        ".p span { position: absolute; bottom: 9mm; width: 100%; text-align: center; "
        "font: 9pt sans-serif; color: #444; }"
        f"</style></head><body>{pages}</body></html>"
    )


def build_reader(site: Path = SITE, out: Path | None = None, tabs: int = PRINT_TABS) -> Path:
    """Write the course reader PDF for the built ``site`` (``tabs`` pages printed at once); returns its path."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import ArrayObject, NameObject

    pages = toc_pages()
    missing = [p.html for p in pages if not (site / p.html).exists()]
    if missing:
        raise ReaderError(
            f"The site in {site} lacks pages of _toc.yml ({', '.join(missing[:5])}): run `make book` first."
        )
    out = out or site / READER_NAME
    import yaml

    book_title = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8")).get("title", "Course reader")
    made = asyncio.run(_print_reader(site, pages, book_title, tabs))
    printed, base = made.pages, made.base
    contents = PdfReader(io.BytesIO(made.contents))
    offset = len(contents.pages)

    writer = PdfWriter()
    writer.append(contents)
    for page in printed:
        writer.append(PdfReader(io.BytesIO(page.pdf)))
    numbers = PdfReader(io.BytesIO(made.numbers))
    for i, pdf_page in enumerate(writer.pages):
        pdf_page.merge_page(numbers.pages[i])
        pdf_page.compress_content_streams(level=6)  # merging leaves them uncompressed (11 MB instead of 4.5)

    by_path = {page.toc.html: offset + page.first_page for page in printed}
    links = []  # (page index, rect, target page index)
    for i, pdf_page in enumerate(writer.pages):
        annots = pdf_page.get("/Annots")
        if not annots:
            continue
        kept = []
        for ref in annots:
            annot = ref.get_object()
            uri = (annot.get("/A") or {}).get("/URI")
            target = None
            if uri and str(uri).startswith(TOC_LINK):
                target = offset + printed[int(str(uri)[len(TOC_LINK) :])].first_page
            elif uri and str(uri).startswith(base):
                path = urlparse(str(uri)).path.lstrip("/")
                target = by_path.get(path)
                if target is None:
                    continue  # a part of the local site the reader does not hold
            if target is None:
                kept.append(ref)
            else:
                links.append((i, [float(x) for x in annot["/Rect"]], target))
        pdf_page[NameObject("/Annots")] = ArrayObject(kept)
    for i, rect, target in links:
        writer.add_annotation(page_number=i, annotation=Link(rect=rect, target_page_index=target))

    parents = {}
    for page in printed:
        parent = parents.get(page.toc.depth - 1) if page.toc.depth else None
        parents[page.toc.depth] = writer.add_outline_item(
            title=page.title, page_number=offset + page.first_page, parent=parent
        )
    writer.add_metadata({"/Title": f"{book_title}: course reader", "/Author": "The course authors (CC BY 4.0)"})
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        writer.write(fh)
    return out


def link_from_landing_page(site: Path, pdf: Path) -> None:
    """Add (or refresh) a link to the reader under the landing page's title."""
    from pypdf import PdfReader

    landing = site / toc_pages()[0].html
    text = landing.read_text(encoding="utf-8")
    text = re.sub(rf'<p class="{LINK_MARK}">.*?</p>\n?', "", text, flags=re.S)
    href = os.path.relpath(pdf, landing.parent).replace(os.sep, "/")
    size = pdf.stat().st_size / 1_000_000
    pages = len(PdfReader(pdf).pages)
    link = (
        f'<p class="{LINK_MARK}"><a href="{href}" download>Download the course reader</a>: '
        f"the whole course as one PDF to read offline or print ({pages} pages, {size:.1f} MB).</p>\n"
    )
    heading = re.search(r"</h1>\s*", text)
    if not heading:
        raise ReaderError(f"{landing} has no <h1> to put the reader link under.")
    landing.write_text(text[: heading.end()] + link + text[heading.end() :], encoding="utf-8")


def zip_site(site: Path = SITE, out: Path = ZIP_PATH) -> Path:
    """Pack the built site into a zip that opens offline (``index.html`` at its top folder)."""
    if not (site / "index.html").exists():
        raise ReaderError(f"No built site in {site}: run `make book` first.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(site.rglob("*")):
            if path.is_file() and not path.name.endswith(".map"):
                zf.write(path, Path("ht-course-site") / path.relative_to(site))
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m htcourse.sitebuild.reader", description="Write the course reader PDF, or the offline zip."
    )
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (default: _build/html)")
    parser.add_argument(
        "--out", type=Path, help=f"where to write the PDF (default: SITE/{READER_NAME}, linked from the landing page)"
    )
    parser.add_argument("--zip", action="store_true", help="write the offline zip of the site instead")
    args = parser.parse_args(argv)
    try:
        if args.zip:
            out = zip_site(args.site)
            print(f"Offline site: {out} ({out.stat().st_size / 1_000_000:.1f} MB)")
        else:
            out = build_reader(args.site, args.out)
            note = ""
            if out.resolve().is_relative_to(args.site.resolve()):  # only a reader inside the site is linked
                link_from_landing_page(args.site, out)
                note = ", linked from the landing page"
            print(f"Course reader: {out} ({out.stat().st_size / 1_000_000:.1f} MB){note}")
    except ReaderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

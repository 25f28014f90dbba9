"""The course reader (make reader): one PDF of every _toc.yml page, in order, readable and linked."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from htcourse.sitebuild import reader
from htcourse.sitebuild.toc import toc_pages


def _norm(text: str) -> str:
    # NFKC: the PDF's text has typographic ligatures ("ﬃ" for "ffi").
    return re.sub(r"\W+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


@pytest.fixture(scope="module")
def reader_pdf(site_dir, tmp_path_factory):
    """The reader as `make reader` makes it (`htcourse reader`, in its own process: the browser tests'
    Playwright session may be running in this one), written outside the site."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("reader") / "course-reader.pdf"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "htcourse"), "reader", "--site", str(site_dir), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "linked from the landing page" not in result.stdout, "a reader outside the site must not be linked"
    return out


def _texts(path: Path, first: int, stop: int) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages[first:stop]]


@pytest.fixture(scope="module")
def reader_pages(reader_pdf):
    """The reader opened once, with every page's extracted text (pypdf's extraction is the slow part: 15 s for
    the reader's 633 pages, so it is shared among three processes)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pypdf import PdfReader

    pdf = PdfReader(reader_pdf)
    step = -(-len(pdf.pages) // 3)
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        shares = pool.map(_texts, *zip(*[(reader_pdf, i, i + step) for i in range(0, len(pdf.pages), step)]))
        texts = [text for share in shares for text in share]
    assert len(texts) == len(pdf.pages)
    return pdf, texts


def _outline(pdf):
    """Flattened bookmarks: (title, page index), in order."""
    found = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((item.title, pdf.get_destination_page_number(item)))

    walk(pdf.outline)
    return found


def test_reader_has_every_toc_page_in_order_with_extractable_text(reader_pages, site_dir):
    pdf, texts = reader_pages
    pages = toc_pages()
    marks = _outline(pdf)
    assert len(marks) == len(pages), f"{len(marks)} bookmarks for {len(pages)} pages of _toc.yml"
    starts = [index for _, index in marks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), "pages are not in _toc.yml order"
    for toc, (title, index) in zip(pages, marks):
        soup = BeautifulSoup((site_dir / toc.html).read_text(encoding="utf-8"), "html.parser")
        h1 = soup.select_one("main h1") or soup.title
        expected = _norm(h1.get_text().replace("#", ""))
        assert _norm(title) == expected, f"bookmark {title!r} is not the title of {toc.html}"
        text = _norm(texts[index])
        assert expected[:40] in text, f"{toc.html}: its title is not on its first page ({index + 1})"
        # Text is extractable: the page's first real paragraph is in the PDF's text.
        para = next((p.get_text() for p in soup.select("main article p") if len(p.get_text()) > 60), "")
        if para:
            following = " ".join(_norm(texts[i]) for i in range(index, min(index + 3, len(texts))))
            assert _norm(para)[:40] in following, f"{toc.html}: its text is not extractable from the reader"


def test_reader_contents_links_page_numbers_and_no_site_links(reader_pages):
    pdf, texts = reader_pages
    marks = _outline(pdf)
    contents_pages = marks[0][1]
    assert contents_pages >= 1, "no contents page before the first course page"
    targets = []
    for page in pdf.pages[:contents_pages]:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Dest") is not None:
                targets.append(pdf._get_page_number_by_indirect(annot["/Dest"][0]))
            else:
                pytest.fail(f"a contents entry that is not a link inside the PDF: {annot}")
    assert targets == [index for _, index in marks], "the contents links do not lead to the pages in order"
    for number, (page, text) in enumerate(zip(pdf.pages, texts), start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert str(number) in lines, f"page {number} does not show its number"
        for ref in page.get("/Annots") or []:
            uri = str((ref.get_object().get("/A") or {}).get("/URI", ""))
            assert "127.0.0.1" not in uri and "reader.invalid" not in uri, f"page {number} links to {uri}"


def test_reader_charts_are_vectors_with_descriptions_and_no_navigation(reader_pages):
    pdf, texts = reader_pages
    chart_pages = [i for i, text in enumerate(texts) if "Chart description" in text]
    assert chart_pages, "no chart with its description in the reader"
    for i, page in enumerate(pdf.pages):
        xobjects = (page.get("/Resources") or {}).get("/XObject") or {}
        images = [k for k, v in xobjects.items() if v.get_object().get("/Subtype") == "/Image"]
        if i in chart_pages:
            assert not images, f"page {i + 1}: a chart printed as a raster image"
        text = texts[i]
        for chrome in ("Skip to main content", "Back to top", "Ctrl+K", "previous\nModule", "Search Ctrl"):
            assert chrome not in text, f"page {i + 1} shows site navigation: {chrome!r}"


def test_reader_link_on_the_landing_page_and_offline_zip(reader_pdf, site_dir, tmp_path):
    import zipfile

    site = tmp_path / "site"
    landing = toc_pages()[0].html
    (site / landing).parent.mkdir(parents=True)
    shutil.copy(site_dir / landing, site / landing)
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />', encoding="utf-8")
    pdf = shutil.copy(reader_pdf, site / reader.READER_NAME)
    reader.link_from_landing_page(site, Path(pdf))
    reader.link_from_landing_page(site, Path(pdf))  # twice: still one link
    soup = BeautifulSoup((site / landing).read_text(encoding="utf-8"), "html.parser")
    links = soup.select(f"p.{reader.LINK_MARK} a")
    assert len(links) == 1
    assert (site / landing).parent.joinpath(links[0]["href"]).resolve() == Path(pdf).resolve()
    archive = reader.zip_site(site, tmp_path / "site.zip")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "ht-course-site/index.html" in names and f"ht-course-site/{landing}" in names
    assert f"ht-course-site/{reader.READER_NAME}" in names


def test_reader_refuses_an_unbuilt_site(tmp_path):
    with pytest.raises(reader.ReaderError, match="make book"):
        reader.build_reader(tmp_path)
    with pytest.raises(reader.ReaderError, match="make book"):
        reader.zip_site(tmp_path, tmp_path / "x.zip")

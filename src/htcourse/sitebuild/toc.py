"""The book's pages in ``_toc.yml`` order (the reader and the benchmarks use it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from htcourse.paths import REPO_ROOT


@dataclass(frozen=True)
class TocPage:
    docname: str  # e.g. "book/modules/06-clean-data/index"
    depth: int  # 0 for the root and chapters, 1 for their sections, ...
    part: str | None  # the caption of the part it belongs to

    @property
    def html(self) -> str:
        return self.docname + ".html"


def toc_pages(toc_file: Path = REPO_ROOT / "_toc.yml") -> list[TocPage]:
    """Every page of the book, root first, then parts, chapters and sections in order."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError(f"{toc_file} has no 'root' entry: is it a Jupyter Book table of contents?")
    pages = [TocPage(_docname(toc["root"]), 0, None)]

    def walk(entries, depth, part):
        for entry in entries or []:
            if "file" in entry:
                pages.append(TocPage(_docname(entry["file"]), depth, part))
                walk(entry.get("sections"), depth + 1, part)
            elif "sections" in entry:  # a section group without a file of its own
                walk(entry["sections"], depth, part)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), 0, part.get("caption"))
    walk(toc.get("chapters"), 0, None)
    walk(toc.get("sections"), 1, None)
    return pages


def _docname(file: str) -> str:
    for suffix in (".md", ".ipynb", ".rst"):
        if file.endswith(suffix):
            return file[: -len(suffix)]
    return file

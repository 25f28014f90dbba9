"""Reading the book's Markdown pages in the content tests: one page's sections by heading."""

from __future__ import annotations

import re


def sections(markdown: str, level: int = 2) -> dict[str, str]:
    """Sections of a page at one heading level (2 is ``##``), by heading text; each holds the text up to the next."""
    marks = "#" * level
    parts = re.split(rf"^{marks} +(.+?)\s*$", markdown, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}

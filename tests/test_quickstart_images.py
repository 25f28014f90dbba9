"""The quick start's screenshots: every image it references exists, has alt text and stays small.

No browser and no build: the screenshots are committed files, read as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = REPO_ROOT / "book" / "instructors" / "quickstart.md"
MAX_BYTES = 150 * 1024  # each screenshot under about 150 KB
MAX_WIDTH = 1000  # pixels; shrunk before they are committed

# MyST's image and figure directives (```{image} path``` with ":alt: text"), and Markdown images.
DIRECTIVE = re.compile(r"^```\{(?:image|figure)\}\s+(\S+)\s*\n((?::[^\n]*\n)*)", re.M)
MARKDOWN = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def references(text: str) -> list[tuple[str, str]]:
    """(path, alt text) for every image the page references."""
    found = []
    for match in DIRECTIVE.finditer(text):
        options = dict(
            (line[1:].split(":", 1)[0].strip(), line[1:].split(":", 1)[1].strip())
            for line in match.group(2).splitlines()
            if ":" in line[1:]
        )
        found.append((match.group(1), options.get("alt", "")))
    found += [(path, alt) for alt, path in MARKDOWN.findall(text)]
    return found


def test_the_parser_finds_both_forms_and_missing_alt_text():
    text = "```{image} images/a.png\n:alt: A page\n:width: 80%\n```\n\n![](images/b.png) ![B](c.png)\n"
    assert references(text) == [("images/a.png", "A page"), ("images/b.png", ""), ("c.png", "B")]


IMAGES = references(QUICKSTART.read_text(encoding="utf-8"))


def test_the_quick_start_has_screenshots():
    assert len(IMAGES) >= 3


@pytest.mark.parametrize(("path", "alt"), IMAGES, ids=[p for p, _ in IMAGES])
def test_each_screenshot_exists_is_described_and_small(path, alt):
    assert not re.match(r"[a-z]+://", path), f"{path}: a screenshot is a file in the repository"
    file = (QUICKSTART.parent / path).resolve()
    assert file.is_file(), f"{path} does not exist"
    assert file.is_relative_to(QUICKSTART.parent / "images"), f"{path}: keep screenshots in book/instructors/images/"
    assert len(alt.split()) >= 6, f"{path}: the alt text should describe what the screenshot shows"
    assert "#" not in alt, f"{path}: MyST reads '#' in a directive option as a comment (the build fails)"
    assert file.stat().st_size <= MAX_BYTES, f"{path} is {file.stat().st_size} bytes"
    with Image.open(file) as image:
        assert image.format == "PNG"
        assert image.width <= MAX_WIDTH, f"{path} is {image.width} px wide"

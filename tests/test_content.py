"""Course content: every module has the required parts, and every citation is verified and used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_pages import sections

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
MODULES = sorted((BOOK / "modules").glob("[0-9][0-9]-*/index.md"))
REQUIRED_SECTIONS = [
    "Content note",
    "Learning objectives",
    "Overview",
    "Expert readings",
    "Non-expert voices",
    "Art and writing prompts",
    "Discussion questions",
    "Activity",
]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
TERM = re.compile(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`")
MEASURABLE_VERBS = {
    "analyse",
    "analyze",
    "apply",
    "argue",
    "assess",
    "calculate",
    "compare",
    "contrast",
    "critique",
    "define",
    "describe",
    "design",
    "detect",
    "distinguish",
    "estimate",
    "evaluate",
    "explain",
    "identify",
    "interpret",
    "justify",
    "locate",
    "map",
    "measure",
    "outline",
    "propose",
    "read",
    "recognise",
    "recognize",
    "reflect",
    "state",
    "summarise",
    "summarize",
    "trace",
    "use",
    "weigh",
    "write",
}


def list_items(text: str, numbered: bool) -> list[str]:
    pattern = r"^\d+\.\s+(.+)$" if numbered else r"^[-*]\s+(.+)$"
    return re.findall(pattern, text, flags=re.M)


def bib_entries() -> dict[str, str]:
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    entries = {}
    for match in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", text, flags=re.S):
        entries[match.group(1).strip()] = match.group(2)
    return entries


def cited_keys() -> set[str]:
    keys = set()
    for path in list(BOOK.rglob("*.md")) + list(BOOK.rglob("*.ipynb")) + list((REPO_ROOT / "datasets").glob("*.md")):
        for group in CITE.findall(path.read_text(encoding="utf-8")):
            keys.update(k.strip() for k in group.split(","))
    return keys


def test_there_are_ten_modules():
    assert [p.parent.name[:2] for p in MODULES] == [f"{i:02d}" for i in range(1, 11)]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.parent.name)
def test_module_page_has_every_required_part(path: Path):
    text = path.read_text(encoding="utf-8")
    found = sections(text)
    missing = [s for s in REQUIRED_SECTIONS if s not in found]
    assert not missing, f"{path.parent.name} lacks sections: {missing}"
    order = [s for s in found if s in REQUIRED_SECTIONS]
    assert order == REQUIRED_SECTIONS, f"sections out of order: {order}"

    note = found["Content note"].strip()
    assert 20 <= len(note) <= 600, "the content note should be one or two sentences"

    objectives = list_items(found["Learning objectives"], numbered=False)
    assert 3 <= len(objectives) <= 5, f"{len(objectives)} learning objectives (want 3-5)"
    for objective in objectives:
        first = re.sub(r"[^a-z]", "", objective.split()[0].lower())
        assert first in MEASURABLE_VERBS, f"objective does not start with a measurable verb: {objective!r}"

    words = len(re.findall(r"\w+", CITE.sub("", found["Overview"])))
    assert 600 <= words <= 1600, f"overview has {words} words (want 600-1,500)"

    readings = list_items(found["Expert readings"], numbered=False)
    with_cite = [r for r in readings if CITE.search(r)]
    assert 3 <= len(with_cite) <= 6, f"{len(with_cite)} expert readings with a citation (want 3-6)"

    prompts = list_items(found["Art and writing prompts"], numbered=True)
    assert len(prompts) >= 2, f"{len(prompts)} art/writing prompts (want at least 2)"
    assert found["Art and writing prompts"].count("A strong response") >= len(prompts)

    questions = list_items(found["Discussion questions"], numbered=True)
    assert 4 <= len(questions) <= 6, f"{len(questions)} discussion questions (want 4-6)"
    assert re.search(
        r"disagree|less convincing|(do not|don't) (hold|share|agree)", found["Discussion questions"], flags=re.I
    ), "no question asks students to argue a position they disagree with"

    assert len(found["Activity"].split()) >= 40, "the activity section is too thin to teach from"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.parent.name)
def test_module_links_glossary_terms(path: Path):
    assert TERM.search(path.read_text(encoding="utf-8")), "link at least the first use of a glossary term"


def test_every_image_has_alt_text():
    missing = []
    for path in BOOK.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        missing += [f"{path.name}: {m}" for m in re.findall(r"!\[\s*\]\([^)]*\)", text)]
        for block in re.findall(r"```\{(?:image|figure)\}[^\n]*\n(.*?)```", text, flags=re.S):
            if ":alt:" not in block:
                missing.append(f"{path.name}: image without :alt:")
        missing += [f"{path.name}: <img> without alt" for tag in re.findall(r"<img\b[^>]*>", text) if "alt=" not in tag]
    assert not missing, missing


def test_every_bib_entry_records_its_verification_and_is_cited():
    entries = bib_entries()
    assert len(entries) >= 30
    unverified = [k for k, body in entries.items() if not re.search(r"note\s*=\s*\{Verified:", body)]
    assert not unverified, f"entries without a 'Verified:' note: {unverified}"
    uncited = sorted(set(entries) - cited_keys())
    assert not uncited, f"bib entries never cited: {uncited}"


def test_every_citation_is_in_the_verified_bibliography():
    unknown = sorted(cited_keys() - set(bib_entries()))
    assert not unknown, f"cited but not in book/references.bib: {unknown}"


def test_designing_responsibly_maps_all_ten_points():
    text = (BOOK / "designing-responsibly.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\|\s*\d+\s*\|", line)]
    assert [int(re.match(r"^\|\s*(\d+)", r).group(1)) for r in rows] == list(range(1, 11))
    for row in rows:
        links = re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", row)
        assert links, f"row has no module link: {row}"
        for link in links:
            target = (REPO_ROOT / link.lstrip("/")) if link.startswith("/") else (BOOK / link)
            assert target.with_suffix(".md").exists() or target.with_suffix(".ipynb").exists(), f"broken link {link}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) >= 4 and cells[3], f"row names no assessment: {row}"


def test_content_checks_catch_a_bad_module(tmp_path):
    """The section checks above can fail: a page missing parts is reported."""
    bad = "# Module X\n\n## Content note\nShort.\n\n## Overview\nToo short.\n"
    found = sections(bad)
    assert [s for s in REQUIRED_SECTIONS if s not in found] != []
    assert len(list_items("1. one\n2. two\n", numbered=True)) == 2

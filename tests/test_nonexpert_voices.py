"""The "Non-expert voices" strand: contemporary works, lived experience, range, and prompts that use them.

Each module's non-expert section must cite at least two works from 1990 onward; no work may appear
in the non-expert sections of more than two modules; every such work needs a bib entry with a URL;
at least a third of the works are by people who write from lived experience (marked
``keywords = {lived-experience}`` in ``book/references.bib``, with the source in its ``note``);
historical works stay out of the modules where history is not the subject; the art prompts name
works on their own page; and the six problem sets' prose-or-art prompts are not near-clones and
each has its own rubric.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from pybtex.database import BibliographyData, Entry, parse_file, parse_string

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
MODULES = sorted((BOOK / "modules").glob("[0-9][0-9]-*/index.md"))
HISTORY_MODULE = "10-representation-art"
PROBLEM_SETS = [
    "ps4-dirty-data",
    "ps3-counting",
    "ps5-evaluation",
    "ps6-trends",
    "ps2-image-matching",
    "ps1-linking",
]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def bibliography() -> BibliographyData:
    return parse_file(str(BOOK / "references.bib"), bib_format="bibtex")


def section(markdown: str, heading: str) -> str:
    """The body of one level-2 section (empty if the page has none)."""
    match = re.search(r"^## " + re.escape(heading) + r"\s*\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    return match.group(1) if match else ""


def cited(text: str) -> list[str]:
    keys = []
    for group in CITE.findall(text):
        keys += [k.strip() for k in group.split(",")]
    return list(dict.fromkeys(keys))


def year(entry: Entry) -> int:
    return int(re.match(r"\d{4}", entry.fields.get("year", "0")).group(0))


def nonexpert_keys(markdown: str) -> list[str]:
    return cited(section(markdown, "Non-expert voices"))


def contemporary(keys: list[str], bib: BibliographyData) -> list[str]:
    return [k for k in keys if k in bib.entries and year(bib.entries[k]) >= 1990]


def overused(pages: dict[str, list[str]], limit: int = 2) -> dict[str, list[str]]:
    """Works cited in the non-expert sections of more than ``limit`` pages."""
    where = defaultdict(list)
    for page, keys in pages.items():
        for key in keys:
            where[key].append(page)
    return {k: v for k, v in where.items() if len(v) > limit}


def lived_experience(entry: Entry) -> bool:
    return "lived-experience" in [k.strip() for k in entry.fields.get("keywords", "").split(",")]


def names_for(entry: Entry) -> set[str]:
    """How a prompt can refer to a work: its first author's or editor's surname, or its short title."""
    names = set()
    for role in ("author", "editor"):
        for person in entry.persons.get(role, [])[:1]:
            surname = " ".join(person.last_names) or " ".join(person.first_names)
            names.add(re.sub(r"[{}]|\\.\{?(\w)\}?", r"\1", surname))
    title = re.split(r"[:(]", entry.fields["title"])[0]
    names.add(re.sub(r"[{}]", "", title).strip().removeprefix("The ").strip())
    return {n.lower() for n in names if len(n) >= 3}


def mentions_a_work(prompts: str, keys: list[str], bib: BibliographyData) -> bool:
    text = prompts.lower()
    return any(name in text for key in keys for name in names_for(bib.entries[key]))


def pages() -> dict[str, str]:
    return {p.parent.name: p.read_text(encoding="utf-8") for p in MODULES}


# --- the course's pages -------------------------------------------------------------------------


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.parent.name)
def test_each_module_cites_two_works_from_1990_on(path: Path):
    bib = bibliography()
    keys = nonexpert_keys(path.read_text(encoding="utf-8"))
    recent = contemporary(keys, bib)
    assert len(recent) >= 2, f"{path.parent.name}: non-expert works from 1990 on: {recent}"


def test_no_work_is_in_more_than_two_non_expert_sections():
    found = {name: nonexpert_keys(text) for name, text in pages().items()}
    assert not overused(found), overused(found)


def test_every_non_expert_work_has_a_bib_entry_with_a_url():
    bib = bibliography()
    missing, no_url = [], []
    for name, text in pages().items():
        for key in nonexpert_keys(text):
            if key not in bib.entries:
                missing.append(f"{name}: {key}")
            elif not bib.entries[key].fields.get("url", "").startswith(("http://", "https://")):
                no_url.append(f"{name}: {key}")
    assert not missing, f"no bib entry: {missing}"
    assert not no_url, f"bib entry without a URL: {no_url}"


def test_lived_experience_is_marked_with_its_source_and_is_at_least_a_third():
    bib = bibliography()
    works = sorted({k for text in pages().values() for k in nonexpert_keys(text)})
    lived = [k for k in works if lived_experience(bib.entries[k])]
    for key in lived:  # the claim must say where it comes from
        assert "Verified:" in bib.entries[key].fields["note"], key
    recent = [k for k in works if year(bib.entries[k]) >= 1990]
    recent_lived = [k for k in recent if k in lived]
    assert 3 * len(lived) >= len(works), f"{len(lived)} of {len(works)} works by authors with lived experience"
    assert 3 * len(recent_lived) >= len(recent), f"{len(recent_lived)} of {len(recent)} contemporary works"


def test_historical_works_stay_where_history_is_the_subject():
    """Pre-1900 works appear in the non-expert voices and prompts of the history module only."""
    bib = bibliography()
    misplaced = []
    for name, text in pages().items():
        if name == HISTORY_MODULE:
            continue
        for heading in ("Non-expert voices", "Art and writing prompts"):
            for key in cited(section(text, heading)):
                if key in bib.entries and year(bib.entries[key]) < 1900:
                    misplaced.append(f"{name} / {heading}: {key}")
    assert not misplaced, misplaced
    old = [k for k in nonexpert_keys(pages()[HISTORY_MODULE]) if year(bib.entries[k]) < 1900]
    assert old, "the history module should keep its historical works"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.parent.name)
def test_art_prompts_respond_to_works_on_the_page(path: Path):
    bib = bibliography()
    text = path.read_text(encoding="utf-8")
    keys = nonexpert_keys(text)
    prompts = section(text, "Art and writing prompts")
    assert mentions_a_work(prompts, keys, bib), f"{path.parent.name}: no prompt names a work in its non-expert voices"


def prose_or_art_prompt(assignment: str) -> str:
    """The assignment-specific part of the prose-or-art prompt cell (not the shared upload instructions)."""
    nb = nbformat.read(REPO_ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and "Prose or art" in c.source.split("\n")[0]]
    assert len(cells) == 1, f"{assignment}: {len(cells)} prose-or-art prompt cells"
    meta = cells[0].metadata["nbgrader"]
    assert meta["locked"] and not meta["grade"] and not meta["solution"], f"{assignment}: prompt cell metadata changed"
    body = cells[0].source.split("\n", 1)[1]  # below the heading, which every question shares
    return body.split("Write prose or a poem directly")[0]


def too_similar(prompts: dict[str, str], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    pairs = []
    for (a, ta), (b, tb) in itertools.combinations(prompts.items(), 2):
        ratio = difflib.SequenceMatcher(None, ta, tb).ratio()
        if ratio >= threshold:
            pairs.append((a, b, round(ratio, 2)))
    return pairs


def shared_phrases(prompts: dict[str, str], n: int = 5, limit: int = 2) -> dict[str, list[str]]:
    """Runs of ``n`` words that appear in more than ``limit`` prompts: the template showing through."""
    where = defaultdict(set)
    for name, text in prompts.items():
        words = re.findall(r"[\w'`-]+", text.lower())
        for i in range(len(words) - n + 1):
            where[" ".join(words[i : i + n])].add(name)
    return {phrase: sorted(names) for phrase, names in where.items() if len(names) > limit}


def test_problem_set_prompts_are_not_near_clones():
    prompts = {a: prose_or_art_prompt(a) for a in PROBLEM_SETS}
    assert not too_similar(prompts), too_similar(prompts)
    assert not shared_phrases(prompts), shared_phrases(prompts)


def rubric_for(readme: str, assignment: str) -> str:
    match = re.search(
        r"^### Rubric: " + re.escape(assignment) + r"\s*\n(.*?)(?=^### |^## |\Z)", readme, flags=re.M | re.S
    )
    return match.group(1) if match else ""


def prose_rubric_rows(rubric: str) -> list[str]:
    """The criterion rows of the prose-or-art part of one assignment's rubric."""
    part = rubric.split("prose or art", 1)[1] if "prose or art" in rubric else ""
    part = part.split("\n**Question", 1)[0]  # stop at the next question's rubric
    rows = [line for line in part.splitlines() if re.match(r"^\|(?!\s*-)(?!\s*Criterion)", line)]
    return rows


def test_each_prose_or_art_prompt_has_its_own_rubric():
    readme = (REPO_ROOT / "assignments" / "README.md").read_text(encoding="utf-8")
    rubrics = {}
    for a in PROBLEM_SETS:
        rows = prose_rubric_rows(rubric_for(readme, a))
        assert len(rows) >= 4, f"{a}: {len(rows)} prose-or-art rubric criteria"
        points = sum(int(re.split(r"\s*\|\s*", r.strip("|"))[1]) for r in rows)
        assert points == 5, f"{a}: prose-or-art rubric totals {points} points, the cell gives 5"
        rubrics[a] = "\n".join(rows)
        assert "shared rubric" not in rubric_for(readme, a).lower(), f"{a} still points to a shared rubric"
    assert not too_similar(rubrics, threshold=0.6), too_similar(rubrics, threshold=0.6)


# --- the checks themselves can fail ------------------------------------------------------------


def test_checks_catch_a_bad_page_and_bib():
    bib = parse_string(
        """
        @book{old1850, author = {Old, A.}, title = {An Old Book}, publisher = {P}, year = {1850}}
        @misc{new2001, author = {New, B.}, title = {A New Work}, year = {2001}}
        """,
        "bibtex",
    )
    page = (
        "## Non-expert voices\n\n- {cite:p}`old1850` and {cite:p}`new2001`.\n\n## Art and writing prompts\n\n1. Draw.\n"
    )
    keys = nonexpert_keys(page)
    assert keys == ["old1850", "new2001"]
    assert contemporary(keys, bib) == ["new2001"]  # one contemporary work is not enough
    assert overused({"a": ["new2001"], "b": ["new2001"], "c": ["new2001"]}) == {"new2001": ["a", "b", "c"]}
    assert not lived_experience(bib.entries["new2001"])
    assert not bib.entries["new2001"].fields.get("url")
    assert not mentions_a_work(section(page, "Art and writing prompts"), keys, bib)
    assert mentions_a_work("1. After New's work, draw.", keys, bib)
    assert too_similar({"x": "Make a short piece about a chart.", "y": "Make a short piece about a chart!"})
    template = {k: f"Make a short piece about {k}: prose or a poem of 100-250 words, or a picture." for k in "abc"}
    assert shared_phrases(template)
    assert prose_rubric_rows(
        "**Question 6, prose or art (5 points):** text\n\n| Criterion | Points |\n|---|---|\n| A | 2 |\n"
    ) == ["| A | 2 |"]

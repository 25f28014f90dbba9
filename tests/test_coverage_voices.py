"""Cross-module checks of coverage, voices, readings and assessment (issues 26 and 28).

The contract every module page and ``book/references.bib`` meets:

- **Non-expert works** are tagged in the bib with ``keywords``: ``nonexpert``, their form (``poem``,
  ``film``, ``novel``, ``memoir``, ``artwork``, ...), ``lived-experience`` where the author or publisher
  says so, and ``topic-<slug>`` for each module topic the work is about (the slugs are ``TOPICS`` below).
  Per module, the "Non-expert voices" section cites at least one poem and at least two non-expert works
  tagged with the module's topic; no non-expert work is cited on more than two module pages; and at least
  a third of the non-expert works the course cites are by people with lived experience.
- **Organisations of the people concerned**, in their own publications, are tagged ``organising`` and one
  of ``survivor-led``, ``sex-worker-led`` or ``worker-led``. Modules 2, 7 and 9 each cite at least one, all
  three kinds appear across them, and a discussion question on each of those pages asks what technologists
  should learn from an organisation it names.
- **Content notes** name only what their page contains (a century, a form such as "painting" or
  "autobiography", and sensitive topics such as death or prison must appear in the page outside the note,
  with a cited work of that century), and they name every sensitive topic in the page's own
  "*Content warning: ...*" lines.
- **Readings**: "Expert readings" has "### Key readings" (one to three items, each with "about N hours"
  or "about N minutes") and "### Further readings". The syllabus schedule lists exactly a module's key
  readings over that module's weeks, and each week's key readings fit the weekly reading hours in the
  syllabus's workload table.
- **Objectives**: each learning objective ends with "*Assessed:* ..." naming graded work that exists
  (``psN-name question K`` with that question in the notebook, "art and writing prompt K" on the page,
  or "activity" where the page's activity says what students produce). ``objective_problems`` is
  defined here and run for every module in ``tests/test_syllabus.py``, beside the designing-responsibly
  check of boyd's ten points.
- **At a glance**: each module's row has the page's title and one of its activities' titles.

Cases are parametrised per module and skip nothing: a module that does not meet the contract fails.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from markdown_pages import sections
from pybtex.database import BibliographyData, parse_file, parse_string

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
SOURCE = REPO_ROOT / "assignments" / "source"
MODULES = sorted((BOOK / "modules").glob("[0-9][0-9]-*/index.md"))
TOPICS = {
    "01": "naming",
    "02": "choice",
    "03": "technology",
    "04": "policing",
    "05": "counting",
    "06": "data",
    "07": "evaluation",
    "08": "evidence",
    "09": "labour",
    "10": "representation",
}
ORGANISING_MODULES = ("02", "07", "09")
ORG_KINDS = ("survivor-led", "sex-worker-led", "worker-led")
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
ASSIGNMENT = re.compile(r"\b(ps\d+-[a-z][a-z-]*[a-z]|capstone-design-review)\b")

# Sensitive topics a content note or a work's content warning can name, with the words that count.
SENSITIVE = {
    "death": (
        r"\bdeaths?\b|\bdead\b|\bdying\b|\bkill(ed|ing|ings)?\b"
        r"|\bdrown|\bsuicide|\bmurder|\bmassacre|\bthrown overboard"
    ),
    "suicide": r"\bsuicide",
    "violence": r"\bviolen|\bbeat(en|ing|ings)\b|\btortur|\bphysical (and sexual )?abuse",
    "sexual abuse or violence": r"\bsexual (abuse|violence|exploitation)|\brape\b|\bsexual content",
    "prison or detention": r"\bprisons?\b|\bdetention|\bdetained|\bjail",
    "torture": r"\btortur",
}
FORMS = ("autobiography", "memoir", "painting", "poem", "film", "novel", "photograph", "medallion")
CENTURIES = {"eighteenth-century": (1700, 1799), "nineteenth-century": (1800, 1899), "twentieth-century": (1900, 1999)}


# --- reading the pages and the bibliography ------------------------------------------------------


def bibliography() -> BibliographyData:
    return parse_file(str(BOOK / "references.bib"), bib_format="bibtex")


def keywords(bib: BibliographyData, key: str) -> set[str]:
    if key not in bib.entries:
        return set()
    return {k.strip().lower() for k in bib.entries[key].fields.get("keywords", "").split(",") if k.strip()}


def year_of(bib: BibliographyData, key: str) -> int:
    match = re.match(r"\d{4}", bib.entries[key].fields.get("year", "0")) if key in bib.entries else None
    return int(match.group(0)) if match else 0


def cited(text: str) -> list[str]:
    return list(dict.fromkeys(k.strip() for group in CITE.findall(text) for k in group.split(",")))


def number(path: Path) -> str:
    return path.parent.name[:2]


def pages() -> dict[str, str]:
    return {number(p): p.read_text(encoding="utf-8") for p in MODULES}


# --- non-expert works ----------------------------------------------------------------------------


def voice_problems(module: str, page: str, bib: BibliographyData) -> list[str]:
    keys = cited(sections(page).get("Non-expert voices", ""))
    nonexpert = [k for k in keys if "nonexpert" in keywords(bib, k)]
    poems = [k for k in nonexpert if "poem" in keywords(bib, k)]
    on_topic = [k for k in nonexpert if f"topic-{TOPICS[module]}" in keywords(bib, k)]
    problems = []
    untagged = [k for k in keys if k in bib.entries and not keywords(bib, k) & {"nonexpert", "organising"}]
    if untagged:
        problems.append(
            f"module {module}: non-expert section cites works tagged neither nonexpert nor organising: {untagged}"
        )
    if not poems:
        problems.append(f"module {module}: no poem (keywords nonexpert, poem) in its non-expert voices")
    if len(on_topic) < 2:
        problems.append(f"module {module}: {len(on_topic)} non-expert works tagged topic-{TOPICS[module]} (want 2)")
    return problems


def overused(found: dict[str, list[str]], limit: int = 2) -> dict[str, list[str]]:
    where = defaultdict(list)
    for module, keys in found.items():
        for key in keys:
            where[key].append(module)
    return {k: v for k, v in where.items() if len(v) > limit}


def lived_share(found: dict[str, list[str]], bib: BibliographyData) -> tuple[int, int]:
    works = {k for keys in found.values() for k in keys if "nonexpert" in keywords(bib, k)}
    return sum("lived-experience" in keywords(bib, k) for k in works), len(works)


# --- organising ------------------------------------------------------------------------------------


def organising_kinds(page: str, bib: BibliographyData) -> dict[str, set[str]]:
    """The organisations' works a page cites, by kind."""
    kinds = defaultdict(set)
    for key in cited(page):
        tags = keywords(bib, key)
        if "organising" in tags:
            for kind in ORG_KINDS:
                if kind in tags:
                    kinds[kind].add(key)
    return kinds


def organising_question_problems(module: str, page: str, bib: BibliographyData) -> list[str]:
    questions = re.findall(r"^\d+\.\s+(.+)$", sections(page).get("Discussion questions", ""), flags=re.M)
    org_keys = {k for keys in organising_kinds(page, bib).values() for k in keys}
    for question in questions:
        if re.search(r"technologist", question, re.I) and (set(cited(question)) & org_keys):
            return []
    return [
        f"module {module}: no discussion question asks what technologists should learn "
        "from an organisation the page cites"
    ]


# --- content notes ---------------------------------------------------------------------------------


def content_warnings(page: str) -> str:
    return " ".join(re.findall(r"\*Content warnings?:([^*]+)\*", page))


def note_problems(module: str, page: str, bib: BibliographyData) -> list[str]:
    found = sections(page)
    note = found.get("Content note", "")
    rest = page.replace(note, "")
    problems = []
    for word, (start, end) in CENTURIES.items():
        if word in note.lower():
            works = [k for k in cited(rest) if start <= year_of(bib, k) <= end]
            if not works:
                problems.append(
                    f"module {module}: the content note mentions {word} material "
                    f"but the page cites no work from {start}-{end}"
                )
    for form in FORMS:
        if re.search(rf"\b{form}", note, re.I) and not re.search(rf"\b{form}", rest, re.I):
            problems.append(f"module {module}: the content note mentions a {form} that the page does not contain")
    for topic, pattern in SENSITIVE.items():
        in_note = re.search(pattern, note, re.I)
        if in_note and not re.search(pattern, rest, re.I):
            problems.append(
                f"module {module}: the content note mentions {topic} ({in_note.group(0)!r}) "
                "that the page does not contain"
            )
        in_warnings = re.search(pattern, content_warnings(page), re.I)
        if in_warnings and not in_note:
            problems.append(
                f"module {module}: a work's content warning names {topic} ({in_warnings.group(0)!r}) "
                "but the content note does not"
            )
    return problems


# --- readings and workload -------------------------------------------------------------------------

HOURS = re.compile(r"about (\d+(?:\.\d+)?) (hours?|minutes)")


def key_readings(page: str) -> dict[str, float]:
    """Key readings of a module page with their stated hours (missing hours: NaN)."""
    readings = sections(sections(page).get("Expert readings", ""), level=3).get("Key readings", "")
    found = {}
    for item in re.findall(r"^[-*]\s+(.+)$", readings, flags=re.M):
        keys = cited(item.split(" — ")[0]) or cited(item)[:1]
        m = HOURS.search(item)
        hours = (float(m.group(1)) / (60 if m.group(2) == "minutes" else 1)) if m else float("nan")
        for i, key in enumerate(keys):
            found[key] = hours if i == 0 else 0.0
    return found


def reading_problems(module: str, page: str) -> list[str]:
    expert = sections(sections(page).get("Expert readings", ""), level=3)
    problems = []
    if "Key readings" not in expert or "Further readings" not in expert:
        return [f"module {module}: 'Expert readings' needs '### Key readings' and '### Further readings'"]
    keys = key_readings(page)
    if not 1 <= len([h for h in keys.values() if h != 0.0]) <= 3:
        problems.append(f"module {module}: {len(keys)} key readings (want 1-3)")
    for key, hours in keys.items():
        if hours != hours:  # NaN
            problems.append(f"module {module}: key reading '{key}' states no time ('about N hours')")
    return problems


def weekly_reading_hours(syllabus: str) -> float:
    for line in sections(syllabus).get("Workload", "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "Reading" and len(cells) > 1:
            return float(re.match(r"\d+(?:\.\d+)?", cells[1]).group(0))
    raise AssertionError("the syllabus workload table has no 'Reading' row")


def schedule(syllabus: str) -> list[tuple[str, str, list[str]]]:
    """(week, module number or '', key-reading keys) for each row of the schedule."""
    rows = []
    for line in sections(syllabus).get("Schedule", "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            m = re.search(r"/book/modules/(\d\d)-", cells[1])
            rows.append((cells[0], m.group(1) if m else "", cited(cells[2])))
    return rows


def syllabus_reading_problems(module: str, syllabus: str, page: str) -> list[str]:
    weeks = [(w, keys) for w, mod, keys in schedule(syllabus) if mod == module]
    if not weeks:
        return [f"module {module}: no week of the syllabus schedule teaches it"]
    keys = key_readings(page)
    problems = []
    listed = {k for _, ks in weeks for k in ks}
    for key in sorted(set(keys) - listed):
        problems.append(f"module {module}: key reading '{key}' is in no week of the syllabus")
    for key in sorted(listed - set(keys)):
        problems.append(f"module {module}: the syllabus lists '{key}' as key, but the page does not")
    limit = weekly_reading_hours(syllabus)
    for week, ks in weeks:
        total = sum(keys.get(k, 0.0) for k in ks)
        if total > limit:
            problems.append(
                f"week {week}: key readings take about {total:g} hours, more than the {limit:g} hours of reading a week"
            )
    return problems


# --- objectives and assessment ---------------------------------------------------------------------


def _question_cells(name: str) -> set[str]:
    path = SOURCE / name / f"{name}.ipynb"
    if not path.exists():
        return set()
    nb = nbformat.read(path, as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}


def objective_problems(module: str, page: str, cells=_question_cells) -> list[str]:
    found = sections(page)
    objectives = re.findall(r"^[-*]\s+(.+)$", found.get("Learning objectives", ""), flags=re.M)
    prompts = re.findall(r"^\d+\.\s", found.get("Art and writing prompts", ""), flags=re.M)
    problems = []
    for objective in objectives:
        m = re.search(r"\*Assessed:\*\s*(.+)$", objective)
        short = objective[:50]
        if not m:
            problems.append(f"module {module}: objective {short!r} says nowhere where it is assessed")
            continue
        ok = 0
        for item in [i.strip(" .)") for i in re.split(r";", m.group(1)) if i.strip(" .)")]:
            names = ASSIGNMENT.findall(item)
            if names:
                q = re.search(r"questions? (\d+(?:(?:, | and )\d+)*)", item)
                have = cells(names[0])
                if not q or not have:
                    problems.append(f"module {module}: {item!r} names no question of an assignment that exists")
                    continue
                for n in re.findall(r"\d+", q.group(1)):
                    if f"q{n}-answer" not in have:
                        problems.append(f"module {module}: {names[0]} has no question {n}")
                    else:
                        ok += 1
            elif re.fullmatch(r"art and writing prompts? (\d+)(?:(?:, | and )\d+)*.*", item, re.I):
                for n in re.findall(r"\d+", item):
                    if int(n) > len(prompts):
                        problems.append(f"module {module}: there is no art and writing prompt {n}")
                    else:
                        ok += 1
            elif re.fullmatch(r"(the )?activity.*", item, re.I):
                if "Students produce" in found.get("Activity", ""):
                    ok += 1
                else:
                    problems.append(f"module {module}: the activity does not say what students produce")
            else:
                problems.append(
                    f"module {module}: {item!r} is not graded work "
                    "(a problem-set question, an art and writing prompt or the activity)"
                )
        if not ok and not any(short in p for p in problems):
            problems.append(f"module {module}: objective {short!r} is not assessed")
    return problems


# --- at a glance ---------------------------------------------------------------------------------


def glance_rows(text: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*\{doc\}`(\d+)\.\s*([^<`]+?)\s*<modules/(\d\d)-[^`]+`\s*\|[^|]*\|\s*(.+?)\s*\|$", line)
        if m:
            rows[m.group(3)] = (m.group(2), m.group(4))
    return rows


def activity_titles(page: str) -> list[str]:
    return [
        t.strip()
        for t in re.findall(r"^\*\*([^*(]+?)\s*(?:\([^)]*\))?\.?\*\*", sections(page).get("Activity", ""), flags=re.M)
    ]


def glance_problems(module: str, page: str, glance: str) -> list[str]:
    rows = glance_rows(glance)
    if module not in rows:
        return [f"module {module}: no row in at-a-glance.md"]
    title, activity = rows[module]
    problems = []
    heading = re.match(r"#\s+Module \d+:\s*(.+)", page)
    if not heading or heading.group(1).strip() != title:
        problems.append(
            f"module {module}: at-a-glance title {title!r} differs from the page's "
            f"{heading.group(1) if heading else None!r}"
        )
    plain = re.sub(r"\{doc\}`([^<`]*)<[^`]*>`", r"\1", activity).strip().lower()
    titles = [t.lower() for t in activity_titles(page)]
    if not any(t and (t in plain or plain in t) for t in titles):
        problems.append(f"module {module}: at-a-glance activity {activity!r} is none of the page's activities {titles}")
    return problems


# --- the tests -------------------------------------------------------------------------------------

IDS = [p.parent.name for p in MODULES]


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_module_has_a_poem_and_two_non_expert_works_on_its_topic(path: Path):
    problems = voice_problems(number(path), path.read_text(encoding="utf-8"), bibliography())
    assert not problems, "\n".join(problems)


def test_no_non_expert_work_is_in_more_than_two_modules():
    bib = bibliography()
    found = {m: [k for k in cited(text) if "nonexpert" in keywords(bib, k)] for m, text in pages().items()}
    assert not overused(found), overused(found)


def test_lived_experience_is_at_least_a_third_of_the_non_expert_works():
    bib = bibliography()
    found = {m: cited(sections(text).get("Non-expert voices", "")) for m, text in pages().items()}
    lived, total = lived_share(found, bib)
    assert total and 3 * lived >= total, f"{lived} of {total} non-expert works by people with lived experience"


@pytest.mark.parametrize("module", ORGANISING_MODULES)
def test_organising_by_the_people_concerned(module: str):
    bib = bibliography()
    page = pages()[module]
    problems = []
    if not organising_kinds(page, bib):
        problems.append(
            f"module {module}: cites no survivor-, sex-worker- or worker-led organisation's own publication"
        )
    problems += organising_question_problems(module, page, bib)
    assert not problems, "\n".join(problems)


def test_all_three_kinds_of_organisation_appear():
    bib = bibliography()
    kinds = set()
    for module in ORGANISING_MODULES:
        kinds |= set(organising_kinds(pages()[module], bib))
    assert kinds == set(ORG_KINDS), f"kinds of organisation in modules 2, 7 and 9: {sorted(kinds)}"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_content_note_names_only_and_all_of_what_the_page_contains(path: Path):
    problems = note_problems(number(path), path.read_text(encoding="utf-8"), bibliography())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_key_readings_are_marked_and_timed(path: Path):
    problems = reading_problems(number(path), path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_syllabus_key_readings_match_the_page_and_fit_the_week(path: Path):
    syllabus = (BOOK / "syllabus.md").read_text(encoding="utf-8")
    problems = syllabus_reading_problems(number(path), syllabus, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_at_a_glance_matches_the_module_page(path: Path):
    glance = (BOOK / "at-a-glance.md").read_text(encoding="utf-8")
    problems = glance_problems(number(path), path.read_text(encoding="utf-8"), glance)
    assert not problems, "\n".join(problems)


# --- the checks themselves can fail ------------------------------------------------------------------

FAKE_BIB = """
@misc{poem2001, author = {Poet, A.}, title = {A Poem}, year = {2001}, keywords = {nonexpert, poem, lived-experience, topic-data}}
@misc{film2002, author = {Maker, B.}, title = {A Film}, year = {2002}, keywords = {nonexpert, film, topic-evidence}}
@misc{film2003, author = {Maker, C.}, title = {A Second Film}, year = {2003}, keywords = {nonexpert, film, topic-evidence}}
@misc{old1850, author = {Old, D.}, title = {An Autobiography}, year = {1850}, keywords = {nonexpert, memoir, lived-experience}}
@misc{union2013, author = {Union}, title = {Our Report}, year = {2013}, keywords = {organising, worker-led}}
@article{study2020, author = {Expert, E.}, title = {A Study}, journal = {J}, year = {2020}}
"""  # noqa: E501 - one fixture entry a line


def test_checks_catch_a_bad_page():
    bib = parse_string(FAKE_BIB, "bibtex")
    page = (
        "# Module 6: Data\n\n## Content note\n\n"
        "This module includes a nineteenth-century autobiography and a painting.\n\n"
        "## Learning objectives\n\n- Explain things. *Assessed:* ps4-dirty-data question 99.\n- Describe things.\n"
        "- Design a thing. *Assessed:* discussion question 1.\n\n"
        "## Overview\n\nText {cite:p}`study2020`.\n\n"
        "## Expert readings\n\n### Key readings\n\n- {cite:t}`study2020` — a study.\n\n"
        "## Non-expert voices\n\n- {cite:p}`film2002` and {cite:p}`study2020`. "
        "*Content warning: testimony of beatings and deaths at sea.*\n\n"
        "## Discussion questions\n\n1. What should technologists learn from them?\n\n"
        "## Activity\n\n**Sorting records (30 minutes).** Do it.\n"
    )
    voices = voice_problems("06", page, bib)
    assert "module 06: no poem (keywords nonexpert, poem) in its non-expert voices" in voices
    assert "module 06: 0 non-expert works tagged topic-data (want 2)" in voices
    assert any("tagged neither nonexpert nor organising: ['study2020']" in p for p in voices)
    assert overused({"06": ["film2002"], "07": ["film2002"], "08": ["film2002"]}) == {"film2002": ["06", "07", "08"]}
    assert lived_share({"06": ["poem2001", "film2002", "film2003"], "07": ["study2020"]}, bib) == (1, 3)
    notes = note_problems("06", page, bib)
    assert (
        "module 06: the content note mentions nineteenth-century material but the page cites no work from 1800-1899"
        in notes
    )
    assert "module 06: the content note mentions a painting that the page does not contain" in notes
    assert any(p.startswith("module 06: a work's content warning names death") for p in notes)
    assert any(p.startswith("module 06: a work's content warning names violence") for p in notes)
    assert organising_question_problems("06", page, bib)  # the question names no organisation the page cites
    good_question = (
        page + "\n" + "## Discussion questions\n\n1. What should technologists learn from {cite:t}`union2013`?\n"
    )
    assert organising_kinds(good_question, bib) == {"worker-led": {"union2013"}}
    assert reading_problems("06", page) == [
        "module 06: 'Expert readings' needs '### Key readings' and '### Further readings'"
    ]
    timed = page.replace(
        "### Key readings\n\n- {cite:t}`study2020` — a study.",
        "### Key readings\n\n- {cite:t}`study2020` — a study (about 4 hours).\n\n### Further readings\n\n- none",
    )
    assert reading_problems("06", timed) == []
    syllabus = (
        "## Workload\n\n| Activity | Hours a week |\n|---|---|\n| Reading | 3 |\n\n## Schedule\n\n"
        "| Week | Module | Key readings | Lab | Due |\n|---|---|---|---|---|\n"
        "| 6 | {doc}`/book/modules/06-clean-data/index` | {cite:t}`film2002` | — | — |\n"
    )
    readings = syllabus_reading_problems("06", syllabus, timed)
    assert "module 06: key reading 'study2020' is in no week of the syllabus" in readings
    assert "module 06: the syllabus lists 'film2002' as key, but the page does not" in readings
    heavy = syllabus_reading_problems("06", syllabus.replace("film2002", "study2020"), timed)
    assert heavy == ["week 6: key readings take about 4 hours, more than the 3 hours of reading a week"]
    objectives = objective_problems("06", page, cells=lambda name: {"q1-answer"})
    assert "module 06: ps4-dirty-data has no question 99" in objectives
    assert any("'Describe things.' says nowhere where it is assessed" in p for p in objectives)
    assert any("'discussion question 1' is not graded work" in p for p in objectives)
    assert any(
        "the activity does not say what students produce" in p
        for p in objective_problems(
            "06", page.replace("question 99", "question 1; activity"), cells=lambda n: {"q1-answer"}
        )
    )
    glance = "| {doc}`6. Dirty data <modules/06-clean-data/index>` | Q? | Dirty-data lab |\n"
    found = glance_problems("06", page, glance)
    assert "module 06: at-a-glance title 'Dirty data' differs from the page's 'Data'" in found
    assert any(
        "at-a-glance activity 'Dirty-data lab' is none of the page's activities ['sorting records']" in p for p in found
    )
    assert (
        glance_problems("06", page, "| {doc}`6. Data <modules/06-clean-data/index>` | Q? | Sorting records |\n") == []
    )

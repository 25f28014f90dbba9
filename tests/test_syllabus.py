"""The syllabus and the designing-responsibly table agree with the pages and assignments they name.

- Every key reading in the syllabus schedule is cited in that week's module page, under
  "Expert readings" (or, for a week whose page is not a module, anywhere on that page).
- A key reading from a book names a chapter or a page range.
- Every assignment due in the schedule exists, and every assignment that exists is due.
- The course outcomes start with measurable verbs, and the workload table adds up.
- Every row of the designing-responsibly table names graded questions that exist in the assignment
  notebooks and that ask about that row's point, with at least one outside the capstone; and every
  module's learning objectives name the graded work that assesses them.

Each check returns a list of problems in plain words, so that a failure says which key is missing
where; the last tests feed the checks a broken syllabus and a broken table to show that they fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from markdown_pages import sections
from test_coverage_voices import MODULES as MODULE_PAGES
from test_coverage_voices import objective_problems

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
SOURCE = REPO_ROOT / "assignments" / "source"
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
DOC = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
ASSIGNMENT = re.compile(r"\b(ps\d+-[a-z][a-z-]*[a-z]|capstone-design-review)\b")
CHAPTER = re.compile(r"\b(chapters?\b|ch\.|pp\.|pages?\b)", re.I)
OUTCOME_VERBS = {
    "analyse",
    "apply",
    "argue",
    "assess",
    "calculate",
    "compare",
    "contrast",
    "create",
    "critique",
    "define",
    "describe",
    "design",
    "distinguish",
    "estimate",
    "evaluate",
    "explain",
    "identify",
    "interpret",
    "justify",
    "recommend",
    "state",
    "summarise",
    "trace",
    "use",
    "weigh",
    "write",
}


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``, as lists of stripped cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]


def cite_keys(text: str) -> list[str]:
    return [k.strip() for group in CITE.findall(text) for k in group.split(",")]


def bib_types() -> dict[str, str]:
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    return {m.group(2).strip(): m.group(1).lower() for m in re.finditer(r"@(\w+)\{([^,]+),", text)}


def page_path(target: str) -> Path:
    path = REPO_ROOT / target.lstrip("/") if target.startswith("/") else BOOK / target
    return path.with_suffix(".md")


# --- the syllabus ----------------------------------------------------------------------


def schedule_problems(
    syllabus: str, read_page=lambda p: p.read_text(encoding="utf-8"), books=None, assignments=None
) -> list[str]:
    """Everything wrong with the syllabus schedule, one message per problem."""
    books = bib_types() if books is None else books
    assignments = sorted(p.name for p in SOURCE.iterdir() if p.is_dir()) if assignments is None else assignments
    found = sections(syllabus)
    if "Schedule" not in found:
        return ["the syllabus has no '## Schedule' section"]
    rows = table_rows(found["Schedule"])
    problems = []
    weeks = [r[0] for r in rows]
    if weeks != [str(i) for i in range(1, len(rows) + 1)]:
        problems.append(f"weeks are not numbered 1, 2, 3, ... in order: {weeks}")
    due_anywhere = set()
    for row in rows:
        if len(row) != 5:
            problems.append(
                f"week {row[0]}: expected 5 columns (Week | Module | Key readings | Lab | Due), got {len(row)}"
            )
            continue
        week, module, readings, _lab, due = row
        due_anywhere.update(ASSIGNMENT.findall(due))
        for name in ASSIGNMENT.findall(due):
            if name not in assignments:
                problems.append(f"week {week}: '{name}' is due but there is no assignments/source/{name}/")
        keys = cite_keys(readings)
        for key in keys:
            if key not in books:
                problems.append(f"week {week}: key reading '{key}' is not in book/references.bib")
        # a book is read by chapter or pages: the text after its citation, up to the next ';', must say which
        for fragment in readings.split(";"):
            for key in cite_keys(fragment):
                if books.get(key) == "book" and not CHAPTER.search(CITE.sub("", fragment)):
                    problems.append(f"week {week}: key reading '{key}' is a book; name a chapter or a page range")
        pages = DOC.findall(module)
        if not pages:
            continue  # a workshop week: the readings only have to exist
        path = page_path(pages[0])
        if not path.exists():
            problems.append(f"week {week}: the module link {pages[0]} points to no page")
            continue
        text = read_page(path)
        if "/modules/" in path.as_posix():
            where = f"the 'Expert readings' of {path.relative_to(REPO_ROOT).as_posix()}"
            cited = set(cite_keys(sections(text).get("Expert readings", "")))
        else:
            where = f"{path.relative_to(REPO_ROOT).as_posix()}"
            cited = set(cite_keys(text))
        for key in keys:
            if key not in cited:
                problems.append(f"week {week}: syllabus key reading '{key}' is not cited in {where}")
    for name in assignments:
        if name not in due_anywhere:
            problems.append(f"assignment '{name}' exists but is due in no week of the schedule")
    return problems


def outcome_problems(syllabus: str) -> list[str]:
    found = sections(syllabus)
    if "Course learning outcomes" not in found:
        return ["the syllabus has no '## Course learning outcomes' section"]
    items = re.findall(r"^\d+\.\s+(.+)$", found["Course learning outcomes"], flags=re.M)
    problems = [] if 5 <= len(items) <= 9 else [f"{len(items)} course learning outcomes (want 5-9)"]
    for item in items:
        verb = re.sub(r"[^a-z]", "", item.split()[0].lower())
        if verb not in OUTCOME_VERBS:
            problems.append(f"outcome does not start with a measurable verb: {item[:60]!r}")
    return problems


def workload_problems(syllabus: str) -> list[str]:
    found = sections(syllabus)
    if "Workload" not in found:
        return ["the syllabus has no '## Workload' section"]
    stated = re.search(r"about (\d+(?:\.\d+)?) hours of work a week", found["Workload"])
    if not stated:
        return ["the workload section does not state 'about N hours of work a week'"]
    hours = []
    for row in table_rows(found["Workload"]):
        m = re.match(r"(\d+(?:\.\d+)?)", row[1]) if len(row) > 1 else None
        if m:
            hours.append(float(m.group(1)))
    total, claim = sum(hours), float(stated.group(1))
    if abs(total - claim) > 0.5:
        return [f"the workload table adds up to {total:g} hours a week, but the text says about {claim:g}"]
    return []


def test_every_key_reading_is_in_its_weeks_module_page():
    problems = schedule_problems((BOOK / "syllabus.md").read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def due_order_problems(syllabus: str) -> list[str]:
    """Problem sets must be numbered in the order the schedule makes them due (ps1 first)."""
    rows = table_rows(sections(syllabus).get("Schedule", ""))
    due = [name for row in rows if len(row) == 5 for name in ASSIGNMENT.findall(row[4]) if name.startswith("ps")]
    numbers = [int(re.match(r"ps(\d+)-", name).group(1)) for name in due]
    if numbers != list(range(1, len(numbers) + 1)):
        return [f"problem sets are not numbered in due order: the schedule makes them due as {due}"]
    return []


def test_problem_sets_are_numbered_in_due_order():
    syllabus = (BOOK / "syllabus.md").read_text(encoding="utf-8")
    assert due_order_problems(syllabus) == []
    swapped = (
        syllabus.replace("ps1-linking", "psX")
        .replace("ps2-image-matching", "ps1-linking")
        .replace("psX", "ps2-image-matching")
    )
    assert due_order_problems(swapped), "the due-order check cannot fail"


def test_course_outcomes_and_workload():
    text = (BOOK / "syllabus.md").read_text(encoding="utf-8")
    problems = outcome_problems(text) + workload_problems(text)
    assert not problems, "\n".join(problems)


def test_syllabus_checks_fail_on_a_broken_syllabus():
    """A reading missing from its module, a whole book, an unknown assignment and bad sums are all reported."""
    module = (
        "# M\n\n## Expert readings\n\n- {cite:t}`kept2020paper` — an article.\n\n## Overview\n{cite:t}`elsewhere2020`\n"
    )
    syllabus = (
        "## Schedule\n\n| Week | Module | Key readings | Lab | Due |\n|---|---|---|---|---|\n"
        "| 1 | {doc}`/book/modules/01-naming-the-problem/index` "
        "| {cite:t}`kept2020paper`; {cite:t}`elsewhere2020` | — | ps4-dirty-data |\n"
        "| 2 | {doc}`/book/modules/01-naming-the-problem/index` | {cite:t}`wholebook2010` | — | ps9-missing |\n"
        "| 3 | {doc}`/book/modules/01-naming-the-problem/index` | {cite:t}`wholebook2010`, chapter 2 | — | — |\n"
        "\n## Workload\n\nabout 9 hours of work a week\n\n"
        "| Activity | Hours a week |\n|---|---|\n| Meetings | 2.5 |\n| Reading | 3 |\n"
        "\n## Course learning outcomes\n\n1. **Know** things.\n"
    )
    books = {"kept2020paper": "article", "elsewhere2020": "article", "wholebook2010": "book"}
    problems = schedule_problems(
        syllabus, read_page=lambda p: module, books=books, assignments=["ps4-dirty-data", "ps3-counting"]
    )
    expected = [
        "week 1: syllabus key reading 'elsewhere2020' is not cited in the 'Expert readings' of "
        "book/modules/01-naming-the-problem/index.md",
        "week 2: key reading 'wholebook2010' is a book; name a chapter or a page range",
        "week 2: 'ps9-missing' is due but there is no assignments/source/ps9-missing/",
        "assignment 'ps3-counting' exists but is due in no week of the schedule",
    ]
    for message in expected:
        assert message in problems, problems
    assert not any(m.startswith("week 3") and "is a book" in m for m in problems), problems  # a named chapter is fine
    assert "week 2: syllabus key reading 'wholebook2010' is not cited" in "\n".join(problems)
    assert workload_problems(syllabus) == ["the workload table adds up to 5.5 hours a week, but the text says about 9"]
    assert outcome_problems(syllabus)[0] == "1 course learning outcomes (want 5-9)"
    assert "outcome does not start with a measurable verb: '**Know** things.'" in outcome_problems(syllabus)


# --- the designing-responsibly table ------------------------------------------------------


def _notebook(name: str):
    return nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)


def _cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _points_named(text: str) -> set[int]:
    """boyd's point numbers a question names ("point 9", "points 4 (*...*), 7 (*...*) and 10")."""
    text = re.sub(r"\(\*[^)]*\*\)", "", text)  # drop the italic paraphrases in parentheses
    numbers = set()
    for group in re.findall(r"\bpoints?\s+(\d+(?:\s*(?:,|and|&)\s*\d+)*)", text):
        numbers.update(int(n) for n in re.findall(r"\d+", group))
    return numbers


def assessment_problems(table_markdown: str, notebook=_notebook, column: int = 3, label: str = "") -> list[str]:
    """Everything wrong with one column of a table of the ten points that names graded questions."""
    rows = [r for r in table_rows(table_markdown) if r and r[0].isdigit()]
    problems = []
    if [int(r[0]) for r in rows] != list(range(1, 11)):
        problems.append(f"the table should have rows for points 1-10, has {[r[0] for r in rows]}")
    for row in rows:
        point = int(row[0])
        outside_capstone = 0
        for item in [i.strip() for i in row[column].split(";") if i.strip()]:
            names = ASSIGNMENT.findall(item)
            if len(names) != 1:
                problems.append(
                    f"point {point}: '{item}' names no assignment (or several); list only graded work that exists"
                )
                continue
            name = names[0]
            if not (SOURCE / name / f"{name}.ipynb").exists():
                problems.append(f"point {point}: assignment '{name}' does not exist in assignments/source/")
                continue
            cells = _cells(notebook(name))
            if name == "capstone-design-review":
                m = re.search(r"part B, point (\d+)", item)
                if not m:
                    problems.append(f"point {point}: '{item}' should name the capstone's 'part B, point N'")
                elif int(m.group(1)) != point:
                    problems.append(f"point {point}: '{item}' names the capstone's point {m.group(1)}")
                elif f"point{point}-text" not in cells:
                    problems.append(f"point {point}: capstone-design-review has no cell point{point}-text")
                continue
            m = re.search(r"questions? (\d+(?:(?:, | and )\d+)*)", item)
            if not m:
                problems.append(f"point {point}: '{item}' names no question of {name}")
                continue
            for q in (int(n) for n in re.findall(r"\d+", m.group(1))):
                text, answer = cells.get(f"q{q}-text"), cells.get(f"q{q}-answer")
                if text is None or answer is None:
                    problems.append(f"point {point}: {name} has no question {q} (cells q{q}-text and q{q}-answer)")
                    continue
                if not answer.metadata["nbgrader"].get("points"):
                    problems.append(f"point {point}: {name} question {q} carries no points")
                if point not in _points_named(text.source):
                    problems.append(f"point {point}: {name} question {q} does not ask about boyd's point {point}")
                outside_capstone += 1
        if not outside_capstone:
            problems.append(f"point {point}: no graded question outside the capstone")
    return [f"{label}{p}" for p in problems]


def test_designing_responsibly_lists_only_assessments_that_exist():
    text = (BOOK / "designing-responsibly.md").read_text(encoding="utf-8")
    table = text[text.index("| # |") :]
    problems = assessment_problems(table)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MODULE_PAGES, ids=lambda p: p.parent.name)
def test_every_module_objective_is_assessed_by_graded_work(path: Path):
    """Like the ten points above, every module objective names graded work that exists (issue 26)."""

    def cells(name):
        return set(_cells(_notebook(name))) if (SOURCE / name / f"{name}.ipynb").exists() else set()

    problems = objective_problems(path.parent.name[:2], path.read_text(encoding="utf-8"), cells=cells)
    assert not problems, "\n".join(problems)


SHORTER_PLANS = (("12-week version", 2), ("10-week version", 3), ("7-week version", 4))


def plan_problems(guide: str) -> list[str]:
    """Everything wrong with the instructor guide's shorter plans: for each point, each plan's column of the
    table names graded questions that exist outside the capstone; each plan sets every problem set its column
    relies on; and a plan laid out week by week teaches all ten modules and every assignment it sets exists."""
    header = "| # | Point | " + " | ".join(name for name, _ in SHORTER_PLANS) + " |"
    if header not in guide:
        return [f"the instructor guide has no table headed {header!r}"]
    table = guide[guide.index(header) :]
    problems = []
    plans = sections(guide, level=3)
    for name, column in SHORTER_PLANS:
        plan = f"A {name}"
        if plan not in plans:
            problems.append(f"the instructor guide has no section '### {plan}'")
            continue
        problems += assessment_problems(table, column=column, label=f"{name}, ")
        named = {n for r in table_rows(table) if r and r[0].isdigit() for n in ASSIGNMENT.findall(r[column])}
        for assignment in sorted(named):
            if assignment not in plans[plan]:
                problems.append(f"{plan}: the table relies on {assignment}, which the plan does not set")
        weeks = table_rows(plans[plan])
        if weeks:  # a plan laid out week by week
            taught = {
                int(n)
                for r in weeks
                for group in re.findall(r"Modules? (\d+(?: and \d+)?)", r[1])
                for n in re.findall(r"\d+", group)
            }
            if taught != set(range(1, 11)):
                problems.append(f"{plan}: the weeks teach modules {sorted(taught)}, not all ten")
            for assignment in sorted({n for r in weeks for n in ASSIGNMENT.findall(r[-1])}):
                if not (SOURCE / assignment).is_dir():
                    problems.append(f"{plan}: '{assignment}' is set but there is no assignments/source/{assignment}/")
    return problems


def test_shorter_versions_assess_every_point_outside_the_capstone():
    """The instructor guide's 12-, 10- and 7-week plans name, for each point, graded questions that exist,
    set every problem set they name, and (laid out week by week) teach all ten modules."""
    guide = (BOOK / "instructors" / "index.md").read_text(encoding="utf-8")
    problems = plan_problems(guide)
    assert not problems, "\n".join(problems)


def test_plan_check_fails_on_a_broken_plan():
    """A 12-week plan that drops a module, or a problem set its column relies on, is reported."""
    guide = (BOOK / "instructors" / "index.md").read_text(encoding="utf-8")
    plan = sections(guide, level=3)["A 12-week version"]
    broken = plan.replace(
        "| 9 | Module 9 | Weekly response; ps6-trends |", "| 9 | Module 8 (continued) | Weekly response |"
    )
    assert broken != plan, "the 12-week plan's week 9 row has changed; update this test"
    problems = plan_problems(guide.replace(plan, broken))
    assert "A 12-week version: the weeks teach modules [1, 2, 3, 4, 5, 6, 7, 8, 10], not all ten" in problems, problems
    assert "A 12-week version: the table relies on ps6-trends, which the plan does not set" in problems, problems
    assert not any(p.startswith("A 10-week") or p.startswith("A 7-week") for p in problems), problems
    assert plan_problems(guide.replace("| 12-week version ", "| ")) == [
        "the instructor guide has no table headed '| # | Point | 12-week version | 10-week version | 7-week version |'"
    ]


def test_assessment_check_fails_on_a_broken_table():
    cells = {
        "ps4-dirty-data": nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(
                    "## Question 6\n\nboyd's point 9, *how clean*", metadata={"nbgrader": {"grade_id": "q6-text"}}
                ),
                nbformat.v4.new_markdown_cell("notes", metadata={"nbgrader": {"grade_id": "q6-answer", "points": 5}}),
            ]
        ),
        "capstone-design-review": nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell("### Point 1", metadata={"nbgrader": {"grade_id": "point1-text"}}),
            ]
        ),
    }
    header = "| # | Point | Taught in | Checked by |\n|---|---|---|---|\n"
    rows = [f"| {n} | p | m | {{doc}}`ps4-dirty-data </book/syllabus>` question 6 |" for n in range(1, 11)]
    rows[0] = (
        "| 1 | p | m | Module 2 written prompt (weekly response); "
        "{doc}`capstone-design-review </book/syllabus>` part B, point 1 |"
    )
    problems = assessment_problems(header + "\n".join(rows) + "\n", notebook=lambda name: cells[name])
    assert (
        "point 1: 'Module 2 written prompt (weekly response)' names no assignment (or several); "
        "list only graded work that exists" in problems
    ), problems
    assert "point 1: no graded question outside the capstone" in problems, problems
    assert "point 2: ps4-dirty-data question 6 does not ask about boyd's point 2" in problems, problems
    assert not any(p.startswith("point 9:") for p in problems), problems
    assert _points_named("boyd's points 4 (*arresting*), 7 (*evaluation*) and 10 (*civil*)") == {4, 7, 10}
    assert _points_named('to "disrupt networks" (boyd\'s point 5), and') == {5}

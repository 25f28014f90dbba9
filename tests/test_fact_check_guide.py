"""Issue 26's corrections to the datasheets and the instructor guide stay corrected.

Each case is one claim from book/instructors/fact-check.md ("Datasheets and the instructor guide"):
the old wording must not come back, and the corrected fact must stay on the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def text(path: str) -> str:
    """The page as one line of words, so that a claim may wrap anywhere."""
    return re.sub(r"\s+", " ", (ROOT / path).read_text(encoding="utf-8"))


CORRECTIONS = [
    # (page, old claim that must not return, corrected fact that must stay)
    (
        "book/instructors/index.md",
        "All course datasets are synthetic",
        "the five multiple-systems tables and the UK referral statistics) are real aggregate data",
    ),
    (
        "book/instructors/index.md",
        "needs a GitHub plan that allows Pages for private repositories.",
        "the site it publishes is still public unless your organisation uses GitHub Enterprise Cloud",
    ),
    (
        "book/instructors/deployment.md",
        "(Canvas's import leaves blank cells alone)",
        "Canvas's documentation that we could find does not say so",
    ),
    (
        "datasets/mse_us_western.md",
        "(National Institute of Justice, January 2019,",
        "January 2019 in its NCJRS record, January 2018 on the Office of Justice Programs' library page",
    ),
    (
        "datasets/mse_kosovo.md",
        "We did not see the 2002 report's own figure, so the course quotes none from it.",
        '"the deaths of more than 10,000 people"',
    ),
    (
        "datasets/mse_uk.md",
        "part of the strategy that led to the Modern Slavery Act 2015",
        "*Modern Slavery Strategy* (November 2014) quotes it",
    ),
    (
        "datasets/case_records.md",
        "from redacting its case records (k-anonymisation) to synthetic data",
        '"k-synthetic data" in Edge et al., 2020',
    ),
    (
        "src/htcourse/datasets/datasheet_templates/case_records.md",
        "from redacting its case records (k-anonymisation) to synthetic data",
        '"k-synthetic data" in Edge et al., 2020',
    ),
    (
        "datasets/global_estimates.md",
        "published 12 September 2022. Licence CC BY 4.0.",
        "could not see the report's licence page again",
    ),
    # The second reader's corrections.
    (
        "book/instructors/deployment.md",
        "JupyterHub 4.1 and later do not allow pages to be embedded in frames",
        "by default refuses to be shown inside a frame",
    ),
    (
        "datasets/images.md",
        "a cell under a microscope, a page of text)",
        "not the scanned `page`, which is excluded below",
    ),
    (
        "book/instructors/quickstart.md",
        "with Python 3.11 and `bubblewrap` |",
        "`bubblewrap` and root (administrator) rights on it",
    ),
    (
        "book/instructors/quickstart.md",
        "Grading time grows in proportion to the number of submissions.",
        "the benchmark did not test (it graded 100 only)",
    ),
    (
        "book/instructors/quickstart.md",
        "the tick before it shows as a small box",
        'a tick and "Exercise 1: right."',
    ),
]


@pytest.mark.parametrize(("page", "old", "new"), CORRECTIONS, ids=[f"{p}:{n[:30]}" for p, _, n in CORRECTIONS])
def test_the_correction_stays(page, old, new):
    words = text(page)
    assert re.sub(r"\s+", " ", old).strip() not in words, f"{page}: the corrected claim is back"
    assert re.sub(r"\s+", " ", new) in words, f"{page}: the corrected fact is gone"


def test_the_quick_start_no_longer_ends_the_moodle_roster_line_without_the_feedback_types():
    page = (ROOT / "book/instructors/quickstart.md").read_text(encoding="utf-8")
    roster = page.index("*Download grading worksheet*")
    assert "*Feedback files*" in page[roster : roster + 400]


def test_the_fact_check_records_this_pass():
    page = (ROOT / "book/instructors/fact-check.md").read_text(encoding="utf-8")
    assert "## Datasheets and the instructor guide" in page
    section = page.split("## Datasheets and the instructor guide", 1)[1]
    for name in ("global_estimates", "mse_kosovo", "mse_netherlands", "mse_new_orleans", "mse_uk", "mse_us_western"):
        assert f"`{name}`" in section, name
    for name in ("nrm_referrals", "images"):
        assert f"`{name}`" in section, name
    verdicts = re.findall(r"\| (confirmed|corrected|contested|removed|unconfirmed|new)\b", section)
    assert len(verdicts) >= 50


NUMBER = r"(\d[\d,]*(?:\.\d+)?)"


def number(text: str) -> float:
    return float(text.replace(",", ""))


def sums(page: str) -> list[tuple[str, float, float]]:
    """Every "a × b s = c s" and "a / b = c s" worked on the page, as (text, computed, stated)."""
    found = []
    for m in re.finditer(NUMBER + r" × " + NUMBER + r" s = " + NUMBER + r" s", page):
        found.append((m.group(0), number(m.group(1)) * number(m.group(2)), number(m.group(3))))
    for m in re.finditer(NUMBER + r" / " + NUMBER + r" = " + NUMBER + r" s", page):
        found.append((m.group(0), number(m.group(1)) / number(m.group(2)), number(m.group(3))))
    return found


def test_the_sum_finder_catches_a_wrong_sum():
    found = sums("30 × 0.852 s = 25.56 s and 85.2 / 100 = 0.9 s")
    assert [(c, s) for _, c, s in found] == [(pytest.approx(25.56), 25.56), (pytest.approx(0.852), 0.9)]


def test_the_quick_start_grading_times_add_up():
    page = text("book/instructors/quickstart.md")
    worked = sums(page)
    assert len(worked) >= 10, "the quick start shows its arithmetic"
    for shown, computed, stated in worked:
        assert abs(computed - stated) < 0.005, f"{shown}: {computed:.3f}"
    # The measured figures the estimates rest on (make bench, 100 submissions of ps4-dirty-data, 2 CPUs).
    for measured in ("85.2 / 100", "104.2 / 100", "185.2 / 100"):
        assert measured in page, measured
    # The estimates are called estimates, and what was not measured says so.
    assert "estimates, not measurements" in page
    assert "this was not measured" in page

"""Issue 26's second fact-check of the labs' and problem sets' Markdown: the corrections stay made.

Each test reads the Markdown cells of the notebook where a claim was wrong (or the rubrics) and checks
the corrected wording, and that the old wording is gone. Nothing is executed.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
MODULES = BOOK / "modules"
SOURCES = REPO_ROOT / "assignments" / "source"
RUBRICS = REPO_ROOT / "assignments" / "README.md"
FACT_CHECK = BOOK / "instructors" / "fact-check.md"


def markdown(path) -> str:
    """The Markdown cells of one notebook, whitespace collapsed."""
    cells = nbformat.read(path, as_version=4).cells
    return re.sub(r"\s+", " ", " ".join(c.source for c in cells if c.cell_type == "markdown"))


def lab(name: str) -> str:
    (path,) = MODULES.glob(f"*/{name}.ipynb")
    return markdown(path)


def problem_set(name: str) -> str:
    (path,) = SOURCES.glob(f"{name}*/{name}*.ipynb")
    return markdown(path)


def module_page(number: int) -> str:
    (path,) = MODULES.glob(f"{number:02d}-*/index.md")
    return path.read_text(encoding="utf-8")


def works_placed_in_modules(text: str) -> list[tuple[str, int]]:
    """Every "*Title* (Module N)" in a text: a claim that module N sets the work."""
    return [(title, int(n)) for title, n in re.findall(r"\*([^*]+)\* \(Module (\d+)\)", text)]


def test_every_work_a_problem_set_places_in_a_module_is_set_there():
    claims = []
    for path in sorted(SOURCES.glob("*/*.ipynb")):
        claims += [(path.stem, title, n) for title, n in works_placed_in_modules(markdown(path))]
    assert len(claims) >= 3, "the problem sets name works of Modules 4 to 7"
    wrong = [(ps, title, n) for ps, title, n in claims if title not in module_page(n)]
    assert not wrong, f"works said to be in a module whose page does not set them: {wrong}"


def test_the_module_check_fails_on_the_old_wording():
    old = "Forensic Oceanography's *Liquid Traces* (Module 3) reconstructs a case"
    assert works_placed_in_modules(old) == [("Liquid Traces", 3)]
    assert "Liquid Traces" not in module_page(3)


@pytest.mark.parametrize(
    ("name", "work", "said"),
    [
        ("ps1", "Liquid Traces", "Module 3 set it in earlier editions"),
        ("ps2", "Level of Confidence", "no longer set in Module 4"),
        ("ps6", "The List", "Module 8 has dropped it from its works"),
    ],
)
def test_works_no_longer_set_are_described_as_such(name, work, said):
    text = problem_set(name)
    assert work in text and said in text


def test_level_of_confidence_is_described_as_its_sources_describe_it():
    text = problem_set("ps2")
    assert "points face recognition at the faces of the disappeared" not in text
    assert "searches for them in each visitor's face" in text and "always fails to make a match" in text


def test_the_list_is_not_said_to_be_rebuilt_every_year():
    text = problem_set("ps6")
    assert "rebuilt every year" not in text
    assert "UNITED for Intercultural Action" in text and "project rather than an artwork" in text


def test_warf_coercion_figure_is_one_in_ten():
    for text in (problem_set("ps1"), re.sub(r"\s+", " ", RUBRICS.read_text(encoding="utf-8"))):
        assert "few described being coerced" not in text
        assert "coercion by another person uncommon" not in text
        assert "one in ten" in text


def test_image_lab_sets_farids_primary_case_and_makes_no_claim_about_real_systems():
    text = lab("lab-image-matching")
    assert "A real system would compare mirrored versions" not in text
    assert "{cite:p}`farid2018reining`" in text
    assert "frustratingly slow" in text and "Counter Extremism Project" in text
    assert "March 2015" in text and "December 2014" not in text


def test_screening_lab_cites_blunt_and_wolf_only_for_what_they_found():
    text = lab("lab-screening")
    assert "or contact with the police {cite:p}`blunt2020erased`" not in text
    assert re.search(r"finances and their ability to screen clients had deteriorated \{cite:p\}`blunt2020erased`", text)


def test_uncited_generalisations_are_softened():
    assert "Statistical offices often suppress counts below 5" not in lab("lab-privacy")
    assert "the situation of most screening tools" not in problem_set("ps5")
    assert "as the National Academies note" not in problem_set("ps3")
    assert "This is why linkage tools do not simply take every link" not in lab("lab-linking")
    assert "In these data, by the generator's assumptions, indicators that leave traces" in lab(
        "lab-supply-chain-audits"
    )


def test_counting_lab_agrees_with_the_uk_lab_on_the_lists():
    assert "from six lists derived from" not in lab("lab-counting")
    assert "five-list table" in lab("lab-counting")
    assert "The five lists are" in lab("lab-counting-uk")


def test_nigera_is_almost_as_close_to_niger_as_to_nigeria():
    from rapidfuzz import fuzz

    text = lab("lab-dirty-data")
    niger, nigeria = (round(fuzz.ratio("nigera", name) / 100, 2) for name in ("niger", "nigeria"))
    assert f"almost as close to Niger ({niger:.2f}) as to Nigeria ({nigeria:.2f})" in text
    assert niger != nigeria


def test_discrete_laplace_error_is_stated_exactly():
    text = problem_set("ps4")
    assert "roughly 1/ε people per cell for the discrete Laplace mechanism" not in text
    assert "the expected absolute error per cell is 1/sinh(ε) people" in text
    assert "not its standard deviation" in text


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 3.0])
def test_one_over_sinh_is_the_mean_absolute_discrete_laplace_noise_not_its_spread(epsilon):
    import math

    # noise k with probability proportional to exp(-epsilon * |k|): OpenDP's discrete Laplace at scale 1/epsilon
    ks = range(-4000, 4001)
    weights = [math.exp(-epsilon * abs(k)) for k in ks]
    total = sum(weights)
    mean_abs = sum(abs(k) * w for k, w in zip(ks, weights)) / total
    sd = math.sqrt(sum(k * k * w for k, w in zip(ks, weights)) / total)
    assert mean_abs == pytest.approx(1 / math.sinh(epsilon), rel=1e-9)
    assert sd == pytest.approx(1 / (math.sqrt(2) * math.sinh(epsilon / 2)), rel=1e-9)
    assert sd > mean_abs
    assert (mean_abs < 1 / epsilon) and (epsilon > 1 or mean_abs > 0.8 / epsilon)


def test_second_reader_fixes_stay_made():
    assert "UNITED for Intercultural Action" in problem_set("ps3")
    assert "sorted into six lists by the kind of organisation" in lab("lab-counting")
    assert "which is why its distribution was controlled" not in lab("lab-image-matching")
    text = FACT_CHECK.read_text(encoding="utf-8")
    assert "The same error remains in the image-matching lab's markdown" not in text
    assert "### Second reader: the corrections and removals re-checked" in text


def test_nrm_lab_limits_childrens_faster_growth_to_the_years_the_data_show():
    import pandas as pd

    data = pd.read_csv(REPO_ROOT / "datasets" / "nrm_referrals_quarterly.csv")
    totals = data.groupby("year")["referrals"].sum()
    share = data[data["ageGroup"] == "child"].groupby("year")["referrals"].sum() / totals
    assert share[2015] < 1 / 3 < 2 / 5 < share[2018]
    assert share.loc[2018:].between(0.4, 0.5).all(), "the share has stayed near its 2018 level"
    assert "from about 2016 to 2018" in lab("lab-nrm")


def test_fact_check_has_a_section_for_every_lab_and_problem_set():
    text = FACT_CHECK.read_text(encoding="utf-8")
    part = text.split("## Labs and problem sets", 1)[1]
    headings = re.findall(r"^### (.+)$", part, flags=re.M)
    labs = sorted(p.stem for p in MODULES.glob("*/*.ipynb"))
    sets = sorted(p.parent.name for p in SOURCES.glob("*/*.ipynb"))
    assert len(headings) >= len(labs) + len(sets)
    for name in sets:
        short = name.split("-")[0]
        wanted = "Capstone" if short == "capstone" else f"Problem set {short[2:]}"
        assert any(h.startswith(wanted) for h in headings), wanted
    assert sum(h.startswith(("Lab:", "Global estimates")) for h in headings) == len(labs)
    for heading in headings:
        match = re.search(r", (\d+) claims$", heading)
        assert match, f"say how many claims were checked: {heading}"
        block = part.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
        rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| Claim")]
        assert len(rows) == int(match.group(1)), heading


def test_trends_lab_does_not_say_a_channel_fell_over_the_headlines_years():
    import pandas as pd

    contacts = pd.read_csv(REPO_ROOT / "datasets" / "hotline_contacts.csv")
    contacts["year"] = contacts["month"].str[:4].astype(int)
    yearly = contacts.groupby("year")[["contactsPhone", "contactsWebForm", "contactsPlatformTip"]].sum()
    rise = yearly.loc[2019] - yearly.loc[2012]
    assert (rise > 0).all(), "every channel rose from 2012 to 2019"
    assert rise.idxmax() == "contactsPhone" and rise["contactsPhone"] > rise.sum() / 2
    text = lab("lab-trends")
    assert "and one channel falls" not in text
    assert "most of the rise comes from one channel, phone contacts" in text


@pytest.mark.parametrize(
    ("name", "work", "named"),
    [
        ("ps1", "Left-to-Die Boat", "a boat of migrants left to drift at sea"),
        ("ps2", "Level of Confidence", "43 students who were disappeared"),
        ("ps3", "Palimpsesto", "people who died at sea or at Europe's borders"),
        ("ps6", "The List", "a list of documented deaths of refugees and migrants"),
        ("ps1", "survival sex", "survival sex among homeless young women"),
        ("ps5", "Gibbs and colleagues", "services for children who were trafficked"),
        ("ps5", "paid smuggler", "an invented case of a woman who was smuggled"),
        ("ps6", "Curtis and colleagues", "young people who were trafficked or traded sex"),
    ],
)
def test_content_note_names_the_works_about_deaths_a_problem_set_sets(name, work, named):
    (path,) = SOURCES.glob(f"{name}*/{name}*.ipynb")
    first = nbformat.read(path, as_version=4).cells[0].source
    note = re.search(r"^\*Content note: (.*)\*$", first, flags=re.M)
    assert work in problem_set(name)
    assert note and named in note.group(1), f"{name}'s content note should name {work}"

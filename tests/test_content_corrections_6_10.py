"""Issue 26's corrections to modules 6-10 stay corrected, and the fact-check table covers them.

Each test reads the page where the claim was wrong and checks the corrected wording (and that the old
wording is gone). The last test feeds the scanners the old wording to show that they fail.
"""

from __future__ import annotations

import re

from pybtex.database import parse_file

from htcourse.paths import REPO_ROOT

BOOK = REPO_ROOT / "book"
PAGES = {p.parent.name[:2]: p for p in (BOOK / "modules").glob("[0-9][0-9]-*/index.md")}


def page(number: str) -> str:
    return re.sub(r"\s+", " ", PAGES[number].read_text(encoding="utf-8"))


def content_note(text: str) -> str:
    match = re.search(r"## Content note (.*?) ## ", text)
    return match.group(1) if match else ""


def calls_00_a_country(text: str) -> bool:
    return bool(re.search(r'"00"`? (becomes |as )?(an )?unknown country|unknown country as `?"00"', text))


def says_carbajal_was_accused_of_trafficking(text: str) -> bool:
    return bool(re.search(r"falsely (accused|charged) (of|with) (human )?trafficking|her years", text))


def credits_ap_without_data(text: str) -> bool:
    return bool(re.search(r"not an audit, a disclosure statement or a dataset", text))


def test_module_6_00_is_an_unknown_age_band():
    text = page("06")
    assert not calls_00_a_country(text)
    assert re.search(r'unknown age band as `"00"`|`"00"` becomes an unknown age band', text)
    assert "| 3 | 2020 | 00 | -99 |" in PAGES["06"].read_text(encoding="utf-8"), (
        "the activity's sample row puts 00 in ageBroad"
    )


def test_module_6_ctdc_account_is_current():
    text = page("06")
    for phrase in (
        "206,000",
        "190 countries and territories",
        "differential privacy",
        "2002 to 2022",
        "redistribution",
    ):
        assert phrase in text, phrase
    assert "ctdc2024synthetic" in text and "ctdc2024terms" in text
    assert "`traffickMonths`, as a text band" in text, "say that the real duration variable is banded"


def test_content_notes_of_modules_6_and_8_name_only_their_material():
    assert "nineteenth-century" not in content_note(page("06"))
    note8 = content_note(page("08"))
    assert "campaign against the transatlantic slave trade" not in note8
    for topic in ("beatings", "deaths at sea", "killing", "prison"):
        assert topic in note8, topic


def test_carbajal_charge_is_people_smuggling_in_modules_7_and_8():
    for number in ("07", "08"):
        text = page(number)
        assert not says_carbajal_was_accused_of_trafficking(text), number
        assert "smuggling" in text and "three months" in text, number
    assert "tráfico de indocumentados" in page("07")


def test_module_8_tip_report_covered_187_and_ranked_184():
    text = page("08")
    assert "187 countries and territories, of which 184 were ranked" in text
    assert "when the report ranked 187 countries" not in text


def test_module_9_credits_vessel_tracking_and_satellite_imagery():
    text = page("09")
    assert not credits_ap_without_data(text)
    for phrase in ("SkyTruth", "AIS", "*Silver Sea 2*", "satellite image"):
        assert phrase in text, phrase


def test_bib_metadata_completed():
    bib = parse_file(str(BOOK / "references.bib"), bib_format="bibtex").entries
    bonilla = bib["bonilla2018messaging"].fields
    assert (bonilla["volume"], bonilla["number"], bonilla["pages"], bonilla["year"]) == ("39", "2", "201--234", "2019")
    huang = bib["huang2024superbowl"].persons["author"]
    assert all(len(p.first_names[0].strip(".")) > 1 for p in huang), "full first names"
    blunt = bib["blunt2020erased"].fields
    assert blunt["pages"] == "117--121" and blunt["doi"] == "10.14197/atr.201220148"
    for key in ("gibbs2015services", "bales2015significance", "boecking2019events"):
        assert "contentB" in bib[key].fields["note"], f"{key}: say what the second search found"


def test_fact_check_table_covers_modules_6_to_10():
    text = (BOOK / "instructors" / "fact-check.md").read_text(encoding="utf-8")
    for number, title in (
        ("6", "The cleanliness of data"),
        ("7", "Evaluation, accountability and civil liberties"),
        ("8", "Evidence and trends"),
        ("9", "Labour trafficking, migration and supply chains"),
        ("10", "Representation, art and voice"),
    ):
        heading = f"## Module {number}: {title}"
        assert heading in text, heading
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Claim")]
        assert len(rows) >= 10, f"module {number}: {len(rows)} checked claims"
        assert all(len(row.strip("|").split(" | ")) == 3 for row in rows), f"module {number}: claim | source | verdict"


def test_scanners_catch_the_old_wording():
    assert calls_00_a_country('`-99` becomes missing, `"00"` becomes unknown country, and')
    assert says_carbajal_was_accused_of_trafficking("an airport worker falsely accused of human trafficking")
    assert says_carbajal_was_accused_of_trafficking("telling of her years in a cartel-run prison")
    assert credits_ap_without_data(
        "followed the goods on the ground, not an audit, a disclosure statement or a dataset."
    )
    assert (
        content_note("## Content note This module refers to a nineteenth-century autobiography. ## Learning")
        == "This module refers to a nineteenth-century autobiography."
    )

"""On the built site, every lab's solutions are folded: a closed toggle over the code, the self-check's verdict shown.

The pattern itself (at least three exercises per lab, each with a self-check and a solution) and the verdicts of
the executed labs are tested in test_labs.py; this module reads the site that `make book` built.
"""

from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup
from test_labs import LABS, exercises, lab_id


def page_of(lab, site_dir):
    return site_dir / lab.relative_to(lab.parents[3]).with_suffix(".html")


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_lab_solutions_are_folded_on_the_site(lab, site_dir):
    page = page_of(lab, site_dir)
    assert page.exists(), f"{page} was not built"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    expected = len(exercises(nbformat.read(lab, as_version=4)))
    solutions = soup.select("div.cell.tag_solution")
    assert len(solutions) == expected, (
        f"{lab_id(lab)}: {len(solutions)} solution cells on the page, {expected} in the lab"
    )
    for number, cell in enumerate(solutions, start=1):
        toggle = cell.find("details", recursive=False)
        assert toggle is not None and "hide" in toggle.get("class", []), (
            f"Exercise {number}: its solution is not in a toggle"
        )
        assert not toggle.has_attr("open"), f"Exercise {number}: its solution is shown open"
        assert toggle.select_one(".cell_input"), f"Exercise {number}: the toggle does not hold the solution's code"
        output = cell.select_one(".cell_output")
        assert output is not None and output.find_parent("details") is None, f"Exercise {number}: no verdict shown"
        assert f"Exercise {number}: right." in output.get_text(), (
            f"Exercise {number}: the site shows {output.get_text()!r}"
        )
    readers = soup.select("div.cell.tag_exercise")
    assert len(readers) == expected and all(cell.find("details") is None for cell in readers), (
        f"{lab_id(lab)}: the reader's cells must be on the page, not folded"
    )

"""The supply-chain lab's pages in the built site, in a real browser (issue 17).

tests/test_site.py checks every page; these checks name the pages of the
supply-chain lab so that they can be run on their own
(``pytest tests/test_site_supply_chain.py``) and say exactly what the lab's
page must show: its two charts drawn with their text descriptions, and no
serious or critical axe violation.
"""

from __future__ import annotations

import pytest
from browser import check_page, open_offline

LAB = "book/modules/09-labour-migration/lab-supply-chain-audits.html"
PAGES = [LAB, "book/modules/09-labour-migration/index.html", "datasets/supply_chain.html"]


@pytest.mark.parametrize("page", PAGES)
def test_supply_chain_pages_pass_the_browser_checks(browser, site_url, site_dir, page):
    assert (site_dir / page).is_file(), f"{page} was not built: is it in _toc.yml?"
    problems = check_page(browser, f"{site_url}/{page}")
    assert not problems, problems


def test_the_lab_draws_both_charts_with_their_descriptions(browser, site_url):
    visit = open_offline(browser, f"{site_url}/{LAB}")
    page = visit.page
    charts = page.locator("figure.htc-chart")
    for i in range(charts.count()):  # charts load their libraries only when a reader reaches them
        charts.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.htc-chart')].every(f => f.classList.contains('htc-chart-live'))",
        timeout=15_000,
    )
    assert charts.count() == 2
    captions = [charts.nth(i).locator("figcaption").inner_text() for i in range(2)]
    assert "detection" in captions[0].lower() or "audits at sites in forced labour" in captions[0]
    assert "invisible to the buyer" in captions[1]
    for i in range(2):
        assert charts.nth(i).locator("svg .mark-rect path, svg .mark-rect rect, svg path").count() > 0
    assert not visit.errors and not visit.blocked
    page.context.close()

"""Every built page in Chromium: no errors, no other hosts, charts live, no serious axe violation.

In a file of its own (the site's longest test): make test's workers each take whole files, so this
one runs beside the rest of tests/test_site.py rather than after it.
"""

from __future__ import annotations

from browser import check_pages, is_redirect, page_paths


def test_every_page_passes_the_browser_checks(site_url, site_dir):
    """Visit every built page: no errors, no other hosts, charts live, no serious axe violation."""
    # A redirect page navigates away at once (its target is visited in its own right).
    paths = [rel for rel in page_paths(site_dir) if not is_redirect(site_dir / rel)]
    found = check_pages([f"{site_url}/{rel}" for rel in paths])  # in three browsers side by side
    assert len(found) == len(paths)
    problems = {rel: found[f"{site_url}/{rel}"] for rel in paths if found[f"{site_url}/{rel}"]}
    print(f"visited {len(paths)} pages; axe found no serious or critical violation on {len(paths) - len(problems)}")
    assert not problems, problems

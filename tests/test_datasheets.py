"""Tests of htcourse.datasets.datasheets: the Markdown templates shipped with the package and their rendering."""

from __future__ import annotations

import string
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from htcourse.datasets import DATASETS, datasheets

REPO = Path(__file__).resolve().parents[1]


def _placeholders(text: str) -> set[str]:
    return {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(text)
        if m.group("named") or m.group("braced")
    }


def test_one_template_per_dataset_and_the_closing_sections():
    names = sorted(entry.name for entry in datasheets.TEMPLATES.iterdir() if entry.name.endswith(".md"))
    assert names == sorted([f"{name}.md" for name in DATASETS] + [f"{datasheets.CLOSING_TEMPLATE}.md"])


def test_the_package_data_patterns_ship_every_template():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["htcourse.datasets"]
    for entry in datasheets.TEMPLATES.iterdir():
        relative = f"datasheet_templates/{entry.name}"
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_placeholder_of_a_template_is_filled(name):
    dataset = DATASETS[name].generate(3)
    text = dataset.files[DATASETS[name].DATASHEET_FILE]
    assert "$" not in text, "a placeholder was left in the datasheet"
    assert _placeholders(datasheets.template(name)) - {"name", "module", "seed"}, "a template without figures"


def test_a_missing_figure_is_an_error_not_a_hole(monkeypatch, tmp_path):
    (tmp_path / "toy.md").write_text("# Toy\n\n$count rows.\n", encoding="utf-8")
    (tmp_path / "closing.md").write_text(
        "## Closing\n\nRegenerate $name with seed $seed ($module).\n", encoding="utf-8"
    )
    monkeypatch.setattr(datasheets, "TEMPLATES", tmp_path)
    text = datasheets.render_datasheet({"count": "3"}, name="toy", module="htcourse.datasets.toy", seed=5)
    assert text == (
        f"{datasheets.SYNTHETIC_NOTICE}\n\n# Toy\n\n3 rows.\n\n## Closing\n\n"
        "Regenerate toy with seed 5 (htcourse.datasets.toy).\n"
    )
    with pytest.raises(KeyError, match="count"):
        datasheets.render_datasheet({}, name="toy", module="m", seed=5)

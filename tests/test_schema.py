"""Tests of htcourse.schema: the one declaration of every dataset's columns, and who uses it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from htcourse import cleaning, linking, metrics, schema
from htcourse.paths import datasets_dir


def test_every_table_in_the_datasets_folder_is_declared_with_its_columns_in_order():
    found = sorted(path.name for path in datasets_dir().glob("*.csv"))
    assert found == sorted(schema.COLUMNS)
    for name in found:
        with open(datasets_dir() / name, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == schema.COLUMNS[name], name


def test_datapackage_fields_are_the_declared_columns():
    package = json.loads((datasets_dir() / "datapackage.json").read_text(encoding="utf-8"))
    described = {
        resource["path"]: [field["name"] for field in resource["schema"]["fields"]] for resource in package["resources"]
    }
    assert described == {name: list(columns) for name, columns in schema.COLUMNS.items()}


def test_groups_of_columns_are_parts_of_the_case_records_columns():
    columns = schema.CASE_RECORDS_COLUMNS
    assert len(set(columns)) == len(columns)
    assert schema.FLAG_COLUMNS == columns[-len(schema.FLAG_COLUMNS) :]
    for group in (
        schema.MEANS_COLUMNS,
        schema.TYPE_COLUMNS,
        schema.SECTOR_COLUMNS,
        schema.RECRUITER_COLUMNS,
        schema.COUNTRY_COLUMNS,
    ):
        assert set(group) <= set(columns)
    assert set(schema.LINK_ATTRIBUTES) <= set(schema.LISTINGS_COLUMNS)
    assert {schema.SCORE, schema.LABEL, schema.GROUP} <= set(schema.AD_SCREENING_COLUMNS)


def test_the_lab_helpers_use_the_schema_names():
    assert cleaning.MEANS_COLUMNS is schema.MEANS_COLUMNS
    assert cleaning.TYPE_COLUMNS is schema.TYPE_COLUMNS
    assert cleaning.COUNTRY_COLUMNS is schema.COUNTRY_COLUMNS
    assert cleaning.AGE_BANDS is schema.AGE_BANDS
    assert cleaning.MINOR_BANDS == ("0--8", "9--17")
    assert (linking.ID, linking.ATTRIBUTES) == (schema.LISTING_ID, schema.LINK_ATTRIBUTES)
    assert (metrics.SCORE, metrics.LABEL, metrics.GROUP) == (schema.SCORE, schema.LABEL, schema.GROUP)


def test_the_lab_helpers_do_not_load_the_generators():
    code = (
        "import sys; import htcourse.cleaning, htcourse.linking, htcourse.metrics; "
        "print(sorted(m for m in sys.modules if m.startswith('htcourse.datasets')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_check_columns_accepts_the_declared_columns_only():
    schema.check_columns("listings.csv", list(schema.LISTINGS_COLUMNS))
    with pytest.raises(schema.SchemaMismatchError, match="other order"):
        schema.check_columns("listings.csv", reversed(schema.LISTINGS_COLUMNS))
    with pytest.raises(schema.SchemaMismatchError, match=r"missing \['photoHash'\], unexpected \['photo'\]"):
        schema.check_columns("listings.csv", [*schema.LISTINGS_COLUMNS[:-1], "photo"])
    with pytest.raises(schema.SchemaMismatchError, match="not declared"):
        schema.check_columns("elsewhere.csv", ["a"])


def test_a_generator_that_drifts_from_the_schema_fails_before_writing(tmp_path, monkeypatch):
    from htcourse import datasets
    from htcourse.datasets import listings

    original = listings.generate

    def renamed(seed):
        dataset = original(seed)
        dataset.tables[listings.LISTINGS_FILE] = dataset.tables[listings.LISTINGS_FILE].rename(
            columns={"photoHash": "photo"}
        )
        return dataset

    monkeypatch.setattr(listings, "generate", renamed)
    with pytest.raises(schema.SchemaMismatchError, match="listings.csv"):
        datasets.write_datasets(tmp_path / "out", names=["listings"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", ["cleaning.py", "datasets/case_records.py"])
def test_case_record_column_names_are_written_only_in_the_schema(module):
    """The cleaning helpers and the case-records generator name columns through htcourse.schema."""
    import ast

    from htcourse.paths import PACKAGE_DIR

    names = {value for key, value in vars(schema).items() if key.isupper() and isinstance(value, str)}
    names &= set(schema.CASE_RECORDS_COLUMNS)
    tree = ast.parse((PACKAGE_DIR / module).read_text(encoding="utf-8"))
    in_fstrings = {
        id(node) for joined in ast.walk(tree) if isinstance(joined, ast.JoinedStr) for node in ast.walk(joined)
    }
    literals = sorted(
        {
            (node.lineno, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in in_fstrings
        }
    )
    assert literals == [], f"{module} types column names that htcourse.schema declares: {literals}"

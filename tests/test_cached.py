"""Unit tests of htcourse.grading.cached: nbgrader's per-submission set-up, done once per process, same results."""

from __future__ import annotations

import jsonschema
import pytest


def test_a_schema_is_checked_once_and_validates_as_jsonschema_does():
    from htcourse.grading.cached import CheckedOnce

    schema = {"type": "object", "properties": {"points": {"type": "number"}}, "required": ["points"]}
    checked = CheckedOnce(jsonschema)
    checked.validate({"points": 2}, schema)
    checked.validate({"points": 3.5}, schema)
    assert len(checked._validators) == 1, "one validator for one schema"
    for bad in ({"points": "two"}, {}):
        with pytest.raises(jsonschema.ValidationError) as ours:
            checked.validate(bad, schema)
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(bad, schema)
        assert ours.value.message == theirs.value.message
    with pytest.raises(jsonschema.SchemaError):
        checked.validate({}, {"type": "no such type"})
    assert checked.ValidationError is jsonschema.ValidationError  # the rest of the module is jsonschema's


def test_nbgrader_uses_one_engine_per_gradebook_and_still_writes_it(tmp_path):
    from nbgrader.api import Gradebook
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    from htcourse.grading import cached

    cached.install()
    cached.install()  # twice is once
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "course") as gb:
        gb.add_student("ada")
        first = gb.engine
    with Gradebook(url, "course") as gb:
        assert gb.engine is first
        assert gb.find_student("ada").id == "ada"
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}", "course") as gb:
        assert gb.engine is not first
    # nbgrader's metadata check still refuses a damaged cell
    cell = {"cell_type": "code", "metadata": {"nbgrader": {"schema_version": 3, "grade": "yes"}}, "source": ""}
    from nbformat import from_dict

    with pytest.raises(ValidationError):
        MetadataValidator().validate_cell(from_dict(cell))

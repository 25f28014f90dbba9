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


def test_a_gradebook_file_is_checked_for_its_tables_once_while_it_is_the_same_file(tmp_path, monkeypatch):
    from nbgrader import api
    from nbgrader.api import Gradebook

    from htcourse.grading import cached

    cached.install()
    cached.install()
    assert api.Gradebook.__init__.__wrapped__.__module__ == "nbgrader.api"  # wrapped once, nbgrader's own inside
    looked = []
    real_inspect = api.inspect
    monkeypatch.setattr(api, "inspect", lambda engine: looked.append(engine) or real_inspect(engine))
    path = tmp_path / "gradebook.db"
    url = f"sqlite:///{path}"
    with Gradebook(url, "course") as gb:
        gb.add_student("ada")
    with Gradebook(url, "course") as gb:
        assert gb.find_student("ada").id == "ada"
        assert gb.course_id == "course" and gb.authenticator is None
        assert gb.db.get(api.Course, "course") is not None
    assert len(looked) == 1, "the second opening of the same file does not look for the tables again"
    with Gradebook(url, "another") as gb:  # a new course in the same gradebook is still added
        assert gb.db.get(api.Course, "another") is not None
    assert len(looked) == 1
    # the file removed and made again: a new file, whose tables nbgrader creates again
    path.unlink()
    with Gradebook(url, "course") as gb:
        assert len(looked) == 2
        assert gb.db.execute(api.text("SELECT version_num FROM alembic_version")).scalar()
        gb.add_student("grace")
        assert [s.id for s in gb.students] == ["grace"]

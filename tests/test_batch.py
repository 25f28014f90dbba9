"""Grading a batch (grading/batch.py): the parts that need no sandbox or notebook."""

from __future__ import annotations

import pytest

from htcourse.grading import batch


@pytest.fixture
def racing_gradebook(tmp_path, monkeypatch):
    """A gradebook where another grading run adds student "blank" just after this one looked for them."""
    from nbgrader.api import Gradebook, MissingEntry

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    real_find = Gradebook.find_student
    raced = []

    def find_then_race(self, student_id):
        if student_id == "blank" and not raced:
            raced.append(student_id)
            with Gradebook(url, "htcourse") as other:
                other.add_student("blank")
            raise MissingEntry()
        return real_find(self, student_id)

    monkeypatch.setattr(Gradebook, "find_student", find_then_race)

    class Course:
        def gradebook(self):
            return Gradebook(url, "htcourse")

    return Course(), url


def test_nbgraders_own_find_then_add_fails_when_another_run_adds_the_student(racing_gradebook):
    """The race that failed a capstone submission when two assignments were graded at once."""
    from nbgrader.api import InvalidEntry

    course, _ = racing_gradebook
    with course.gradebook() as gb, pytest.raises(InvalidEntry):
        gb.update_or_create_student("blank")


def test_a_student_another_run_adds_meanwhile_counts_as_added(racing_gradebook):
    from nbgrader.api import Gradebook

    course, url = racing_gradebook
    batch.register_students(course, ["blank", "correct"])
    batch.register_students(course, ["blank", "correct"])  # again: nothing changes
    with Gradebook(url, "htcourse") as gb:
        assert sorted(s.id for s in gb.students) == ["blank", "correct"]

"""Unit tests of htcourse.grading.preflight: submissions refused before any code runs, with reasons."""

from __future__ import annotations

import nbformat
import pytest


def test_preflight_reasons(tmp_path):
    from htcourse.grading.preflight import SubmissionError, check_submission

    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "ps.ipynb").write_text('{"cells": [')
    with pytest.raises(SubmissionError, match="not valid JSON"):
        check_submission(folder, ["ps"], [])
    (folder / "ps.ipynb").write_text("")
    with pytest.raises(SubmissionError, match="empty"):
        check_submission(folder, ["ps"], [])
    (folder / "ps.ipynb").write_text('{"hello": 1}')
    with pytest.raises(SubmissionError, match="not a Jupyter notebook"):
        check_submission(folder, ["ps"], [])
    (folder / "ps.ipynb").unlink()
    nbformat.write(nbformat.v4.new_notebook(), str(folder / "ps (1).ipynb"))
    checked = check_submission(folder, ["ps"], [])
    assert "ps" in checked.notebooks and "instead of ps.ipynb" in checked.flags[0]

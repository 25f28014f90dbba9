"""The site build runs its notebooks side by side before Sphinx reads them (htcourse.sitebuild.ahead)."""

from __future__ import annotations

import subprocess
import sys

import nbformat


def _notebook(path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


def test_notebooks_run_ahead_into_the_cache_and_a_failure_is_reported_by_myst_nb(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["myst_nb", "htcourse.sitebuild.ahead"]\nnb_execution_mode = "cache"\n'
        'exclude_patterns = ["_build"]\n',
        encoding="utf-8",
    )
    (src / "index.md").write_text("# Book\n\n```{toctree}\none\ntwo\nbroken\n```\n", encoding="utf-8")
    _notebook(src / "one.ipynb", "print('one ran')")
    _notebook(src / "two.ipynb", "print('two ran')")
    _notebook(src / "broken.ipynb", "raise ValueError('broken on purpose')")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(src), str(tmp_path / "_build" / "html")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = build.stdout + build.stderr
    assert "executing 3 notebooks ahead" in log, log
    assert "executed 2 notebooks ahead" in log and "1 failed and run again by myst-nb" in log, log
    # myst-nb took the two from the cache, ran the broken one itself and said why it failed
    assert log.count("Using cached notebook") == 2, log
    assert "broken.ipynb" in log and "Executing notebook failed" in log, log
    assert "one ran" in (tmp_path / "_build" / "html" / "one.html").read_text(encoding="utf-8")

"""Run the book's notebooks before Sphinx reads them, several at a time, into myst-nb's cache.

With ``execute_notebooks: cache`` (``_config.yml``), myst-nb runs each notebook
that is not in its cache when Sphinx reads that page: one after another, while
the other CPUs wait. Before Sphinx reads any page, this runs the notebooks it is
about to read and that the cache lacks with jupyter-cache's own parallel
executor (one process per CPU), with the book's timeout and error setting, in
each notebook's folder as myst-nb would. myst-nb then finds them in the cache.

Nothing changes in what is reported: a notebook that fails here is left out of
the cache, and myst-nb runs it again when it reads the page and reports the
failure as it always has (the build stops: ``allow_errors`` is false).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path, PurePosixPath

from sphinx.util import logging as sphinx_logging

LOGGER = sphinx_logging.getLogger(__name__)


def notebooks_to_run(env, docnames) -> list[Path]:
    """The .ipynb files among ``docnames`` that myst-nb would execute (not excluded by pattern)."""
    excluded = list(env.mystnb_config.execution_excludepatterns or [])
    found = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        if path.suffix != ".ipynb" or not path.is_file():
            continue
        if any(PurePosixPath(path.as_posix()).match(pattern) for pattern in excluded):
            continue
        found.append(path)
    return found


def execute_ahead(app, env, docnames) -> None:
    """``env-before-read-docs``: execute the notebooks about to be read, in parallel, into the cache."""
    config = env.mystnb_config  # myst-nb's settings as it resolved them (the cache's folder included)
    if config.execution_mode != "cache":
        return
    notebooks = notebooks_to_run(env, docnames)
    if len(notebooks) < 2:  # nothing to run side by side
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(config.execution_cache_path)
    todo = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:  # not cached, or cached for other code
            todo.append(str(cache.add_nb_to_project(str(path)).uri))
    if len(todo) < 2:
        return
    LOGGER.info(f"executing {len(todo)} notebooks ahead, side by side (htcourse.sitebuild.ahead)")
    started = time.monotonic()
    quiet = logging.getLogger("htcourse.sitebuild.ahead.executor")
    quiet.setLevel(logging.ERROR)  # a failure is reported by myst-nb, which runs the notebook again
    where = "temp" if config.execution_in_temp else "local"  # myst-nb's choice of working folder
    executor = load_executor(f"{where}-parallel", cache=cache, logger=quiet)
    result = executor.run_and_cache(
        filter_uris=todo, timeout=config.execution_timeout, allow_errors=config.execution_allow_errors
    )
    failed = len(result.errored) + len(result.excepted)
    LOGGER.info(
        f"executed {len(result.succeeded)} notebooks ahead in {time.monotonic() - started:.1f} s"
        + (f"; {failed} failed and run again by myst-nb" if failed else "")
    )


def setup(app) -> dict:
    app.connect("env-before-read-docs", execute_ahead)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

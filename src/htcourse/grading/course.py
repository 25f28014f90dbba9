"""The nbgrader course directory (``assignments/``): its configuration, folders and gradebook.

A :class:`Course` loads ``nbgrader_config.py`` once, as ``nbgrader`` would
when run inside the folder, and hands out configured nbgrader objects, so
that one process can run many nbgrader steps without paying nbgrader's
start-up time for each.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
import warnings
from pathlib import Path

from htcourse.paths import REPO_ROOT

DEFAULT_COURSE_DIR = REPO_ROOT / "assignments"
CONFIG_FILE = "nbgrader_config.py"
#: Seconds SQLite waits for a lock held by another process before giving up.
SQLITE_BUSY_TIMEOUT = 60

#: The grader's own defaults for nbgrader's and nbconvert's settings, under every config file (which may
#: set them otherwise). nbconvert checks a notebook against the notebook format after every step of a pass
#: (eleven steps per submission, plus feedback); checked once after the last step of each pass, a notebook
#: that a step broke still fails, and a graded notebook is the same.
GRADER_DEFAULTS = {"Exporter": {"optimistic_validation": True}}


# nbgrader's gradebook code trips SQLAlchemy 2's autoflush warnings; they are harmless noise.
warnings.filterwarnings("ignore", message=r".*not in session, add operation along", module=r"nbgrader\.")


class CourseError(Exception):
    """The course cannot be used as it is (missing config, assignment not generated, ...)."""


def default_course_dir() -> Path:
    """``$HTCOURSE_COURSE_DIR`` if set; else the current folder if it holds an
    ``nbgrader_config.py`` (as for ``nbgrader`` itself); else ``assignments/`` in the repository."""
    override = os.environ.get("HTCOURSE_COURSE_DIR")
    if override:
        return Path(override).resolve()
    if (Path.cwd() / CONFIG_FILE).is_file():
        return Path.cwd().resolve()
    return DEFAULT_COURSE_DIR


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin/`` first on PATH (nbgrader runs ``alembic`` and kernels from it)."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bindir]:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p != bindir])


@functools.cache
def patch_alembic_version() -> None:
    """Work around nbgrader creating a gradebook by running ``alembic heads`` in a subprocess.

    nbgrader asks a separate ``alembic`` process for the schema version when
    it creates a new gradebook, which fails when the venv is not on PATH and
    costs about a second. The answer is the head revision of nbgrader's own
    migration scripts, which alembic can read in-process.
    """
    try:
        import nbgrader.api as api
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
        if head:
            api.get_alembic_version = lambda: head
    except Exception:  # pragma: no cover - fall back to nbgrader's own subprocess
        ensure_tools_on_path()


class Course:
    """An nbgrader course directory with its configuration loaded.

    ``overrides`` is configuration applied over the course's file, as nbgrader's
    own ``--Class.trait=value`` options are: ``{"BoundedExecute": {"sandbox": False}}``
    is what ``grade --unsandboxed`` passes. Worker processes get the same overrides.
    """

    def __init__(self, root: Path | str | None = None, overrides: dict | None = None):
        self.root = Path(root).resolve() if root else default_course_dir()
        self.overrides = {section: dict(values) for section, values in (overrides or {}).items()}
        if not (self.root / CONFIG_FILE).is_file():
            raise CourseError(f"{self.root / CONFIG_FILE} is missing: is {self.root} an nbgrader course directory?")
        ensure_tools_on_path()
        patch_alembic_version()
        self.config = self._load_config()
        if "root" not in self.config.CourseDirectory:
            self.config.CourseDirectory.root = str(self.root)
        from nbgrader.coursedir import CourseDirectory

        probe = CourseDirectory(config=self.config)
        # The course's config sets root to its own folder; a copied course keeps working.
        self.root = Path(probe.root or self.root).resolve()
        self.course_id = probe.course_id
        self.db_url = probe.db_url
        self.source_dir = self.root / probe.source_directory
        self.release_dir = self.root / probe.release_directory
        self.submitted_dir = self.root / probe.submitted_directory
        self.autograded_dir = self.root / probe.autograded_directory
        self.feedback_dir = self.root / probe.feedback_directory
        self.ignore = list(probe.ignore)
        #: nbgrader's limits on one submitted file and on a submission folder (kilobytes of 1000 bytes).
        self.max_file_size_kb = int(probe.max_file_size)
        self.max_dir_size_kb = int(probe.max_dir_size)

    def _load_config(self):
        """The grader's defaults (:data:`GRADER_DEFAULTS`), then Jupyter's config folders (e.g. a JupyterHub's
        /etc/jupyter), then the course's own file, then the overrides."""
        from jupyter_core.paths import jupyter_config_path
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config(copy.deepcopy(GRADER_DEFAULTS))
        for folder in reversed(jupyter_config_path()):
            if Path(folder, CONFIG_FILE).is_file() and Path(folder).resolve() != self.root:
                config.merge(PyFileConfigLoader(CONFIG_FILE, path=folder).load_config())
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config())
        config.merge(Config(self.overrides))
        return config

    # --- nbgrader objects -------------------------------------------------
    def coursedir(self, **traits):
        """A fresh ``CourseDirectory`` from the config, with ``traits`` set on it."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        coursedir.db_url = self.db_url_with_timeout()
        for name, value in traits.items():
            setattr(coursedir, name, value)
        return coursedir

    def db_url_with_timeout(self) -> str:
        url = self.db_url
        if url.startswith("sqlite:") and "?" not in url:
            url += f"?timeout={SQLITE_BUSY_TIMEOUT}"
        return url

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url_with_timeout(), self.course_id)

    # --- what is there ----------------------------------------------------
    def assignments(self) -> list[str]:
        """The assignments with a source folder, in name order."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[str]:
        """The notebook names (without .ipynb) of an assignment's source."""
        return sorted(p.stem for p in (self.source_dir / assignment).glob("*.ipynb"))

    def source_notebook(self, assignment: str, notebook: str) -> Path:
        return self.source_dir / assignment / f"{notebook}.ipynb"

    def release_notebook(self, assignment: str, notebook: str) -> Path:
        return self.release_dir / assignment / f"{notebook}.ipynb"

    def submission_dir(self, student_id: str, assignment: str) -> Path:
        return self.submitted_dir / student_id / assignment

    def autograded_submission_dir(self, student_id: str, assignment: str) -> Path:
        return self.autograded_dir / student_id / assignment

    def feedback_submission_dir(self, student_id: str, assignment: str) -> Path:
        return self.feedback_dir / student_id / assignment

    def submissions(self, assignment: str) -> list[str]:
        """Student ids with a folder ``submitted/<student>/<assignment>``, in order."""
        if not self.submitted_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.submitted_dir.iterdir() if not p.name.startswith(".") and (p / assignment).is_dir()
        )

    def check_assignment(self, assignment: str) -> None:
        """Raise :class:`CourseError` unless ``assignment`` has a source and is in the gradebook."""
        if assignment not in self.assignments():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(f"unknown assignment {assignment!r} (assignments in {self.source_dir}: {known})")
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise CourseError(
                    f"{assignment} is not in the gradebook yet: run `make assignments` "
                    f"(nbgrader generate_assignment) before grading it"
                ) from None

"""What nbgrader's steps set up again for every submission, set up once per grading process.

Grading one submission opens nbgrader's gradebook about fourteen times (each
step, each preprocessor) and checks the metadata of every cell twice. In
nbgrader 0.9 each opening builds a new SQLAlchemy engine, whose caches of
compiled queries and quoted names start empty, and each metadata check first
checks nbgrader's JSON schema itself, then the cell. :func:`install` keeps,
for the life of the process:

- one engine per gradebook URL (:func:`shared_engine`), without a pool:
  every session still opens and closes its own SQLite connection, with the
  same busy timeout, so the gradebook is written exactly as before;
- one validator per schema, checked once (:class:`CheckedOnce`): the same
  ``jsonschema.validate``, with the same errors;
- the knowledge that a gradebook file holds nbgrader's tables
  (:func:`open_gradebook`): nbgrader looks for every table and creates the
  missing ones each time it opens the gradebook; once it has done so for a
  file in this process, it is not asked again while that file is the same
  one (same device and inode).

Nothing a submission sends changes any of them: the engine holds no data,
the schema is nbgrader's, and the tables are the gradebook's. ``make bench`` measures the gain (the stages
"converter", "sanitise", "autograde rest", "feedback" and "gradebook").
"""

from __future__ import annotations

import json
import os
import threading

_lock = threading.Lock()
_engines: dict = {}


def shared_engine(url, **kwargs):
    """``sqlalchemy.create_engine(url, **kwargs)``, made once per process and URL (no connection pool)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    key = (os.getpid(), str(url), repr(sorted(kwargs.items())))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = sqlalchemy.create_engine(url, poolclass=NullPool, **kwargs)
        return engine


class CheckedOnce:
    """The ``jsonschema`` module, except that :meth:`validate` checks each schema once, not on every call."""

    def __init__(self, module):
        self._module = module
        self._validators: dict[str, object] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def validate(self, instance, schema, cls=None, *args, **kwargs):
        """As ``jsonschema.validate``: raise the best-matching ``ValidationError`` (or ``SchemaError``)."""
        key = json.dumps([schema, repr(cls), repr(args), repr(sorted(kwargs.items()))], sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            if cls is None:
                cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema, *args, **kwargs)
        error = self._module.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


#: The gradebooks known in this process to hold nbgrader's tables: ``(pid, URL, device, inode)``.
_with_tables: set = set()


def _gradebook_file(db_url: str) -> tuple | None:
    """``(pid, URL, device, inode)`` of an SQLite gradebook's file, or None (no file yet, or not SQLite)."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(db_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        info = os.stat(url.database)
    except (OSError, ValueError, TypeError):
        return None
    return (os.getpid(), str(db_url), info.st_dev, info.st_ino)


def open_gradebook(original):
    """nbgrader's ``Gradebook.__init__``, which checks for its tables only the first time a file is opened here.

    ``original`` (nbgrader 0.9's) builds an engine and a session, looks up the
    names of the tables, creates any that are missing (and the alembic version
    of a new gradebook), then checks the course. After it has run once for a
    gradebook file, the same file has every table: later openings build the
    session and check the course only, as ``original`` would have done then.
    """

    def __init__(self, db_url: str, course_id: str = "default_course", authenticator=None):
        key = _gradebook_file(db_url)
        if key is None or key not in _with_tables:
            original(self, db_url, course_id, authenticator)
            key = _gradebook_file(db_url)
            if key is not None:
                with _lock:
                    _with_tables.add(key)
            return
        from nbgrader import api

        self.engine = api.create_engine(db_url, echo=False, future=True)
        self.db = api.scoped_session(api.sessionmaker(autoflush=True, bind=self.engine, future=True))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = authenticator

    __init__.__wrapped__ = original
    __init__.__doc__ = original.__doc__
    return __init__


def install() -> None:
    """Have nbgrader's gradebook and metadata checks, in this process, use the shared engine and validator."""
    from nbgrader import api
    from nbgrader.nbgraderformat import common

    with _lock:
        if api.create_engine is not shared_engine:
            api.create_engine = shared_engine
        if not isinstance(common.jsonschema, CheckedOnce):
            common.jsonschema = CheckedOnce(common.jsonschema)
        if not hasattr(api.Gradebook.__init__, "__wrapped__"):
            api.Gradebook.__init__ = open_gradebook(api.Gradebook.__init__)

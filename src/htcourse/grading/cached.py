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
  ``jsonschema.validate``, with the same errors.

Nothing a submission sends changes either: the engine holds no data, and
the schema is nbgrader's. ``make bench`` measures the gain (the stages
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


def install() -> None:
    """Have nbgrader's gradebook and metadata checks, in this process, use the shared engine and validator."""
    from nbgrader import api
    from nbgrader.nbgraderformat import common

    with _lock:
        if api.create_engine is not shared_engine:
            api.create_engine = shared_engine
        if not isinstance(common.jsonschema, CheckedOnce):
            common.jsonschema = CheckedOnce(common.jsonschema)

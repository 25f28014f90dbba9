"""Answers as plain data: how a graded notebook sends the values its hidden tests need.

When a submission is graded, each hidden-test cell is replaced in the copy
that runs by a call to :func:`send_answers` (see :mod:`htcourse.grading.answers`).
It runs in the student's kernel, looks up the declared names and sends
their values to the grader as one display output of the private MIME type
:data:`MIME`, as JSON. Nothing of the hidden test is in that call. The
grader's trusted checker (:mod:`htcourse.grading.checker`) rebuilds the
values with :func:`decode`, which only ever builds plain Python, numpy and
pandas objects from data: never pickle, never an object of the student's
classes, so no custom ``__eq__`` or ``__float__`` survives the trip.

The format (a JSON value; every tagged value is an object with one key):

- ``null``, ``true``/``false``, integers, strings, lists: themselves;
- a float: a JSON number, or ``{"$float": "nan" | "inf" | "-inf"}``;
- ``{"$tuple": [...]}``, ``{"$set": [...]}``, ``{"$frozenset": [...]}``,
  ``{"$dict": [[key, value], ...]}`` (keys of any reportable type);
- a numpy scalar: ``{"$np": [dtype name, value]}``;
- a numpy array: ``{"$ndarray": {"dtype", "shape", "data"}}`` (data flat);
- a pandas ``Index``/``RangeIndex``: ``{"$index": {"dtype", "name", "data"}}``,
  ``{"$range": [start, stop, step, name]}``;
- a ``Series``: ``{"$series": {"dtype", "name", "index", "data"}}``;
- a ``DataFrame``: ``{"$dataframe": {"columns", "index", "dtypes", "data"}}``,
  pandas' "split" layout (index, columns, data) stored column by column.

Only exact types are reported (a subclass of ``int`` or of ``DataFrame`` is
refused), dtypes come from a fixed list, and nesting is limited. This
module imports nothing but the standard library at load time, because it
is imported in every graded kernel.
"""

from __future__ import annotations

import json
import math

#: The MIME type of an answers message (a display output the grader reads and removes).
MIME = "application/vnd.htcourse.answers+json"
#: Largest answers message of one cell, in bytes of JSON (c.SendAnswers.max_answers_bytes overrides it).
MAX_ANSWERS_BYTES = 20_000_000
MAX_DEPTH = 32

#: dtypes a reported array, Series or DataFrame column may have.
DTYPES = frozenset(
    [
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "object",
        "str",
    ]
)

#: Why a name could not be reported (the grader words them; see checker.problem_line).
UNDEFINED, UNSUPPORTED, TOO_LARGE = "undefined", "unsupported", "too-large"


class Unreportable(Exception):
    """A value of a type (or dtype) that cannot be reported; the message names it."""


# --- in the student's kernel -------------------------------------------------------


#: The tag of a NaN (one object for all of them: it is only ever serialised).
_NAN = {"$float": "nan"}


def _float(value: float):
    if math.isnan(value):
        return _NAN
    if math.isinf(value):
        return {"$float": "inf" if value > 0 else "-inf"}
    return value


def _column(values: list, kind: str) -> list:
    """A list of plain values from ``tolist()``; floats made JSON-safe."""
    if kind in "biu":
        return values
    if kind == "f":  # ``tolist()`` of a float array gives floats: only NaN and the infinities need a tag
        return [v if v - v == 0 else _NAN if v != v else _float(v) for v in values]
    return [v if type(v) in (int, str, bool) or v is None else encode(v, 1) for v in values]


def _dtype_name(dtype) -> str:
    name = str(dtype)
    if name not in DTYPES:
        raise Unreportable(f"dtype {name}")
    return name


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data; raise :class:`Unreportable` for anything else."""
    if depth > MAX_DEPTH:
        raise Unreportable("nesting too deep")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return _float(value)
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, depth + 1) for v in value]}
    if kind in (set, frozenset):
        return {"$" + kind.__name__: [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    module = getattr(kind, "__module__", "") or ""
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.generic) and kind is np.dtype(kind).type:
            return {"$np": [_dtype_name(value.dtype), encode(value.item(), depth + 1)]}
        if kind is np.ndarray:
            name = _dtype_name(value.dtype)
            return {
                "$ndarray": {
                    "dtype": name,
                    "shape": list(value.shape),
                    "data": _column(value.ravel().tolist(), value.dtype.kind),
                }
            }
    if module.startswith("pandas"):
        import pandas as pd

        if kind is pd.RangeIndex:
            return {"$range": [value.start, value.stop, value.step, encode(value.name, depth + 1)]}
        if kind is pd.Index:
            name = _dtype_name(value.dtype)
            return {
                "$index": {
                    "dtype": name,
                    "name": encode(value.name, depth + 1),
                    "data": _column(value.tolist(), value.dtype.kind),
                }
            }
        if kind is pd.Series:
            return {
                "$series": {
                    "dtype": _dtype_name(value.dtype),
                    "name": encode(value.name, depth + 1),
                    "index": encode(value.index, depth + 1),
                    "data": _column(value.tolist(), value.dtype.kind),
                }
            }
        if kind is pd.DataFrame:
            return {
                "$dataframe": {
                    "columns": encode(value.columns, depth + 1),
                    "index": encode(value.index, depth + 1),
                    "dtypes": [_dtype_name(t) for t in value.dtypes],
                    "data": [
                        _column(value.iloc[:, i].tolist(), value.dtypes.iloc[i].kind) for i in range(value.shape[1])
                    ],
                }
            }
    raise Unreportable(f"{module + '.' if module and module != 'builtins' else ''}{kind.__qualname__}")


def _encoded_answers(names: list[str], namespace: dict, max_bytes: int) -> tuple[dict, dict]:
    """``({name: (data, its JSON text)}, {name: [why, detail]})`` for the names of one cell."""
    answers: dict = {}
    problems: dict = {}
    used = 0
    for name in names:
        if name not in namespace:
            problems[name] = [UNDEFINED, ""]
            continue
        try:
            data = encode(namespace[name])
            text = json.dumps(data, allow_nan=False)
        except Unreportable as exc:
            problems[name] = [UNSUPPORTED, str(exc)[:80]]
            continue
        except (RecursionError, ValueError, TypeError, OverflowError) as exc:
            problems[name] = [UNSUPPORTED, type(exc).__name__]
            continue
        size = len(text)
        if used + size > max_bytes:
            problems[name] = [TOO_LARGE, str(size)]
            continue
        used += size
        answers[name] = (data, text)
    return answers, problems


def build_answers_message(cell_id: str, names: list[str], namespace: dict, max_bytes: int = MAX_ANSWERS_BYTES) -> dict:
    """The answers message of one cell: ``{"cell", "answers": {name: data}, "problems": {name: [why, detail]}}``."""
    answers, problems = _encoded_answers(names, namespace, max_bytes)
    return {"cell": cell_id, "answers": {name: data for name, (data, _) in answers.items()}, "problems": problems}


def answers_text(cell_id: str, names: list[str], namespace: dict, max_bytes: int = MAX_ANSWERS_BYTES) -> str:
    """:func:`build_answers_message` as JSON text, made of each answer's text (each answer serialised once)."""
    answers, problems = _encoded_answers(names, namespace, max_bytes)
    body = ", ".join(f"{json.dumps(name)}: {text}" for name, (_, text) in answers.items())
    return f'{{"cell": {json.dumps(cell_id)}, "answers": {{{body}}}, "problems": {json.dumps(problems)}}}'


def send_answers(cell_id: str, names: list[str], namespace: dict, max_bytes: int = MAX_ANSWERS_BYTES) -> None:
    """Send the answers message of one cell to the grader (called in the student's kernel).

    The message travels as JSON text, ``{"cell": cell_id, "json": text}``: the kernel
    has serialised each answer once already (to measure it), and a report of a table
    is read by the grader as one string instead of a hundred thousand values, then
    read as data only in the trusted checker (:func:`htcourse.grading.checker.unpack_report`).
    """
    from IPython.display import display

    display({MIME: {"cell": cell_id, "json": answers_text(cell_id, names, namespace, max_bytes)}}, raw=True)


# --- in the grader's trusted checker ---------------------------------------------------


class BadReport(ValueError):
    """A report that does not follow the format (forged or damaged)."""


def _check_dtype(name) -> str:
    if not isinstance(name, str) or name not in DTYPES:
        raise BadReport(f"dtype {name!r} is not allowed")
    return name


_PLAIN = (int, str, bool, float, type(None))


def _plain_list(data, depth: int) -> list:
    if type(data) is not list:
        raise BadReport("expected a list")
    # a NaN (often most of a column) read here; each a float of its own, as decode() makes it
    return [v if type(v) in _PLAIN else float("nan") if v == _NAN else decode(v, depth + 1) for v in data]


def decode(data, depth: int = 0):
    """The value that :func:`encode` encoded, built only from data; raise :class:`BadReport` otherwise."""
    if depth > MAX_DEPTH + 4:
        raise BadReport("nesting too deep")
    kind = type(data)
    if data is None or kind in (bool, int, str, float):
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise BadReport("unknown value")
    ((tag, body),) = data.items()
    if tag == "$float":
        if body not in ("nan", "inf", "-inf"):
            raise BadReport("bad float")
        return float(body)
    if tag in ("$tuple", "$set", "$frozenset"):
        items = _plain_list(body, depth)
        return {"$tuple": tuple, "$set": set, "$frozenset": frozenset}[tag](items)
    if tag == "$dict":
        if type(body) is not list or any(type(p) is not list or len(p) != 2 for p in body):
            raise BadReport("bad dict")
        return {decode(k, depth + 1): decode(v, depth + 1) for k, v in body}
    import numpy as np

    if tag == "$np":
        if type(body) is not list or len(body) != 2:
            raise BadReport("bad numpy scalar")
        if _check_dtype(body[0]) in ("object", "str") or type(body[1]) not in (bool, int, float, dict):
            raise BadReport("bad numpy scalar")
        return np.dtype(body[0]).type(decode(body[1], depth + 1))
    if type(body) is not dict and tag != "$range":
        raise BadReport("bad body")
    import pandas as pd

    if tag == "$ndarray":
        shape = body.get("shape")
        if type(shape) is not list or any(type(s) is not int or s < 0 for s in shape):
            raise BadReport("bad shape")
        return np.array(_plain_list(body.get("data"), depth), dtype=_check_dtype(body.get("dtype"))).reshape(shape)
    if tag == "$range":
        if type(body) is not list or len(body) != 4 or any(type(v) is not int for v in body[:3]):
            raise BadReport("bad range")
        return pd.RangeIndex(body[0], body[1], body[2], name=decode(body[3], depth + 1))
    if tag == "$index":
        return pd.Index(
            _plain_list(body.get("data"), depth),
            dtype=_check_dtype(body.get("dtype")),
            name=decode(body.get("name"), depth + 1),
        )
    if tag == "$series":
        index = _index(body.get("index"), depth)
        values = _plain_list(body.get("data"), depth)
        if len(values) != len(index):
            raise BadReport("a Series whose index and values differ in length")
        return pd.Series(
            values, index=index, dtype=_check_dtype(body.get("dtype")), name=decode(body.get("name"), depth + 1)
        )
    if tag == "$dataframe":
        index = _index(body.get("index"), depth)
        columns = _index(body.get("columns"), depth)
        dtypes = body.get("dtypes")
        data = body.get("data")
        if type(dtypes) is not list or type(data) is not list or not len(dtypes) == len(data) == len(columns):
            raise BadReport("bad DataFrame")
        series = []
        for dtype, values in zip(dtypes, data):
            values = _plain_list(values, depth)
            if len(values) != len(index):
                raise BadReport("a DataFrame column of the wrong length")
            series.append(pd.Series(values, index=index, dtype=_check_dtype(dtype)))
        frame = pd.concat(series, axis=1, ignore_index=True) if series else pd.DataFrame(index=index)
        frame.columns = columns
        return frame
    raise BadReport(f"unknown tag {tag[:20]!r}")


def _index(data, depth: int):
    import pandas as pd

    value = decode(data, depth + 1)
    if type(value) not in (pd.Index, pd.RangeIndex):
        raise BadReport("expected an index")
    return value

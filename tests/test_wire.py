"""Unit tests of htcourse.grading.wire: answers travel as plain data, and forgeries build nothing else."""

from __future__ import annotations

import json

import pytest


def test_answers_travel_as_plain_data_and_forgeries_build_nothing_else():
    import numpy as np
    import pandas as pd

    from htcourse.grading import wire

    frame = pd.DataFrame(
        {"a": [1, 2, 3], "b": [0.5, float("nan"), 2.0], "c": ["x", None, "z"], "d": [True, False, True]},
        index=[10, 20, 30],
    )
    values = [
        3,
        2.5,
        float("inf"),
        "text",
        None,
        True,
        (1, "a"),
        {1: [2, 3]},
        {4, 5},
        np.int64(7),
        np.float32(1.5),
        np.bool_(False),
        np.arange(6).reshape(2, 3),
        frame,
        frame["b"],
        frame.index,
    ]
    for value in values:
        back = wire.decode(json.loads(json.dumps(wire.encode(value), allow_nan=False)))
        assert type(back) is type(value)
        if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
            assert value.equals(back) and str(getattr(value, "dtypes", getattr(value, "dtype", ""))) == str(
                getattr(back, "dtypes", getattr(back, "dtype", ""))
            )
        elif isinstance(value, np.ndarray):
            assert (value == back).all() and value.dtype == back.dtype
        else:
            assert back == value or (value != value and back != back)

    class Sneaky(int):
        def __eq__(self, other):
            return True

    class Frame(pd.DataFrame):
        pass

    report = wire.build_answers_message("q1", ["a", "b", "c", "d"], {"a": Sneaky(1), "b": Frame(frame), "c": lambda: 1})
    assert report["answers"] == {}
    assert {k: v[0] for k, v in report["problems"].items()} == {
        "a": wire.UNSUPPORTED,
        "b": wire.UNSUPPORTED,
        "c": wire.UNSUPPORTED,
        "d": wire.UNDEFINED,
    }
    too_big = wire.build_answers_message("q1", ["big"], {"big": "x" * 1000}, max_bytes=100)
    assert too_big["problems"]["big"][0] == wire.TOO_LARGE
    for forged in [
        {"$np": ["V8", 1]},
        {"$np": ["object", 1]},
        {"$pickle": "gASV"},
        {"$float": "1e400x"},
        {"a": 1, "b": 2},
        {"$ndarray": {"dtype": "int64", "shape": [2], "data": [1, {"$eval": "1"}]}},
        {"$series": {"dtype": "int64", "name": None, "index": [1], "data": [1]}},
    ]:
        with pytest.raises(wire.BadReport):
            wire.decode(forged)


def test_float_columns_and_nans_take_a_short_way_with_the_same_result():
    import math

    import numpy as np
    import pandas as pd

    from htcourse.grading import wire

    values = np.array([0.5, float("nan"), float("inf"), -float("inf"), -0.0, 1e308, float("nan")]).tolist()
    assert wire._column(values, "f") == [wire.encode(v, 1) for v in values]
    frame = pd.DataFrame({"x": values, "s": pd.Series(["a", None, "c", "d", None, "f", "g"], dtype="str")})
    data = json.loads(json.dumps(wire.encode(frame), allow_nan=False))
    back = wire.decode(data)
    assert back.equals(frame) and list(back.dtypes) == list(frame.dtypes)
    listed = wire.decode(json.loads(json.dumps(wire.encode([float("nan"), 1.0, float("nan")]))))
    assert math.isnan(listed[0]) and math.isnan(listed[2]) and listed[0] is not listed[2]  # each NaN its own
    assert listed != [listed[2], 1.0, listed[0]], "as before: two NaNs of a report are never the same object"
    for forged in ({"$float": "nan", "x": 1}, {"$float": "NaN"}, {"$float": ["nan"]}):
        with pytest.raises(wire.BadReport):
            wire.decode(
                {"$series": {"dtype": "float64", "name": None, "index": {"$range": [0, 1, 1, None]}, "data": [forged]}}
            )

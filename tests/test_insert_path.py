"""The fast insert path keeps its meaning: mixed column sets, all-default rows, numpy scalars."""

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import numpy as np

import typedj as tj
from typedj import Attr, Key, Manual


def test_one_call_with_rows_that_give_different_columns(schema: tj.Schema) -> None:
    @schema
    class Sample(Manual):
        sample_id: Key[int]
        mass: float = 1.0
        label: str = Attr(max_length=16, default="none")
        note: str | None = None

    Sample.insert([
        {"sample_id": 1},
        {"sample_id": 2, "label": "b"},
        {"note": "c", "sample_id": 3, "mass": 3.5},  # keys in any order
        {"sample_id": 4, "label": "d", "mass": 4.0, "note": None},
    ])
    assert Sample.to_dicts(order_by="KEY") == [
        {"sample_id": 1, "mass": 1.0, "label": "none", "note": None},
        {"sample_id": 2, "mass": 1.0, "label": "b", "note": None},
        {"sample_id": 3, "mass": 3.5, "label": "none", "note": "c"},
        {"sample_id": 4, "mass": 4.0, "label": "d", "note": None},
    ]


def test_rows_of_defaults_only_and_one_column_tables(schema: tj.Schema) -> None:
    @schema
    class Counter(Manual):
        counter_id: Key[int] = Attr(auto_increment=True)
        label: str = "x"

    @schema
    class Flag(Manual):
        on: bool = False

    Counter.insert([{}, {}, {"label": "y"}])
    assert Counter.to_dicts(order_by="KEY") == [
        {"counter_id": 1, "label": "x"}, {"counter_id": 2, "label": "x"}, {"counter_id": 3, "label": "y"}
    ]
    Flag.insert1({})
    assert Flag.to_dicts() == [{"on": False}]


def test_numpy_scalars_of_every_kind_are_stored_as_python_values(schema: tj.Schema) -> None:
    @schema
    class Trial(Manual):
        trial_id: Key[tj.int16]
        rate: float
        weight: Decimal = Attr(precision=5, scale=2)
        name: str = Attr(max_length=8)
        outcome: Literal["hit", "miss"]
        ok: bool
        day: date
        stamp: datetime
        optional: float | None = None

    row = {"trial_id": np.int16(7), "rate": np.float32(0.5), "weight": np.float64(1.25),
           "name": np.str_("ann"), "outcome": np.str_("hit"), "ok": np.bool_(True),
           "day": np.datetime64("2024-02-03"),
           "stamp": np.datetime64("2024-02-03T04:05:06"), "optional": np.float64("nan")}
    Trial.insert([row])
    assert Trial.to_dicts() == [
        {"trial_id": 7, "rate": 0.5, "weight": Decimal("1.25"), "name": "ann", "outcome": "hit", "ok": True,
         "day": date(2024, 2, 3), "stamp": datetime(2024, 2, 3, 4, 5, 6), "optional": None}
    ]
    assert isinstance(row["day"], np.datetime64) and math.isnan(row["optional"])  # caller's row untouched

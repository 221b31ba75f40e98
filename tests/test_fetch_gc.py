"""Results are built with the cyclic collector paused (and it is always given back as found),
batch by batch, with the same types whichever way a batch is converted."""

from __future__ import annotations

import gc
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

import typedj as tj


def test_collector_paused_while_building_and_restored(schema: tj.Schema) -> None:
    seen: list[bool] = []

    class Probe(tj.Manual):
        probe_id: tj.Key[int]

    schema(Probe)
    Probe.insert([{"probe_id": i} for i in range(3)])
    from typedj.query import fetch as fetch_module

    real = fetch_module._instances_of_rows

    def spy(cls: type, names: list[str], rows: list[object]) -> list[object]:
        seen.append(gc.isenabled())
        return real(cls, names, rows)  # type: ignore[arg-type]

    fetch_module._instances_of_rows = spy  # type: ignore[assignment]
    try:
        assert len(Probe.fetch()) == 3
        assert sorted(p.probe_id for p in Probe) == [0, 1, 2]
    finally:
        fetch_module._instances_of_rows = real  # type: ignore[assignment]
    assert seen == [False, False]
    assert gc.isenabled()


def test_collector_restored_after_an_error_and_left_off_when_off(schema: tj.Schema) -> None:
    @schema
    class Item(tj.Manual):
        item_id: tj.Key[int]

    Item.insert1({"item_id": 1})
    with pytest.raises(tj.TypedjError):
        Item.fetch("no_such_attribute")
    assert gc.isenabled()
    gc.disable()
    try:
        assert Item.to_dicts() == [{"item_id": 1}]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_to_arrays_in_batches_widens_a_column_that_meets_null(
    schema: tj.Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from typedj.query import fetch as fetch_module

    @schema
    class Sample(tj.Manual):
        sample_id: tj.Key[int]
        count: int | None = None
        weight: float | None = None
        label: str = tj.Attr(max_length=8)

    Sample.insert([
        {"sample_id": i, "count": None if i == 7 else i * 10, "weight": None if i == 2 else i / 2,
         "label": f"s{i}"}
        for i in range(10)
    ])
    whole = Sample.to_arrays(order_by="KEY")
    monkeypatch.setattr(fetch_module, "_ARRAY_BATCH", 3)
    batched = Sample.to_arrays(order_by="KEY")
    assert batched.dtype == whole.dtype
    assert batched.dtype["count"] == np.dtype(object) and batched.dtype["weight"] == np.float64
    assert batched["count"].tolist() == [0, 10, 20, 30, 40, 50, 60, None, 80, 90]
    assert np.isnan(batched["weight"][2]) and batched["weight"][9] == 4.5
    assert batched["label"].tolist() == [f"s{i}" for i in range(10)]
    assert (Sample & "sample_id < 7").to_arrays(order_by="KEY")["count"].dtype == np.int64
    empty = (Sample & "sample_id > 100").to_arrays()
    assert len(empty) == 0 and empty.dtype.names == ("sample_id", "count", "weight", "label")
    n = (Sample.proj(n="sample_id * 2")).to_arrays(order_by="KEY")["n"]
    assert n.dtype == np.int64 and n.tolist() == [2 * i for i in range(10)]


def test_to_arrays_types_and_values_for_every_kind(
    schema: tj.Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch by batch, each column keeps its type, decoded columns (booleans, wide unsigned
    integers, dates, decimals, UUIDs) included, and a batch that meets a NULL in an integer
    column widens that column for the whole result."""
    import numpy as np

    from typedj.query import fetch as fetch_module

    @schema
    class Kinds(tj.Manual):
        kind_id: tj.Key[int]
        flag: bool
        big: tj.uint64
        value: float | None
        day: date
        weight: Decimal = tj.Attr(precision=6, scale=2)
        tag: UUID | None = None
        count: int | None = None

    tags = [UUID(int=i + 1) for i in range(6)]
    Kinds.insert([
        {"kind_id": i, "flag": i % 2 == 0, "big": 2**64 - 1 - i, "value": None if i == 4 else i / 4,
         "day": date(2024, 1, 1 + i), "weight": Decimal(f"{i}.25"), "tag": tags[i] if i != 3 else None,
         "count": None if i == 5 else i}
        for i in range(6)
    ])
    monkeypatch.setattr(fetch_module, "_ARRAY_BATCH", 3)  # the second batch meets the NULL count
    arr = Kinds.to_arrays(order_by="KEY")
    types = {n: arr.dtype[n] for n in arr.dtype.names or ()}
    assert types == {"kind_id": np.int64, "flag": np.bool_, "big": np.uint64, "value": np.float64,
                     "day": object, "weight": object, "tag": object, "count": object}
    assert arr["flag"].tolist() == [True, False, True, False, True, False]
    assert arr["big"].tolist() == [2**64 - 1 - i for i in range(6)]
    assert np.isnan(arr["value"][4]) and arr["value"][[0, 1, 5]].tolist() == [0.0, 0.25, 1.25]
    assert arr["day"].tolist() == [date(2024, 1, 1 + i) for i in range(6)]
    assert arr["weight"].tolist() == [Decimal(f"{i}.25") for i in range(6)]
    assert arr["tag"].tolist() == [tags[0], tags[1], tags[2], None, tags[4], tags[5]]
    assert arr["count"].tolist() == [0, 1, 2, 3, 4, None]
    first = (Kinds & "kind_id < 3").to_arrays(order_by="KEY")
    assert first.dtype["count"] == np.int64 and first["count"].tolist() == [0, 1, 2]

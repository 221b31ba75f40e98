"""Results are built with the cyclic collector paused, and it is always given back as found."""

from __future__ import annotations

import gc

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

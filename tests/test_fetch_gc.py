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

    real = fetch_module._instances

    def spy(cls: type, names: list[str], data: list[object]) -> list[object]:
        seen.append(gc.isenabled())
        return real(cls, names, data)

    fetch_module._instances = spy  # type: ignore[assignment]
    try:
        assert len(Probe.fetch()) == 3
        assert sorted(p.probe_id for p in Probe) == [0, 1, 2]
    finally:
        fetch_module._instances = real  # type: ignore[assignment]
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

"""Iterating a query yields every row, whatever else runs on the connection meanwhile."""

from __future__ import annotations

import pytest

import typedj as tj

N = 10_000  # more than two of the stream's 4,096-row batches


def _tables(schema: tj.Schema) -> tuple[type, type]:
    @schema
    class Reading(tj.Manual):
        reading_id: tj.Key[int]
        value: float

    @schema
    class Copy(tj.Manual):
        copy_id: tj.Key[int]
        value: float

    Reading.insert([{"reading_id": i, "value": i / 4} for i in range(N)])
    return Reading, Copy


def test_a_query_inside_the_loop_body(schema: tj.Schema) -> None:
    Reading, Copy = _tables(schema)
    seen = []
    for row in Reading:
        seen.append(row.reading_id)
        if row.reading_id % 1000 == 0:
            assert len(Copy) == row.reading_id // 1000
            Copy.insert1({"copy_id": row.reading_id, "value": row.value})
    assert sorted(seen) == list(range(N))
    assert sorted(Copy.fetch("copy_id").tolist()) == list(range(0, N, 1000))


def test_a_query_after_every_row_inside_a_transaction(schema: tj.Schema, conn: tj.Connection) -> None:
    Reading, Copy = _tables(schema)
    with conn.transaction():
        count = 0
        for row in Reading & "reading_id < 6000":
            Copy.insert1({"copy_id": row.reading_id, "value": row.value * 2})
            count += 1
    assert count == 6000
    assert len(Copy) == 6000
    assert Copy.fetch("value", order_by="KEY")[-1] == 5999 / 2


def test_a_second_iterator(schema: tj.Schema) -> None:
    Reading, _ = _tables(schema)
    outer = iter(Reading)
    first = [next(outer).reading_id for _ in range(10)]
    inner = [r.reading_id for r in Reading & "reading_id < 5000"]
    rest = [r.reading_id for r in outer]
    assert sorted(inner) == list(range(5000))
    assert sorted(first + rest) == list(range(N))


def test_nested_iteration_interleaved(schema: tj.Schema) -> None:
    Reading, _ = _tables(schema)
    a, b = iter(Reading & "reading_id < 5000"), iter(Reading & "reading_id >= 5000")
    got = []
    for x, y in zip(a, b, strict=True):
        got += [x.reading_id, y.reading_id]
    assert sorted(got) == list(range(N))


def test_an_exception_mid_iteration_leaves_the_connection_usable(
    schema: tj.Schema, conn: tj.Connection
) -> None:
    Reading, Copy = _tables(schema)

    def walk() -> None:
        for row in Reading:
            if row.reading_id == 5000 or len(Copy) > 0:
                raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        walk()
    assert conn.query("SELECT 7").fetchone() == (7,)
    assert len(Reading) == N
    assert sorted(r.reading_id for r in Reading) == list(range(N))
    with pytest.raises(ValueError):
        for _ in Reading:
            raise ValueError("at once")
    Copy.insert1({"copy_id": 1, "value": 1.0})
    assert Copy.fetch1("value") == 1.0


def test_an_abandoned_iterator_then_a_fetch(schema: tj.Schema) -> None:
    Reading, _ = _tables(schema)
    it = iter(Reading)
    next(it)
    assert len(Reading.fetch()) == N  # the pending stream does not end this result early
    assert 1 + sum(1 for _ in it) == N  # nor is it ended by the fetch
    del it

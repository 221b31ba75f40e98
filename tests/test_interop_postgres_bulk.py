"""PostgreSQL's bulk paths (``typedj/backend/postgres_bulk.py``): ``COPY`` for plain inserts,
multi-row ``VALUES`` for ``skip_duplicates``, one row per statement for ``replace``; each
writes every value as the one-row path does, all or nothing, and counts what it wrote."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, Key, Manual

pytest.importorskip("psycopg", reason="psycopg 3 (the PostgreSQL driver) is not installed")


@pytest.fixture
def pg_schema(request: pytest.FixtureRequest, postgres_url: str) -> Any:
    conn = tj.connect(postgres_url)
    name = f"t_bulk_{request.node.name.lower()[:24]}_{os.getpid() % 10000}"
    schema = tj.Schema(name, connection=conn)
    yield schema
    conn.query(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def declare(schema: tj.Schema) -> Any:
    @schema
    class Sample(Manual):
        sample_id: Key[int]
        label: str = Attr(max_length=64)
        note: str | None = Attr(max_length=200, default=None)
        value: float | None = None
        amount: Decimal = Attr(precision=8, scale=3, default=Decimal("0"))
        day: date | None = None
        seen: datetime | None = Attr(precision=6, default=None)
        uid: uuid.UUID | None = None
        meta: dict[str, Any] | None = None
        flag: bool = False
        kind: Literal["a", "b'c"] = "a"
        raw: bytes | None = None
        data: Blob[Any] | None = None

    return Sample


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Values that text protocols trip on: quotes, tabs, newlines, backslashes, NULs in bytes."""
    out = []
    for i in range(start, start + n):
        out.append({
            "sample_id": i, "label": f"l\t{i}\n'\"\\N", "note": None if i % 3 else f"n{i}",
            "value": None if i % 5 == 0 else i / 7, "amount": Decimal(i) / 8,
            "day": date(2024, 1, 1 + i % 28),
            "seen": datetime(2024, 2, 3, 4, 5, 6, i % 1000000), "uid": uuid.UUID(int=i),
            "meta": {"i": i, "s": "x\ty"}, "flag": bool(i % 2), "kind": "b'c" if i % 2 else "a",
            "raw": bytes([0, 255, 92, i % 256]), "data": np.arange(i % 4, dtype=np.int16),
        })
    return out


def assert_equal(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for name, value in w.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(g[name], value)
                assert g[name].dtype == value.dtype
            else:
                assert g[name] == value, (name, g[name], value)


def test_a_large_plain_insert_goes_by_copy_and_reads_back_exactly(pg_schema: tj.Schema) -> None:
    Sample = declare(pg_schema)
    want = rows(600)
    assert Sample.insert(want) == 600
    assert_equal(Sample.to_dicts(order_by="KEY"), want)

    # all or nothing: a duplicate key anywhere in the batch writes none of it
    with pytest.raises(tj.DuplicateError, match=r"Key \(sample_id\)=\(5\) already exists"):
        Sample.insert(rows(300, start=600) + rows(1, start=5))
    assert len(Sample) == 600
    with pytest.raises(tj.IntegrityError):  # a NULL in a NOT NULL column, by COPY too
        pg_schema.connection.executemany(
            f'INSERT INTO "{pg_schema.name}"."sample" ("sample_id", "label") VALUES (%s, %s)',
            [(i, None) for i in range(1000, 1200)])
    assert len(Sample) == 600


def test_skip_duplicates_goes_by_multi_row_statements_and_counts_what_it_wrote(pg_schema: tj.Schema) -> None:
    Sample = declare(pg_schema)
    Sample.insert(rows(10))
    batch = rows(2500)  # three statements: MAX_ROWS_PER_STATEMENT rows each
    assert Sample.insert(batch, skip_duplicates=True) == 2500
    assert_equal(Sample.to_dicts(order_by="KEY"), batch)
    d = pg_schema.connection.dialect
    sql = d.insert(pg_schema.name, "sample", ["sample_id", "label"], skip_duplicates=True)
    written = pg_schema.connection.executemany(sql, [(i, "x") for i in range(2400, 3600)])
    assert written.rowcount == 1100  # 100 of the 1,200 keys were there


def test_replace_keeps_the_last_row_of_a_key_named_twice(pg_schema: tj.Schema) -> None:
    Sample = declare(pg_schema)
    Sample.insert(rows(3))
    Sample.insert([{"sample_id": 1, "label": "first"}, {"sample_id": 1, "label": "second"},
                   {"sample_id": 7, "label": "new"}], replace=True)
    got = {r["sample_id"]: r["label"] for r in Sample.to_dicts()}
    assert got[1] == "second" and got[7] == "new" and len(got) == 4


def test_results_stream_and_a_statement_in_between_reads_the_rest_first(pg_schema: tj.Schema) -> None:
    """Rows arrive chunk by chunk (``postgres_stream``); a statement sent while a result
    streams waits for that result to be read to its end; a result left half-read frees the
    session."""
    Sample = declare(pg_schema)
    Sample.insert(rows(5000))
    seen = []
    for n, row in enumerate(Sample):
        seen.append(row.sample_id)
        if n == 10:  # a second statement mid-stream
            assert len(Sample & {"flag": True}) == 2500
    assert sorted(seen) == list(range(5000))
    stream = pg_schema.connection.stream(f'SELECT sample_id FROM "{pg_schema.name}"."sample" ORDER BY 1')
    assert stream.next_batch(3) == [[0, 1, 2]]
    stream.close()
    assert pg_schema.connection.query("SELECT 41 + 1").fetchone()[0] == 42

"""The fast fetch path gives exactly what pymysql's own row parsing gives, for every column type."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

import typedj as tj
from typedj.backend.mysql.rows import read_columns

pytestmark = pytest.mark.requires("mysql_server", reason="reads MySQL's wire protocol")

COLUMNS = """
  id int NOT NULL, tiny tinyint, small smallint unsigned, big bigint, fl float, db double,
  dec1 decimal(10,3), d date, dt datetime(3), ts timestamp NULL DEFAULT NULL, t time(6), y year,
  c char(3), vc varchar(300), tx mediumtext, bin varbinary(20), bl longblob,
  e enum('a','b'), js longtext, bits bit(5), PRIMARY KEY (id)
"""


def test_every_type_matches_pymysql(conn: tj.Connection, schema_name: str) -> None:
    conn.query(f"CREATE DATABASE `{schema_name}`")
    table = f"`{schema_name}`.`types`"
    conn.query(f"CREATE TABLE {table} ({COLUMNS})")
    rows = [
        (
            1,
            -5,
            65535,
            -(2**62),
            1.5,
            2.25,
            Decimal("-12.345"),
            date(2024, 2, 29),
            datetime(2024, 1, 2, 3, 4, 5, 678000),
            datetime(2020, 5, 6, 7, 8, 9),
            timedelta(hours=-30, microseconds=7),
            2024,
            "abc",
            "é" * 300,
            "x" * 70_000,
            b"\x00\xff\x01",
            b"\x00" * 300 + b"\xfe" * 70_000,
            "b",
            '{"a": [1, 2]}',
            5,
        ),
        (2, *([None] * 19)),
        (
            3,
            0,
            0,
            0,
            0.0,
            -0.0,
            Decimal("0"),
            date(1, 1, 1),
            datetime(9999, 12, 31, 23, 59, 59),
            None,
            timedelta(0),
            1901,
            "",
            "",
            "",
            b"",
            b"",
            "a",
            "null",
            0,
        ),
    ]
    conn.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 20)})", rows)
    sql = f"SELECT * FROM {table} ORDER BY id"
    expected = conn.query(sql).fetchall()
    cursor = conn.query(sql, stream=True)
    columns = read_columns(cursor)
    cursor.close()
    assert columns is not None
    got = list(zip(*columns, strict=True))
    assert got == list(expected)
    for a, b in zip(got, expected, strict=True):
        assert [type(v) for v in a] == [type(v) for v in b]
    assert conn.query("SELECT 1").fetchone() == (1,)  # the connection is in step afterwards


def test_empty_result_and_reuse_inside_a_transaction(conn: tj.Connection, schema: tj.Schema) -> None:
    @schema
    class Thing(tj.Manual):
        thing_id: tj.Key[int]
        label: str = tj.Attr(max_length=8)

    with conn.transaction():
        Thing.insert([{"thing_id": i, "label": f"t{i}"} for i in range(5)])
        assert Thing.to_dicts(order_by="KEY", limit=0) == []
        assert (Thing & {"thing_id": 3}).fetch1("label") == "t3"
        assert len(Thing) == 5
    assert [t.label for t in Thing.fetch(order_by="KEY DESC")] == ["t4", "t3", "t2", "t1", "t0"]


def test_fallback_for_a_buffered_cursor(conn: tj.Connection) -> None:
    cursor = conn.query("SELECT 1")
    assert read_columns(cursor) is None
    assert cursor.fetchall() == ((1,),)


def test_streaming_in_batches(conn: tj.Connection, schema: tj.Schema) -> None:
    @schema
    class Many(tj.Manual):
        many_id: tj.Key[int]
        value: float | None = None

    Many.insert([{"many_id": i, "value": None if i % 7 == 0 else i / 2} for i in range(10_000)])
    cursor = conn.query(Many._query().sql + " ORDER BY many_id", stream=True)
    first = read_columns(cursor, 4096)
    second = read_columns(cursor, 4096)
    third = read_columns(cursor, 4096)
    assert first is not None and second is not None and third is not None
    assert [len(first[0]), len(second[0]), len(third[0])] == [4096, 4096, 10_000 - 8192]
    assert read_columns(cursor, 4096) is None  # the result has been read to its end
    cursor.close()
    assert third[0][-1] == 9999 and first[1][:3] == [None, 0.5, 1.0]
    rows = list(Many)
    assert len(rows) == 10_000 and sorted(r.many_id for r in rows) == list(range(10_000))
    assert conn.query("SELECT 2").fetchone() == (2,)

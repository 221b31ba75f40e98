"""A corpus of edge values per type, run on every backend: each value either reads back
exactly or is refused by validation, before anything is sent, with the same error on
every backend (a ``ValidationError`` naming table, row and attribute)."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, Key, Manual
from typedj.validation import JSON_MAX_DEPTH

SAME = object()
REFUSED = object()
NUL = object()
"""Read back exactly where the server stores the NUL character in text, else refused."""
ZERO = object()
"""Zero of either sign: MySQL and SQLite drop the sign of -0.0, PostgreSQL keeps it."""
F32_MAX = 3.4028234663852886e38
PLUS5 = timezone(timedelta(hours=5))


def declare(schema: tj.Schema) -> type[Manual]:
    @schema
    class Corpus(Manual):
        id: Key[int]
        i8: tj.int8 | None = None
        u8: tj.uint8 | None = None
        i64: tj.int64 | None = None
        u32: tj.uint32 | None = None
        f32: tj.float32 | None = None
        f64: float | None = None
        f64_strict: float = 0.0
        dec: Decimal | None = Attr(precision=6, scale=2, default=None)
        text: str | None = Attr(max_length=8, default=None)
        enum: Literal["a", "it's", "ü"] | None = None
        day: date | None = None
        moment: datetime | None = Attr(precision=6, default=None)
        clock: time | None = None
        uid: UUID | None = None
        doc: dict[str, Any] | None = None
        raw: bytes | None = None
        flag: bool | None = None

    return Corpus


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"k": value}  # the dict is one more level


CORPUS: list[tuple[str, Any, Any]] = [
    ("i8", -128, SAME), ("i8", 127, SAME), ("i8", 128, REFUSED), ("i8", -129, REFUSED),
    ("u8", 0, SAME), ("u8", 255, SAME), ("u8", -1, REFUSED), ("u8", 256, REFUSED),
    ("i64", -(2**63), SAME), ("i64", 2**63 - 1, SAME), ("i64", 2**63, REFUSED),
    ("u32", 2**32 - 1, SAME), ("u32", 2**32, REFUSED),
    ("f32", 1.5, SAME), ("f32", -0.25, SAME), ("f32", 1e39, REFUSED), ("f32", -1e39, REFUSED),
    ("f32", 3.5e38, REFUSED), ("f32", math.inf, REFUSED),
    ("f64", 1.7976931348623157e308, SAME), ("f64", 5e-324, SAME), ("f64", -0.0, ZERO),
    ("f64", math.inf, REFUSED), ("f64", -math.inf, REFUSED), ("f64", math.nan, None),
    ("f64_strict", math.nan, REFUSED), ("f64_strict", math.inf, REFUSED),
    ("f32", np.float32("nan"), None), ("f64", np.float64("nan"), None), ("f32", np.float32(0.5), 0.5),
    ("f32", np.float32("inf"), REFUSED), ("f64_strict", np.float32("nan"), REFUSED),
    ("dec", Decimal("9999.99"), SAME), ("dec", Decimal("-9999.99"), SAME),
    ("dec", Decimal("10000.00"), REFUSED), ("dec", Decimal("1.001"), REFUSED),
    ("dec", Decimal("NaN"), REFUSED), ("dec", Decimal("Infinity"), REFUSED),
    ("text", "", SAME), ("text", "a\x00b", NUL), ("text", "😀😀😀😀😀😀😀😀", SAME),
    ("text", "ünï'\"\\%_", SAME), ("text", "123456789", REFUSED),
    ("text", "a\ud800b", REFUSED), ("doc", {"k": "a\udfffb"}, REFUSED),
    ("enum", "it's", SAME), ("enum", "ü", SAME), ("enum", "A", REFUSED), ("enum", "", REFUSED),
    ("day", date(1000, 1, 1), SAME), ("day", date(9999, 12, 31), SAME),
    ("moment", datetime(9999, 12, 31, 23, 59, 59, 999999), SAME),
    ("moment", datetime(2024, 2, 29, 12, 0, 0, 1), SAME),
    ("moment", datetime(2024, 1, 1, 12, 0, tzinfo=PLUS5), REFUSED),
    ("moment", datetime(2024, 1, 1, 12, 0, tzinfo=UTC), REFUSED),
    ("moment", "2024-01-01T12:00:00+05:00", REFUSED),
    ("clock", time(0, 0), SAME), ("clock", time(23, 59, 59), SAME),
    ("clock", time(12, 0, tzinfo=PLUS5), REFUSED),
    ("uid", UUID(int=0), SAME), ("uid", UUID(int=2**128 - 1), SAME), ("uid", "not-a-uuid", REFUSED),
    ("doc", {"a": [1, 2.5, None, True, "x\x00😀"]}, NUL), ("doc", {"k\x00": 1}, NUL), ("doc", {"": {}}, SAME),
    ("doc", {"a": math.nan}, REFUSED), ("doc", {"a": [math.inf]}, REFUSED),
    ("doc", _nest(JSON_MAX_DEPTH), SAME), ("doc", _nest(JSON_MAX_DEPTH + 1), REFUSED),
    ("doc", _nest(3000), REFUSED),
    ("raw", b"", SAME), ("raw", bytes(range(256)) * 4, SAME),
    ("flag", True, SAME), ("flag", False, SAME),
]


def _label(case: tuple[str, Any, Any]) -> str:
    name, value, _ = case
    return f"{name}={str(value)[:24]!r}"


@pytest.fixture
def corpus_table(schema: tj.Schema) -> type[Manual]:
    return declare(schema)


def test_value_corpus(corpus_table: type[Manual], conn: tj.Connection) -> None:
    """Every case at once (one table, one schema): fast on every backend."""
    nul = SAME if conn.dialect.supports_nul_in_text else REFUSED
    cases = [(name, value, nul if expected is NUL else expected) for name, value, expected in CORPUS]
    failures = []
    for row_id, case in enumerate(cases):
        name, value, expected = case
        if expected is REFUSED:
            with pytest.raises(tj.ValidationError) as info:
                corpus_table.insert1({"id": row_id, name: value})
            err = info.value
            if err.table != "Corpus" or err.attribute != name or err.problems[0].row != 0:
                failures.append(f"{_label(case)}: error names {err.table}/{err.attribute}: {err}")
            continue
        corpus_table.insert1({"id": row_id, name: value})
        got = (corpus_table & {"id": row_id}).fetch1(name)
        want = value if expected is SAME else expected
        if expected is ZERO:
            if got != 0.0 or type(got) is not float:
                failures.append(f"{_label(case)}: read back {got!r}")
            continue
        if got != want or type(got) is not type(want) or (
            isinstance(want, float) and math.copysign(1, want) != math.copysign(1, got)
        ):
            failures.append(f"{_label(case)}: read back {got!r}")
    assert failures == []
    refused = sum(1 for c in cases if c[2] is REFUSED)
    assert len(corpus_table) == len(cases) - refused  # the refused wrote nothing
    assert failures == []


def test_refusal_names_row_in_a_batch(corpus_table: type[Manual]) -> None:
    rows = [
        {"id": 1, "f64": 1.0}, {"id": 2, "doc": {"x": math.nan}}, {"id": 3, "clock": time(1, tzinfo=PLUS5)}
    ]
    with pytest.raises(tj.ValidationError) as info:
        corpus_table.insert(rows)
    assert [(p.row, p.attribute) for p in info.value.problems] == [(1, "doc"), (2, "clock")]
    assert "naive" in str(info.value)  # says what to give instead of an aware time
    assert len(corpus_table) == 0


@pytest.fixture
def small_limit(conn: tj.Connection, schema_name: str) -> Iterator[tj.Schema]:
    """A schema on a connection whose server takes at most 64 KiB per statement (MySQL)
    or per value (SQLite): the real limits, lowered so the test stays small."""
    if conn.dialect.name == "sqlite":
        old = conn.raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 65536)
        try:
            yield tj.Schema(schema_name, connection=conn)
        finally:
            conn.raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, old)
        return
    old = conn.query("SELECT @@global.max_allowed_packet").fetchone()[0]
    conn.query("SET GLOBAL max_allowed_packet = 65536")
    small = tj.Connection(conn.url)  # a new session reads the new limit
    try:
        yield tj.Schema(schema_name, connection=small)
    finally:
        small.close()
        conn.query(f"SET GLOBAL max_allowed_packet = {int(old)}")


@pytest.mark.requires("lowered_size_limit", reason="the test lowers the server's size limit to stay small")
def test_values_beyond_the_servers_limit_are_refused(small_limit: tj.Schema) -> None:
    @small_limit
    class Payload(Manual):
        id: Key[int]
        data: Blob[bytes] | None = None
        raw: bytes | None = None

    fits = b"\x00" * 20_000 + bytes(range(256)) * 40  # escaped, ~50 KB on MySQL
    Payload.insert([{"id": 1, "data": fits, "raw": b"ok"}])
    with pytest.raises(tj.ValidationError) as info:
        Payload.insert([
            {"id": 2, "raw": b"x"},
            {"id": 3, "raw": b"\n" * 66_000},
            {"id": 4, "data": random.Random(0).randbytes(70_000)},
        ])
    assert [(p.row, p.attribute) for p in info.value.problems] == [(1, "raw"), (2, "data")]
    assert info.value.table == "Payload" and "External" in str(info.value)
    assert Payload.fetch("id") == [1]  # nothing of the batch was written
    assert (Payload & {"id": 1}).fetch1("data") == fits


def test_uint64_full_range(schema: tj.Schema) -> None:
    """The largest legal uint64 is stored and read back exactly on every backend."""

    @schema
    class Big(Manual):
        id: Key[tj.uint64]
        n: tj.uint64

    values = [0, 2**63 - 1, 2**63, 2**64 - 1]
    Big.insert([{"id": v, "n": v} for v in values])
    assert sorted(Big.fetch("id")) == values
    assert (Big & {"id": 2**64 - 1}).fetch1("n") == 2**64 - 1
    assert sorted((Big & [{"id": 2**63}, {"id": 2**64 - 1}]).fetch("n")) == [2**63, 2**64 - 1]
    assert len(Big - {"id": 2**63}) == 3
    (Big & {"id": 2**63}).delete()
    assert sorted(Big.fetch("id")) == [0, 2**63 - 1, 2**64 - 1]
    for bad in (2**64, -1):
        with pytest.raises(tj.ValidationError):
            Big.insert1({"id": bad, "n": 0})

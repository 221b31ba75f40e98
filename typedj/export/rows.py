"""Rows as the database holds them: read in batches, written unchanged, compared by content.

Values stay encoded (blobs as their serialized bytes, stored objects as their JSON
references), so a copy holds byte for byte what the original holds; only the driver
level differs between servers, and the dialect's decoder evens that out (SQLite's
ISO text becomes the ``date``/``Decimal``/``timedelta`` that pymysql returns).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from .. import codecs
from ..backend.connection import Connection
from ..heading import Attribute, Heading, TableDef
from ..query.expression import Query
from ..query.fetch import statement

ROWS_PER_BATCH = 2000
BLOB_ROWS_PER_BATCH = 32
"""Rows that may hold large values go in small batches, so memory stays bounded."""


def batch_size(heading: Heading) -> int:
    big = any(a.kind in {"blob", "bytes", "attach", "json"} for a in heading)
    return BLOB_ROWS_PER_BATCH if big else ROWS_PER_BATCH


def read(query: Query[Any], batch: int | None = None) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """The rows of ``query`` (every column, hidden ones too) as driver values, a batch at a time."""
    sql, params, names = statement(query)
    conn = query.connection
    size = batch or batch_size(query.heading)
    normalize = [(i, fn) for i, n in enumerate(names) if (fn := conn.dialect.decoder(query.heading[n]))]
    cursor = conn.query(sql, params, stream=True)
    try:
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield names, normalized(rows, normalize)
    finally:
        cursor.close()


def normalized(rows: Sequence[Sequence[Any]], normalize: list[tuple[int, Any]]) -> list[tuple[Any, ...]]:
    if not normalize:
        return [tuple(r) for r in rows]
    columns = [list(c) for c in zip(*rows, strict=True)]
    for i, fn in normalize:
        present = [j for j, v in enumerate(columns[i]) if v is not None]
        if present:
            values = fn([columns[i][j] for j in present])
            for j, v in zip(present, values, strict=True):
                columns[i][j] = v
    return list(zip(*columns, strict=True))


def write(conn: Connection, table: TableDef, names: Sequence[str], rows: Sequence[tuple[Any, ...]],
          *, skip_duplicates: bool = True) -> None:
    """Insert driver values as they are: no validation, no codecs (they were valid where they came from)."""
    if rows:
        sql = conn.dialect.insert(table.schema, table.name, list(names), skip_duplicates=skip_duplicates)
        attrs = [table.heading.get(n) for n in names]
        encode = [(i, fn) for i, a in enumerate(attrs) if a is not None and (fn := conn.dialect.encoder(a))]
        conn.executemany(sql, normalized(rows, encode))


def python_keys(conn: Connection, heading: Heading, names: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Key values as Python values (``UUID``, ``date``...), which restrictions take."""
    ctx = codecs.Context("", "", conn)
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]
    for i, name in enumerate(names):
        decode = codecs.decoder(heading[name], ctx)
        if decode is not None:
            columns[i] = decode(columns[i])
    return [dict(zip(names, r, strict=True)) for r in zip(*columns, strict=True)]


def comparable(attr: Attribute, value: Any) -> Any:
    """A driver value in a form equal across servers (bytes-likes, numbers, text)."""
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, Decimal):
        return value.normalize()
    if attr.kind == "bool" and value is not None:
        return bool(value)
    if attr.kind == "float" and value is not None:
        return float(value)
    return value

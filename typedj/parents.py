"""Why the server refused an insert's foreign key: which rows name a parent that is missing.

SQLite says only "FOREIGN KEY constraint failed" and MySQL names the constraint but not
the values; after a refusal, this asks the parent tables which referenced keys exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .backend.connection import Connection
from .heading import TableDef

_CHUNK = 200
_SHOWN = 5

Encode = Callable[[str, list[Any]], list[Any]]
"""Turns the values of a column into what the driver binds (the column's codec)."""


def missing_parents(
    conn: Connection, table: TableDef, rows: Sequence[dict[str, Any]], encode: Encode
) -> list[str]:
    """One line per row (at most five) whose reference finds no parent row."""
    found: list[str] = []
    for fk in table.foreign_keys:
        local = list(fk.attr_map)
        first: dict[tuple[Any, ...], int] = {}
        for i, row in enumerate(rows):
            key = tuple(row.get(c) for c in local)
            if None not in key:
                first.setdefault(key, i)
        if not first:
            continue
        given = list(first)
        sent = list(zip(*(encode(c, [k[n] for k in given]) for n, c in enumerate(local)), strict=True))
        columns = [fk.attr_map[c] for c in local]
        present = _present(conn, fk.parent_schema, fk.parent_table, columns, sent)
        for key, bound in zip(given, sent, strict=True):
            if tuple(bound) in present:
                continue  # a value the server returns differently (a date on SQLite) is asked again
            if not _exists(conn, fk.parent_schema, fk.parent_table, columns, bound):
                shown = ", ".join(f"{fk.attr_map[c]}={v!r}" for c, v in zip(local, key, strict=True))
                found.append(f"row {first[key]}: no row of {fk.parent_schema}.{fk.parent_table} with {shown}")
                if len(found) >= _SHOWN:
                    return found
    return found


def _present(
    conn: Connection, schema: str, table: str, columns: list[str], keys: list[tuple[Any, ...]]
) -> set[tuple[Any, ...]]:
    """The keys among ``keys`` that the parent has, as the server returns them."""
    dialect = conn.dialect
    one = "(" + " AND ".join(f"{dialect.quote(c)} = {dialect.placeholder}" for c in columns) + ")"
    names = ", ".join(dialect.quote(c) for c in columns)
    out: set[tuple[Any, ...]] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        sql = f"SELECT {names} FROM {dialect.table(schema, table)} WHERE {' OR '.join([one] * len(chunk))}"
        out.update(tuple(r) for r in conn.query(sql, [v for k in chunk for v in k]).fetchall())
    return out


def _exists(conn: Connection, schema: str, table: str, columns: list[str], values: Sequence[Any]) -> bool:
    dialect = conn.dialect
    where = " AND ".join(f"{dialect.quote(c)} = {dialect.placeholder}" for c in columns)
    sql = f"SELECT EXISTS(SELECT 1 FROM {dialect.table(schema, table)} WHERE {where})"
    return bool(conn.query(sql, list(values)).fetchone()[0])

"""Many rows into PostgreSQL in few statements: ``COPY`` or multi-row ``VALUES``.

psycopg's ``executemany`` sends one Bind/Execute per row (pipelined, yet the server plans
and runs each); a multi-row ``INSERT ... VALUES (...), (...)`` runs once per up to 1,000
rows, and ``COPY ... FROM STDIN`` streams rows with no statement per row at all. ``COPY``
cannot skip or replace duplicates, so it takes only plain inserts; ``ON CONFLICT DO
NOTHING`` (``skip_duplicates``) goes by multi-row ``VALUES``; ``ON CONFLICT ... DO UPDATE``
(``replace``) stays one row per statement, because one statement cannot update a row twice
and a batch may name a key twice (the last row wins, as with MySQL's ``REPLACE``).
Each path is all-or-nothing inside the caller's transaction, and a refused row raises the
server's own error (``duplicate key value ... Key (id)=(5) already exists``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

COPY_MIN_ROWS = 100
"""Below this, a multi-row INSERT is as fast as COPY and simpler for the server."""
MAX_ROWS_PER_STATEMENT = 1000
MAX_PARAMS = 65535
"""PostgreSQL's protocol counts a statement's parameters in 16 bits."""

_NAME = r'"(?:[^"]|"")+"'
_INSERT = re.compile(
    rf"INSERT INTO (?P<table>{_NAME}\.{_NAME}) \((?P<columns>{_NAME}(?:, {_NAME})*)\) "
    r"VALUES \((?P<marks>%s(?:, %s)*)\)(?P<tail>(?: ON CONFLICT DO NOTHING)?)\Z"
)


@dataclass(frozen=True)
class Written:
    """The rows several statements wrote, reported as a cursor reports them."""

    rowcount: int


def write_rows(cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
    """Run the single-row INSERT ``sql`` for every row of ``rows`` by the fastest path it
    allows; anything else by ``executemany``. Returns what reports the rows written."""
    match = _INSERT.match(sql) if len(rows) > 1 else None
    if match is None:
        cursor.executemany(sql, rows)
        return cursor
    table, columns, tail = match["table"], match["columns"], match["tail"]
    if not tail and len(rows) >= COPY_MIN_ROWS:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return cursor
    width = match["marks"].count("%s")
    per = max(1, min(MAX_ROWS_PER_STATEMENT, MAX_PARAMS // width))
    one = f"({match['marks']})"
    written = 0
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        values = ", ".join([one] * len(chunk))
        params = [v for row in chunk for v in row]
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}{tail}", params)
        written += max(0, cursor.rowcount)
    return Written(written)

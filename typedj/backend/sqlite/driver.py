"""SQLite: the ``sqlite3`` driver (a file in WAL mode, MySQL's functions, value adapters)."""

from __future__ import annotations

import math
import os
import sqlite3
import statistics
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from ...codecs.core import Unsigned64
from ...config import DatabaseURL
from ...errors import (
    DuplicateError,
    IntegrityError,
    MissingTableError,
    QueryError,
    QueryInterruptedError,
    TypedjError,
    UnreachableError,
)
from ..driver import Driver
from ..failures import shown_sql, unknown_column
from .dialect import _CATALOG, _SCHEMAS

BUSY_TIMEOUT_MS = 300_000
"""How long a writer waits for another process's write transaction (a ``make``) to finish."""

_SETUP = (
    f'CREATE TABLE IF NOT EXISTS "{_SCHEMAS}" (schema_name TEXT NOT NULL PRIMARY KEY) STRICT',
    f'CREATE TABLE IF NOT EXISTS "{_CATALOG}" ('
    "schema_name TEXT NOT NULL, table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "sql_type TEXT NOT NULL, comment TEXT NOT NULL, auto_increment INTEGER NOT NULL, "
    "PRIMARY KEY (schema_name, table_name, column_name)) STRICT",
)


# -- the sqlite3 module's conversions ---------------------------------------------------------


def _time_text(value: time | timedelta) -> str:
    if isinstance(value, time):
        return value.isoformat()
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    seconds = abs(total)
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    text = f"{sign}{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{text}.{micro:06d}" if micro else text


def _item(value: Any) -> Any:
    return value.item()


def _register_adapters() -> None:
    import numpy as np

    sqlite3.register_adapter(date, date.isoformat)
    sqlite3.register_adapter(datetime, lambda v: v.isoformat(" "))
    sqlite3.register_adapter(time, _time_text)
    sqlite3.register_adapter(timedelta, _time_text)
    sqlite3.register_adapter(Decimal, float)
    sqlite3.register_adapter(UUID, lambda v: v.bytes)
    sqlite3.register_adapter(bytearray, bytes)
    sqlite3.register_adapter(Unsigned64, lambda v: int(v) - 2**64)
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        sqlite3.register_adapter(t, _item)
    for f in (np.float16, np.float32, np.float64):
        sqlite3.register_adapter(f, _item)
    sqlite3.register_adapter(np.bool_, int)
    sqlite3.register_adapter(np.str_, str)


_register_adapters()


class _Std:
    """MySQL's ``std``/``stddev`` aggregate (population standard deviation)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return statistics.pstdev(self.values) if self.values else None


def _now(precision: int = 0) -> str:
    text = datetime.now().isoformat(" ", timespec="microseconds" if precision else "seconds")
    return text[: 20 + precision] if precision else text


def add_functions(raw: sqlite3.Connection) -> None:
    """A few MySQL functions that pipelines use in restrictions and projections."""
    raw.create_function("now", -1, _now)
    raw.create_function("connection_id", 0, os.getpid)
    pure = {"deterministic": True}
    raw.create_function("concat", -1, lambda *a: None if None in a else "".join(str(x) for x in a), **pure)
    raw.create_function("greatest", -1, lambda *a: None if None in a else max(a), **pure)
    raw.create_function("least", -1, lambda *a: None if None in a else min(a), **pure)
    raw.create_function("sqrt", 1, lambda v: None if v is None or v < 0 else math.sqrt(v), **pure)
    raw.create_function("pow", 2, lambda a, b: None if a is None or b is None else a**b, **pure)
    for name in ("std", "stddev", "stddev_pop"):
        raw.create_aggregate(name, 1, _Std)  # type: ignore[arg-type]


def connect_sqlite(url: DatabaseURL) -> sqlite3.Connection:
    """A new ``sqlite3`` connection in autocommit mode: WAL, foreign keys on, busy timeout."""
    path = url.path or ":memory:"
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).expanduser())
    raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA foreign_keys = ON")
    add_functions(raw)
    for sql in _SETUP:
        raw.execute(sql)
    return raw


def connect_read_only(url: DatabaseURL) -> sqlite3.Connection:
    """A ``sqlite3`` connection that can only read a complete file (its write-ahead log
    folded in), so SQLite reads it without the lock files it would otherwise create."""
    path = Path(url.path).resolve()
    raw = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None,
                          timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    add_functions(raw)
    return raw


_SYNTAX = ("near ", "no such function", "wrong number of arguments", "misuse of",
           "unrecognized token", "incomplete input", "ambiguous column name", "aggregate functions are",
           "a GROUP BY clause is required", "1st ORDER BY term", "2nd ORDER BY term", "row value misused",
           "sub-select returns", "no such collation")
"""Starts of SQLite's messages for a statement it cannot parse or run as written."""


def _sqlite_errors(exc: BaseException, sql: str | None) -> TypedjError | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    message = str(exc)
    code = getattr(exc, "sqlite_errorname", None)
    where: dict[str, Any] = {"sql": sql, "server_message": message, "code": code}
    if code in {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}:
        return DuplicateError(f"duplicate entry: {message}", **where)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(message, **where)
    if code == "SQLITE_INTERRUPT" or message == "interrupted":
        return QueryInterruptedError(f"the statement was interrupted: {message}", **where)
    if isinstance(exc, sqlite3.OperationalError) and message.startswith("no such table"):
        return MissingTableError(message, **where)
    if isinstance(exc, sqlite3.OperationalError) and message.startswith("no such column"):
        return unknown_column(message, sql, None)
    if isinstance(exc, sqlite3.OperationalError) and message.startswith(_SYNTAX):
        return QueryError(f"SQLite cannot run the query: {message}\n  SQL: {shown_sql(sql)}", **where)
    return None


class SQLiteDriver(Driver):
    """``sqlite3``: one file, opened by every process that uses it (``read_only``: opened
    as an immutable file that nothing writes)."""

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only

    def connect(self, url: DatabaseURL) -> Any:
        if sqlite3.sqlite_version_info < (3, 37, 0):
            raise TypedjError(
                f"the embedded backend needs SQLite 3.37 or newer; this Python has {sqlite3.sqlite_version}"
            )
        return connect_read_only(url) if self.read_only else connect_sqlite(url)

    def translate(self, exc: BaseException, sql: str | None) -> TypedjError | None:
        return _sqlite_errors(exc, sql)

    def connect_error(self, url: DatabaseURL, exc: BaseException) -> TypedjError | None:
        return UnreachableError(f"cannot reach the database: {url.path}: {exc}", server_message=str(exc))

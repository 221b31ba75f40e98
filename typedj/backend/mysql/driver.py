"""MySQL / MariaDB: the pymysql driver (connections, streaming cursors, error codes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pymysql
import pymysql.converters
import pymysql.cursors

from ...codecs.core import Unsigned64
from ...config import DatabaseURL
from ...errors import (
    AccessError,
    DeadlockError,
    DuplicateError,
    IntegrityError,
    MissingTableError,
    QueryError,
    QueryInterruptedError,
    TypedjError,
    UnreachableError,
)
from ..driver import Columns, Driver
from ..failures import shown_sql, unknown_column
from .rows import read_columns

_LOST = {2006, 2013, 2055, 4031}
_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}
_LOGIN_REFUSED = {1044, 1045, 1698}

_SYNTAX = {1064, 1111, 1149, 1305, 1318, 1582, 1583, 1584, 1630, 1052, 1056, 1140, 1247, 1248}
"""MySQL errors of a statement that cannot be parsed or run as written (unknown function,
bad grouping, wrong argument count, ambiguous name); an unknown column is an
``UnknownAttributeError`` (query/fetch.py)."""

_INTERRUPTED = {1317, 1028, 3024, 1969}


def _mysql_errors(exc: BaseException, sql: str | None) -> TypedjError | None:
    if not isinstance(exc, pymysql.err.MySQLError) or not exc.args:
        return None
    code = exc.args[0] if isinstance(exc.args[0], int) else None
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    where: dict[str, Any] = {"sql": sql, "server_message": message, "code": code}
    if code == 1062:
        return DuplicateError(f"duplicate entry: {message}", **where)
    if code in {1451, 1452, 1216, 1217, 1048}:
        return IntegrityError(message, **where)
    if code in {1044, 1045, 1142, 1143, 1227, 1370, 1698}:
        return AccessError(message, **where)
    if code in {1213, 1205}:
        return DeadlockError(message, **where)
    if code in {1146, 1049}:
        return MissingTableError(message, **where)
    if code in _INTERRUPTED:
        return QueryInterruptedError(f"the server stopped the statement: {message}", **where)
    if code == 1054:
        return unknown_column(message, sql, code)
    if code in _SYNTAX:
        return QueryError(f"the server cannot run the query: {message}\n  SQL: {shown_sql(sql)}", **where)
    return None


_CONVERSIONS = {
    **pymysql.converters.conversions,
    Unsigned64: pymysql.converters.escape_int,
    UUID: lambda value, mapping=None: pymysql.converters.escape_bytes(value.bytes),
}
"""pymysql's conversions, with typedj's marked uint64 values sent as plain integers and
UUIDs as their 16 bytes (``binary(16)``)."""


def connect_mysql(url: DatabaseURL) -> Any:
    """A new pymysql connection in autocommit mode with DataJoint's session settings."""
    ssl: dict[str, Any] | None = {"ssl": {}} if url.tls else None
    return pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password,
        autocommit=True,
        charset="utf8mb4",
        init_command="SET SESSION sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_ALL_TABLES,"
        "NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'",
        local_infile=False,
        conv=_CONVERSIONS,
        **(ssl or {}),
    )


class MySQLDriver(Driver):
    """pymysql: unbuffered (server-side) cursors read straight into columns."""

    one_result_at_a_time = True

    def connect(self, url: DatabaseURL) -> Any:
        return connect_mysql(url)

    def executemany(self, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """One row (a make's ``insert1``) as a plain statement: pymysql's ``executemany``
        first parses the INSERT to batch its rows, wasted work for one."""
        if len(rows) == 1:
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)
        return cursor

    def stream_cursor(self, raw: Any) -> Any:
        return raw.cursor(pymysql.cursors.SSCursor)

    def read_columns(self, cursor: Any, max_rows: int | None = None) -> Columns | None:
        return read_columns(cursor, max_rows)

    def translate(self, exc: BaseException, sql: str | None) -> TypedjError | None:
        return _mysql_errors(exc, sql)

    def is_lost(self, exc: BaseException) -> bool:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        closed = code == 0 and isinstance(exc, pymysql.err.InterfaceError)  # the socket is gone
        return code in _LOST or closed or super().is_lost(exc)

    def connect_error(self, url: DatabaseURL, exc: BaseException) -> TypedjError | None:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        message = str(exc.args[1]) if code is not None and len(exc.args) > 1 else str(exc)
        if code in _LOGIN_REFUSED:
            return AccessError(
                f"{url}: the server refused the login (check the user and password): {message}",
                login=True, server_message=message, code=code,
            )
        if code in _UNREACHABLE or isinstance(exc, OSError):
            return UnreachableError(f"cannot reach the database: {url}: {message}",
                                    server_message=message, code=code)
        return None

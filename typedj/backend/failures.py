"""Driver exceptions as typed errors: the one place a driver's exception becomes a
``TypedjError`` (its driver's reading first, then the generic one)."""

from __future__ import annotations

import re

from ..errors import QueryError, ServerError, TypedjError, UnknownAttributeError
from .driver import Driver

_SHOWN_SQL = 2000


def shown_sql(sql: str | None) -> str:
    """The statement as error messages show it: at most the first 2,000 characters."""
    if not sql:
        return ""
    return sql if len(sql) <= _SHOWN_SQL else sql[:_SHOWN_SQL] + f" ... ({len(sql)} characters)"


_UNKNOWN_COLUMN = re.compile(r"Unknown column '(?:[^']*\.)?([^'.]+)'|no such column: (?:\S*\.)?(\w+)")


def unknown_column(message: str, sql: str | None, code: int | str | None) -> UnknownAttributeError:
    """The server's "unknown column" (a name in SQL text) as UnknownAttributeError."""
    match = _UNKNOWN_COLUMN.search(message)
    name = (match.group(1) or match.group(2)) if match else None
    return UnknownAttributeError(
        f"the query names an attribute it does not have: {name!r} ({message})", attribute=name,
        sql=sql, server_message=message, code=code,
    )


def translate_error(exc: BaseException, sql: str | None, driver: Driver) -> TypedjError:
    """``exc`` as a typed error: the driver's translation first, then ``ServerError`` for
    other driver errors and ``QueryError`` for parameters the driver could not send (a
    ``TypeError``/``ValueError``/``OverflowError`` it raised)."""
    if isinstance(exc, TypedjError):
        return exc
    result = driver.translate(exc, sql)
    if result is not None:
        return result
    message = str(exc)
    if isinstance(exc, TypeError | ValueError | OverflowError):
        return QueryError(f"the database driver cannot send this statement's values: {message}",
                          sql=sql, server_message=message)
    statement = f"\n  SQL: {shown_sql(sql)}" if sql else ""
    return ServerError(f"the database refused the statement: {message}{statement}",
                       sql=sql, server_message=message)

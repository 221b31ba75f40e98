"""Driver exceptions as typed errors: the one place a driver's exception becomes a
``TypedjError`` (its driver's reading first, then the generic one)."""

from __future__ import annotations

import re

from ..errors import QueryError, ServerError, TypedjError, UnknownAttributeError
from .driver import Driver

_SHOWN_SQL = 2000
_SECRET = re.compile(r"\bIDENTIFIED\b|\bPASSWORD\b", re.IGNORECASE)
_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'")
MASK = "***"


def sets_secret(sql: str) -> bool:
    """Whether ``sql`` may carry a password (``IDENTIFIED BY``, ``PASSWORD``)."""
    return _SECRET.search(sql) is not None


def masked(sql: str) -> str:
    """``sql`` with every string literal masked when it may carry a password."""
    return _STRING.sub(f"'{MASK}'", sql) if sets_secret(sql) else sql


def _scrubbed(value: object, secrets: list[str]) -> object:
    if not isinstance(value, str):
        return value
    for secret in secrets:
        value = value.replace(secret, MASK)
    return value


def scrub(exc: BaseException, sql: str) -> None:
    """Mask, in ``exc`` and in the driver's exception chained to it, the string literals of
    a statement that may carry a password (servers quote the statement in their messages)."""
    if not sets_secret(sql):
        return
    secrets = sorted({m[1:-1] for m in _STRING.findall(sql) if len(m) > 2}, key=len, reverse=True)
    for error in (exc, exc.__cause__, exc.__context__):
        if error is None:
            continue
        error.args = tuple(_scrubbed(a, secrets) for a in error.args)
        if isinstance(error, TypedjError) and error.server_message:
            error.server_message = str(_scrubbed(error.server_message, secrets))


def shown_sql(sql: str | None) -> str:
    """The statement as messages and logs show it: passwords masked, at most the first
    2,000 characters."""
    if not sql:
        return ""
    sql = masked(sql)
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
    if sql and sets_secret(sql):
        error = _translate(exc, masked(sql), driver)
        scrub(exc, sql)
        scrub(error, sql)
        return error
    return _translate(exc, sql, driver)


def _translate(exc: BaseException, sql: str | None, driver: Driver) -> TypedjError:
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

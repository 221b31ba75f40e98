"""The statement log: every statement a connection runs, with its parameters, at DEBUG on
the ``typedj.sql`` logger. Passwords never appear (a statement that sets one has its
parameters and string literals masked); long values are abbreviated."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .failures import MASK, sets_secret, shown_sql

log = logging.getLogger("typedj.sql")

_LONG_BYTES = 32
_LONG_TEXT = 200
_SHOWN_ROWS = 3


def shown_value(value: Any) -> str:
    """One parameter as the log shows it: long bytes and text abbreviated."""
    if isinstance(value, bytes | bytearray | memoryview):
        size = len(value)
        return f"<{size} bytes>" if size > _LONG_BYTES else repr(bytes(value))
    if isinstance(value, str) and len(value) > _LONG_TEXT:
        return repr(value[:_LONG_TEXT]) + f"... ({len(value)} characters)"
    return repr(value)


def _row(params: Sequence[Any], secret: bool) -> str:
    return "(" + ", ".join(MASK if secret else shown_value(v) for v in params) + ")"


def logged(
    sql: str, params: Sequence[Any] | None = None, *, rows: Sequence[Sequence[Any]] | None = None
) -> None:
    """Log one statement (``rows``: the parameter rows of an ``executemany``)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    secret = sets_secret(sql)
    text = shown_sql(sql)
    if rows is not None:
        shown = ", ".join(_row(r, secret) for r in rows[:_SHOWN_ROWS])
        more = f", ... ({len(rows)} rows)" if len(rows) > _SHOWN_ROWS else ""
        log.debug("%s -- rows: %s%s", text, shown, more)
    elif params:
        log.debug("%s -- params: %s", text, _row(params, secret))
    else:
        log.debug("%s", text)

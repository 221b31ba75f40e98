"""The psycopg 3 boundary: opening a PostgreSQL session, and its errors as typed errors.

Sessions run in autocommit mode, as DataJoint's do; transactions are opened explicitly.
A session's ``search_path`` is left alone: every table name typedj writes is qualified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import DatabaseURL
from ..errors import (
    AccessError,
    DeadlockError,
    DuplicateError,
    IntegrityError,
    MissingTableError,
    QueryError,
    QueryInterruptedError,
    TypedjError,
)
from .driver import Driver
from .failures import shown_sql
from .postgres_bulk import write_rows
from .postgres_stream import StreamingCursor

_LOST_STATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"}


def connect_postgres(url: DatabaseURL) -> Any:
    """A new psycopg connection in autocommit mode (the password is passed, never shown).

    ``json``/``jsonb`` values arrive as their text, as from the other drivers: the json
    codec parses them once, and raw values copy between servers (export, import) as they are.
    """
    import psycopg
    from psycopg.types.string import TextLoader

    raw = psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password or None,
        dbname=url.path or "postgres",
        sslmode="require" if url.tls else "prefer",
        connect_timeout=10,
        autocommit=True,
        application_name="typedj",
    )
    for name in ("json", "jsonb"):
        raw.adapters.register_loader(name, TextLoader)
    return raw


def is_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the session is gone (the server restarted, the socket closed)."""
    import psycopg

    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = getattr(exc, "sqlstate", None)
        if state is None or state in _LOST_STATES:
            return True
    return False


def translate(exc: BaseException, sql: str | None) -> TypedjError | None:
    """psycopg's exceptions, by SQLSTATE, as typed errors; None for anything else."""
    try:
        import psycopg
    except ImportError:
        return None
    if not isinstance(exc, psycopg.Error):
        return None

    state = exc.sqlstate or ""
    diag = exc.diag
    message = diag.message_primary or str(exc)
    if diag.message_detail:
        message += f" ({diag.message_detail})"
    where: dict[str, Any] = {"sql": sql, "server_message": message, "code": state}
    if state == "23505":
        return DuplicateError(f"duplicate entry: {message}", **where)
    if state.startswith("23"):
        return IntegrityError(message, **where)
    if state in {"42501", "28000", "28P01"}:
        return AccessError(message, **where)
    if state in {"40P01", "40001", "55P03"}:
        return DeadlockError(message, **where)
    if state in {"42P01", "3F000"}:
        return MissingTableError(message, **where)
    if state in {"57014"}:
        return QueryInterruptedError(f"the server stopped the statement: {message}", **where)
    if state.startswith("42"):
        return QueryError(f"the server cannot run the query: {message}\n  SQL: {shown_sql(sql)}", **where)
    return None


class PostgresDriver(Driver):
    """psycopg 3 in autocommit mode; results are streamed (``postgres_stream``)."""

    one_result_at_a_time = True

    def stream_cursor(self, raw: Any) -> Any:
        return StreamingCursor(raw.cursor())

    def connect(self, url: DatabaseURL) -> Any:
        return connect_postgres(url)

    def translate(self, exc: BaseException, sql: str | None) -> TypedjError | None:
        return translate(exc, sql)

    def executemany(self, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return write_rows(cursor, sql, rows)

    def is_lost(self, exc: BaseException) -> bool:
        return is_lost(exc) or super().is_lost(exc)

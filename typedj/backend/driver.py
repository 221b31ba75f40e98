"""The driver interface: the boundary between typedj and one DB-API module."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..config import DatabaseURL
from ..errors import TypedjError, UnreachableError

Columns = list[list[Any]]


class Driver(ABC):
    """Opens DB-API connections for one backend and reads its exceptions."""

    one_result_at_a_time: bool = False
    """A streamed result must be read to its end before the session sends another
    statement (MySQL's protocol); see ``backend.stream``."""

    @abstractmethod
    def connect(self, url: DatabaseURL) -> Any:
        """A new DB-API connection in autocommit mode with typedj's session settings."""

    def executemany(self, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Run ``sql`` once per row of ``rows``; returns what reports the ``rowcount``
        (the cursor, unless a driver writes the rows by statements of its own)."""
        cursor.executemany(sql, rows)
        return cursor

    def stream_cursor(self, raw: Any) -> Any:
        """A cursor whose rows are read from the server in batches (a server-side cursor)."""
        return raw.cursor()

    def read_columns(self, cursor: Any, max_rows: int | None = None) -> Columns | None:
        """The remaining rows (at most ``max_rows``) of a streamed cursor as columns, by a
        faster path than the cursor's own; None when there is none (read rows instead)."""
        return None

    @abstractmethod
    def translate(self, exc: BaseException, sql: str | None) -> TypedjError | None:
        """The typed error for one of this driver's exceptions; None for a generic one."""

    def is_lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the connection to the server is gone."""
        return isinstance(exc, BrokenPipeError | ConnectionResetError)

    def connect_error(self, url: DatabaseURL, exc: BaseException) -> TypedjError | None:
        """Why a connection could not be opened, as a typed error (no password in it); None
        leaves it to the generic translation."""
        if isinstance(exc, OSError):
            return UnreachableError(f"cannot reach the database: {url}: {exc}", server_message=str(exc))
        return None

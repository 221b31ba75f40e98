"""A result read in batches that survives other statements on the same connection.

MySQL's wire protocol carries one result at a time: a statement sent while an unbuffered
result is still arriving makes pymysql drain (and drop) the rest, so a loop that queries
inside its body would silently end early. Every open stream is therefore registered on
its ``Connection``; before the connection sends anything else it asks each stream to
read its remaining rows into memory (``buffer_rest``), and the stream then serves them.

Why buffer instead of a second connection for streams: the rows stay on the same session,
so a stream opened inside a transaction sees that transaction's own uncommitted writes and
its snapshot, and workers do not double their server connections. The cost is memory for
the unread remainder, paid only when the loop body actually talks to the database; a
loop that does not keeps the stream's flat footprint. SQLite's cursors are independent of
one another, so there a stream is simply the cursor.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

Columns = list[list[Any]]
Reader = Callable[[Any, "int | None"], "Columns | None"]


class Stream:
    """The rows of one statement, handed out as raw (undecoded) columns, batch by batch."""

    def __init__(
        self,
        cursor: Any,
        sql: str | None,
        *,
        lock: threading.RLock,
        failure: Callable[[BaseException, str | None], BaseException],
        reader: Reader | None = None,
        streams: list[Stream] | None = None,
    ) -> None:
        """``reader``: the driver's fast column reader; ``streams``: the session's open
        streams, to join when the session carries one result at a time."""
        self._sql = sql
        self._cursor = cursor
        self._lock = lock
        self._failure = failure
        self._reader = reader  # None: the cursor's fetchmany
        self._streams = streams
        self._rest: Columns | None = None
        self._open = True
        if streams is not None:
            streams.append(self)

    def next_batch(self, size: int) -> Columns | None:
        """Up to ``size`` further rows as columns; None once the result is exhausted."""
        with self._lock:
            if self._rest is not None:
                rest, self._rest = self._rest, None
                self.close()
                return rest if rest and rest[0] else None
            if not self._open:
                return None
            batch = self._read(size)
            if batch is None:
                self.close()
            return batch

    def _read(self, size: int | None) -> Columns | None:
        try:
            if self._reader is not None:
                raw = self._reader(self._cursor, size)
                if raw is not None:
                    return raw if raw[0] else None
                self._reader = None  # not a result the fast reader understands: read rows
            rows = self._cursor.fetchall() if size is None else self._cursor.fetchmany(size)
        except Exception as exc:
            self.close()
            raise self._failure(exc, self._sql) from exc
        if not rows:
            return None
        return [list(c) for c in zip(*rows, strict=True)]

    def buffer_rest(self) -> None:
        """Read every remaining row now, because the connection is about to send a statement."""
        if not self._open or self._rest is not None:
            return
        self._unregister()
        self._rest = self._read(None) or []

    def _unregister(self) -> None:
        streams = self._streams
        if streams is not None and self in streams:
            streams.remove(self)

    def close(self) -> None:
        """Release the cursor (discarding unread rows); idempotent."""
        self._unregister()
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):  # a dropped connection's cursor cannot drain
                self._cursor.close()

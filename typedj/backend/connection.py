"""A database connection with DataJoint's transaction discipline.

Outside a transaction a dropped connection is reopened and the statement retried; inside
one the work is rolled back and ``ConnectionLostError`` raised, because replaying half a
transaction on a new connection would silently lose its first half.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ..config import DatabaseURL, config
from ..errors import ConnectionLostError, DeadlockError, EmbeddedFallbackWarning, TypedjError, warn
from .catalog import Catalog
from .dialect import Dialect
from .driver import Driver
from .failures import translate_error
from .registry import Backend, backend_for
from .statements import logged
from .stream import Stream

log = logging.getLogger("typedj")

T = TypeVar("T")


class Connection:
    """One server session: queries, bulk inserts, nested transactions.

    A new ``Connection`` is a session of its own; ``connect`` shares one per process.
    """

    def __init__(self, url: str | DatabaseURL, backend: Backend | None = None):
        self.url = DatabaseURL.parse(url) if isinstance(url, str) else url
        backend = backend or backend_for(self.url.scheme)
        self.dialect: Dialect = backend.dialect
        self.driver: Driver = backend.driver
        self.catalog: Catalog = backend.catalog(self)
        self._raw: Any = None
        self._pid = -1
        self._depth = 0
        self._broken = False
        self._chaining = 0
        self._chained = False
        self._lock = threading.RLock()
        self._streams: list[Stream] = []
        self.schemas: dict[str, Any] = {}
        """Schemas loaded through this connection, by name (for cascades and graphs)."""
        self.graph: Any = None
        """The dependency graph of those schemas (``graph.for_connection``), until one changes."""

    def __repr__(self) -> str:
        return f"Connection({self.url})"

    @property
    def raw(self) -> Any:
        """The DB-API connection, opened on first use and again after a fork."""
        if self._raw is None or self._pid != os.getpid():
            self._raw = None
            self._depth = 0
            self._chained = False
            self._streams = []
            try:
                self._raw = self.driver.connect(self.url)
            except Exception as exc:
                if isinstance(exc, TypedjError):
                    raise
                error = self.driver.connect_error(self.url, exc) or translate_error(exc, None, self.driver)
                raise error from exc
            self._pid = os.getpid()
        return self._raw

    def close(self) -> None:
        """Closes the connection to the server; further use reconnects."""
        if self._raw is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):  # closing a dead connection may fail
                self._raw.close()
        self._raw = None
        self._chained = False

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection."""
        return self._depth > 0 and self._pid == os.getpid()

    @property
    def connection_id(self) -> int:
        """The server's id of this session (MySQL ``CONNECTION_ID()``, the process id on SQLite)."""
        return int(self.query(f"SELECT {self.dialect.session_id()}").fetchone()[0])

    def stream(self, sql: str, params: Sequence[Any] | None = None) -> Stream:
        """Run one query whose rows are read in batches (see ``backend.stream``)."""
        with self._lock:
            cursor = self.query(sql, params, stream=True)
            if not self.driver.one_result_at_a_time:
                return Stream(cursor, sql, lock=self._lock, failure=self._failure)
            return Stream(cursor, sql, lock=self._lock, failure=self._failure,
                          reader=self.driver.read_columns, streams=self._streams)

    def _settle_streams(self) -> None:
        """Let open streams read their remaining rows before this session sends a statement."""
        for stream in list(self._streams):
            stream.buffer_rest()

    def query(self, sql: str, params: Sequence[Any] | None = None, *, stream: bool = False) -> Any:
        """Run one statement with bound parameters; returns the cursor."""
        if params is None:
            return self._run(sql, lambda cur: cur.execute(sql), stream=stream)
        return self._run(sql, lambda cur: cur.execute(sql, params), stream=stream, params=params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Runs one statement once per parameter row, in a single round trip where the driver allows."""
        written: list[Any] = []
        cursor = self._run(sql, lambda cur: written.append(self.driver.executemany(cur, sql, rows)),
                           rows=rows)
        return written[-1] if written else cursor

    def _cursor(self, stream: bool) -> Any:
        return self.driver.stream_cursor(self.raw) if stream else self.raw.cursor()

    def _run(
        self, sql: str, action: Callable[[Any], Any], *, stream: bool = False,
        params: Sequence[Any] | None = None, rows: Sequence[Sequence[Any]] | None = None,
    ) -> Any:
        """The one place statements run, and are logged (``params`` / ``rows``: for the log)."""
        with self._lock:
            if self._streams:
                self._settle_streams()
            if self._chain_open and not self.in_transaction:
                self._end_chain()
            logged(sql, params, rows=rows)
            for attempt in (0, 1):
                cur = self._cursor(stream)
                try:
                    action(cur)
                    return cur
                except Exception as exc:
                    retry = attempt == 0 and not (self.in_transaction or self._broken)
                    if retry and self.driver.is_lost(exc):
                        self.close()
                        log.info("database connection dropped; reconnecting")
                        continue
                    raise self._failure(exc, sql) from exc
            raise AssertionError("unreachable")

    def _failure(self, exc: BaseException, sql: str | None) -> TypedjError:
        """The typed error for a driver exception raised by ``sql``; a lost connection is
        closed (and, inside a transaction, the transaction marked lost)."""
        if isinstance(exc, TypedjError):
            return exc
        if self.driver.is_lost(exc):
            self.close()
            if self.in_transaction or self._broken:
                self._broken = True
                return ConnectionLostError(
                    "the database connection was lost inside a transaction; "
                    "the transaction was rolled back by the server"
                )
            return ConnectionLostError(f"the database connection was lost: {exc}", sql=sql)
        return translate_error(exc, sql, self.driver)

    @contextmanager
    def reading(self, sql: str) -> Iterator[None]:
        """Driver errors raised while the rows of ``sql`` are read (a streaming cursor
        reports a killed statement or a dropped connection there) as typed errors."""
        try:
            yield
        except TypedjError:
            raise
        except Exception as exc:
            raise self._failure(exc, sql) from exc

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction; nested ones join the outermost, which alone commits."""
        with self._lock:
            if self.in_transaction:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            if self._chain_open:  # the previous commit opened this transaction
                self._chained = False
            else:
                self._begin()
            self._depth = 1
            self._broken = False
            try:
                yield self
            except BaseException:
                self._depth = 0
                if not self._broken:
                    try:
                        self._settle_streams()
                        logged("ROLLBACK")
                        self.raw.rollback()
                    except Exception:
                        self.close()
                self._broken = False
                raise
            self._depth = 0
            if self._broken:
                self._broken = False
                raise ConnectionLostError("the database connection was lost inside a transaction")
            self._settle_streams()
            chain = self.dialect.commit_and_chain if self._chaining else None
            try:
                if chain is None:
                    logged("COMMIT")
                    self.raw.commit()
                else:
                    logged(chain)
                    self.raw.cursor().execute(chain)
                    self._chained = True
            except Exception as exc:
                if self.driver.is_lost(exc):
                    self.close()
                    raise ConnectionLostError(
                        "the database connection was lost while committing; the server may or may "
                        "not have committed the transaction"
                    ) from exc
                with contextlib.suppress(Exception):
                    self.raw.rollback()
                raise translate_error(exc, "COMMIT", self.driver) from exc

    def _begin(self) -> None:
        self.query(self.dialect.begin_transaction)

    @contextmanager
    def chained(self) -> Iterator[None]:
        """Transactions that follow each other closely (populate's, one per key): each
        commit opens the next transaction in the same statement (``COMMIT AND CHAIN``),
        saving the ``START TRANSACTION`` round trip. The open, empty transaction is
        committed before any statement outside a transaction and when the block ends,
        so such statements still commit as they run. Without the dialect's support,
        nothing changes."""
        with self._lock:
            self._chaining += 1
        try:
            yield
        finally:
            with self._lock:
                self._chaining -= 1
                if not self._chaining and self._chain_open and not self.in_transaction:
                    try:
                        self._end_chain()
                    except TypedjError:  # closing the session drops the empty transaction too
                        self.close()

    @property
    def _chain_open(self) -> bool:
        """Whether ``COMMIT AND CHAIN`` left a transaction open on this process's session."""
        return self._chained and self._pid == os.getpid()

    def _end_chain(self) -> None:
        """Commit the empty transaction ``COMMIT AND CHAIN`` opened; a session lost
        meanwhile took it along (the next statement reconnects)."""
        self._chained = False
        try:
            logged("COMMIT")
            self.raw.commit()
        except Exception as exc:
            if not self.driver.is_lost(exc):
                raise self._failure(exc, "COMMIT") from exc
            self.close()


def retrying(
    action: Callable[[], T], attempts: int = 5,
    on: tuple[type[TypedjError], ...] = (DeadlockError,),
) -> T:
    """Run ``action`` (a statement or a whole transaction) again when the server rolled it
    back to break a deadlock (or, with ``on``, lost the connection inside it); safe
    because nothing of the failed attempt remains."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except on as exc:
            if attempt == attempts:
                raise
            log.info("%s; running it again (attempt %d of %d)", type(exc).__name__, attempt + 1, attempts)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


_connections: dict[tuple[str, int], Connection] = {}


@atexit.register
def _close_all() -> None:
    """Close this process's connections at exit, so SQLite folds its write-ahead log back
    into the database file and removes ``-wal`` and ``-shm``."""
    for (_, pid), conn in list(_connections.items()):
        if pid == os.getpid():
            conn.close()


def connect(url: str | DatabaseURL | None = None) -> Connection:
    """A connection for ``url`` (default: the configured one), shared within a process."""
    if url is None:
        url = config.database_url
        if url is None:
            url = default_url()
    parsed = DatabaseURL.parse(url) if isinstance(url, str) else url
    key = (repr(parsed) + parsed.password, os.getpid())
    conn = _connections.get(key)
    if conn is None:
        conn = Connection(parsed)
        _connections[key] = conn
    return conn


_announced: set[str] = set()


DEFAULT_FILE = "typedj.db"
"""The embedded database used when nothing is configured, in the working directory."""


def default_url() -> DatabaseURL:
    """Used when nothing is configured: the embedded database ``typedj.db`` in the working directory."""
    path = os.path.join(os.getcwd(), DEFAULT_FILE)
    if path not in _announced:
        warn(
            f"no database configured: using the embedded database {path}; to use a server set "
            "TYPEDJ_DATABASE_URL=mysql://user:pass@host:port (or DJ_HOST/DJ_USER/DJ_PASS, "
            "or tj.config.database_url)",
            EmbeddedFallbackWarning,
        )
        _announced.add(path)
    return DatabaseURL(scheme="sqlite", host="", port=0, user="", path=path)

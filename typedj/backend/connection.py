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
from ..errors import (
    AccessError,
    ConfigError,
    ConnectionLostError,
    DeadlockError,
    DuplicateError,
    EmbeddedFallbackWarning,
    IntegrityError,
    MissingTableError,
    QueryError,
    QueryInterruptedError,
    ServerError,
    TypedjError,
    UnreachableError,
    warn,
)
from .dialect import Dialect
from .stream import Stream

log = logging.getLogger("typedj")

T = TypeVar("T")

_LOST = {2006, 2013, 2055, 4031}


class Connection:
    """One server session: queries, bulk inserts, nested transactions."""

    def __init__(self, url: DatabaseURL, dialect: Dialect, factory: Callable[[DatabaseURL], Any]):
        self.url = url
        self.dialect = dialect
        self._factory = factory
        self._raw: Any = None
        self._pid = -1
        self._depth = 0
        self._broken = False
        self._lock = threading.RLock()
        self._streams: list[Stream] = []
        self.schemas: dict[str, Any] = {}
        """Schemas loaded through this connection, by name (for cascades and graphs)."""

    def __repr__(self) -> str:
        return f"Connection({self.url})"

    @property
    def raw(self) -> Any:
        """The DB-API connection, opened on first use and again after a fork."""
        if self._raw is None or self._pid != os.getpid():
            self._raw = None
            self._depth = 0
            self._streams = []
            try:
                self._raw = self._factory(self.url)
            except Exception as exc:
                raise connect_error(self.url, exc) from exc
            self._pid = os.getpid()
        return self._raw

    def close(self) -> None:
        """Closes the connection to the server; further use reconnects."""
        if self._raw is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):  # closing a dead connection may fail
                self._raw.close()
        self._raw = None

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection."""
        return self._depth > 0 and self._pid == os.getpid()

    @property
    def connection_id(self) -> int:
        """The server's id of this session (MySQL ``CONNECTION_ID()``, the process id on SQLite)."""
        return int(self.query(self.dialect_connection_id_sql()).fetchone()[0])

    def dialect_connection_id_sql(self) -> str:
        """The SQL that asks the server for this session's id."""
        return "SELECT CONNECTION_ID()"  # on SQLite a function giving the process id

    def stream(self, sql: str, params: Sequence[Any] | None = None) -> Stream:
        """Run one query whose rows are read in batches (see ``backend.stream``)."""
        with self._lock:
            cursor = self.query(sql, params, stream=True)
            reader: Any = None
            if hasattr(self, "_stream_cursor_class"):
                from .mysql_rows import read_columns as reader
            return Stream(self, cursor, reader, sql)

    def _settle_streams(self) -> None:
        """Let open streams read their remaining rows before this session sends a statement."""
        for stream in list(self._streams):
            stream.buffer_rest()

    def query(self, sql: str, params: Sequence[Any] | None = None, *, stream: bool = False) -> Any:
        """Run one statement with bound parameters; returns the cursor."""
        if params is None:
            return self._run(sql, lambda cur: cur.execute(sql), stream=stream)
        return self._run(sql, lambda cur: cur.execute(sql, params), stream=stream)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Runs one statement once per parameter row, in a single round trip where the driver allows."""
        return self._run(sql, lambda cur: cur.executemany(sql, rows))

    def _cursor(self, stream: bool) -> Any:
        raw = self.raw
        if stream and hasattr(self, "_stream_cursor_class"):
            return raw.cursor(self._stream_cursor_class)
        return raw.cursor()

    def _run(self, sql: str, action: Callable[[Any], Any], *, stream: bool = False) -> Any:
        with self._lock:
            if self._streams:
                self._settle_streams()
            for attempt in (0, 1):
                cur = self._cursor(stream)
                try:
                    action(cur)
                    return cur
                except Exception as exc:
                    if self._is_lost(exc) and attempt == 0 and not (self.in_transaction or self._broken):
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
        if self._is_lost(exc):
            self.close()
            if self.in_transaction or self._broken:
                self._broken = True
                return ConnectionLostError(
                    "the database connection was lost inside a transaction; "
                    "the transaction was rolled back by the server"
                )
            return ConnectionLostError(f"the database connection was lost: {exc}", sql=sql)
        return translate_error(exc, sql)

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

    @staticmethod
    def _is_lost(exc: BaseException) -> bool:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        closed = code == 0 and type(exc).__name__ == "InterfaceError"  # pymysql: the socket is gone
        return code in _LOST or closed or isinstance(exc, BrokenPipeError | ConnectionResetError)

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
            try:
                self.raw.commit()
            except Exception as exc:
                if self._is_lost(exc):
                    self.close()
                    raise ConnectionLostError(
                        "the database connection was lost while committing; the server may or may "
                        "not have committed the transaction"
                    ) from exc
                with contextlib.suppress(Exception):
                    self.raw.rollback()
                raise translate_error(exc, "COMMIT") from exc

    def _begin(self) -> None:
        self.query(self.dialect.begin_transaction)

    def cancel_transaction(self) -> None:
        """Rolls back the open transaction, if any."""
        if self.in_transaction:
            self._settle_streams()
            try:
                self.raw.rollback()
            except Exception as exc:
                raise self._failure(exc, "ROLLBACK") from exc


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


_error_translators: list[Callable[[BaseException, str | None], TypedjError | None]] = []


def register_error_translator(fn: Callable[[BaseException, str | None], TypedjError | None]) -> None:
    """Add a backend's mapping from its driver's exceptions to typed errors."""
    _error_translators.append(fn)


_SHOWN_SQL = 2000


def shown_sql(sql: str | None) -> str:
    """The statement as error messages show it: at most the first 2,000 characters."""
    if not sql:
        return ""
    return sql if len(sql) <= _SHOWN_SQL else sql[:_SHOWN_SQL] + f" ... ({len(sql)} characters)"


def translate_error(exc: BaseException, sql: str | None = None) -> TypedjError:
    """The one place a driver exception becomes a typed error: each backend's translator
    first, then ``ServerError`` for other driver errors and ``QueryError`` for parameters
    the driver could not send (a ``TypeError``/``ValueError``/``OverflowError`` it raised)."""
    if isinstance(exc, TypedjError):
        return exc
    for fn in _error_translators:
        result = fn(exc, sql)
        if result is not None:
            return result
    message = str(exc)
    if isinstance(exc, TypeError | ValueError | OverflowError):
        return QueryError(f"the database driver cannot send this statement's values: {message}",
                          sql=sql, server_message=message)
    statement = f"\n  SQL: {shown_sql(sql)}" if sql else ""
    return ServerError(f"the database refused the statement: {message}{statement}",
                       sql=sql, server_message=message)


_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}
_LOGIN_REFUSED = {1044, 1045, 1698}


def connect_error(url: DatabaseURL, exc: BaseException) -> TypedjError:
    """Why a connection to ``url`` could not be opened, as a typed error (no password in it)."""
    if isinstance(exc, TypedjError):
        return exc
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    message = str(exc.args[1]) if code is not None and len(exc.args) > 1 else str(exc)
    if code in _LOGIN_REFUSED:
        return AccessError(f"{url}: the server refused the login (check the user and password): {message}",
                           login=True, server_message=message, code=code)
    if code in _UNREACHABLE or isinstance(exc, OSError) or url.scheme == "sqlite":
        where = url.path if url.scheme == "sqlite" else str(url)
        return UnreachableError(f"cannot reach the database: {where}: {message}",
                                server_message=message, code=code)
    return translate_error(exc)


_SYNTAX = {1064, 1111, 1149, 1305, 1318, 1582, 1583, 1584, 1630, 1052, 1056, 1140, 1247, 1248}
"""MySQL errors of a statement that cannot be parsed or run as written (unknown function,
bad grouping, wrong argument count, ambiguous name); an unknown column is an
``UnknownAttributeError`` (query/fetch.py)."""

_INTERRUPTED = {1317, 1028, 3024, 1969}


def _mysql_errors(exc: BaseException, sql: str | None) -> TypedjError | None:
    import pymysql

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
    if code in _SYNTAX:
        return QueryError(f"the server cannot run the query: {message}\n  SQL: {shown_sql(sql)}", **where)
    return None


register_error_translator(_mysql_errors)

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
        conn = _open(parsed)
        _connections[key] = conn
    return conn


def _open(url: DatabaseURL) -> Connection:
    if url.scheme == "mysql":
        import pymysql.cursors

        from .mysql import MySQLDialect, connect_mysql

        conn = Connection(url, MySQLDialect(), connect_mysql)
        conn._stream_cursor_class = pymysql.cursors.SSCursor  # type: ignore[attr-defined]
        return conn
    if url.scheme == "sqlite":
        try:
            from .sqlite import open_sqlite  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError("the embedded (sqlite) backend is not available") from exc
        result: Connection = open_sqlite(url)
        return result
    if url.scheme == "postgresql":
        from .postgres_driver import open_postgres

        pg: Connection = open_postgres(url)
        return pg
    raise ConfigError(f"no backend for {url.scheme!r}")


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

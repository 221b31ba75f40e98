"""The dataset's embedded database file: created for an export, opened read-only for an import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..backend.connection import Connection
from ..backend.sqlite import BUSY_TIMEOUT_MS, SQLiteDialect, _add_functions, open_sqlite
from ..config import DatabaseURL
from ..errors import DatasetError

FILE = "data.db"


def url(path: Path) -> DatabaseURL:
    return DatabaseURL(scheme="sqlite", host="", port=0, user="", path=str(path))


def create(path: Path) -> Connection:
    """A connection to a new (or partly written) dataset database, foreign keys checked at the end."""
    conn = open_sqlite(url(path))
    conn.query("PRAGMA foreign_keys = OFF")  # parents arrive after their children
    return conn


def finish(conn: Connection) -> None:
    """Check every reference and fold the write-ahead log into the file, so it is one file."""
    bad = conn.query("PRAGMA foreign_key_check").fetchmany(5)
    if bad:
        raise DatasetError(f"the exported rows reference rows that are not exported: {bad}")
    conn.query("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def read_only(path: Path) -> Connection:
    """A typedj connection that can only read the dataset's file (an import never changes it).

    ``immutable``: the file is complete (its write-ahead log folded in at export), so SQLite
    reads it without the lock files it would otherwise create beside it.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: the dataset has no database file")

    def factory(_: DatabaseURL) -> sqlite3.Connection:
        raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                              isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        _add_functions(raw)
        return raw

    return Connection(url(path), SQLiteDialect(), factory)

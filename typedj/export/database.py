"""The dataset's embedded database file: created for an export, opened read-only for an import."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..backend.connection import Connection
from ..backend.registry import backend_for
from ..backend.sqlite import SQLiteDriver
from ..config import DatabaseURL
from ..errors import DatasetError

FILE = "data.db"


def url(path: Path) -> DatabaseURL:
    return DatabaseURL(scheme="sqlite", host="", port=0, user="", path=str(path))


def create(path: Path) -> Connection:
    """A connection to a new (or partly written) dataset database, foreign keys checked at the end."""
    conn = Connection(url(path))
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
    """A typedj connection that can only read the dataset's file (an import never changes it)."""
    if not path.is_file():
        raise DatasetError(f"{path}: the dataset has no database file")
    return Connection(url(path), replace(backend_for("sqlite"), driver=SQLiteDriver(read_only=True)))

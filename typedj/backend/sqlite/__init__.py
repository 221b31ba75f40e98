"""SQLite, the embedded backend: ``sqlite:///path`` URLs.

One database file holds every schema: a table of schema ``lab`` is the SQLite table
named ``lab.#species`` (one identifier containing a dot), so foreign keys between schemas
are ordinary foreign keys. SQLite has no column comments, so the declared MySQL type and
the comment of each column, and each table's comment, live in the hidden table
``~typedj_catalog``; the catalog rebuilds from it the same ``TableDef`` that the MySQL
catalog reads from ``information_schema``. Schemas are listed in ``~typedj_schemas``.

Tables are ``STRICT`` (values must fit the column's storage class), enums, booleans,
string lengths and integer ranges are ``CHECK`` constraints, foreign keys are enforced,
and the file runs in WAL mode with a long busy timeout so that several processes on one
machine can work on it at once (writers take turns; readers never wait).
"""

from ..registry import Backend
from .catalog import SQLiteCatalog
from .dialect import SQLiteDialect
from .driver import BUSY_TIMEOUT_MS, SQLiteDriver, add_functions, connect_sqlite

BACKEND = Backend(dialect=SQLiteDialect(), driver=SQLiteDriver(), catalog=SQLiteCatalog)

__all__ = ["BACKEND", "BUSY_TIMEOUT_MS", "SQLiteCatalog", "SQLiteDialect", "SQLiteDriver", "add_functions",
           "connect_sqlite"]

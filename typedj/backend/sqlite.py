"""SQLite (the embedded backend): the dialect and the ``sqlite3`` connection factory.

One database file holds every schema: a table of schema ``lab`` is the SQLite table
named ``lab.#species`` (one identifier containing a dot), so foreign keys between schemas
are ordinary foreign keys. SQLite has no column comments, so the declared MySQL type and
the comment of each column, and each table's comment, live in the hidden table
``~typedj_catalog``; ``load_catalog`` rebuilds from it the same ``TableDef`` that the
MySQL dialect reads from ``information_schema``. Schemas are listed in ``~typedj_schemas``.

Tables are ``STRICT`` (values must fit the column's storage class), enums, booleans,
string lengths and integer ranges are ``CHECK`` constraints, foreign keys are enforced,
and the file runs in WAL mode with a long busy timeout so that several processes on one
machine can work on it at once (writers take turns; readers never wait).
"""

from __future__ import annotations

import getpass
import math
import os
import platform
import sqlite3
import statistics
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..codecs.core import Unsigned64
from ..config import DatabaseURL
from ..errors import (
    DeclarationError,
    DuplicateError,
    IntegrityError,
    MissingTableError,
    QueryError,
    QueryInterruptedError,
    TypedjError,
)
from ..heading import Attribute, ForeignKey, Heading, IndexDef, TableDef
from ..sqltypes import SQLType
from ..types import CURRENT_TIMESTAMP, MISSING
from .connection import Connection, register_error_translator, shown_sql
from .dialect import Dialect

if TYPE_CHECKING:
    from ..codecs import ColumnFn

BUSY_TIMEOUT_MS = 300_000
"""How long a writer waits for another process's write transaction (a ``make``) to finish."""

_CATALOG = "~typedj_catalog"
_SCHEMAS = "~typedj_schemas"
_FK_INDEX = "fk:"
"""Name prefix of the indexes made for secondary foreign keys (as InnoDB makes them)."""

_SETUP = (
    f'CREATE TABLE IF NOT EXISTS "{_SCHEMAS}" (schema_name TEXT NOT NULL PRIMARY KEY) STRICT',
    f'CREATE TABLE IF NOT EXISTS "{_CATALOG}" ('
    "schema_name TEXT NOT NULL, table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "sql_type TEXT NOT NULL, comment TEXT NOT NULL, auto_increment INTEGER NOT NULL, "
    "PRIMARY KEY (schema_name, table_name, column_name)) STRICT",
)

_LINEAGE_COLUMNS = {
    "table_name": ("varchar(64)", "table name within the schema", 0),
    "attribute_name": ("varchar(64)", "attribute name", 0),
    "lineage": ("varchar(255)", "origin: schema.table.attribute", 0),
}

_NOW_MS = "(strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime'))"
_NOW_S = "(datetime('now', 'localtime'))"


def storage_type(typ: SQLType) -> str:
    """The STRICT storage class of a MySQL column type."""
    if typ.is_integer:
        return "INT"  # not INTEGER: a one-column INTEGER key would become the rowid and ignore defaults
    if typ.is_real:
        return "REAL"
    if typ.is_binary:
        return "BLOB"
    return "TEXT"


class SQLiteDialect(Dialect):
    """SQL spelling for SQLite 3.37+ (STRICT tables, upserts, row values)."""

    name = "sqlite"
    placeholder = "?"
    begin_transaction = "BEGIN IMMEDIATE"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def table(self, schema: str, table: str) -> str:
        return self.quote(f"{schema}.{table}")

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    # -- schemas -------------------------------------------------------------------

    def create_schema(self, schema: str) -> list[str]:
        if "." in schema:
            raise DeclarationError(f"schema {schema!r}: the embedded backend refuses '.' in schema names")
        return [f'INSERT OR IGNORE INTO "{_SCHEMAS}" VALUES ({self.literal(schema)})']

    def drop_schema(self, schema: str) -> list[str]:
        return [
            f'DELETE FROM "{_CATALOG}" WHERE schema_name = {self.literal(schema)}',
            f'DELETE FROM "{_SCHEMAS}" WHERE schema_name = {self.literal(schema)}',
        ]

    def drop_database(self, conn: Connection, schema: str) -> None:
        """Drop every table of ``schema`` (hidden ones too), then forget the schema.

        Refused while a table of another schema references one of them, as MySQL refuses
        to drop a referenced table.
        """
        tables = self._tables(conn, schema)
        mine = {f"{schema}.{t}" for t in tables}
        outside = [
            name
            for (name,) in conn.query("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
            if name not in mine
            and any(fk[2] in mine for fk in self._foreign_key_rows(conn, name))
        ]
        if outside:
            raise IntegrityError(
                f"cannot drop schema {schema!r}: tables of other schemas reference it: {sorted(outside)}"
            )
        conn.query("PRAGMA foreign_keys = OFF")
        try:
            for table in tables:
                conn.query(f"DROP TABLE IF EXISTS {self.table(schema, table)}")
        finally:
            conn.query("PRAGMA foreign_keys = ON")
        for sql in self.drop_schema(schema):
            conn.query(sql)

    def _tables(self, conn: Connection, schema: str) -> list[str]:
        prefix = schema + "."
        rows = conn.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, ?) = ?",
            (len(prefix), prefix),
        ).fetchall()
        return sorted(r[0][len(prefix) :] for r in rows)

    def _foreign_key_rows(self, conn: Connection, table: str) -> list[tuple[Any, ...]]:
        """``(id, seq, parent table, column, parent column, ...)`` per column of each foreign key."""
        rows: list[tuple[Any, ...]] = conn.query(f"PRAGMA foreign_key_list({self.quote(table)})").fetchall()
        return rows

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        rows = conn.query(f'SELECT 1 FROM "{_SCHEMAS}" WHERE schema_name = ?', (schema,)).fetchall()
        return bool(rows)

    def list_schemas(self, conn: Connection) -> list[str]:
        return sorted(r[0] for r in conn.query(f'SELECT schema_name FROM "{_SCHEMAS}"').fetchall())

    def referencing_schemas(self, conn: Connection, schemas: set[str]) -> set[str]:
        found: set[str] = set()
        for (name,) in conn.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '%.%'"):
            own = name.split(".", 1)[0]
            if own in schemas:
                continue
            for fk in self._foreign_key_rows(conn, name):
                if fk[2].split(".", 1)[0] in schemas:
                    found.add(own)
        return found

    # -- DDL -------------------------------------------------------------------------

    def lineage_table(self, schema: str) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table(schema, '~lineage')} ("
            '"table_name" TEXT NOT NULL CHECK (length("table_name") <= 64), '
            '"attribute_name" TEXT NOT NULL CHECK (length("attribute_name") <= 64), '
            '"lineage" TEXT NOT NULL CHECK (length("lineage") <= 255), '
            'PRIMARY KEY ("table_name", "attribute_name")) STRICT'
        )

    def column_definition(self, attr: Attribute) -> str:
        if attr.auto_increment:
            return f"{self.quote(attr.name)} INTEGER PRIMARY KEY AUTOINCREMENT"
        parts = [self.quote(attr.name), storage_type(attr.type), *self.nullability(attr)]
        check = self._check(attr)
        if check:
            parts.append(f"CHECK ({check})")
        return " ".join(parts)

    def default_sql(self, attr: Attribute) -> str:
        """The default as SQL, spelled as MySQL's catalog reports it (``1.50``, ``0``)."""
        value = attr.default
        if isinstance(value, str) and value.upper().startswith("CURRENT_TIMESTAMP"):
            return _NOW_MS if attr.type.precision is not None else _NOW_S
        if attr.type.is_real and isinstance(value, int | float | Decimal | str):
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                return self.literal(value)
            if attr.type.scale is not None:
                return str(number.quantize(Decimal(1).scaleb(-attr.type.scale)))
            text = repr(float(number))
            return text[:-2] if text.endswith(".0") else text
        return self.literal(value)

    def _check(self, attr: Attribute) -> str:
        """What MySQL's column type (in strict mode) refuses, as a CHECK expression."""
        col, typ = self.quote(attr.name), attr.type
        if typ.family == "bool":
            return f"{col} IN (0, 1)"
        if typ.base == "enum":
            return f"{col} IN ({', '.join(self.literal(v) for v in typ.members)})"
        if typ.max_length is not None and not (typ.charset or typ.collation):
            return f"length({col}) <= {typ.max_length}"
        bounds = typ.int_range
        if bounds is not None and not attr.auto_increment:
            low, high = bounds
            if high < 2**63:
                return f"{col} BETWEEN {low} AND {high}"
            return ""  # bigint unsigned: values past 2**63 - 1 are stored wrapped below zero
        return ""

    def create_table(self, table: TableDef) -> list[str]:
        name = self.table(table.schema, table.name)
        key = table.heading.primary_key
        auto = [a for a in table.heading if a.auto_increment]
        if auto and key != [auto[0].name]:
            raise DeclarationError(
                f"{table.name}: the embedded backend supports auto_increment only on a single-attribute key",
                table=table.name,
            )
        lines = [self.column_definition(a) for a in table.heading]
        if not auto:
            lines.append("PRIMARY KEY (" + ", ".join(self.quote(k) for k in key) + ")")
        statements: list[str] = []
        for fk in table.foreign_keys:
            lines.append(self.foreign_key(fk))
            if fk.unique:
                statements.append(self._index(table, tuple(fk.attr_map), True))
            elif list(fk.attr_map) != key[: len(fk.attr_map)]:
                statements.append(self._index(table, tuple(fk.attr_map), False, prefix=_FK_INDEX))
        for index in table.indexes:
            statements.append(self._index(table, index.attributes, index.unique))
        body = ",\n  ".join(lines)
        rows = [(a.name, a.sql_type, a.column_comment, int(a.auto_increment)) for a in table.heading]
        rows.append(("", "", table.comment, 0))
        values = ", ".join(
            "(" + ", ".join(self.literal(v) for v in (table.schema, table.name, *row)) + ")" for row in rows
        )
        return [
            f'INSERT OR REPLACE INTO "{_CATALOG}" VALUES {values}',
            f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}\n) STRICT",
            *statements,
        ]

    def _index(self, table: TableDef, columns: tuple[str, ...], unique: bool, prefix: str = "") -> str:
        index_name = f"{prefix}{table.schema}.{table.name}:{','.join(columns)}"
        cols = ", ".join(self.quote(c) for c in columns)
        return (
            f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {self.quote(index_name)} "
            f"ON {self.table(table.schema, table.name)} ({cols})"
        )

    # -- DML ---------------------------------------------------------------------------

    def insert(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        *,
        skip_duplicates: bool = False,
        replace: bool = False,
    ) -> str:
        if not columns:  # a row of defaults only
            verb = "INSERT OR REPLACE" if replace else ("INSERT OR IGNORE" if skip_duplicates else "INSERT")
            return f"{verb} INTO {self.table(schema, table)} DEFAULT VALUES"
        cols = ", ".join(self.quote(c) for c in columns)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        tail = " ON CONFLICT DO NOTHING" if skip_duplicates and not replace else ""
        return f"{verb} INTO {self.table(schema, table)} ({cols}) VALUES ({self.params(len(columns))}){tail}"

    def in_rows(self, lhs: str, row: str, count: int) -> str:
        if row.count(self.placeholder) == 1:
            return f"{lhs} IN ({', '.join([row] * count)})"
        return f"{lhs} IN (VALUES {', '.join([row] * count)})"

    def size_limit(self, conn: Connection) -> tuple[int, bool] | None:
        return int(conn.raw.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)), False

    def decoder(self, attr: Attribute) -> ColumnFn | None:
        kind = attr.kind
        if kind == "date":
            return _each(date.fromisoformat)
        if kind == "datetime":
            return _each(datetime.fromisoformat)
        if kind == "time":
            return _each(_timedelta)
        if kind == "int" and attr.type.is_wide_unsigned:
            return _each(lambda v: v + 2**64 if v < 0 else v)
        if kind == "decimal":
            scale = attr.type.scale
            quantum = Decimal(1).scaleb(-scale) if scale is not None else None
            return _each(lambda v: _decimal(v, quantum))
        return None

    # -- jobs ------------------------------------------------------------------------------

    def now(self) -> str:
        return "strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')"

    def seconds_ago(self) -> str:
        return "strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime', '-' || ? || ' seconds')"

    def session_id(self) -> str:
        """The worker's process id: every process has its own connection to the file."""
        return "connection_id()"

    def session_user(self, conn: Connection) -> str:
        return f"{getpass.getuser()}@{platform.node()}"

    def live_sessions(self, conn: Connection) -> set[int] | None:
        """The processes alive on this machine (SQLite files are shared only within one)."""
        if not os.path.isdir("/proc/self"):
            return None
        return {int(p) for p in os.listdir("/proc") if p.isdigit()}

    # -- catalog -------------------------------------------------------------------------

    def load_catalog(self, conn: Connection, schema: str) -> dict[str, TableDef]:
        catalog: dict[tuple[str, str], tuple[str, str, int]] = {
            (t, c): (sql_type, comment, auto)
            for t, c, sql_type, comment, auto in conn.query(
                f'SELECT table_name, column_name, sql_type, comment, auto_increment FROM "{_CATALOG}" '
                "WHERE schema_name = ?",
                (schema,),
            ).fetchall()
        }
        for column, known in _LINEAGE_COLUMNS.items():
            catalog[("~lineage", column)] = known
        result: dict[str, TableDef] = {}
        for table in self._tables(conn, schema):
            name = self.table(schema, table)
            attrs = [
                self._attribute(catalog.get((table, col)), col, ctype, notnull, default, pk)
                for _, col, ctype, notnull, default, pk in conn.query(f"PRAGMA table_info({name})").fetchall()
            ]
            foreign: dict[int, dict[str, Any]] = {}
            for fid, _, parent, local, remote, *_ in self._foreign_key_rows(conn, f"{schema}.{table}"):
                foreign.setdefault(fid, {"parent": parent, "map": {}})["map"][local] = remote
            fks: list[ForeignKey] = []
            for fid in sorted(foreign, reverse=True):
                parent_schema, _, parent_table = foreign[fid]["parent"].partition(".")
                amap = foreign[fid]["map"]
                fks.append(
                    ForeignKey(
                        parent_schema=parent_schema,
                        parent_table=parent_table,
                        attr_map=dict(amap),
                        in_key=all(a.in_key for a in attrs if a.name in amap),
                        nullable=any(a.nullable for a in attrs if a.name in amap),
                        name=f"fk{len(fks) + 1}",
                    )
                )
            indexes = []
            for _, index, unique, origin, _partial in conn.query(f"PRAGMA index_list({name})").fetchall():
                if origin != "c" or index.startswith(_FK_INDEX):
                    continue
                cols = tuple(
                    r[2] for r in conn.query(f"PRAGMA index_info({self.quote(index)})").fetchall()
                )
                indexes.append((index, IndexDef(cols, bool(unique))))
            table_comment = catalog.get((table, ""), ("", "", 0))[1]
            result[table] = TableDef(
                schema=schema,
                name=table,
                heading=Heading.of(attrs),
                comment=table_comment,
                foreign_keys=tuple(fks),
                indexes=tuple(i for _, i in sorted(indexes, key=lambda x: x[0])),
            )
        return result

    @staticmethod
    def _attribute(
        known: tuple[str, str, int] | None, name: str, ctype: str, notnull: int, default: Any, pk: int
    ) -> Attribute:
        from ..heading import split_comment

        sql_type, comment, auto = known or (ctype.lower(), "", 0)
        declared, user_comment = split_comment(comment)
        return Attribute(
            name=name,
            type_name=declared or sql_type,
            sql_type=sql_type,
            in_key=pk > 0,
            nullable=not notnull and not pk,
            default=_parse_default(default),
            comment=user_comment,
            core=declared is not None,
            auto_increment=bool(auto),
        )


def _each(fn: Callable[[Any], Any]) -> ColumnFn:
    def column(values: list[Any]) -> list[Any]:
        if None not in values:
            try:
                return list(map(fn, values))  # the common case, in C: every value is stored text
            except (TypeError, ValueError):
                pass
        return [v if v is None or not isinstance(v, str | int | float) else fn(v) for v in values]

    return column


def _timedelta(value: Any) -> timedelta:
    """``'HH:MM:SS[.ffffff]'`` as the ``timedelta`` the MySQL driver returns for ``time``."""
    text = str(value)
    sign = -1 if text.startswith("-") else 1
    hours, minutes, seconds = text.lstrip("-").split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


def _decimal(value: Any, quantum: Decimal | None) -> Decimal:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return number.quantize(quantum) if quantum is not None else number


def _parse_default(text: Any) -> Any:
    """SQLite reports defaults as the SQL text of the DDL; read them as MySQL's catalog does."""
    if text is None:
        return MISSING
    text = str(text)
    if text.upper() == "NULL":
        return None
    now = {_NOW_MS, _NOW_S}
    if f"({text})" in now or text in now or text.upper().startswith("CURRENT_TIMESTAMP"):
        return CURRENT_TIMESTAMP
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


# -- the sqlite3 module's conversions ---------------------------------------------------------


def _time_text(value: time | timedelta) -> str:
    if isinstance(value, time):
        return value.isoformat()
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    seconds = abs(total)
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    text = f"{sign}{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{text}.{micro:06d}" if micro else text


def _item(value: Any) -> Any:
    return value.item()


def _register_adapters() -> None:
    import numpy as np

    sqlite3.register_adapter(date, date.isoformat)
    sqlite3.register_adapter(datetime, lambda v: v.isoformat(" "))
    sqlite3.register_adapter(time, _time_text)
    sqlite3.register_adapter(timedelta, _time_text)
    sqlite3.register_adapter(Decimal, float)
    sqlite3.register_adapter(UUID, lambda v: v.bytes)
    sqlite3.register_adapter(bytearray, bytes)
    sqlite3.register_adapter(Unsigned64, lambda v: int(v) - 2**64)
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        sqlite3.register_adapter(t, _item)
    for f in (np.float16, np.float32, np.float64):
        sqlite3.register_adapter(f, _item)
    sqlite3.register_adapter(np.bool_, int)
    sqlite3.register_adapter(np.str_, str)


_register_adapters()


class _Std:
    """MySQL's ``std``/``stddev`` aggregate (population standard deviation)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return statistics.pstdev(self.values) if self.values else None


def _now(precision: int = 0) -> str:
    text = datetime.now().isoformat(" ", timespec="microseconds" if precision else "seconds")
    return text[: 20 + precision] if precision else text


def _add_functions(raw: sqlite3.Connection) -> None:
    """A few MySQL functions that pipelines use in restrictions and projections."""
    raw.create_function("now", -1, _now)
    raw.create_function("connection_id", 0, os.getpid)
    pure = {"deterministic": True}
    raw.create_function("concat", -1, lambda *a: None if None in a else "".join(str(x) for x in a), **pure)
    raw.create_function("greatest", -1, lambda *a: None if None in a else max(a), **pure)
    raw.create_function("least", -1, lambda *a: None if None in a else min(a), **pure)
    raw.create_function("sqrt", 1, lambda v: None if v is None or v < 0 else math.sqrt(v), **pure)
    raw.create_function("pow", 2, lambda a, b: None if a is None or b is None else a**b, **pure)
    for name in ("std", "stddev", "stddev_pop"):
        raw.create_aggregate(name, 1, _Std)  # type: ignore[arg-type]


def connect_sqlite(url: DatabaseURL) -> sqlite3.Connection:
    """A new ``sqlite3`` connection in autocommit mode: WAL, foreign keys on, busy timeout."""
    path = url.path or ":memory:"
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).expanduser())
    raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA foreign_keys = ON")
    _add_functions(raw)
    for sql in _SETUP:
        raw.execute(sql)
    return raw


def open_sqlite(url: DatabaseURL) -> Connection:
    """A typedj ``Connection`` to the SQLite file of ``url`` (created when missing)."""
    if sqlite3.sqlite_version_info < (3, 37, 0):
        raise TypedjError(
            f"the embedded backend needs SQLite 3.37 or newer; this Python has {sqlite3.sqlite_version}"
        )
    return Connection(url, SQLiteDialect(), connect_sqlite)


_SYNTAX = ("near ", "no such function", "wrong number of arguments", "misuse of",
           "unrecognized token", "incomplete input", "ambiguous column name", "aggregate functions are",
           "a GROUP BY clause is required", "1st ORDER BY term", "2nd ORDER BY term", "row value misused",
           "sub-select returns", "no such collation")
"""Starts of SQLite's messages for a statement it cannot parse or run as written."""


def _sqlite_errors(exc: BaseException, sql: str | None) -> TypedjError | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    message = str(exc)
    code = getattr(exc, "sqlite_errorname", None)
    where: dict[str, Any] = {"sql": sql, "server_message": message, "code": code}
    if code in {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}:
        return DuplicateError(f"duplicate entry: {message}", **where)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(message, **where)
    if code == "SQLITE_INTERRUPT" or message == "interrupted":
        return QueryInterruptedError(f"the statement was interrupted: {message}", **where)
    if isinstance(exc, sqlite3.OperationalError) and message.startswith("no such table"):
        return MissingTableError(message, **where)
    if isinstance(exc, sqlite3.OperationalError) and message.startswith(_SYNTAX):
        return QueryError(f"SQLite cannot run the query: {message}\n  SQL: {shown_sql(sql)}", **where)
    return None


register_error_translator(_sqlite_errors)

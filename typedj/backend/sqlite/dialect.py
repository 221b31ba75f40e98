"""SQLite: SQL spelling (STRICT tables, CHECK constraints for MySQL's types) and the
conversion of stored values back to what the MySQL driver returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ...errors import DeclarationError
from ...heading import Attribute, TableDef
from ...sqltypes import SQLType
from ..dialect import Dialect

ColumnFn = Callable[[list[Any]], list[Any]]

_CATALOG = "~typedj_catalog"
_SCHEMAS = "~typedj_schemas"
_FK_INDEX = "fk:"
"""Name prefix of the indexes made for secondary foreign keys (as InnoDB makes them)."""

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
    supports_live_sessions = True
    supports_transactional_ddl = True
    supports_nul_in_text = True
    embedded = True

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

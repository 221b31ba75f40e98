"""PostgreSQL: the dialect, spelled as datajoint-python 2.x lays a schema out.

A DataJoint schema is a PostgreSQL schema inside the connection's database; identifiers
are double-quoted; comments (``:type:comment`` on columns) are ``COMMENT ON`` statements
after ``CREATE TABLE``; indexes, including one on each foreign key that the primary key
or a declared index does not already cover, are ``CREATE INDEX`` statements; an enum is a
type of the schema (see ``postgres_types``). Duplicates are skipped or replaced with
``INSERT ... ON CONFLICT``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..heading import Attribute, TableDef
from .dialect import Dialect
from .postgres_catalog import PostgresCatalog
from .postgres_driver import PostgresDriver
from .postgres_types import checked_range, column_type, enum_type_name
from .registry import Backend

_LINEAGE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
"table_name" VARCHAR(64) NOT NULL,
"attribute_name" VARCHAR(64) NOT NULL,
"lineage" VARCHAR(255) NOT NULL,
PRIMARY KEY ("table_name", "attribute_name")
)"""

_NOT_READ_BACK = frozenset({"tinytext", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob",
                            "binary", "varbinary", "timestamp", "year"})
"""MySQL types whose PostgreSQL column reads back as another (``text``, ``bytea``)."""

MAX_NAME = 63
"""PostgreSQL's longest identifier (NAMEDATALEN - 1)."""


class PostgresDialect(Dialect):
    """SQL spelling for PostgreSQL 13+."""

    name = "postgresql"
    placeholder = "%s"
    begin_transaction = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    supports_live_sessions = True
    supports_kill = True
    supports_accounts = True
    supports_row_locks = True
    supports_enum_type = True
    supports_column_comments = True
    supports_transactional_ddl = True
    max_identifier_length = MAX_NAME

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def sql_text(self, text: str) -> str:
        return translate_text(text)

    def literal(self, value: Any) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        return super().literal(value)

    # -- DDL -----------------------------------------------------------------------

    def create_schema(self, schema: str) -> list[str]:
        return [f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"]

    def drop_schema(self, schema: str) -> list[str]:
        return [f"DROP SCHEMA IF EXISTS {self.quote(schema)} CASCADE"]

    def drop_table(self, schema: str, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.table(schema, table)}"

    def lineage_table(self, schema: str) -> str:
        return _LINEAGE_DDL.format(table=self.table(schema, "~lineage"))

    def enum_type(self, schema: str, values: Sequence[str]) -> str:
        """The qualified name of the schema's enum type holding ``values``."""
        return f"{self.quote(schema)}.{self.quote(enum_type_name(values))}"

    def create_enum(self, schema: str, values: Sequence[str]) -> str:
        """Creates the enum type unless it exists (PostgreSQL has no ``IF NOT EXISTS`` for types)."""
        labels = ", ".join(self.string_literal(v) for v in values)
        create = f"CREATE TYPE {self.enum_type(schema, values)} AS ENUM ({labels})"
        return f"DO $$ BEGIN {create}; EXCEPTION WHEN duplicate_object THEN NULL; END $$"

    def pg_type(self, attr: Attribute, schema: str) -> str:
        """The column type of ``attr`` in a table of ``schema``: an enum's type lives with
        the attribute's origin (its lineage), so that foreign keys join equal types."""
        if attr.type.members:
            home = attr.lineage.split(".")[0] if attr.lineage else schema
            return self.enum_type(home, attr.type.members)
        return column_type(attr.type)

    def column_definition(self, attr: Attribute, schema: str = "", *, reference: bool = False) -> str:
        """``reference``: a foreign-key column, which datajoint-python writes with no default
        (and no comment: a reader takes both from the parent's column)."""
        null = ([] if attr.nullable else ["NOT NULL"]) if reference else self.nullability(attr)
        parts = [self.quote(attr.name), self.pg_type(attr, schema), *null]
        bounds = checked_range(attr.type)
        check = f"{attr.name}:{attr.sql_type.lower()}"[:MAX_NAME]
        if bounds is not None:
            low, high = bounds
            rule = f"BETWEEN {low} AND {high}" if high is not None else f">= {low}"
            parts.append(f"CONSTRAINT {self.quote(check)} CHECK ({self.quote(attr.name)} {rule})")
        elif attr.type.core is None and attr.type.base in _NOT_READ_BACK:
            # only names the declared type, which the catalog reads back from the name
            parts.append(f"CONSTRAINT {self.quote(check)} CHECK ({self.quote(attr.name)} IS NULL OR TRUE)")
        if attr.auto_increment:
            parts.append("GENERATED BY DEFAULT AS IDENTITY")
        return " ".join(parts)

    def nullability(self, attr: Attribute) -> list[str]:
        if attr.auto_increment:
            return ["NOT NULL"]
        return super().nullability(attr)

    def default_sql(self, attr: Attribute) -> str:
        value = attr.default
        if isinstance(value, str) and value.upper().startswith("CURRENT_TIMESTAMP"):
            precision = attr.type.precision
            return "CURRENT_TIMESTAMP" if precision is None else f"CURRENT_TIMESTAMP({precision})"
        if attr.kind == "bool" and not isinstance(value, str):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float | Decimal):  # quoted, as datajoint-python writes ('0'::bigint)
            return self.string_literal(str(value))
        return self.literal(value)

    def create_table(self, table: TableDef) -> list[str]:
        name = self.table(table.schema, table.name)
        pre: list[str] = []
        for attr in table.heading:
            if attr.type.members:
                home = attr.lineage.split(".")[0] if attr.lineage else table.schema
                statement = self.create_enum(home, attr.type.members)
                if statement not in pre:
                    pre.append(statement)
        referencing = {c for fk in table.foreign_keys for c in fk.attr_map}
        lines = [self.column_definition(a, table.schema, reference=a.name in referencing)
                 for a in table.heading]
        lines.append("PRIMARY KEY (" + ", ".join(self.quote(k) for k in table.heading.primary_key) + ")")
        lines += [self.foreign_key(fk) for fk in table.foreign_keys]
        body = ",\n".join(lines)
        post = [self.create_index(table, cols, unique) for cols, unique in self.indexes(table)]
        if table.comment:
            post.append(f"COMMENT ON TABLE {name} IS {self.string_literal(table.comment)}")
        for attr in table.heading:
            if attr.column_comment and attr.name not in referencing:
                post.append(f"COMMENT ON COLUMN {name}.{self.quote(attr.name)} IS "
                            f"{self.string_literal(attr.column_comment)}")
        return [*pre, f"CREATE TABLE IF NOT EXISTS {name} (\n{body}\n)", *post]

    @staticmethod
    def indexes(table: TableDef) -> list[tuple[tuple[str, ...], bool]]:
        """The declared indexes, unique foreign keys, and an index on each other foreign
        key whose columns no longer index starts with (datajoint-python's rule)."""
        out: list[tuple[tuple[str, ...], bool]] = []
        for fk in table.foreign_keys:
            if fk.unique:
                out.append((tuple(fk.attr_map), True))
        out += [(tuple(i.attributes), i.unique) for i in table.indexes]
        prefixes = [tuple(table.heading.primary_key), *(cols for cols, _ in out)]
        candidates = [tuple(fk.attr_map) for fk in table.foreign_keys if not fk.unique]
        for cols in sorted(candidates, key=len, reverse=True):
            if not any(p[: len(cols)] == cols for p in prefixes):
                out.append((cols, False))
                prefixes.append(cols)
        return out

    def create_index(self, table: TableDef, columns: Sequence[str], unique: bool) -> str:
        """``CREATE INDEX`` named as datajoint-python names it: ``idx_<table>_<columns>``."""
        index = f"idx_{table.name}_{'_'.join(columns)[:30]}"
        cols = ", ".join(self.quote(c) for c in columns)
        return (f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {self.quote(index)} "
                f"ON {self.table(table.schema, table.name)} ({cols})")

    # -- DML -----------------------------------------------------------------------

    def insert(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        *,
        skip_duplicates: bool = False,
        replace: bool = False,
    ) -> str:
        """``replace`` updates the row holding the key, named by the primary key's constraint
        (PostgreSQL names it ``<table>_pkey``, the table's name cut to fit)."""
        name = self.table(schema, table)
        if not columns:
            sql = f"INSERT INTO {name} DEFAULT VALUES"
        else:
            cols = ", ".join(self.quote(c) for c in columns)
            sql = f"INSERT INTO {name} ({cols}) VALUES ({self.params(len(columns))})"
        if replace and columns:
            sets = ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in columns)
            target = self.quote(primary_key_name(table))
            return f"{sql} ON CONFLICT ON CONSTRAINT {target} DO UPDATE SET {sets}"
        if skip_duplicates or replace:
            return f"{sql} ON CONFLICT DO NOTHING"
        return sql

    def in_rows(self, lhs: str, row: str, count: int) -> str:
        if row.count(self.placeholder) == 1:
            return f"{lhs} IN ({', '.join([row] * count)})"
        return f"{lhs} IN (VALUES {', '.join([row] * count)})"

    def order_term(self, expr: str, direction: str) -> str:
        """PostgreSQL sorts NULLs as the largest value; DataJoint's servers as the smallest."""
        return f"{expr} DESC NULLS LAST" if direction == "DESC" else f"{expr} NULLS FIRST"

    def union_type(self, left: Attribute, right: Attribute) -> str | None:
        """An enum is a type of its own, matched in a UNION by no other type (nor by another
        enum): such a column becomes text on both sides."""
        if not (left.type.members or right.type.members):
            return None
        same = left.type.members == right.type.members and left.lineage == right.lineage
        return None if same else "text"

    def decoder(self, attr: Attribute) -> Callable[[list[Any]], list[Any]] | None:
        if attr.kind == "uuid":
            return _uuid_bytes
        return None

    def encoder(self, attr: Attribute) -> Callable[[list[Any]], list[Any]] | None:
        if attr.kind == "uuid":
            return _uuid_values
        if attr.kind == "bool":
            return _bool_values
        return None

    # -- jobs ------------------------------------------------------------------------

    def now(self) -> str:
        return "LOCALTIMESTAMP(3)"

    def seconds_ago(self) -> str:
        return "LOCALTIMESTAMP(3) - make_interval(secs => %s)"

    def session_id(self) -> str:
        return "pg_backend_pid()"


def _uuid_bytes(column: list[Any]) -> list[Any]:
    return [v.bytes if isinstance(v, UUID) else v for v in column]


def _uuid_values(column: list[Any]) -> list[Any]:
    return [UUID(bytes=bytes(v)) if isinstance(v, bytes | bytearray | memoryview) else v for v in column]


def _bool_values(column: list[Any]) -> list[Any]:
    return [bool(v) if isinstance(v, int) else v for v in column]


def primary_key_name(table: str) -> str:
    """The name PostgreSQL gives a table's primary-key constraint."""
    return table.encode()[: MAX_NAME - 5].decode(errors="ignore") + "_pkey"


def translate_text(text: str) -> str:
    """User-written SQL for PostgreSQL: backquoted names (MySQL's spelling, which DataJoint
    users write) become double-quoted, and ``%`` is doubled for the driver. Strings and
    double-quoted names stay as written: a double-quoted word is a name here, as in
    standard SQL (write strings in single quotes)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "`\"'":
            j = i + 1
            while j < n and not (text[j] == ch and text[j + 1 : j + 2] != ch):
                j += 2 if text[j] == ch else 1
            inner = text[i + 1 : j]
            if ch == "`":
                inner = inner.replace("``", "`").replace('"', '""')
                ch = '"'
            out.append(ch + inner.replace("%", "%%") + ch)
            i = j + 1
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


BACKEND = Backend(dialect=PostgresDialect(), driver=PostgresDriver(), catalog=PostgresCatalog)

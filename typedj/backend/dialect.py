"""The dialect interface: every piece of SQL text that depends on the server, and what the
server can do (capability flags, as SQLAlchemy's ``supports_*``).

A dialect never holds or takes a connection: code that needs the server's answer asks the
backend's catalog (``backend.catalog``). Code outside the backend branches on a flag
below, never on the backend's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from ..errors import ConfigError
from ..heading import Attribute, ForeignKey, IndexDef, TableDef
from ..types import MISSING

CAPABILITIES = (
    "supports_streaming",
    "supports_live_sessions",
    "supports_kill",
    "supports_accounts",
    "supports_alter_table",
    "supports_row_locks",
    "supports_unsigned",
    "supports_enum_type",
    "supports_column_comments",
    "supports_transactional_ddl",
    "supports_fulltext",
    "supports_nul_in_text",
    "embedded",
)
"""The boolean flags of a dialect, by name (what tests may require)."""


@dataclass(frozen=True)
class TableChange:
    """The safe changes ``alter()`` makes to one table (``drift`` decides them), for a
    dialect to spell: columns by name, the declared ones described by ``declared``."""

    declared: TableDef
    existing: TableDef
    dropped_indexes: tuple[str, ...] = ()
    """Names of the indexes on the server (dropped first: a column's index goes with it)."""
    dropped_columns: tuple[str, ...] = ()
    added_columns: tuple[str, ...] = ()
    """In declared order."""
    changed_columns: tuple[str, ...] = ()
    """Type, nullability, default or comment changed."""
    added_indexes: tuple[IndexDef, ...] = ()
    comment: bool = False
    """The table comment becomes ``declared.comment``."""


class Dialect(ABC):
    """SQL spelling and capabilities of one kind of server."""

    name: ClassVar[str] = ""
    """For people (messages, an export's provenance); code asks the flags instead."""
    placeholder: ClassVar[str] = "%s"
    begin_transaction: ClassVar[str] = "START TRANSACTION WITH CONSISTENT SNAPSHOT"
    """Opens a transaction (SQLite takes the write lock at once, so writers never deadlock)."""
    commit_and_chain: ClassVar[str | None] = None
    """Commits and opens the next transaction in one statement (``Connection.chained``);
    None where the server cannot."""

    supports_streaming: ClassVar[bool] = False
    """Results are read from the server in batches (a server-side cursor), not all at once."""
    supports_live_sessions: ClassVar[bool] = False
    """The server lists the sessions of every client, so a job reserved by a dead one is found."""
    supports_kill: ClassVar[bool] = False
    """One session can stop another session's statement or connection (``KILL``)."""
    supports_accounts: ClassVar[bool] = False
    """Users sign in with a password and the server's grants decide what they may do."""
    supports_alter_table: ClassVar[bool] = False
    """``alter()`` can change an existing table in place."""
    supports_row_locks: ClassVar[bool] = False
    """Writers lock rows (and may deadlock), rather than taking turns on the whole database."""
    supports_unsigned: ClassVar[bool] = False
    """Unsigned integer columns are native (elsewhere a range check, uint64 stored wrapped)."""
    supports_enum_type: ClassVar[bool] = False
    """``enum(...)`` is a column type (elsewhere a CHECK constraint on text)."""
    supports_column_comments: ClassVar[bool] = False
    """Columns and tables carry comments (elsewhere kept in a catalog table)."""
    supports_transactional_ddl: ClassVar[bool] = False
    """CREATE/DROP TABLE take part in a transaction (MySQL commits before each)."""
    supports_fulltext: ClassVar[bool] = False
    """FULLTEXT indexes exist."""
    supports_nul_in_text: ClassVar[bool] = False
    """Text and JSON values may hold the NUL character (elsewhere refused by validation)."""
    embedded: ClassVar[bool] = False
    """The database is a file this process opens: no server, no accounts, one machine."""
    max_identifier_length: ClassVar[int | None] = None
    """The longest table or column name the server takes (None: no limit)."""

    @classmethod
    def capabilities(cls) -> frozenset[str]:
        """The names of the flags that are true for this dialect."""
        return frozenset(flag for flag in CAPABILITIES if getattr(cls, flag))

    @abstractmethod
    def quote(self, name: str) -> str:
        """Quote an identifier."""

    def is_quoted(self, sql: str, name: str) -> bool:
        """Whether ``sql`` is exactly the identifier ``name``, quoted."""
        return sql == self.quote(name)

    def table(self, schema: str, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}"

    def literal(self, value: Any) -> str:
        """A value as SQL text, for the few places (DDL defaults) that cannot bind it."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float | Decimal):
            return str(value)
        return self.string_literal(str(value))

    @abstractmethod
    def string_literal(self, text: str) -> str:
        """Text quoted and escaped the way this server reads it."""

    def sql_text(self, text: str) -> str:
        """User-written SQL (a condition, an expression) made safe for the parameter style."""
        return text

    def params(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    # -- DDL ---------------------------------------------------------------------

    @abstractmethod
    def create_schema(self, schema: str) -> list[str]:
        """Statements that create a schema if it does not exist."""

    @abstractmethod
    def drop_schema(self, schema: str) -> list[str]: ...

    @abstractmethod
    def create_table(self, table: TableDef) -> list[str]:
        """Statements that create a table (and its indexes) if it does not exist."""

    def drop_table(self, schema: str, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.table(schema, table)}"

    def alter_table(self, change: TableChange) -> list[str]:
        """Statements that make the changes, applied together or not at all (one statement
        where the server commits DDL by itself). Only where ``supports_alter_table``."""
        raise ConfigError(f"changing an existing table in place (alter) is not supported on {self.name}",
                          table=change.declared.name)

    @abstractmethod
    def lineage_table(self, schema: str) -> str:
        """DDL of the schema's ``~lineage`` table."""

    @abstractmethod
    def column_definition(self, attr: Attribute) -> str: ...

    def foreign_key(self, fk: ForeignKey) -> str:
        """DataJoint's reference clause: the server cascades key updates, never deletes."""
        local = ", ".join(self.quote(c) for c in fk.attr_map)
        remote = ", ".join(self.quote(c) for c in fk.attr_map.values())
        return (
            f"FOREIGN KEY ({local}) REFERENCES {self.table(fk.parent_schema, fk.parent_table)} "
            f"({remote}) ON UPDATE CASCADE ON DELETE RESTRICT"
        )

    def nullability(self, attr: Attribute) -> list[str]:
        """``NOT NULL`` and ``DEFAULT ...`` as DataJoint declares them: no default, required."""
        if attr.default is MISSING and not attr.nullable:
            return ["NOT NULL"]
        if attr.default is None or (attr.nullable and attr.default is MISSING):
            return ["DEFAULT NULL"]
        return [*([] if attr.nullable else ["NOT NULL"]), "DEFAULT " + self.default_sql(attr)]

    @abstractmethod
    def default_sql(self, attr: Attribute) -> str:
        """An attribute's (non-NULL) default as SQL text."""

    # -- DML ---------------------------------------------------------------------

    def insert(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        *,
        skip_duplicates: bool = False,
        replace: bool = False,
    ) -> str:
        verb = "REPLACE" if replace else ("INSERT IGNORE" if skip_duplicates else "INSERT")
        cols = ", ".join(self.quote(c) for c in columns)
        return f"{verb} INTO {self.table(schema, table)} ({cols}) VALUES ({self.params(len(columns))})"

    def in_rows(self, lhs: str, row: str, count: int) -> str:
        """``lhs IN`` a list of ``count`` parenthesized rows of placeholders ``row``."""
        return f"{lhs} IN ({', '.join([row] * count)})"

    def update(self, schema: str, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        sets = ", ".join(f"{self.quote(c)} = {self.placeholder}" for c in columns)
        where = " AND ".join(f"{self.quote(c)} = {self.placeholder}" for c in key)
        return f"UPDATE {self.table(schema, table)} SET {sets} WHERE {where}"

    def union_type(self, left: Attribute, right: Attribute) -> str | None:
        """The type both sides of a UNION cast a column to when its attribute's type differs
        between them, or None where the server finds a common type itself."""
        return None

    def decoder(self, attr: Attribute) -> Callable[[list[Any]], list[Any]] | None:
        """Makes fetched values of ``attr`` what the MySQL driver returns (date, Decimal, ...)."""
        return None

    def order_term(self, expr: str, direction: str) -> str:
        """An ORDER BY term (``direction``: ``''``, ``ASC`` or ``DESC``) with NULLs first in
        ascending order, last in descending, as MySQL and SQLite sort them."""
        return f"{expr} {direction}" if direction else expr

    def encoder(self, attr: Attribute) -> Callable[[list[Any]], list[Any]] | None:
        """The reverse of ``decoder``: values as the MySQL driver returns them, as this
        server takes them (for values copied between servers without codecs)."""
        return None

    # -- jobs (populate) ---------------------------------------------------------
    # Not abstract so that a dialect without populate support still instantiates;
    # each raises until the dialect spells it.

    def now(self) -> str:
        """SQL expression: the server's current time with millisecond precision."""
        raise NotImplementedError(f"{type(self).__name__}.now is needed by populate(reserve_jobs=True)")

    def seconds_ago(self) -> str:
        """SQL expression with one placeholder (seconds): that long before ``now()``."""
        raise NotImplementedError(f"{type(self).__name__}.seconds_ago is needed by the jobs table")

    def session_id(self) -> str:
        """SQL expression: the id of this database session, as the catalog's live_sessions() reports it."""
        raise NotImplementedError(f"{type(self).__name__}.session_id is needed by the jobs table")

    def reserve_returning(self, table: str, sets: str, where: str, key: Sequence[str]) -> str | None:
        """An ``UPDATE`` of ``table`` setting ``sets`` on the rows matching ``where`` that no
        other session holds locked, returning their ``key`` columns; None where an UPDATE
        cannot say which rows it changed (the caller then asks with a SELECT)."""
        return None

"""The dialect interface: every piece of SQL text that depends on the server.

The query compiler and the table operations ask the dialect for quoting, DDL and
catalog queries; they never spell SQL that differs between MySQL and SQLite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..heading import Attribute, ForeignKey, TableDef
from ..types import MISSING

if TYPE_CHECKING:
    from .connection import Connection


class Dialect(ABC):
    """SQL spelling for one kind of server."""

    name: str = ""
    placeholder: str = "%s"
    supports_schemas: bool = True
    begin_transaction: str = "START TRANSACTION WITH CONSISTENT SNAPSHOT"
    """Opens a transaction (SQLite takes the write lock at once, so writers never deadlock)."""

    @abstractmethod
    def quote(self, name: str) -> str:
        """Quote an identifier."""

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

    @abstractmethod
    def lineage_table(self, schema: str) -> str:
        """DDL of the schema's ``~lineage`` table."""

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

    def decoder(self, attr: Attribute) -> Callable[[list[Any]], list[Any]] | None:
        """Makes fetched values of ``attr`` what the MySQL driver returns (date, Decimal, ...)."""
        return None

    def size_limit(self, conn: Connection) -> tuple[int, bool] | None:
        """The most bytes the server takes, and whether that bounds a whole row (one
        statement, as MySQL's packet) or each value (as SQLite's length limit)."""
        return None

    def update(self, schema: str, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        sets = ", ".join(f"{self.quote(c)} = {self.placeholder}" for c in columns)
        where = " AND ".join(f"{self.quote(c)} = {self.placeholder}" for c in key)
        return f"UPDATE {self.table(schema, table)} SET {sets} WHERE {where}"

    # -- catalog -----------------------------------------------------------------

    def drop_database(self, conn: Connection, schema: str) -> None:
        """Drop the schema with everything left in it."""
        for sql in self.drop_schema(schema):
            conn.query(sql)

    def referencing_schemas(self, conn: Connection, schemas: set[str]) -> set[str]:
        """Schemas whose tables reference tables of ``schemas``."""
        marks = ", ".join([self.placeholder] * len(schemas))
        rows = conn.query(
            "SELECT DISTINCT table_schema FROM information_schema.key_column_usage "
            f"WHERE referenced_table_schema IN ({marks})",
            sorted(schemas),
        ).fetchall()
        return {r[0] for r in rows}

    @abstractmethod
    def schema_exists(self, conn: Connection, schema: str) -> bool: ...

    @abstractmethod
    def list_schemas(self, conn: Connection) -> list[str]: ...

    @abstractmethod
    def load_catalog(self, conn: Connection, schema: str) -> dict[str, TableDef]:
        """Every table of a schema as a ``TableDef`` read back from the server."""

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
        """SQL expression: the id of this database session, as live_sessions() reports it."""
        raise NotImplementedError(f"{type(self).__name__}.session_id is needed by the jobs table")

    def session_user(self, conn: Connection) -> str:
        """The account this session runs as (recorded with each job reservation)."""
        raise NotImplementedError(f"{type(self).__name__}.session_user is needed by the jobs table")

    def live_sessions(self, conn: Connection) -> set[int] | None:
        """Ids of every session alive on the server, or None when the server cannot tell.

        A job reserved by a session not in this set belongs to a dead worker.
        """
        return None

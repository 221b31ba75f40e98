"""The catalog interface: what the server knows about its schemas and sessions, asked
through one connection with SQL that the backend spells."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..config import DatabaseURL
from ..heading import Attribute, ForeignKey, Heading, IndexDef, TableDef
from .dialect import Dialect


class Session(Protocol):
    """What a catalog needs of a connection: its dialect, statements, the DB-API object."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def url(self) -> DatabaseURL: ...

    @property
    def raw(self) -> Any: ...

    def query(self, sql: str, params: Sequence[Any] | None = None, *, stream: bool = False) -> Any: ...


class Catalog(ABC):
    """The catalog queries of one backend, run through the session it belongs to."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> Dialect:
        return self.session.dialect

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self.session.query(sql, params)

    @abstractmethod
    def schema_exists(self, schema: str) -> bool: ...

    @abstractmethod
    def list_schemas(self) -> list[str]:
        """Every schema this account may see, sorted (the server's own left out)."""

    def schemas_with_tables(self, prefix: str) -> list[str]:
        """The schemas holding a table whose name starts with ``prefix``."""
        return [s for s in self.list_schemas() if any(t.startswith(prefix) for t in self.load_catalog(s))]

    @abstractmethod
    def load_catalog(self, schema: str) -> dict[str, TableDef]:
        """Every table of a schema as a ``TableDef`` read back from the server."""

    def table_counts(self) -> dict[str, int]:
        """The number of (visible, not hidden ``~``) tables of each schema."""
        return {s: sum(not t.startswith("~") for t in self.load_catalog(s)) for s in self.list_schemas()}

    def index_names(self, schema: str, table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
        """The table's indexes other than the primary key, by name: unique?, columns."""
        raise NotImplementedError(f"{type(self).__name__}.index_names is needed by alter()")

    def referencing_schemas(self, schemas: set[str]) -> set[str]:
        """Schemas whose tables reference tables of ``schemas``."""
        rows = self.query(
            "SELECT DISTINCT table_schema FROM information_schema.key_column_usage "
            f"WHERE referenced_table_schema IN ({self.dialect.params(len(schemas))})",
            sorted(schemas),
        ).fetchall()
        return {r[0] for r in rows}

    def drop_database(self, schema: str) -> None:
        """Drop the schema with everything left in it."""
        for sql in self.dialect.drop_schema(schema):
            self.query(sql)

    def size_limit(self) -> tuple[int, bool] | None:
        """The most bytes the server takes, and whether that bounds a whole row (one
        statement, as MySQL's packet) or each value (as SQLite's length limit)."""
        return None

    @abstractmethod
    def server(self) -> tuple[str, str]:
        """The server's version and the account this session runs as, for people."""

    def session_user(self) -> str:
        """The account this session runs as (recorded with each job reservation)."""
        raise NotImplementedError(f"{type(self).__name__}.session_user is needed by the jobs table")

    def live_sessions(self) -> set[int] | None:
        """Ids of every session alive on the server, or None when the server cannot tell.

        A job reserved by a session not in this set belongs to a dead worker.
        """
        return None

    def may_write(self, schema: str, table: str) -> bool:
        """Whether this account may insert into and delete from the table."""
        return True


ForeignKeyRows = Mapping[str, Mapping[str, dict[str, Any]]]
"""By table and constraint name: ``{"schema": ..., "table": ..., "map": {column: parent column}}``."""

IndexRows = Mapping[str, Mapping[str, tuple[bool, list[str]]]]
"""By table and index name: whether it is unique, and its columns in order."""


def table_defs(
    schema: str,
    tables: Mapping[str, str | None],
    columns: Mapping[str, list[Attribute]],
    foreign_keys: ForeignKeyRows,
    indexes: IndexRows,
) -> dict[str, TableDef]:
    """Tables as read from any server's catalog, assembled the one way: a reference is in the
    key when all its columns are, nullable when any is; an index the server made for a
    foreign key (the same columns, not unique) was not declared, so it is left out."""
    result: dict[str, TableDef] = {}
    for name, comment in tables.items():
        attrs = columns.get(name, [])
        foreign = tuple(
            ForeignKey(
                parent_schema=fk["schema"],
                parent_table=fk["table"],
                attr_map=dict(fk["map"]),
                in_key=all(a.in_key for a in attrs if a.name in fk["map"]),
                nullable=any(a.nullable for a in attrs if a.name in fk["map"]),
                name=constraint,
            )
            for constraint, fk in sorted(foreign_keys.get(name, {}).items())
        )
        fk_columns = {tuple(fk.attr_map) for fk in foreign}
        index_defs = tuple(
            IndexDef(tuple(cols), unique)
            for _, (unique, cols) in sorted(indexes.get(name, {}).items())
            if unique or tuple(cols) not in fk_columns
        )
        result[name] = TableDef(schema=schema, name=name, heading=Heading.of(attrs), comment=comment or "",
                                foreign_keys=foreign, indexes=index_defs)
    return result

"""SQLite: the catalog, read from ``sqlite_schema``, the ``PRAGMA``s and typedj's own
``~typedj_catalog`` (column types and comments SQLite does not keep)."""

from __future__ import annotations

import getpass
import os
import platform
import sqlite3
from typing import Any

from ...errors import IntegrityError
from ...heading import Attribute, ForeignKey, Heading, IndexDef, TableDef, split_comment
from ...types import CURRENT_TIMESTAMP, MISSING
from ..catalog import Catalog
from .dialect import _CATALOG, _FK_INDEX, _NOW_MS, _NOW_S, _SCHEMAS

_LINEAGE_COLUMNS = {
    "table_name": ("varchar(64)", "table name within the schema", 0),
    "attribute_name": ("varchar(64)", "attribute name", 0),
    "lineage": ("varchar(255)", "origin: schema.table.attribute", 0),
}


class SQLiteCatalog(Catalog):
    def drop_database(self, schema: str) -> None:
        """Drop every table of ``schema`` (hidden ones too), then forget the schema.

        Refused while a table of another schema references one of them, as MySQL refuses
        to drop a referenced table.
        """
        tables = self._tables(schema)
        mine = {f"{schema}.{t}" for t in tables}
        outside = [
            name
            for (name,) in self.query("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
            if name not in mine
            and any(fk[2] in mine for fk in self._foreign_key_rows(name))
        ]
        if outside:
            raise IntegrityError(
                f"cannot drop schema {schema!r}: tables of other schemas reference it: {sorted(outside)}"
            )
        self.query("PRAGMA foreign_keys = OFF")
        try:
            for table in tables:
                self.query(f"DROP TABLE IF EXISTS {self.dialect.table(schema, table)}")
        finally:
            self.query("PRAGMA foreign_keys = ON")
        for sql in self.dialect.drop_schema(schema):
            self.query(sql)

    def _tables(self, schema: str) -> list[str]:
        prefix = schema + "."
        rows = self.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, ?) = ?",
            (len(prefix), prefix),
        ).fetchall()
        return sorted(r[0][len(prefix) :] for r in rows)

    def _foreign_key_rows(self, table: str) -> list[tuple[Any, ...]]:
        """``(id, seq, parent table, column, parent column, ...)`` per column of each foreign key."""
        sql = f"PRAGMA foreign_key_list({self.dialect.quote(table)})"
        rows: list[tuple[Any, ...]] = self.query(sql).fetchall()
        return rows

    def _all_tables(self) -> list[tuple[str, str]]:
        """``(schema, table)`` of every table in the file that belongs to a schema."""
        rows = self.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '%.%'"
        ).fetchall()
        return [(s, t) for s, _, t in (r[0].partition(".") for r in rows)]

    def schemas_with_tables(self, prefix: str) -> list[str]:
        found = {s for s, t in self._all_tables() if t.startswith(prefix)}
        return [s for s in self.list_schemas() if s in found]

    def table_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.list_schemas(), 0)
        for schema, table in self._all_tables():
            if schema in counts and not table.startswith("~"):
                counts[schema] += 1
        return counts

    def may_write(self, schema: str, table: str) -> bool:
        """The file's permissions decide (SQLite has no accounts)."""
        return os.access(self.session.url.path, os.W_OK)

    def server(self) -> tuple[str, str]:
        return str(self.query("SELECT sqlite_version()").fetchone()[0]), ""

    def schema_exists(self, schema: str) -> bool:
        rows = self.query(f'SELECT 1 FROM "{_SCHEMAS}" WHERE schema_name = ?', (schema,)).fetchall()
        return bool(rows)

    def list_schemas(self) -> list[str]:
        return sorted(r[0] for r in self.query(f'SELECT schema_name FROM "{_SCHEMAS}"').fetchall())

    def referencing_schemas(self, schemas: set[str]) -> set[str]:
        found: set[str] = set()
        for (name,) in self.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '%.%'"):
            own = name.split(".", 1)[0]
            if own in schemas:
                continue
            for fk in self._foreign_key_rows(name):
                if fk[2].split(".", 1)[0] in schemas:
                    found.add(own)
        return found

    def size_limit(self) -> tuple[int, bool] | None:
        return int(self.session.raw.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)), False

    def session_user(self) -> str:
        return f"{getpass.getuser()}@{platform.node()}"

    def live_sessions(self) -> set[int] | None:
        """The processes alive on this machine (SQLite files are shared only within one)."""
        if not os.path.isdir("/proc/self"):
            return None
        return {int(p) for p in os.listdir("/proc") if p.isdigit()}

    def load_catalog(self, schema: str) -> dict[str, TableDef]:
        catalog: dict[tuple[str, str], tuple[str, str, int]] = {
            (t, c): (sql_type, comment, auto)
            for t, c, sql_type, comment, auto in self.query(
                f'SELECT table_name, column_name, sql_type, comment, auto_increment FROM "{_CATALOG}" '
                "WHERE schema_name = ?",
                (schema,),
            ).fetchall()
        }
        for column, known in _LINEAGE_COLUMNS.items():
            catalog[("~lineage", column)] = known
        result: dict[str, TableDef] = {}
        for table in self._tables(schema):
            name = self.dialect.table(schema, table)
            attrs = [
                self._attribute(catalog.get((table, col)), col, ctype, notnull, default, pk)
                for _, col, ctype, notnull, default, pk in self.query(f"PRAGMA table_info({name})").fetchall()
            ]
            foreign: dict[int, dict[str, Any]] = {}
            for fid, _, parent, local, remote, *_ in self._foreign_key_rows(f"{schema}.{table}"):
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
            for _, index, unique, origin, _partial in self.query(f"PRAGMA index_list({name})").fetchall():
                if origin != "c" or index.startswith(_FK_INDEX):
                    continue
                cols = tuple(
                    r[2] for r in self.query(f"PRAGMA index_info({self.dialect.quote(index)})").fetchall()
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

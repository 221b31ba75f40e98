"""MySQL / MariaDB: the dialect and the pymysql connection factory."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pymysql
import pymysql.converters

from ..codecs.core import Unsigned64
from ..config import DatabaseURL
from ..heading import Attribute, ForeignKey, Heading, IndexDef, TableDef, split_comment
from ..sqltypes import unescape_string
from ..types import CURRENT_TIMESTAMP, MISSING
from .dialect import Dialect

if TYPE_CHECKING:
    from .connection import Connection

_LINEAGE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
  `table_name` VARCHAR(64) NOT NULL COMMENT 'table name within the schema',
  `attribute_name` VARCHAR(64) NOT NULL COMMENT 'attribute name',
  `lineage` VARCHAR(255) NOT NULL COMMENT 'origin: schema.table.attribute',
  PRIMARY KEY (`table_name`, `attribute_name`)
) ENGINE=InnoDB"""

_GLOBAL_GRANT = re.compile(r"^GRANT (.+?) ON \*\.\* TO ", re.IGNORECASE)

_INT_DISPLAY = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")


class MySQLDialect(Dialect):
    name = "mysql"
    placeholder = "%s"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def size_limit(self, conn: Connection) -> tuple[int, bool] | None:
        raw = conn.raw
        limit = getattr(raw, "_typedj_packet", None)
        if limit is None:
            limit = raw._typedj_packet = int(conn.query("SELECT @@max_allowed_packet").fetchone()[0])
        return limit, True

    def sql_text(self, text: str) -> str:
        return text.replace("%", "%%")

    def string_literal(self, text: str) -> str:
        escaped: str = pymysql.converters.escape_string(text)
        return "'" + escaped + "'"

    def create_schema(self, schema: str) -> list[str]:
        return [f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"]

    def drop_schema(self, schema: str) -> list[str]:
        return [f"DROP DATABASE IF EXISTS {self.quote(schema)}"]

    def lineage_table(self, schema: str) -> str:
        return _LINEAGE_DDL.format(table=self.table(schema, "~lineage"))

    def column_definition(self, attr: Attribute) -> str:
        parts = [self.quote(attr.name), attr.sql_type, *self.nullability(attr)]
        if attr.auto_increment:
            parts.append("AUTO_INCREMENT")
        comment = attr.column_comment
        if comment:
            parts.append("COMMENT " + self.literal(comment))
        return " ".join(parts)

    def default_sql(self, attr: Attribute) -> str:
        value = attr.default
        if isinstance(value, str) and value.upper().startswith("CURRENT_TIMESTAMP"):
            precision = attr.type.precision
            return f"CURRENT_TIMESTAMP({precision})" if precision is not None else "CURRENT_TIMESTAMP"
        return self.literal(value)

    def create_table(self, table: TableDef) -> list[str]:
        lines = [self.column_definition(a) for a in table.heading]
        lines.append("PRIMARY KEY (" + ", ".join(self.quote(k) for k in table.heading.primary_key) + ")")
        for fk in table.foreign_keys:
            lines.append(self.foreign_key(fk))
            if fk.unique:
                lines.append("UNIQUE INDEX (" + ", ".join(self.quote(c) for c in fk.attr_map) + ")")
        for index in table.indexes:
            cols = ", ".join(self.quote(c) for c in index.attributes)
            lines.append(f"{'UNIQUE ' if index.unique else ''}INDEX ({cols})")
        body = ",\n  ".join(lines)
        name = self.table(table.schema, table.name)
        sql = f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}\n) ENGINE=InnoDB"
        if table.comment:
            sql += " COMMENT=" + self.literal(table.comment)
        return [sql]

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        rows = conn.query(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchall()
        return bool(rows)

    def list_schemas(self, conn: Connection) -> list[str]:
        rows = conn.query("SELECT schema_name FROM information_schema.schemata").fetchall()
        hidden = {"information_schema", "mysql", "performance_schema", "sys"}
        return sorted(r[0] for r in rows if r[0] not in hidden)

    def load_catalog(self, conn: Connection, schema: str) -> dict[str, TableDef]:
        tables = {
            name: comment
            for name, comment in conn.query(
                "SELECT table_name, table_comment FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (schema,),
            ).fetchall()
        }
        columns: dict[str, list[Attribute]] = defaultdict(list)
        for name, col, ctype, nullable, default, key, extra, comment in conn.query(
            "SELECT table_name, column_name, column_type, is_nullable, column_default, "
            "column_key, extra, column_comment FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        ).fetchall():
            columns[name].append(self._attribute(col, ctype, nullable, default, key, extra, comment))
        fks: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for name, constraint, col, ref_schema, ref_table, ref_col in conn.query(
            "SELECT table_name, constraint_name, column_name, referenced_table_schema, "
            "referenced_table_name, referenced_column_name FROM information_schema.key_column_usage "
            "WHERE table_schema = %s AND referenced_table_name IS NOT NULL "
            "ORDER BY table_name, constraint_name, ordinal_position",
            (schema,),
        ).fetchall():
            fk = fks[name].setdefault(constraint, {"schema": ref_schema, "table": ref_table, "map": {}})
            fk["map"][col] = ref_col
        indexes: dict[str, dict[str, tuple[bool, list[str]]]] = defaultdict(dict)
        for name, index, non_unique, col in conn.query(
            "SELECT table_name, index_name, non_unique, column_name FROM information_schema.statistics "
            "WHERE table_schema = %s AND index_name <> 'PRIMARY' "
            "ORDER BY table_name, index_name, seq_in_index",
            (schema,),
        ).fetchall():
            indexes[name].setdefault(index, (not int(non_unique), []))[1].append(col)
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
                for constraint, fk in sorted(fks.get(name, {}).items())
            )
            fk_column_sets = {tuple(fk.attr_map) for fk in foreign}
            index_defs = []
            for _, (unique, cols) in sorted(indexes.get(name, {}).items()):
                if not unique and tuple(cols) in fk_column_sets:
                    continue  # made by InnoDB for a foreign key, not declared
                index_defs.append(IndexDef(tuple(cols), unique))
            result[name] = TableDef(
                schema=schema,
                name=name,
                heading=Heading.of(attrs),
                comment=comment or "",
                foreign_keys=foreign,
                indexes=tuple(index_defs),
            )
        return result

    @staticmethod
    def _attribute(
        name: str, ctype: str, nullable: str, default: Any, key: str, extra: str, comment: str
    ) -> Attribute:
        ctype = _INT_DISPLAY.sub(r"\1", ctype)
        declared, user_comment = split_comment(comment or "")
        if declared is None and ctype == "tinyint(1)":
            ctype = "tinyint"
        return Attribute(
            name=name,
            type_name=declared or ctype,
            sql_type=ctype,
            in_key=key == "PRI",
            nullable=nullable == "YES",
            default=_parse_default(default),
            comment=user_comment,
            core=declared is not None,
            auto_increment="auto_increment" in (extra or "").lower(),
        )

    def now(self) -> str:
        return "CURRENT_TIMESTAMP(3)"

    def seconds_ago(self) -> str:
        return "CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND"

    def session_id(self) -> str:
        return "CONNECTION_ID()"

    def session_user(self, conn: Connection) -> str:
        return str(conn.query("SELECT USER()").fetchone()[0])

    def live_sessions(self, conn: Connection) -> set[int] | None:
        """From the process list, which shows every session only with the PROCESS privilege."""
        grants = [str(r[0]) for r in conn.query("SHOW GRANTS").fetchall()]
        sees_all = any(
            (m := _GLOBAL_GRANT.match(g)) and ("ALL PRIVILEGES" in m.group(1) or "PROCESS" in m.group(1))
            for g in grants
        )
        if not sees_all:
            return None
        return {int(r[0]) for r in conn.query("SELECT id FROM information_schema.processlist").fetchall()}

    def is_missing_table_error(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.err.ProgrammingError) and exc.args[0] == 1146


def _parse_default(text: Any) -> Any:
    """MariaDB reports defaults as SQL text: quoted literals, NULL, or expressions."""
    if text is None:
        return MISSING
    text = str(text)
    if text.upper() == "NULL":
        return None
    if text.lower().startswith("current_timestamp"):
        return CURRENT_TIMESTAMP
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return unescape_string(text[1:-1])
    return text



_CONVERSIONS = {
    **pymysql.converters.conversions,
    Unsigned64: pymysql.converters.escape_int,
    UUID: lambda value, mapping=None: pymysql.converters.escape_bytes(value.bytes),
}
"""pymysql's conversions, with typedj's marked uint64 values sent as plain integers and
UUIDs as their 16 bytes (``binary(16)``)."""


def connect_mysql(url: DatabaseURL) -> Any:
    """A new pymysql connection in autocommit mode with DataJoint's session settings."""
    ssl: dict[str, Any] | None = {"ssl": {}} if url.tls else None
    return pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password,
        autocommit=True,
        charset="utf8mb4",
        init_command="SET SESSION sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_ALL_TABLES,"
        "NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'",
        local_infile=False,
        conv=_CONVERSIONS,
        **(ssl or {}),
    )

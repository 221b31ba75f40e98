"""MySQL / MariaDB: the catalog, read from ``information_schema``."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ...heading import Attribute, TableDef, split_comment
from ...sqltypes import column_type, unescape_string
from ...types import CURRENT_TIMESTAMP, MISSING
from ..catalog import Catalog, Session, table_defs

_GLOBAL_GRANT = re.compile(r"^GRANT (.+?) ON \*\.\* TO ", re.IGNORECASE)

_HIDDEN = {"information_schema", "mysql", "performance_schema", "sys"}


class MySQLCatalog(Catalog):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._packet: int | None = None

    def size_limit(self) -> tuple[int, bool] | None:
        if self._packet is None:
            self._packet = int(self.query("SELECT @@max_allowed_packet").fetchone()[0])
        return self._packet, True

    def schema_exists(self, schema: str) -> bool:
        rows = self.query(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchall()
        return bool(rows)

    def list_schemas(self) -> list[str]:
        rows = self.query("SELECT schema_name FROM information_schema.schemata").fetchall()
        return sorted(r[0] for r in rows if r[0] not in _HIDDEN)

    def schemas_with_tables(self, prefix: str) -> list[str]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.query("SELECT DISTINCT table_schema FROM information_schema.tables "
                          "WHERE table_name LIKE %s ORDER BY table_schema", (pattern,)).fetchall()
        return [r[0] for r in rows]

    def table_counts(self) -> dict[str, int]:
        return dict(self.query(
            "SELECT table_schema, COUNT(*) FROM information_schema.tables "
            "WHERE table_name NOT LIKE '~%%' GROUP BY table_schema"
        ).fetchall())

    def may_write(self, schema: str, table: str) -> bool:
        """From the INSERT grants of the current account: global, on the schema (a name or
        a LIKE pattern), or on the table."""
        me = (
            "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
            "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
        )
        rows = self.query(
            f"SELECT 'global', '' FROM information_schema.user_privileges WHERE grantee = {me} "
            "AND privilege_type = 'INSERT' "
            f"UNION ALL SELECT 'schema', table_schema FROM information_schema.schema_privileges "
            f"WHERE grantee = {me} AND privilege_type = 'INSERT' "
            f"UNION ALL SELECT 'table', table_schema FROM information_schema.table_privileges "
            f"WHERE grantee = {me} AND privilege_type = 'INSERT' AND table_name = %s",
            (table,),
        ).fetchall()
        return any(
            level == "global"
            or (level == "table" and pattern == schema)
            or (level == "schema" and _grant_matches(str(pattern), schema))
            for level, pattern in rows
        )

    def server(self) -> tuple[str, str]:
        version, user = self.query("SELECT VERSION(), CURRENT_USER()").fetchone()
        return str(version), str(user)

    def load_catalog(self, schema: str) -> dict[str, TableDef]:
        tables = dict(self.query(
            "SELECT table_name, table_comment FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (schema,),
        ).fetchall())
        columns: dict[str, list[Attribute]] = defaultdict(list)
        for name, col, ctype, nullable, default, key, extra, comment in self.query(
            "SELECT table_name, column_name, column_type, is_nullable, column_default, "
            "column_key, extra, column_comment FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        ).fetchall():
            columns[name].append(self._attribute(col, ctype, nullable, default, key, extra, comment))
        fks = self._foreign_keys(schema)
        indexes = self._indexes(schema)
        return table_defs(schema, tables, columns, fks, indexes)

    def _foreign_keys(self, schema: str) -> dict[str, dict[str, dict[str, Any]]]:
        """By table and constraint: the referenced schema, table and column map."""
        fks: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for name, constraint, col, ref_schema, ref_table, ref_col in self.query(
            "SELECT table_name, constraint_name, column_name, referenced_table_schema, "
            "referenced_table_name, referenced_column_name FROM information_schema.key_column_usage "
            "WHERE table_schema = %s AND referenced_table_name IS NOT NULL "
            "ORDER BY table_name, constraint_name, ordinal_position",
            (schema,),
        ).fetchall():
            fk = fks[name].setdefault(constraint, {"schema": ref_schema, "table": ref_table, "map": {}})
            fk["map"][col] = ref_col
        return fks

    def index_names(self, schema: str, table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
        found = self._indexes(schema, table).get(table, {})
        return {name: (unique, tuple(cols)) for name, (unique, cols) in found.items()}

    def _indexes(self, schema: str, table: str | None = None) -> dict[str, dict[str, tuple[bool, list[str]]]]:
        """By table and index name: whether it is unique, and its columns."""
        indexes: dict[str, dict[str, tuple[bool, list[str]]]] = defaultdict(dict)
        one = " AND table_name = %s" if table is not None else ""
        for name, index, non_unique, col in self.query(
            "SELECT table_name, index_name, non_unique, column_name FROM information_schema.statistics "
            f"WHERE table_schema = %s{one} AND index_name <> 'PRIMARY' "
            "ORDER BY table_name, index_name, seq_in_index",
            (schema,) if table is None else (schema, table),
        ).fetchall():
            indexes[name].setdefault(index, (not int(non_unique), []))[1].append(col)
        return indexes

    @staticmethod
    def _attribute(
        name: str, ctype: str, nullable: str, default: Any, key: str, extra: str, comment: str
    ) -> Attribute:
        declared, user_comment = split_comment(comment or "")
        server = column_type(ctype, ctype)
        if server.int_range is not None and server.length is not None:
            ctype = ctype.replace(f"({server.length})", "", 1)  # int(11): a display width, as MySQL 8 drops
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

    def session_user(self) -> str:
        return str(self.query("SELECT USER()").fetchone()[0])

    def live_sessions(self) -> set[int] | None:
        """From the process list, which shows every session only with the PROCESS privilege."""
        grants = [str(r[0]) for r in self.query("SHOW GRANTS").fetchall()]
        sees_all = any(
            (m := _GLOBAL_GRANT.match(g)) and ("ALL PRIVILEGES" in m.group(1) or "PROCESS" in m.group(1))
            for g in grants
        )
        if not sees_all:
            return None
        return {int(r[0]) for r in self.query("SELECT id FROM information_schema.processlist").fetchall()}


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


def _grant_matches(pattern: str, schema: str) -> bool:
    """A schema-level grant names a schema or a LIKE pattern (``lab\\_%``)."""
    parts = []
    for token in re.findall(r"\\.|%|_|[^\\%_]+", pattern):
        if token == "%":
            parts.append(".*")
        elif token == "_":
            parts.append(".")
        else:
            parts.append(re.escape(token[1] if token.startswith("\\") else token))
    return re.fullmatch("".join(parts), schema) is not None

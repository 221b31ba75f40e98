"""PostgreSQL's catalog read back as typedj's table definitions, through a connection.

``pg_catalog`` rather than ``information_schema``: it keeps a type's declared precision
(``timestamp`` and ``timestamp(6)`` differ there), names the enum types, and answers a
whole schema in a handful of queries.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ..heading import Attribute, TableDef, split_comment
from ..sqltypes import enum_type
from ..types import CURRENT_TIMESTAMP, MISSING
from .catalog import Catalog, Session, table_defs
from .postgres_types import core_sql_type

_HIDDEN = "nspname NOT LIKE 'pg\\_%%' AND nspname NOT IN ('information_schema', 'public')"

_TABLES = """SELECT c.relname, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')"""

_COLUMNS = """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typtype,
  a.atttypid, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
  col_description(c.oid, a.attnum)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum"""

_INHERITED = """WITH RECURSIVE ref AS (
  SELECT k.conrelid AS rel, u.col, k.confrelid AS prel, u.fcol AS pcol
  FROM pg_constraint k CROSS JOIN LATERAL unnest(k.conkey, k.confkey) AS u(col, fcol)
  WHERE k.contype = 'f'
), chain AS (
  SELECT r.rel, r.col, r.prel, r.pcol, 1 AS depth FROM ref r
  JOIN pg_class c ON c.oid = r.rel JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %s AND col_description(r.rel, r.col) IS NULL
  UNION ALL
  SELECT ch.rel, ch.col, r.prel, r.pcol, ch.depth + 1 FROM chain ch
  JOIN ref r ON r.rel = ch.prel AND r.col = ch.pcol
  WHERE col_description(ch.prel, ch.pcol) IS NULL AND ch.depth < 64
)
SELECT DISTINCT ON (c.relname, a.attname) c.relname, a.attname, col_description(ch.prel, ch.pcol)
FROM chain ch JOIN pg_class c ON c.oid = ch.rel
JOIN pg_attribute a ON a.attrelid = ch.rel AND a.attnum = ch.col
WHERE col_description(ch.prel, ch.pcol) IS NOT NULL
ORDER BY c.relname, a.attname, ch.depth"""
"""Comments of foreign-key columns that have none: datajoint-python leaves them bare on
PostgreSQL, so their type and comment are the referenced column's, followed up the chain."""

_ENUMS = """SELECT e.enumtypid, e.enumlabel FROM pg_enum e
WHERE e.enumtypid IN (SELECT a.atttypid FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %s)
ORDER BY e.enumtypid, e.enumsortorder"""

_CONSTRAINTS = """SELECT c.relname, k.contype, k.conname, a.attname, fn.nspname, fc.relname, fa.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(k.conkey, coalesce(k.confkey, k.conkey)) WITH ORDINALITY AS u(col, fcol, pos)
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col
LEFT JOIN pg_class fc ON fc.oid = k.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = u.fcol
WHERE n.nspname = %s AND k.contype IN ('p', 'f', 'c')
ORDER BY c.relname, k.contype, k.conname, u.pos"""

_INDEXES = """SELECT c.relname, ic.relname, i.indisunique, a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS u(col, pos)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.col
WHERE n.nspname = %s AND NOT i.indisprimary
ORDER BY c.relname, ic.relname, u.pos"""

_FORMATS = [
    (re.compile(r"^character varying\((\d+)\)$"), r"varchar(\1)"),
    (re.compile(r"^character\((\d+)\)$"), r"char(\1)"),
    (re.compile(r"^numeric\((\d+),(\d+)\)$"), r"decimal(\1,\2)"),
    (re.compile(r"^timestamp\((\d)\) without time zone$"), r"datetime(\1)"),
    (re.compile(r"^timestamp without time zone$"), "datetime"),
    (re.compile(r"^time\((\d)\) without time zone$"), r"time(\1)"),
    (re.compile(r"^time without time zone$"), "time"),
]

_NAMES = {
    "integer": "int",
    "real": "float",
    "double precision": "double",
    "bytea": "longblob",
    "jsonb": "json",
    "character varying": "text",
}


def schema_exists(conn: Session, schema: str) -> bool:
    return bool(conn.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchall())


def list_schemas(conn: Session) -> list[str]:
    rows = conn.query(f"SELECT nspname FROM pg_namespace WHERE {_HIDDEN} ORDER BY nspname", ()).fetchall()
    return [r[0] for r in rows]


def referencing_schemas(conn: Session, schemas: set[str]) -> set[str]:
    """Schemas whose tables reference tables of ``schemas``."""
    rows = conn.query(
        "SELECT DISTINCT n.nspname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE k.contype = 'f' AND pn.nspname = ANY(%s)",
        (sorted(schemas),),
    ).fetchall()
    return {r[0] for r in rows}


def live_sessions(conn: Session) -> set[int]:
    """Every server process (session) alive; any role sees every pid in ``pg_stat_activity``."""
    return {int(r[0]) for r in conn.query("SELECT pid FROM pg_stat_activity").fetchall()}


def sql_type(formatted: str) -> str:
    """typedj's SQL type of a ``format_type()`` result."""
    for pattern, replacement in _FORMATS:
        if pattern.match(formatted):
            return pattern.sub(replacement, formatted)
    return _NAMES.get(formatted, formatted)


def parse_default(text: str | None) -> Any:
    """A column default as ``pg_get_expr`` shows it (``'a''b'::character varying``)."""
    if text is None:
        return MISSING
    if text.upper().startswith("NULL"):
        return None
    if text.lower().startswith("current_timestamp") or text.lower().startswith("localtimestamp"):
        return CURRENT_TIMESTAMP
    if text.startswith("'"):
        end = 1
        while True:
            end = text.index("'", end)
            if text[end + 1 : end + 2] == "'":
                end += 2
                continue
            break
        return text[1:end].replace("''", "'")
    if text in {"true", "false"}:
        return "1" if text == "true" else "0"
    return text.removeprefix("(").split("::")[0].rstrip(")")


def load_catalog(conn: Session, schema: str) -> dict[str, TableDef]:
    """Every table of ``schema`` as a ``TableDef``."""
    tables = dict(conn.query(_TABLES, (schema,)).fetchall())
    labels: dict[int, list[str]] = defaultdict(list)
    for oid, label in conn.query(_ENUMS, (schema,)).fetchall():
        labels[oid].append(label)
    keys: dict[str, list[str]] = defaultdict(list)
    checks: dict[tuple[str, str], str] = {}
    fks: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    constraints = conn.query(_CONSTRAINTS, (schema,)).fetchall()
    for table, kind, name, col, ref_schema, ref_table, ref_col in constraints:
        if kind == "p":
            keys[table].append(col)
        elif kind == "c" and name.startswith(col + ":"):
            checks[(table, col)] = name[len(col) + 1 :]
        elif kind == "f":
            fk = fks[table].setdefault(name, {"schema": ref_schema, "table": ref_table, "map": {}})
            fk["map"][col] = ref_col
    inherited = {(t, a): c for t, a, c in conn.query(_INHERITED, (schema,)).fetchall()}
    columns: dict[str, list[Attribute]] = defaultdict(list)
    for row in conn.query(_COLUMNS, (schema,)).fetchall():
        table, name = row[0], row[1]
        if row[-1] is None and (table, name) in inherited:
            row = (*row[:-1], _referencing_comment(inherited[(table, name)]))
        attr = _attribute(row, labels, checks.get((table, name)), name in keys.get(table, ()))
        columns[table].append(attr)
    indexes: dict[str, dict[str, tuple[bool, list[str]]]] = defaultdict(dict)
    for table, index, unique, col in conn.query(_INDEXES, (schema,)).fetchall():
        indexes[table].setdefault(index, (bool(unique), []))[1].append(col)
    return table_defs(schema, tables, columns, fks, indexes)


def _referencing_comment(parent: str | None) -> str | None:
    """A foreign-key column's comment as typedj declares it on MySQL: the parent's comment,
    with its ``:type:`` only for a uuid (else the column keeps its SQL type, ``smallint``)."""
    declared, user_comment = split_comment(parent or "")
    return f":{declared}:{user_comment}" if declared == "uuid" else user_comment


def _attribute(
    row: tuple[Any, ...], labels: dict[int, list[str]], checked: str | None, in_key: bool
) -> Attribute:
    _, name, formatted, typtype, type_oid, not_null, default, identity, comment = row
    declared, user_comment = split_comment(comment or "")
    native = enum_type(labels.get(type_oid, [])) if typtype == "e" else checked or sql_type(formatted)
    auto = bool(identity) or bool(default and str(default).startswith("nextval("))
    nullable = not not_null
    value = MISSING if auto else parse_default(default)
    if nullable and value is MISSING:
        value = None
    return Attribute(
        name=name,
        type_name=declared or native,
        sql_type=core_sql_type(declared, native) if declared else native,
        in_key=in_key,
        nullable=nullable,
        default=value,
        comment=user_comment,
        core=declared is not None,
        auto_increment=auto,
    )


class PostgresCatalog(Catalog):
    """The catalog queries above, through the session this catalog belongs to."""

    def schema_exists(self, schema: str) -> bool:
        return schema_exists(self.session, schema)

    def list_schemas(self) -> list[str]:
        return list_schemas(self.session)

    def referencing_schemas(self, schemas: set[str]) -> set[str]:
        return referencing_schemas(self.session, schemas)

    def load_catalog(self, schema: str) -> dict[str, TableDef]:
        return load_catalog(self.session, schema)

    def index_names(self, schema: str, table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
        found: dict[str, tuple[bool, list[str]]] = {}
        for name, index, unique, col in self.query(_INDEXES, (schema,)).fetchall():
            if name == table:
                found.setdefault(index, (bool(unique), []))[1].append(col)
        return {index: (unique, tuple(cols)) for index, (unique, cols) in found.items()}

    def size_limit(self) -> tuple[int, bool] | None:
        return 2**30 - 1, False

    def server(self) -> tuple[str, str]:
        version, user = self.query("SELECT current_setting('server_version'), current_user").fetchone()
        return str(version), str(user)

    def session_user(self) -> str:
        return str(self.query("SELECT current_user").fetchone()[0])

    def live_sessions(self) -> set[int] | None:
        return live_sessions(self.session)

    def may_write(self, schema: str, table: str) -> bool:
        """From the INSERT privilege of the current role on the table (owners hold it)."""
        name = f"{self.dialect.quote(schema)}.{self.dialect.quote(table)}"
        return bool(self.query("SELECT has_table_privilege(%s, 'INSERT')", (name,)).fetchone()[0])

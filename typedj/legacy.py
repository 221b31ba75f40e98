"""Schemas declared by datajoint-python 0.14: how their tables are laid out.

0.14 records a type in a column comment only for its special types (``:uuid:``,
``:attach:``, ``:blob@store:``, ``:attach@store:``, ``:filepath@store:``); every other
column, in-table blobs included, is a plain MySQL type with the user's comment. Values
kept in a store are ``binary(16)`` MD5 UUIDs referencing the schema's
``~external_<store>`` tracking table. Every schema 0.14 has declared a table in holds its
``~log`` table, which is how such a schema is recognized.

``read_catalog`` types a 0.14 catalog for typedj; ``adapt`` lays a class declared in
typedj's vocabulary (``Blob``, ``External``, ``Attach``, ``Filepath``) out as 0.14
would, so that both clients read and write the same tables.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from .codecs.legacy import EXTERNAL_PREFIX as EXTERNAL_PREFIX  # the layout names it too
from .errors import DeclarationError
from .heading import Attribute, ForeignKey, Heading, TableDef
from .types import CURRENT_TIMESTAMP, MISSING

if TYPE_CHECKING:
    from .backend.connection import Connection

LAYOUT = "0.14"
"""The value of ``Schema.layout`` for a schema laid out as datajoint-python 0.14 does."""

LOG_TABLE = "~log"
JOBS_TABLE = "~jobs"
_NATIVE_BLOBS = frozenset({"tinyblob", "blob", "mediumblob", "longblob"})
_STORE_NAME = re.compile(r"^[a-z][\-\w]*$")


def detect(tables: Mapping[str, TableDef]) -> bool:
    """Whether a schema's catalog is in 0.14's layout (it has 0.14's ``~log`` table)."""
    return LOG_TABLE in tables


def read_catalog(schema: str, tables: Mapping[str, TableDef]) -> dict[str, TableDef]:
    """The catalog of a 0.14 schema, its uncommented blob columns typed as blobs.

    Stored-value columns also learn their schema (``Attribute.home``): 0.14 tracks them
    per schema, and a query's heading no longer says which table a column came from.
    """
    out: dict[str, TableDef] = {}
    for name, table in tables.items():
        if name.startswith("~"):
            out[name] = table
            continue
        attrs = []
        for a in table.heading:
            if not a.core and a.type.base in _NATIVE_BLOBS:
                a = replace(a, type_name="<blob>")
            elif a.kind.startswith("legacy_"):
                a = replace(a, home=schema)
            attrs.append(a)
        out[name] = replace(table, heading=Heading(tuple(attrs)))
    return out


def _store_name(attr: Attribute, table: str) -> str:
    from .stores.spec import resolve_name

    name = resolve_name(attr.store)
    if not _STORE_NAME.match(name):
        raise DeclarationError(
            f"{table}.{attr.name}: datajoint 0.14 names stores with lowercase letters, digits, "
            f"'_' and '-' (starting with a letter); {name!r} is not such a name",
            table=table, attribute=attr.name,
        )
    return name


def adapt(table: TableDef) -> TableDef:
    """``table``, declared in typedj's vocabulary, laid out as datajoint 0.14 declares it.

    0.14 cannot read DataJoint 2.x type comments (``:int32:``, ``:<blob>:``): it raises
    on any it does not know, so only its own special types keep a comment.
    """
    attrs: list[Attribute] = []
    fks = list(table.foreign_keys)
    for a in table.heading:
        kind = a.kind
        if kind == "blob":
            a = replace(a, type_name="<blob>", sql_type="longblob", core=False)
        elif kind in {"external", "attach", "filepath"} and a.store is not None:
            store = _store_name(a, table.name)
            codec = "blob" if kind == "external" else kind
            a = replace(a, type_name=f"{codec}@{store}", sql_type="binary(16)", core=True, home=table.schema)
            fks.append(ForeignKey(table.schema, EXTERNAL_PREFIX + store, {a.name: "hash"},
                                  in_key=a.in_key, nullable=a.nullable, name=a.name))
        elif kind == "attach":
            a = replace(a, type_name="attach", sql_type="longblob", core=True)
        elif a.core and kind != "uuid":
            a = replace(a, type_name=a.sql_type, core=False)
        attrs.append(a)
    return replace(table, heading=Heading(tuple(attrs)), foreign_keys=tuple(fks))


def untracked(table: TableDef) -> TableDef:
    """``table`` without its references to ``~external_<store>`` (its column types imply them)."""
    fks = tuple(fk for fk in table.foreign_keys if not fk.parent_table.startswith(EXTERNAL_PREFIX))
    return table if len(fks) == len(table.foreign_keys) else replace(table, foreign_keys=fks)


def current_spelling(attr: Attribute) -> Attribute:
    """``attr`` as typedj's own vocabulary spells it (for code generation)."""
    kind = attr.kind
    if kind == "blob":
        return replace(attr, type_name="<blob>", core=True)
    if kind.startswith("legacy_"):
        codec = kind.removeprefix("legacy_")
        return replace(attr, type_name=f"<{codec}@{attr.store}>", core=True)
    if kind == "attach" and attr.store is None:
        return replace(attr, type_name="<attach>", core=True)
    return attr


def _column(name: str, sql_type: str, comment: str, *, key: bool = False, default: object = MISSING,
            type_name: str | None = None, auto_increment: bool = False) -> Attribute:
    return Attribute(
        name=name, type_name=type_name or sql_type, sql_type=sql_type, in_key=key,
        nullable=default is None, default=default, comment=comment, core=type_name is not None,
        auto_increment=auto_increment,
    )


def external_table(schema: str, store: str) -> TableDef:
    """0.14's ``~external_<store>`` tracking table."""
    return TableDef(schema, EXTERNAL_PREFIX + store, Heading((
        _column("hash", "binary(16)", "hash of contents (blob), of filename + contents (attach), "
                "or relative filepath (filepath)", key=True, type_name="uuid"),
        _column("size", "bigint unsigned", "size of object in bytes"),
        _column("attachment_name", "varchar(255)", "the filename of an attachment", default=None),
        _column("filepath", "varchar(1000)", "relative filepath or attachment filename", default=None),
        _column("contents_hash", "binary(16)", "used for the filepath datatype", default=None,
                type_name="uuid"),
        _column("timestamp", "timestamp", "automatic timestamp", default=CURRENT_TIMESTAMP),
    )), comment="external storage tracking")


def log_table(schema: str) -> TableDef:
    """0.14's ``~log`` table (one per schema; its presence marks the layout)."""
    return TableDef(schema, LOG_TABLE, Heading((
        _column("id", "int unsigned", "event order id", key=True, auto_increment=True),
        _column("timestamp", "timestamp", "event timestamp", default=CURRENT_TIMESTAMP),
        _column("version", "varchar(12)", "datajoint version"),
        _column("user", "varchar(255)", "user@host"),
        _column("host", "varchar(255)", "system hostname", default=""),
        _column("event", "varchar(255)", "event message", default=""),
    )), comment=f"event logging table for `{schema}`")


def jobs_table(schema: str) -> TableDef:
    """0.14's ``~jobs`` table: one per schema, keyed by table name and key hash."""
    return TableDef(schema, JOBS_TABLE, Heading((
        _column("table_name", "varchar(255)", "className of the table", key=True),
        _column("key_hash", "char(32)", "key hash", key=True),
        _column("status", "enum('reserved','error','ignore')",
                "if tuple is missing, the job is available"),
        _column("key", "blob", "structure containing the key", default=None),
        _column("error_message", "varchar(2047)", "error message returned if failed", default=""),
        _column("error_stack", "mediumblob", "error stack if failed", default=None),
        _column("user", "varchar(255)", "database user", default=""),
        _column("host", "varchar(255)", "system hostname", default=""),
        _column("pid", "int unsigned", "system process id", default=0),
        _column("connection_id", "bigint unsigned", "connection_id()", default=0),
        _column("timestamp", "timestamp", "automatic timestamp", default=CURRENT_TIMESTAMP),
    )), comment=f"job reservation table for `{schema}`")


def log_event(conn: Connection, schema: str, event: str) -> None:
    """Add an event to the schema's ``~log``, as 0.14 logs each declaration."""
    d = conn.dialect
    try:
        user = conn.catalog.session_user()
    except Exception:  # a server that will not say: the row is still worth writing
        user = ""
    conn.query(d.insert(schema, LOG_TABLE, ["version", "user", "host", "event"]),
               ("typedj", user[:255], platform.node()[:255], event[:255]))

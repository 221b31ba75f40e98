"""How DataJoint's types are spelled on PostgreSQL, and read back, as datajoint-python 2.x does.

typedj keeps one (MySQL-flavoured) SQL type on each attribute, so that headings compare
the same on every server; this module maps it to the PostgreSQL column type on the way in
and rebuilds it from ``information_schema`` on the way out. Core types follow
datajoint-python 2.3.5's PostgreSQL adapter (``int8`` is ``smallint``, ``bool`` is
``boolean``, ``uuid`` is ``uuid``, ``bytes`` and in-table blobs are ``bytea``, ``json`` is
``jsonb``, ``datetime`` is ``timestamp``); an enum is a type of its own, named
``enum_<md5 of its sorted values>`` in the schema. MySQL's native types that PostgreSQL
lacks (unsigned and ``tinyint``/``mediumint`` integers) become the next wider signed type
with a ``CHECK`` of the range, named so that the catalog can restore the declared type.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .. import sqltypes
from ..sqltypes import CORE_SQL, SQLType

_CORE = {
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "float32": "real",
    "float64": "double precision",
    "bool": "boolean",
    "uuid": "uuid",
    "bytes": "bytea",
    "json": "jsonb",
}

_INTEGERS = (("smallint", 2**15 - 1), ("integer", 2**31 - 1), ("bigint", 2**63 - 1))

_BASES = {
    "float": "real",
    "double": "double precision",
    "bool": "boolean",
    "date": "date",
    "json": "jsonb",
    "jsonb": "jsonb",
    "uuid": "uuid",
    "year": "smallint",
    "serial": "bigint",
    **dict.fromkeys(("tinytext", "text", "mediumtext", "longtext"), "text"),
    **dict.fromkeys(("tinyblob", "blob", "mediumblob", "longblob", "binary", "varbinary"), "bytea"),
}


def enum_type_name(values: Sequence[str]) -> str:
    """datajoint-python's name of the enum type of ``values``: shared by equal value sets."""
    return "enum_" + hashlib.md5("_".join(sorted(values)).encode()).hexdigest()[:8]


def checked_range(t: SQLType) -> tuple[int, int | None] | None:
    """The range a ``CHECK`` must enforce for MySQL types PostgreSQL lacks: integers (and
    unsigned numbers, ``None`` for no upper bound)."""
    if t.core is not None:
        return None
    if t.int_range is None:
        return (0, None) if t.unsigned else None
    if not (t.unsigned or t.base in {"tinyint", "mediumint"}):
        return None
    return t.int_range


def column_type(t: SQLType) -> str:
    """The PostgreSQL type of a column (enums excepted: see ``enum_type_name``)."""
    if t.core in _CORE:
        return _CORE[t.core]
    if t.int_range is not None:
        high = t.int_range[1]
        return next((name for name, most in _INTEGERS if high <= most), "numeric(20)")
    if t.base in {"char", "varchar"} and t.length is not None:
        return f"{t.base}({t.length})"
    if t.base == "decimal":
        return "numeric" if t.precision is None else f"numeric({t.precision},{t.scale or 0})"
    if t.base in {"datetime", "timestamp", "time"}:
        name = "time" if t.base == "time" else "timestamp"
        return name if t.precision is None else f"{name}({t.precision})"
    return _BASES.get(t.base, t.sql)


def core_sql_type(type_name: str, native: str) -> str:
    """The typedj SQL type of a column commented ``:type_name:`` and read back as ``native``:
    what a declaration gives a core type without arguments or a codec, else the server's
    own spelling (``enum('a','b')``, ``varchar(64)``), as MySQL's catalog reports it."""
    declared = sqltypes.column_type(type_name, type_name)
    if declared.core is not None:
        return CORE_SQL[declared.core]
    if declared.codec is not None and not declared.base and not declared.family.startswith("legacy_"):
        return "json" if declared.store is not None else "longblob"  # <codec@store>, <codec>
    return native

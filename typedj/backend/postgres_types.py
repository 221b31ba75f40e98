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
import re
from collections.abc import Sequence

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
    "date": "date",
}

CORE_SQL = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "float32": "float",
    "float64": "double",
    "bool": "tinyint",
    "uuid": "binary(16)",
    "bytes": "longblob",
    "json": "json",
}
"""A core type's typedj (MySQL-flavoured) SQL type, as declarations record it."""

_NATIVE = {
    "tinyint": "smallint",
    "smallint": "smallint",
    "mediumint": "integer",
    "int": "integer",
    "integer": "integer",
    "bigint": "bigint",
    "float": "real",
    "double": "double precision",
    "real": "real",
    "tinyblob": "bytea",
    "blob": "bytea",
    "mediumblob": "bytea",
    "longblob": "bytea",
    "binary": "bytea",
    "varbinary": "bytea",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "json": "jsonb",
    "date": "date",
    "time": "time",
    "year": "smallint",
    "bool": "boolean",
    "boolean": "boolean",
}

_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}
_WIDER = {"smallint": "integer", "integer": "bigint", "bigint": "numeric(20)"}

_RANGES = {
    "tinyint": 7,
    "smallint": 15,
    "mediumint": 23,
    "int": 31,
    "integer": 31,
    "bigint": 63,
}

_PARAMS = re.compile(r"^([a-z ]+?)\s*(\(.*\))?\s*(unsigned)?$", re.DOTALL)


def enum_type_name(values: Sequence[str]) -> str:
    """datajoint-python's name of the enum type of ``values``: shared by equal value sets."""
    return "enum_" + hashlib.md5("_".join(sorted(values)).encode()).hexdigest()[:8]


def checked_range(sql_type: str) -> tuple[int, int] | None:
    """The range a ``CHECK`` must enforce: MySQL integer types PostgreSQL lacks."""
    match = _PARAMS.match(sql_type.lower().strip())
    if match is None:
        return None
    base, _, unsigned = match.groups()
    bits = _RANGES.get(base)
    if bits is None:
        return None
    if unsigned:
        return 0, 2 ** (bits + 1) - 1
    if base in {"tinyint", "mediumint"}:
        return -(2**bits), 2**bits - 1
    return None


def column_type(sql_type: str, type_name: str, core: bool) -> str:
    """The PostgreSQL type of a column (enums excepted: see ``enum_type_name``)."""
    if core and type_name in _CORE:
        return _CORE[type_name]
    t = sql_type.lower().strip()
    match = _PARAMS.match(t)
    if match is None:
        return sql_type
    base, params, _ = match.groups()
    params = params or ""
    if base in _RANGES:
        pg = _NATIVE[base]
        bounds = checked_range(t)
        if bounds is not None and bounds[1] > _MAX[pg]:
            pg = _WIDER[pg]
        return pg
    if base in {"char", "varchar"}:
        return f"{base}{params}"
    if base in {"decimal", "numeric", "dec", "fixed"}:
        return f"numeric{params}"
    if base in {"datetime", "timestamp"}:
        return f"timestamp{params}"
    if base == "time":
        return f"time{params}"
    if base == "double precision":
        return base
    return _NATIVE.get(base, sql_type)


def typedj_sql_type(
    data_type: str, udt_name: str, length: int | None, precision: int | None, scale: int | None,
    datetime_precision: int | None,
) -> str:
    """The typedj SQL type of a column PostgreSQL reports (``information_schema.columns``)."""
    t = data_type.lower()
    if t == "character varying":
        return f"varchar({length})" if length else "text"
    if t == "character":
        return f"char({length or 1})"
    if t == "numeric":
        return f"decimal({precision},{scale or 0})" if precision is not None else "decimal"
    if t.startswith("timestamp"):
        return "datetime" if not datetime_precision else f"datetime({datetime_precision})"
    if t.startswith("time"):
        return "time" if not datetime_precision else f"time({datetime_precision})"
    return {
        "smallint": "smallint",
        "integer": "int",
        "bigint": "bigint",
        "real": "float",
        "double precision": "double",
        "boolean": "boolean",
        "bytea": "longblob",
        "jsonb": "json",
        "json": "json",
        "uuid": "uuid",
        "text": "text",
        "date": "date",
    }.get(t, udt_name if t == "user-defined" else t)


def core_sql_type(type_name: str) -> str:
    """The typedj SQL type a declaration gives to a core or codec type."""
    if type_name in CORE_SQL:
        return CORE_SQL[type_name]
    if type_name.startswith("<"):
        return "json" if "@" in type_name else "longblob"
    return type_name

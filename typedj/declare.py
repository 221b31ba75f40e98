"""From an annotated class to a ``TableDef``: names, types, keys, references, indexes.

This module reads declarations only; it creates nothing. ``schema.py`` sends the
result through the dialect to the server.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin
from uuid import UUID

from .errors import DeclarationError
from .fields import Field, local_namespace, read_fields
from .heading import Attribute, ForeignKey, Heading, IndexDef, TableDef
from .sqltypes import CORE_SQL, SQLType, TypeSyntaxError, enum_type, parse
from .types import MISSING, AttrSpec, Index, LinkSpec, _FileMarker, _SqlLiteral

TIER_PREFIX = {"Lookup": "#", "Manual": "", "Imported": "_", "Computed": "__", "Part": ""}

RESERVED = frozenset(
    {
        "proj", "aggr", "fetch", "fetch1", "insert", "insert1", "delete", "delete_quick", "drop",
        "drop_quick", "describe", "heading", "populate", "progress", "make", "key_source",
        "keys", "head", "tail", "to_dicts", "to_pandas", "to_arrays", "to_arrow", "to_polars",
        "update1", "restrict", "join", "sql", "contents",
        "indexes", "master", "schema", "connection", "table_name", "full_table_name", "parents",
        "children", "descendants", "ancestors", "parts", "jobs", "definition", "primary_key",
        "make_fetch", "make_compute", "make_insert", "alter", "validate", "extend",
    }
)

_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def snake_case(name: str) -> str:
    """``TwoPhotonScan`` -> ``two_photon_scan`` (DataJoint's table naming)."""
    if not _CLASS_NAME.match(name):
        raise DeclarationError(
            f"table class name {name!r} must be CamelCase (letters and digits, first upper)",
            table=name,
        )
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name).lstrip("_")


def attribute_type(cls_name: str, f: Field) -> tuple[str, str, bool, Any]:
    """``(declared type, SQL type, is core type, python type)`` for a plain field."""
    spec = f.spec or AttrSpec()
    stored = _stored_type(cls_name, f, spec)
    if stored is not None:
        return stored
    if spec.sql_type:
        sql = spec.sql_type.strip()
        typ = declared_type(cls_name, f.name, sql)
        if typ.core in CORE_SQL:
            return typ.core, CORE_SQL[typ.core], True, f.base
        return sql, sql, typ.core_spelled, f.base
    if f.sql is not None:
        return (f.sql.core or f.sql.sql), f.sql.sql, f.sql.core is not None, f.base
    return _python_type(cls_name, f, spec)


def _stored_type(cls_name: str, f: Field, spec: AttrSpec) -> tuple[str, str, bool, Any] | None:
    """The codec type of a ``Blob``, ``Attach``, ``Filepath``, ``Object`` or ``Npy`` field."""
    file_marker = next((e for e in f.extras if isinstance(e, _FileMarker)), None)
    if file_marker is not None:
        if spec.store is not None:
            return f"<{file_marker.codec}@{spec.store}>", "json", True, f.base
        if file_marker.codec in {"filepath", "object", "npy"}:
            raise DeclarationError(
                f"{cls_name}.{f.name}: a {file_marker.codec.capitalize()} names its store: "
                "= External('store')", table=cls_name, attribute=f.name,
            )
        return "<attach>", "longblob", True, f.base
    if f.blob:
        if spec.store is not None:
            return f"<blob@{spec.store}>", "json", True, f.base
        return "<blob>", "longblob", True, f.base
    return None


_PLAIN_TYPES: dict[Any, tuple[str, str, bool]] = {
    bool: ("bool", "tinyint", True), int: ("int32", "int", True), float: ("float64", "double", True),
    date: ("date", "date", True), time: ("time", "time", False), UUID: ("uuid", "binary(16)", True),
    bytes: ("bytes", "longblob", True),
}


def _python_type(cls_name: str, f: Field, spec: AttrSpec) -> tuple[str, str, bool, Any]:
    """The type that a Python annotation (``int``, ``str``, ``Decimal``, ``Literal``...) declares."""
    base, where = f.base, f"{cls_name}.{f.name}"
    if base in _PLAIN_TYPES:
        return (*_PLAIN_TYPES[base], base)
    if base is str:
        n = spec.max_length or 255
        t = f"char({n})" if spec.fixed_length else f"varchar({n})"
        return t, t, True, str
    if base is Decimal:
        if spec.precision is None or spec.scale is None:
            raise DeclarationError(
                f"{where}: a Decimal needs Attr(precision=..., scale=...)",
                table=cls_name, attribute=f.name,
            )
        t = f"decimal({spec.precision},{spec.scale})"
        return t, t, True, Decimal
    if base is datetime:
        t = f"datetime({spec.precision})" if spec.precision else "datetime"
        return t, t, True, datetime
    if base in (dict, list) or get_origin(base) in (dict, list):
        return "json", "json", True, base
    if get_origin(base) is Literal:
        values = get_args(base)
        if not values or not all(isinstance(v, str) for v in values):
            raise DeclarationError(
                f"{where}: Literal[...] attributes must list strings (an enum)",
                table=cls_name, attribute=f.name,
            )
        t = enum_type(values)
        return t, t, True, base
    raise DeclarationError(
        f"{where}: unsupported type {base!r}; use int, float, str, bool, date, datetime, "
        "time, Decimal, UUID, bytes, dict/list, Literal[...], Blob[...] or Attr(sql_type=...)",
        table=cls_name, attribute=f.name,
    )


def _check_default(cls_name: str, f: Field, typ: SQLType, in_key: bool) -> Any:
    default = f.default
    if callable(default) and not isinstance(default, str | int | float | bool):
        raise DeclarationError(f"{cls_name}.{f.name}: defaults must be constants", table=cls_name)
    if f.nullable and default is MISSING:
        default = None
    if in_key and (f.nullable or default is None):
        raise DeclarationError(
            f"{cls_name}.{f.name}: a primary key attribute cannot be nullable",
            table=cls_name, attribute=f.name,
        )
    if typ.codec is not None and default not in (MISSING, None):
        raise DeclarationError(
            f"{cls_name}.{f.name}: blob attributes may only default to None",
            table=cls_name, attribute=f.name,
        )
    if isinstance(default, _SqlLiteral) and typ.base not in {"datetime", "timestamp"}:
        raise DeclarationError(
            f"{cls_name}.{f.name}: CURRENT_TIMESTAMP is a default for datetime attributes",
            table=cls_name, attribute=f.name,
        )
    return default


@dataclass
class _Reference:
    """A foreign key found by the scan: a ``Ref``, the master, or columns declared ``= Link(P)``."""

    parent: Any
    name: str
    in_key: bool
    nullable: bool
    link: LinkSpec | None
    group: list[Field] = field(default_factory=list)
    columns: list[Attribute] = field(default_factory=list)


@dataclass
class _Declaration:
    """What ``declare`` learns of one class, phase by phase."""

    cls: type
    schema_name: str
    table_name: str
    parent_def: Any
    namespace: dict[str, Any] | None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    lineage: dict[str, str] = field(default_factory=dict)
    refs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.cls.__name__

    def error(self, message: str, attribute: str | None = None) -> DeclarationError:
        where = f"{self.name}.{attribute}" if attribute else self.name
        return DeclarationError(f"{where}: {message}", table=self.name, attribute=attribute)


def declare(
    cls: type, schema_name: str, parent_def: Any, namespace: dict[str, Any] | None = None
) -> tuple[TableDef, dict[str, str]]:
    """Build the table definition and the lineage rows of ``cls``.

    ``parent_def(parent_class)`` returns the parent's ``(TableDef, lineage)``; it is how
    this module learns about other tables without touching the server. In phases: scan
    the class body, type its attributes, resolve its references, then its indexes.
    """
    d = _Declaration(cls, schema_name, table_name_of(cls), parent_def, namespace)
    fields = read_fields(cls, namespace or {})
    items = _scan(d, fields)
    attributes = {f.name: _attribute(d, f) for f in items if isinstance(f, Field)}
    for ref in items:
        if isinstance(ref, _Reference):
            _reference(d, ref)
    heading = _heading(d, items, attributes)
    comment = (cls.__doc__ or "").strip().splitlines()[0].strip() if cls.__doc__ else ""
    table = TableDef(
        schema=schema_name,
        name=d.table_name,
        heading=heading.with_lineage(d.lineage),
        comment=comment,
        foreign_keys=tuple(d.foreign_keys),
        indexes=_indexes(d, heading),
    )
    if len(d.table_name) > 64:
        raise DeclarationError(f"{d.name}: table name {d.table_name!r} is over 64 characters")
    cls._refs = d.refs  # type: ignore[attr-defined]
    cls._fields = tuple(fields)  # type: ignore[attr-defined]
    return table, d.lineage


def _scan(d: _Declaration, fields: list[Field]) -> list[Field | _Reference]:
    """The class body in order: plain attributes and references, their names checked."""
    items: list[Field | _Reference] = []
    master = getattr(d.cls, "_master", None)
    if master is not None and not _declares_master_ref(d.cls, master, d.namespace):
        items.append(_Reference(master, "master", True, False, None))
    group: list[Field] = []
    for f in [*fields, None]:
        if group and (f is None or not _joins(d, group, f)):
            items.append(_Reference(_resolve(d.cls, _linked(group[0]), d.namespace), group[0].name,
                                    group[0].in_key, group[0].nullable, None, group))
            group = []
        if f is None:
            break
        if f.name in RESERVED:
            raise d.error(f"{f.name!r} is reserved for a method; choose another name", f.name)
        if f.name.startswith("_"):
            raise d.error("attribute names may not start with '_'", f.name)
        if f.ref is None and f.link is not None and f.link.parent is not None:
            group.append(f)
        elif f.ref is not None:
            if f.in_key and f.nullable:
                raise d.error("a reference in the primary key cannot be nullable", f.name)
            items.append(_Reference(f.ref, f.name, f.in_key, f.nullable, f.link))
        elif not re.fullmatch(r"[a-z][a-z0-9_]*", f.name):
            raise d.error("attribute names are lowercase letters, digits and '_'", f.name)
        else:
            items.append(f)
    return items


def _joins(d: _Declaration, group: list[Field], f: Field) -> bool:
    """Whether ``f`` is one more column of the ``Link`` columns in ``group`` (same parent, new column)."""
    if f.link is None or f.link.parent is None:
        return False
    if _resolve(d.cls, f.link.parent, d.namespace) is not _resolve(d.cls, _linked(group[0]), d.namespace):
        return False
    return (f.link.column or f.name) not in {g.link.column or g.name for g in group if g.link}


def _attribute(d: _Declaration, f: Field) -> Attribute:
    """A plain field as an attribute: its type, default, comment and options checked."""
    type_name, sql_type, core, python_type = attribute_type(d.name, f)
    typ = declared_type(d.name, f.name, type_name)
    default = _check_default(d.name, f, typ, f.in_key)
    spec = f.spec or AttrSpec()
    if spec.comment.startswith(":"):
        raise d.error("comments may not start with ':'", f.name)
    if spec.auto_increment and not (f.in_key and parse(sql_type).int_range):
        raise d.error("auto_increment is for integer primary key attributes", f.name)
    if spec.compression is not None:
        _check_compression(d, f.name, typ, spec.compression)
    if f.in_key:
        d.lineage[f.name] = f"{d.schema_name}.{d.table_name}.{f.name}"
    return Attribute(
        name=f.name,
        type_name=type_name,
        sql_type=sql_type,
        in_key=f.in_key,
        nullable=f.nullable or default is None,
        default=default,
        comment=spec.comment,
        core=core,
        auto_increment=spec.auto_increment,
        python_type=python_type,
        compression=spec.compression,
    )


def _check_compression(d: _Declaration, name: str, typ: SQLType, setting: bool | int | str) -> None:
    from .codecs.blob import BlobError, compression_level

    if typ.codec != "blob":
        raise d.error(f"compression is for Blob attributes; this one is {typ.sql}", name)
    try:
        compression_level(setting)
    except BlobError as exc:
        raise d.error(str(exc), name) from exc


def _reference(d: _Declaration, ref: _Reference) -> None:
    """The columns and the foreign key that ``ref`` brings (columns shared as DataJoint shares them)."""
    link = _linked_columns(d, ref) if ref.group else ref.link
    parent_table, parent_lineage = d.parent_def(ref.parent)
    rename = dict(link.rename) if link else {}
    unknown = set(rename) - set(parent_table.heading.primary_key)
    if unknown:
        raise d.error(
            f"Link(rename=...) names {sorted(unknown)}, which are not in the primary key of "
            f"{ref.parent.__name__} {parent_table.heading.primary_key}", ref.name)
    attr_map: dict[str, str] = {}
    for pname in parent_table.heading.primary_key:
        pattr = parent_table.heading[pname]
        local = rename.get(pname, pname)
        origin = parent_lineage.get(pname)
        attr_map[local] = pname
        if _shared(local, origin, d.foreign_keys, d.lineage):
            continue  # as DataJoint: two references share this column
        keep_core = pattr.core and pattr.kind in {"uuid"}
        ref.columns.append(Attribute(
            name=local, type_name=pattr.type_name if keep_core else pattr.sql_type,
            sql_type=pattr.sql_type, in_key=ref.in_key, nullable=ref.nullable,
            default=None if ref.nullable else MISSING, comment=pattr.comment, core=keep_core,
            python_type=pattr.python_type,
        ))
        if origin:
            d.lineage[local] = origin
    if not ref.group:  # the columns of Link(...) are the row's attributes: no reference name
        d.refs[ref.name] = {pname: local for local, pname in attr_map.items()}
    d.foreign_keys.append(ForeignKey(
        parent_schema=parent_table.schema, parent_table=parent_table.name, attr_map=attr_map,
        in_key=ref.in_key, nullable=ref.nullable, unique=bool(link and link.unique), name=ref.name,
    ))


def _linked_columns(d: _Declaration, ref: _Reference) -> LinkSpec:
    """Columns declared ``= Link(Parent)``, checked against the parent's key, as one ``Link``."""
    group, first = ref.group, ref.group[0]
    parent_table, _ = d.parent_def(ref.parent)
    key = parent_table.heading.primary_key
    by_parent = {(f.link.column if f.link and f.link.column else f.name): f for f in group}
    pname = getattr(ref.parent, "__name__", str(ref.parent))
    unknown = [c for c in by_parent if c not in key]
    missing = [c for c in key if c not in by_parent]
    if unknown or missing:
        raise d.error(
            f"the columns linked to {pname} must be its primary key {key}, each once"
            + (f"; {unknown} are not in it (Link(P, column=...) names a renamed one)" if unknown else "")
            + (f"; {missing} are not declared (add each = Link({pname}))" if missing else ""),
            first.name,
        )
    for column, f in by_parent.items():
        if f.in_key != first.in_key or f.nullable != first.nullable:
            raise d.error(
                f"the columns of one reference to {pname} are all in the primary key or all not, "
                "and all nullable or all not", f.name)
        pattr = parent_table.heading[column]
        declared = attribute_type(d.name, f)[3]
        if declared != pattr.python_type:
            raise d.error(
                f"declared {getattr(declared, '__name__', declared)}, but {pname}.{pattr.name} is "
                f"{getattr(pattr.python_type, '__name__', pattr.python_type)}", f.name)
    if first.in_key and first.nullable:
        raise d.error("a reference in the primary key cannot be nullable", first.name)
    rename = {c: f.name for c, f in by_parent.items() if c != f.name}
    return LinkSpec(rename=rename, unique=any(f.link is not None and f.link.unique for f in group))


def _heading(d: _Declaration, items: list[Field | _Reference], attributes: dict[str, Attribute]) -> Heading:
    """The attributes in declaration order (each name once), key first; ``_singleton`` if keyless."""
    seen: set[str] = set()
    ordered: list[Attribute] = []
    for item in items:
        for attr in item.columns if isinstance(item, _Reference) else [attributes[item.name]]:
            if attr.name in seen:
                raise d.error(f"attribute {attr.name!r} is declared twice "
                              "(two references to the same parent need Link(rename=...))", attr.name)
            seen.add(attr.name)
            ordered.append(attr)
    heading = Heading.of(ordered)
    if heading.primary_key:
        return heading
    singleton = Attribute(
        name="_singleton", type_name="bool", sql_type="tinyint", in_key=True, default=True,
        comment="singleton primary key", core=True, python_type=bool,
    )
    d.lineage["_singleton"] = f"{d.schema_name}.{d.table_name}._singleton"
    return Heading((*heading.attributes, singleton))  # last, where DataJoint puts it


def _indexes(d: _Declaration, heading: Heading) -> tuple[IndexDef, ...]:
    indexes = []
    for index in getattr(d.cls, "indexes", ()) or ():
        if not isinstance(index, Index):
            raise DeclarationError(f"{d.name}.indexes: expected tj.Index(...), got {index!r}")
        missing = [a for a in index.attributes if a not in heading]
        if missing:
            raise DeclarationError(
                f"{d.name}.indexes: {missing} are not attributes of {d.name}",
                table=d.name, attribute=missing[0],
            )
        indexes.append(IndexDef(index.attributes, index.unique))
    return tuple(indexes)


def _shared(name: str, origin: str | None, foreign_keys: list[ForeignKey], lineage: dict[str, str]) -> bool:
    """Whether ``name`` already came in through another reference from the same origin."""
    inherited = any(name in fk.attr_map for fk in foreign_keys)
    return inherited and bool(origin) and lineage.get(name) == origin


def _declares_master_ref(cls: type, master: type, namespace: dict[str, Any] | None) -> bool:
    """Whether the part names its master itself: a reference to the master (a ``Ref`` or
    ``Link`` columns), or a primary key reference to a sibling part (which brings the
    master's key, as DataJoint's ``-> master.Sibling``); otherwise nesting adds the
    reference to the master."""
    return any(
        f.ref is master
        or (f.in_key and getattr(f.ref, "_master", None) is master and f.ref is not cls)
        or (f.link is not None and _resolve(cls, f.link.parent, namespace) is master)
        for f in read_fields(cls, namespace or {})
    )


def _linked(f: Field) -> Any:
    return f.link.parent if f.link is not None else None


def _resolve(cls: type, parent: Any, namespace: dict[str, Any] | None) -> Any:
    """The class a ``Link("Parent")`` names (the name itself while it is not declared yet)."""
    if not isinstance(parent, str):
        return parent
    module = sys.modules.get(cls.__module__)
    scope = {**(vars(module) if module else {}), **local_namespace(cls, namespace or {})}
    return scope.get(parent, parent)


def table_name_of(cls: type) -> str:
    """The table's name on the server, with its tier prefix."""
    tier = getattr(cls, "_tier", None)
    if tier is None:
        raise DeclarationError(f"{cls.__name__} is not a table class (subclass a tier such as Manual)")
    master = getattr(cls, "_master", None)
    if tier == "Part":
        if master is None:
            raise DeclarationError(f"{cls.__name__}: a Part table must be nested in its master class")
        return f"{table_name_of(master)}__{snake_case(cls.__name__)}"
    return TIER_PREFIX[tier] + snake_case(cls.__name__)


PLATFORM_COLUMNS = frozenset({"_job_start_time", "_job_duration", "_job_version", "_prov"})
"""Hidden columns datajoint-python adds when configured to (job metadata, provenance):
a class need not declare them to match the table."""


def job_metadata_columns() -> tuple[Attribute, ...]:
    """datajoint-python's ``jobs.add_job_metadata`` columns of Imported and Computed tables."""
    from datetime import datetime

    return (
        Attribute(name="_job_start_time", type_name="datetime(3)", sql_type="datetime(3)", nullable=True,
                  default=None, comment="when computation began", python_type=datetime),
        Attribute(name="_job_duration", type_name="float32", sql_type="float", nullable=True, default=None,
                  comment="computation duration in seconds", python_type=float),
        Attribute(name="_job_version", type_name="varchar(64)", sql_type="varchar(64)", default="",
                  comment="code version", python_type=str),
    )


def compare(declared: TableDef, existing: TableDef) -> list[str]:
    """Differences between a class's definition and the table on the server."""
    problems = []
    d, e = declared.heading, existing.heading
    for name in d.all_names:
        if name not in e:
            problems.append(f"attribute {name!r} is declared but not in the table")
    for name in e.all_names:
        if name not in d and name not in PLATFORM_COLUMNS:
            problems.append(f"attribute {name!r} is in the table but not declared")
    for a in d:
        b = e.get(a.name)
        if b is None:
            continue
        if a.in_key != b.in_key:
            problems.append(f"{a.name!r}: primary key {'yes' if a.in_key else 'no'} declared, "
                            f"{'yes' if b.in_key else 'no'} in the table")
        if a.type.canonical != b.type.canonical and a.type_name != b.type_name:
            problems.append(f"{a.name!r}: type {a.type_name} declared, {b.type_name} in the table")
        if a.nullable != b.nullable:
            problems.append(f"{a.name!r}: nullable {a.nullable} declared, {b.nullable} in the table")
        if a.comment != b.comment and a.core == b.core:
            problems.append(f"{a.name!r}: comment {a.comment!r} declared, {b.comment!r} in the table")
    declared_fks = {(fk.parent_table, tuple(sorted(fk.attr_map.items()))) for fk in declared.foreign_keys}
    existing_fks = {(fk.parent_table, tuple(sorted(fk.attr_map.items()))) for fk in existing.foreign_keys}
    for parent, cols in sorted(declared_fks - existing_fks):
        problems.append(f"reference to {parent} {dict(cols)} is declared but not in the table")
    for parent, cols in sorted(existing_fks - declared_fks):
        problems.append(f"reference to {parent} {dict(cols)} is in the table but not declared")
    return problems



def declared_type(table: str, attribute: str, text: str) -> SQLType:
    """``text`` parsed, or a ``DeclarationError`` naming the table and attribute."""
    try:
        return parse(text)
    except TypeSyntaxError as exc:
        raise DeclarationError(f"{table}.{attribute}: {exc}", table=table, attribute=attribute) from exc


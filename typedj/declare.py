"""From an annotated class to a ``TableDef``: names, types, keys, references, indexes.

This module reads declarations only; it creates nothing. ``schema.py`` sends the
result through the dialect to the server.
"""

from __future__ import annotations

import inspect
import re
import sys
import types as pytypes
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin
from uuid import UUID

from .columns import Column
from .errors import DeclarationError
from .heading import Attribute, ForeignKey, Heading, IndexDef, TableDef, enum_type
from .types import (
    BLOB,
    MISSING,
    PRIMARY_KEY,
    AttrSpec,
    Index,
    LinkSpec,
    Ref,
    SqlType,
    _FileMarker,
    _SqlLiteral,
)

if TYPE_CHECKING:
    from .table import Table

TIER_PREFIX = {"Lookup": "#", "Manual": "", "Imported": "_", "Computed": "__", "Part": ""}

RESERVED = frozenset(
    {
        "proj", "aggr", "fetch", "fetch1", "insert", "insert1", "delete", "delete_quick", "drop",
        "drop_quick", "describe", "heading", "populate", "progress", "make", "key_source",
        "keys", "head", "tail", "to_dicts", "to_pandas", "to_arrays", "to_arrow", "to_polars",
        "update1", "restrict", "join", "order_by", "limit", "offset", "sql", "contents",
        "indexes", "master", "schema", "connection", "table_name", "full_table_name", "parents",
        "children", "descendants", "ancestors", "parts", "jobs", "definition", "primary_key",
        "make_fetch", "make_compute", "make_insert", "skip_duplicates", "replace",
        "ignore_extra_fields", "allow_direct_insert", "alter", "validate", "extend",
    }
)

_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_CORE_SPELLING = re.compile(
    r"(var)?char\(\d+\)|decimal\(\d+,\s*\d+\)|date|datetime(\(\d\))?|enum\(.+\)", re.I
)

_INT_RANGES = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "mediumint": (-(2**23), 2**23 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


def int_range(sql_type: str) -> tuple[int, int] | None:
    """The values a MySQL integer column holds, or None for a non-integer type."""
    base = sql_type.split("(")[0].split()[0].lower()
    if base not in _INT_RANGES:
        return None
    low, high = _INT_RANGES[base]
    if "unsigned" in sql_type.lower():
        return 0, high - low
    return low, high


def snake_case(name: str) -> str:
    """``TwoPhotonScan`` -> ``two_photon_scan`` (DataJoint's table naming)."""
    if not _CLASS_NAME.match(name):
        raise DeclarationError(
            f"table class name {name!r} must be CamelCase (letters and digits, first upper)",
            table=name,
        )
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name).lstrip("_")


@dataclass
class Field:
    """One annotated name of a class body, before it becomes columns."""

    name: str
    annotation: Any
    base: Any
    in_key: bool
    nullable: bool
    blob: bool
    sql: SqlType | None
    spec: AttrSpec | None
    link: LinkSpec | None
    default: Any
    ref: Any = None
    extras: list[Any] = field(default_factory=list)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers, collecting their metadata."""
    extras: list[Any] = []
    while get_origin(annotation) is typing.Annotated:
        extras.extend(annotation.__metadata__)
        annotation = annotation.__origin__
    return annotation, extras


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is typing.Union or origin is pytypes.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != len(get_args(annotation)) and len(args) == 1:
            return args[0], True
    return annotation, False


def read_fields(cls: type, namespace: dict[str, Any] | None = None) -> list[Field]:
    """The annotated attributes of ``cls`` itself, in declaration order.

    Forward references (``Ref["Parent"]``) resolve against the module, the master class
    and ``namespace`` (the classes already declared), so a parent declared after its
    child is found even before its name is bound in the module.
    """
    cached = cls.__dict__.get("_fields")
    if cached is not None and namespace is None:
        return list(cached)
    own = inspect.get_annotations(cls)
    only_own = type(cls.__name__, (), {"__annotations__": dict(own), "__module__": cls.__module__})
    try:
        hints = typing.get_type_hints(
            only_own, include_extras=True, localns=_local_namespace(cls, namespace or {})
        )
    except NameError as exc:
        missing = getattr(exc, "name", None) or ""
        referenced = any(
            re.search(rf"Ref\[\s*['\"]?{re.escape(missing)}\b", str(a)) for a in own.values()
        )
        if not referenced:
            raise DeclarationError(
                f"{cls.__name__}: an annotation uses {missing!r}, which is not defined", table=cls.__name__
            ) from exc
        raise DeclarationError(
            f"{cls.__name__}: cannot resolve an annotation ({exc}); declare referenced tables first",
            table=cls.__name__,
        ) from exc
    fields = []
    for name in own:
        annotation = hints[name]
        if get_origin(annotation) is typing.ClassVar:
            continue
        annotation, extras = _unwrap(annotation)
        base, nullable = _split_optional(annotation)
        base, more = _unwrap(base)
        extras += more
        raw_default = cls.__dict__.get(name, MISSING)
        if isinstance(raw_default, Column):  # a declared class: its column keeps the default
            raw_default = raw_default.default
        spec = raw_default if isinstance(raw_default, AttrSpec) else None
        link = raw_default if isinstance(raw_default, LinkSpec) else None
        default = raw_default
        if spec is not None:
            default = spec.default
        elif link is not None:
            default = link.default
            nullable = nullable or link.nullable
        elif isinstance(raw_default, Ref):
            default = MISSING
        ref = get_args(base)[0] if get_origin(base) is Ref else None
        if base is Ref:
            raise DeclarationError(f"{cls.__name__}.{name}: Ref needs a table: Ref[Parent]")
        fields.append(
            Field(
                name=name,
                annotation=annotation,
                base=base,
                in_key=PRIMARY_KEY in extras,
                nullable=nullable,
                blob=BLOB in extras,
                sql=next((e for e in extras if isinstance(e, SqlType)), None),
                spec=spec,
                link=link,
                default=default,
                ref=ref,
                extras=extras,
            )
        )
    return fields


def _local_namespace(cls: type, namespace: dict[str, Any]) -> dict[str, Any]:
    """Names a class's string annotations may use beyond its module's globals.

    As Python scoping would have it, a table class of the module comes first: a part's
    ``Ref[Organization]`` is the module's ``Organization`` even when the part itself is
    ``Lab.Organization``. Other names are looked up among the master's members (sibling
    parts), then among the classes already declared (``namespace``: classes declared in
    a function); the master's own name is always the master (``Ref["Lab.Channel"]``).
    """
    module = sys.modules.get(cls.__module__)
    globals_ = vars(module) if module is not None else {}
    ns = dict(namespace)
    master = getattr(cls, "_master", None)
    if master is not None:
        ns.update(vars(master))
    ns = {k: v for k, v in ns.items() if getattr(globals_.get(k), "_tier", None) is None}
    if master is not None:
        ns[master.__name__] = master
    return ns


def attribute_type(cls_name: str, f: Field) -> tuple[str, str, bool, Any]:
    """``(declared type, SQL type, is core type, python type)`` for a plain field."""
    spec = f.spec or AttrSpec()
    base = f.base
    where = f"{cls_name}.{f.name}"
    file_marker = next((e for e in f.extras if isinstance(e, _FileMarker)), None)
    if file_marker is not None:
        if spec.store is not None:
            return f"<{file_marker.codec}@{spec.store}>", "json", True, base
        if file_marker.codec in {"filepath", "object", "npy"}:
            raise DeclarationError(
                f"{where}: a {file_marker.codec.capitalize()} names its store: = External('store')",
                table=cls_name, attribute=f.name,
            )
        return "<attach>", "longblob", True, base
    if f.blob:
        if spec.store is not None:
            return f"<blob@{spec.store}>", "json", True, base
        return "<blob>", "longblob", True, base
    if spec.sql_type:
        sql = spec.sql_type.strip()
        core_sql = {"int8": "tinyint", "int16": "smallint", "int32": "int", "int64": "bigint",
                    "float32": "float", "float64": "double", "bool": "tinyint", "uuid": "binary(16)",
                    "bytes": "longblob", "json": "json"}
        if sql.lower() in core_sql:
            return sql.lower(), core_sql[sql.lower()], True, base
        if _CORE_SPELLING.fullmatch(sql):
            return sql, sql, True, base
        return sql, sql, False, base
    if f.sql is not None:
        return (f.sql.core or f.sql.sql), f.sql.sql, f.sql.core is not None, base
    if base is bool:
        return "bool", "tinyint", True, bool
    if base is int:
        return "int32", "int", True, int
    if base is float:
        return "float64", "double", True, float
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
    if base is date:
        return "date", "date", True, date
    if base is time:
        return "time", "time", False, time
    if base is UUID:
        return "uuid", "binary(16)", True, UUID
    if base is bytes:
        return "bytes", "longblob", True, bytes
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


def _check_default(cls_name: str, f: Field, type_name: str, in_key: bool) -> Any:
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
    if type_name.startswith("<") and default not in (MISSING, None):
        raise DeclarationError(
            f"{cls_name}.{f.name}: blob attributes may only default to None",
            table=cls_name, attribute=f.name,
        )
    if isinstance(default, _SqlLiteral) and type_name.split("(")[0] not in {"datetime", "timestamp"}:
        raise DeclarationError(
            f"{cls_name}.{f.name}: CURRENT_TIMESTAMP is a default for datetime attributes",
            table=cls_name, attribute=f.name,
        )
    return default


def declare(
    cls: type[Table], schema_name: str, parent_def: Any, namespace: dict[str, Any] | None = None
) -> tuple[TableDef, dict[str, str]]:
    """Build the table definition and the lineage rows of ``cls``.

    ``parent_def(parent_class)`` returns the parent's ``(TableDef, lineage)``; it is how
    this module learns about other tables without touching the server.
    """
    cls_name = cls.__name__
    table_name = table_name_of(cls)
    comment = (cls.__doc__ or "").strip().splitlines()[0].strip() if cls.__doc__ else ""
    attributes: list[Attribute] = []
    foreign_keys: list[ForeignKey] = []
    lineage: dict[str, str] = {}
    refs: dict[str, dict[str, str]] = {}

    def add(attr: Attribute) -> None:
        if any(a.name == attr.name for a in attributes):
            raise DeclarationError(
                f"{cls_name}: attribute {attr.name!r} is declared twice "
                "(two references to the same parent need Link(rename=...))",
                table=cls_name, attribute=attr.name,
            )
        attributes.append(attr)

    def reference(parent: Any, name: str, in_key: bool, nullable: bool, link: LinkSpec | None) -> None:
        parent_table, parent_lineage = parent_def(parent)
        rename = dict(link.rename) if link else {}
        unknown = set(rename) - set(parent_table.heading.primary_key)
        if unknown:
            raise DeclarationError(
                f"{cls_name}.{name}: Link(rename=...) names {sorted(unknown)}, which are not "
                f"in the primary key of {parent.__name__} {parent_table.heading.primary_key}",
                table=cls_name, attribute=name,
            )
        attr_map: dict[str, str] = {}
        for pname in parent_table.heading.primary_key:
            pattr = parent_table.heading[pname]
            local = rename.get(pname, pname)
            keep_core = pattr.core and pattr.kind in {"uuid"}
            origin = parent_lineage.get(pname)
            if _shared(local, origin, foreign_keys, lineage):
                attr_map[local] = pname  # as DataJoint: two references share this column
                continue
            add(
                Attribute(
                    name=local,
                    type_name=pattr.type_name if keep_core else pattr.sql_type,
                    sql_type=pattr.sql_type,
                    in_key=in_key,
                    nullable=nullable,
                    default=None if nullable else MISSING,
                    comment=pattr.comment,
                    core=keep_core,
                    python_type=pattr.python_type,
                )
            )
            attr_map[local] = pname
            if origin:
                lineage[local] = origin
        refs[name] = {pname: local for local, pname in attr_map.items()}
        foreign_keys.append(
            ForeignKey(
                parent_schema=parent_table.schema,
                parent_table=parent_table.name,
                attr_map=attr_map,
                in_key=in_key,
                nullable=nullable,
                unique=bool(link and link.unique),
                name=name,
            )
        )

    def inherit(group: list[Field]) -> None:
        """Columns declared ``= Link(Parent)``: one foreign key, as ``Ref`` would make it."""
        first = group[0]
        link = first.link
        assert link is not None
        parent = _resolve(cls, link.parent, namespace)
        parent_table, _ = parent_def(parent)
        key = parent_table.heading.primary_key
        by_parent = {(f.link.column if f.link and f.link.column else f.name): f for f in group}
        pname = getattr(parent, "__name__", str(parent))
        unknown = [c for c in by_parent if c not in key]
        missing = [c for c in key if c not in by_parent]
        if unknown or missing:
            raise DeclarationError(
                f"{cls_name}.{first.name}: the columns linked to {pname} must be its primary key "
                f"{key}, each once"
                + (f"; {unknown} are not in it (Link(P, column=...) names a renamed one)" if unknown else "")
                + (f"; {missing} are not declared (add each = Link({pname}))" if missing else ""),
                table=cls_name, attribute=first.name,
            )
        for f in group:
            if f.in_key != first.in_key or f.nullable != first.nullable:
                raise DeclarationError(
                    f"{cls_name}.{f.name}: the columns of one reference to {pname} are all in the "
                    "primary key or all not, and all nullable or all not",
                    table=cls_name, attribute=f.name,
                )
            pattr = parent_table.heading[next(c for c, g in by_parent.items() if g is f)]
            declared = attribute_type(cls_name, f)[3]
            if declared != pattr.python_type:
                raise DeclarationError(
                    f"{cls_name}.{f.name}: declared {getattr(declared, '__name__', declared)}, but "
                    f"{pname}.{pattr.name} is {getattr(pattr.python_type, '__name__', pattr.python_type)}",
                    table=cls_name, attribute=f.name,
                )
        if first.in_key and first.nullable:
            raise DeclarationError(
                f"{cls_name}.{first.name}: a reference in the primary key cannot be nullable",
                table=cls_name, attribute=first.name,
            )
        rename = {c: f.name for c, f in by_parent.items() if c != f.name}
        unique = any(f.link is not None and f.link.unique for f in group)
        reference(parent, first.name, first.in_key, first.nullable, LinkSpec(rename=rename, unique=unique))
        del refs[first.name]  # the columns are the row's attributes; no reference name

    master = getattr(cls, "_master", None)
    if master is not None and not _declares_master_ref(cls, master, namespace):
        reference(master, "master", True, False, None)

    fields = read_fields(cls, namespace or {})
    group: list[Field] = []
    for f in [*fields, None]:
        if group and (
            f is None or f.link is None or f.link.parent is None
            or _resolve(cls, f.link.parent, namespace) is not _resolve(cls, _linked(group[0]), namespace)
            or (f.link.column or f.name) in {g.link.column or g.name for g in group if g.link}
        ):
            inherit(group)
            group = []
        if f is None:
            break
        if f.name in RESERVED:
            raise DeclarationError(
                f"{cls_name}.{f.name}: {f.name!r} is reserved for a method; choose another name",
                table=cls_name, attribute=f.name,
            )
        if f.name.startswith("_"):
            raise DeclarationError(
                f"{cls_name}.{f.name}: attribute names may not start with '_'",
                table=cls_name, attribute=f.name,
            )
        if f.ref is None and f.link is not None and f.link.parent is not None:
            group.append(f)
            continue
        if f.ref is not None:
            if f.in_key and f.nullable:
                raise DeclarationError(
                    f"{cls_name}.{f.name}: a reference in the primary key cannot be nullable",
                    table=cls_name, attribute=f.name,
                )
            reference(f.ref, f.name, f.in_key, f.nullable, f.link)
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", f.name):
            raise DeclarationError(
                f"{cls_name}.{f.name}: attribute names are lowercase letters, digits and '_'",
                table=cls_name, attribute=f.name,
            )
        type_name, sql_type, core, python_type = attribute_type(cls_name, f)
        default = _check_default(cls_name, f, type_name, f.in_key)
        spec = f.spec or AttrSpec()
        if spec.comment.startswith(":"):
            raise DeclarationError(
                f"{cls_name}.{f.name}: comments may not start with ':'",
                table=cls_name, attribute=f.name,
            )
        if spec.auto_increment and not (f.in_key and int_range(sql_type)):
            raise DeclarationError(
                f"{cls_name}.{f.name}: auto_increment is for integer primary key attributes",
                table=cls_name, attribute=f.name,
            )
        add(
            Attribute(
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
            )
        )
        if f.in_key:
            lineage[f.name] = f"{schema_name}.{table_name}.{f.name}"

    heading = Heading.of(attributes)
    if not heading.primary_key:
        singleton = Attribute(
            name="_singleton", type_name="bool", sql_type="tinyint", in_key=True, default=True,
            comment="singleton primary key", core=True, python_type=bool,
        )
        heading = Heading((*heading.attributes, singleton))  # last, where DataJoint puts it
        lineage["_singleton"] = f"{schema_name}.{table_name}._singleton"
    indexes = []
    for index in getattr(cls, "indexes", ()) or ():
        if not isinstance(index, Index):
            raise DeclarationError(f"{cls_name}.indexes: expected tj.Index(...), got {index!r}")
        missing = [a for a in index.attributes if a not in heading]
        if missing:
            raise DeclarationError(
                f"{cls_name}.indexes: {missing} are not attributes of {cls_name}",
                table=cls_name, attribute=missing[0],
            )
        indexes.append(IndexDef(index.attributes, index.unique))
    table = TableDef(
        schema=schema_name,
        name=table_name,
        heading=heading.with_lineage(lineage),
        comment=comment,
        foreign_keys=tuple(foreign_keys),
        indexes=tuple(indexes),
    )
    if len(table_name) > 64:
        raise DeclarationError(f"{cls_name}: table name {table_name!r} is over 64 characters")
    cls._refs = refs
    cls._fields = tuple(fields)  # type: ignore[attr-defined]
    return table, lineage


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
    scope = {**(vars(module) if module else {}), **_local_namespace(cls, namespace or {})}
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
        if _norm(a.sql_type) != _norm(b.sql_type) and a.type_name != b.type_name:
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


def _norm(sql_type: str) -> str:
    t = re.sub(r"\s+", " ", sql_type.lower().strip())
    t = re.sub(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", t)
    return {"json": "longtext", "bool": "tinyint"}.get(t, t)


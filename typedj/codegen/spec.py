"""Table classes as data: annotations and defaults as small expression trees.

``render`` spells them as Python source; ``virtual.py`` builds classes from them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..errors import DeclarationError
from ..heading import Attribute
from ..legacy import current_spelling
from ..types import MISSING
from .names import python_name


@dataclass(frozen=True)
class Name:
    """A name the generated code uses (``'Key'``, ``'tj.uint8'``, ``'int'``): see ``vocabulary_objects``."""

    name: str


@dataclass(frozen=True)
class Sub:
    """``head[args]``."""

    head: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Optional:
    """``inner | None``."""

    inner: Expr


@dataclass(frozen=True)
class Lit:
    """A constant: a value read from the database, written with ``literal``."""

    value: Any


@dataclass(frozen=True)
class Call:
    """``head(*args, **kwargs)``."""

    head: Name
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class TableClass:
    """A table's class; ``forward``: written as a string (not yet defined where it is used)."""

    schema: str
    table: str
    forward: bool = False


Expr = Name | Sub | Optional | Lit | Call | TableClass

VOCABULARY = ("Attr", "Blob", "Computed", "External", "Imported", "Key", "Link", "Lookup", "Manual",
               "Part", "Ref")


def vocabulary_objects() -> dict[str, Any]:
    """What each ``Name`` is: the only names a virtual module's classes are built from."""
    import typing

    from .. import table, types

    def public(name: str) -> Any:
        return getattr(types, name) if hasattr(types, name) else getattr(table, name)

    objects: dict[str, Any] = {n: public(n) for n in VOCABULARY}
    for n in ("int8", "int16", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
              "Attach", "Filepath", "Object", "Npy", "Index", "CURRENT_TIMESTAMP"):
        objects[f"tj.{n}"] = public(n)
    objects.update(int=int, float=float, str=str, bool=bool, bytes=bytes, Any=typing.Any,
                   Literal=typing.Literal, Decimal=Decimal, date=date, datetime=datetime,
                   time=time, UUID=UUID)
    return objects


@dataclass
class FieldSpec:
    """One line of a class body: ``name: annotation = value``."""

    name: str
    annotation: Expr
    value: Expr | None = None


@dataclass
class ClassSpec:
    """A table class to write or build."""

    table: str
    name: str
    tier: str
    doc: str = ""
    fields: list[FieldSpec] = field(default_factory=list)
    indexes: list[Expr] = field(default_factory=list)
    contents: list[dict[str, Any]] | None = None
    note: str = ""
    parts: list[ClassSpec] = field(default_factory=list)


@dataclass
class ModuleSpec:
    """The classes of one schema, masters parents first."""

    schema: str
    classes: list[ClassSpec]
    others: list[str]
    qualified: bool


# -- types of attributes -----------------------------------------------------------------


def _python_default(attr: Attribute) -> Any:
    value = attr.default
    if value is MISSING or value is None or not isinstance(value, str):
        return value
    if value.upper().startswith("CURRENT_TIMESTAMP"):
        return Name("tj.CURRENT_TIMESTAMP")
    kind = attr.kind
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            return bool(int(value))
        if kind == "float":
            return float(value)
        if kind == "decimal":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "datetime":
            return datetime.fromisoformat(value)
    except ValueError as exc:
        raise DeclarationError(f"default {value!r} of {attr.name!r} is not a constant",
                               attribute=attr.name) from exc
    return value


def _expr(value: Any) -> Expr:
    return value if isinstance(value, Name) else Lit(value)


_INT_CORE = {"int8": "tj.int8", "int16": "tj.int16", "int64": "tj.int64", "int32": "int"}
_UNSIGNED = {"tinyint unsigned": "tj.uint8", "smallint unsigned": "tj.uint16",
             "int unsigned": "tj.uint32", "bigint unsigned": "tj.uint64"}
_KIND_PY = {"int": "int", "float": "float", "decimal": "Decimal", "str": "str", "enum": "str",
            "date": "date", "datetime": "datetime", "time": "time", "bytes": "bytes",
            "json": "Any", "bool": "bool", "uuid": "UUID"}
_SIMPLE = {"float32": "tj.float32", "float64": "float", "bool": "bool", "uuid": "UUID", "bytes": "bytes"}


def _attribute_type(attr: Attribute, where: str) -> tuple[Expr, dict[str, Any]]:
    """``(annotation, Attr/External options)`` that declare ``attr`` again."""
    attr = current_spelling(attr)  # a datajoint 0.14 column, declared again in 0.14's layout
    t = attr.type_name.strip()
    typ = attr.type
    plain = not (typ.unsigned or typ.charset or typ.collation)
    if not attr.core:
        if typ.canonical in _UNSIGNED:
            return Name(_UNSIGNED[typ.canonical]), {}
        return Name(_KIND_PY.get(attr.kind, "Any")), {"sql_type": t}
    if typ.codec is not None:
        external = {"store": typ.store} if typ.store is not None else {}
        if typ.codec == "blob":
            return Sub(Name("Blob"), (Name("Any"),)), external
        if typ.codec in {"attach", "filepath", "object", "npy"}:
            return Name(f"tj.{typ.codec.capitalize()}"), external
        raise DeclarationError(f"{where}: codec type {t} has no typedj spelling yet", attribute=attr.name)
    if typ.core in _INT_CORE:
        return Name(_INT_CORE[typ.core]), {}
    if typ.core in _SIMPLE:
        return Name(_SIMPLE[typ.core]), {}
    if typ.core == "json":
        return Name("Any"), {"sql_type": "json"}
    if typ.base in {"char", "varchar"} and typ.length is not None and plain:
        n = typ.length
        options: dict[str, Any] = {} if n == 255 and typ.base == "varchar" else {"max_length": n}
        if typ.base == "char":
            options["fixed_length"] = True
        return Name("str"), options
    if typ.base in {"date", "datetime"} and plain:
        return Name(typ.base), {"precision": typ.precision} if typ.precision else {}
    if typ.base == "decimal" and typ.scale is not None and plain:
        return Name("Decimal"), {"precision": typ.precision, "scale": typ.scale}
    if typ.family == "enum":
        return Sub(Name("Literal"), tuple(Lit(v) for v in typ.members)), {}
    return Name(_KIND_PY.get(attr.kind, "Any")), {"sql_type": t}


def call_options(options: dict[str, Any]) -> tuple[tuple[str, Expr], ...]:
    return tuple((k, _expr(v)) for k, v in options.items())


def attribute_field(attr: Attribute, where: str) -> FieldSpec:
    """The class-body line that declares ``attr`` again."""
    name = python_name(attr.name, where)
    annotation, options = _attribute_type(attr, where)
    store = options.pop("store", None)
    if attr.in_key:
        annotation = Sub(Name("Key"), (annotation,))
    if attr.nullable:
        annotation = Optional(annotation)
    default = _python_default(attr)
    if attr.auto_increment:
        options["auto_increment"] = True
    if attr.comment:
        options["comment"] = attr.comment
    if default is not MISSING and (options or store is not None):
        options = {"default": default, **options}
    value: Expr | None = None
    if store is not None:
        value = Call(Name("External"), (Lit(store),), call_options(options))
    elif options:
        value = Call(Name("Attr"), (), call_options(options))
    elif default is not MISSING:
        value = _expr(default)
    return FieldSpec(name, annotation, value)



"""The declaration vocabulary: what users write in a table's class body.

Every marker here is plain typing to a type checker (``Key[int]`` is ``int``) and a
readable instruction to the metaclass, which reads them with
``typing.get_type_hints(include_extras=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

from .objects import NpyRef, ObjectRef
from .sentinels import CURRENT_TIMESTAMP as CURRENT_TIMESTAMP
from .sentinels import MISSING as MISSING
from .sentinels import _SqlLiteral as _SqlLiteral

T = TypeVar("T")
P = TypeVar("P")


class _KeepsDefault:
    """A class-body object that stands for an attribute and keeps its declared default
    (a bound class's ``Column``), so that the class can be declared again."""

    __slots__ = ()
    default: Any


@dataclass(frozen=True)
class _PrimaryKey:
    def __repr__(self) -> str:
        return "PrimaryKey"


@dataclass(frozen=True)
class _BlobMarker:
    def __repr__(self) -> str:
        return "Blob"


@dataclass(frozen=True)
class _FileMarker:
    """A file attribute: ``attach`` (uploaded with its name) or ``filepath`` (already stored)."""

    codec: str

    def __repr__(self) -> str:
        return self.codec.capitalize()


@dataclass(frozen=True)
class SqlType:
    """A precise column type: a DataJoint core type name or a native MySQL type."""

    sql: str
    core: str | None = None


PRIMARY_KEY = _PrimaryKey()
BLOB = _BlobMarker()
ATTACH = _FileMarker("attach")
FILEPATH = _FileMarker("filepath")

Key: TypeAlias = Annotated[T, PRIMARY_KEY]
"""Marks an attribute (or a ``Ref``) as part of the primary key."""

Blob: TypeAlias = Annotated[T, BLOB]
"""A value serialized with DataJoint's blob format (``<blob>``); ``T`` is what it holds."""

Attach: TypeAlias = Annotated[Path, ATTACH]
"""A file uploaded with its name (``<attach@store>``); inserts take a local path, fetch
returns the path of a local copy in the download folder. Without ``External`` the file
is kept in the table (``<attach>``)."""

Filepath: TypeAlias = Annotated[Path, FILEPATH]
"""A file already in an object store, linked by its path within the store
(``<filepath@store>``, needs ``External(store)``); its checksum is recorded on insert and
checked on fetch, which returns a local path."""

OBJECT = _FileMarker("object")
NPY = _FileMarker("npy")

Object: TypeAlias = Annotated[ObjectRef, OBJECT]
"""A file or folder (a Zarr store, say) in an object store at a path named by the row
(``<object@store>``, needs ``External(store)``): inserts take a local path, bytes or
``(ext, bytes)``; fetch returns an ``ObjectRef`` that reads nothing until asked."""

Npy: TypeAlias = Annotated[NpyRef, NPY]
"""A numpy array kept as a ``.npy`` file in an object store (``<npy@store>``, needs
``External(store)``); fetch returns an ``NpyRef`` whose shape and dtype need no I/O and
whose ``load(mmap_mode="r")`` maps the file instead of reading it."""

int8: TypeAlias = Annotated[int, SqlType("tinyint", "int8")]
int16: TypeAlias = Annotated[int, SqlType("smallint", "int16")]
int32: TypeAlias = Annotated[int, SqlType("int", "int32")]
int64: TypeAlias = Annotated[int, SqlType("bigint", "int64")]
uint8: TypeAlias = Annotated[int, SqlType("tinyint unsigned")]
uint16: TypeAlias = Annotated[int, SqlType("smallint unsigned")]
uint32: TypeAlias = Annotated[int, SqlType("int unsigned")]
uint64: TypeAlias = Annotated[int, SqlType("bigint unsigned")]
float32: TypeAlias = Annotated[float, SqlType("float", "float32")]
float64: TypeAlias = Annotated[float, SqlType("double", "float64")]


@dataclass(frozen=True)
class AttrSpec:
    """Options of one attribute, collected from ``Attr``/``External`` in the class body."""

    default: Any = MISSING
    max_length: int | None = None
    fixed_length: bool = False
    precision: int | None = None
    scale: int | None = None
    sql_type: str | None = None
    comment: str = ""
    auto_increment: bool = False
    store: str | None = None
    codec: str | None = None
    compression: bool | int | str | None = None


@dataclass(frozen=True)
class LinkSpec:
    """Options of one foreign key, collected from ``Link`` in the class body."""

    rename: Mapping[str, str] = field(default_factory=dict)
    nullable: bool = False
    unique: bool = False
    default: Any = MISSING
    parent: Any = None
    column: str | None = None


def Attr(
    *,
    default: Any = MISSING,
    max_length: int | None = None,
    fixed_length: bool = False,
    precision: int | None = None,
    scale: int | None = None,
    sql_type: str | None = None,
    comment: str = "",
    auto_increment: bool = False,
    compression: bool | int | str | None = None,
) -> Any:
    """Options of an attribute: sizes, an explicit SQL type, a comment, a default.

    ``max_length`` sizes a ``str`` (``varchar(n)``, or ``char(n)`` with
    ``fixed_length``); ``precision``/``scale`` size a ``Decimal``; ``precision`` alone
    gives a ``datetime`` fractional seconds. ``sql_type`` names a native MySQL type.
    ``compression`` (a ``Blob`` only) is how its values are compressed when written:
    ``"auto"``, a zlib level 0-9 (0: never) or a bool, in place of
    ``tj.config.blob_compression``; readers need no setting (the blob says how it is stored).
    """
    return AttrSpec(
        default=default,
        max_length=max_length,
        fixed_length=fixed_length,
        precision=precision,
        scale=scale,
        sql_type=sql_type,
        comment=comment,
        auto_increment=auto_increment,
        compression=compression,
    )


def External(
    store: str = "", *, default: Any = MISSING, comment: str = "", compression: bool | int | str | None = None
) -> Any:
    """Keep a ``Blob``, ``Attach`` or ``Filepath`` attribute's values in object store ``store``.

    ``store`` names an entry of ``tj.config.stores`` (``""``: the store named by
    ``stores["default"]``); the table holds a JSON reference to the object.
    ``compression`` (a ``Blob`` only) overrides the store's and the global setting, as in ``Attr``.
    """
    return AttrSpec(default=default, comment=comment, store=store, compression=compression)


def Link(
    parent: Any = None,
    column: str | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    nullable: bool = False,
    unique: bool = False,
    default: Any = MISSING,
) -> Any:
    """Options of a foreign key: of a ``Ref``, or the reference an inherited column comes by.

    ``subject_id: Key[int] = Link(Subject)`` declares the column ``subject_id`` inherited
    from ``Subject`` (consecutive columns linked to one parent form one foreign key;
    ``column`` names the parent's attribute when this column renames it). Declared so, the
    column is a typed attribute of rows and constructors without a mypy plugin.

    ``rename`` (on a ``Ref``) maps the parent's attribute names to the names used here, so
    that a table can reference the same parent twice (``{"cell_id": "pre_cell_id"}``).
    ``nullable`` (secondary references only) lets the reference be absent.
    """
    if nullable and default is MISSING:
        default = None
    return LinkSpec(rename=dict(rename or {}), nullable=nullable, unique=unique, default=default,
                    parent=parent, column=column)


@dataclass(frozen=True)
class Index:
    """A secondary index over attributes; ``unique=True`` for a unique index."""

    attributes: tuple[str, ...]
    unique: bool = False

    def __init__(self, *attributes: str, unique: bool = False) -> None:
        if not attributes:
            raise ValueError("Index() needs at least one attribute name")
        object.__setattr__(self, "attributes", tuple(attributes))
        object.__setattr__(self, "unique", unique)


class KeyOf(dict[str, Any], Generic[T]):
    """The key ``make`` receives, typed by its table: ``def make(self, key: KeyOf[Session])``.

    At run time a dict of the key's attribute values (make's key is a subclass that also
    restricts like a row). To a type checker a ``dict[str, Any]``; the mypy plugin also
    checks ``key["name"]`` against ``T``'s primary key and gives the attribute's type.
    """

    __slots__ = ()


class Ref(Generic[P]):
    """A foreign key to table ``P``: its primary key attributes become columns here.

    On a row, ``row.subject`` is the parent's key (a dict in the parent's attribute
    names), unless the reference is named like its one column: then it is that column
    (see docs/types.md, "What a row holds"). A constructor accepts a parent row, a key
    mapping, or, for a parent with a one-attribute key, the bare value.
    """

    __slots__ = ("columns", "name")

    def __init__(self, name: str = "", columns: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.columns: dict[str, str] = dict(columns or {})

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object | None, owner: Any) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        return {parent: values.get(local) for parent, local in self.columns.items()}

    def __set__(self, obj: object, value: P | Mapping[str, Any] | int | str | None) -> None:
        values = obj.__dict__
        if value is None:
            for local in self.columns.values():
                values[local] = None
            return
        if isinstance(value, Mapping):
            source: Mapping[str, Any] = value
        elif hasattr(value, "__dict__") and not isinstance(value, int | str):
            source = vars(value)
        else:
            if len(self.columns) != 1:
                raise TypeError(
                    f"{self.name}: a bare value can only set a reference to a parent "
                    f"with a one-attribute key; give a mapping of {sorted(self.columns)}"
                )
            (local,) = self.columns.values()
            values[local] = value
            return
        for parent, local in self.columns.items():
            if parent in source:
                values[local] = source[parent]
            elif local in source:
                values[local] = source[local]
            else:
                raise TypeError(f"{self.name}: the value given has no attribute {parent!r}")

"""Attribute and Heading: the one model of a table's (or a query's) columns.

A heading is built either from a class declaration (``declare.py``) or from the
server's catalog (``schema.py``); both produce the same objects, so comparing a class
with an existing table is comparing two headings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .sentinels import MISSING
from .sqltypes import SQLType, column_type

_TYPE_COMMENT = re.compile(r"^:([^:]+):(.*)$", re.DOTALL)


def split_comment(comment: str) -> tuple[str | None, str]:
    """``':int32:subject id'`` -> ``('int32', 'subject id')``; no type -> ``(None, comment)``."""
    match = _TYPE_COMMENT.match(comment)
    if match:
        return match.group(1), match.group(2)
    return None, comment


@dataclass(frozen=True)
class Attribute:
    """One column: its name, declared type, SQL type, key membership, default, comment.

    ``type_name`` is the type as DataJoint declares it (``int32``, ``varchar(64)``,
    ``<blob@raw>``, or a native type such as ``int unsigned``); ``core`` says whether it
    is recorded in the column comment as ``:type:``. ``type`` is both parsed once (its
    family, sizes, range, enum members): ask it rather than the strings.
    """

    name: str
    type_name: str
    sql_type: str
    in_key: bool = False
    nullable: bool = False
    default: Any = MISSING
    comment: str = ""
    core: bool = True
    auto_increment: bool = False
    lineage: str | None = None
    python_type: Any = None
    expression: str | None = None
    home: str | None = None
    """The schema of a datajoint 0.14 stored-value column, whose objects are tracked per schema."""
    compression: bool | int | str | None = field(default=None, compare=False)
    """How a blob's values are compressed when written (``Attr(compression=...)``); ``None``:
    the store's or the global setting. A choice of this client, not part of the table."""
    type: SQLType = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", column_type(self.type_name, self.sql_type, self.core))

    @property
    def kind(self) -> str:
        """The attribute's value family (``int``, ``blob``, ``external``, ...): ``type.family``."""
        return self.type.family

    @property
    def is_hidden(self) -> bool:
        """Whether the attribute is hidden from users (its name starts with ``_``)."""
        return self.name.startswith("_")

    @property
    def is_blob(self) -> bool:
        """Whether values are serialized objects (blobs, stored objects, attachments, file paths)."""
        return self.type.is_blob

    @property
    def store(self) -> str | None:
        """The object store of a ``<codec@store>`` type (``''`` for the default store)."""
        return self.type.store

    @property
    def column_comment(self) -> str:
        """The comment as stored on the server (``:type:comment`` for core types)."""
        return f":{self.type_name}:{self.comment}" if self.core else self.comment

    @property
    def has_default(self) -> bool:
        """Whether an insert may omit the attribute (a default, nullable, or auto-increment)."""
        return self.default is not MISSING or self.nullable or self.auto_increment

    def definition_line(self) -> str:
        """This attribute in DataJoint's definition syntax (``name=default : type # c``)."""
        default = ""
        if self.default is not MISSING or self.nullable:
            default = "=" + _default_text(self.default)
            if default == "=CURRENT_TIMESTAMP" and self.type.precision is not None:  # datetime(3)
                default += f"({self.type.precision})"
        text = f"{self.name}{default}"
        type_name = f"{self.type_name} auto_increment" if self.auto_increment else self.type_name
        line = f"{text:<20} : {type_name:<28}"
        return f"{line} # {self.comment}".rstrip() if self.comment else line.rstrip()

    def renamed(self, name: str) -> Attribute:
        """A copy of the attribute under another name (for projections and renamed references)."""
        return replace(self, name=name)


def _default_text(value: Any) -> str:
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, str) and value.upper().startswith("CURRENT_TIMESTAMP"):
        return value
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@dataclass(frozen=True)
class Heading:
    """An ordered set of attributes; the primary key comes first."""

    attributes: tuple[Attribute, ...] = ()
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.attributes})

    @classmethod
    def of(cls, attributes: Iterable[Attribute]) -> Heading:
        """A heading from attributes in any order: key attributes first, each group in order."""
        attrs = list(attributes)
        return cls(tuple([a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]))

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Attribute:
        return self._by_name[name]

    def get(self, name: str) -> Attribute | None:
        """The attribute called ``name``, or ``None``."""
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        """Visible attribute names (hidden ``_x`` columns excluded)."""
        return [a.name for a in self.attributes if not a.is_hidden]

    @property
    def all_names(self) -> list[str]:
        """Every attribute's name, hidden ones included, key first."""
        return [a.name for a in self.attributes]

    @property
    def primary_key(self) -> list[str]:
        """The names of the primary-key attributes, in order."""
        return [a.name for a in self.attributes if a.in_key]

    @property
    def secondary(self) -> list[str]:
        """The names of the visible attributes outside the primary key."""
        return [a.name for a in self.attributes if not a.in_key and not a.is_hidden]

    def select(self, names: Iterable[str]) -> Heading:
        """The heading restricted to the named attributes, in this heading's order."""
        wanted = set(names)
        return Heading(tuple(a for a in self.attributes if a.name in wanted))

    def with_lineage(self, lineage: Mapping[str, str]) -> Heading:
        """A copy whose attributes carry the given lineages (others get none)."""
        return Heading(tuple(replace(a, lineage=lineage.get(a.name)) for a in self.attributes))

    def __repr__(self) -> str:
        key = ", ".join(self.primary_key)
        rest = ", ".join(self.secondary)
        return f"Heading({key} | {rest})"

    def describe(self) -> str:
        """The attributes in DataJoint's definition syntax, key above ``---``."""
        lines = [a.definition_line() for a in self.attributes if a.in_key and not a.is_hidden]
        lines.append("---")
        lines += [a.definition_line() for a in self.attributes if not a.in_key and not a.is_hidden]
        return "\n".join(lines)


@dataclass(frozen=True)
class ForeignKey:
    """A dependency: ``attr_map`` maps each local attribute to the parent's attribute."""

    parent_schema: str
    parent_table: str
    attr_map: Mapping[str, str]
    in_key: bool = False
    nullable: bool = False
    unique: bool = False
    name: str = ""

    @property
    def renamed(self) -> bool:
        return any(local != parent for local, parent in self.attr_map.items())


@dataclass(frozen=True)
class IndexDef:
    attributes: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class TableDef:
    """Everything needed to create a table: its heading, dependencies and indexes."""

    schema: str
    name: str
    heading: Heading
    comment: str = ""
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[IndexDef, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

"""Attribute and Heading: the one model of a table's (or a query's) columns.

A heading is built either from a class declaration (``declare.py``) or from the
server's catalog (``schema.py``); both produce the same objects, so comparing a class
with an existing table is comparing two headings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .types import MISSING

_TYPE_COMMENT = re.compile(r"^:([^:]+):(.*)$", re.DOTALL)


def split_comment(comment: str) -> tuple[str | None, str]:
    """``':int32:subject id'`` -> ``('int32', 'subject id')``; no type -> ``(None, comment)``."""
    match = _TYPE_COMMENT.match(comment)
    if match:
        return match.group(1), match.group(2)
    return None, comment


@functools.lru_cache(maxsize=4096)
def kind_of(type_name: str) -> str:
    """The value family of a declared type, which picks its codec and its Python type.

    Cached: populate and fetch ask it per key and per column.
    """
    t = type_name.lower().strip()
    if t.startswith("<"):
        inner = t[1:-1]
        codec = inner.partition("@")[0]
        if codec == "blob":
            return "external" if "@" in inner else "blob"
        return codec  # attach, filepath, object, ... (stores)
    if "@" in t:  # datajoint 0.14: blob@store, attach@store, filepath@store (see legacy.py)
        return "legacy_" + t.partition("@")[0]
    if t == "attach":  # datajoint 0.14's in-table attachment
        return "attach"
    base = re.split(r"[\s(]", t, maxsplit=1)[0]
    if base in {"int8", "int16", "int32", "int64", "tinyint", "smallint", "mediumint", "int",
                "integer", "bigint", "serial"}:
        return "int"
    if base in {"float32", "float64", "float", "double", "real"}:
        return "float"
    if base in {"decimal", "numeric", "dec", "fixed"}:
        return "decimal"
    if base == "bool" or base == "boolean":
        return "bool"
    if base in {"char", "varchar", "text", "tinytext", "mediumtext", "longtext"}:
        return "str"
    if base == "enum":
        return "enum"
    if base == "date":
        return "date"
    if base in {"datetime", "timestamp"}:
        return "datetime"
    if base == "time":
        return "time"
    if base == "year":
        return "int"
    if base == "uuid":
        return "uuid"
    if base in {"json", "jsonb"}:
        return "json"
    if base in {"bytes", "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary"}:
        return "bytes"
    return "str"


def enum_values(type_name: str) -> tuple[str, ...]:
    """The members of ``enum('a','b')``, written as MySQL shows them (``''`` and ``\\\\`` escapes)."""
    inner = type_name[type_name.index("(") + 1 : type_name.rindex(")")]
    return tuple(unescape_string(v) for v in re.findall(r"'((?:[^'\\]|''|\\.)*)'", inner, re.DOTALL))


_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}


def unescape_string(inner: str) -> str:
    """The text of a MySQL string literal without its quotes (``it''s``, ``a\\\\b``, ``\\n``)."""

    def one(match: re.Match[str]) -> str:
        char = match.group(1)
        return "'" if char is None else _ESCAPES.get(char, char)

    return re.sub(r"''|\\(.)", one, inner, flags=re.DOTALL)


def enum_type(values: Iterable[str]) -> str:
    """``enum(...)`` of ``values``, escaped as MySQL shows it (so the catalog reads back the same)."""
    return "enum(" + ",".join("'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in values) + ")"


@dataclass(frozen=True)
class Attribute:
    """One column: its name, declared type, SQL type, key membership, default, comment.

    ``type_name`` is the type as DataJoint declares it (``int32``, ``varchar(64)``,
    ``<blob@raw>``, or a native type such as ``int unsigned``); ``core`` says whether it
    is recorded in the column comment as ``:type:``.
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

    @property
    def kind(self) -> str:
        """The attribute's kind (``int``, ``blob``, ``external``, ...), derived from its SQL type."""
        if self.core and self.type_name == "blob":  # a 0.12-0.14 blob commented ``:blob:``
            return "blob"
        return kind_of(self.type_name)

    @property
    def is_hidden(self) -> bool:
        """Whether the attribute is hidden from users (its name starts with ``_``)."""
        return self.name.startswith("_")

    @property
    def is_blob(self) -> bool:
        """Whether values are serialized objects (blobs, stored objects, attachments, file paths)."""
        return self.kind in {"blob", "external", "attach", "filepath", "object", "legacy_blob",
                             "legacy_attach", "legacy_filepath"}

    @property
    def store(self) -> str | None:
        """The object store of a ``<codec@store>`` type (``''`` for the default store)."""
        if self.type_name.startswith("<") and "@" in self.type_name:
            return self.type_name[1:-1].partition("@")[2]
        if self.kind.startswith("legacy_"):
            return self.type_name.partition("@")[2]
        return None

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
            precision = re.search(r"\((\d+)\)", self.sql_type)
            if default == "=CURRENT_TIMESTAMP" and precision:  # a datetime(3) needs its precision
                default += f"({precision.group(1)})"
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

    @property
    def lineages(self) -> dict[str, str | None]:
        """Each attribute's lineage (``schema.table.attribute`` of its origin), or ``None``."""
        return {a.name: a.lineage for a in self.attributes}

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

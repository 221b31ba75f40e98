"""Binding a table class to its table: what ``@schema`` gives a class, and takes back.

Functions rather than methods of ``Table``, so that editors, which read a method's
``cls.x = ...`` as declaring ``x``, offer rows their columns and nothing of this.

The modules below ``schema.py`` and ``table.py`` (tables, populate, drift, cascade, the
graph) know a schema and a table class only as the protocols here, so that neither
imports the other; a schema they need by name comes from ``load_schema``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from .columns import Column
from .errors import TypedjError
from .fields import read_fields
from .heading import TableDef
from .query.expression import UNKNOWN_LINEAGE, TableNode
from .types import MISSING, Ref

if TYPE_CHECKING:
    from .backend.connection import Connection
    from .query.expression import Query
    from .validation import Validator

BINDING = frozenset({"_def", "_node", "_schema"})
"""What ``@schema`` gives a class: reading one on an undeclared class says so."""


class Loaded(Protocol):
    """A schema as the layers below ``schema.py`` read it (``tj.Schema`` is one)."""

    name: str
    connection: Connection
    layout: str
    tables: dict[str, TableDef]
    """Every table of the schema as the catalog has it, by table name."""
    declared: dict[str, TableDef]
    """Each declared class's definition as declared (which may differ from ``tables``)."""
    lineage: dict[str, dict[str, str]]

    def reload(self) -> None: ...

    def node(self, table: str) -> TableNode: ...


_LOADER: list[Callable[[Connection, str], Loaded]] = []


def register_loader(load: Callable[[Connection, str], Loaded]) -> None:
    """How a schema is loaded by name: ``schema.py`` registers ``Schema`` when imported
    (``import typedj`` does), so that the layers below it load schemas without importing it."""
    _LOADER[:] = [load]


def load_schema(conn: Connection, name: str) -> Loaded:
    """The schema ``name`` loaded on ``conn``, loaded now if it is not yet."""
    loaded: Loaded | None = conn.schemas.get(name)
    if loaded is not None:
        return loaded
    if not _LOADER:
        raise TypedjError("loading a schema needs typedj.schema, which `import typedj` loads")
    return _LOADER[0](conn, name)


class Bound(Protocol):
    """A table class's machinery, as typedj's own code reads it.

    Declared here rather than on the metaclass, so that editors, which offer a class
    everything its metaclass declares, offer its columns and its query surface only.
    """

    _tier: str | None
    _def: TableDef
    _schema: Loaded
    _node: TableNode
    _refs: dict[str, dict[str, str]]
    _master: type[Any] | None
    _parts: tuple[type[Any], ...]
    _validator: Validator | None
    _allow_insert: int
    __name__: str

    def _query(self) -> Query[Any]: ...


def bound(cls: Any) -> Bound:
    """``cls`` (a table class) typed with its machinery."""
    return cast(Bound, cls)


def bind(table: type, schema: Loaded, table_def: TableDef) -> None:
    """Give a class its table: what ``@schema`` does once the table exists."""
    cls = bound(table)
    cls._schema = schema
    cls._def = table_def
    cls._node = TableNode(schema.name, table_def.name, table_def.heading, schema.connection)
    cls._validator = None
    for f in read_fields(table):
        raw = cls.__dict__.get(f.name, MISSING)
        if isinstance(raw, Column):
            raw = raw.default
        columns = cls._refs.get(f.name, {})
        if f.ref is not None and f.name not in columns.values():
            setattr(cls, f.name, Ref(f.name, columns))
        else:  # a column, or a reference named like its one column (which it then is)
            setattr(cls, f.name, Column(f.name, cls.__name__, raw))


def unbind(cls: type) -> None:
    """Take a class's table away (the table was dropped)."""
    for name in BINDING:
        if name in cls.__dict__:
            delattr(cls, name)


def with_lineage(table_def: TableDef, lineage: dict[str, str] | None) -> TableDef:
    """``table_def`` with its attributes' lineage (unknown when the schema has none for it)."""
    if not lineage:
        heading = table_def.heading.with_lineage({a.name: UNKNOWN_LINEAGE for a in table_def.heading})
    else:
        heading = table_def.heading.with_lineage(lineage)
    return replace(table_def, heading=heading)

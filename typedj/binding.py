"""Binding a table class to its table: what ``@schema`` gives a class, and takes back.

Functions rather than methods of ``Table``, so that editors, which read a method's
``cls.x = ...`` as declaring ``x``, offer rows their columns and nothing of this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from .columns import Column
from .fields import read_fields
from .heading import TableDef
from .query.expression import TableNode
from .types import MISSING, Ref

if TYPE_CHECKING:
    from .query.expression import Query
    from .schema import Schema
    from .table import Table
    from .validation import Validator

BINDING = frozenset({"_def", "_node", "_schema"})
"""What ``@schema`` gives a class: reading one on an undeclared class says so."""


class Bound(Protocol):
    """A table class's machinery, as typedj's own code reads it.

    Declared here rather than on the metaclass, so that editors, which offer a class
    everything its metaclass declares, offer its columns and its query surface only.
    """

    _tier: str | None
    _def: TableDef
    _schema: Schema
    _node: TableNode
    _refs: dict[str, dict[str, str]]
    _master: type[Table] | None
    _parts: tuple[type[Table], ...]
    _validator: Validator | None
    _allow_insert: int
    __name__: str

    def _query(self) -> Query[Any]: ...


def bound(cls: Any) -> Bound:
    """``cls`` (a table class) typed with its machinery."""
    return cast(Bound, cls)


def bind(table: type[Table], schema: Schema, table_def: TableDef) -> None:
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

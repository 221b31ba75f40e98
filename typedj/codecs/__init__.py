"""Values cross the database boundary only through codecs.

A codec turns a column of Python values into parameters for the server (``encode``) and
a column of server values back into Python values (``decode``). Working on whole
columns lets a store upload or download many objects at once and lets scalar codecs
run without per-value dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..heading import Attribute

Column = list[Any]
ColumnFn = Callable[[Column], Column]


@dataclass(frozen=True)
class Context:
    """Where the values live: the stores need the schema; errors name the table."""

    schema: str
    table: str
    connection: Any = None
    keys: tuple[dict[str, Any], ...] | None = None
    """The primary key of each row being encoded, for schema-addressed objects (``<object@>``)."""


class Codec(Protocol):
    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None: ...

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None: ...


_registry: dict[str, Codec] = {}

KEYED = frozenset({"object", "npy"})
"""Kinds whose encoders need each row's primary key (``Context.keys``)."""


def register(kind: str, codec: Codec) -> None:
    """Make ``codec`` handle every attribute whose ``Attribute.kind`` is ``kind``."""
    _registry[kind] = codec


def encoder(attr: Attribute, ctx: Context) -> ColumnFn | None:
    codec = _registry.get(attr.kind)
    return codec.encoder(attr, ctx) if codec else None


def decoder(attr: Attribute, ctx: Context) -> ColumnFn | None:
    codec = _registry.get(attr.kind)
    return codec.decoder(attr, ctx) if codec else None


from . import core as _core  # noqa: E402,F401  (registers the built-in codecs)

"""The codec registry: which codec handles an attribute kind, and what codecs are given."""

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


"""What a query is to the modules below ``Query``: a node (the expression tree) and the
row class of its results, with the heading and the SQL they compile to.

``Node`` is the base of the expression tree (``nodes.py``); ``Operand`` is the base of
``Query``, so conditions (``condition.py``) and result readers (``fetch.py``) take queries
without importing the algebra that builds them; ``UniversalBase`` is the base of ``U``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import QueryError
from ..heading import Heading
from .compiler import Compiler, Select

if TYPE_CHECKING:
    from ..backend.connection import Connection

UNKNOWN_LINEAGE = "?"
"""Lineage of attributes of schemas that have no ``~lineage`` table: never checked."""


class Node:
    """A query expression. ``heading`` is the result's attributes (the key first)."""

    heading: Heading

    def compile(self, c: Compiler) -> Select:
        raise NotImplementedError

    @property
    def connection(self) -> Connection:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Operand:
    """A query's node and row class, with what they compile to; ``Query`` adds the algebra."""

    __slots__ = ("_node", "_row_class")

    def __init__(self, node: Node, row_class: type | None = None):
        self._node = node
        self._row_class = row_class

    # -- description ---------------------------------------------------------------

    @property
    def heading(self) -> Heading:
        """The query's attributes: names, types, keys, lineage."""
        return self._node.heading

    @property
    def primary_key(self) -> list[str]:
        """The names of the query's primary-key attributes."""
        return self._node.heading.primary_key

    @property
    def connection(self) -> Connection:
        """The connection the query runs on."""
        return self._node.connection

    def compile(self) -> tuple[str, list[Any]]:
        """The SELECT statement and its parameters."""
        c = Compiler(self.connection.dialect)
        select = self._node.compile(c)
        names = self._output_names(select)
        return select.sql(c.dialect, names), select.params()

    def _output_names(self, select: Select) -> list[str]:
        return [n for n in self.heading.all_names if n in select.columns]

    @property
    def sql(self) -> str:
        """The SQL text this query runs (parameters shown as placeholders)."""
        return self.compile()[0]



class UniversalBase:
    """The base of ``U(...)``: a query restricted by one or joined with one asks it."""

    attributes: tuple[str, ...]

    def promote(self, other: Any) -> Any:
        """``other`` with these attributes added to its primary key."""
        raise NotImplementedError


def as_node(value: Any) -> Node:
    """The node of a query, or of a table class (the query of its rows)."""
    if isinstance(value, Operand):
        return value._node
    query = getattr(value, "_query", None)
    if isinstance(value, type) and query is not None:
        node: Node = query()._node
        return node
    raise QueryError(f"expected a query or a table class, got {type(value).__name__}")


def row_class(value: Any) -> type | None:
    """The class of a query's rows (a table class is its own), or None for dicts."""
    if isinstance(value, Operand):
        return value._row_class
    if isinstance(value, type) and getattr(value, "_query", None) is not None:
        return value
    return None


def check_lineage(a: Heading, b: Heading, shared: Sequence[str], operation: str) -> None:
    """Shared attribute names must come from the same origin (DataJoint's semantic match)."""
    for name in shared:
        la, lb = a[name].lineage, b[name].lineage
        if UNKNOWN_LINEAGE in (la, lb):
            continue
        if la is None or la != lb:
            raise QueryError(
                f"cannot {operation} on attribute {name!r}: it comes from "
                f"{la or 'a secondary attribute (no lineage)'} on one side and "
                f"{lb or 'a secondary attribute (no lineage)'} on the other; rename one side "
                f"with .proj({name}_2={name!r}) (or project it away) so the names differ",
                attribute=name,
            )

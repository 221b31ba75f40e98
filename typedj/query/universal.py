"""Universal sets: ``U("a", "b")`` stands for every combination of values of some attributes.

It is not a query on its own; it forms queries with others: ``U("city") & Student``
(the distinct cities), ``U("city").aggr(Student, n="count(*)")`` (aggregation by any
attributes), ``U().aggr(q, n="count(*)")`` (totals: one row, no key) and
``q * U("a")`` (``q`` with ``a`` promoted into its primary key).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..columns import names as _column_names
from ..errors import QueryError
from ..heading import Heading
from . import algebra
from .expression import Query, _named_columns, _unknown
from .nodes import Aggregate, Column, Distinct, Rekey
from .operand import UniversalBase, as_node


class U(UniversalBase):
    """The universal set of the attributes ``attributes`` (no attributes: a single entity).

    Attributes are names or class-level columns (``U(Subject.species)``).
    """

    __slots__ = ("attributes",)

    def __init__(self, *attributes: Any):
        attributes = tuple(_column_names(attributes))
        bad = [a for a in attributes if not isinstance(a, str) or not a]
        if bad:
            raise QueryError(f"U: expected attribute names, got {bad!r}")
        if len(set(attributes)) != len(attributes):
            raise QueryError(f"U: an attribute appears twice in {list(attributes)}")
        self.attributes: tuple[str, ...] = attributes

    def __repr__(self) -> str:
        return f"U({', '.join(map(repr, self.attributes))})"

    def _check(self, heading: Heading, operation: str) -> None:
        missing = [a for a in self.attributes if a not in heading]
        if missing:
            raise _unknown(operation, missing, heading)

    def restrict(self, other: Any) -> Query[dict[str, Any]]:
        """The distinct values of these attributes in ``other``; they form the primary key."""
        node = as_node(other)
        self._check(node.heading, f"{self!r} & query")
        attrs = [replace(node.heading[a], in_key=True) for a in self.attributes]
        return Query(Distinct(node, Heading.of(attrs)))

    def __and__(self, other: Any) -> Query[dict[str, Any]]:
        return self.restrict(other)

    def __rand__(self, other: Any) -> Query[Any]:
        return Query(as_node(other)).restrict(self)

    def promote(self, other: Any) -> Query[dict[str, Any]]:
        """``other`` with these attributes added to its primary key."""
        node = as_node(other)
        self._check(node.heading, f"query * {self!r}")
        attrs = [replace(a, in_key=in_key) for a, in_key in algebra.promoted(node.heading, self.attributes)]
        return Query(Rekey(node, Heading.of(attrs)))

    def __mul__(self, other: Any) -> Query[dict[str, Any]]:
        return self.promote(other)

    def __rmul__(self, other: Any) -> Query[dict[str, Any]]:
        return self.promote(other)

    def aggr(self, group: Any, **named: Any) -> Query[dict[str, Any]]:
        """One row per distinct combination of these attributes in ``group``, with ``named`` aggregates.

        With no attributes, one row of totals over all of ``group`` (also when it is empty).
        """
        node = as_node(group)
        self._check(node.heading, f"{self!r}.aggr")
        if not named:
            raise QueryError("aggr: name at least one computed attribute, e.g. n='count(*)'")
        key = list(self.attributes)
        columns: list[Column] = [(a, a, False) for a in key]
        attrs = [replace(node.heading[a], in_key=True) for a in key]
        for column, attr in _named_columns(node.heading, named, "aggr"):
            if column[0] in key:
                raise QueryError(f"aggr: {column[0]!r} is already an attribute of the result")
            columns.append(column)
            attrs.append(replace(attr, in_key=False))
        return Query(Aggregate(None, node, tuple(key), tuple(columns), Heading.of(attrs), False))

    def __sub__(self, other: Any) -> Query[Any]:
        raise QueryError("U(...) - query is not defined: a universal set has no finite complement")
